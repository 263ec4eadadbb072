"""The tool-call executor: real calls to real servers, with every way a call can go wrong
turned into a recorded outcome.

* One session per server (per sandbox slot, for servers that work on the workspace),
  started on first use and reused across calls; a server that died or hung is restarted
  on the next call.
* Concurrency limits per server and overall; a timeout per call.
* Results are capped: at most ``max_result_blocks`` content blocks and about
  ``max_result_bytes`` bytes are kept (text beyond it is cut with a marker, binary blobs are
  replaced by their size); what was kept of the total is recorded (:class:`ResultCut`).
  On stdio the cap is enforced while reading: a message longer than
  ``max_message_bytes`` (16 times the byte cap, at least 1 MB) is cut by the transport
  as it arrives, so a 300,000-block or 50 MB result never sits whole in memory.
* The call timeout bounds the time without a byte from the server (to the first byte,
  then between bytes), with a ceiling of four times the timeout: a big result that is
  still arriving is not a timeout, a server that stalls is. (In-process and HTTP servers:
  the timeout bounds the whole call.)
* Results are read raw (no strict model): a server's invalid output is recorded as it
  came or as a one-line protocol error, never an exception.
* Protocol-level failures (timeout, the server died, an MCP error such as an unknown tool,
  the server could not start) come back as a :class:`CallOutcome` with an ``error_class``;
  a tool-level error (``is_error`` true in the result) is a normal result.

Use it as an async context manager inside a running event loop::

    async with Executor(endpoint_for, workspace_bound={"git"}) as ex:
        outcome = await ex.call("notes", "read_note", {"path": "/workspace/files/todo.md"}, sandbox=sb)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
from mcp.shared.exceptions import MCPError

from ..connect import Connection, Endpoint, ServerError, open_connection
from ..events import ResultCut
from ..locator import TRUNCATION_MARKER
from ..stdio import CUT_KEY, json_safe, one_line
from .sandbox import Sandbox

_json = msgspec.json.Encoder()


@dataclass
class CallOutcome:
    content: list[dict[str, Any]] = field(default_factory=list)
    structured: dict[str, Any] | None = None
    is_error: bool = False
    error_class: str | None = None  # timeout, server-died, server-unavailable, protocol-error
    error: str | None = None
    latency_ms: float = 0.0
    result_bytes: int = 0
    truncated: bool = False
    cut: ResultCut | None = None

    @property
    def ok(self) -> bool:
        return not self.is_error and self.error_class is None


class _Session:
    """One running server and its client, owned by a task of the executor's task group."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.connection: Connection | None = None
        self.dead = False
        self._stop = anyio.Event()

    async def run(self, connect_timeout: float, call_timeout: float, max_message_bytes: int, *, task_status: Any) -> None:
        started = False
        try:
            async with open_connection(self.endpoint, connect_timeout=connect_timeout, call_timeout=call_timeout,
                                       max_message_bytes=max_message_bytes) as connection:
                self.connection = connection
                task_status.started()
                started = True
                try:
                    await self._stop.wait()
                except BaseException:  # noqa: BLE001 - shutting down
                    pass
        except Exception:
            if not started:
                raise  # the caller of start() gets it
            # the server failed after it started (its transport broke while shutting down):
            # that ends this session only; the next call starts it again
        finally:
            self.dead = True

    def stop(self) -> None:
        self.dead = True
        self._stop.set()


