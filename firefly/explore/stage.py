"""The explore stage: walk sampled DAGs with a policy, calling the real tools.

Resumable: an exploration's id comes from its DAG, policy and seed, and every call's
idempotency key from its place in the exploration. A re-run skips finished explorations and
continues unfinished ones: the calls already recorded are not recorded again; effectful
ones are re-executed on the fresh sandbox (their recorded result is kept) so that the world
is as it was, then the walk goes on. Ctrl-C leaves the log consistent: each call is one
committed event.

What counts as a failure: an error result, a protocol-level failure, and an error in
disguise (``isError`` false but a text such as ``Database error: ...``, recorded with
``error_class`` ``in-band-error``). Failed attempts enter the history the policy sees, so a
retry can choose other arguments; a retry whose arguments are those that just failed is made
only after a failure that may not happen again (the server died, or timed out): an error
result or a reply that breaks the protocol is one event, not one per attempt; and a failure
saying something must exist first ("No presentation is loaded") is not retried unless it names
an argument given ("Session 4887 not found": another, or none, may do): a tool of the server
that makes it is called first, then the tool again. After a successful effectful call, a policy with a
``probe`` method makes a read-only probe of its effect (its own step, ``probe_of`` set).
Every server runs once per slot (sandbox), and a server that an exploration changed (a
successful effectful call) is restarted before the slot's next exploration, so that state a
server keeps in its process (a loaded document, a session, a memo) never reaches another
exploration: each one starts in the same initial world.

A tool that fails whatever its arguments (:mod:`firefly.explore.futility`: its server lacks
a package or a service feature, or it failed the same way with two sets of arguments) is not
called again in the run: its later steps are recorded as skipped with that reason.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import networkx as nx

from ..adapters import Adapter, adapter_for, server_record
from ..adapters.producers import find_producers, missing_thing, opens_page
from ..adapters.verbs import (MAKE_VERBS, REMOVE_VERBS, computes, first_sentence, name_words, reads_by_command,
                              reads_by_description, reads_by_name, reads_by_query)
from ..connect import Endpoint, resolve
from ..errors import FireflyError
from ..events import IN_BAND_ERROR, ArgumentSource, ExplorationFailed, ExplorationFinished, ExplorationStarted, ToolCalled
from ..fixtures import build_sandbox, fixtures_of
from ..ids import canonical_json, content_hash, short_hash
from ..jsonvalues import strings
from ..processes import reap_orphans, scratch_dir
from ..registry import uses_workspace, workspace_folders
from ..secrets import SecretsFile
from ..seeds import workspace_variables
from ..services import Services
from ..store import Store
from .executor import CallOutcome, Executor
from .futility import Futility, echoes, error_text
from .policy import VIRTUAL_ROOT, CallRecord, Policy, Proposal, ToolRef, Ungrounded, WorkspaceInfo
from .probe import Probe
from .sandbox import Sandbox

MAX_ATTEMPTS = 2
SKIPPED = "skipped"
# failures that the same call may not meet again (the server is restarted after either)
TRANSIENT = ("server-died", "timeout")
MALFORMED_CALL = "malformed-call"


def is_read_only(tool: ToolRef, arguments: dict[str, Any] | None = None) -> bool:
    """Annotations decide; without them, a tool named like a reader is taken as one, and one
    whose description starts with a reading verb ("Get all members of a set": ``smembers``,
    :func:`~firefly.adapters.verbs.reads_by_description`). A call
    (``arguments``) of a tool that runs commands reads when its command line only reads
    (:func:`~firefly.adapters.verbs.reads_by_command`: ``cat``, ``wc -l``, ``ls``), whatever
    the tool says of the commands it could run."""
    said = f"{tool.name} {tool.title or ''} {tool.description or ''}"
    if arguments is not None and (reads_by_command(tool.input_schema, arguments, said)
                                  or reads_by_query(tool.input_schema, arguments, said)):
        return True
    hint = tool.annotations.get("readOnlyHint")
    if isinstance(hint, bool):
        return hint
    return reads_by_name(tool.name, tool.server) or reads_by_description(tool.name, tool.description)


def only_looks(tool: ToolRef, arguments: dict[str, Any] | None = None) -> bool:
    """Whether a call of ``tool`` only looks at the world or computes on what it is given: a
    read-only tool, or one nothing says changes anything or answers by chance
    (:func:`~firefly.adapters.verbs.computes`: ``Calculate PageRank scores``, ``Measure text
    width``). Its call is still recorded as an effect, as any tool not known to be read-only;
    the explorer makes it where a reader would be made (on the world before the first change,
    on an empty world with one thing made)."""
    if is_read_only(tool, arguments):
        return True
    lead = name_words(first_sentence(tool.description))[:1]
    if lead and (lead[0] in MAKE_VERBS or lead[0].removesuffix("s") in MAKE_VERBS):
        return False  # "Generate a resume PDF": it may leave a file behind, whatever nothing says it changes
    return computes(tool.name, tool.annotations, tool.description, arguments=arguments)


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


def make_policy(name: str, *, base_url: str | None = None, model: str | None = None, timeout: float = 120.0,
                max_turns: int | None = None) -> Policy:
    """The explorer policy called ``name``: ``offline`` (no LLM) or ``llm`` (an
    OpenAI-compatible chat model; endpoint and model from the options or FIREFLY_LLM_*)."""
    if name == "offline":
        from .offline import OfflinePolicy

        return OfflinePolicy()
    if name == "llm":
        from ..llm import LLM
        from .llm_explorer import LLMPolicy

        client = LLM.for_purpose("the LLM explorer", base_url=base_url, model=model, timeout=timeout)
        return LLMPolicy(client, max_turns=max_turns)
    raise FireflyError(f"unknown explorer policy {name!r}; available: offline, llm")


def exploration_id(dag_id: str, policy: str, seed: int) -> str:
    return "x" + short_hash([dag_id, policy, seed], 20)


def pending_dags(store: Store, policy: str, seed: int, limit: int | None,
                 only: Collection[str] | None = None) -> list[tuple[str, list[dict[str, Any]]]]:
    """DAGs over callable tools not yet explored to the end with this policy and seed (of
    ``only``, when given: the DAGs of one shard)."""
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
        if dag_id not in done and (only is None or dag_id in only)
    ]
    return out[:limit] if limit is not None else out


def observed_first(tools: list[dict[str, Any]], edges: list[list[int]],
                   refs: dict[tuple[str, str], ToolRef]) -> list[dict[str, Any]]:
    """A DAG's tools in the order they are walked: an order of its edges (a tool after every
    tool whose output it may take) that puts each read-only tool as early as its edges
    allow, ties in the sampled order. What a read shows is then observed in the world before
    the DAG's effects, unless it takes what an effect gave: a question about it needs no
    setup that replay cannot show to be idle. A listing goes after a tool of the DAG that
    makes the things it lists (:func:`makers_before_listings`): on the empty world it would
    list nothing a question can ask about. A DAG whose edges are not acyclic keeps its
    order."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(tools)))
    graph.add_edges_from((i, j) for i, j in edges if 0 <= i < len(tools) and 0 <= j < len(tools) and i != j)
    if not nx.is_directed_acyclic_graph(graph):
        return tools
    for i, j in makers_before_listings(tools, refs):
        if not nx.has_path(graph, j, i):  # an edge that keeps the order acyclic
            graph.add_edge(i, j)

    def writes(i: int) -> bool:
        ref = refs.get((tools[i]["server"], tools[i]["name"]))
        return ref is None or not is_read_only(ref)
    return [tools[i] for i in nx.lexicographical_topological_sort(graph, key=lambda i: (writes(i), i))]


