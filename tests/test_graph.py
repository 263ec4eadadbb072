"""The tool graph: vector index, candidates, the rules and LLM judges, the graph stage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.embed import HashedEmbedder, embed_tools
from firefly.events import JudgeFailed
from firefly.graph import (
    LLMJudge,
    RulesJudge,
    build_graph,
    edge_rows,
    find_candidates,
    judge_candidates,
    load_graph,
    parse_verdicts,
    pending_pair_list,
    pending_pairs,
)
from firefly.llm import LLM, LLMConfig, LLMNotConfigured
from firefly.report import status_report
from firefly.store import Store
from firefly.vectors import ToolIndex
from tests.openai_stub import ScriptedOpenAI

from .conftest import projection_dumps
from .graph_fixtures import add_tools, bundled_servers, bundled_store, catalog_servers, tool_discovered

MODEL = "firefly-hashed-v1"
WELL_KNOWN = [
    (("git", "git_log"), ("git", "git_show")),
    (("filesystem", "list_directory"), ("filesystem", "read_text_file")),
    (("memory", "create_entities"), ("memory", "search_nodes")),
]


@pytest.fixture
def bundled(db_path):
    store = bundled_store(db_path)
    yield store
    store.close()


# -- the vector index ------------------------------------------------------------------------


def test_index_is_saved_beside_the_database_and_reopened(bundled, db_path):
    embed_tools(bundled)
    index = ToolIndex.open(bundled, MODEL)
    assert index.rebuilt and len(index) == 44 and index.dim == 512
    path = Path(f"{db_path}.tools.usearch")
    assert index.path == path and path.exists()
    meta = json.loads(Path(f"{path}.json").read_text())
    assert meta["model"] == MODEL and meta["count"] == 44 and meta["position"] == max(e.key for e in index.entries)
    again = ToolIndex.open(bundled, MODEL)
    assert not again.rebuilt and len(again) == 44
    # the memory-mapped index answers like brute force
    keys = [e.key for e in again.entries]
    approx, exact = again.neighbours(keys, 5), again.exact_neighbours(keys, 5)
    recall = np.mean([len({k for k, _ in approx[q]} & {k for k, _ in exact[q]}) / 5 for q in keys])
    assert recall >= 0.95
    assert all(q not in {k for k, _ in approx[q]} for q in keys)


def test_index_is_rebuilt_when_stale(bundled, db_path):
    embed_tools(bundled)
    ToolIndex.open(bundled, MODEL)
    add_tools(bundled, {"extra": [{"name": "list_things", "description": "List things", "inputSchema": {"type": "object"}}]})
    embed_tools(bundled)
    grown = ToolIndex.open(bundled, MODEL)
    assert grown.rebuilt and len(grown) == 45
    # another embedder: another index
    embed_tools(bundled, HashedEmbedder(64))
    other = ToolIndex.open(bundled, f"{MODEL}-64")
    assert other.rebuilt and other.dim == 64
    assert ToolIndex.open(bundled, MODEL).rebuilt  # the file now holds the other one
    # a removed tool leaves the index; a deleted file is rebuilt
    from firefly.events import ToolRemoved

    bundled.append(ToolRemoved(server="extra", name="list_things", last_hash="x", version=1))
    assert len(ToolIndex.open(bundled, MODEL)) == 44
    Path(f"{db_path}.tools.usearch").unlink()
    assert ToolIndex.open(bundled, MODEL).rebuilt


def test_index_of_another_database_at_the_same_path_is_not_trusted(tmp_path):
    first = bundled_store(tmp_path / "a.db")
    embed_tools(first)
    ToolIndex.open(first, MODEL)
    first.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'a.db'}{suffix}").unlink(missing_ok=True)
    second = Store.open(tmp_path / "a.db")
    add_tools(second, {"git": bundled_servers()["git"]})
    embed_tools(second)
    assert ToolIndex.open(second, MODEL).rebuilt
    second.close()


# -- candidates and the rules judge ------------------------------------------------------------


def test_candidates_are_recorded_once(bundled):
    embed_tools(bundled)
    index = ToolIndex.open(bundled, MODEL)
    report = find_candidates(bundled, index, k=5, per_server=8)
    assert report.events == 44 and report.pairs > 44
    rows = bundled.conn.execute("SELECT a_server, a_name, b_server, b_name, via FROM edge_candidates").fetchall()
    assert all((a, b) < (c, d) for a, b, c, d, _ in rows)  # canonical order
    same_server = {(b, d) for a, b, c, d, _ in rows if a == c == "memory"}
    assert len(same_server) == 36  # memory's 9 tools: every pair, through per_server
    assert {v for *_, via in rows for v in json.loads(via)} == {"vector", "server", "schema"}
    by_schema = {(b, d) for a, b, c, d, via in rows if "schema" in json.loads(via)}
    assert ("create_relations", "read_graph") in by_schema  # read_graph outputs relations, create_relations needs them
    again = find_candidates(bundled, index, k=5, per_server=8)
    assert again.events == 0 and again.pairs == report.pairs


def test_rules_judge_finds_the_well_known_workflows(bundled):
    report = build_graph(bundled)
    graph = load_graph(bundled)
    for source, target in WELL_KNOWN:
        assert graph.has_edge(source, target), f"{source} -> {target}"
    assert not graph.has_edge(("git", "git_show"), ("git", "git_log"))
    assert not graph.has_edge(("time", "convert_time"), ("filesystem", "move_file"))  # a schema candidate: "source"
    assert graph.degree(("calculator", "calculate")) == 0
    assert report.stats["edges"] == graph.number_of_edges() > 50
    assert report.judge.judged == report.candidates.pairs and report.judge.failed == 0
    [(source, target, score, judge, reason)] = [r for r in edge_rows(bundled, tool="git/git_log") if r[1] == "git/git_show"]
    assert judge == "rules-v2" and score >= 0.6 and "git_log -> git_show" in reason


def test_rules_judge_draws_the_first_steps_a_person_would(bundled):
    """Stage then commit, list the tables then query them, read the time then convert it,
    and nothing the new signals should not bring in."""
    build_graph(bundled)
    graph = load_graph(bundled)
    for source, target in [(("git", "git_add"), ("git", "git_commit")), (("sqlite", "list_tables"), ("sqlite", "read_query")),
                           (("time", "get_current_time"), ("time", "convert_time"))]:
        assert graph.has_edge(source, target), f"{source} -> {target}"
        assert not graph.has_edge(target, source), f"{target} -> {source}"
    reasons = {(r[0], r[1]): r[4] for r in edge_rows(bundled)}
    assert "add then commit" in reasons[("git/git_add", "git/git_commit")]
    assert "timezone (for sourcetimezone)" in reasons[("time/get_current_time", "time/convert_time")]
    assert "a first step on sqlite" in reasons[("sqlite/list_tables", "sqlite/read_query")]
    assert not graph.has_edge(("sqlite", "list_tables"), ("sqlite", "write_query"))
    assert graph.number_of_edges() < 170  # 153 before these signals


def test_rules_judge_rejects_the_same_tool_on_two_servers(store):
    tool = bundled_servers()["time"][0]
    add_tools(store, {"time-a": [tool], "time-b": [tool]})
    build_graph(store)
    [(direction, reason)] = store.conn.execute("SELECT direction, reason FROM edge_verdicts").fetchall()
    assert direction == "none" and "same tool on two servers" in reason


def test_graph_stage_is_idempotent_and_rebuilds_the_same(bundled):
    build_graph(bundled)
    head = bundled.head()
    second = build_graph(bundled)
    assert bundled.head() == head
    assert (second.embed.embedded, second.candidates.events, second.judge.judged) == (0, 0, 0)
    before = projection_dumps(bundled)
    bundled.rebuild()
    assert projection_dumps(bundled) == before


def test_catalog_tools_only_when_asked(bundled):
    add_tools(bundled, catalog_servers(), callable_=False)
    callable_only = build_graph(bundled)
    assert callable_only.stats["tools"] == 44
    assert all(bundled.conn.execute("SELECT count(*) FROM tools WHERE name = ? AND callable = 1", (r[0].split("/", 1)[1],)).fetchone()[0]
               for r in edge_rows(bundled))
    everything = build_graph(bundled, include_catalog=True)
    assert everything.stats["tools"] == 91 and everything.embed.embedded == 47
    assert len(edge_rows(bundled, include_catalog=True)) > len(edge_rows(bundled))


def test_a_changed_schema_is_judged_again(bundled):
    build_graph(bundled)
    tool = next(t for t in bundled_servers()["sqlite"] if t["name"] == "list_tables")
    old = bundled.conn.execute("SELECT schema_hash FROM tools WHERE name = 'list_tables'").fetchone()[0]
    bundled.append(tool_discovered("sqlite", dict(tool, description="List every table of the database"), previous=old, version=1))
    head = bundled.head()
    report = build_graph(bundled)
    assert report.embed.embedded == 1 and report.judge.judged > 0
    rejudged = [r.event for r in bundled.read(after=head, types=["edge-judged"])]
    assert len(rejudged) == report.judge.judged
    before = {(e.a_name, e.b_name) for e in (r.event for r in bundled.read(types=["edge-judged"])) if e not in rejudged}
    # the changed tool's pairs are judged again; other pairs only if its new vector proposed them
    assert any("list_tables" in (e.a_name, e.b_name) for e in rejudged)
    assert all("list_tables" in (e.a_name, e.b_name) or (e.a_name, e.b_name) not in before for e in rejudged)
    assert pending_pairs(bundled, "rules-v2") == []


# -- the LLM judge -------------------------------------------------------------------------------


def verdicts_for(body: dict) -> str:
    """A well-formed reply: a->b when A's name starts with list/search/create, else none."""
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")  # the pairs; a correction follows
    pairs = re.findall(r"Pair (\d+)\nA: [^\n]*?/(\w+):", prompt)
    return json.dumps({"verdicts": [
        {"id": int(i), "direction": "a->b" if name.startswith(("list", "search", "create")) else "none", "reason": "scripted"}
        for i, name in pairs
    ]})


