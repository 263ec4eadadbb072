"""Answers with named fields (scored field by field) and derivation labels (a model proposes,
firefly evaluates): firefly.synth.answers, firefly.synth.derivation, the LLM synthesizer."""

from __future__ import annotations

import json

import pytest

from firefly.env import FireflyEnv
from firefly.export import decoded, export, line_problems
from firefly.llm import LLM, LLMConfig
from firefly.match import MatchRuleError, field_scores, matches, score
from firefly.synth import synthesize
from firefly.synth.derivation import DerivationError, evaluate
from firefly.synth.derive import record_of
from firefly.synth.offline import OfflineSynthesizer
from firefly.synth.model import load_exploration, load_task
from firefly.synth.verify import check_grounded, verify

from .openai_stub import ScriptedOpenAI
from .synth_fixtures import GRAPH, Walk, as_text, discover, shop_world, text

RULES = {"author": {"rule": "normalized"}, "stock": {"rule": "number", "tolerance": 1e-6}}
LABEL = {"author": "Maya Okafor", "stock": 58}


# ------------------------------------------------------------------------------- the fields rule


@pytest.mark.parametrize(("got", "share", "all_"), [
    ({"author": "maya okafor", "stock": "58"}, 1.0, 1.0),
    ('Here you go:\n```json\n{"Author": "Maya Okafor", "stock": 57}\n```', 0.5, 0.0),
    ('{"stock": 58}', 0.5, 0.0),
    ("Maya Okafor, 58", 0.0, 0.0),  # not an object: every field missing
])
def test_fields_are_scored_one_by_one_share_or_all(got, share, all_):
    assert score({"rule": "fields", "fields": RULES}, LABEL, got) == share
    assert score({"rule": "fields", "fields": RULES, "reward": "all"}, LABEL, got) == all_
    assert matches({"rule": "fields", "fields": RULES}, LABEL, got) == (share == 1.0)


def test_a_fields_rule_that_names_a_missing_field_is_a_clear_error():
    with pytest.raises(MatchRuleError, match="does not have"):
        field_scores({"rule": "fields", "fields": {"x": {"rule": "exact"}}}, LABEL, "{}")
    with pytest.raises(MatchRuleError, match="reward"):
        score({"rule": "fields", "fields": RULES, "reward": "most"}, LABEL, "{}")


# ------------------------------------------------------------------------------- derivations


def _records():
    memo = record_of(0, "sqlite", "read_query", {}, text("Memo -- the reorder code QX-77 applies from May."), None)
    graph = record_of(1, "memory", "read_graph", {}, as_text(GRAPH), GRAPH)
    return {0: memo, 1: graph}


@pytest.mark.parametrize(("spec", "value"), [
    ({"step": 0, "quote": "QX-77"}, "QX-77"),
    ({"step": 1, "jmespath": "entities[?entityType=='person'].name"}, ["Maya Okafor", "Daniel Brandt"]),
    ({"op": "count", "of": {"step": 1, "jmespath": "entities"}}, 3),
    ({"op": "filter", "of": {"step": 1, "jmespath": "relations"}, "where": {"key": "relationType", "equals": "works_with"}},
     [GRAPH["relations"][0]]),
    ({"op": "sum", "of": {"step": 1, "jmespath": "entities[].length(observations)"}}, 6),
    ({"op": "max", "of": {"step": 1, "jmespath": "entities[].length(observations)"}}, 3),
    ({"op": "sort", "of": {"step": 1, "jmespath": "entities[].name"}}, ["Daniel Brandt", "Green Coast Importers", "Maya Okafor"]),
])
def test_derivations_evaluate_on_recorded_results(spec, value):
    assert evaluate(spec, _records()) == value


@pytest.mark.parametrize(("spec", "reason"), [
    ({"step": 0, "quote": "QX-78"}, "does not contain the quote"),
    ({"step": 5, "jmespath": "a"}, "step 5 is not a successful recorded call"),
    ({"step": 1, "jmespath": "entities[?"}, "does not parse"),
    ({"step": 1, "jmespath": "nothing.here"}, "yields nothing"),
    ({"op": "median", "of": {"step": 1, "jmespath": "entities"}}, "unknown operation"),
    ({"op": "sum", "of": {"step": 1, "jmespath": "entities[].name"}}, "needs a list of numbers"),
    ({"step": 1, "jmespath": "a", "quote": "b"}, "exactly one of"),
])
def test_a_derivation_that_cannot_be_evaluated_says_why(spec, reason):
    with pytest.raises(DerivationError, match=reason):
        evaluate(spec, _records())


