"""Tool names that collide (``get item``, ``get.item``, ``get_item``): one naming module gives
each its own valid name, and every consumer (the environment, the evaluation harness, the
exports, ``simulate serve``) maps each name back to its own tool."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client
from typer.testing import CliRunner

from firefly.cli import app
from firefly.env import FireflyEnv
from firefly.evaluation import EvalSettings, OpenAIAgent, OracleAgent, evaluate
from firefly.events import TaskSplit, TaskSynthesized, TaskVerdict, ToolCalled
from firefly.export import decoded, export, line_problems
from firefly.ids import content_hash
from firefly.llm import LLMConfig
from firefly.simulator import Simulator
from firefly.simulator.serve import build_server, tool_names as served_names
from firefly.toolnames import VALID_NAME, plain_name, tool_names

from .openai_stub import AgentLoop, ScriptedOpenAI
from .sim_fixtures import TOOLS, discover, notes_world

COLLIDING = {"get item": "apple", "get.item": "banana", "get_item": "cherry"}
SPEC = {"description": "Get an item by id.", "annotations": {"readOnlyHint": True},
        "input_schema": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}
QUESTION = "Get item 1 from each of the three item tools: what does the last say?"


# -- the naming module ----------------------------------------------------------------------


def test_plain_names_are_kept_when_nothing_collides():
    names = tool_names([("git", "git_log"), ("my server", "read.file"), ("calc", "add")])
    assert names.name("git", "git_log") == "git__git_log"
    assert names.name("my server", "read.file") == "my_server__read_file" == plain_name("my server", "read.file")
    assert names.target("my_server__read_file") == ("my server", "read.file")
    assert names.target("nope") is None
    long = plain_name("s" * 40, "t" * 40)
    assert len(long) == 64 and long != plain_name("s" * 40, "t" * 39 + "u")


def test_colliding_names_are_distinct_valid_deterministic_and_reversible():
    pairs = [("shop", name) for name in COLLIDING]
    names = tool_names(pairs)
    assert len(set(names.by_tool.values())) == 3
    assert all(VALID_NAME.match(n) for n in names.by_name)
    # the tool whose name needed no change keeps it; the others get a suffix of their own
    assert names.name("shop", "get_item") == "shop__get_item"
    assert names.name("shop", "get item").startswith("shop__get_item_")
    assert {names.target(names.name(*p)) for p in pairs} == set(pairs)
    # the same whatever the order, and a suffix does not depend on which other tools collide
    assert tool_names(reversed(pairs)) == names
    alone = tool_names([("shop", "get.item"), ("shop", "get_item")])
    assert alone.name("shop", "get.item") == names.name("shop", "get.item")
    # no exact name among the colliding ones: every one gets a suffix
    two = tool_names([("shop", "get item"), ("shop", "get.item")])
    assert "shop__get_item" not in two.by_name and len(two) == 2
    # '__' inside names: the way back is the map, never parsing
    odd = tool_names([("x", "a__b"), ("x__a", "b")])
    assert odd.name("x", "a__b") == "x__a__b" and odd.target(odd.name("x__a", "b")) == ("x__a", "b")
    # long colliding names stay within 64
    long = tool_names([("s" * 30, "t" * 40 + "."), ("s" * 30, "t" * 40 + " ")])
    assert len(long) == 2 and all(len(n) <= 64 and VALID_NAME.match(n) for n in long.by_name)
    # a tool already named like a suffixed name does not take another tool's name
    taken = names.name("shop", "get.item").split("__", 1)[1]
    more = tool_names([*pairs, ("shop", taken)])
    assert len(set(more.by_tool.values())) == 4 and more.name("shop", taken) == f"shop__{taken}"


# -- a recorded world with three colliding tools ---------------------------------------------


def shop_world(store) -> None:
    notes_world(store)
    discover(store, {("shop", name): SPEC for name in COLLIDING})
    events: list[Any] = []
    for step, (name, result) in enumerate(COLLIDING.items()):
        events.append(ToolCalled(
            exploration_id="xs", step=step, server="shop", tool=name, arguments={"id": 1},
            arguments_hash=content_hash({"id": 1}), content=[{"type": "text", "text": result}],
            read_only=True, state=content_hash([])))
    trajectory = [{"step": i, "server": "shop", "tool": name, "arguments": {"id": 1}} for i, name in enumerate(COLLIDING)]
    events += [
        TaskSynthesized(task_id="t-shop", exploration_id="xs", dag_id="d-shop", kind="multi-hop", question=QUESTION,
                        answer="cherry", match={"rule": "exact"}, trajectory=trajectory, calls=3, servers=1, hops=3,
                        synthesizer="test", template="test"),
        TaskVerdict(task_id="t-shop", verifier="replayable", passed=True),
        TaskSplit(task_id="t-shop", dag_id="d-shop", split="test"),
    ]
    store.append_many(events)
    store.catch_up()


def tool_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "tool"]


def test_the_environment_sends_each_name_to_its_own_tool(store):
    shop_world(store)
    with FireflyEnv(store.path, split="test") as env:
        tools = env.reset("t-shop")["tools"]
        names = [t["function"]["name"] for t in tools]
        assert len(names) == len(set(names)) == 3
        for name in names:
            server, tool = env.tool_of(name)
            assert env.function_name(server, tool) == name
            out = env.step(tool_calls=[{"id": name, "name": name, "arguments": {"id": 1}}])
            assert out.messages[0]["content"] == COLLIDING[tool]
        assert sorted(tool_texts(env.episode.messages)) == sorted(COLLIDING.values())
        assert sorted(c["tool"] for c in env.episode.calls) == sorted(COLLIDING)


def test_eval_with_colliding_names_oracle_and_a_model(store):
    shop_world(store)
    oracle = evaluate(store, OracleAgent(), EvalSettings(split="test"))
    row = store.conn.execute("SELECT reward, messages, tool_calls FROM episodes WHERE eval_id = ? AND task_id = 't-shop'",
                             (oracle,)).fetchone()
    assert row[0] == 1.0 and tool_texts(json.loads(row[1])) == list(COLLIDING.values())
    assert [c["tool"] for c in json.loads(row[2])] == list(COLLIDING)

    def plan(question: str, tools: list[str]) -> list[tuple[str, dict]] | None:
        return [(name, {"id": 1}) for name in tools] if question == QUESTION else []

    with ScriptedOpenAI(AgentLoop(plan, lambda q, results: "|".join(sorted(results)))) as srv:
        agent = OpenAIAgent(LLMConfig(base_url=srv.base_url, model="m", max_retries=0))
        eval_id = evaluate(store, agent, EvalSettings(split="test", limit=10), concurrency=1)
    answer, calls = store.conn.execute(
        "SELECT answer, tool_calls FROM episodes WHERE eval_id = ? AND task_id = 't-shop'", (eval_id,)).fetchone()
    assert answer == "apple|banana|cherry"
    assert sorted(c["tool"] for c in json.loads(calls)) == sorted(COLLIDING)


def test_export_names_are_unique_and_map_back(store, tmp_path):
    shop_world(store)
    chat, rl = tmp_path / "chat.jsonl", tmp_path / "rl.jsonl"
    report = export(store.path, chat=chat, rl=rl, split="test")
    assert not [s for s in report.skipped if "t-shop" in s]
    raw = next(json.loads(x) for x in rl.read_text().splitlines() if json.loads(x)["task_id"] == "t-shop")
    line = decoded(raw)
    names = [t["function"]["name"] for t in line["tools"]]
    assert len(set(names)) == 3 and set(line["tool_targets"]) == set(names)
    assert sorted(t["tool"] for t in line["tool_targets"].values()) == sorted(COLLIDING)
    chat_line = next(json.loads(x) for x in chat.read_text().splitlines() if QUESTION in x)
    called = [c["function"]["name"] for m in chat_line["messages"] for c in m.get("tool_calls", [])]
    assert [line["tool_targets"][n]["tool"] for n in called] == list(COLLIDING)
    assert tool_texts(chat_line["messages"]) == list(COLLIDING.values())
    # a line whose map does not match its tools is caught
    broken = dict(raw, tool_targets=json.dumps({names[0]: line["tool_targets"][names[0]]}))
    assert any("tool_targets" in p for p in line_problems("rl", broken))


def test_simulate_serve_all_serves_every_colliding_tool(store):
    shop_world(store)
    with Simulator.open(store) as sim:
        names = served_names(sim, None)
        shop = {n: t.name for n, t in names.items() if t.server == "shop"}
        assert len(shop) == 3 and set(shop.values()) == set(COLLIDING)
        assert {f"{s}__{t}" for s, t in TOOLS} <= set(names)  # names without collisions unchanged
        assert sorted(served_names(sim, ["shop"])) == sorted(COLLIDING)  # one server: its own names

        async def main():
            async with Client(build_server(sim, None)) as c:
                listed = {t.name for t in (await c.list_tools()).tools}
                assert set(shop) <= listed
                for name, tool in shop.items():
                    r = await c.call_tool(name, {"id": 1})
                    assert r.content[0].text == COLLIDING[tool]

        anyio.run(main)


@pytest.mark.parametrize("args", [["--all"], ["--server", "shop", "--server", "calc"]])
def test_simulate_serve_cli_does_not_refuse_colliding_tools(store, args, monkeypatch):
    shop_world(store)
    served: list[Any] = []
    monkeypatch.setattr("firefly.simulator.serve.serve_stdio", lambda server: served.append(server) or _done())
    result = CliRunner().invoke(app, ["simulate", "serve", *args, "--db", str(store.path)])
    assert result.exit_code == 0, result.output
    assert served and "collides" not in result.output


async def _done() -> None:
    return None