def makers_before_listings(tools: list[dict[str, Any]], refs: dict[tuple[str, str], ToolRef]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of a DAG's tools where ``i`` makes things that ``j`` lists
    (:func:`makes_what_it_lists`)."""
    known = [(n, refs.get((t["server"], t["name"]))) for n, t in enumerate(tools)]
    return [(i, j) for i, maker in known for j, lister in known
            if maker is not None and lister is not None and i != j and makes_what_it_lists(maker, lister, refs)]


def makes_what_it_lists(maker: ToolRef, lister: ToolRef, refs: dict[tuple[str, str], ToolRef]) -> bool:
    """Whether ``maker`` makes things that ``lister`` lists: ``maker`` is no reader and its
    name has a making verb and no removing one (``create_task``), ``lister`` is a reader of
    the same server that needs no argument, and the two names share a noun beyond the words
    most of the server's tools share (``get_tasks``, ``get_blocked_tasks``)."""
    from .probe import Readers, _common, _required, _subject

    verbs = set(name_words(maker.name))
    if lister.server != maker.server or is_read_only(maker) or not verbs & MAKE_VERBS or verbs & REMOVE_VERBS \
            or not is_read_only(lister) or _required(lister):
        return False
    common = _common(maker, Readers([r for (server, _), r in refs.items() if server == maker.server]))
    return bool(_subject(maker.name, common) & _subject(lister.name, common))


def tool_refs(store: Store) -> dict[tuple[str, str], ToolRef]:
    refs = {}
    for server, name, desc, schema, annotations, output in store.conn.execute(
        "SELECT server, name, description, input_schema, annotations, output_schema FROM tools WHERE callable = 1 AND removed = 0"
    ):
        refs[(server, name)] = ToolRef(server, name, desc, json.loads(schema), json.loads(annotations),
                                       json.loads(output) if output else None)
    return refs


def server_file_kinds(tools: Iterable[ToolRef]) -> dict[str, tuple[str, ...]]:
    """Server -> the file kind its tools are about: the kind that the names and descriptions
    of at least three of its tools name, twice as many as any other kind."""
    from .offline import FILE_KINDS

    tally: dict[str, Counter[tuple[str, ...]]] = {}
    for t in tools:
        words = set(re.findall(r"[a-z0-9]+", f"{t.name} {t.description or ''}".lower().replace("_", " ")))
        counts = tally.setdefault(t.server, Counter())
        for names, exts in FILE_KINDS:
            if words & set(names):
                counts[exts] += 1
    out = {}
    for server, counts in tally.items():
        ranked = counts.most_common(2)
        if ranked and ranked[0][1] >= 3 and (len(ranked) == 1 or ranked[0][1] >= 2 * ranked[1][1]):
            out[server] = ranked[0][0]
    return out


@dataclass
class ServerWorld:
    """What the servers of a stage run with: their registry entries resolved against a
    sandbox (``endpoint_for``), the servers bound to the workspace, every server's
    fixtures (copied into each sandbox), and the services they declare, started for the
    stage from a sandbox of their own, which no exploration changes. Survey and
    exploration open the same world."""

    endpoint_for: Callable[[str, Sandbox | None], Endpoint]
    bound: set[str]
    fixtures: list[Any]
    roots: dict[str, tuple[str, ...]]
    served: dict[str, str]  # a folder of the sandbox (virtual) -> the URL a local web service serves it at
    services: Any = None  # the started services (firefly.services.Services), or None

    def reset_slot(self, sandbox: Sandbox) -> None:
        """The services' part of the sandbox's slot as it starts again (its Redis database
        emptied and seeded): what an exploration wrote there never reaches the next."""
        if self.services is not None:
            self.services.reset_slot(sandbox.slot)

    @classmethod
    def open(cls, store: Store, used: set[str], tmp: Path, stack: contextlib.ExitStack) -> ServerWorld:
        from ..connect import ServerError
        from ..discovery import registered

        regs = {r.name: r for r in registered(store)}
        secrets = SecretsFile(store.path)
        fixtures = fixtures_of(regs.values())
        blocked: dict[str, str] = {}
        service_variables: dict[str, str] = {}
        services = None
        needs_services = [r for name, r in regs.items() if name in used and r.fixtures and r.fixtures.services]
        if needs_services:
            services = stack.enter_context(Services(build_sandbox(tmp / "services", fixtures)))
            blocked.update(services.start_for(needs_services))
            service_variables.update(services.variables)

        def endpoint_for(server: str, sandbox: Sandbox | None) -> Endpoint:
            variables = {**workspace_variables(sandbox.root if sandbox is not None else None), **service_variables}
            if services is not None and sandbox is not None:
                variables.update(services.slot_variables(sandbox.slot))
            if server not in regs:
                raise ServerError("config-error", f"server {server!r} is not in the registry")
            if server in blocked:
                raise ServerError("config-error", blocked[server])
            return resolve(regs[server], secrets=secrets, variables=variables)

        roots = {name: folders for name, r in regs.items() if (folders := workspace_folders(r))}
        served = {}
        if "FIREFLY_WEB_URL" in service_variables:
            web = next((s for r in needs_services for s in r.fixtures.services if s.name == "web"), None)
            served[f"{VIRTUAL_ROOT}/{(web.root if web and web.root else 'web').strip('/')}"] = \
                service_variables["FIREFLY_WEB_URL"].rstrip("/")
        return cls(endpoint_for, {name for name, r in regs.items() if uses_workspace(r)}, fixtures, roots, served,
                   services)

    def urls(self, files: tuple[str, ...]) -> tuple[str, ...]:
        """The URLs at which the local web service serves the sandbox's files (and its root)."""
        out: list[str] = []
        for folder, url in sorted(self.served.items()):
            out.append(url + "/")
            out += [url + "/" + f[len(folder) + 1:] for f in files if f.startswith(folder + "/")]
        return tuple(out)


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
    max_result_blocks: int = 1_000,
    on_exploration: Callable[[str, int, int], None] | None = None,
    only: Collection[str] | None = None,
) -> ExploreReport:
    """Explore up to ``dags`` pending DAGs, ``concurrency`` at a time (one sandbox each);
    ``only``: of these DAG ids (a shard, :mod:`firefly.distributed`)."""
    from .offline import workspace_info

    report = ExploreReport()
    todo = pending_dags(store, policy.name, seed, dags, only)
    if not todo:
        return report
    refs = tool_refs(store)
    edges = {d: json.loads(e or "[]") for d, e in store.conn.execute("SELECT dag_id, edges FROM dags")}
    todo = [(dag_id, observed_first(tools, edges.get(dag_id, []), refs)) for dag_id, tools in todo]
    used = {t["server"] for _, tools in todo for t in tools}

    from .paramdocs import math_servers, shared_param_docs
    from .survey import grounded_pools

    adapters = {server: adapter_for(server_record(store, server)) for server in sorted({s for s, _ in refs})}
    futility = primed_futility(store, refs)
    reap_orphans()  # servers and sandboxes left by a firefly that was killed
    with scratch_dir("firefly-explore-") as tmp, contextlib.ExitStack() as stack:
        world = ServerWorld.open(store, used, Path(tmp), stack)
        endpoint_for, bound, fixtures = world.endpoint_for, world.bound, world.fixtures
        slots = [Sandbox.create(Path(tmp), f"slot{i}", fixtures, slot=i) for i in range(max(1, min(concurrency, len(todo))))]
        info = workspace_info(slots[0].root)
        info = replace(info, grounded=grounded_pools(store), roots=world.roots, urls=world.urls(info.files),
                       file_kinds=server_file_kinds(refs.values()), math=math_servers(refs.values()),
                       rejected=futility.rejected, worked_with=futility.worked_with,
                       fitting=futility.fitting, told=futility.told,
                       param_docs=shared_param_docs(refs.values()))
        queue = list(todo)

        fresh = [0]

        async def worker(ex: Executor, sandbox: Sandbox, first: list[bool]) -> None:
            while queue:
                dag_id, dag_tools = queue.pop(0)
                broken = None
                if not first[0]:
                    try:
                        sandbox.reset()
                    except Exception as exc:  # noqa: BLE001 - a server left its sandbox unusable
                        # (made a file read-only, held a folder open): a new sandbox of its own
                        ex.stop_sandbox(sandbox)
                        fresh[0] += 1
                        try:
                            sandbox = Sandbox.create(Path(tmp), f"slot-new{fresh[0]}", fixtures, slot=sandbox.slot)
                        except Exception as again:  # noqa: BLE001 - recorded as this DAG's failure
                            broken = (f"its sandbox could not be rebuilt after the previous exploration:"
                                      f" {type(exc).__name__}: {exc}; a new one failed too: {type(again).__name__}: {again}")
                first[0] = False
                if broken is None:
                    try:  # the slot's part of the services (a Redis database) as it starts, too
                        world.reset_slot(sandbox)
                    except Exception as exc:  # noqa: BLE001 - recorded as this DAG's failure
                        broken = f"the services of its sandbox could not be reset: {type(exc).__name__}: {exc}"
                walk = await explore_one(store, ex, sandbox, policy, info, refs, dag_id, dag_tools, seed, report,
                                         adapters, broken=broken, futility=futility)
                for server in sorted(walk.touched if walk is not None else ()):
                    ex.stop_server(server, sandbox)  # in-process state (a memo, a cache) must not reach the next
                if on_exploration:
                    on_exploration(dag_id, report.finished + report.failed, len(todo))

        async def main() -> None:
            # every server runs once per slot, not only those bound to the workspace: a server
            # that keeps what a call made in its process (a loaded presentation, a session) would
            # otherwise show it to every exploration after, and the initial world would answer two ways
            async with Executor(
                endpoint_for, workspace_bound=bound | used, per_server=max(1, concurrency),
                overall=max(1, concurrency) * 2,
                call_timeout=call_timeout, connect_timeout=connect_timeout, max_result_bytes=max_result_bytes,
                max_result_blocks=max_result_blocks,
            ) as ex:
                async with anyio.create_task_group() as tg:
                    for sandbox in slots:
                        tg.start_soon(worker, ex, sandbox, [True])

        anyio.run(main)
    store.catch_up()
    return report