def memory_store(db_path: Path) -> Store:
    store = Store.open(db_path)
    add_tools(store, {"memory": bundled_servers()["memory"]})
    embed_tools(store)
    find_candidates(store, ToolIndex.open(store, MODEL), per_server=8)
    return store


def llm_for(srv: ScriptedOpenAI) -> LLM:
    return LLM(LLMConfig(base_url=srv.base_url, model="judge-model", max_retries=0, timeout=5))


def test_llm_judge_batches_pairs_and_never_judges_twice(db_path):
    store = memory_store(db_path)
    with ScriptedOpenAI(lambda path, body: verdicts_for(body)) as srv:
        judge = LLMJudge(llm_for(srv), margin=None, batch_size=10)
        report = judge_candidates(store, judge)
        assert report.pending == 36 and report.judged == 36 and report.failed == 0
        assert len(srv.requests) == 4
        assert srv.requests[0]["json"]["messages"][0]["role"] == "system"
        again = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=10))
        assert again.pending == 0 and len(srv.requests) == 4
    verdicts = store.conn.execute("SELECT judge, direction, request_hash FROM edge_verdicts").fetchall()
    assert {v[0] for v in verdicts} == {"llm:judge-model"} and all(v[2].startswith("sha256:") for v in verdicts)
    assert store.conn.execute("SELECT count(*) FROM edges").fetchone()[0] == sum(d != "none" for _, d, _ in verdicts) > 0
    # verdicts of the LLM are the latest, so they are the edges
    assert {r[3] for r in edge_rows(store)} == {"llm:judge-model"}


