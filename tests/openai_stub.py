"""A scripted, OpenAI-compatible HTTP server for tests (stdlib only).

No real LLM endpoint is reachable in the test environment, so every test that
exercises LLM code points the real ``openai`` client at this server instead::

    from openai import OpenAI
    from tests.openai_stub import Hang, ScriptedOpenAI

    def test_something() -> None:
        with ScriptedOpenAI(["first answer", {"tool_calls": [{"name": "ls", "arguments": {}}]}]) as srv:
            client = OpenAI(api_key="test", base_url=srv.base_url, max_retries=0)
            ...  # run the code under test with this client / base_url
            assert srv.requests[0]["json"]["model"] == "my-model"

The server listens on ``127.0.0.1`` on an ephemeral port (or ``port=``), in a
daemon thread, for the duration of the ``with`` block.  Endpoints:

* ``POST /v1/chat/completions`` - answered from the script (see below).
* ``POST /v1/embeddings`` - answered from the script; when the script gives
  ``None`` the server returns deterministic, L2-normalised, hash-derived vectors
  (``embedding_dim`` floats, or the request's ``dimensions``), honouring
  ``encoding_format`` ``"float"`` and ``"base64"`` (the client's default).
* ``GET /v1/models`` - lists a single model (``model=`` argument).

Every request is appended to ``srv.requests`` as
``{"method", "path", "json", "headers"}``; credential headers (``Authorization``,
``api-key``) are replaced by ``"[REDACTED]"`` so they never end up in test output.

Scripting.  ``script`` is either a callable ``(path, body) -> Reply`` called for
every POST (``path`` is e.g. ``"/v1/chat/completions"``, ``body`` the decoded
JSON request), or an iterable of replies consumed in order by *chat completion*
requests only (embeddings then always get the default vectors; use a callable to
script embeddings).  An exhausted iterable answers HTTP 500 ``"script exhausted"``.
A ``Reply`` is one of:

* ``str`` - the assistant message content (``finish_reason`` ``"stop"``);
* ``{"content": ..., "tool_calls": [{"name": ..., "arguments": dict | str}]}`` -
  an assistant message with OpenAI-format tool calls, ids ``call_0``,
  ``call_1``, ... numbered across the server's lifetime (or an explicit ``"id"``);
  ``arguments`` dicts are JSON-encoded, strings are sent verbatim (so malformed
  JSON arguments can be tested); ``finish_reason`` is ``"tool_calls"`` when
  there are tool calls, else ``"stop"``, unless the dict gives ``"finish_reason"``;
* ``{"raw": <any JSON value>}`` - returned verbatim with HTTP 200 (malformed replies);
* ``int`` - that HTTP status with an OpenAI-style ``{"error": {...}}`` body;
* ``Hang(seconds, then=reply)`` - sleep, then answer with ``then`` (for timeout
  tests; the sleep is cut short when the server stops);
* ``None`` - default embeddings on ``/v1/embeddings``; HTTP 500 on chat.

``AgentLoop`` is a callable script that plays a tool-calling agent: it reads the
conversation each request carries, calls the tools its plan names one turn at a time,
reads their results from the ``tool`` messages, and answers from them.

Requests are validated as strictly as llama.cpp's server (llama-cpp-python's pydantic
models) and vLLM check them, whichever is stricter (``CHAT_REQUEST_SCHEMA``): an assistant
turn's ``content`` is a string or absent (``null`` is refused by llama.cpp), a tool message
carries a string ``content`` and its ``tool_call_id``, a tool call is ``{id, type: "function",
function: {name, arguments: str}}``. An invalid request is answered HTTP 400 with
``N validation errors: ...`` as those servers do, so the suite fails on what they refuse.

``stream: true`` requests are rejected with HTTP 400 (streaming is unsupported).
Exceptions raised by a callable script become HTTP 500 responses whose message
contains the exception text.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Union
from urllib.parse import urlsplit

import jsonschema

__all__ = ["CHAT_REQUEST_SCHEMA", "AgentLoop", "Hang", "Reply", "ScriptedOpenAI", "chat_request_errors",
           "deterministic_embedding"]

_REDACTED = "[REDACTED]"
_SECRET_HEADERS = frozenset({"authorization", "api-key", "proxy-authorization"})


@dataclass(frozen=True)
class Hang:
    """Sleep ``seconds`` before answering with ``then`` (default: empty content)."""

    seconds: float
    then: Reply = ""


Reply = Union[str, dict[str, Any], int, Hang, None]
Handler = Callable[[str, dict[str, Any]], Reply]


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def send_json_bytes(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
    """Answer an HTTP request with a JSON body; a client that gave up (its timeout, or during
    a Hang) is not an error of the server's."""
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        pass


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if 400 <= status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}


