"""Sub-DAG sampling: acyclic, connected, 2-6 tools, coverage spread, resumable."""

from __future__ import annotations

import random
from collections import Counter

import networkx as nx
import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.errors import FireflyError
from firefly.events import EdgeJudged
from firefly.graph import build_graph, load_graph
from firefly.events import DagSampled, DagTool
from firefly.sample import SAMPLER, SINGLE_SAMPLER, Coverage, after_unrelated_changes, grow_dag, sample_dags, sample_singles
from firefly.store import Store

from .conftest import projection_dumps
from .graph_fixtures import add_tools, bundled_store, catalog_servers


@pytest.fixture
def graph_store(db_path):
    store = bundled_store(db_path)
    build_graph(store)
    yield store
    store.close()


def dags_of(store: Store, scope: str = "callable", sampler: str = SAMPLER) -> list:
    return [r.event for r in store.read(types=["dag-sampled"]) if r.event.scope == scope and r.event.sampler == sampler]


def test_dags_are_connected_acyclic_subgraphs_of_the_right_size(graph_store):
    report = sample_dags(graph_store, 60, seed=3)
    assert report.sampled == 60 and report.exhausted is None
    graph = load_graph(graph_store)
    dags = dags_of(graph_store)
    assert len({d.dag_id for d in dags}) == 60
    for dag in dags:
        tools = [(t.server, t.name) for t in dag.tools]
        assert 2 <= len(tools) <= 6 and len(set(tools)) == len(tools)
        sub = nx.DiGraph([(tools[i], tools[j]) for i, j in dag.edges])
        sub.add_nodes_from(tools)
        assert nx.is_directed_acyclic_graph(sub) and nx.is_weakly_connected(sub)
        assert all(i < j and graph.has_edge(tools[i], tools[j]) for i, j in dag.edges)  # topological order, real edges
        # every graph edge among its tools that goes forward is kept
        assert {(i, j) for i in range(len(tools)) for j in range(i + 1, len(tools)) if graph.has_edge(tools[i], tools[j])} == set(map(tuple, dag.edges))
        assert all(t.schema_hash == graph.nodes[(t.server, t.name)]["schema_hash"] for t in dag.tools)
        assert dag.sampler == SAMPLER and dag.params == {"min_size": 2, "max_size": 6}
    assert set(Counter(len(d.tools) for d in dags)) == {2, 3, 4, 5, 6}


def test_coverage_spreads_over_every_tool_with_an_edge(graph_store):
    report = sample_dags(graph_store, 40, seed=0)
    graph = load_graph(graph_store)
    with_edges = {n for n in graph if graph.degree(n)}
    covered = Counter((t.server, t.name) for d in dags_of(graph_store) for t in d.tools)
    assert report.tools_with_edges == len(with_edges) and report.tools_covered == len(with_edges) == len(set(covered))
    assert max(covered.values()) <= 3 * (sum(covered.values()) / len(covered))  # no tool hogs the samples


def test_a_small_graph_gives_as_many_dags_as_a_full_run_asks_for(graph_store):
    # the bundled graph has ~40 tools: once coverage is even, the least-covered corner keeps
    # giving DAGs already drawn, and retries must widen the search instead of giving up
    report = sample_dags(graph_store, 250, seed=0)
    assert report.exhausted is None and report.sampled == 250
    assert len({d.dag_id for d in dags_of(graph_store)}) == 250


def test_sampling_is_deterministic_and_resumable(tmp_path):
    stores = []
    for name in ("a.db", "b.db"):
        store = bundled_store(tmp_path / name)
        build_graph(store)
        stores.append(store)
    whole, parts = stores
    sample_dags(whole, 30, seed=9)
    first = sample_dags(parts, 12, seed=9)  # "interrupted" after 12
    rest = sample_dags(parts, 30, seed=9)
    assert (first.sampled, rest.existing, rest.sampled) == (12, 12, 18)
    assert [(d.index, d.dag_id) for d in dags_of(whole)] == [(d.index, d.dag_id) for d in dags_of(parts)]
    head = parts.head()
    again = sample_dags(parts, 30, seed=9)
    assert again.sampled == 0 and parts.head() == head
    other_seed = sample_dags(parts, 5, seed=10)
    assert other_seed.sampled == 5 and len({d.dag_id for d in dags_of(parts)}) == 35
    before = projection_dumps(parts)
    parts.rebuild()
    assert projection_dumps(parts) == before
    for store in stores:
        store.close()