def test_a_malformed_reply_leaves_its_pairs_unjudged_and_the_run_goes_on(db_path):
    store = memory_store(db_path)
    replies = iter(["Sure! Here are my verdicts: a->b for all of them."])

    def script(path, body):
        return next(replies, None) or verdicts_for(body)

    with ScriptedOpenAI(script) as srv:
        report = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=10, retries=0))
        assert (report.judged, report.failed) == (26, 10)
        [failed] = [r.event for r in store.read(types=["judge-failed"])]
        assert isinstance(failed, JudgeFailed) and failed.attempt == 0 and len(failed.pairs) == 10
        assert "not JSON" in failed.message
        store.catch_up()
        assert store.conn.execute("SELECT stage, error_class FROM errors").fetchall() == [("judge", "malformed-reply")]
        # a re-run replays the recorded (malformed) reply: no new request, no new error
        head, asked = store.head(), len(srv.requests)
        rerun = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=10, retries=0))
        assert (rerun.pending, rerun.judged, rerun.failed) == (10, 0, 10)
        assert store.head() == head and len(srv.requests) == asked
        # asking for a retry makes a new attempt, which the model answers properly
        retried = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=10, retries=1))
        assert (retried.judged, retried.failed) == (10, 0) and len(srv.requests) == asked + 1
        # not the same request again (a model at temperature 0 would say the same): the unusable
        # reply, then what was wrong with it
        turns = srv.requests[-1]["json"]["messages"][-2:]
        assert turns[0] == {"role": "assistant", "content": "Sure! Here are my verdicts: a->b for all of them."}
        assert turns[1]["role"] == "user" and "not JSON" in turns[1]["content"] and "ids 1 to 10" in turns[1]["content"]
    assert pending_pairs(store, "llm:judge-model") == []


