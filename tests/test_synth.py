"""Backward task synthesis, the verifiers, splits and the LLM parts, over recorded worlds
shaped like the bundled servers' results (tests/synth_fixtures.py)."""

from __future__ import annotations

import json

import msgspec
import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.events import TaskSynthesized
from firefly.llm import LLM, LLMConfig
from firefly.match import MatchRuleError, matches, probe_passes
from firefly.simulator import Simulator
from firefly.store import Store
from firefly.synth import synthesize
from firefly.synth.split import assign_splits, plan_sides, position_of, side_of
from firefly.synth.verify import TASK_COLUMNS, check_leakage, task_from_row, verify

from .conftest import projection_dumps
from .openai_stub import ScriptedOpenAI
from .synth_fixtures import HASHES, shop_world


@pytest.fixture
def world(store):
    return shop_world(store)


def tasks(store: Store, where: str = "1", *params) -> list[dict]:
    cols = [c.strip() for c in (TASK_COLUMNS + ", verified, split, calls, servers, hops").split(",")]
    return [dict(zip(cols, r)) for r in store.conn.execute(
        f"SELECT {', '.join(cols)} FROM tasks WHERE {where} ORDER BY task_id", params)]


def event_of(store: Store, task_id: str) -> TaskSynthesized:
    return store.last(f"task:{task_id}", "task-synthesized").event  # type: ignore[return-value]


# ------------------------------------------------------------------------------- match rules


@pytest.mark.parametrize(("match", "expected", "got", "ok"), [
    ({"rule": "exact"}, {"a": 1, "b": [1, 2]}, '{"b": [1, 2.0], "a": 1}', True),
    ({"rule": "exact"}, [1, 2], [2, 1], False),
    ({"rule": "normalized"}, "Daniel Brandt", "  daniel   BRANDT. ", True),
    ({"rule": "normalized"}, "Daniel Brandt", "Daniel", False),
    ({"rule": "normalized"}, ["a", "b"], "a, b", True),
    ({"rule": "normalized"}, ["a", "b"], "b, a", False),
    ({"rule": "number", "tolerance": 1e-6}, 1881, "1,881", True),
    ({"rule": "number", "tolerance": 1e-6}, 94.05, "The average is 94.05.", True),
    ({"rule": "number", "tolerance": 0.005}, 1.5925925925925926, "1.59", True),
    ({"rule": "number", "tolerance": 1e-6}, 12, "12 or 13", False),
    ({"rule": "set"}, ["x.md", "y.txt"], "y.txt and x.md", True),
    ({"rule": "set"}, ["x.md", "y.txt"], '["x.md"]', False),
    ({"rule": "json-subset"}, {"entities": [{"name": "Ada"}]}, {"entities": [{"name": "Bo"}, {"name": "Ada", "x": 1}]}, True),
    ({"rule": "json-subset"}, {"entities": [{"name": "Ada"}]}, {"entities": []}, False),
    ({"rule": "json-subset"}, {"content": "feature/x"}, {"content": '["feature/x", "main"]'}, True),
    ({"rule": "json-subset"}, "feature/spring", "  feature/spring\n* main", True),
])
def test_match_rules(match, expected, got, ok):
    assert matches(match, expected, got) is ok


def test_unknown_match_rule_is_a_clear_error():
    with pytest.raises(MatchRuleError, match="unknown match rule 'fuzzy'"):
        matches({"rule": "fuzzy"}, 1, 1)


def test_probe_compares_structured_content_first():
    probe = {"expected": {"entities": [{"name": "Ada"}]}}
    assert probe_passes(probe, {"rule": "json-subset"}, [{"type": "text", "text": "{}"}], {"entities": [{"name": "Ada"}]})
    assert not probe_passes(probe, {"rule": "json-subset"}, [], {"entities": [{"name": "Ada"}]}, is_error=True)


# ------------------------------------------------------------------------------- synthesis


def test_every_kind_is_synthesized_with_labels_from_the_recorded_results(world):
    report = synthesize(world, max_tasks=50)
    assert report.explorations == 3 and report.tasks == len(tasks(world))
    by_kind = {k: [t for t in tasks(world) if t["kind"] == k] for k in ("lookup", "multi-hop", "aggregate", "state-change")}
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    # lookup: a value of one result, with its provenance
    author = next(t for t in by_kind["lookup"] if t["template"] == "lookup:commit:author" and "Move notes" in t["question"])
    assert json.loads(author["answer"]) == "Maya Okafor" and json.loads(author["match"]) == {"rule": "normalized"}
    prov = json.loads(author["provenance"])
    assert prov[0] == {"step": 0, "path": "$.content[0].text#line=9", "value": "Maya Okafor", "role": "answer"}
    assert [c["tool"] for c in json.loads(author["trajectory"])] == ["git_log"]
    # multi-hop: the fed argument is described by where it came from, not given
    hop = next(t for t in by_kind["multi-hop"] if t["template"] == "hop:count:column")
    assert "second table listed in the shop database" in hop["question"] and "products" not in hop["question"]
    assert json.loads(hop["answer"]) == 3 and hop["hops"] == 2
    assert [c["tool"] for c in json.loads(hop["trajectory"])] == ["list_tables", "describe_table"]
    # aggregate: computed over the items of one result
    count = next(t for t in by_kind["aggregate"] if t["template"] == "count-where:commit:author" and "Daniel" in t["question"])
    assert json.loads(count["answer"]) == 2 and json.loads(count["derivation"]) == {"op": "count"}
    total = next(t for t in by_kind["aggregate"] if t["template"] == "sum:row:stock")
    assert json.loads(total["answer"]) == 142 + 58 + 12 + 999
    # state change: the effect is the task, a later read is the probe
    branch = next(t for t in by_kind["state-change"] if t["template"] == "state:git_create_branch")
    probe = json.loads(branch["probe"])
    assert probe["tool"] == "git_branch" and probe["expected"] == "feature/spring"
    assert [c["tool"] for c in json.loads(branch["trajectory"])] == ["git_create_branch"]
    entity = next(t for t in by_kind["state-change"] if t["template"] == "state:create_entities")
    assert json.loads(entity["answer"]) == {"entities": [{"name": "Ada Park", "entityType": "person",
                                                          "observations": ["Joined in 2025"]}]}
    # a read after an effect carries the effect in its question and its trajectory
    after = next(t for t in by_kind["lookup"] if t["template"].endswith("+setup"))
    assert "Ada Park" in after["question"]
    assert [c["tool"] for c in json.loads(after["trajectory"])] == ["create_entities", "open_nodes"]