class Executor:
    def __init__(
        self,
        endpoint_for: Callable[[str, Sandbox | None], Endpoint],
        *,
        workspace_bound: set[str] | frozenset[str] = frozenset(),
        per_server: int = 4,
        overall: int = 16,
        call_timeout: float = 30.0,
        connect_timeout: float = 120.0,
        max_result_bytes: int = 64_000,
        max_result_blocks: int = 1_000,
    ):
        self._endpoint_for = endpoint_for
        self.workspace_bound = set(workspace_bound)
        self.per_server = max(1, per_server)
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        self.max_result_bytes = max_result_bytes
        self.max_result_blocks = max(1, max_result_blocks)
        self.max_message_bytes = max(1_000_000, 16 * max_result_bytes)
        self._overall = anyio.CapacityLimiter(max(1, overall))
        self._limits: dict[str, anyio.CapacityLimiter] = {}
        self._sessions: dict[tuple[str, str | None], _Session] = {}
        self._starting: dict[tuple[str, str | None], anyio.Lock] = {}
        self._tg: Any = None
        self.restarts = 0

    async def __aenter__(self) -> Executor:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        for session in self._sessions.values():
            session.stop()
        return await self._tg.__aexit__(*exc)

    # -- sessions ------------------------------------------------------------------------

    def _key(self, server: str, sandbox: Sandbox | None) -> tuple[str, str | None]:
        return (server, str(sandbox.root) if sandbox is not None and server in self.workspace_bound else None)

    async def session(self, server: str, sandbox: Sandbox | None = None) -> _Session:
        """The running session for a server (and sandbox), started if needed."""
        key = self._key(server, sandbox)
        lock = self._starting.setdefault(key, anyio.Lock())
        async with lock:
            current = self._sessions.get(key)
            if current is not None and not current.dead:
                return current
            if current is not None:
                self.restarts += 1
            endpoint = self._endpoint_for(server, sandbox if key[1] is not None else None)
            session = _Session(endpoint)
            await self._tg.start(session.run, self.connect_timeout, self.call_timeout, self.max_message_bytes)
            self._sessions[key] = session
            return session

    def stop_sandbox(self, sandbox: Sandbox) -> None:
        """Stop the servers bound to one sandbox (e.g. before deleting it)."""
        for key, session in list(self._sessions.items()):
            if key[1] == str(sandbox.root):
                session.stop()
                del self._sessions[key]

    def stop_server(self, server: str, sandbox: Sandbox) -> None:
        """Stop a server bound to one sandbox, so that the next call starts it afresh.

        Servers shared by every sandbox (not bound to the workspace) are left running."""
        key = self._key(server, sandbox)
        if key[1] is not None and key in self._sessions:
            self._sessions.pop(key).stop()

    # -- calls ---------------------------------------------------------------------------

    async def call(
        self, server: str, tool: str, arguments: dict[str, Any], *, sandbox: Sandbox | None = None
    ) -> CallOutcome:
        """Call a tool for real. Never raises for a server's misbehaviour: see CallOutcome."""
        limit = self._limits.setdefault(server, anyio.CapacityLimiter(self.per_server))
        async with self._overall, limit:
            try:
                session = await self.session(server, sandbox)
            except ServerError as err:
                return CallOutcome(is_error=True, error_class="server-unavailable", error=err.message)
            real_args = sandbox.to_real(arguments) if sandbox is not None else arguments
            connection = session.connection
            assert connection is not None
            started = time.perf_counter()
            try:
                result = await connection.request("tools/call", {"name": tool, "arguments": real_args},
                                                  timeout=self.call_timeout)
            except TimeoutError:
                session.stop()  # a hung server is restarted on the next call
                return self._failed("timeout", f"no result from {server}/{tool} within {self.call_timeout:g}s", started)
            except MCPError as exc:
                if connection.fault is not None:  # a protocol violation ended the session
                    session.stop()
                    return self._failed("protocol-error", f"{server}/{tool}: {session.endpoint.scrub(connection.fault)}", started)
                if _closed(exc):
                    session.stop()
                    return self._failed("server-died", f"server {server!r} closed the connection during {tool}", started)
                return self._failed("protocol-error", f"{server}/{tool}: {session.endpoint.scrub(str(exc))}", started)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as exc:
                session.stop()
                return self._failed("server-died", f"server {server!r} died during {tool}: {type(exc).__name__}", started)
            latency = (time.perf_counter() - started) * 1000
        outcome = self.record(result, sandbox, session.endpoint)
        outcome.latency_ms = round(latency, 3)
        if outcome.error is not None:
            outcome.error = f"{server}/{tool}: {outcome.error}"
        return outcome

    def _failed(self, error_class: str, message: str, started: float) -> CallOutcome:
        return CallOutcome(
            is_error=True, error_class=error_class, error=one_line(message, 500),
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def record(self, result: dict[str, Any], sandbox: Sandbox | None, endpoint: Endpoint) -> CallOutcome:
        """A raw ``tools/call`` result as it is recorded: wire-format JSON, virtual paths,
        at most ``max_result_blocks`` blocks and about ``max_result_bytes`` bytes."""
        if not isinstance(result, dict):
            return CallOutcome(is_error=True, error_class="protocol-error", error="the result is not a JSON object")
        transport_cut = result.get(CUT_KEY) if isinstance(result.get(CUT_KEY), dict) else None
        content = result.get("content", [])
        structured = result.get("structuredContent")
        if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
            return CallOutcome(is_error=True, error_class="protocol-error",
                               error="the result's content is not a list of content blocks")
        if structured is not None and not isinstance(structured, dict):
            return CallOutcome(is_error=True, error_class="protocol-error",
                               error=f"the result's structuredContent is a {type(structured).__name__}, not an object")
        blocks_total = int(transport_cut["items_total"]) if transport_cut else len(content)
        blocks_total = max(blocks_total, len(content))
        content = [{k: v for k, v in block.items() if k != "_meta" and v is not None} for block in content[: self.max_result_blocks]]
        if sandbox is not None:
            content = sandbox.to_virtual(content)
            structured = sandbox.to_virtual(structured)
        if endpoint.secret_values:
            content = _scrub(content, endpoint)
            structured = _scrub(structured, endpoint)
        try:
            size = len(_json.encode(content)) + (len(_json.encode(structured)) if structured is not None else 0)
        except UnicodeEncodeError:  # lone surrogates from a server that is not behind firefly's stdio reader
            content, structured = json_safe(content), json_safe(structured)
            size = len(_json.encode(content)) + (len(_json.encode(structured)) if structured is not None else 0)
        bytes_total = int(transport_cut["bytes_total"]) if transport_cut else size
        outcome = CallOutcome(content=content, structured=structured, is_error=result.get("isError") is True,
                              result_bytes=max(size, bytes_total))
        if size > self.max_result_bytes or transport_cut is not None or len(content) < blocks_total:
            missing = max(0, int(transport_cut["bytes_total"]) - int(transport_cut["bytes_kept"])) if transport_cut else 0
            cap(outcome, self.max_result_bytes, missing if len(content) == blocks_total else 0)
            kept = len(_json.encode(outcome.content)) + (len(_json.encode(outcome.structured)) if outcome.structured is not None else 0)
            outcome.cut = ResultCut(blocks_kept=len(outcome.content), blocks_total=blocks_total,
                                    bytes_kept=kept, bytes_total=outcome.result_bytes)
        return outcome


def cap(outcome: CallOutcome, limit: int, missing: int = 0) -> None:
    """Cut a result to about ``limit`` bytes: text is cut with a marker, blobs by their size,
    blocks after the budget is spent are dropped. ``missing``: bytes of the last block that
    never arrived (the transport cut them while reading), counted in its marker."""
    outcome.truncated = True
    budget = limit
    if outcome.structured is not None and len(_json.encode(outcome.structured)) > limit // 2:
        outcome.structured = {"_truncated": True, "bytes": len(_json.encode(outcome.structured))}
    if outcome.structured is not None:
        budget -= len(_json.encode(outcome.structured))
    blocks = []
    last = len(outcome.content) - 1
    for index, block in enumerate(outcome.content):
        if blocks and budget <= 0:
            break
        block = dict(block)
        for field_name in ("data", "blob"):
            value = block.get(field_name) or (block.get("resource") or {}).get(field_name)
            if isinstance(value, str) and len(value) > 256:
                marker = f"[firefly: {len(value)} bytes of base64 omitted]"
                if field_name in block:
                    block[field_name] = marker
                else:
                    block["resource"] = {**block["resource"], field_name: marker}
        text = block.get("text")
        if isinstance(text, str):
            raw = text.encode()
            keep = max(budget, 0)
            lost = missing if index == last else 0
            if len(raw) > keep or lost:
                block["text"] = raw[:keep].decode("utf-8", "ignore") + TRUNCATION_MARKER.format(omitted=len(raw) - min(keep, len(raw)) + lost)
            budget -= min(len(raw), keep)
        else:
            budget -= len(_json.encode(block))
        blocks.append(block)
    outcome.content = blocks


def _scrub(value: Any, endpoint: Endpoint) -> Any:
    if isinstance(value, str):
        return endpoint.scrub(value)
    if isinstance(value, list):
        return [_scrub(v, endpoint) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, endpoint) for k, v in value.items()}
    return value


def _closed(exc: MCPError) -> bool:
    return "closed" in str(exc).lower() or "connection" in str(exc).lower() and "lost" in str(exc).lower()


__all__ = ["CallOutcome", "Executor", "TRUNCATION_MARKER", "cap"]
