"""Discovery: connect to each registered server, list its tools, record what changed.

``fetch_*`` talks to servers; ``save_*`` writes events. Servers are discovered concurrently,
each under a connect timeout and a call timeout; a server that fails becomes one
``server-failed`` event with a clear reason and the others go on.

Re-discovery appends a ``tool-discovered`` event only when a tool's schema hash changed (so
schema drift is visible as history) and a ``tool-removed`` event for a tool no longer listed.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import mcp_types
from jsonschema.exceptions import best_match
from jsonschema.validators import Draft7Validator, validator_for
from pydantic import ValidationError

from .connect import Endpoint, ServerError, open_connection, resolve
from .errors import ServerNotFound
from .events import ServerConnected, ServerFailed, ServerRegistered, ToolDiscovered, ToolRemoved
from .fixtures import build_sandbox, fixtures_of
from .ids import content_hash
from .processes import reap_orphans, scratch_dir
from .registry import uses_workspace
from .secrets import SecretsFile
from .stdio import one_line, summarize
from .store import Store

# tools/list replies can be large (hundreds of tools with long schemas): a generous bound
LISTING_MAX_BYTES = 64_000_000


@dataclass
class Listing:
    """What one server answered (or why it could not)."""

    server: str
    info: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)
    error: ServerError | None = None
    latency_ms: float = 0.0


@dataclass
class DiscoveryReport:
    connected: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    tools_added: int = 0
    tools_changed: int = 0
    tools_removed: int = 0
    tools_listed: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "servers_connected": len(self.connected),
            "servers_failed": len(self.failed),
            "tools_listed": self.tools_listed,
            "tools_added": self.tools_added,
            "tools_changed": self.tools_changed,
            "tools_removed": self.tools_removed,
        }


# -- schemas -----------------------------------------------------------------------------


def schema_hash(tool: Mapping[str, Any]) -> str:
    """Hash of the canonical form of everything a tool listing says about the tool."""
    return content_hash(
        {
            "name": tool.get("name"),
            "title": tool.get("title"),
            "description": tool.get("description"),
            "inputSchema": tool.get("inputSchema"),
            "outputSchema": tool.get("outputSchema"),
            "annotations": tool.get("annotations") or {},
        }
    )


@functools.cache
def _meta_validator(cls: Any) -> Any:
    # Schemas without "$schema" are checked against draft 7: it catches the same mistakes
    # (unknown types, malformed keywords) as 2020-12 at a tenth of the cost.
    return cls(cls.META_SCHEMA)


# Verdicts of the schemas checked so far, by label and repr (which keeps key order and tells
# 1 from 1.0 from True and lists from tuples): many tools share a schema, and re-discovery
# lists the same ones again, while checking one against the meta-schema costs ~0.5 ms.
_verdicts: dict[tuple[str, str], tuple[str, ...]] = {}
_VERDICTS_MAX = 20_000


def check_schema(schema: Any, label: str = "inputSchema") -> list[str]:
    """Reasons a tool schema is not valid JSON Schema (empty when it is)."""
    if not isinstance(schema, dict):
        return [f"{label} is not a JSON object"]
    key = (label, repr(schema))
    verdict = _verdicts.get(key)
    if verdict is None:
        verdict = tuple(_check_schema(schema, label))
        if len(_verdicts) >= _VERDICTS_MAX:
            _verdicts.clear()
        _verdicts[key] = verdict
    return list(verdict)


def _check_schema(schema: dict[str, Any], label: str) -> list[str]:
    try:
        error = best_match(_meta_validator(validator_for(schema, default=Draft7Validator)).iter_errors(schema))
    except Exception as exc:  # noqa: BLE001 - malformed $schema, unhashable enum ...
        return [f"{label}: {type(exc).__name__}: {exc}"[:500]]
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return [f"{label} at {path}: {error.message}"[:500]]
    if schema.get("type", "object") != "object":
        return [f"{label} must describe an object (type is {schema.get('type')!r})"]
    return []


def model_errors(tool: Mapping[str, Any]) -> list[str]:
    """Why the mcp client's model of a tool rejects this listing entry (one line), if it does."""
    try:
        mcp_types.Tool.model_validate(dict(tool), by_name=False)
    except ValidationError as exc:
        return [f"not a valid MCP tool: {summarize(exc)}"]
    return []