_TEXT_OR_NULL = {"type": ["string", "null"]}
_TOOL_CALL = {
    "type": "object",
    "required": ["id", "type", "function"],
    "properties": {
        "id": {"type": "string"},
        "type": {"const": "function"},
        "function": {
            "type": "object",
            "required": ["name", "arguments"],
            "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}},
        },
    },
}
_CONTENT_PART = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["text", "image_url"]}, "text": {"type": "string"}},
}
#: The chat request as the strictest of llama.cpp's server and vLLM accept it (a message is
#: exactly one of these shapes; unknown extra keys are ignored, as pydantic does).
CHAT_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "oneOf": [
                    {"type": "object", "required": ["role", "content"],
                     "properties": {"role": {"const": "system"}, "content": {"type": "string"}, "name": {"type": "string"}}},
                    {"type": "object", "required": ["role", "content"],
                     "properties": {"role": {"const": "user"}, "name": {"type": "string"},
                                    "content": {"anyOf": [{"type": "string"}, {"type": "array", "items": _CONTENT_PART}]}}},
                    {"type": "object", "required": ["role"],
                     "properties": {"role": {"const": "assistant"}, "content": {"type": "string"},
                                    "tool_calls": {"type": "array", "minItems": 1, "items": _TOOL_CALL}}},
                    {"type": "object", "required": ["role", "content", "tool_call_id"],
                     "properties": {"role": {"const": "tool"}, "content": {"type": "string"},
                                    "tool_call_id": {"type": "string"}}},
                ]
            },
        },
        "tools": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "function"],
                "properties": {
                    "type": {"const": "function"},
                    "function": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                                       "description": {"type": "string"}, "parameters": {"type": "object"}},
                    },
                },
            },
        },
        "tool_choice": {"anyOf": [
            {"enum": ["none", "auto", "required"]},
            {"type": "object", "required": ["type", "function"],
             "properties": {"type": {"const": "function"},
                            "function": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}},
        ]},
        "response_format": {"type": "object", "required": ["type"],
                            "properties": {"type": {"enum": ["text", "json_object", "json_schema"]}}},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        "top_p": {"type": "number"},
        "max_tokens": {"type": ["integer", "null"], "minimum": 1},
        "seed": {"type": ["integer", "null"]},
        "n": {"const": 1},
        "stop": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
    },
}
_chat_validator = jsonschema.Draft202012Validator(CHAT_REQUEST_SCHEMA)


def chat_request_errors(body: Any) -> list[str]:
    """What a strict OpenAI-compatible server refuses in a chat request (empty: valid)."""
    errors = []
    for error in sorted(_chat_validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        detail = error.message
        if error.validator == "oneOf" and isinstance(error.instance, dict):
            detail = _message_problem(error.instance)
        errors.append(f"{where}: {detail}")
    return errors


def _message_problem(message: dict[str, Any]) -> str:
    """Why a message fits none of the shapes, said for the shape of its role."""
    role = message.get("role")
    shapes = CHAT_REQUEST_SCHEMA["properties"]["messages"]["items"]["oneOf"]
    for shape in shapes:
        if shape["properties"]["role"]["const"] == role:
            problems = [f"{'.'.join(str(p) for p in e.absolute_path) or 'message'} {e.message}"
                        for e in jsonschema.Draft202012Validator(shape).iter_errors(message)]
            return f"not a valid {role} message: " + "; ".join(problems)
    return f"unknown role {role!r}"


_UNCOUNTED_KEYS = frozenset({"role", "type", "id", "tool_call_id"})


def _count_words(value: Any) -> int:
    """Very rough token count: whitespace-separated words in the text of ``value``.

    Recurses through lists and dicts, skipping structural keys such as ``role``.
    """
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, dict):
        return sum(_count_words(v) for k, v in value.items() if k not in _UNCOUNTED_KEYS)
    if isinstance(value, list):
        return sum(_count_words(v) for v in value)
    return 0