def primed_futility(store: Store, refs: dict[tuple[str, str], ToolRef] | None = None) -> Futility:
    """The run's record of failures, with the calls the log already holds (the survey's, and
    a resumed run's: it decides as the first one did)."""
    from .paramdocs import thing_kind

    futility = Futility()
    refs = tool_refs(store) if refs is None else refs
    kinds: dict[tuple[str, str, str], str] = {}

    def kind_of(server: str, tool: str, pointer: str) -> str:
        if (server, tool, pointer) not in kinds:
            ref = refs.get((server, tool))
            kinds[(server, tool, pointer)] = thing_kind(ref, pointer.lstrip("/")) if ref is not None else ""
        return kinds[(server, tool, pointer)]

    futility.kind_of = kind_of
    effects: dict[tuple[str, int], str] = {}  # (exploration, step) -> the tool of its successful effect
    for r in store.read(types=["tool-called"]):
        e = r.event
        if e.probe_of is None and ok(e) and not e.read_only:
            effects[(e.exploration_id, e.step)] = e.tool
        elif e.probe_of is not None and e.probe_of < e.step and e.error_class not in (SKIPPED, MALFORMED_CALL, *TRANSIENT) \
                and (effect := effects.get((e.exploration_id, e.probe_of))) is not None:
            futility.note_probe(e.server, effect, e.tool, worked=ok(e))
        if e.error_class in (SKIPPED, MALFORMED_CALL, *TRANSIENT):
            continue
        ref = refs.get((e.server, e.tool))
        futility.note((e.exploration_id, e.step, e.attempt), e.server, e.tool, worked=ok(e),
                      arguments_hash=e.arguments_hash, text=error_text(e.error, e.content), arguments=e.arguments,
                      fixed=ref is not None and takes_nothing(ref))
    return futility