# ------------------------------------------------------------------------------- offline tasks with fields


def _fields_tasks(store):
    return [r[0] for r in store.conn.execute(
        "SELECT task_id FROM tasks WHERE json_extract(match, '$.rule') = 'fields' ORDER BY task_id")]


def test_offline_tasks_with_fields_verify_and_are_scored_field_by_field(store, tmp_path):
    world = shop_world(store)
    synthesize(world, max_tasks=50)
    verify(world)
    ids = _fields_tasks(world)
    assert ids
    verified = {t for (t,) in world.conn.execute("SELECT task_id FROM tasks WHERE verified = 1")}
    assert set(ids) <= verified
    task = load_task(world.conn, ids[0])
    assert isinstance(task.answer, dict) and len(task.answer) >= 2
    assert set(task.answer_schema["properties"]) == set(task.answer) == set(task.match["fields"])
    assert all(p["x-match"] == task.match["fields"][k] for k, p in task.answer_schema["properties"].items())
    assert {p["field"] for p in task.provenance if "field" in p} == set(task.answer)
    assert all(f'"{k}"' in task.question for k in task.answer)  # the question says the keys to use
    # one field's provenance no longer where it was recorded: grounded says which
    bad = dict(task.provenance[0], value="something else")
    from dataclasses import replace
    ok, reasons = check_grounded(replace(task, provenance=[bad] + task.provenance[1:]), load_exploration(world, task.exploration_id))
    assert not ok and "something else" in reasons[0]

    # the environment: the observation carries the schema, the reward is the share of fields right
    env = FireflyEnv(world.path)
    obs = env.reset(task.task_id)
    assert obs["answer_schema"] == task.answer_schema
    names = list(task.answer)
    half = dict(task.answer, **{names[0]: "certainly wrong"})
    out = env.step(final_answer=json.dumps(half))
    assert out.done and out.reward == pytest.approx((len(names) - 1) / len(names))
    env.reset(task.task_id)
    assert env.step(final_answer=json.dumps(task.answer)).reward == 1.0
    strict = FireflyEnv(world.path, field_reward="all")  # all-or-nothing, whatever the task says
    strict.reset(task.task_id)
    assert strict.step(final_answer=json.dumps(half)).reward == 0.0

    # the RL export carries the schema and the per-field rules
    path = tmp_path / "rl.jsonl"
    export(world.path, rl=path, split=None)
    lines = {json.loads(x)["task_id"]: json.loads(x) for x in path.read_text().splitlines()}
    line = lines[task.task_id]
    assert line_problems("rl", line) == []
    row = decoded(line)
    assert row["answer_schema"] == task.answer_schema and row["match"]["rule"] == "fields"
    assert score(row["match"], row["label"], json.dumps(half)) == pytest.approx((len(names) - 1) / len(names))
    plain = next(v for k, v in lines.items() if k not in ids)
    assert decoded(plain)["answer_schema"] is None


# ------------------------------------------------------------------------------- derivation labels by a model


def _llm(srv: ScriptedOpenAI) -> LLM:
    return LLM(LLMConfig(base_url=srv.base_url, model="writer", api_key="k", max_retries=0))


MEMO = "Memo -- the reorder code QX-77 applies from May; ask Priya before ordering."
QUERY = "SELECT note FROM notes"


def memo_world(store):
    discover(store)
    w = Walk(store, "xnote", "dnote", [("sqlite", "read_query"), ("memory", "read_graph")])
    w.call("sqlite", "read_query", {"query": QUERY}, text(MEMO))
    w.call("memory", "read_graph", {}, as_text(GRAPH), structured=GRAPH)
    w.finish()
    store.catch_up()
    return store


