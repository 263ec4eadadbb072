"""The explore stage: walk sampled DAGs with a policy, calling the real tools.

Resumable: an exploration's id comes from its DAG, policy and seed, and every call's
idempotency key from its place in the exploration. A re-run skips finished explorations and
continues unfinished ones: the calls already recorded are not recorded again; effectful
ones are re-executed on the fresh sandbox (their recorded result is kept) so that the world
is as it was, then the walk goes on. Ctrl-C leaves the log consistent: each call is one
committed event.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from ..connect import Endpoint, resolve
from ..events import ArgumentSource, ExplorationFailed, ExplorationFinished, ExplorationStarted, ToolCalled
from ..ids import canonical_json, content_hash, short_hash
from ..registry import uses_workspace
from ..secrets import SecretsFile
from ..seeds import WORKSPACE_VAR
from ..store import Store
from .executor import Executor
from .policy import CallRecord, Policy, ToolRef, WorkspaceInfo
from .sandbox import Sandbox

READ_ONLY_VERBS = (
    "get", "list", "read", "search", "show", "describe", "find", "open", "query", "log", "status",
    "diff", "view", "fetch", "lookup", "count", "calculate", "convert", "info", "tree", "check",
)
MAX_ATTEMPTS = 2


def is_read_only(tool: ToolRef) -> bool:
    """Annotations decide; without them, a tool named like a reader is taken as one."""
    hint = tool.annotations.get("readOnlyHint")
    if isinstance(hint, bool):
        return hint
    first = tool.name.lower().replace("-", "_").split("_")
    words = [w for w in first if w not in ("git", "mcp")]
    return bool(words) and words[0] in READ_ONLY_VERBS


@dataclass
class ExploreReport:
    explorations: int = 0
    finished: int = 0
    failed: int = 0
    calls: int = 0
    successes: int = 0
    chained_explorations: int = 0

    def summary(self) -> dict[str, Any]:
        return dict(self.__dict__)


def exploration_id(dag_id: str, policy: str, seed: int) -> str:
    return "x" + short_hash([dag_id, policy, seed], 20)


def pending_dags(store: Store, policy: str, seed: int, limit: int | None) -> list[tuple[str, list[dict[str, Any]]]]:
    """DAGs over callable tools not yet explored to the end with this policy and seed."""
    store.catch_up()
    rows = store.conn.execute(
        "SELECT dag_id, tools FROM dags WHERE scope = 'callable' ORDER BY position"
    ).fetchall()
    done = {
        r[0] for r in store.conn.execute(
            "SELECT dag_id FROM explorations WHERE policy = ? AND seed = ? AND status != 'running'", (policy, seed))
    }
    out = [
        (dag_id, [{"server": server, "name": name} for server, name in json.loads(tools)])
        for dag_id, tools in rows
        if dag_id not in done
    ]
    return out[:limit] if limit is not None else out


def tool_refs(store: Store) -> dict[tuple[str, str], ToolRef]:
    refs = {}
    for server, name, desc, schema, annotations, output in store.conn.execute(
        "SELECT server, name, description, input_schema, annotations, output_schema FROM tools WHERE callable = 1 AND removed = 0"
    ):
        refs[(server, name)] = ToolRef(server, name, desc, json.loads(schema), json.loads(annotations),
                                       json.loads(output) if output else None)
    return refs


def explore(
    store: Store,
    policy: Policy,
    *,
    dags: int | None = None,
    seed: int = 0,
    concurrency: int = 4,
    call_timeout: float = 30.0,
    connect_timeout: float = 120.0,
    max_result_bytes: int = 64_000,
    on_exploration: Callable[[str, int, int], None] | None = None,
) -> ExploreReport:
    """Explore up to ``dags`` pending DAGs, ``concurrency`` at a time (one sandbox each)."""
    from ..discovery import registered
    from .offline import workspace_info

    report = ExploreReport()
    todo = pending_dags(store, policy.name, seed, dags)
    if not todo:
        return report
    refs = tool_refs(store)
    regs = {r.name: r for r in registered(store)}
    bound = {name for name, r in regs.items() if uses_workspace(r)}
    secrets = SecretsFile(store.path)

    def endpoint_for(server: str, sandbox: Sandbox | None) -> Endpoint:
        variables = {WORKSPACE_VAR: str(sandbox.root)} if sandbox is not None else {}
        if server not in regs:
            from ..connect import ServerError

            raise ServerError("config-error", f"server {server!r} is not in the registry")
        return resolve(regs[server], secrets=secrets, variables=variables)

    with tempfile.TemporaryDirectory(prefix="firefly-explore-") as tmp:
        slots = [Sandbox.create(Path(tmp), f"slot{i}") for i in range(max(1, min(concurrency, len(todo))))]
        info = workspace_info(slots[0].root)
        queue = list(todo)

        async def worker(ex: Executor, sandbox: Sandbox, first: list[bool]) -> None:
            while queue:
                dag_id, dag_tools = queue.pop(0)
                if not first[0]:
                    sandbox.reset()
                first[0] = False
                await explore_one(store, ex, sandbox, policy, info, refs, dag_id, dag_tools, seed, report)
                if on_exploration:
                    on_exploration(dag_id, report.finished + report.failed, len(todo))

        async def main() -> None:
            async with Executor(
                endpoint_for, workspace_bound=bound, per_server=max(1, concurrency), overall=max(1, concurrency) * 2,
                call_timeout=call_timeout, connect_timeout=connect_timeout, max_result_bytes=max_result_bytes,
            ) as ex:
                async with anyio.create_task_group() as tg:
                    for sandbox in slots:
                        tg.start_soon(worker, ex, sandbox, [True])

        anyio.run(main)
    store.catch_up()
    return report


async def explore_one(
    store: Store,
    ex: Executor,
    sandbox: Sandbox,
    policy: Policy,
    info: WorkspaceInfo,
    refs: dict[tuple[str, str], ToolRef],
    dag_id: str,
    dag_tools: list[dict[str, Any]],
    seed: int,
    report: ExploreReport,
) -> None:
    xid = exploration_id(dag_id, policy.name, seed)
    report.explorations += 1
    names = [f"{t['server']}/{t['name']}" for t in dag_tools]
    store.append(ExplorationStarted(exploration_id=xid, dag_id=dag_id, policy=policy.name, seed=seed, tools=names))
    missing = [n for t, n in zip(dag_tools, names) if (t["server"], t["name"]) not in refs]
    if missing:
        store.append(ExplorationFailed(exploration_id=xid, reason=f"tools no longer callable: {', '.join(missing)}"))
        report.failed += 1
        return
    recorded = {
        (r.event.step, r.event.attempt): r.event
        for r in store.read(types=["tool-called"], stream=f"exploration:{xid}")
    }
    history: list[CallRecord] = []
    effects: list[str] = []
    calls = successes = errors = chained = 0
    step = 0
    for t in dag_tools:
        tool = refs[(t["server"], t["name"])]
        read_only = is_read_only(tool)
        for attempt in range(MAX_ATTEMPTS):
            rng = random.Random(f"{xid}:{step}:{attempt}")
            prior = recorded.get((step, attempt))
            if prior is not None:
                event = prior
                if not read_only and event.error_class is None and not event.is_error:
                    await ex.call(tool.server, tool.name, event.arguments, sandbox=sandbox)  # restore the world
            else:
                try:
                    proposal = policy.propose(tool, history, info, rng, attempt)
                except Exception as exc:  # noqa: BLE001 - a policy bug must not stop the run
                    proposal = None
                    skip_reason = f"policy error: {type(exc).__name__}: {exc}"
                else:
                    skip_reason = "the policy found no sensible arguments"
                state = content_hash(effects)
                if proposal is None:
                    event = ToolCalled(
                        exploration_id=xid, step=step, attempt=attempt, server=tool.server, tool=tool.name,
                        error_class="skipped", error=skip_reason, is_error=True, read_only=read_only, state=state,
                    )
                else:
                    outcome = await ex.call(tool.server, tool.name, proposal.arguments, sandbox=sandbox)
                    event = ToolCalled(
                        exploration_id=xid, step=step, attempt=attempt, server=tool.server, tool=tool.name,
                        arguments=proposal.arguments, arguments_hash=content_hash(proposal.arguments),
                        sources=[ArgumentSource(argument=s.argument, step=s.step, path=s.path, value=_jsonable(s.value))
                                 for s in proposal.sources],
                        content=outcome.content, structured_content=outcome.structured, is_error=outcome.is_error,
                        error_class=outcome.error_class, error=outcome.error, latency_ms=outcome.latency_ms,
                        result_bytes=outcome.result_bytes, truncated=outcome.truncated, read_only=read_only,
                        state=state,
                    )
                store.append(event)
            calls += event.error_class != "skipped"
            ok = not event.is_error and event.error_class is None
            if ok:
                successes += 1
                chained += bool(event.sources)
                if not read_only:
                    effects.append(canonical_json([tool.server, tool.name, event.arguments_hash]))
                history.append(CallRecord(step, tool.server, tool.name, event.arguments, event.content,
                                          event.structured_content, event.is_error))
                break
            errors += event.error_class != "skipped"
            if event.error_class == "skipped":
                break
        step += 1
    store.append(ExplorationFinished(exploration_id=xid, calls=calls, successes=successes, errors=errors, chained=chained))
    report.finished += 1
    report.calls += calls
    report.successes += successes
    report.chained_explorations += chained > 0 and successes >= 2


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError):
        return str(value)