def test_a_partial_reply_keeps_what_it_judged(db_path):
    store = memory_store(db_path)

    def script(path, body):
        reply = json.loads(verdicts_for(body))
        reply["verdicts"] = reply["verdicts"][:3] + [{"id": 99, "direction": "sideways"}]
        return "```json\n" + json.dumps(reply) + "\n```"

    with ScriptedOpenAI(script) as srv:
        report = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=10, retries=0))
    assert report.judged == 12 and report.failed == 24
    messages = [r.event.message for r in store.read(types=["judge-failed"])]
    assert len(messages) == 4 and all("unknown id or direction" in m for m in messages)


def test_an_endpoint_that_keeps_failing_stops_the_judge_cleanly(db_path):
    store = memory_store(db_path)
    with ScriptedOpenAI(lambda path, body: 503) as srv:
        report = judge_candidates(store, LLMJudge(llm_for(srv), margin=None, batch_size=5, max_failures=2))
        assert len(srv.requests) == 2
    assert report.judged == 0 and report.failed == 36 and "failed 2 times in a row" in report.stopped
    assert store.count("llm-failed") == 2 and store.count("edge-judged") == 0


def test_the_llm_judge_asks_only_about_pairs_the_rules_cannot_decide(db_path):
    store = memory_store(db_path)
    with ScriptedOpenAI(lambda path, body: verdicts_for(body)) as srv:
        judge = LLMJudge(llm_for(srv), batch_size=10)
        undecided = [p for p in pending_pair_list(store, judge.name) if judge.decided_by_rules(p) is None]
        report = judge_candidates(store, judge)
        asked = sum(len(re.findall(r"^Pair \d+$", r["json"]["messages"][-1]["content"], re.M)) for r in srv.requests)
    assert 0 < asked == len(undecided) < 36 and report.judged == 36
    rows = store.conn.execute("SELECT request_hash, reason FROM edge_verdicts").fetchall()
    by_rules = [reason for request, reason in rows if request is None]
    assert len(by_rules) == 36 - asked and all(r.startswith("decided by rules-v2") for r in by_rules)


def test_the_llm_judge_sends_its_requests_concurrently_with_progress_per_request(db_path):
    import threading

    store = memory_store(db_path)
    together = threading.Barrier(3, timeout=30)  # three requests must be in flight at once

    def script(path, body):
        together.wait()
        return verdicts_for(body)

    seen: list[tuple[int, int]] = []
    with ScriptedOpenAI(script) as srv:
        judge = LLMJudge(llm_for(srv), batch_size=12, margin=None, concurrency=3)
        report = judge_candidates(store, judge, progress=lambda done, total: seen.append((done, total)))
    assert report.judged == 36 and len(srv.requests) == 3 and not together.broken
    # a bounded reply: a weak model that rambles cannot hold the endpoint until its context is full
    assert {r["json"]["max_tokens"] for r in srv.requests} == {60 * 12 + 64}
    assert [d for d, _ in seen] == [12, 24, 36] and {t for _, t in seen} == {36}


def test_llm_judge_needs_a_configured_endpoint():
    with pytest.raises(LLMNotConfigured):
        LLMJudge(LLM(LLMConfig.from_env()))


@pytest.mark.parametrize(
    ("content", "count", "expected", "problem"),
    [
        ('{"verdicts": [{"id": 1, "direction": "a->b", "reason": "r"}]}', 1, {1: "a->b"}, None),
        ('Here:\n```json\n{"verdicts": [{"id": 2, "direction": "B->A"}, {"id": 1, "direction": "none"}]}\n```', 2,
         {1: "none", 2: "b->a"}, None),
        ('{"verdicts": [{"id": 1, "direction": "both"}, {"id": 1, "direction": "none"}, {"id": 3, "direction": "a->b"}]}', 2,
         {1: "both"}, "2 verdict(s) with an unknown id or direction"),
        ('{"verdicts": "yes"}', 1, {}, "not the verdicts object"),
        ("", 1, {}, "empty"),
        ("no json here", 1, {}, "not JSON"),
    ],
)
def test_parse_verdicts(content, count, expected, problem):
    verdicts, found = parse_verdicts(content, count)
    assert {i: v.direction for i, v in verdicts.items()} == expected
    assert (found is None) if problem is None else (problem in found)