PROPOSALS = {"tasks": [
    {"question": "In the notes table of the shop database, which reorder code does the memo give?", "kind": "lookup",
     "fields": [{"name": "code", "value": "QX-77", "derivation": {"step": 0, "quote": "QX-77"}}]},
    {"question": "In the knowledge graph, how many entities are people, and which organization is listed?",
     "kind": "aggregate", "fields": [
         {"name": "people", "value": 2, "derivation": {"op": "count", "of": {"step": 1, "jmespath": "entities[?entityType=='person']"}}},
         {"name": "organization", "value": "green coast importers",
          "derivation": {"step": 1, "jmespath": "entities[?entityType=='organization'].name | [0]"}}]},
    {"question": "How many entities does the knowledge graph hold?", "kind": "aggregate",
     "fields": [{"name": "total", "value": 5, "derivation": {"op": "count", "of": {"step": 1, "jmespath": "entities"}}}]},
    {"question": "What does the memo say?", "fields": [{"name": "x", "value": "a", "derivation": {"step": 7, "quote": "a"}}]},
]}


def test_derivation_labels_are_evaluated_kept_refused_and_verified(store, tmp_path):
    world = memo_world(store)
    x = load_exploration(world, "xnote")
    offline, _ = OfflineSynthesizer().candidates(x)
    assert not any("QX-77" in json.dumps(c.answer) for c in offline)  # no reader understands the memo

    from firefly.synth.llm import LLMSynthesizer

    reply = "Here are the tasks:\n```json\n" + json.dumps(PROPOSALS) + "\n```\nHope this helps."
    with ScriptedOpenAI([reply]) as srv:
        report = synthesize(world, LLMSynthesizer(_llm(srv), max_tasks=4))
        prompt = srv.requests[0]["json"]["messages"][0]["content"]
    assert "jmespath" in prompt and "Example" in prompt
    assert report.tasks == 2 and report.failures == 1
    [error] = [m for (m,) in world.conn.execute("SELECT message FROM errors WHERE stage = 'synthesize'")]
    assert "2 of 4 proposed task(s) refused" in error
    assert "field 'total': the derivation yields 3, not the proposed 5" in error
    assert "step 7 is not a successful recorded call" in error

    verify(world)
    rows = {q: (tid, json.loads(a), v) for tid, q, a, v in world.conn.execute(
        "SELECT task_id, question, answer, verified FROM tasks")}
    code = next(v for q, v in rows.items() if "reorder code" in q)
    assert code[1] == "QX-77" and code[2] == 1  # a label no offline reader could make, verified
    graph = next(v for q, v in rows.items() if "people" in q)
    assert graph[1] == {"people": 2, "organization": "Green Coast Importers"}  # the evaluated value, not the model's
    assert graph[2] == 1
    task = load_task(world.conn, graph[0])
    assert task.answer_schema["properties"]["people"]["x-match"]["rule"] == "number"
    assert all("derive" in p for p in task.provenance)

    env = FireflyEnv(world.path)
    env.reset(task.task_id)
    assert env.step(final_answer='{"people": 2, "organization": "Acme"}').reward == 0.5

    # a recorded result that no longer gives the derivation's value fails verification
    from dataclasses import replace
    moved = [dict(p, derive={"step": 1, "jmespath": "entities[0].name"}) if p.get("field") == "organization" else p
             for p in task.provenance]
    ok, reasons = check_grounded(replace(task, provenance=moved), load_exploration(world, "xnote"))
    assert not ok and "Maya Okafor" in reasons[0]


def test_a_reply_without_json_is_a_recorded_failure_and_the_run_goes_on(store):
    world = memo_world(store)
    from firefly.synth.llm import LLMSynthesizer, parse_reply

    with pytest.raises(ValueError, match="fields must be a list"):
        parse_reply('{"tasks": [{"question": "q?", "fields": "x"}]}')
    with ScriptedOpenAI(["I cannot find any tasks here."]) as srv:
        report = synthesize(world, LLMSynthesizer(_llm(srv)))
    assert report.tasks == 0 and report.failures == 1
    [error] = [m for (m,) in world.conn.execute("SELECT message FROM errors WHERE stage = 'synthesize'")]
    assert "malformed reply" in error
