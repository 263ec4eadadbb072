"""``firefly eval`` against an endpoint that is down: the episodes it could not serve are
aborted, not scored; the evaluation stops early with one clear line and a non-zero exit; when
the endpoint is back, the same command plays exactly those episodes. Against the scripted
OpenAI-compatible server (tests/openai_stub.py) and a closed loopback port."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.evaluation import EndpointDown, EvalSettings, OpenAIAgent, eval_report, evaluate
from firefly.llm import LLMCallError, LLMConfig

from .conftest import projection_dumps
from .eval_fixtures import TASKS, tasks_world
from .openai_stub import AgentLoop, ScriptedOpenAI

runner = CliRunner()
TEST_TASKS = sorted(t for t, spec in TASKS.items() if spec[-1] == "test" and t != "t-unverified")


@pytest.fixture
def db(store, db_path):
    tasks_world(store)
    return db_path


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(question: str, results: list[str]) -> str:
    return "an answer"


def agent_for(base_url: str, model: str = "m") -> OpenAIAgent:
    return OpenAIAgent(LLMConfig(base_url=base_url, model=model, max_retries=0))


def counts(store, eval_id: str) -> tuple[int, int]:
    store.catch_up()
    episodes = store.conn.execute("SELECT count(*) FROM episodes WHERE eval_id = ?", (eval_id,)).fetchone()[0]
    aborts = store.conn.execute("SELECT count(*) FROM episode_aborts WHERE eval_id = ?", (eval_id,)).fetchone()[0]
    return episodes, aborts


@pytest.mark.parametrize("error_class, status, down", [
    ("connection-error", None, True), ("timeout", None, True), ("http-error", 500, True), ("http-error", 503, True),
    ("http-error", 401, True), ("http-error", 403, True), ("http-error", 404, True), ("http-error", 429, True),
    ("http-error", 400, False), ("http-error", 422, False), ("malformed-reply", None, False),
])
def test_which_failures_mean_the_endpoint_is_down(error_class, status, down):
    assert LLMCallError(error_class, "x", status).endpoint_down is down


def test_the_cli_stops_on_a_closed_port_and_the_same_command_retries_when_it_is_back(db, store):
    port = closed_port()
    command = ["eval", "--db", str(db), "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "m",
               "--concurrency", "1"]
    down = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert down.exit_code == 1, down.output
    text = " ".join(down.output.split())  # the console may wrap the line
    assert text.count("Error:") == 1 and "endpoint is down" in text and "Run the same command again" in text
    assert "3 episode(s) failed" in text and "0 of 5 episodes are scored" in text
    assert "Traceback" not in down.output and "pass@1" not in down.output
    eval_id = store.conn.execute("SELECT eval_id FROM evals").fetchone()[0]
    # stopped after 3 failures in a row, not one failure per task; nothing scored
    assert counts(store, eval_id) == (0, 3)
    assert eval_report(store, eval_id).not_scored == 3
    classes = {r[0] for r in store.conn.execute("SELECT error_class FROM episode_aborts")}
    assert classes == {"connection-error"}
    # the endpoint comes back on the same address: the same command plays every episode
    with ScriptedOpenAI(AgentLoop(lambda q, tools: [], answers), port=port) as srv:
        back = runner.invoke(app, command, env={"COLUMNS": "200"})
    assert back.exit_code == 0, back.output
    assert len([r for r in srv.requests if r["path"] == "/v1/chat/completions"]) == len(TEST_TASKS)
    assert counts(store, eval_id) == (len(TEST_TASKS), 3)
    report = eval_report(store, eval_id)
    assert report.not_scored == 0 and report.episodes == len(TEST_TASKS) and report.outcomes == {"answered": len(TEST_TASKS)}
    assert "not scored" not in back.output
    # a third run has nothing to do
    with ScriptedOpenAI([], port=port) as srv:
        again = runner.invoke(app, command)
    assert again.exit_code == 0 and not srv.requests
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before


def test_server_errors_in_a_row_stop_the_evaluation_and_are_not_scored(db, store):
    replies = iter(["an answer", 500, 503, 502, "never asked"])

    def script(path, body):
        return next(replies)

    with ScriptedOpenAI(script) as srv:
        agent = agent_for(srv.base_url)
        with pytest.raises(EndpointDown, match="endpoint is down .*HTTP 502.*1 of 5 episodes are scored") as err:
            evaluate(store, agent, EvalSettings(split="test"), concurrency=1)
    assert len(srv.requests) == 4  # the fifth task was not played
    eval_id = err.value.eval_id
    assert counts(store, eval_id) == (1, 3)
    report = eval_report(store, eval_id)
    assert report.episodes == 1 and report.not_scored == 3 and report.row("overall").tasks == 1
    statuses = [r[0] for r in store.conn.execute("SELECT status FROM episode_aborts ORDER BY position")]
    assert statuses == [500, 503, 502]


def test_a_failure_between_good_episodes_is_retried_and_pass_at_k_waits_for_it(db, store):
    # the credentials are refused once, in the middle: no stop, the episode is not scored,
    # pass@k leaves out the task that lacks a sample, and the next run plays only that one
    replies = iter(["buy milk", 401, "buy milk", "buy milk"])
    port = closed_port()
    settings = EvalSettings(split="test", samples=2, limit=2)
    with ScriptedOpenAI(lambda path, body: next(replies), port=port) as srv:
        eval_id = evaluate(store, agent_for(srv.base_url), settings, concurrency=1)
    assert counts(store, eval_id) == (3, 1)
    report = eval_report(store, eval_id)
    assert report.not_scored == 1
    # t-change (sample 1 aborted) is left out of pass@2; t-exact has both samples right.
    # Counted as a failure, the abort would have brought pass@2 down to 0.5
    overall = report.row("overall")
    assert (overall.tasks, overall.episodes, overall.pass_at_k) == (2, 3, 1.0)
    task_id, _ = store.conn.execute("SELECT task_id, sample FROM episode_aborts").fetchone()
    with ScriptedOpenAI(["buy milk"], port=port) as srv:
        assert evaluate(store, agent_for(srv.base_url), settings, concurrency=1) == eval_id
    assert len(srv.requests) == 1 and srv.requests[0]["json"]["messages"][1]["content"] == TASKS[task_id][2]
    assert counts(store, eval_id) == (4, 1)
    report = eval_report(store, eval_id)
    assert report.not_scored == 0 and report.row("overall").episodes == 4
    assert report.row("overall").pass_at_k == pytest.approx(0.5)  # t-change answered wrong twice


def test_the_cli_says_when_episodes_were_left_unscored(db, store):
    hops = TASKS["t-hops"][2]

    def script(path, body):  # one task's requests always fail (the client's retries too)
        return 500 if body["messages"][1]["content"] == hops else "x"

    with ScriptedOpenAI(script) as srv:
        result = runner.invoke(app, ["eval", "--db", str(db), "--base-url", srv.base_url, "--model", "m",
                                     "--concurrency", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "4 episodes" in result.output and "1 not scored" in result.output and "pass@1" in result.output
    assert "Error: 1 episode(s) not scored" in " ".join(result.output.split())