def tool_event(
    server: str, tool: Mapping[str, Any], previous_hash: str | None, version: int, *, callable_: bool, source: str
) -> ToolDiscovered:
    errors = check_schema(tool.get("inputSchema"))
    output = tool.get("outputSchema")
    if output is not None:
        errors += check_schema(output, "outputSchema")
    if not errors:
        errors = model_errors(tool)
    errors = [one_line(e, 500) for e in errors]
    input_schema = tool.get("inputSchema")
    return ToolDiscovered(
        server=server,
        name=str(tool.get("name")),
        title=tool.get("title") if isinstance(tool.get("title"), str) else None,
        description=tool.get("description") if isinstance(tool.get("description"), str) else None,
        input_schema=input_schema if isinstance(input_schema, dict) else {"_invalid": input_schema},
        output_schema=output if isinstance(output, dict) or output is None else {"_invalid": output},
        annotations=tool.get("annotations") if isinstance(tool.get("annotations"), dict) else {},
        schema_hash=schema_hash(tool),
        previous_hash=previous_hash,
        version=version,
        schema_valid=not errors,
        schema_errors=errors,
        callable=callable_,
        source=source,
    )


# -- fetching ------------------------------------------------------------------------------


async def fetch_listing(endpoint: Endpoint, *, connect_timeout: float, call_timeout: float) -> Listing:
    """Connect, initialise and list every tool (following pagination).

    The listing is read raw: a tool the mcp client's model would reject (an invalid schema,
    a non-object inputSchema) is kept, and flagged when its event is made, instead of
    failing the whole server.
    """
    started = time.perf_counter()
    listing = Listing(server=endpoint.name)
    try:
        async with open_connection(endpoint, connect_timeout=connect_timeout, call_timeout=call_timeout,
                                   max_message_bytes=LISTING_MAX_BYTES) as conn:
            client = conn.client
            caps = client.server_capabilities
            info = client.server_info
            listing.info = {
                "server_name": info.name if info else None,
                "server_version": info.version if info else None,
                "protocol_version": client.protocol_version,
                "capabilities": caps.model_dump(mode="json", by_alias=True, exclude_none=True) if caps else {},
                "instructions": endpoint.scrub(client.instructions) if client.instructions else None,
            }
            try:
                tools = await conn.list_tools(timeout=call_timeout)
            except TimeoutError:
                raise ServerError("timeout", f"server {endpoint.name!r} did not answer tools/list within {call_timeout:g}s", "list-tools") from None
            except Exception as exc:  # noqa: BLE001 - any failure here is the server's
                reason = conn.fault or str(exc)
                raise ServerError(
                    "protocol-error", f"server {endpoint.name!r} failed tools/list: {one_line(endpoint.scrub(reason), 500)}", "list-tools"
                ) from None
            listing.tools.extend(t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str) and t["name"])
    except ServerError as err:
        listing.error = err
    except Exception as exc:  # noqa: BLE001 - whatever else a server did ends at that server
        listing.error = ServerError(
            "protocol-error", f"server {endpoint.name!r}: {type(exc).__name__}: {one_line(endpoint.scrub(str(exc)), 400)}", "list-tools")
    listing.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return listing


# -- saving --------------------------------------------------------------------------------


def tool_state(store: Store, server: str) -> tuple[dict[str, str], dict[str, int]]:
    """(live tool -> schema hash, every known tool -> its stream version) for one server."""
    live, versions, _ = _tool_state(store, server)
    return live, versions


def _tool_state(store: Store, server: str) -> tuple[dict[str, str], dict[str, int], dict[str, bool]]:
    live: dict[str, str] = {}
    versions: dict[str, int] = {}
    callable_: dict[str, bool] = {}
    for name, h, removed, version, can_call in store.conn.execute(
        "SELECT name, schema_hash, removed, stream_version, callable FROM tools WHERE server = ?", (server,)
    ):
        versions[name] = version
        if not removed:
            live[name] = h
            callable_[name] = bool(can_call)
    return live, versions, callable_