def deterministic_embedding(text: str, dim: int = 32) -> list[float]:
    """The L2-normalised vector the stub returns for ``text`` (float32-exact values)."""
    raw = bytearray()
    for block in itertools.count():
        if len(raw) >= 4 * dim:
            break
        raw += hashlib.sha256(f"{block}:{text}".encode()).digest()
    ints = struct.unpack(f"<{dim}I", bytes(raw[: 4 * dim]))
    vec = [i / 0xFFFFFFFF * 2.0 - 1.0 for i in ints]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    # Round-trip through float32 so "float" and "base64" encodings agree exactly.
    return list(struct.unpack(f"<{dim}f", struct.pack(f"<{dim}f", *(v / norm for v in vec))))


class AgentLoop:
    """A scripted tool-calling agent, as a ``ScriptedOpenAI`` script.

    For every chat request it looks at the conversation: the question (the first ``user``
    message), the tools offered (``tools`` of the request) and the results so far (the
    ``tool`` messages). ``plan(question, tool_names)`` gives the calls to make, as
    ``(function_name, arguments)`` pairs (``arguments`` a dict, or a string sent verbatim);
    one is made per turn, in order, each after the previous result has come back. Then
    ``answer(question, results)`` gives the final answer from the results' texts.
    ``plan`` returning ``None`` means the agent never stops calling (the first planned call
    of an empty plan is repeated forever): for turn-limit tests.
    """

    def __init__(
        self,
        plan: Callable[[str, list[str]], list[tuple[str, Any]] | None],
        answer: Callable[[str, list[str]], str],
    ) -> None:
        self.plan = plan
        self.answer = answer

    def __call__(self, path: str, body: dict[str, Any]) -> Reply:
        if path != "/v1/chat/completions":
            return None
        messages = body.get("messages") or []
        question = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        tools = [t["function"]["name"] for t in body.get("tools") or []]
        results = [m.get("content") or "" for m in messages if m.get("role") == "tool"]
        made = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
        steps = self.plan(question, tools)
        if steps is None:
            name = tools[0] if tools else "missing_tool"
            return {"tool_calls": [{"name": name, "arguments": {}}]}
        if made < len(steps):
            name, arguments = steps[made]
            return {"tool_calls": [{"name": name, "arguments": arguments}]}
        return self.answer(question, results)