def test_synthesis_is_resumable_idempotent_and_deterministic(world, tmp_path):
    synthesize(world)
    head = world.head()
    assert synthesize(world).explorations == 0 and world.head() == head
    other = shop_world(Store.open(tmp_path / "other.db"))
    synthesize(other)
    assert [(t["task_id"], t["question"]) for t in tasks(world)] == [(t["task_id"], t["question"]) for t in tasks(other)]
    verify(world)
    assign_splits(world)
    before = projection_dumps(world)
    world.rebuild()
    assert projection_dumps(world) == before


def test_questions_vary_and_do_not_contain_their_answers(world):
    synthesize(world, max_tasks=50)
    rows = tasks(world)
    assert len({r["question"] for r in rows}) == len(rows)
    lookups = [r["question"] for r in rows if r["template"] == "lookup:commit:author"]
    assert len({q.split()[0] for q in lookups}) >= 2  # phrasing varies
    for r in rows:
        assert check_leakage(task_from_row(tuple(r[c.strip()] for c in TASK_COLUMNS.split(","))))[0], r["question"]


# ------------------------------------------------------------------------------- verification


def test_good_tasks_pass_every_verifier_and_replay_in_the_simulator(world):
    synthesize(world, max_tasks=50)
    report = verify(world, per_template=100, per_tool_answer=100)
    # uncapped, only the twins (the same masked question and answer) fall
    assert set(report.rejected) <= {"diverse"} and report.verified + report.rejected["diverse"] == report.tasks > 20
    twins = [r for (r,) in world.conn.execute("SELECT reasons FROM verdicts WHERE verifier = 'diverse' AND passed = 0")]
    assert all("same masked question and answer" in r for r in twins)
    assert world.conn.execute("SELECT count(DISTINCT verifier) FROM verdicts").fetchone()[0] == 10
    head = world.head()
    assert verify(world).tasks == 0 and world.head() == head
    sim = Simulator.open(world, mode="strict")
    from firefly.synth.verify import check_replayable

    for row in world.conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE verified = 1"):
        assert check_replayable(task_from_row(row), sim)[0]


def _variant(store: Store, base_template: str, contains: str = "", **changes) -> str:
    base = next(t for t in tasks(store, "template = ?", base_template) if contains in t["question"])
    event = event_of(store, base["task_id"])
    name = changes.pop("name")
    changes.setdefault("template", f"{base_template}-{name}")  # not the same label signature as its original
    # ids after every synthesized one: of two duplicates, the later in task id order is rejected
    new = msgspec.structs.replace(event, task_id="tz-bad-" + name, **changes)
    store.append(new)
    return new.task_id


def test_tasks_built_to_fail_each_verifier_fail_it(world):
    synthesize(world, max_tasks=50)
    verify(world)
    wrong = _variant(world, "lookup:commit:author", "Release 0.2.0", name="wrong", answer="Maya Okafor")
    leaks = _variant(world, "lookup:commit:author", "Release 0.2.0", name="leaks",
                     question="Was it Daniel Brandt who wrote 'Release 0.2.0' among the last 5 commits at /workspace/repo?")
    vague = _variant(world, "single:commit:author", name="vague", question="Who made that commit in the repository?")
    setup = next(t for t in tasks(world) if t["template"].endswith("+setup") and "Ada Park" in t["question"])
    traj = json.loads(setup["trajectory"])
    unreplayable = _variant(world, setup["template"], "Ada Park", name="noeffect", trajectory=traj[1:])
    twin = _variant(world, "lookup:commit:author", "Release 0.2.0", name="twin", template="lookup:commit:author")
    rephrased = _variant(world, "count:table", name="rephrased", template="count:table-again")  # same question
    verify(world)
    failed = {(t, v) for t, v in world.conn.execute(
        "SELECT task_id, verifier FROM verdicts WHERE passed = 0 AND reasons NOT LIKE '[\"not tried%'")}
    # (copies keep their original's question, so they are near-duplicates of it as well)
    assert {v for t, v in failed if t == wrong} - {"not-duplicate"} == {"grounded", "replayable"}
    assert {v for t, v in failed if t == leaks} == {"no-leakage"}
    assert {v for t, v in failed if t == vague} == {"self-contained"}
    assert {v for t, v in failed if t == unreplayable} - {"not-duplicate"} == {"replayable"}
    assert {v for t, v in failed if t == twin} == {"not-duplicate"}
    assert {v for t, v in failed if t == rephrased} == {"not-duplicate"}
    reasons = dict(world.conn.execute("SELECT verifier, reasons FROM verdicts WHERE task_id = ?", (vague,)))
    assert "/revision" in reasons["self-contained"]
    reasons = dict(world.conn.execute("SELECT verifier, reasons FROM verdicts WHERE task_id = ?", (unreplayable,)))
    assert "no recorded result" in reasons["replayable"]
    assert world.conn.execute("SELECT verified FROM tasks WHERE task_id = ?", (wrong,)).fetchone()[0] == 0


def test_a_state_change_with_a_wrong_end_state_fails(world):
    synthesize(world, max_tasks=50)
    row = tasks(world, "template = 'state:git_create_branch'")[0]
    event = event_of(world, row["task_id"])
    probe = dict(event.probe, expected="feature/autumn")
    bad = msgspec.structs.replace(event, task_id="t-bad-state", probe=probe, answer="feature/autumn")
    world.append(bad)
    verify(world)
    failed = {v for (v,) in world.conn.execute("SELECT verifier FROM verdicts WHERE task_id = ? AND passed = 0"
                                               " AND reasons NOT LIKE '[\"not tried%'", (bad.task_id,))}
    # nothing the change did shows in that end state: its change is not needed, nor does it fail before
    assert failed == {"grounded", "replayable", "no-padding", "fails-before"}


# ------------------------------------------------------------------------------- splits


