"""The stdio transport to an MCP server, strict about what it reads and bounded in size.

A server process writes newline-delimited JSON-RPC on stdout. What it writes is untrusted,
so the reader here (instead of mcp's) turns every fault into something the session can
report, never an exception that escapes into firefly's task group:

* a line that is not UTF-8 is a protocol violation: when the request it answers can be told
  (its ``id``), that request gets an error reply naming the bytes; otherwise the session ends
  with the fault recorded in :class:`TransportState` (pending requests then fail with it);
* a line that is UTF-8 but not JSON is noise (servers print banners): it is skipped and the
  last one kept for error messages; a line that starts like JSON and does not parse is a
  violation, handled as above;
* a message that is JSON but not JSON-RPC gets an error reply when it has an ``id``;
* lone surrogates (``\\ud800``, legal JSON escapes that no UTF-8 text can hold) are replaced
  by U+FFFD, so what is recorded can always be encoded;
* a message longer than ``max_message_bytes`` is cut *while it is read*: the first
  ``max_message_bytes`` are kept, the rest is counted and discarded, and the reply is
  rebuilt from the kept prefix (every complete element, a text cut short) with a
  ``firefly/cut`` entry in its result saying what was cut (bytes kept and total, items kept
  and total), so a 300,000-block or 50 MB result costs a bounded amount of memory.

Every byte read moves :attr:`TransportState.last_activity`: callers can bound a call by
inactivity (time to the first byte, then between bytes) instead of total time.

The server runs in its own process group, recorded with :mod:`firefly.processes` so that
a firefly killed with ``kill -9`` has its servers killed at the next start; shutdown closes
stdin, waits, then terminates and kills the whole group.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
import mcp_types as types
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from . import processes

CUT_KEY = "firefly/cut"
GRACE_SECONDS = 2.0  # for a server to exit after its stdin closes
KILL_SECONDS = 2.0  # after SIGTERM, before SIGKILL
_TAIL = 4096
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_decoder = json.JSONDecoder()


@dataclass
class TransportState:
    """What the transport knows that the session does not: faults, activity, noise.

    ``fault`` is a violation that ended the session; ``refused`` the last one that failed
    only the request it answered (that request gets an error reply saying why)."""

    server: str
    fault: str | None = None
    refused: str | None = None
    last_activity: float = 0.0
    noise: str | None = None
    pid: int | None = None
    _watchers: dict[int, tuple[anyio.CancelScope, float, float]] = field(default_factory=dict)

    def touch(self) -> None:
        now = anyio.current_time()
        self.last_activity = now
        for scope, idle, ceiling in self._watchers.values():
            scope.deadline = min(max(scope.deadline, now + idle), ceiling)

    @asynccontextmanager
    async def inactivity(self, idle: float, ceiling: float) -> AsyncIterator[anyio.CancelScope]:
        """A scope cancelled after ``idle`` seconds without a byte from the server (and in any
        case ``ceiling`` seconds from now). ``scope.cancelled_caught`` tells a timeout."""
        now = anyio.current_time()
        with anyio.CancelScope(deadline=now + idle) as scope:
            key = id(scope)
            self._watchers[key] = (scope, idle, now + ceiling)
            try:
                yield scope
            finally:
                self._watchers.pop(key, None)


def one_line(text: str, limit: int = 300) -> str:
    """Text as one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_safe(value: Any) -> Any:
    """``value`` with every lone surrogate (in strings and keys) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    return value


# -- reading a prefix of a JSON document -------------------------------------------------------


def parse_prefix(text: str) -> Any:
    """The value a cut JSON document begins with: complete elements of every open container,
    a string cut short kept as far as it goes, an incomplete number or literal dropped."""
    value, _end, _done = _value(text, _skip(text, 0))
    return value


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


_MISSING = object()


def _after_comma(text: str, i: int) -> int | None:
    """The position of the next member or element after the one that ended at ``i``, or None
    when no comma follows (the container ends, or the text is cut)."""
    i = _skip(text, i)
    return _skip(text, i + 1) if i < len(text) and text[i] == "," else None


def _value(text: str, i: int) -> tuple[Any, int, bool]:
    """(value or _MISSING, position after it, complete)."""
    if i >= len(text):
        return _MISSING, i, False
    try:
        value, end = _decoder.raw_decode(text, i)
        return value, end, True
    except json.JSONDecodeError:
        pass
    ch = text[i]
    if ch == "{":
        out: dict[str, Any] = {}
        i = _skip(text, i + 1)
        while i < len(text):
            try:
                key, i = _decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                break
            i = _skip(text, i)
            if i >= len(text) or text[i] != ":" or not isinstance(key, str):
                break
            value, i, done = _value(text, _skip(text, i + 1))
            if value is not _MISSING:
                out[key] = value
            nxt = _after_comma(text, i) if done else None
            if nxt is None:
                break
            i = nxt
        return out, i, False
    if ch == "[":
        items: list[Any] = []
        i = _skip(text, i + 1)
        while i < len(text):
            value, i, done = _value(text, i)
            if value is not _MISSING and (done or not items):  # a cut element only when it is the first
                items.append(value)
            nxt = _after_comma(text, i) if done else None
            if nxt is None:
                break
            i = nxt
        return items, i, False
    if ch == '"':
        part = text[i + 1:]
        cut = part.rfind("\\", max(0, len(part) - 6))
        if cut >= 0:
            part = part[:cut]  # an escape cut in half
        try:
            return json.loads('"' + part + '"'), len(text), False
        except json.JSONDecodeError:
            return _MISSING, len(text), False
    return _MISSING, len(text), False


class ItemCounter:
    """Counts, over a JSON document fed in chunks, the elements of arrays three levels deep
    (``result.content`` and ``result.tools`` of a reply): how many items a cut reply had."""

    _TOKEN = re.compile(rb'[\\"\[\]{},]')

    def __init__(self) -> None:
        self.stack: list[bool] = []  # per open container: is it an array
        self.started: list[bool] = []  # per open container: has its current element begun
        self.in_string = False
        self.carry = False  # the previous chunk ended with a backslash inside a string
        self.items = 0

    def feed(self, chunk: bytes) -> None:
        skip = 0 if self.carry else -1
        self.carry = False
        for match in self._TOKEN.finditer(chunk):
            pos = match.start()
            if pos == skip:
                continue
            tok = match.group()
            if self.in_string:
                if tok == b"\\":
                    skip = pos + 1
                    self.carry = skip == len(chunk)
                elif tok == b'"':
                    self.in_string = False
                continue
            if tok == b",":
                if self.started:
                    self.started[-1] = False
                continue
            if tok in (b"}", b"]"):
                if self.stack:
                    self.stack.pop()
                    self.started.pop()
                continue
            self._element()
            if tok == b'"':
                self.in_string = True
            else:
                self.stack.append(tok == b"[")
                self.started.append(False)
        if not self.in_string:
            self.carry = False

    def _element(self) -> None:
        if self.started and not self.started[-1]:
            self.started[-1] = True
            if len(self.stack) == 3 and self.stack[-1]:
                self.items += 1


# -- the reader ----------------------------------------------------------------------------------


class _Line:
    """One line being read: its first ``limit`` bytes, a tail, the total, an item count."""

    def __init__(self, limit: int):
        self.limit = limit
        self.head = bytearray()
        self.tail = b""
        self.total = 0
        self.counter: ItemCounter | None = None

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        if self.counter is None:  # first overflow: count the items in what was kept too
            self.counter = ItemCounter()
            self.counter.feed(bytes(self.head))
        self.counter.feed(data)
        self.tail = (self.tail + data)[-_TAIL:]

    @property
    def cut(self) -> bool:
        return self.counter is not None


class _Reader:
    def __init__(self, state: TransportState, max_message_bytes: int):
        self.state = state
        self.max = max(1024, max_message_bytes)

    def messages(self, line: _Line) -> SessionMessage | None:
        """The message one complete line makes, or None (noise). Sets ``state.fault`` when
        the line is a violation no request can be told from."""
        raw = bytes(line.head)
        if not line.cut and not raw.strip():
            return None
        try:
            text = raw.decode("utf-8") if not line.cut else raw.decode("utf-8", "ignore")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start:exc.start + 4].hex(" ")
            reason = (f"server {self.state.server!r} wrote bytes that are not UTF-8 (0x{bad} at byte {exc.start}"
                      f" of a {len(raw)}-byte line): a protocol violation")
            return self._refuse(raw.decode("utf-8", "replace"), reason)
        if line.cut:
            return self._salvage(text, line)
        stripped = text.lstrip()
        if not stripped.startswith(("{", "[")):
            self.state.noise = one_line(text, 200)
            return None
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            return self._refuse(text, f"server {self.state.server!r} wrote a line that is not JSON ({one_line(str(exc), 80)})")
        if _LONE_SURROGATE_ESCAPE.search(text):
            obj = json_safe(obj)
        return self._message(obj)

    def _message(self, obj: Any) -> SessionMessage | None:
        try:
            return SessionMessage(types.jsonrpc_message_adapter.validate_python(obj, by_name=False))
        except ValidationError as exc:
            reason = f"server {self.state.server!r} sent a message that is not JSON-RPC: {summarize(exc)}"
            return self._reply_error(obj.get("id") if isinstance(obj, dict) else None, reason)

    def _refuse(self, text: str, reason: str) -> SessionMessage | None:
        """An error reply for the request the line answered, if its id can be told."""
        request_id = None
        try:
            obj = json.loads(text)
            if isinstance(obj, dict):
                request_id = obj.get("id")
        except (json.JSONDecodeError, RecursionError):
            match = re.search(r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")\s*[,}]', text)
            if match:
                request_id = json.loads(match.group(1))
        return self._reply_error(request_id, reason)

    def _reply_error(self, request_id: Any, reason: str) -> SessionMessage | None:
        reason = one_line(reason, 500)
        if isinstance(request_id, (int, str)) and not isinstance(request_id, bool):
            self.state.refused = reason
            message = types.JSONRPCError(jsonrpc="2.0", id=request_id, error=types.ErrorData(code=-32603, message=reason))
            return SessionMessage(message)
        self.state.fault = reason
        return None

    def _salvage(self, text: str, line: _Line) -> SessionMessage | None:
        obj = parse_prefix(text)
        if not isinstance(obj, dict):
            obj = {}
        obj = json_safe(obj)
        request_id = obj.get("id")
        if request_id is None:
            tail = line.tail.decode("utf-8", "ignore")
            ids = re.findall(r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")\s*[,}]', tail)
            if ids:
                request_id = json.loads(ids[-1])
        if request_id is None or "method" in obj:
            return None  # a huge notification or request from the server: dropped
        result = obj.get("result") if isinstance(obj.get("result"), dict) else {}
        kept = next((len(v) for k, v in result.items() if isinstance(v, list) and k in ("content", "tools")), 0)
        result[CUT_KEY] = {
            "bytes_kept": len(line.head), "bytes_total": line.total,
            "items_kept": kept, "items_total": line.counter.items if line.counter else kept,
        }
        if "error" in obj and not result:
            return self._reply_error(request_id, f"server {self.state.server!r} sent a {line.total}-byte error reply")
        return self._message({"jsonrpc": "2.0", "id": request_id, "result": result})


def summarize(exc: ValidationError) -> str:
    """A pydantic error as one line: the first problem and how many more."""
    errors = exc.errors()
    if not errors:
        return one_line(str(exc), 200)
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return one_line(f"{where}: {first.get('msg')}{more}", 300)


@asynccontextmanager
async def stdio_transport(
    command: str,
    args: list[str],
    *,
    env: dict[str, str],
    cwd: str | None,
    errlog: TextIO,
    state: TransportState,
    max_message_bytes: int,
) -> AsyncIterator[tuple[Any, Any]]:
    """Start the server and yield (read stream, write stream) for an mcp ``Client``."""
    process = await anyio.open_process([command, *args], env=env, stderr=errlog, cwd=cwd, start_new_session=True)
    state.pid = process.pid
    processes.adopt_group(process.pid)
    read_send, read_receive = anyio.create_memory_object_stream[Any](0)
    write_send, write_receive = anyio.create_memory_object_stream[SessionMessage](0)
    reader = _Reader(state, max_message_bytes)

    async def stdout_reader() -> None:
        assert process.stdout
        line = _Line(reader.max)
        async with read_send:
            try:
                async for chunk in process.stdout:
                    state.touch()
                    start = 0
                    while True:
                        end = chunk.find(b"\n", start)
                        if end < 0:
                            line.add(chunk[start:])
                            break
                        line.add(chunk[start:end])
                        start = end + 1
                        message = reader.messages(line)
                        line = _Line(reader.max)
                        if state.fault is not None:
                            return  # closing the read stream ends the session; the fault says why
                        if message is not None:
                            await read_send.send(message)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
                return

    async def stdin_writer() -> None:
        assert process.stdin
        try:
            async with write_receive:
                async for message in write_receive:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode("utf-8", "surrogatepass"))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_send.aclose()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(stdout_reader)
            tg.start_soon(stdin_writer)
            try:
                yield read_receive, write_send
            finally:
                with anyio.CancelScope(shield=True):
                    await _stop(process)
                tg.cancel_scope.cancel()
    finally:
        processes.release_group(process.pid)


async def _stop(process: Any) -> None:
    """Close stdin, give the server a moment, then terminate and kill its whole group."""
    with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()
    with anyio.move_on_after(GRACE_SECONDS):
        while process.returncode is None:
            await anyio.sleep(0.02)
    await terminate_posix_process_tree(process, KILL_SECONDS)  # the group: children of npx/uvx too
    with anyio.move_on_after(KILL_SECONDS):
        while process.returncode is None:
            await anyio.sleep(0.02)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            with suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await stream.aclose()
    transport = getattr(getattr(process, "_process", None), "_transport", None)
    if transport is not None:
        with suppress(PermissionError):
            transport.close()


__all__ = ["CUT_KEY", "ItemCounter", "TransportState", "json_safe", "one_line", "parse_prefix", "stdio_transport", "summarize"]
