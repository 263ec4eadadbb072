"""A server's world first: the survey firefly makes before exploring a server.

For each callable server, on a fresh sandbox of its own, :func:`survey`:

1. calls the tools its adapter says are safe to call without arguments (the generic
   adapter: no required parameter; ``readOnlyHint`` true where given; never a destructive
   tool or one whose name says it changes something: see :mod:`firefly.adapters.verbs`),
   each call one ``tool-called`` event of the survey (``exploration_id`` = the survey's id,
   ``step`` its place, arguments ``{}``);
2. lists the server's MCP resources and reads the first :data:`MAX_RESOURCES` of them (text
   cut to :data:`MAX_RESOURCE_BYTES`), and lists its prompts;
3. ends with one ``server-surveyed`` event holding the resources, prompts and what failed.

:func:`grounded_pools` projects the survey events into a pool of grounded values per
server (names, ids, paths, URLs, dates, numbers), each a
:class:`~firefly.explore.values.Value` keyed by kind and field name whose ``context`` names
the event it came from (``event``), so that an argument filled from it is recorded with an
honest source. A survey is resumable: calls already recorded are not made again, and a
server whose survey ended is not surveyed again.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from ..adapters import Adapter, ServerRecord, adapter_for, server_record
from ..connect import ServerError
from ..events import ServerSurveyed, ToolCalled
from ..ids import content_hash, short_hash
from ..processes import reap_orphans, scratch_dir
from ..store import Store
from .executor import Executor
from .policy import CallRecord, ToolRef
from .sandbox import Sandbox
from .values import Value

__all__ = ["SurveyReport", "grounded_pools", "survey", "survey_id"]

MAX_SURVEY_TOOLS = 25
MAX_RESOURCES = 20
MAX_RESOURCE_BYTES = 32_000
MAX_PROMPTS = 50
MAX_POOL = 2_000  # values kept per server


@dataclass
class SurveyReport:
    servers: int = 0
    surveyed: int = 0  # new surveys this run
    calls: int = 0
    successes: int = 0
    resources: int = 0
    prompts: int = 0
    adapters: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return dict(self.__dict__)


SURVEY_PREFIX = "survey-"


def survey_id(server: str, tools: tuple[ToolRef, ...] | list[ToolRef]) -> str:
    """The id of a server's survey: a new tool list is surveyed anew."""
    listing = sorted((t.name, content_hash(t.input_schema)) for t in tools)
    return SURVEY_PREFIX + short_hash([server, listing], 16)


def _surveyed(store: Store) -> dict[str, ServerSurveyed]:
    """The newest ended survey of each server."""
    out: dict[str, ServerSurveyed] = {}
    for rec in store.read(types=["server-surveyed"]):
        out[rec.event.server] = rec.event
    return out


def callable_servers(store: Store) -> dict[str, ServerRecord]:
    store.catch_up()
    names = [r[0] for r in store.conn.execute(
        "SELECT DISTINCT server FROM tools WHERE callable = 1 AND removed = 0 ORDER BY server")]
    return {n: server_record(store, n) for n in names}