class ScriptedOpenAI:
    """Context manager running a scripted OpenAI-compatible server on loopback."""

    def __init__(
        self,
        script: Handler | Iterable[Reply],
        *,
        embedding_dim: int = 32,
        model: str = "stub-model",
        port: int = 0,
    ) -> None:
        self.port = port  # 0: an ephemeral port; a fixed one to bring a "down" endpoint back
        self._handler: Handler | None = script if callable(script) else None
        self._script: Iterator[Reply] | None = None if callable(script) else iter(script)
        self.embedding_dim = embedding_dim
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._call_ids = itertools.count()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` - pass as the client's ``base_url``."""
        if self._server is None:
            raise RuntimeError("ScriptedOpenAI is not running (use it as a context manager)")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ScriptedOpenAI:
        stub = self

        class _Handler(_RequestHandler):
            server_stub = stub

        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True  # a hung request never blocks interpreter exit
        server.block_on_close = False  # ...nor server_close()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="ScriptedOpenAI", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes any Hang
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ScriptedOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- request handling (called from server threads) ----------------------
    def _record(self, method: str, path: str, body: Any, headers: dict[str, str]) -> None:
        safe = {k: (_REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}
        with self._lock:
            self.requests.append({"method": method, "path": path, "json": body, "headers": safe})

    def _next_reply(self, path: str, body: dict[str, Any]) -> Reply:
        if self._handler is not None:
            try:
                return self._handler(path, body)
            except Exception as exc:  # surface script bugs to the client as a 500
                raise _HTTPError(500, f"script handler raised {type(exc).__name__}: {exc}") from exc
        if path != "/v1/chat/completions":
            return None
        assert self._script is not None
        with self._lock:
            try:
                return next(self._script)
            except StopIteration:
                raise _HTTPError(500, "script exhausted") from None

    def _respond(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if body.get("stream"):
            raise _HTTPError(400, "ScriptedOpenAI does not support stream=true; use stream=false")
        if path == "/v1/chat/completions":
            errors = chat_request_errors(body)
            if errors:
                raise _HTTPError(400, f"{len(errors)} validation errors: " + " | ".join(errors))
        reply = self._next_reply(path, body)
        while isinstance(reply, Hang):
            if self._stopping.wait(reply.seconds):
                raise _HTTPError(503, "server shutting down")
            reply = reply.then
        if isinstance(reply, bool) or not isinstance(reply, (str, dict, int, type(None))):
            raise _HTTPError(500, f"unsupported scripted reply: {reply!r}")
        if isinstance(reply, int):
            return reply, _error_body(reply, f"scripted HTTP {reply} error")
        if isinstance(reply, dict) and "raw" in reply:
            return 200, reply["raw"]
        if path == "/v1/embeddings":
            if reply is not None:
                raise _HTTPError(500, f"embeddings reply must be None, int, Hang or raw; got {reply!r}")
            return 200, self._embeddings(body)
        if reply is None:
            raise _HTTPError(500, "script returned no reply for chat completion")
        return 200, self._chat_completion(body, reply)

    def _chat_completion(self, body: dict[str, Any], reply: str | dict[str, Any]) -> dict[str, Any]:
        spec: dict[str, Any] = {"content": reply} if isinstance(reply, str) else reply
        message: dict[str, Any] = {"role": "assistant", "content": spec.get("content")}
        tool_calls = []
        for call in spec.get("tool_calls") or []:
            args = call.get("arguments", {})
            with self._lock:
                call_id = call.get("id") or f"call_{next(self._call_ids)}"
            tool_calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": call["name"],
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
            )
        if tool_calls:
            message["tool_calls"] = tool_calls
        finish = spec.get("finish_reason") or ("tool_calls" if tool_calls else "stop")
        prompt_tokens = _count_words(body.get("messages", []))
        completion_tokens = _count_words(message)
        with self._lock:
            serial = len(self.requests)
        return {
            "id": f"chatcmpl-stub-{serial}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        raw_input = body.get("input")
        if isinstance(raw_input, str) or (
            isinstance(raw_input, list) and raw_input and all(isinstance(t, int) for t in raw_input)
        ):
            inputs: list[Any] = [raw_input]
        elif isinstance(raw_input, list) and raw_input:
            inputs = raw_input
        else:
            raise _HTTPError(400, "'input' must be a non-empty string or list")
        dim = int(body.get("dimensions") or self.embedding_dim)
        data = []
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else json.dumps(item)
            vec = deterministic_embedding(text, dim)
            encoded: Any = vec
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(len(t.split()) if isinstance(t, str) else len(t) for t in inputs)
        return {
            "object": "list",
            "data": data,
            "model": body.get("model", self.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


class _RequestHandler(BaseHTTPRequestHandler):
    server_stub: ScriptedOpenAI

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any) -> None:
        send_json_bytes(self, status, json.dumps(payload).encode())

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self.server_stub._record("GET", path, None, dict(self.headers.items()))
        if path.rstrip("/") == "/v1/models":
            model = {"id": self.server_stub.model, "object": "model", "created": 0, "owned_by": "stub"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._send(404, _error_body(404, f"unknown path {path}"))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        self.server_stub._record("POST", path, body, dict(self.headers.items()))
        try:
            if not isinstance(body, dict):
                raise _HTTPError(400, "request body must be a JSON object")
            if path not in ("/v1/chat/completions", "/v1/embeddings"):
                raise _HTTPError(404, f"unknown path {path}")
            status, payload = self.server_stub._respond(path, body)
        except _HTTPError as err:
            status, payload = err.status, _error_body(err.status, err.message)
        self._send(status, payload)
