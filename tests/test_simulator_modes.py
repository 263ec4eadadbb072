"""The simulator's miss paths: nearest (usearch over argument embeddings) and llm (a scripted
OpenAI-compatible server), hits in every mode, and the saved argument index."""

from __future__ import annotations

import json

import pytest

from firefly.llm import LLM, LLMConfig
from firefly.simulator import MISS_TEXT, Simulator
from firefly.simulator.generate import MalformedReply, parse_reply
from tests.openai_stub import ScriptedOpenAI

from .conftest import projection_dumps
from .sim_fixtures import Walk, notes_world

NEAR = {"path": "/workspace/notes/todo.txt"}  # recorded: /workspace/notes/todo.md
FAR = {"path": "/srv/elsewhere/completely/different.bin", "format": "binary"}


@pytest.mark.parametrize("mode", ["strict", "nearest", "llm"])
def test_every_mode_answers_a_hit_from_the_record(store, mode):
    notes_world(store)
    with ScriptedOpenAI([]) as srv:  # an exhausted script: asking would fail the test
        llm = LLM(LLMConfig(base_url=srv.base_url, model="sim-1", max_retries=0, timeout=5))
        with Simulator.open(store, mode=mode, llm=llm) as sim:
            r = sim.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"})
        assert srv.requests == []
    assert r.text == "buy milk" and r.meta["match"] == "exact" and "approximate" not in r.meta


def test_nearest_answers_similar_arguments_marked_approximate(store):
    notes_world(store)
    with Simulator.open(store, mode="nearest") as sim:
        r = sim.call_sync("notes", "read_note", NEAR)
        assert not r.is_error and r.text == "buy milk"
        assert r.meta["approximate"] is True and 0.85 <= r.meta["similarity"] < 1
        assert r.meta["matched_arguments"] == {"path": "/workspace/notes/todo.md", "format": "text"}
        far = sim.call_sync("notes", "read_note", FAR)
        assert far.is_error and far.text == MISS_TEXT and far.meta["nearest_similarity"] < 0.85
    with Simulator.open(store, mode="nearest", threshold=0.99) as strict_enough:
        assert strict_enough.call_sync("notes", "read_note", NEAR).text == MISS_TEXT


def test_nearest_prefers_the_episode_state_and_changes_the_world(store):
    notes_world(store)
    with Simulator.open(store, mode="nearest") as sim:
        ep = sim.episode()
        ep.call_sync("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggs"})
        r = ep.call_sync("notes", "read_note", NEAR)
        assert r.text == "buy eggs" and r.meta["state_match"] == "world"
        # an approximate result of an effectful call is a world the log never saw
        w = ep.call_sync("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggz"})
        assert w.meta["approximate"] and len(ep.effects) == 2


def test_the_argument_index_is_saved_and_rebuilt_when_stale(store, db_path):
    notes_world(store)
    with Simulator.open(store, mode="nearest") as sim:
        sim.call_sync("notes", "read_note", NEAR)
        assert sim.index.rebuilt == [("notes", "read_note")]
    folder = db_path.parent / f"{db_path.name}.calls.usearch"
    assert len(list(folder.glob("*.usearch"))) == 1
    with Simulator.open(store, mode="nearest") as sim:
        sim.call_sync("notes", "read_note", NEAR)
        assert sim.index.rebuilt == []  # reopened as saved
    Walk(store, "xd").call("notes", "read_note", {"path": "/workspace/notes/todo.txt"}, "a new recording")
    with Simulator.open(store, mode="nearest") as sim:
        assert sim.call_sync("notes", "read_note", NEAR).text == "a new recording"  # now an exact hit
        assert sim.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.tx"}).meta["approximate"]
        assert sim.index.rebuilt == [("notes", "read_note")]


def llm_for(srv: ScriptedOpenAI) -> LLM:
    return LLM(LLMConfig(base_url=srv.base_url, model="sim-1", max_retries=0, timeout=5))


def test_llm_writes_a_result_from_the_nearest_calls_and_reuses_it(store):
    notes_world(store)
    reply = json.dumps({"text": "buy milk (txt)", "is_error": False})
    with ScriptedOpenAI([reply]) as srv:
        with Simulator.open(store, mode="llm", llm=llm_for(srv)) as sim:
            first = sim.call_sync("notes", "read_note", NEAR)
            again = sim.call_sync("notes", "read_note", {"format": "text", "path": "/workspace/notes/./todo.txt"})
        assert len(srv.requests) == 1
        sent = json.loads(srv.requests[0]["json"]["messages"][1]["content"])
    assert first.text == again.text == "buy milk (txt)" and not first.is_error
    assert first.meta["source"] == "generated" and first.meta["approximate"] and again.meta["reused"]
    assert sent["call"]["arguments"] == {"path": "/workspace/notes/todo.txt", "format": "text"}
    assert sent["tool"]["name"] == "read_note" and sent["recorded_calls"][0]["arguments"]["path"] == "/workspace/notes/todo.md"
    # recorded: the exchange and the simulated result; a later simulator reuses it without asking
    assert store.count("llm-replied") == 1 and store.count("tool-simulated") == 1
    with ScriptedOpenAI([]) as srv:
        with Simulator.open(store, mode="llm", llm=llm_for(srv)) as sim:
            assert sim.call_sync("notes", "read_note", NEAR).text == "buy milk (txt)"
        assert srv.requests == []
    # never served as a recorded result
    with Simulator.open(store, mode="strict") as sim:
        assert sim.call_sync("notes", "read_note", NEAR).text == MISS_TEXT
    dumps = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == dumps


@pytest.mark.parametrize("reply", ["I think the file says: buy milk", '["not", "an", "object"]',
                                   '{"content": [{"kind": "text"}]}', '{"text": "x", "is_error": "yes"}', ""])
def test_llm_malformed_reply_is_a_tool_error_not_a_crash(store, reply):
    notes_world(store)
    with ScriptedOpenAI([reply, reply]) as srv:
        with Simulator.open(store, mode="llm", llm=llm_for(srv)) as sim:
            r = sim.call_sync("notes", "read_note", NEAR)
            assert r.is_error and "gave no usable result" in r.text and r.meta["malformed"]
            # the recorded reply is reused: the same error, no second request
            assert sim.call_sync("notes", "read_note", NEAR).text == r.text
        assert len(srv.requests) == 1
    assert store.count("tool-simulated") == 0


def test_llm_endpoint_failure_is_a_tool_error(store):
    notes_world(store)
    with ScriptedOpenAI([503]) as srv:
        with Simulator.open(store, mode="llm", llm=llm_for(srv)) as sim:
            r = sim.call_sync("notes", "read_note", NEAR)
    assert r.is_error and "HTTP 503" in r.text and r.meta["failed"]


def test_llm_mode_in_an_async_episode(store):
    import anyio

    notes_world(store)
    reply = json.dumps({"content": [{"type": "text", "text": "5"}], "structured_content": {"sum": 5}, "is_error": False})
    with ScriptedOpenAI([f"```json\n{reply}\n```"]) as srv:
        with Simulator.open(store, mode="llm", llm=llm_for(srv)) as sim:
            r = anyio.run(sim.episode().call, "calc", "add", {"a": 2, "b": 3})
    assert r.structured_content == {"sum": 5} and r.text == "5"


def test_parse_reply():
    assert parse_reply('{"text": "hi"}') == ([{"type": "text", "text": "hi"}], None, False)
    with pytest.raises(MalformedReply):
        parse_reply('{"structured_content": [1], "text": "x"}')