def survey(
    store: Store,
    *,
    servers: list[str] | None = None,
    concurrency: int = 4,
    call_timeout: float = 30.0,
    connect_timeout: float = 120.0,
    max_result_bytes: int = 64_000,
    on_server: Callable[[str, int, int], None] | None = None,
) -> SurveyReport:
    """Survey every callable server (or ``servers``) not yet surveyed with its current tools."""
    report = SurveyReport()
    records = callable_servers(store)
    if servers is not None:
        records = {n: r for n, r in records.items() if n in servers}
    done = _surveyed(store)
    todo = [r for n, r in records.items() if n not in done or done[n].survey_id != survey_id(n, r.tools)]
    report.servers = len(records)
    if not todo:
        return report
    from .stage import ServerWorld

    reap_orphans()  # servers and sandboxes left by a firefly that was killed
    with scratch_dir("firefly-survey-") as tmp, contextlib.ExitStack() as stack:
        world = ServerWorld.open(store, {r.name for r in todo}, Path(tmp), stack)
        endpoint_for, bound = world.endpoint_for, world.bound
        queue = list(todo)
        finished = [0]
        names = iter(range(len(todo)))

        async def worker(ex: Executor, slot: int) -> None:
            while queue:
                record = queue.pop(0)
                sandbox = Sandbox.create(Path(tmp), f"survey{next(names)}", world.fixtures)
                await survey_one(store, ex, sandbox, record, adapter_for(record), report, max_result_bytes)
                ex.stop_sandbox(sandbox)
                finished[0] += 1
                if on_server:
                    on_server(record.name, finished[0], len(todo))

        async def main() -> None:
            async with Executor(endpoint_for, workspace_bound=bound, per_server=1, overall=max(1, concurrency),
                                call_timeout=call_timeout, connect_timeout=connect_timeout,
                                max_result_bytes=max_result_bytes) as ex:
                async with anyio.create_task_group() as tg:
                    for slot in range(max(1, min(concurrency, len(todo)))):
                        tg.start_soon(worker, ex, slot)

        anyio.run(main)
    store.catch_up()
    return report


async def survey_one(store: Store, ex: Executor, sandbox: Sandbox, record: ServerRecord, adapter: Adapter,
                     report: SurveyReport, max_result_bytes: int = 64_000) -> ServerSurveyed:
    """Survey one server on ``sandbox``: its argument-free read-only tools, resources, prompts."""
    from .stage import IN_BAND_ERROR

    sid = survey_id(record.name, record.tools)
    report.adapters[record.name] = adapter.name
    recorded = {r.event.step: r.event for r in store.read(types=["tool-called"], stream=f"exploration:{sid}")}
    chosen = adapter.survey_tools(list(record.tools))[:MAX_SURVEY_TOOLS]
    state = content_hash([])
    for step, tool in enumerate(chosen):
        event = recorded.get(step)
        if event is None:
            outcome = await ex.call(record.name, tool.name, {}, sandbox=sandbox)
            error_class, error = outcome.error_class, outcome.error
            why = adapter.is_error(outcome.content, outcome.structured) if outcome.ok else None
            if why:
                error_class, error = IN_BAND_ERROR, f"the result reports a failure (isError is false): {why[:300]}"
            event = ToolCalled(
                exploration_id=sid, step=step, server=record.name, tool=tool.name, arguments={},
                arguments_hash=content_hash({}), content=outcome.content, structured_content=outcome.structured,
                is_error=outcome.is_error, error_class=error_class, error=error, latency_ms=outcome.latency_ms,
                result_bytes=outcome.result_bytes, truncated=outcome.truncated, read_only=True, state=state,
            )
            store.append(event)
        report.calls += 1
        report.successes += not event.is_error and event.error_class is None
    resources, prompts, errors = await _resources_and_prompts(ex, sandbox, record.name)
    done = ServerSurveyed(survey_id=sid, server=record.name, adapter=adapter.name, tools=[t.name for t in chosen],
                          resources=resources, prompts=prompts, errors=errors)
    store.append(done)
    report.surveyed += 1
    report.resources += len(resources)
    report.prompts += len(prompts)
    return done