# -- command line and status ---------------------------------------------------------------------


def test_cli_build_edges_stats_and_status(bundled, db_path):
    runner = CliRunner()
    path = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    add_tools(bundled, {"[bold]evil[/bold]": [
        {"name": "list_[red]x[/red]", "description": "List the files of a directory", "inputSchema": path},
        {"name": "read_[red]x[/red]", "description": "Read one file", "inputSchema": path},
    ]})
    bundled.close()
    result = runner.invoke(app, ["graph", "build", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "embedded 46 tool(s)" in result.output and "judged" in result.output
    result = runner.invoke(app, ["graph", "edges", "--tool", "git_log", "--db", str(db_path)])
    assert result.exit_code == 0 and "git/git_show" in result.output
    result = runner.invoke(app, ["graph", "edges", "--tool", "list_[red]x[/red]", "--db", str(db_path)])
    assert result.exit_code == 0 and "[red]" in result.output and "[bold]" in result.output  # shown, not interpreted
    result = runner.invoke(app, ["graph", "stats", "--db", str(db_path)])
    assert result.exit_code == 0 and "edges" in result.output
    result = runner.invoke(app, ["graph", "build", "--judge", "llm", "--db", str(db_path)])
    assert result.exit_code == 1 and "Error:" in result.output and "FIREFLY_LLM_BASE_URL" in result.output
    with Store.open(db_path) as store:
        graph = dict(dict(status_report(store))["graph"])
        assert graph["embeddings"] == 46 and graph["edges"] > 0 and graph["judged pairs"] == graph["candidate pairs"]


@pytest.mark.real_servers
def test_real_bundled_servers_give_the_well_known_edges(tmp_path):
    from firefly.discovery import discover
    from firefly.registry import load_registry, register
    from firefly.resources import bundled_registry

    with Store.open(tmp_path / "real.db") as store:
        register(store, load_registry(bundled_registry()), source="bundled")
        report = discover(store, connect_timeout=300, call_timeout=60)
        assert not report.failed, report.failed
        build_graph(store)
        graph = load_graph(store)
        for source, target in WELL_KNOWN:
            assert graph.has_edge(source, target), f"{source} -> {target}"


def test_cli_build_with_the_llm_judge(db_path):
    store = Store.open(db_path)
    add_tools(store, {"memory": bundled_servers()["memory"]})
    store.close()
    runner = CliRunner()
    with ScriptedOpenAI(lambda path, body: verdicts_for(body)) as srv:
        args = ["graph", "build", "--judge", "llm", "--llm-base-url", srv.base_url, "--llm-model", "m1", "--batch-size", "12", "--db", str(db_path)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "judged 36 pair(s) with llm:m1" in result.output and 0 < len(srv.requests) <= 3
        asked = len(srv.requests)
        again = runner.invoke(app, args)
        assert "judged 0 pair(s)" in again.output and len(srv.requests) == asked
    with Store.open(db_path) as store:
        [options] = [json.loads(r[0]) for r in store.conn.execute("SELECT options FROM runs WHERE command = 'graph build'")][:1]
        assert options["llm_model"] == "m1" and options["judge"] == "llm"


def test_an_interrupted_judge_run_resumes_to_the_same_graph(tmp_path):
    class Interrupted(RulesJudge):
        batch_size = 40

        def __init__(self, after: int):
            super().__init__()
            self.left = after

        def judge_batch(self, store, pairs):
            if not self.left:
                raise KeyboardInterrupt
            self.left -= 1
            return super().judge_batch(store, pairs)

    whole, parts = bundled_store(tmp_path / "whole.db"), bundled_store(tmp_path / "parts.db")
    build_graph(whole)
    embed_tools(parts)
    find_candidates(parts, ToolIndex.open(parts, MODEL))
    with pytest.raises(KeyboardInterrupt):
        judge_candidates(parts, Interrupted(after=3))
    assert parts.count("edge-judged") == 120
    resumed = judge_candidates(parts, RulesJudge())
    assert resumed.judged == resumed.pending == whole.count("edge-judged") - 120

    def content(store):
        return store.conn.execute(
            "SELECT source_server, source_name, target_server, target_name, judge, score, reason FROM edges ORDER BY 1, 2, 3, 4").fetchall()

    assert content(parts) == content(whole) and parts.count("edge-judged") == whole.count("edge-judged")
    whole.close()
    parts.close()
