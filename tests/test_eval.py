"""``firefly eval`` and ``firefly export`` end to end: a scripted OpenAI-compatible agent on
loopback playing a real loop against the simulator, the oracle and null baselines, recorded
episodes, pass@k reports, and every export line loaded back and checked."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.evaluation import EvalSettings, OpenAIAgent, eval_report, evaluate
from firefly.export import decoded, line_problems
from firefly.llm import LLMConfig

from .conftest import projection_dumps
from firefly.events import TaskSynthesized, TaskVerdict

from .eval_fixtures import TASKS, TODO, tasks_world
from .sim_fixtures import notes_world
from .openai_stub import AgentLoop, ScriptedOpenAI

runner = CliRunner()

# what the scripted agent calls for each question: the reference calls, as a model would
PLANS = {
    TASKS["t-exact"][2]: [("notes__read_note", {"path": TODO})],
    TASKS["t-number"][2]: [("calc__add", {"a": 10, "b": 20.5})],
    TASKS["t-subset"][2]: [("calc__add", {"a": 1, "b": 2})],   # answers the text "3": not the object
    TASKS["t-hops"][2]: [("notes__list_notes", {}), ("notes__read_note", {"path": "/workspace/notes/ideas.md"})],
    TASKS["t-change"][2]: [("notes__write_note", {"path": TODO, "text": "buy eggs"})],
}


def reads_results(question: str, results: list[str]) -> str:
    """The agent's answer: what the last tool returned (a state change is confirmed)."""
    return "Done." if question.startswith("Replace") else results[-1]


