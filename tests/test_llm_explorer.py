"""The LLM explorer: a scripted OpenAI-compatible endpoint plays a real loop against real servers.

The script reads the tool results the explorer sends back (real results of the toy server
over stdio, or of the bundled git server) and decides the next call from them, as a model would.
"""

from __future__ import annotations

import json
import re
import sys
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.llm_explorer import LLMPolicy, function_names
from firefly.explore.stage import explore
from firefly.llm import LLM, LLMConfig
from firefly.registry import load_registry, parse_registry, register
from firefly.resources import bundled_registry

from .conftest import SERVERS, projection_dumps
from .openai_stub import ScriptedOpenAI


def add_dags(store, dags):
    for i, tools in enumerate(dags):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    store.catch_up()


@pytest.fixture
def toy_store(store):
    register(store, parse_registry(json.dumps({"mcpServers": {
        "toy": {"command": sys.executable, "args": [str(SERVERS / "toy.py"), "${FIREFLY_WORKSPACE}"]}}})), source="t")
    discover(store, connect_timeout=20)
    return store


def policy(srv, **kw):
    return LLMPolicy(LLM(LLMConfig(base_url=srv.base_url, model="stub-model", max_retries=0, timeout=20)), **kw)


def last_tool_text(body):
    msgs = [m for m in body["messages"] if m["role"] == "tool"]
    return msgs[-1]["content"] if msgs else None


def notes_loop(path, body):
    """List the notes, read the one the listing names, then say what was found."""
    text = last_tool_text(body)
    if text is None:
        return {"content": None, "tool_calls": [{"name": "toy__list_notes", "arguments": {}}]}
    m = re.search(r"notes: (\w+)", text)
    if m:
        return {"tool_calls": [{"name": "toy__read_note", "arguments": {"title": m.group(1)}}]}
    return f"The note says: {text}"


def test_llm_explorer_plays_a_real_loop_and_records_everything(toy_store):
    store = toy_store
    add_dags(store, [[("toy", "list_notes"), ("toy", "read_note")]])
    with ScriptedOpenAI(notes_loop) as srv:
        report = explore(store, policy(srv), concurrency=1, connect_timeout=20)
        first = srv.requests[0]["json"]
    assert (report.finished, report.failed, report.calls, report.successes, report.chained_explorations) == (1, 0, 2, 2, 1)
    # the DAG's tools offered as functions with their real schemas
    offered = {f["function"]["name"]: f["function"]["parameters"] for f in first["tools"]}
    schema = json.loads(store.conn.execute("SELECT input_schema FROM tools WHERE name = 'read_note'").fetchone()[0])
    assert offered == {"toy__list_notes": {"type": "object", "properties": {}}, "toy__read_note": schema}
    rows = store.conn.execute("SELECT step, tool, arguments, sources, ok, result_text FROM calls ORDER BY step").fetchall()
    assert [(r[0], r[1], r[4]) for r in rows] == [(0, "list_notes", 1), (1, "read_note", 1)]
    assert json.loads(rows[1][2]) == {"title": "groceries"} and rows[1][5] == "eggs, milk"
    source = json.loads(rows[1][3])[0]  # the title came from the listing
    assert (source["argument"], source["step"], source["value"]) == ("/title", 0, "groceries")
    assert store.count("llm-replied") == 3
    xp = store.conn.execute("SELECT policy, status FROM explorations").fetchone()
    assert xp == ("llm:stub-model", "finished")
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before


def test_interrupted_llm_exploration_resumes_from_recorded_replies(toy_store, monkeypatch):
    store = toy_store
    add_dags(store, [[("toy", "list_notes"), ("toy", "read_note")]])
    real = LLMPolicy.one_call
    made = []

    async def interrupt_second(self, walk, offered, name, raw, info, prompt_text):
        made.append(name)
        if len(made) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the model's second call is being made
        return await real(self, walk, offered, name, raw, info, prompt_text)

    monkeypatch.setattr(LLMPolicy, "one_call", interrupt_second)
    with ScriptedOpenAI(notes_loop) as srv, pytest.raises(BaseException):
        explore(store, policy(srv), concurrency=1, connect_timeout=20)
    monkeypatch.setattr(LLMPolicy, "one_call", real)
    store.catch_up()
    assert store.count("llm-replied") == 2 and store.count("tool-called") == 1
    with ScriptedOpenAI(notes_loop) as srv:
        report = explore(store, policy(srv), concurrency=1, connect_timeout=20)
        posted = [r for r in srv.requests if r["path"] == "/v1/chat/completions"]
    assert len(posted) == 1  # the two recorded replies were reused, only the last turn was asked
    assert (report.finished, report.calls, report.successes) == (1, 2, 2)
    assert store.count("llm-replied") == 3 and store.count("tool-called") == 2


