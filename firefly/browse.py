"""Serve a database in Datasette on loopback, as a child process that lives and dies with
firefly (``firefly browse``).

:func:`serve` starts the child in a process group of its own, says the URL only once the
server answers it, and stops the whole group however firefly ends: when the child exits
or never answers (a :class:`BrowseError`), on Ctrl-C, SIGTERM or SIGHUP (a clean stop), and,
on Linux, even when firefly is killed outright (the kernel sends the child SIGTERM when its
parent dies).
"""

from __future__ import annotations

import collections
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .errors import FireflyError

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0  # seconds Datasette may take to answer its first request
STOP_GRACE = 10.0  # seconds Datasette may take to stop after SIGTERM, before SIGKILL
_PR_SET_PDEATHSIG = 1
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


class BrowseError(FireflyError):
    """Datasette could not be started, or stopped on its own."""


class Stopped(Exception):
    """firefly was asked to stop (SIGTERM or SIGHUP)."""


def pick_port(port: int) -> int:
    """``port`` if it is free on loopback; a free one for 0."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            s.bind((HOST, port))
        except OSError as exc:
            raise BrowseError(f"port {port} on {HOST} is in use ({exc.strerror}): pick another with --port,"
                              " or --port 0 for a free one") from None
        return s.getsockname()[1]


def datasette_command(path: Path, port: int, *, immutable: bool) -> list[str]:
    """``python -m datasette serve`` on loopback with firefly's settings."""
    from firefly_datasette.settings import datasette_arguments

    return [sys.executable, "-m", "datasette", "serve", *(["-i"] if immutable else []), str(path),
            "--host", HOST, "--port", str(port), *datasette_arguments()]


def serve(
    command: list[str],
    url: str,
    *,
    on_ready: Callable[[str], None],
    ready_timeout: float = READY_TIMEOUT,
    ready_path: str = "-/versions.json",
    grace: float = STOP_GRACE,
) -> None:
    """Run ``command`` (a web server) until it exits or firefly is stopped.

    ``on_ready(url)`` is called once ``url + ready_path`` answers 200. Until then the child's
    output is held back (its last line on stderr goes into the error if it exits), then
    passed on.
    Raises :class:`BrowseError` when the child exits before answering, does not answer
    within ``ready_timeout`` seconds, or exits on its own afterwards with a non-zero code;
    returns when firefly is stopped (Ctrl-C, SIGTERM, SIGHUP). The child's process group is
    stopped in every case (SIGTERM, then SIGKILL after ``grace`` seconds).
    """
    previous = _catch_stop_signals()
    proc: subprocess.Popen[bytes] | None = None
    relays: list[_Relay] = []
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, preexec_fn=_die_with_parent())
        assert proc.stdout is not None and proc.stderr is not None
        relays = [_Relay(proc.stdout, "stdout"), _Relay(proc.stderr, "stderr")]
        _wait_until_answering(proc, url + ready_path, ready_timeout, relays[1])
        on_ready(url)
        for relay in relays:
            relay.pass_on()
        code = proc.wait()
        if code != 0:
            raise BrowseError(f"Datasette stopped with exit code {code}")
    except (KeyboardInterrupt, Stopped):
        return
    finally:
        if proc is not None:
            _stop(proc, grace)
        for relay in relays:
            relay.join(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_until_answering(proc: subprocess.Popen[bytes], url: str, timeout: float, stderr: _Relay) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            stderr.join(1.0)
            said = f": {stderr.last_line}" if stderr.last_line else ""
            raise BrowseError(f"Datasette exited with code {code} before answering on {url}{said}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise BrowseError(f"Datasette did not answer on {url} within {timeout:g} s")
        try:
            with _DIRECT.open(url, timeout=min(2.0, left)) as reply:
                if reply.status == 200:
                    return
        except OSError:  # not listening yet, or not ready (HTTPError is an OSError)
            pass
        try:  # the pause between tries, cut short if the child exits
            proc.wait(timeout=min(0.1, max(deadline - time.monotonic(), 0.001)))
        except subprocess.TimeoutExpired:
            pass


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM to the child's process group, SIGKILL if it is still there after ``grace``
    seconds (or if firefly is interrupted again meanwhile)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (subprocess.TimeoutExpired, KeyboardInterrupt, Stopped):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    except ProcessLookupError:
        proc.wait()


def _raise_stopped(signum: int, frame: Any) -> None:
    raise Stopped(signal.Signals(signum).name)


def _catch_stop_signals() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise :class:`Stopped` (SIGINT already raises KeyboardInterrupt);
    returns the handlers to put back. Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, _raise_stopped)
    return previous


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` asking the kernel to send the child SIGTERM when firefly
    dies, however it dies (even SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # firefly died before the request took effect
            os._exit(1)

    return preexec


class _Relay(threading.Thread):
    """Reads one of the child's streams: holds it back (keeping the last lines) until
    :meth:`pass_on`, then copies it to firefly's stream of that name (``stdout``,
    ``stderr``)."""

    def __init__(self, stream: IO[bytes], name: str) -> None:
        super().__init__(name=f"firefly-browse-{name}", daemon=True)
        self.stream = stream
        self.target = name
        self.held: collections.deque[str] = collections.deque(maxlen=20)
        self.passing = threading.Event()
        self.start()

    @property
    def last_line(self) -> str:
        lines = [line for line in self.held if line.strip()]
        return lines[-1].strip() if lines else ""

    def pass_on(self) -> None:
        self.passing.set()

    def run(self) -> None:
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", "replace")
            if self.passing.is_set():
                out = getattr(sys, self.target)
                out.write(line)
                out.flush()
            else:
                self.held.append(line)
        self.stream.close()