def invoke(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result


@pytest.fixture
def db(store, db_path):
    tasks_world(store)
    return db_path


def test_eval_runs_a_scripted_agent_loop_end_to_end(db, store):
    with ScriptedOpenAI(AgentLoop(lambda q, tools: PLANS[q], reads_results)) as srv:
        result = invoke("eval", "--db", str(db), "--base-url", srv.base_url, "--model", "m1", "--split", "test",
                        "--concurrency", "2")
        assert result.exit_code == 0, result.output
    # the agent saw the tool results: each follow-up request carries the previous result
    bodies = [r["json"] for r in srv.requests if r["path"] == "/v1/chat/completions"]
    assert len(bodies) == 2 + 2 + 3 + 2 + 2  # exact, number, hops, subset, change: calls + the answer
    assert all(b["model"] == "m1" and b["tools"] for b in bodies)
    hops = [b for b in bodies if b["messages"][1]["content"] == TASKS["t-hops"][2]]
    assert [len(b["messages"]) for b in hops] == [2, 4, 6]
    assert hops[2]["messages"][-1] == {"role": "tool", "tool_call_id": hops[2]["messages"][-2]["tool_calls"][0]["id"],
                                       "content": "fly"}
    store.catch_up()
    rows = store.conn.execute("SELECT task_id, reward, outcome, turns, calls, answer FROM episodes ORDER BY task_id").fetchall()
    assert rows == [
        ("t-change", 1.0, "answered", 2, 1, "Done."),
        ("t-exact", 1.0, "answered", 2, 1, "buy milk"),
        ("t-hops", 1.0, "answered", 3, 2, "fly"),
        ("t-number", 1.0, "answered", 2, 1, "30.5"),
        ("t-subset", 0.0, "answered", 2, 1, "3"),
    ]
    tokens = store.conn.execute("SELECT min(prompt_tokens), min(completion_tokens), min(latency_ms) FROM episodes").fetchone()
    assert tokens[0] > 0 and tokens[1] > 0 and tokens[2] > 0
    eval_id = store.conn.execute("SELECT eval_id FROM evals").fetchone()[0]
    report = eval_report(store, eval_id)
    assert report.pass_at_1 == pytest.approx(0.8)
    assert report.row("kind", "lookup").pass_at_1 == pytest.approx(2 / 3)
    assert report.row("kind", "multi-hop").pass_at_1 == 1.0
    assert report.row("server", "calc").pass_at_1 == pytest.approx(0.5)
    assert report.row("server", "notes").pass_at_1 == 1.0
    assert report.row("hops", "2").tasks == 1
    assert re.search(r"overall\s+│\s+all\s+│\s+5\s+│\s+5\s+│\s+0\.800", result.output)
    # running it again continues: nothing is missing, nothing is asked
    with ScriptedOpenAI([]) as srv2:
        again = invoke("eval", "--db", str(db), "--base-url", srv.base_url, "--model", "m1", "--split", "test")
        assert again.exit_code == 0 and not srv2.requests
    store.catch_up()
    assert store.count("episode-recorded") == 5
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before


def test_malformed_calls_from_the_model_and_a_model_that_never_answers(db, store):
    bad_then_good = [("notes__nope", {}), ("notes__read_note", '{"path": '), ("notes__read_note", "[1]"),
                     ("notes__read_note", {"path": TODO})]

    def plan(question, tools):
        if question == TASKS["t-exact"][2]:
            return bad_then_good
        return None  # calls forever

    with ScriptedOpenAI(AgentLoop(plan, lambda q, results: results[-1])) as srv:
        agent = OpenAIAgent(LLMConfig(base_url=srv.base_url, model="m2", max_retries=0))
        eval_id = evaluate(store, agent, EvalSettings(split="test", max_turns=6), concurrency=3)
    episodes = {r[0]: r[1:] for r in store.conn.execute(
        "SELECT task_id, reward, outcome, turns, bad_calls, tool_errors, messages FROM episodes WHERE eval_id = ?", (eval_id,))}
    reward, outcome, turns, bad, errors, messages = episodes["t-exact"]
    assert (reward, outcome, turns, bad, errors) == (1.0, "answered", 5, 3, 3)
    tool_texts = [m["content"] for m in json.loads(messages) if m["role"] == "tool"]
    assert "unknown tool" in tool_texts[0] and "not valid JSON" in tool_texts[1] and "JSON object" in tool_texts[2]
    assert tool_texts[3] == "buy milk"
    for task_id in ("t-number", "t-hops", "t-change", "t-subset"):
        assert episodes[task_id][:3] == (0.0, "max-turns", 6), task_id
    assert eval_report(store, eval_id).outcomes == {"answered": 1, "max-turns": 4}


def test_a_request_the_endpoint_rejects_is_a_scored_llm_error_episode(db, store):
    # HTTP 400 (a conversation too long ...) and a reply that is not a completion are this
    # episode's failures, not the endpoint's: scored 0, not played again
    with ScriptedOpenAI([400, {"raw": {"choices": "no"}}]) as srv:
        agent = OpenAIAgent(LLMConfig(base_url=srv.base_url, model="m3", max_retries=0))
        eval_id = evaluate(store, agent, EvalSettings(split="test", limit=2), concurrency=1)
    rows = store.conn.execute("SELECT reward, outcome, error FROM episodes WHERE eval_id = ? ORDER BY position",
                              (eval_id,)).fetchall()
    assert [r[:2] for r in rows] == [(0.0, "llm-error")] * 2
    assert "HTTP 400" in rows[0][2] and "not a chat completion" in rows[1][2]
    assert eval_report(store, eval_id).not_scored == 0


def test_samples_give_pass_at_k(db, store):
    calls = {"n": 0}

    def flaky(question, results):  # right on every other episode
        calls["n"] += 1
        return "buy milk" if calls["n"] % 2 else "buy bread"

    with ScriptedOpenAI(AgentLoop(lambda q, tools: [], flaky)) as srv:
        agent = OpenAIAgent(LLMConfig(base_url=srv.base_url, model="m4", max_retries=0), params={"temperature": 1.0})
        # the first train task (t-normalized, "buy milk"), 4 times
        eval_id = evaluate(store, agent, EvalSettings(split="train", samples=4, max_turns=2, limit=1), concurrency=1)
    report = eval_report(store, eval_id)
    overall = report.row("overall")
    assert (overall.tasks, overall.episodes) == (1, 4)
    assert overall.pass_at_1 == pytest.approx(0.5) and overall.pass_at_k == 1.0
    assert srv.requests[0]["json"]["temperature"] == 1.0


def test_eval_max_tokens_bounds_every_turn_of_the_agent(db, store):
    with ScriptedOpenAI(AgentLoop(lambda q, tools: PLANS[q], reads_results)) as srv:
        result = invoke("eval", "--db", str(db), "--base-url", srv.base_url, "--model", "m5", "--split", "test",
                        "--limit", "1", "--max-tokens", "77")
        assert result.exit_code == 0, result.output
    bodies = [r["json"] for r in srv.requests if r["path"] == "/v1/chat/completions"]
    assert bodies and {b["max_tokens"] for b in bodies} == {77}


def test_oracle_and_null_baselines_from_the_cli(db, store):
    result = invoke("eval", "--db", str(db), "--agent", "oracle", "--split", "all")
    assert result.exit_code == 0, result.output
    result = invoke("eval", "--db", str(db), "--agent", "null", "--split", "all")
    assert result.exit_code == 0, result.output
    store.catch_up()
    by_agent = dict(store.conn.execute("SELECT agent, solved * 1.0 / episodes FROM evals"))
    assert by_agent == {"oracle": 1.0, "null": 0.0}
    status = runner.invoke(app, ["status", "--db", str(db)], env={"COLUMNS": "200"}).output
    assert "evaluations" in status and "oracle on all" in status and "7 of 7 episodes solved (1.000)" in status
    assert store.conn.execute("SELECT episodes FROM evals WHERE agent = 'oracle'").fetchone()[0] == len(TASKS) - 1
    missing = invoke("eval", "--db", str(db))
    assert missing.exit_code == 1 and "--base-url" in missing.output and "Traceback" not in missing.output


def test_eval_without_tasks_is_one_clear_line(store):
    result = invoke("eval", "--db", str(store.path), "--agent", "oracle")
    assert result.exit_code == 1 and "no verified tasks" in result.output


def test_eval_on_an_empty_split_says_what_to_do(store):
    notes_world(store)
    events = []
    for task_id in ("t-exact", "t-number"):
        kind, xid, question, answer, match, trajectory, probe, hops, _ = TASKS[task_id]
        events.append(TaskSynthesized(task_id=task_id, exploration_id=xid, dag_id="d-one", kind=kind, question=question,
                                      answer=answer, match=match, trajectory=trajectory, probe=probe, calls=1, servers=1,
                                      hops=hops, synthesizer="test", template="test"))
        events.append(TaskVerdict(task_id=task_id, verifier="replayable", passed=True))
    store.append_many(events)
    store.catch_up()
    def said(*args: str) -> tuple[int, str]:
        result = invoke(*args, "--db", str(store.path))
        return result.exit_code, " ".join(result.output.split())  # the terminal's line breaks aside

    code, out = said("eval", "--agent", "oracle")
    assert code == 1 and "(2 verified: 2 unassigned): run firefly split" in out and "Traceback" not in out
    code, out = said("split")  # one DAG: every task on one side, and it says why
    assert code == 0 and "only one DAG has verified tasks" in out, out
    store.catch_up()
    (summary,) = store.conn.execute("SELECT summary FROM runs WHERE command = 'split'").fetchone()
    assert "only one DAG has verified tasks" in json.loads(summary)["note"]  # the reason is in the log too
    code, out = said("eval", "--agent", "oracle")
    assert code == 1 and "the 'test' split has no tasks (2 verified: 2 train); they all come from one DAG" in out
    assert "--split train" in out and "eval ━" not in out  # no progress bar before the error
    assert invoke("eval", "--db", str(store.path), "--agent", "oracle", "--split", "train").exit_code == 0


def test_export_writes_a_checked_line_for_every_task(db, tmp_path):
    out = tmp_path / "out"
    result = invoke("export", "--db", str(db), "--out", str(out), "--split", "all")
    assert result.exit_code == 0, result.output
    verified = [t for t in TASKS if t != "t-unverified"]
    chat = [json.loads(line) for line in (out / "all-chat.jsonl").read_text().splitlines()]
    raw = [json.loads(line) for line in (out / "all-rl.jsonl").read_text().splitlines()]
    assert all(line_problems("rl", line) == [] for line in raw)
    rl = [decoded(line) for line in raw]
    assert len(chat) == len(rl) == len(verified)
    for line in chat:
        assert line_problems("chat", line) == []
        assert set(line) == {"messages", "tools"}
    assert sorted(line["task_id"] for line in rl) == sorted(verified)
    # the chat line of the multi-hop task is its reference trajectory with the real results
    hops = next(c for c in chat if c["messages"][1]["content"] == TASKS["t-hops"][2])
    assert [m["role"] for m in hops["messages"]] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert [m["content"] for m in hops["messages"] if m["role"] == "tool"] == ["todo.md\nideas.md", "fly"]
    assert hops["messages"][-1] == {"role": "assistant", "content": "fly"}
    assert "content" not in hops["messages"][2]
    change = next(r for r in rl if r["task_id"] == "t-change")
    assert change["probe"]["tool"] == "read_note" and change["label"] == "buy eggs" and change["match"] == {"rule": "normalized"}
    number = next(r for r in rl if r["task_id"] == "t-number")
    assert number["label"] == 30.5 and number["servers"] == ["calc"] and number["prompt"][1]["content"] == TASKS["t-number"][2]
    # the train split by default; only chat
    result = invoke("export", "--db", str(db), "--out", str(out), "--no-rl")
    assert result.exit_code == 0 and not (out / "train-rl.jsonl").exists()
    assert len((out / "train-chat.jsonl").read_text().splitlines()) == 2
