"""Sampling small sub-DAGs (2-6 tools) of the tool graph, spreading coverage over all tools.

Each DAG grows from a least-covered tool: of a few such tools drawn at random, the one whose
neighbours are the least covered (so the DAG can go on with tools no DAG has yet). It then
repeatedly adds a successor of a chosen tool (placed after every tool so far) or a
predecessor (placed before every tool so far), picked with weight
``edge score / (1 + times the tool was sampled)^2``, and ``UNSEEN`` times that for a tool no
DAG has yet. The DAG keeps every graph edge among its tools that goes forward in that order,
so it is acyclic and connected whatever cycles the graph has: chains, fan-in and fan-out,
within a server and across servers. A DAG identical to one already sampled is drawn again.

The size a DAG aims at is drawn between the bounds with weight proportional to the size:
a DAG whose tools' part of the graph has fewer tools stops early, and this keeps the sizes
that come out about evenly spread (``SampleReport.sizes``; the benchmark prints them).

DAG number ``i`` of a ``seed`` draws from ``random.Random("<seed>:<scope>:<i>")`` and from the
coverage of the DAGs already in the log, so ``sample_dags(count=N)`` is resumable: run again,
it samples only the missing numbers and ends where an uninterrupted run would have.

By default the graph is the callable tools' (catalog tools cannot be explored); with
``include_catalog`` it is every live tool's.

Every tool can be explored: a tool no edge reaches, the tool of a server that has only one,
and a tool no sampled DAG holds get one-tool DAGs of their own (sampler ``single-tool-v1``),
``SINGLE_ROUNDS`` of them: each is explored on its own (another exploration id, so other
choices of arguments), so such a tool gets as many chances as one a sampled DAG holds twice.
A tool explored once is called with one set of arguments: on a big registry 766 of 1,057
tools were, and a tool whose one call was a dull one (no argument where one was optional,
an empty listing) gave no task at all.

A tool that every sampled DAG holding it puts after a change of its own server that does not
lead to it (no DAG edge from that change to it) gets one one-tool DAG too
(:func:`after_unrelated_changes`): alone, it is recorded in the world as it starts, or after
only what the explorer makes for its required arguments. Recorded only after unrelated
changes, a question about it could not leave them out (replay has no call of it without
them) nor keep them (they are padding): on a big registry, 44 tools with no verified task
had candidates dropped so.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import networkx as nx
import numpy as np

from .errors import FireflyError
from .events import DagSampled, DagTool
from .graph import ToolKey, load_graph
from .ids import short_hash
from .store import Store

SAMPLER = "coverage-walk-v2"
SINGLE_SAMPLER = "single-tool-v1"  # one-tool DAGs for tools no edge reaches
ATTEMPTS = 50  # draws per DAG number before the graph counts as exhausted
STARTS = 8  # least-covered tools a DAG chooses its first tool from
UNSEEN = 20.0  # extra weight of a tool no DAG has yet
SINGLE_ROUNDS = 2  # one-tool DAGs per tool that only such DAGs hold


@dataclass
class SampleReport:
    scope: str
    seed: int
    wanted: int
    existing: int = 0  # DAGs of this seed already in the log
    sampled: int = 0  # new ones
    exhausted: str | None = None  # why sampling stopped before ``wanted``
    sizes: Counter[int] = field(default_factory=Counter)
    tools_with_edges: int = 0
    tools_covered: int = 0  # tools with an edge that are in at least one DAG of the scope
    singles: int = 0  # one-tool DAGs of the scope (tools with no edge, servers with one tool)

    def summary(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "seed": self.seed,
            "dags_wanted": self.wanted,
            "dags_existing": self.existing,
            "dags_sampled": self.sampled,
            "tools_with_edges": self.tools_with_edges,
            "tools_covered": self.tools_covered,
            "single_tool_dags": self.singles,
            "exhausted": self.exhausted,
        }


class Coverage:
    """How many DAGs each tool is in; finds the least-covered tools with an edge quickly."""

    def __init__(self, graph: nx.DiGraph):
        self.starts = [n for n in graph if graph.degree(n)]  # graph order: deterministic
        self.row = {n: i for i, n in enumerate(self.starts)}
        self.counts = np.zeros(len(self.starts), dtype=np.int64)
        self.times: Counter[ToolKey] = Counter()

    def add(self, tools: Iterable[ToolKey]) -> None:
        for tool in tools:
            self.times[tool] += 1
            if tool in self.row:
                self.counts[self.row[tool]] += 1

    def least_covered(self, slack: int = 0) -> list[ToolKey]:
        """Tools with an edge sampled at most ``slack`` times more than the least sampled."""
        if not self.starts:
            return []
        return [self.starts[i] for i in np.flatnonzero(self.counts <= self.counts.min() + slack)]

    def covered(self) -> int:
        return int(np.count_nonzero(self.counts))


def grow_dag(
    graph: nx.DiGraph, rng: random.Random, coverage: Coverage, size: int, slack: int = 0, spread: float = 0.0
) -> tuple[list[ToolKey], list[tuple[int, int]]]:
    """One DAG of up to ``size`` tools: tools in a topological order, edges as index pairs.
    It starts from a least-covered tool (``slack`` widens that set, for retries) and grows
    toward little-covered neighbours; ``spread`` (0 to 1, for retries) flattens that
    preference, at 1 any tool may start and neighbours count by edge score alone."""
    least = coverage.least_covered(slack) if spread < 1.0 else list(coverage.starts)
    if not least:
        return [], []
    times = coverage.times

    def need(tool: ToolKey) -> float:  # how little its neighbours are covered
        return sum(1 / (1 + times[v]) ** 2 for v in sorted(set(graph.succ[tool]) | set(graph.pred[tool])))

    drawn = [rng.choice(least) for _ in range(min(STARTS, len(least)))]
    order: dict[ToolKey, int] = {max(drawn, key=need): 0}  # the first drawn among equals
    low = high = 0
    while len(order) < size:
        options: dict[tuple[ToolKey, int], float] = {}
        for u in sorted(order):
            for v, data in graph.succ[u].items():
                if v not in order:
                    options[(v, 1)] = max(options.get((v, 1), 0.0), data.get("score", 1.0))
            for v, data in graph.pred[u].items():
                if v not in order:
                    options[(v, -1)] = max(options.get((v, -1), 0.0), data.get("score", 1.0))
        if not options:
            break
        choices = sorted(options)
        weights = [max(options[c], 0.01) * (1 / (1 + times[c[0]]) ** 2 * (1 if times[c[0]] else UNSEEN)) ** (1 - spread)
                   for c in choices]
        node, side = rng.choices(choices, weights)[0]
        if side > 0:
            high += 1
            order[node] = high
        else:
            low -= 1
            order[node] = low
    tools = sorted(order, key=order.__getitem__)
    index = {t: i for i, t in enumerate(tools)}
    edges = sorted((index[u], index[v]) for u in tools for v in graph.succ[u] if v in index and index[u] < index[v])
    return tools, edges


def sample_dags(
    store: Store,
    count: int = 100,
    *,
    seed: int = 0,
    min_size: int = 2,
    max_size: int = 6,
    include_catalog: bool = False,
    progress: Callable[[int, int], None] | None = None,
    single_rounds: int = SINGLE_ROUNDS,
) -> SampleReport:
    """Make sure DAGs number 0 .. count-1 of ``seed`` exist in the scope's log, and
    ``single_rounds`` one-tool DAGs of each tool no sampled DAG can hold or holds."""
    if not 2 <= min_size <= max_size:
        raise FireflyError(f"DAG sizes must satisfy 2 <= min-size <= max-size (got {min_size} and {max_size})")
    scope = "all" if include_catalog else "callable"
    graph = load_graph(store, include_catalog=include_catalog)
    report = SampleReport(scope=scope, seed=seed, wanted=count)
    coverage = Coverage(graph)
    report.tools_with_edges = len(coverage.starts)
    seen: set[str] = set()
    done: set[int] = set()
    decode = msgspec.json.Decoder(list[tuple[str, str]])
    for dag_id, tools, dag_seed, idx in store.conn.execute(
        "SELECT dag_id, tools, seed, idx FROM dags WHERE scope = ? AND sampler = ?", (scope, SAMPLER)
    ):
        seen.add(dag_id)
        coverage.add(decode.decode(tools))
        if dag_seed == seed:
            done.add(idx)
    report.existing = len([i for i in done if i < count])
    todo = [i for i in range(count) if i not in done]
    params = {"min_size": min_size, "max_size": max_size}
    pending: list[DagSampled] = []
    sizes = list(range(min_size, max_size + 1))
    for n, index in enumerate(todo):
        rng = random.Random(f"{seed}:{scope}:{index}")
        event = None
        for attempt in range(ATTEMPTS):
            size = rng.choices(sizes, weights=sizes)[0]
            # retries widen the start set and flatten the coverage preference, so a small graph
            # whose least-covered corner keeps giving the same DAGs still yields new ones
            tools, edges = grow_dag(graph, rng, coverage, size, slack=attempt // 5,
                                    spread=min(1.0, attempt / (ATTEMPTS / 2)))
            if len(tools) < min_size:
                continue
            dag_id = short_hash([scope, [list(t) for t in tools], [list(e) for e in edges]], 16)
            if dag_id not in seen:
                event = DagSampled(
                    dag_id=dag_id,
                    tools=[DagTool(server=s, name=t, schema_hash=graph.nodes[(s, t)]["schema_hash"]) for s, t in tools],
                    edges=edges,
                    scope=scope,  # type: ignore[arg-type]
                    seed=seed,
                    index=index,
                    sampler=SAMPLER,
                    params=params,
                )
                break
        if event is None:
            report.exhausted = (
                f"no new DAG of {min_size}-{max_size} tools after {ATTEMPTS} draws: the {scope} graph has"
                f" {graph.number_of_edges()} edges among {report.tools_with_edges} tools"
            )
            break
        seen.add(event.dag_id)
        coverage.add((t.server, t.name) for t in event.tools)
        report.sizes[len(event.tools)] += 1
        pending.append(event)
        if len(pending) >= 500:
            _save(store, pending)
        if progress:
            progress(n + 1, len(todo))
    _save(store, pending)
    report.singles = sample_singles(store, graph, scope, coverage, single_rounds)
    store.catch_up()
    report.sampled = sum(report.sizes.values())
    report.tools_covered = coverage.covered()
    return report


def sample_singles(store: Store, graph: nx.DiGraph, scope: str, coverage: Coverage,
                   rounds: int = SINGLE_ROUNDS) -> int:
    """One-tool DAGs, so that every tool can be explored: for each tool with no edge, each
    tool of a server that has only one, and each tool the sampled DAGs left out, when no DAG
    holds it yet, ``rounds`` of them (one for a tool that takes no arguments: every call of
    it is the same call; the first's id is its content, as before rounds; a later one's
    holds its round number too); and one for each tool the sampled DAGs put only after
    unrelated changes (:func:`after_unrelated_changes`). Deterministic (graph order), idempotent.
    Returns the number of such DAGs in the scope."""
    if rounds < 1:
        raise FireflyError(f"one-tool DAGs per tool must be at least 1 (got {rounds})")
    store.catch_up()
    existing = {dag_id for (dag_id,) in store.conn.execute(
        "SELECT dag_id FROM dags WHERE scope = ? AND sampler = ?", (scope, SINGLE_SAMPLER))}
    per_server = Counter(server for server, _ in graph)
    # a tool that takes nothing is called alike in every exploration: one chance is all it has
    takes_nothing = {(server, name) for server, name, schema in store.conn.execute(
        "SELECT server, name, input_schema FROM tools WHERE removed = 0")
        if not _properties(schema)}
    events = []
    alone = after_unrelated_changes(store, scope)
    for tool in sorted(n for n in graph if graph.degree(n) == 0 or per_server[n[0]] == 1 or not coverage.times[n]
                       or n in alone):
        if graph.degree(tool) and coverage.times[tool] and tool not in alone:
            continue
        for round_ in range(1 if tool in takes_nothing or tool in alone else rounds):
            dag_id = short_hash([scope, [list(tool)], []] + ([round_] if round_ else []), 16)
            if dag_id in existing:
                continue
            index = len(existing)  # numbers go on from those in the log: a new tool never reuses one
            events.append(DagSampled(
                dag_id=dag_id, tools=[DagTool(server=tool[0], name=tool[1], schema_hash=graph.nodes[tool]["schema_hash"])],
                edges=[], scope=scope, seed=0, index=index, sampler=SINGLE_SAMPLER,  # type: ignore[arg-type]
                params={"round": round_} if round_ else {},
            ))
            existing.add(dag_id)
    _save(store, events)
    return len(existing)


def after_unrelated_changes(store: Store, scope: str) -> set[ToolKey]:
    """The tools every sampled DAG of ``scope`` holding them puts after a tool of the same
    server that may change its world (not only reading or computing) with no edge of the DAG
    from it to them: a change they do not follow from."""
    from .explore.stage import only_looks, tool_refs

    refs = tool_refs(store)
    clean: set[ToolKey] = set()
    after: set[ToolKey] = set()
    decode = msgspec.json.Decoder(list[tuple[str, str]])
    pairs = msgspec.json.Decoder(list[tuple[int, int]])
    for tools_json, edges_json in store.conn.execute(
            "SELECT tools, edges FROM dags WHERE scope = ? AND sampler = ? ORDER BY dag_id", (scope, SAMPLER)):
        tools, edges = decode.decode(tools_json), set(pairs.decode(edges_json))
        changes = [j for j, t in enumerate(tools) if (ref := refs.get(t)) is not None and not only_looks(ref)]
        for i, tool in enumerate(tools):
            unrelated = any(j < i and tools[j][0] == tool[0] and (j, i) not in edges for j in changes)
            (after if unrelated else clean).add(tool)
    return after - clean


def _properties(schema: str | None) -> dict[str, Any]:
    """The parameters an input schema (JSON text) declares."""
    try:
        decoded = msgspec.json.decode(schema or "{}")
    except msgspec.DecodeError:
        return {}
    props = decoded.get("properties") if isinstance(decoded, dict) else None
    return props if isinstance(props, dict) else {}


def _save(store: Store, events: list[DagSampled]) -> None:
    if events:
        with store.transaction():
            store.append_many(events)
        events.clear()