def save_listing(store: Store, listing: Listing, report: DiscoveryReport, *, excluded: frozenset[str] = frozenset()) -> None:
    """Append the events one server's listing implies, in one transaction.

    Tools in ``excluded`` (the registry's ``exclude_tools``) are recorded as not callable, so
    no later stage explores them; a tool whose exclusion changed is recorded again."""
    if listing.error is not None:
        err = listing.error
        store.append(
            ServerFailed(
                server=listing.server,
                phase=err.phase,  # type: ignore[arg-type]
                error_class=err.error_class,  # type: ignore[arg-type]
                message=err.message,
                stderr_tail=err.stderr_tail,
            )
        )
        report.failed[listing.server] = err.message
        return
    store.catch_up()
    live, versions, was_callable = _tool_state(store, listing.server)
    seen: dict[str, str] = {}
    events: list[Any] = []
    for tool in listing.tools:
        name = str(tool.get("name"))
        if name in seen:  # a server listing one name twice: the first one counts
            continue
        can_call = name not in excluded
        event = tool_event(listing.server, tool, live.get(name), versions.get(name, 0), callable_=can_call, source="discovery")
        seen[name] = event.schema_hash
        if live.get(name) != event.schema_hash or was_callable.get(name, can_call) != can_call:
            events.append(event)
            if name in live:
                report.tools_changed += 1
            else:
                report.tools_added += 1
    for name, old in sorted(live.items()):
        if name not in seen:
            events.append(ToolRemoved(server=listing.server, name=name, last_hash=old, version=versions.get(name, 0)))
            report.tools_removed += 1
    events.append(ServerConnected(server=listing.server, tool_hashes=seen, latency_ms=listing.latency_ms, **listing.info))
    with store.transaction():
        store.append_many(events)
    store.catch_up()
    report.connected.append(listing.server)
    report.tools_listed += len(seen)


# -- the stage -------------------------------------------------------------------------------


def registered(store: Store, names: list[str] | None = None, *, include_catalog: bool = False) -> list[ServerRegistered]:
    """The latest registration of each server still in the registry."""
    store.catch_up()
    rows = store.conn.execute(
        "SELECT name FROM servers WHERE status != 'removed'" + ("" if include_catalog else " AND callable = 1") + " ORDER BY name"
    ).fetchall()
    known = [r[0] for r in rows]
    if names:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ServerNotFound(
                f"no callable server named {', '.join(map(repr, unknown))} in the registry"
                f" (known: {', '.join(known) or 'none'}); see `firefly servers list`"
            )
        known = [n for n in known if n in names]
    out = []
    for name in known:
        rec = store.last(f"server:{name}", "server-registered")
        if rec is not None:
            out.append(rec.event)  # type: ignore[arg-type]
    return out


def discover(
    store: Store,
    names: list[str] | None = None,
    *,
    connect_timeout: float = 60.0,
    call_timeout: float = 30.0,
    concurrency: int = 8,
    targets: Mapping[str, Any] | None = None,
    on_server: Callable[[Listing], None] | None = None,
) -> DiscoveryReport:
    """Discover the tools of registered servers (all callable ones, or ``names``).

    Servers run in a fresh sandbox built from the seeds and the registered servers' fixtures
    (``${FIREFLY_WORKSPACE}``), so discovery never touches either; the services they need
    run for the time of discovery. A server whose service, program or Python is missing is
    one ``server-failed`` event saying so. ``targets`` maps server names to
    in-process MCP servers (tests). ``on_server`` is called as each server finishes.
    """
    regs = registered(store, names)
    report = DiscoveryReport()
    if not regs:
        return report
    reap_orphans()  # servers and workspaces left by a firefly that was killed
    secrets = SecretsFile(store.path)
    fixtures = fixtures_of(regs)
    with scratch_dir("firefly-discover-") as tmp, contextlib.ExitStack() as stack:
        from .seeds import workspace_variables
        from .services import Services

        needs_root = fixtures or any(uses_workspace(r) for r in regs)
        root = build_sandbox(Path(tmp) / "workspace", fixtures) if needs_root else None
        services = stack.enter_context(Services(root))
        blocked = services.start_for(regs)
        variables = {**workspace_variables(root), **services.variables}

        async def one(reg: ServerRegistered, limiter: anyio.CapacityLimiter) -> None:
            async with limiter:
                try:
                    if reg.name in blocked:
                        raise ServerError("config-error", blocked[reg.name])
                    endpoint = resolve(reg, secrets=secrets, variables=variables)
                except ServerError as err:
                    listing = Listing(server=reg.name, error=err)
                else:
                    if targets and reg.name in targets:
                        endpoint.target = targets[reg.name]
                    listing = await fetch_listing(endpoint, connect_timeout=connect_timeout, call_timeout=call_timeout)
            excluded = frozenset(reg.fixtures.exclude_tools) if reg.fixtures is not None else frozenset()
            save_listing(store, listing, report, excluded=excluded)
            if on_server:
                on_server(listing)

        async def main() -> None:
            limiter = anyio.CapacityLimiter(max(1, concurrency))
            async with anyio.create_task_group() as tg:
                for reg in regs:
                    tg.start_soon(one, reg, limiter)

        anyio.run(main)
    store.catch_up()
    return report