def test_catalog_tools_are_sampled_only_when_asked(graph_store):
    add_tools(graph_store, catalog_servers(), callable_=False)
    build_graph(graph_store, include_catalog=True)
    sample_dags(graph_store, 30)
    assert all(graph_store.conn.execute("SELECT callable FROM tools WHERE server = ? AND name = ?", (t.server, t.name)).fetchone()[0]
               for d in dags_of(graph_store) for t in d.tools)
    report = sample_dags(graph_store, 60, include_catalog=True)
    assert report.scope == "all" and report.sampled == 60
    catalog = {s for s in catalog_servers()}
    assert any(t.server in catalog for d in dags_of(graph_store, "all") for t in d.tools)
    assert len(dags_of(graph_store)) == 30  # the callable DAGs are their own set


def test_a_small_graph_is_exhausted_with_a_clear_reason(store):
    add_tools(store, {"s": [
        {"name": "list_notes", "description": "List notes", "inputSchema": {"type": "object"}},
        {"name": "read_note", "description": "Read a note", "inputSchema": {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}},
    ]})
    store.append(EdgeJudged(a_server="s", a_name="list_notes", a_hash="x", b_server="s", b_name="read_note", b_hash="y",
                            judge="test", direction="a->b", score_ab=1.0))
    report = sample_dags(store, 5)
    assert report.sampled == 1 and "no new DAG" in report.exhausted
    assert sample_dags(store, 5).sampled == 0


def test_no_edges_means_no_dags(store):
    add_tools(store, {"s": [{"name": "alone", "inputSchema": {"type": "object"}}]})
    report = sample_dags(store, 3)
    assert report.sampled == 0 and report.tools_with_edges == 0


def test_sizes_are_checked(store):
    with pytest.raises(FireflyError, match="min-size"):
        sample_dags(store, 3, min_size=1)
    with pytest.raises(FireflyError, match="min-size"):
        sample_dags(store, 3, min_size=5, max_size=4)


def test_grow_dag_stays_acyclic_on_a_cyclic_graph():
    graph = nx.DiGraph()
    nodes = [("s", c) for c in "abcdef"]
    for u, v in [("a", "b"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "c"), ("e", "f"), ("f", "a")]:
        graph.add_edge(("s", u), ("s", v), score=1.0)
    graph.add_nodes_from(nodes)
    coverage = Coverage(graph)
    for i in range(200):
        tools, edges = grow_dag(graph, random.Random(i), coverage, 6)
        sub = nx.DiGraph([(tools[a], tools[b]) for a, b in edges])
        sub.add_nodes_from(tools)
        assert nx.is_directed_acyclic_graph(sub) and nx.is_weakly_connected(sub) and len(tools) == 6
        coverage.add(tools)