def takes_nothing(tool: ToolRef) -> bool:
    """A tool without parameters: every call of it is the same call."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    return not schema.get("properties")


class WalkMismatch(Exception):
    """The calls recorded for an exploration do not match the walk being replayed."""


class Walk:
    """One exploration's calls: recording, replay on resume, accounting, history and probes.

    Policies drive it (:func:`explore_one` for proposal policies, the LLM explorer for
    conversational ones); it turns each call into one ``tool-called`` event, keeps the
    world state (the effectful calls made so far) and the history a policy sees.
    """

    def __init__(self, store: Store, ex: Executor, sandbox: Sandbox, xid: str, refs: dict[tuple[str, str], ToolRef],
                 adapters: dict[str, Adapter] | None = None, futility: Futility | None = None,
                 policy: Policy | None = None, info: WorkspaceInfo | None = None):
        self.store = store
        self.policy, self.info = policy, info  # who picks the probe made before an effect
        self.futility = futility if futility is not None else Futility()
        self.adapters = dict(adapters or {})
        self.ex = ex
        self.sandbox = sandbox
        self.xid = xid
        self.refs = refs
        self.recorded = {
            (r.event.step, r.event.attempt): r.event
            for r in store.read(types=["tool-called"], stream=f"exploration:{xid}")
        }
        self.history: list[CallRecord] = []
        self.effects: list[str] = []
        self.touched: set[str] = set()  # servers whose world an effectful call changed
        self.read_here: set[tuple[str, str, str]] = set()  # reads that worked in the world as it is now
        self.step = 0
        self.calls = self.successes = self.errors = self.chained = 0

    @property
    def state(self) -> str:
        return content_hash(self.effects)

    def adapter(self, server: str) -> Adapter:
        """The adapter of a server (chosen from its record when the caller gave none)."""
        if server not in self.adapters:
            self.adapters[server] = adapter_for(server_record(self.store, server))
        return self.adapters[server]

    async def call(
        self,
        tool: ToolRef,
        propose: Callable[[], tuple[Proposal | None, str]],
        *,
        attempt: int = 0,
        probe_of: int | None = None,
    ) -> ToolCalled:
        """Make (or, on resume, replay) one call at the current step; returns its event.

        ``propose`` is asked only when the log has no call at this place yet; it returns a
        proposal, or None and the reason the call is skipped.
        """
        read_only = is_read_only(tool)  # as the tool says; a call's command may say it only reads
        if not read_only and attempt == 0 and probe_of is None:
            ahead = self.recorded.get((self.step, 0))
            if ahead is not None and ahead.probe_of == self.step + 1:  # its probe before it, as recorded
                self.account(ahead, self.refs.get((ahead.server, ahead.tool)) or tool)
                self.step += 1
        prior = self.recorded.get((self.step, attempt))
        if prior is not None:
            if (prior.server, prior.tool) != (tool.server, tool.name) or prior.probe_of != probe_of:
                raise WalkMismatch(
                    f"step {self.step} was recorded as {prior.server}/{prior.tool}, the walk now makes"
                    f" {tool.server}/{tool.name}: the policy changed since; explore with another seed")
            event = prior
            if not event.read_only and ok(event):
                await self.ex.call(tool.server, tool.name, event.arguments, sandbox=self.sandbox)  # restore the world
        else:
            futile = self.futility.futile(tool.server, tool.name)
            proposal, reason = (None, futile) if futile else propose()
            if proposal is None:
                event = ToolCalled(
                    exploration_id=self.xid, step=self.step, attempt=attempt, server=tool.server, tool=tool.name,
                    error_class="skipped", error=reason, is_error=True, read_only=read_only, state=self.state,
                    probe_of=probe_of,
                )
            else:
                if not is_read_only(tool, proposal.arguments) and attempt == 0 and probe_of is None:
                    await self.probe_before(tool, proposal)
                outcome = await self.ex.call(tool.server, tool.name, proposal.arguments, sandbox=self.sandbox)
                event = self.event_of(tool, proposal, outcome, attempt=attempt, probe_of=probe_of)
            self.store.append(event)
        self.account(event, tool)
        return event

    def event_of(self, tool: ToolRef, proposal: Proposal, outcome: CallOutcome, *, attempt: int = 0,
                 probe_of: int | None = None) -> ToolCalled:
        error_class, error = outcome.error_class, outcome.error
        why = self.adapter(tool.server).is_error(outcome.content, outcome.structured) if outcome.ok else None
        if why:
            error_class, error = IN_BAND_ERROR, f"the result reports a failure (isError is false): {why[:300]}"
        return ToolCalled(
            exploration_id=self.xid, step=self.step, attempt=attempt, server=tool.server, tool=tool.name,
            arguments=proposal.arguments, arguments_hash=content_hash(proposal.arguments),
            sources=[ArgumentSource(argument=s.argument, step=s.step, path=s.path, value=_jsonable(s.value),
                                    event=s.event) for s in proposal.sources],
            content=outcome.content, structured_content=outcome.structured, is_error=outcome.is_error,
            error_class=error_class, error=error, latency_ms=outcome.latency_ms,
            result_bytes=outcome.result_bytes, truncated=outcome.truncated, cut=outcome.cut,
            read_only=is_read_only(tool, proposal.arguments),
            state=self.state, probe_of=probe_of,
        )

    def record_malformed(self, server: str, tool: str, arguments: Any, message: str) -> ToolCalled:
        """A call that could not be made (an LLM's bad JSON arguments, an unknown tool)."""
        prior = self.recorded.get((self.step, 0))
        event = prior if prior is not None else ToolCalled(
            exploration_id=self.xid, step=self.step, server=server, tool=tool,
            arguments=arguments if isinstance(arguments, dict) else {"_raw": _jsonable(arguments)},
            error_class=MALFORMED_CALL, error=message, is_error=True, state=self.state,
        )
        if prior is None:
            self.store.append(event)
        return event

    def account(self, event: ToolCalled, tool: ToolRef) -> None:
        """Count the call, update the world state and the history the policy sees."""
        if event.error_class in (SKIPPED, MALFORMED_CALL):
            return
        if event.error_class not in TRANSIENT:
            self.futility.note((self.xid, event.step, event.attempt), tool.server, tool.name, worked=ok(event),
                               arguments_hash=event.arguments_hash, text=error_text(event.error, event.content),
                               arguments=event.arguments, fixed=takes_nothing(tool))
        self.calls += 1
        record = CallRecord(event.step, tool.server, tool.name, event.arguments, event.content,
                            event.structured_content, not ok(event))
        if not record.content and event.error:
            record = replace(record, content=[{"type": "text", "text": event.error}])
        self.history.append(record)  # failures too: a retry sees what failed
        if not ok(event):
            self.errors += 1
            return
        self.successes += 1
        self.chained += chained(event)
        if not event.read_only:
            self.effects.append(canonical_json([tool.server, tool.name, event.arguments_hash]))
            self.read_here.clear()
        else:
            self.read_here.add((tool.server, tool.name, event.arguments_hash or content_hash(event.arguments)))
        if not event.read_only or not is_read_only(tool):
            # a command that only read may still be kept in the server's own history: the next
            # exploration gets a fresh server all the same
            self.touched.add(tool.server)

    def pick_probe(self, policy: Any, record: CallRecord, tool: ToolRef, info: WorkspaceInfo,
                   *, after: bool = False) -> Probe | None:
        """The policy's read-only probe of the effect of the call ``record``, or None;
        ``after``: of an effect made (not of the world before it)."""
        pick = getattr(policy, "probe", None)
        if pick is None:
            return None
        # a reader that fails whatever it is given probes nothing: not chosen; nor, after an
        # effect that adds or changes a thing, one that only failed as its probe this run (it
        # reads another kind of thing). After a removal a failing read is what shows it.
        removes = any(w in REMOVE_VERBS for w in name_words(tool.name))
        readers = [t for (server, _), t in sorted(self.refs.items()) if server == tool.server and is_read_only(t)
                   and not self.futility.futile(server, t.name)
                   and not (after and not removes and self.futility.blind(server, tool.name, t.name))]
        try:
            if "adapter" in _parameters(pick):  # the server's adapter knows its family's effects
                chosen = pick(record, tool, readers, info, adapter=self.adapter(tool.server))
            else:
                chosen = pick(record, tool, readers, info)
        except Exception:  # noqa: BLE001 - a policy bug must not stop the run
            return None
        # what the effect was just given it changed: a value the reader rejected before (a key that
        # held a list, now set to a string) may read now, after it
        changed = {json.dumps(v, sort_keys=True) for v in strings(record.arguments)} if after and record else set()
        if chosen is not None and isinstance(chosen.arguments, dict) and any(
                (value := json.dumps(v, sort_keys=True)) in self.futility.rejected(tool.server, chosen.tool.name, f"/{k}")
                and value not in changed for k, v in chosen.arguments.items()):
            return None  # the reader rejected that value before ("WRONGTYPE ... 'queue:jobs'"): it would again
        return chosen

    async def probe_before(self, tool: ToolRef, proposal: Proposal) -> None:
        """Before an effectful call, the probe its arguments call for (own step, ``probe_of``
        the effect's step, after it): the world the effect changes, recorded, so that a
        state change's label is checked against the world before it (it must fail there)
        and a setup step's need is replayed, not guessed. A probe that needs the effect's
        result (an id it returns) is not chosen here; nothing is made then."""
        if self.policy is None:
            return
        record = CallRecord(self.step + 1, tool.server, tool.name, proposal.arguments, [], None, False)
        chosen = self.pick_probe(self.policy, record, tool, self.info)
        if chosen is None or not is_read_only(chosen.tool) or not self.seen_all(chosen.arguments):
            return
        if (chosen.tool.server, chosen.tool.name, content_hash(chosen.arguments)) in self.read_here:
            return  # made already in this world (a look first): the world before the effect is recorded
        outcome = await self.ex.call(chosen.tool.server, chosen.tool.name, chosen.arguments, sandbox=self.sandbox)
        event = self.event_of(chosen.tool, Proposal(chosen.arguments, note=chosen.note), outcome,
                              probe_of=self.step + 1)
        self.store.append(event)
        self.account(event, chosen.tool)
        self.step += 1

    def seen_all(self, arguments: Any) -> bool:
        """Whether every name among ``arguments`` (a string without spaces: a path, an id, a
        key) is one the world has shown (in an earlier result, or given to an earlier call
        that worked): a probe of a thing that exists before the effect. One of a thing the
        effect makes (a file to write) would only fail before it. A text (a query, a title)
        is no name: a query of rows before an update answers."""
        wanted = {v for v in strings(arguments) if v.strip() and not re.search(r"\s", v.strip())}
        if not wanted:
            return True
        shown = " ".join(json.dumps([r.content, r.structured], ensure_ascii=False) for r in self.history if not r.is_error)
        given = {v for r in self.history if not r.is_error for v in strings(r.arguments)}
        return all(v in given or json.dumps(v, ensure_ascii=False)[1:-1] in shown for v in wanted)

    async def probe(self, policy: Any, effect: ToolCalled, tool: ToolRef, info: WorkspaceInfo) -> None:
        """After a successful effectful call, the policy's read-only probe of its effect (own
        step). A probe that failed after an effect that adds or changes a thing read another
        kind of thing (``hgetall`` of the set ``sadd`` made: WRONGTYPE): it is now blind to that
        effect (:meth:`Futility.blind`), and the next reader the policy picks is tried, once
        (after a removal, a failing read is what shows it: no other)."""
        if getattr(policy, "probe", None) is None or effect.read_only or not ok(effect):
            return
        record = self.history[-1]
        removes = any(w in REMOVE_VERBS for w in name_words(tool.name))
        tried: set[str] = set()
        for _ in range(1 if removes else MAX_PROBES_AFTER):
            prior = self.recorded.get((self.step, 0))
            if prior is not None and prior.probe_of == effect.step:  # as recorded (a resumed walk)
                chosen = Probe(self.refs.get((prior.server, prior.tool)) or tool, prior.arguments)
            else:
                chosen = self.pick_probe(policy, record, tool, info, after=True)
                if chosen is None or chosen.tool.name in tried:
                    return
            tried.add(chosen.tool.name)
            made = await self.call(chosen.tool, lambda chosen=chosen: (Proposal(chosen.arguments, note=chosen.note), ""),
                                   probe_of=effect.step)
            if made.error_class not in (SKIPPED, MALFORMED_CALL, *TRANSIENT):
                self.futility.note_probe(tool.server, tool.name, chosen.tool.name, worked=ok(made))
            self.step += 1
            if ok(made) or made.error_class in (SKIPPED, MALFORMED_CALL, *TRANSIENT):
                return

    def finish(self, report: ExploreReport) -> None:
        self.store.append(ExplorationFinished(exploration_id=self.xid, calls=self.calls, successes=self.successes,
                                              errors=self.errors, chained=self.chained))
        report.finished += 1
        report.calls += self.calls
        report.successes += self.successes
        report.chained_explorations += self.chained > 0 and self.successes >= 2

    def fail(self, report: ExploreReport, reason: str) -> None:
        self.store.append(ExplorationFailed(exploration_id=self.xid, reason=reason))
        report.failed += 1


def _parameters(fn: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return frozenset()


def chained(event: ToolCalled) -> bool:
    """A call fed by an earlier result of its own exploration (a survey's values do not count)."""
    return any(s.event is None and s.step >= 0 for s in event.sources)


def ok(event: ToolCalled) -> bool:
    """A call with a result that is not an error (in the open or in disguise)."""
    return not event.is_error and event.error_class is None


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
    adapters: dict[str, Adapter] | None = None,
    *,
    broken: str | None = None,
    futility: Futility | None = None,
) -> Walk | None:
    """Walk one DAG with a policy; returns the walk (None when it could not start). ``broken``:
    why the DAG cannot be explored now (its sandbox could not be made): recorded as failed."""
    xid = exploration_id(dag_id, policy.name, seed)
    report.explorations += 1
    names = [f"{t['server']}/{t['name']}" for t in dag_tools]
    walk = Walk(store, ex, sandbox, xid, refs, adapters, futility, policy, info)
    chosen = {t["server"]: walk.adapter(t["server"]).name for t in dag_tools}
    store.append(ExplorationStarted(exploration_id=xid, dag_id=dag_id, policy=policy.name, seed=seed, tools=names,
                                    adapters=dict(sorted(chosen.items()))))
    if broken is not None:
        walk.fail(report, broken)
        return None
    missing = [n for t, n in zip(dag_tools, names) if (t["server"], t["name"]) not in refs]
    if missing:
        walk.fail(report, f"tools no longer callable: {', '.join(missing)}")
        return None
    runner = getattr(policy, "walk", None)
    try:
        if runner is not None:  # a conversational policy drives the walk itself
            await runner(walk, [refs[(t["server"], t["name"])] for t in dag_tools], info)
        else:
            await _walk_dag(walk, policy, info, [refs[(t["server"], t["name"])] for t in dag_tools])
    except WalkMismatch as err:
        walk.fail(report, str(err))
        return walk
    except ExplorationAborted as err:
        walk.fail(report, str(err))
        return walk
    walk.finish(report)
    return walk


class ExplorationAborted(Exception):
    """A policy cannot go on (e.g. its LLM endpoint failed); the exploration is recorded as failed."""


async def _walk_dag(walk: Walk, policy: Policy, info: WorkspaceInfo, tools: list[ToolRef]) -> None:
    budget = [MAX_PRODUCERS]
    for i, tool in enumerate(tools):
        if not only_looks(tool):
            # before each change, the later reads of its server not made since its last change:
            # the world before the first change, or as a change the read needs (the session it
            # reads) left it, so that a question about it needs no change it does not follow from
            since = _read_since_change(walk, tool.server)
            await _look_first(walk, policy, info, [t for t in tools[i + 1:] if t.server == tool.server
                                                   and t.name not in since])
        event, missing = await _call_tool(walk, policy, info, tool)
        if event.error_class == SKIPPED and missing:
            # a required id nothing has shown yet (a session, a task): the likeliest producers in
            # turn; one that gives nothing to use (an empty listing) -> the next
            await _make_first(walk, policy, info, tool, missing, budget, tries=2)
        elif not ok(event) and event.error_class != SKIPPED and (thing := missing_thing(event.error, event.content)):
            # "No presentation is currently loaded": the server wants something made first
            await _make_first(walk, policy, info, tool, thing, budget, tries=1)
        elif ok(event) and only_looks(tool) and counted_nothing(event.content, event.structured_content) \
                and not any(t.server == tool.server and not only_looks(t) for t in tools):
            # an empty world, and nothing in the DAG will change it: one thing made, read again
            await _fill_empty(walk, policy, info, tool, budget)
    await _list_again(walk, policy, info, tools)


async def _fill_empty(walk: Walk, policy: Policy, info: WorkspaceInfo, reader: ToolRef, budget: list[int]) -> None:
    """A reader that takes no argument counted nothing (:func:`counted_nothing`: a graph's
    rankings, a project's tasks on the empty world) and no tool of its DAG changes its
    server (a DAG of that one tool): a tool of the server that makes things (one that makes
    what it lists first, :func:`makes_what_it_lists`; then those with the fewest required
    arguments) is called, within the exploration's ``budget`` and at most two, until one
    works; then the reader again, with no argument (a filter of its own, a status or a
    priority, could leave out the new thing). What it reads then is something a question
    can ask about."""
    from .probe import _required

    if _required(reader) or any(r.server == reader.server and not r.is_error and (ref := walk.refs.get((r.server, r.tool)))
                                is not None and not only_looks(ref, r.arguments) for r in walk.history):
        return
    called = {(r.server, r.tool) for r in walk.history}
    makers = [r for r in walk.refs.values() if r.server == reader.server and (r.server, r.name) not in called
              and not is_read_only(r) and not walk.futility.futile(r.server, r.name)
              and name_words(r.name)[:1] and name_words(r.name)[0] in MAKE_VERBS and not set(name_words(r.name)) & REMOVE_VERBS]
    makers.sort(key=lambda r: (not makes_what_it_lists(r, reader, walk.refs), len(_required(r)), r.name))
    for maker in makers[:2]:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        made, _ = await _call_tool(walk, policy, info, maker)
        if ok(made):
            # read again with no filter of its own (a status, a priority the new thing may not have)
            schema = reader.input_schema if isinstance(reader.input_schema, dict) else {}
            await _call_tool(walk, policy, info, replace(reader, input_schema={**schema, "properties": {}, "required": []}))
            return


def _read_since_change(walk: Walk, server: str) -> set[str]:
    """The tools of ``server`` called since its last call that may change its world."""
    out: set[str] = set()
    for r in reversed(walk.history):
        if r.server != server:
            continue
        ref = walk.refs.get((r.server, r.tool))
        if ref is None or not only_looks(ref, r.arguments):
            break
        out.add(r.tool)
    return out


async def _look_first(walk: Walk, policy: Policy, info: WorkspaceInfo, later: list[ToolRef]) -> None:
    """Before an effect on a server, each read-only tool of it that the DAG's edges put
    after that effect (``later``), called once there too when the world already grounds its
    arguments (the policy proposes them from what was seen so far; when it cannot, nothing
    is called or recorded): before the first effect, what it shows is the world before any
    change, so a question about it needs no setup; before a later one, the world as the
    changes so far left it (the session a load made, before rows are dropped from it), so a
    question about it needs those changes only (the same read after every effect needs them
    all, and replay cannot leave out one that only preceded it). Its own call stays where
    the DAG puts it, with what the effects gave."""
    for tool in later:
        if not only_looks(tool):
            continue
        prior = walk.recorded.get((walk.step, 0))
        if prior is not None:  # a resumed walk looks first where the log shows it did
            if (prior.server, prior.tool) != (tool.server, tool.name) or prior.probe_of is not None:
                continue
            proposal = None
        elif walk.futility.futile(tool.server, tool.name):
            continue
        else:
            try:
                proposal = policy.propose(tool, walk.history, info, random.Random(f"{walk.xid}:{walk.step}:0"), 0)
            except Exception:  # noqa: BLE001 - ungrounded (or a policy bug): no look first
                continue
            if proposal is None or not only_looks(tool, proposal.arguments):
                continue
        await walk.call(tool, lambda proposal=proposal: (proposal, "no look first"), attempt=0)
        walk.step += 1


async def _list_again(walk: Walk, policy: Policy, info: WorkspaceInfo, tools: list[ToolRef]) -> None:
    """Each listing of the DAG whose last call that worked came before a call that made
    things it lists (:func:`makes_what_it_lists`; a producer called for a missing id, a
    maker the DAG's edges put after it), called once more: what it listed before was the
    world without them (no tasks yet), nothing a question can ask about. So is a reader that
    takes no argument and counted nothing (:func:`counted_nothing`: a project's status, a
    graph's info on the empty world) when an effect on its server worked after it."""
    from .probe import _required

    for tool in tools:
        runs = [r for r in walk.history if (r.server, r.tool) == (tool.server, tool.name) and not r.is_error]
        if not runs:
            continue
        after = [(r, ref) for r in walk.history if r.step > runs[-1].step and not r.is_error
                 and (ref := walk.refs.get((r.server, r.tool))) is not None]
        if any(makes_what_it_lists(ref, tool, walk.refs) for _, ref in after) or (
                not _required(tool) and counted_nothing(runs[-1].content, runs[-1].structured)
                and any(r.server == tool.server and not is_read_only(ref, r.arguments) for r, ref in after)):
            await _call_tool(walk, policy, info, tool)


def counted_nothing(content: Any, structured: Any) -> bool:
    """A result whose numbers are all zero and whose lists are all empty, with at least one
    of them (``{"total_tasks": 0, "done_tasks": 0}``, ``{"nodes": [], "count": 0}``): what a
    reader shows of a world where nothing was made yet."""
    from ..match import result_value

    value = result_value(content, structured)
    if not isinstance(value, (dict, list)):
        return False
    found: list[bool] = []

    def walk_value(v: Any) -> None:
        if isinstance(v, dict):
            for x in v.values():
                walk_value(x)
        elif isinstance(v, list):
            found.append(not v)
            for x in v:
                walk_value(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            found.append(v == 0)

    walk_value(value)
    return bool(found) and all(found)


async def _make_first(walk: Walk, policy: Policy, info: WorkspaceInfo, tool: ToolRef, thing: str,
                      budget: list[int], *, tries: int) -> None:
    """Call tools of ``tool``'s server that make or list ``thing`` (at most ``tries`` of them,
    within the exploration's ``budget``), each followed by ``tool`` again, until ``tool`` no
    longer lacks ``thing``."""
    called = {(r.server, r.tool) for r in walk.history}
    # a tool that fails whatever it is given makes nothing: it does not use up a try
    unused = [r for r in walk.refs.values() if (r.server, r.name) not in called
              and not walk.futility.futile(r.server, r.name)]
    for producer in find_producers(tool, thing, unused)[:tries]:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        made, _ = await _call_tool(walk, policy, info, producer)
        if ok(made):
            _, still = await _call_tool(walk, policy, info, tool)
            if still != thing:
                return


async def _call_tool(walk: Walk, policy: Policy, info: WorkspaceInfo, tool: ToolRef) -> tuple[ToolCalled, str]:
    """One step: up to MAX_ATTEMPTS calls of ``tool`` (a failed attempt enters the history the
    next one sees), then its probe. Returns the last event and, for a tool skipped because a
    required parameter had no grounded value, that parameter's name (read from the recorded
    reason, so that a resumed walk decides as the first one did)."""
    failed: ToolCalled | None = None
    for attempt in range(MAX_ATTEMPTS):
        rng = random.Random(f"{walk.xid}:{walk.step}:{attempt}")

        def propose() -> tuple[Proposal | None, str]:
            try:
                return policy.propose(tool, walk.history, info, rng, attempt), "the policy found no sensible arguments"
            except Ungrounded as exc:
                return None, str(exc)
            except Exception as exc:  # noqa: BLE001 - a policy bug must not stop the run
                return None, f"policy error: {type(exc).__name__}: {exc}"

        if failed is not None and (walk.step, attempt) not in walk.recorded and walk.futility.futile(tool.server, tool.name):
            break  # it fails whatever the arguments: a retry would only fail again
        if failed is not None and (walk.step, attempt) not in walk.recorded and must_make_first(failed, walk):
            break  # "No presentation is loaded": no arguments cure that; the caller makes one first
        if failed is not None and failed.error_class not in TRANSIENT and (walk.step, attempt) not in walk.recorded:
            proposed = propose()
            if proposed[0] is not None and content_hash(proposed[0].arguments) == failed.arguments_hash:
                break  # the same call would fail the same way: a retry needs other arguments
            propose = lambda proposed=proposed: proposed  # noqa: E731 - asked once, made below
        event = failed = await walk.call(tool, propose, attempt=attempt)
        if ok(event) or event.error_class == SKIPPED:
            break
    walk.step += 1
    if ok(event):
        await walk.probe(policy, event, tool, info)
    if event.error_class != SKIPPED:
        return event, ""
    named = _UNGROUNDED.search(event.error or "")
    return event, named.group(1) if named else ""


def must_make_first(event: ToolCalled, walk: Walk | None = None) -> bool:
    """A failure that other arguments will not cure: it says something must exist first ("No
    presentation is loaded") and names no argument it was given ("Session '4887' not found"
    does: another session, or none, may do). A selector that matched nothing (it names the
    selector) on a browser's page while no page was opened in ``walk``: every other selector
    would match nothing too."""
    text = error_text(event.error, event.content)
    thing = missing_thing(event.error, event.content)
    if thing == "page" and walk is not None and not page_opened(walk, event.server):
        return True
    return bool(thing) and not echoes(text, event.arguments)


def page_opened(walk: Walk, server: str) -> bool:
    """Whether a tool of ``server`` that goes to a URL worked earlier in the walk."""
    return any(not r.is_error and r.server == server and (ref := walk.refs.get((r.server, r.tool))) is not None
               and opens_page(ref) for r in walk.history)


_UNGROUNDED = re.compile(r"required parameter '/([^'/]+)'")
MAX_PRODUCERS = 3  # tools called first, per exploration, to make a value a later tool needs
MAX_PROBES_AFTER = 2  # readers tried as the probe of one effect (the first read another kind of thing)


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError):
        return str(value)