def test_malformed_tool_calls_are_recorded_and_the_exploration_goes_on(toy_store):
    store = toy_store
    add_dags(store, [[("toy", "list_notes"), ("toy", "read_note")], [("toy", "list_notes")]])
    script = iter([
        {"tool_calls": [{"name": "toy__read_note", "arguments": '{"title": "groceries"'}]},   # bad JSON
        {"tool_calls": [{"name": "toy__no_such_tool", "arguments": {}}]},                      # unknown tool
        {"tool_calls": [{"name": "toy__read_note", "arguments": "[1, 2]"}]},                   # not an object
        {"tool_calls": [{"name": "toy__read_note", "arguments": {"title": "groceries"}}]},
        "Done: the note says eggs, milk.",
    ])
    seen = []

    def replies(path, body):
        seen.append(last_tool_text(body))
        if len(seen) > 5:  # the second DAG: the model gives up at once
            return "Nothing to do."
        return next(script)

    with ScriptedOpenAI(replies) as srv:
        report = explore(store, policy(srv), concurrency=1, connect_timeout=20)
    assert (report.finished, report.failed) == (2, 0)
    rows = store.conn.execute(
        "SELECT step, server, tool, error_class, error, arguments FROM calls WHERE error_class IS NOT NULL ORDER BY step"
    ).fetchall()
    assert [(r[0], r[3]) for r in rows] == [(0, "malformed-call"), (1, "malformed-call"), (2, "malformed-call")]
    assert "not valid JSON" in rows[0][4] and json.loads(rows[0][5]) == {"_raw": '{"title": "groceries"'}
    assert rows[1][1:3] == ("", "toy__no_such_tool") and "unknown tool 'toy__no_such_tool'" in rows[1][4]
    assert "JSON object" in rows[2][4]
    # the model was told each time, and its valid call then went through
    assert "not valid JSON" in seen[1] and "unknown tool" in seen[2] and "JSON object" in seen[3] and seen[4] == "eggs, milk"
    ok = store.conn.execute("SELECT exploration_id, calls, successes, errors FROM explorations ORDER BY dag_id").fetchall()
    assert ok[0][1:] == (1, 1, 0)  # malformed calls are recorded but are not calls of a tool
    assert ok[1][1:] == (0, 0, 0)


def test_turns_are_bounded_and_a_failing_endpoint_fails_only_its_exploration(toy_store):
    store = toy_store
    add_dags(store, [[("toy", "list_notes")], [("toy", "read_note")]])

    def replies(path, body):
        names = {f["function"]["name"] for f in body["tools"]}
        if "toy__read_note" in names:
            return 500  # this exploration's endpoint fails
        return {"tool_calls": [{"name": "toy__list_notes", "arguments": {}}]}  # never stops by itself

    with ScriptedOpenAI(replies) as srv:
        report = explore(store, policy(srv, max_turns=3), concurrency=1, connect_timeout=20)
    assert (report.finished, report.failed) == (1, 1)
    rows = dict(store.conn.execute("SELECT dag_id, calls FROM explorations WHERE status = 'finished'"))
    assert rows == {"d0": 3}
    reason = store.conn.execute("SELECT reason FROM explorations WHERE status = 'failed'").fetchone()[0]
    assert "endpoint failed" in reason and "500" in reason


def test_cli_llm_policy(toy_store, db_path):
    store = toy_store
    add_dags(store, [[("toy", "list_notes"), ("toy", "read_note")]])
    runner = CliRunner()
    missing = runner.invoke(app, ["explore", "--policy", "llm", "--db", str(db_path)])
    assert missing.exit_code != 0 and "FIREFLY_LLM_BASE_URL" in missing.output
    with ScriptedOpenAI(notes_loop) as srv:
        result = runner.invoke(app, ["explore", "--policy", "llm", "--llm-base-url", srv.base_url,
                                     "--llm-model", "stub-model", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "explored 1 DAG(s) (0 failed): 2 calls, 100% succeeded" in result.output


def test_function_names_are_valid():
    from firefly.explore.policy import ToolRef

    def function_name(tool):
        return function_names([tool]).name(tool.server, tool.name)

    assert function_name(ToolRef("my server", "do.it/now", None, {})) == "my_server__do_it_now"
    assert len(function_name(ToolRef("s" * 50, "t" * 50, None, {}))) == 64
    # tools whose names collide are all offered, each under its own name
    same = [ToolRef("shop", name, None, {}) for name in ("get item", "get.item", "get_item")]
    functions, offered = LLMPolicy(SimpleNamespace(config=SimpleNamespace(model="m"))).functions(same)
    names = [f["function"]["name"] for f in functions]
    assert len(set(names)) == 3 and "shop__get_item" in names
    assert {(offered[n].server, offered[n].name) for n in names} == {("shop", t.name) for t in same}
    assert offered["shop__get_item"].name == "get_item"


@pytest.mark.real_servers
def test_llm_explorer_against_the_real_git_server(store):
    registry = load_registry(bundled_registry())
    register(store, [s for s in registry if s.name == "git"], source="bundled")
    discover(store, connect_timeout=300, call_timeout=60)
    add_dags(store, [[("git", "git_log"), ("git", "git_show")]])

    def loop(path, body):
        text = last_tool_text(body)
        if text is None:
            return {"tool_calls": [{"name": "git__git_log", "arguments": {"repo_path": "/workspace/repo", "max_count": 2}}]}
        m = re.search(r"Commit: ([0-9a-f]{40})", text)
        if m and sum(m_["role"] == "tool" for m_ in body["messages"]) == 1:
            return {"tool_calls": [{"name": "git__git_show", "arguments": {"repo_path": "/workspace/repo", "revision": m.group(1)}}]}
        return "Shown the newest commit."

    with ScriptedOpenAI(loop) as srv:
        report = explore(store, policy(srv), concurrency=1, connect_timeout=300)
    assert (report.finished, report.calls, report.successes, report.chained_explorations) == (1, 2, 2, 1)
    show = store.conn.execute("SELECT arguments, sources, result_text FROM calls WHERE tool = 'git_show'").fetchone()
    revision = json.loads(show[0])["revision"]
    assert json.loads(show[1])[0]["value"] == revision and revision in show[2]