def test_cli_sample_and_dags(graph_store, db_path):
    graph_store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["sample", "--count", "7", "--seed", "2", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "sampled 7 new callable DAG(s)" in result.output
    result = runner.invoke(app, ["graph", "dags", "--limit", "3", "--db", str(db_path)])
    assert result.exit_code == 0 and "2:0" in result.output
    result = runner.invoke(app, ["sample", "--min-size", "1", "--db", str(db_path)])
    assert result.exit_code == 1 and "Error:" in result.output


def test_pipeline_stage_builds_the_callable_graph_and_samples(db_path):
    from firefly.cli_graph import pipeline_stage

    with bundled_store(db_path) as store:
        add_tools(store, catalog_servers(), callable_=False)
        pipeline_stage(store, dags=12)
        pipeline_stage(store, dags=12)  # resumable: nothing new
        assert len(dags_of(store)) == 12 and not dags_of(store, "all")
        assert store.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 44
        commands = [c for (c,) in store.conn.execute("SELECT command FROM runs WHERE status = 'ok' ORDER BY started_at")]
        assert commands == ["graph build", "sample", "graph build", "sample"]


def test_dags_grow_toward_tools_no_dag_has_yet():
    """The first tool is the least covered one whose neighbours are least covered, and the
    DAG extends toward a neighbour no DAG has before well-covered ones."""
    graph = nx.DiGraph()
    hub, fresh = ("s", "hub"), ("s", "fresh")
    known = [("s", f"known{i}") for i in range(5)]
    for v in [*known, fresh]:
        graph.add_edge(hub, v, score=1.0)
    graph.add_edge(("t", "lonely"), ("t", "sampled"), score=1.0)  # an uncovered tool next to a covered one
    coverage = Coverage(graph)
    coverage.add([*known, ("t", "sampled")] * 3)
    dags = [grow_dag(graph, random.Random(i), coverage, 2)[0] for i in range(100)]
    assert sum(set(d) == {hub, fresh} for d in dags) >= 95  # 4 in 5 with a plain score / (1 + times)^2
    assert sum(("t", "lonely") in d for d in dags) <= 2


def test_while_tools_are_uncovered_dags_spend_their_places_on_them():
    """Over a graph of many small components of every shape (as a catalog's is), nearly
    every tool the DAGs take is one no DAG had yet, until most tools are covered."""
    shapes = random.Random(5)
    graph = nx.DiGraph()
    for c in range(80):
        size = shapes.choice([2, 2, 3, 4, 6, 9, 15])
        nodes = [(f"s{c}", f"t{i}") for i in range(size)]
        graph.add_nodes_from(nodes)
        for i in range(1, size):  # a random tree, edges pointing either way, plus a few more
            j = shapes.randrange(i)
            graph.add_edge(*((nodes[j], nodes[i]) if shapes.random() < 0.7 else (nodes[i], nodes[j])), score=1.0)
        for _ in range(size // 3):
            u, v = shapes.sample(nodes, 2)
            graph.add_edge(u, v, score=0.7)
    coverage = Coverage(graph)
    taken = new = 0
    for i in range(60):
        rng = random.Random(i)
        tools, _ = grow_dag(graph, rng, coverage, rng.choices(range(2, 7), weights=range(2, 7))[0])
        new += sum(1 for t in tools if not coverage.times[t])
        taken += len(tools)
        coverage.add(tools)
    assert coverage.covered() < len(coverage.starts)  # tools are still left to cover
    assert new >= 0.95 * taken  # the v1 sampler: 230 of 249 (92%)


def test_every_tool_without_an_edge_or_left_out_by_the_dags_gets_a_one_tool_dag(graph_store):
    graph = load_graph(graph_store)
    isolated = sorted(n for n in graph if graph.degree(n) == 0)
    assert isolated  # the bundled graph has some
    report = sample_dags(graph_store, 10, seed=1)
    sampled = {(t.server, t.name) for d in dags_of(graph_store, sampler=SAMPLER) for t in d.tools}
    left_out = sorted(n for n in graph if graph.degree(n) and n not in sampled)
    assert left_out  # 10 DAGs do not hold every tool with an edge
    singles = dags_of(graph_store, sampler=SINGLE_SAMPLER)
    alone = sorted(after_unrelated_changes(graph_store, "callable"))  # one each (the next test)
    assert alone and not set(alone) & set(isolated + left_out)
    # two each (SINGLE_ROUNDS): two explorations, two chances at arguments that work
    assert report.singles == len(singles) == 2 * (len(isolated) + len(left_out)) + len(alone)
    assert sorted((d.tools[0].server, d.tools[0].name) for d in singles) == sorted(2 * (isolated + left_out) + alone)
    assert len({d.dag_id for d in singles}) == len(singles)
    assert report.tools_covered < len(graph)  # as the sampled DAGs cover
    assert all(len(d.tools) == 1 and d.edges == [] for d in singles)
    before = projection_dumps(graph_store)
    again = sample_dags(graph_store, 10, seed=1)  # deterministic and idempotent
    assert again.singles == len(singles) and projection_dumps(graph_store) == before


def test_a_server_with_one_tool_is_sampled(db_path):
    store = Store.open(db_path)
    add_tools(store, {"solo": [{"name": "lookup_word", "description": "Look up a word.",
                                "inputSchema": {"type": "object", "properties": {"word": {"type": "string"}}}}]})
    report = sample_dags(store, 5, seed=0, single_rounds=1)
    assert report.tools_with_edges == 0 and report.singles == 1
    assert [(t.server, t.name) for d in dags_of(store, sampler=SINGLE_SAMPLER) for t in d.tools] == [("solo", "lookup_word")]
    first = dags_of(store, sampler=SINGLE_SAMPLER)[0].dag_id
    report = sample_dags(store, 5, seed=0, single_rounds=3)  # more rounds later: the first one is kept
    assert report.singles == 3 and dags_of(store, sampler=SINGLE_SAMPLER)[0].dag_id == first
    store.close()


def test_a_tool_sampled_only_after_unrelated_changes_of_its_server_gets_a_one_tool_dag(db_path):
    """A change recorded only after another change of its server that does not lead to it
    (``clear_notes`` before ``add_note`` with no edge between them) gave no task: replay has
    no call of it without the other change, and with it the question is padded. Such a tool
    gets one one-tool DAG; one placed first, or after only changes that lead to it, does not."""
    store = Store.open(db_path)
    add_tools(store, {"notes": [
        {"name": "clear_notes", "description": "Delete every note.", "inputSchema": {"type": "object"}},
        {"name": "add_note", "description": "Add a note.",
         "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}},
        {"name": "list_notes", "description": "List the notes.", "inputSchema": {"type": "object"},
         "annotations": {"readOnlyHint": True}},
        {"name": "tag_note", "description": "Tag a note.",
         "inputSchema": {"type": "object", "properties": {"tag": {"type": "string"}}}}]})
    graph = nx.DiGraph()
    for name in ("clear_notes", "add_note", "list_notes", "tag_note"):
        graph.add_node(("notes", name), schema_hash="h")
    graph.add_edge(("notes", "add_note"), ("notes", "list_notes"), score=1.0)
    graph.add_edge(("notes", "add_note"), ("notes", "tag_note"), score=1.0)
    graph.add_edge(("notes", "clear_notes"), ("notes", "tag_note"), score=0.5)  # no tool without an edge here

    def dag(index, names, edges):
        return DagSampled(dag_id=f"d{index}", tools=[DagTool(server="notes", name=n, schema_hash="h") for n in names],
                          edges=edges, scope="callable", seed=0, index=index, sampler=SAMPLER)

    with store.transaction():
        store.append_many([dag(0, ["clear_notes", "add_note", "list_notes"], [(1, 2)]),
                           dag(1, ["add_note", "tag_note"], [(0, 1)])])
    store.catch_up()
    # add_note comes after clear_notes in d0 but first in d1; list_notes only after clear_notes
    assert after_unrelated_changes(store, "callable") == {("notes", "list_notes")}
    coverage = Coverage(graph)
    coverage.add([("notes", n) for n in ("clear_notes", "add_note", "list_notes", "add_note", "tag_note")])
    assert sample_singles(store, graph, "callable", coverage) == 1
    assert [(d.tools[0].name, d.edges) for d in dags_of(store, sampler=SINGLE_SAMPLER)] == [("list_notes", [])]
    assert sample_singles(store, graph, "callable", coverage) == 1  # idempotent
    store.close()