async def _resources_and_prompts(ex: Executor, sandbox: Sandbox, server: str
                                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    errors: list[str] = []
    resources: list[dict[str, Any]] = []
    prompts: list[dict[str, Any]] = []
    try:
        session = await ex.session(server, sandbox)
    except ServerError as err:
        return [], [], [f"server unavailable: {err.message}"]
    client, endpoint = session.connection.client, session.endpoint

    def clean(text: str) -> str:
        return endpoint.scrub(sandbox.to_virtual(text))

    caps = getattr(client, "server_capabilities", None)
    if caps is None or getattr(caps, "resources", None) is not None:
        try:
            with anyio.fail_after(ex.call_timeout):
                listed = (await client.list_resources()).resources
        except Exception as exc:  # noqa: BLE001 - a server's failure to list is recorded, the survey goes on
            errors.append(f"resources/list: {type(exc).__name__}: {clean(str(exc))[:200]}")
            listed = []
        for i, res in enumerate(listed[:MAX_RESOURCES * 5]):
            entry: dict[str, Any] = {"uri": clean(str(res.uri)), "name": clean(res.name or ""),
                                     "mime_type": res.mime_type}
            if i < MAX_RESOURCES:
                try:
                    with anyio.fail_after(ex.call_timeout):
                        read = await client.read_resource(str(res.uri))
                    texts = [c.text for c in read.contents if isinstance(getattr(c, "text", None), str)]
                    blobs = [c.blob for c in read.contents if isinstance(getattr(c, "blob", None), str)]
                    raw = "\n".join(texts).encode()
                    entry["bytes"] = len(raw) + sum(len(b) for b in blobs)
                    entry["truncated"] = len(raw) > MAX_RESOURCE_BYTES
                    entry["text"] = clean(raw[:MAX_RESOURCE_BYTES].decode("utf-8", "ignore")) if texts else None
                except Exception as exc:  # noqa: BLE001 - recorded per resource
                    entry["error"] = f"{type(exc).__name__}: {clean(str(exc))[:200]}"
            resources.append(entry)
    if caps is None or getattr(caps, "prompts", None) is not None:
        try:
            with anyio.fail_after(ex.call_timeout):
                listed_prompts = (await client.list_prompts()).prompts
        except Exception as exc:  # noqa: BLE001 - recorded
            errors.append(f"prompts/list: {type(exc).__name__}: {clean(str(exc))[:200]}")
            listed_prompts = []
        for p in listed_prompts[:MAX_PROMPTS]:
            prompts.append({"name": clean(p.name), "description": clean(p.description or ""),
                            "arguments": [a.name for a in (p.arguments or [])]})
    return resources, prompts, errors


# --------------------------------------------------------------------------- the pool


def grounded_pools(store: Store) -> dict[str, tuple[Value, ...]]:
    """Server -> the grounded values its newest survey saw (see the module docstring)."""
    pools: dict[str, tuple[Value, ...]] = {}
    for server, done in sorted(_surveyed(store).items()):
        record = server_record(store, server)
        adapter = adapter_for(record)
        values: list[Value] = []
        seen: set[tuple[str, str, str | None]] = set()

        def keep(v: Value, event_key: str, prefix: str = "") -> None:
            # the same value under another field is another grounding (a key listed under
            # "keys" is what a ``key`` parameter takes, even if another tool printed it first)
            ident = (v.kind, json.dumps(v.value, sort_keys=True, default=str), v.key)
            if ident in seen or len(values) >= MAX_POOL:
                return
            seen.add(ident)
            path = prefix + v.path.removeprefix("$.content[0].text") if prefix else v.path
            values.append(replace(v, path=path, step=-1, context={**v.context, "event": event_key, "survey": True}))

        for rec in store.read(types=["tool-called"], stream=f"exploration:{done.survey_id}"):
            e = rec.event
            if e.is_error or e.error_class is not None:
                continue
            call = CallRecord(-1, e.server, e.tool, e.arguments, e.content, e.structured_content, False)
            for v in adapter.harvest(call):
                keep(v, e.key())
        for i, res in enumerate(done.resources):
            where = f"$.resources[{i}]"
            uri = res.get("uri")
            if isinstance(uri, str) and uri:
                kind = "url" if "://" in uri else "text"
                keep(Value(kind, uri, f"{where}.uri", -1, "uri"), done.key())
            if isinstance(res.get("text"), str) and not res.get("error"):
                call = CallRecord(-1, server, "read_resource", {"uri": uri}, [{"type": "text", "text": res["text"]}],
                                  None, False)
                for v in adapter.harvest(call):
                    keep(v, done.key(), f"{where}.text")
        pools[server] = tuple(values)
    return pools