def test_splits_are_grouped_by_dag_deterministic_and_written_once(world):
    synthesize(world, max_tasks=50)
    verify(world)
    report = assign_splits(world, test_fraction=0.5, seed=3)
    rows = tasks(world, "verified = 1")
    sides = {}
    for r in rows:
        sides.setdefault(r["dag_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in sides.values()) and set(sides) == {"dgit", "dmem", "dsql"}
    assert {d: s.pop() for d, s in sides.items()} == {d: side_of(d, 3, 0.5) for d in sides}
    assert report.totals["train"] + report.totals["test"] == len(rows)
    head = world.head()
    assert sum(assign_splits(world, test_fraction=0.5, seed=3).assigned.values()) == 0 and world.head() == head
    assign_splits(world, test_fraction=1.0, seed=3)
    assert {r["split"] for r in tasks(world, "verified = 1")} == {"test"}
    assign_splits(world, test_fraction=0.0, seed=3)
    assert {r["split"] for r in tasks(world, "verified = 1")} == {"train"}
    assert tasks(world, "verified = 0 AND split IS NOT NULL") == []


def test_side_of_spreads_dags_by_the_fraction():
    dags = [f"d{i}" for i in range(2000)]
    share = sum(side_of(d, 0, 0.2) == "test" for d in dags) / len(dags)
    assert 0.17 < share < 0.23
    assert [side_of(d, 1, 0.2) for d in dags] != [side_of(d, 0, 0.2) for d in dags]


def seed_where(dags, test_fraction: float, side: str) -> int:
    """The first seed whose hash puts every one of ``dags`` on ``side``."""
    return next(s for s in range(10_000) if all(side_of(d, s, test_fraction) == side for d in dags))


def test_a_split_of_two_dags_or_more_has_both_sides():
    dags = ["da", "db", "dc", "dd", "de"]
    seed = seed_where(dags, 0.2, "train")
    plan = plan_sides(dags, seed, 0.2)
    lowest = min(dags, key=lambda d: position_of(d, seed))
    assert plan.moved == lowest and plan.moved_to == "test" and plan.note is None
    assert plan.sides == {d: "test" if d == lowest else "train" for d in dags}
    assert plan_sides(reversed(dags), seed, 0.2) == plan  # deterministic, whatever the order
    seed = seed_where(dags, 0.8, "test")
    plan = plan_sides(dags, seed, 0.8)
    highest = max(dags, key=lambda d: position_of(d, seed))
    assert plan.moved == highest and plan.sides == {d: "train" if d == highest else "test" for d in dags}
    two = ["da", "db"]
    for fraction in (0.01, 0.2, 0.5, 0.99):
        for seed in range(20):
            assert set(plan_sides(two, seed, fraction).sides.values()) == {"train", "test"}


def test_a_split_that_cannot_have_both_sides_says_why():
    for dags in (["da"], []):
        plan = plan_sides(dags, 0, 0.2)
        assert plan.moved is None and "cannot have both train and test" in plan.note
    assert "only one DAG" in plan_sides(["da"], 0, 0.2).note
    # a fraction of 0 or 1 asks for one side: nothing moves, nothing to explain
    for fraction, side in ((0.0, "train"), (1.0, "test")):
        plan = plan_sides(["da", "db", "dc"], 0, fraction)
        assert plan.sides == dict.fromkeys(["da", "db", "dc"], side) and plan.moved is None and plan.note is None


def test_a_large_split_is_the_hash_alone_and_stays_put_as_dags_arrive():
    dags = [f"d{i}" for i in range(500)]
    plan = plan_sides(dags, 0, 0.2)
    assert plan.moved is None and plan.sides == {d: side_of(d, 0, 0.2) for d in dags}
    more = plan_sides(dags + [f"e{i}" for i in range(100)], 0, 0.2)
    assert all(more.sides[d] == plan.sides[d] for d in dags)
    # a DAG lent to the empty side goes back to its hashed side once another DAG fills it
    few = ["da", "db", "dc"]
    seed = seed_where(few, 0.2, "train")
    lent = plan_sides(few, seed, 0.2).moved
    newcomer = next(f"n{i}" for i in range(10_000) if side_of(f"n{i}", seed, 0.2) == "test")
    after = plan_sides(few + [newcomer], seed, 0.2)
    assert after.moved is None and after.sides[lent] == "train" and after.sides[newcomer] == "test"


def test_assign_splits_gives_a_small_run_a_test_dag_and_records_it(world):
    synthesize(world, max_tasks=50)
    verify(world)
    dags = sorted({r["dag_id"] for r in tasks(world, "verified = 1")})
    seed = seed_where(dags, 0.2, "train")
    report = assign_splits(world, test_fraction=0.2, seed=seed)
    sides = {}
    for r in tasks(world, "verified = 1"):
        sides.setdefault(r["dag_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert sorted(d for d, s in sides.items() if s == {"test"}) == [report.moved]
    assert report.totals["test"] > 0 and report.totals["train"] > 0
    assert report.summary()["moved"] == {"dag_id": report.moved, "to": "test"}
    head = world.head()
    assert sum(assign_splits(world, test_fraction=0.2, seed=seed).assigned.values()) == 0 and world.head() == head


# ------------------------------------------------------------------------------- LLM parts


def _llm(srv: ScriptedOpenAI) -> LLM:
    return LLM(LLMConfig(base_url=srv.base_url, model="writer", api_key="k", max_retries=0))


def test_llm_synthesizer_keeps_recorded_labels_and_records_bad_replies(world):
    from firefly.synth.llm import LLMSynthesizer

    replies = [
        json.dumps({"tasks": [
            {"question": "In /workspace/repo's last 5 commits, who wrote 'Release 0.2.0'?", "answer": "daniel brandt",
             "kind": "lookup", "steps": [0]},
            {"question": "Who reviewed it?", "answer": "Linus Torvalds", "kind": "lookup", "steps": [0]},
        ]}),
        "Sure! Here are some tasks: none",  # not JSON
        500,  # the endpoint fails: the exploration stays pending
    ]
    with ScriptedOpenAI(replies) as srv:
        synth = LLMSynthesizer(_llm(srv), max_tasks=3)
        report = synthesize(world, synth)
        prompt = srv.requests[0]["json"]["messages"][1]["content"]
    assert "git.git_log" in prompt and HASHES[0] in prompt
    assert report.tasks == 1 and report.failures == 3
    [task] = tasks(world)
    assert task["question"].startswith("In /workspace/repo's last 5 commits")
    assert json.loads(task["answer"]) == "Daniel Brandt"  # the recorded value, not the model's spelling
    assert task["template"] == "llm:lookup:commit:author"
    errors = [m for (m,) in world.conn.execute("SELECT message FROM errors WHERE stage = 'synthesize' ORDER BY position")]
    assert "match no recorded value" in errors[0] and "Linus Torvalds" in errors[0]
    assert "malformed reply" in errors[1] and "the LLM request failed" in errors[2]
    done = {x for (x,) in world.conn.execute("SELECT exploration_id FROM syntheses")}
    assert done == {"xgit", "xmem"}  # xsql's request failed: asked again next time
    assert world.count("llm-failed") == 1
    verify(world)
    assert tasks(world)[0]["verified"] == 1


def test_llm_synthesizer_sends_its_requests_concurrently_and_bounds_replies(world):
    import threading

    from firefly.synth.llm import REPLY_TOKENS_PER_TASK, LLMSynthesizer

    together = threading.Barrier(3, timeout=30)  # the three explorations' requests must be in flight at once

    def script(path, body):
        together.wait()
        return "no JSON here"  # each a recorded failure of its own exploration

    seen: list[tuple[str, int, int]] = []
    with ScriptedOpenAI(script) as srv:
        report = synthesize(world, LLMSynthesizer(_llm(srv), max_tasks=3, concurrency=3),
                            on_exploration=lambda xid, done, total: seen.append((xid, done, total)))
    assert len(srv.requests) == 3 and not together.broken
    # a bounded reply: a weak model that rambles cannot hold the endpoint until its context is full
    assert {r["json"]["max_tokens"] for r in srv.requests} == {REPLY_TOKENS_PER_TASK * 3 + 64}
    assert report.explorations == 3 and report.failures == 3
    assert sorted(x for x, _, _ in seen) == ["xgit", "xmem", "xsql"] and [d for _, d, _ in seen] == [1, 2, 3]
    assert world.count("synthesis-failed") == 3 and world.count("llm-replied") == 3
    with ScriptedOpenAI([]) as srv:  # a second run asks nothing: every exploration is done
        again = synthesize(world, LLMSynthesizer(_llm(srv), max_tasks=3, concurrency=3))
    assert srv.requests == [] and again.explorations == 0


def test_solvable_verifier_runs_a_model_against_the_simulator(world):
    from firefly.synth.solve import Solver

    synthesize(world, max_tasks=50)
    authors = tasks(world, "template = 'lookup:commit:author'")
    row = next(t for t in authors if "Release 0.2.0" in t["question"])
    task = task_from_row(tuple(row[c.strip()] for c in TASK_COLUMNS.split(",")))
    # another task (a new conversation), whose author the model will get wrong
    other_row = next(t for t in authors if t["task_id"] != row["task_id"] and json.loads(t["answer"]) != "Maya Okafor")
    other = task_from_row(tuple(other_row[c.strip()] for c in TASK_COLUMNS.split(",")))
    call = {"tool_calls": [{"name": "git__git_log", "arguments": {"repo_path": "/workspace/repo", "max_count": 5}}]}
    with ScriptedOpenAI([call, "Daniel Brandt", call, "Maya Okafor"]) as srv:
        solver = Solver(_llm(srv))
        sim = Simulator.open(world, mode="strict")
        ok, reasons = solver.check(world, task, sim)
        tools = srv.requests[0]["json"]["tools"]
        tool_reply = srv.requests[1]["json"]["messages"][-1]
        bad, why = solver.check(world, other, sim)
        again = solver.check(world, task, sim)  # a re-run asks nothing: the recorded replies answer
    assert ok, reasons
    assert again == (ok, reasons) and len(srv.requests) == 4
    # what firefly eval gives an agent: every tool of the task's servers
    assert {t["function"]["name"] for t in tools} == {
        f"git__{name}" for (name,) in world.conn.execute("SELECT name FROM tools WHERE server = 'git'")}
    assert tool_reply["role"] == "tool" and "Release 0.2.0" in tool_reply["content"]
    assert not bad and "Maya Okafor" in why[0]


# ------------------------------------------------------------------------------- CLI


def test_cli_synthesize_verify_split_and_status(world, db_path):
    world.close()
    runner = CliRunner()
    out = runner.invoke(app, ["synthesize", "--db", str(db_path)])
    assert out.exit_code == 0, out.output
    assert "synthesized" in out.output and "state-change" in out.output
    out = runner.invoke(app, ["verify", "--db", str(db_path)])
    assert out.exit_code == 0 and "verified" in out.output, out.output
    out = runner.invoke(app, ["split", "--db", str(db_path), "--test-fraction", "0.34"])
    assert out.exit_code == 0 and "train" in out.output, out.output
    out = runner.invoke(app, ["status", "--db", str(db_path)])
    assert out.exit_code == 0
    for words in ("tasks synthesized / verified", "state-change", "verified tasks per exploration", "split train / test"):
        assert words in out.output, out.output
    out = runner.invoke(app, ["synthesize", "--db", str(db_path), "--synthesizer", "poetry"])
    assert out.exit_code == 2 and "offline" in out.output and "llm" in out.output  # the choices, from the parser
    out = runner.invoke(app, ["split", "--db", str(db_path), "--test-fraction", "2"])
    assert out.exit_code == 1 and "between 0 and 1" in out.output


def test_cli_a_small_run_splits_into_both_sides_and_the_oracle_evaluates_test(world, db_path):
    synthesize(world, max_tasks=50)
    verify(world)
    seed = seed_where({r["dag_id"] for r in tasks(world, "verified = 1")}, 0.2, "train")
    world.close()
    runner = CliRunner()
    out = runner.invoke(app, ["split", "--db", str(db_path), "--seed", str(seed)])
    assert out.exit_code == 0 and "crossed to test" in out.output, out.output
    out = runner.invoke(app, ["eval", "--db", str(db_path), "--agent", "oracle"])  # the test split by default
    assert out.exit_code == 0, out.output


# ------------------------------------------------------------------------------- real servers


@pytest.mark.real_servers
def test_tasks_from_real_explorations_replay_and_do_not_leak(tmp_path):
    """A small real run (bundled servers): every verified task replays to its label in the
    strict simulator, and none leaks its answer."""
    from firefly.discovery import discover
    from firefly.explore.offline import OfflinePolicy
    from firefly.explore.stage import explore
    from firefly.graph import build_graph
    from firefly.registry import load_registry, register
    from firefly.resources import bundled_registry
    from firefly.sample import sample_dags
    from firefly.synth import replay_verified

    store = Store.open(tmp_path / "real.db")
    register(store, load_registry(bundled_registry()), source="bundled")
    discover(store, connect_timeout=300, call_timeout=60)
    build_graph(store)
    sample_dags(store, count=12, seed=1)
    explore(store, OfflinePolicy(), dags=12, concurrency=2)
    synthesize(store)
    report = verify(store)
    assert report.verified >= 10, report.summary()
    assert replay_verified(store) == []
    kinds = {k for (k,) in store.conn.execute("SELECT DISTINCT kind FROM tasks WHERE verified = 1")}
    assert {"lookup", "aggregate"} <= kinds
    fields = store.conn.execute("SELECT count(*) FROM tasks WHERE verified = 1 AND answer_schema IS NOT NULL"
                                " AND json_extract(match, '$.rule') = 'fields'").fetchone()[0]
    assert fields >= 1  # answers with named fields verify on the bundled servers


def test_a_call_making_two_changes_is_asked_only_when_its_probe_shows_both():
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer

    add = {"observations": [{"entityName": "harbor-shop", "contents": ["Noted during exploration 16"]},
                            {"entityName": "Harbor Coffee Supply", "contents": ["Noted during exploration 722"]}]}

    def walk(*shown):
        entities = [{"name": n, "observations": [o]} for n, o in shown]
        return Exploration("x", "d", [
            Step(0, "memory", "add_observations", add, [{"type": "text", "text": "Observations added"}], None, True,
                 False, [], "s0", None, "a"),
            Step(1, "memory", "open_nodes", {"names": [n for n, _ in shown]},
                 [{"type": "text", "text": json.dumps({"entities": entities})}], None, True, True, [], "s1", 0, "o")])

    def changes(x):
        found, skipped = OfflineSynthesizer().candidates(x)
        return [c for c in found if c.kind == "state-change"], skipped

    one, skipped = changes(walk(("Harbor Coffee Supply", "Noted during exploration 722")))
    assert one == [] and skipped["a change the probe does not show"] == 1
    both, _ = changes(walk(("harbor-shop", "Noted during exploration 16"),
                           ("Harbor Coffee Supply", "Noted during exploration 722")))
    assert both and "Noted during exploration 16" in json.dumps(both[0].answer)


def test_a_change_no_argument_states_is_labelled_by_what_its_probe_before_and_after_differ_in():
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import _changed_since

    def step(n, tool, args, rows, *, probe_of=None, read_only=True, hash_="h"):
        return Step(n, "db", tool, args, [{"type": "text", "text": json.dumps(rows)}], None, True, read_only, [], "s",
                    probe_of, hash_)

    select = {"query": "SELECT * FROM products WHERE id = 1"}
    before = [{"id": 1, "name": "Foghorn", "price": 18.5}]
    after = [{"id": 1, "name": "Foghorn", "price": 19.5}]
    pre = step(0, "read_query", select, before, probe_of=1)
    update = step(1, "write_query", {"query": "UPDATE products SET price = price + 1 WHERE id = 1"}, [],
                  read_only=False, hash_="u")
    post = step(2, "read_query", select, after, probe_of=1)
    x = Exploration("x", "d", [pre, update, post])
    expected = _changed_since(x, update, post)
    assert expected == [{"id": 1, "name": "Foghorn", "price": 19.5}]
    assert probe_passes({"expected": expected}, {"rule": "json-subset"}, post.content)
    assert not probe_passes({"expected": expected}, {"rule": "json-subset"}, pre.content)  # fails before
    # no probe before it: nothing to compare
    assert _changed_since(Exploration("x", "d", [update, post]), update, post) is None
    # the same read made first in the world the update changed (a look first, no probe_of) is the read before
    look = step(0, "read_query", select, before)
    assert _changed_since(Exploration("x", "d", [look, update, post]), update, post) == expected
    elsewhere = Step(0, "db", "read_query", select, look.content, None, True, True, [], "another world", None, "h")
    assert _changed_since(Exploration("x", "d", [elsewhere, update, post]), update, post) is None
    # a session's tally of operations moves with any call: it is no trace of this one
    info = {"query": "SELECT * FROM session_info"}
    tally = [step(0, "read_query", info, {"rows": 20, "operations_count": 1}, probe_of=1), update,
             step(2, "read_query", info, {"rows": 20, "operations_count": 2}, probe_of=1)]
    assert _changed_since(Exploration("x", "d", tally), update, tally[2]) is None
    tally[2] = step(2, "read_query", info, {"rows": 19, "operations_count": 2}, probe_of=1)
    assert _changed_since(Exploration("x", "d", tally), update, tally[2]) == {"rows": 19}
    # only the clock changed: no label
    import time

    clock = step(2, "read_query", select, [{"id": 1, "updated_at": int(time.time())}], probe_of=1)
    pre_clock = step(0, "read_query", select, [{"id": 1, "updated_at": int(time.time()) - 60}], probe_of=1)
    assert _changed_since(Exploration("x", "d", [pre_clock, update, clock]), update, clock) is None


def test_a_label_matched_as_a_number_is_written_without_float_noise():
    from firefly.synth.offline import _without_float_noise

    assert _without_float_noise(36.447500000000005, {"rule": "number"}) == 36.4475
    fields = {"rule": "fields", "fields": {"avg": {"rule": "number"}, "name": {"rule": "exact"}}}
    assert _without_float_noise({"avg": 0.30000000000000004, "name": "x"}, fields) == {"avg": 0.3, "name": "x"}
    assert _without_float_noise(0.30000000000000004, {"rule": "exact"}) == 0.30000000000000004  # matched as written
    assert matches({"rule": "number"}, 36.4475, 36.447500000000005)  # a recorded value still matches the label


def test_a_sentence_ending_with_a_block_of_lines_goes_on_after_a_blank_line():
    from firefly.synth.offline import _after_blocks

    setup = "Do this first: write the file a.md with exactly this content:\n# Findings\n\n- none yet\n. After that, how large is a.md?"
    assert _after_blocks(setup) == ("Do this first: write the file a.md with exactly this content:\n# Findings\n\n- none yet\n"
                                    "\nAfter that, how large is a.md?")
    assert _after_blocks("Make this change: write the file a.md with exactly this content:\n# F\n- x\n.").endswith("- x")
    assert _after_blocks("What is 2.5 + 1?") == "What is 2.5 + 1?"


def test_a_change_to_a_thing_an_earlier_change_made_names_it_by_that_step_not_by_its_run_made_id():
    """``create_task`` returns "task-4bfdc920"; ``update_task_status`` is given that id. The id
    is this run's making: the question names it "returned by step 1", and the label keeps what shows
    the change (the status), not the id."""
    from collections import Counter

    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer, _self_contained

    def step(n, tool, args, result, *, probe_of=None, read_only=True, hash_="h"):
        return Step(n, "tasks", tool, args, [{"type": "text", "text": json.dumps(result)}], None, True, read_only, [],
                    "s", probe_of, hash_)

    tid = "task-4bfdc920"
    create = step(0, "create_task", {"title": "Ship the spring catalogue"}, {"success": True, "task_id": tid},
                  read_only=False, hash_="c")
    pre = step(1, "get_task", {"task_id": tid}, {"id": tid, "title": "Ship the spring catalogue", "status": "todo"},
               probe_of=2)
    update = step(2, "update_task_status", {"task_id": tid, "status": "done"}, {"success": True}, read_only=False,
                  hash_="u")
    update.sources = [{"argument": "/task_id", "step": 0, "value": tid, "path": "$.content[0].text#json=$.task_id"}]
    post = step(3, "get_task", {"task_id": tid}, {"id": tid, "title": "Ship the spring catalogue", "status": "done"},
                probe_of=2)
    x = Exploration("x", "d", [create, pre, update, post])
    syn = OfflineSynthesizer()
    cands = [c for c in syn._state_changes(x, x.by_step(), Counter(), {}) if c.extra["effect_step"] == 2]
    assert cands
    task = syn._with_setup(x, cands[0], Counter())
    assert task is not None
    assert tid not in task.question and "the task id returned by step 1" in task.question, task.question
    assert task.question.startswith("Do the following, in order:\n1. ")
    # the label checks both changes asked for: the title step 1 gave, the status step 2 set
    assert task.answer == {"status": "done", "title": "Ship the spring catalogue"} == task.probe["expected"]
    assert _self_contained(task, Counter())
    assert probe_passes(task.probe, task.match, post.content)
    assert not probe_passes(task.probe, task.match, pre.content)  # fails on the world before the change
    # fed from a read of it: still the change that made it names it
    update.sources = [{"argument": "/task_id", "step": 1, "value": tid, "path": "$.id"}]
    again = syn._with_setup(x, [c for c in syn._state_changes(x, x.by_step(), Counter(), {})
                                if c.extra["effect_step"] == 2][0], Counter())
    assert again is not None and "returned by step 1" in again.question and tid not in again.question
    # verify's self-contained takes an id an earlier call of the trajectory made
    from firefly.synth.model import Task
    from firefly.synth.verify import check_self_contained

    made = Task("t", "x", "d", "state-change", again.question, again.answer, again.match,
                [create.call(), update.call()], again.probe, again.provenance, again.derivation)
    assert check_self_contained(made, x, {})[0]
    alone = Task("t", "x", "d", "state-change", "Update a task's status with status \"done\".", again.answer,
                 again.match, [update.call()], again.probe, again.provenance, again.derivation)
    assert not check_self_contained(alone, x, {})[0]  # nothing in the task makes the id


def test_a_number_a_tool_wrote_as_text_is_matched_as_a_number():
    from firefly.match import matches
    from firefly.synth.offline import _match_for

    rule = _match_for("10.0")
    assert rule["rule"] == "number" and matches(rule, "10.0", "10") and matches(rule, "10.0", "The average is 10.")
    assert not matches(rule, "10.0", "11")
    assert _match_for("1042") == {"rule": "normalized"}  # an id written in digits stays text
    assert _match_for("0.2.0") == {"rule": "normalized"}


def test_what_a_tool_says_whatever_it_is_given_is_no_fact(store):
    """A note reader adds the same standing sentence to every note it reads: read for two
    notes whose names share no word (the folders of their paths say nothing), that sentence is the tool's, not the note's, and no
    question asks it; what each note says stays. Two calls that name the same note (one with
    an option more) are no evidence."""
    from firefly.synth.facts import read_call
    from firefly.synth.offline import _not_said_anyway, said_anyway

    from .sim_fixtures import Walk, discover

    discover(store)
    hint = "Notes are plain text files kept for you"  # read back as the text shows it: marks and all

    def reply(note):
        return json.dumps({"note": note, "hint": hint.replace("plain text", "`plain text`"), "words": len(note.split())})

    w = Walk(store, "xh")
    w.call("notes", "read_note", {"path": "/workspace/notes/todo.md"}, reply("buy milk and eggs today"))
    w.call("notes", "read_note", {"path": "/workspace/notes/todo.md", "format": "markdown"}, reply("buy milk and eggs today"))
    store.catch_up()
    assert ("notes", "read_note") not in said_anyway(store)  # the same note twice
    w.call("notes", "read_note", {"path": "/workspace/notes/ideas.md"}, reply("fly to the moon next year"))
    store.catch_up()
    said = said_anyway(store)[("notes", "read_note")]
    content = [{"type": "text", "text": reply("buy milk and eggs today")}]
    (table,) = read_call(0, "notes", "read_note", {"path": "/workspace/notes/todo.md"}, content, None, None, None).tables
    kept = _not_said_anyway(table, said)
    assert set(table.items[0].cells) == {"note", "hint", "words"} and set(kept.items[0].cells) == {"note", "words"}
    # in text, on another line each time and with its marks: the same sentence, found anyway
    w.call("notes", "list_notes", {"folder": "/workspace/drafts"}, f"Drafts: 2\n**Hint**: {hint.replace('plain', '`plain`')}")
    w.call("notes", "list_notes", {"folder": "/workspace/archive"}, f"Archive: 5\nOldest: 2019\n**Hint**: {hint}")
    store.catch_up()
    said = said_anyway(store)[("notes", "list_notes")]
    content = [{"type": "text", "text": f"Archive: 5\nOldest: 2019\n**Hint**: {hint}"}]
    (table,) = read_call(0, "notes", "list_notes", {"folder": "/workspace/archive"}, content, None, None, None).tables
    assert "Hint" in table.items[0].cells and "Hint" not in _not_said_anyway(table, said).items[0].cells


def test_a_hash_is_asked_of_a_tool_that_computes_hashes_but_not_of_a_listing():
    from firefly.synth.offline import _unasked_single

    value = "365578823b8fdd15238d9a4e588dfbdd"
    assert _unasked_single("result", "hash", value, {}, {}, "hash") == ""
    assert _unasked_single("result", "hash", value, {}, {}, "compute_hash") == ""
    assert _unasked_single("file", "hash", value, {}, {}, "list_files") == "a field not asked"  # a listing's checksum


def _state_changes_of(steps, tools=None):
    from firefly.synth.model import Exploration
    from firefly.synth.offline import OfflineSynthesizer

    found, _ = OfflineSynthesizer().candidates(Exploration("x", "d", steps, tools=tools or {}))
    return [c for c in found if c.kind == "state-change"]


def test_a_probe_saying_back_the_place_it_was_given_to_write_to_is_no_sign_of_the_change():
    """image_rotate wrote shapes-out.png; find_contours, given that path to save an annotated
    image to, says it back whatever the world holds: no label (doing nothing would pass)."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Step

    paths = {"type": "object", "properties": {"input_path": {"type": "string"}, "output_path": {"type": "string"}}}
    out = "/workspace/data/shapes-out-992.png"
    args = {"input_path": "/workspace/data/shapes.png", "output_path": out}
    rotate = Step(0, "img", "image_rotate", {**args, "angle": 3}, [{"type": "text", "text": f"Rotated, saved {out}"}],
                  None, True, False, [], "s0", None, "r")
    contours = Step(1, "img", "find_contours", args, [{"type": "text", "text": json.dumps({"annotated_image": out})}],
                    None, True, True, [], "s1", 0, "c")
    tools = {("img", "find_contours"): ToolRef("img", "find_contours", "Find contours.", paths, {"readOnlyHint": True})}
    assert _state_changes_of([rotate, contours], tools) == []
    # a reader given only what it reads (the new file) shows the change
    listing = Step(1, "img", "list_images", {"folder": "/workspace/data"},
                   [{"type": "text", "text": json.dumps({"images": [out]})}], None, True, True, [], "s1", 0, "l")
    assert _state_changes_of([rotate, listing], tools)


def test_a_probe_asked_about_the_place_a_change_made_is_checked_on_what_it_read_there():
    """image_resize wrote out.png; image_info(path=out.png) answers the path back and what the
    image is. The path alone ({"path": out}) passes for any file there (a copy of the input):
    the label is the record the probe read, its size and pixels, without the clock's fields."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Step

    out = "/workspace/data/shapes-out-637.png"
    resize = Step(0, "img", "image_resize", {"input_path": "/workspace/data/shapes.png", "output_path": out, "height": 1},
                  [{"type": "text", "text": f"Resized 320x240 -> 1x1, saved {out}"}], None, True, False, [], "s0", None, "r")
    info = {"path": out, "file_size_bytes": 69, "width": 1, "height": 1, "mean": 141.9,
            "modified": "2026-12-07T12:39:36.398574"}
    probe = Step(1, "img", "image_info", {"path": out}, [{"type": "text", "text": json.dumps(info)}], None, True, True,
                 [], "s1", 0, "i")
    tools = {("img", "image_info"): ToolRef("img", "image_info", "Describe an image.",
                                            {"type": "object", "properties": {"path": {"type": "string"}}},
                                            {"readOnlyHint": True})}
    (change,) = _state_changes_of([resize, probe], tools)
    assert change.answer == {"path": out, "file_size_bytes": 69, "width": 1, "height": 1, "mean": 141.9}
    # a probe that found the mark itself (a listing of the folder) keeps the record's stated part
    listing = Step(1, "img", "list_images", {"folder": "/workspace/data"},
                   [{"type": "text", "text": json.dumps({"images": [{"name": out, "width": 1}]})}], None, True, True,
                   [], "s1", 0, "l")
    (change,) = _state_changes_of([resize, listing], tools)
    assert change.answer == {"images": [{"name": out}]}


def test_a_value_chosen_from_a_list_of_choices_is_no_mark_of_a_change():
    """add_task_activity(activity_type="progress") is not shown by a note that happens to say
    "progress": a kind many things share marks no change; the description it wrote does."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Step

    schema = {"type": "object", "properties": {"task_id": {"type": "string"}, "description": {"type": "string"},
                                               "activity_type": {"type": "string", "enum": ["note", "progress"]}}}
    made = Step(0, "t", "get_tasks", {}, [{"type": "text", "text": '{"tasks": [{"id": "task-1"}]}'}], None, True, True,
                [], "s0", None, "m")
    add = Step(1, "t", "add_task_activity", {"task_id": "task-1", "activity_type": "progress", "description": "x"},
               [{"type": "text", "text": '{"success": true}'}], None, True, False, [], "s0", None, "a")
    task = {"id": "task-1", "handoff_notes": "Observed progress percent 0."}
    get = Step(2, "t", "get_task", {"task_id": "task-1"}, [{"type": "text", "text": json.dumps(task)}], None, True, True,
               [], "s1", 1, "g")
    tools = {("t", "add_task_activity"): ToolRef("t", "add_task_activity", "Log activity on a task.", schema)}
    assert _state_changes_of([made, add, get], tools) == []
    assert _state_changes_of([made, add, get])  # without the schema the word was taken for a mark


def test_a_record_named_after_a_key_is_not_asked_that_key_back():
    """get_engine_options: {"MultiPV": {"metadata": {"name": "MultiPV", ...}}}: "what is the
    metadata name of the multi pv" answers what the question says."""
    from firefly.synth.offline import _unasked_single

    assert _unasked_single("multi pv", "metadata.name", "MultiPV", {}, {}, "get_engine_options") == \
        "the key gives it away"
    assert _unasked_single("multi pv", "metadata.type", "spin", {}, {}, "get_engine_options") == ""


def test_a_labelled_line_named_in_capitalized_words_is_asked_as_written():
    """"Colombia Huila: caramel, red apple" in a note: "what value does the file give for
    "Colombia Huila"?", not "what is the colombia huila of the file?"; a label in lower case
    words stays a noun."""
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer

    text = "Roastery visit\n\nColombia Huila: caramel, red apple\nroast level: medium\n"
    read = Step(0, "fs", "read_text_file", {"path": "/workspace/files/reports/visit.txt"},
                [{"type": "text", "text": text}], None, True, True, [], "s0", None, "r")
    found, _ = OfflineSynthesizer().candidates(Exploration("x", "d", [read]))
    asked = {c.answer: c.question for c in found if c.kind == "lookup" and isinstance(c.answer, str)}
    assert '"Colombia Huila"' in asked["caramel, red apple"], asked
    assert "roast level" in asked["medium"] and '"roast level"' not in asked["medium"], asked


def test_a_list_the_call_was_given_or_the_question_shows_is_no_answer():
    """precision_calculator(numbers=[3, 4.0, 5.0]) answers "inputs": ["3.0", "4.0", "5.0"]: the
    list it was given, numbers written as text; test_regex answers a stored case's expected
    matches as "['weekend', 'weekend']", which the setup step in the question gave."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer, _leaks_into

    reply = {"result": "14.2201203547", "inputs": ["3.0", "4.0", "5.0"], "operation": "sqrt"}
    calc = Step(0, "m", "precision_calculator", {"numbers": [3, 4.0, 5.0], "operation": "sqrt"},
                [{"type": "text", "text": json.dumps(reply)}], None, True, True, [], "s0", None, "c")
    tools = {("m", "precision_calculator"): ToolRef("m", "precision_calculator", "High-precision calculation.",
                                                    {"type": "object"}, {"readOnlyHint": True})}
    found, skipped = OfflineSynthesizer().candidates(Exploration("x", "d", [calc], tools=tools))
    assert skipped["fact: a list the call was given"] == 1
    assert not [c for c in found if "3.0" in json.dumps(c.answer)]
    assert [c for c in found if c.answer == "14.2201203547"]  # what it computed is still asked
    shown = 'first add a test case with expected matches "weekend" and "weekend". then: what is "expected"?'
    assert _leaks_into("['weekend', 'weekend']", shown)
    assert not _leaks_into("['weekend', 'holiday']", shown)


def test_the_status_of_a_thing_a_reply_describes_is_asked_but_not_the_calls():
    """get_story answers {"id", "title", "status": "todo"}: the story's status is a fact of the
    world; {"status": "ok", "message": ...} is how the call went, never asked."""
    from firefly.synth.facts import Cell
    from firefly.synth.offline import _unasked_single

    story = {f: Cell(v, f"$.{f}") for f, v in {"id": "story-1", "title": "Review", "status": "todo"}.items()}
    assert _unasked_single("story", "status", "todo", story, {}, "get_story") == ""
    handoff = {f: Cell(v, f"$.{f}") for f, v in {"task_id": "t-1", "summary": "Check it", "status": "BLOCKED"}.items()}
    assert _unasked_single("handoff", "status", "BLOCKED", handoff, {}, "get_task_handoff") == ""
    reply = {f: Cell(v, f"$.{f}") for f, v in {"status": "ok", "message": "Saved"}.items()}
    assert _unasked_single("reply", "status", "ok", reply, {}, "save") != ""
    assert _unasked_single("story", "status", "ok", story, {}, "get_story") != ""  # "ok" says how the call went


def test_no_count_of_the_items_holding_a_value_no_two_items_share():
    """"How many templates have the id "turnaround"?" is 1 for every id: a field whose values
    are all different is never counted by value; one two items share is."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer

    rows = [{"name": "Growth", "id": "growth", "kind": "saas"}, {"name": "Rocket", "id": "rocket", "kind": "saas"},
            {"name": "Cow", "id": "cow", "kind": "retail"}, {"name": "Turnaround", "id": "turnaround", "kind": "saas"}]
    read = Step(0, "m", "list_templates", {}, [{"type": "text", "text": json.dumps({"templates": rows})}], None, True,
                True, [], "s0", None, "t")
    tools = {("m", "list_templates"): ToolRef("m", "list_templates", "List the templates.", {"type": "object"},
                                              {"readOnlyHint": True})}
    found, _ = OfflineSynthesizer().candidates(Exploration("x", "d", [read], tools=tools))
    counted = {c.template for c in found if c.template.startswith("count-where")}
    assert counted == {"count-where:template:kind"}


def test_a_timing_the_probe_reports_is_no_mark_of_a_change():
    """ocr_pdf, then is_scanned_pdf: its "analysis_time" went from 0.0 to 0.01 and had become
    the label ({"analysis_time": 0.01}); how long a call took moves from run to run."""
    from firefly.synth.offline import _difference

    before = {"kind": "scanned", "analysis_time": 0.0, "pages": 2}
    assert _difference(before, {"kind": "scanned", "analysis_time": 0.01, "pages": 2}, "") is None
    assert _difference(before, {"kind": "text", "analysis_time": 0.01, "pages": 2}, "") == {"kind": "text"}


def test_a_change_in_a_json_document_written_as_text_is_said_as_json_not_as_a_line():
    """write_data_to_excel, then read_data_from_excel: its reply is {"result": "<JSON text>"}; the
    label had been the one line of that text that differed ('"value": 8,'), a check any text
    holding that line passes. Now it is the cell that changed, as JSON."""
    from firefly.match import matches
    from firefly.synth.offline import _difference

    def read(cells):
        return {"result": json.dumps({"sheet": "Sales", "cells": cells}, indent=2)}

    before = read([{"address": "A1", "value": 2}, {"address": "C1", "value": 5}])
    after = read([{"address": "A1", "value": 2}, {"address": "C1", "value": 8}])
    label = _difference(before, after, "")
    assert label == {"result": {"cells": [{"address": "C1", "value": 8}]}}
    assert matches({"rule": "json-subset"}, label, after)
    assert not matches({"rule": "json-subset"}, label, before)
    # the same line in another cell is no match, as it was when the label was the line
    assert not matches({"rule": "json-subset"}, label, read([{"address": "B1", "value": 8}]))
    # a text that is no JSON document is still told by its new line
    assert _difference("a\nb", "a\nb\nnew line", "") == "new line"


def test_the_record_a_probe_read_at_the_place_a_change_made_leaves_out_how_long_it_took():
    from firefly.synth.offline import _record_of

    info = {"path": "/w/out.png", "width": 2, "height": 5, "analysis_time": 0.02, "mean": 66.3}
    assert _record_of(info, "/w/out.png") == {"path": "/w/out.png", "width": 2, "height": 5, "mean": 66.3}
    assert _record_of({"images": [info]}, "/w/out.png") == {"images": [{"path": "/w/out.png", "width": 2, "height": 5,
                                                                          "mean": 66.3}]}
    assert _record_of({"path": "/w/out.png"}, "/w/out.png") is None  # nothing but the place: no record


def test_no_answer_is_a_token_a_change_of_the_task_made_up():
    """git_commit, then git_log: "what is the hash of the commit Add follow-up?" answers the hash
    of the commit the task's first step made, which a second run makes another. The hash of a
    commit the initial world held is asked."""
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import INITIAL_STATE, OfflineSynthesizer

    old = "5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb"
    new = "8b7851f10145ca27f876265341f6593db1a7ea0f"

    def log(*commits):
        return json.dumps({"commits": [{"hash": h, "message": m, "author": a} for h, m, a in commits]})

    before = Step(0, "git", "git_log", {"max_count": 3}, [{"type": "text", "text": log((old, "Release 0.2.0", "Dan"))}],
                  None, True, True, [], INITIAL_STATE, None, "l0")
    commit = Step(1, "git", "git_commit", {"message": "Add follow-up"}, [{"type": "text", "text": "[main 8b7851f] Add"}],
                  None, True, False, [], INITIAL_STATE, None, "c")
    after = Step(2, "git", "git_log", {"max_count": 3},
                 [{"type": "text", "text": log((new, "Add follow-up", "firefly"), (old, "Release 0.2.0", "Dan"))}],
                 None, True, True, [], "s1", 1, "l1")
    found, skipped = OfflineSynthesizer().candidates(Exploration("x", "d", [before, commit, after]))
    answers = [json.dumps(c.answer) for c in found]
    assert not [a for a in answers if new in a] and skipped["answer a change of the run made up"] >= 1
    assert [a for a in answers if old in a]  # the world's own commit is asked about


def test_a_hash_a_tool_computes_after_another_computation_is_asked():
    """hash after base64 on a calculator server: no change made the hash up, it is computed
    from its input and comes out alike on any run."""
    from firefly.explore.policy import ToolRef
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import INITIAL_STATE, OfflineSynthesizer

    digest = "365578823b8fdd15238d9a4e588dfbdd"
    enc = Step(0, "calc", "base64", {"text": "harbor"}, [{"type": "text", "text": "aGFyYm9y"}], None, True, False, [],
               INITIAL_STATE, None, "b")
    hashed = Step(1, "calc", "hash", {"text": "harbor coffee", "algorithm": "md5"},
                  [{"type": "text", "text": json.dumps({"hash": digest})}], None, True, False, [], "s1", None, "h")
    tools = {("calc", n): ToolRef("calc", n, d, {"type": "object"}) for n, d in
             (("base64", "Encode or decode base64."), ("hash", "Compute a hash of a text."))}
    found, skipped = OfflineSynthesizer().candidates(Exploration("x", "d", [enc, hashed], tools=tools))
    assert [c for c in found if c.answer == digest] and not skipped["answer a change of the run made up"]
