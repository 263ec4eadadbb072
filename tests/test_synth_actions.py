"""Actions: an instruction whose label is the call it asks for (kind ``action``, rule ``called``).

For an effect whose reply says nothing a question could ask and whose change no read of the
run observed (a player, a planner), the call is what can be checked: the task is verified by
the same verifiers, and an episode is rewarded for making that call.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from firefly.env import FireflyEnv, reward
from firefly.match import MatchRuleError, called, matches
from firefly.simulator import Simulator
from firefly.store import Store
from firefly.synth import synthesize
from firefly.synth.model import load_exploration, load_task
from firefly.synth.verify import check_fails_before, check_grounded, check_leakage, check_replayable, verify

from . import synth_fixtures as fx

TUNE = "X:1\nT:Scale\nM:4/4\nL:1/4\nK:C\nC D E F | G A B c |]"
TOOLS = {
    ("music", "play_tune"): ({"type": "object", "properties": {"abcNotation": {
        "type": "string", "description": "ABC notation to play", "default": TUNE}}}, False),
    ("planner", "plan_task"): ({"type": "object", "properties": {"description": {"type": "string"}},
                                "required": ["description"]}, False),
    ("planner", "roll_dice"): ({"type": "object", "properties": {"sides": {"type": "integer"}}}, False),
    ("notes", "write_note"): ({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
                              False),
    ("notes", "list_notes"): ({"type": "object", "properties": {}}, True),
    ("thinker", "think"): ({"type": "object", "properties": {
        "thought": {"type": "string"}, "tools": {"type": "array", "items": {"type": "string"}},
        "thought_number": {"type": "integer"}}, "required": ["thought", "tools", "thought_number"]}, False),
    ("cleaner", "clean_up"): ({"type": "object", "properties": {"days": {"type": "integer"}}}, False),
    ("cleaner", "run_tests"): ({"type": "object", "properties": {"pattern": {"type": "string"}}}, False),
    ("cleaner", "decode"): ({"type": "object", "properties": {"text": {"type": "string"}}}, False),
}
DESCRIPTIONS = {"play_tune": "Plays music from ABC notation.", "plan_task": "Plan a task and guide its design.",
                "roll_dice": "Roll dice and return the result.", "write_note": "Write a note.",
                "list_notes": "List the notes.", "clean_up": "Clean up old files.",
                "think": "A detailed tool for reflective problem-solving.\nThis tool helps analyze problems through a"
                         " flexible thinking process that can adapt.", "run_tests": "Run the test cases.",
                "decode": "Decode a Base64 text."}
GUIDE = "## Task Analysis\n\nRead the task, think about its goals, then call analyze_task with your design."


@pytest.fixture
def world(tmp_path, monkeypatch):
    for key, value in TOOLS.items():
        monkeypatch.setitem(fx.TOOLS, key, value)
    store = Store.open(tmp_path / "actions.db")
    for (server, name) in TOOLS:  # the tools' own descriptions: an action is worded from them
        store.append(_discovered(server, name))
    w = fx.Walk(store, "xplay", "dplay", [("music", "play_tune")])
    w.call("music", "play_tune", {}, fx.text("Input parsed successfully."))  # the default tune
    w.finish()
    p = fx.Walk(store, "xplan", "dplan", [("planner", "plan_task"), ("planner", "roll_dice")])
    p.call("planner", "plan_task", {"description": "Confirm the spring sale prices with the team."}, fx.text(GUIDE))
    p.call("planner", "roll_dice", {"sides": 6}, fx.text("Rolled a 4"))
    p.finish()
    n = fx.Walk(store, "xnote", "dnote", [("notes", "write_note"), ("notes", "list_notes")])
    n.call("notes", "write_note", {"title": "Groceries"}, fx.text("Done."))
    n.call("notes", "list_notes", {}, fx.as_text({"notes": [{"title": "Groceries"}]}), probe_of=0)
    n.finish()
    k = fx.Walk(store, "xthink", "dthink", [("thinker", "think")])
    k.call("thinker", "think", {"thought": "Check the sale prices.", "tools": [], "thought_number": 1},
           fx.text("Thought recorded."))
    k.finish()
    c = fx.Walk(store, "xclean", "dclean", [("cleaner", "clean_up")])
    c.call("cleaner", "clean_up", {"days": 7}, fx.as_text({"removed": [], "freed_mb": 0}))
    c.finish()
    t = fx.Walk(store, "xtests", "dtests", [("cleaner", "run_tests")])
    t.call("cleaner", "run_tests", {"pattern": "sale"}, fx.text("No test cases defined. Please add test cases first."))
    t.finish()
    b = fx.Walk(store, "xbytes", "dbytes", [("cleaner", "decode")])
    b.call("cleaner", "decode", {"text": "Harbor Coffee"}, fx.text("\u0085\ufffd\ufffd{\ufffd\ufffdz\ufffd"))
    b.finish()
    store.catch_up()
    return store


def _discovered(server, name):
    from firefly.events import ToolDiscovered
    from firefly.ids import short_hash

    schema, read_only = TOOLS[(server, name)]
    return ToolDiscovered(server=server, name=name, description=DESCRIPTIONS[name], input_schema=schema,
                          annotations={"readOnlyHint": read_only}, schema_hash="sha256:" + short_hash([server, name, schema], 64))


def _actions(store):
    return {json.loads(a)["tool"]: (tid, q, json.loads(a), v) for tid, q, a, v in store.conn.execute(
        "SELECT task_id, question, answer, verified FROM tasks WHERE kind = 'action'")}


def test_an_effect_that_says_nothing_is_an_action_labelled_by_its_call_and_verified(world):
    synthesize(world)
    verify(world)
    actions = _actions(world)
    # a player given no arguments: the instruction states the tune it played by default
    _, question, label, verified = actions["play_tune"]
    assert question.startswith(("Play music from ABC notation", "Please play music from ABC notation"))
    assert TUNE in question and verified == 1
    assert label == {"server": "music", "tool": "play_tune", "arguments": {"abcNotation": TUNE}}
    _, question, label, verified = actions["plan_task"]
    assert '"Confirm the spring sale prices with the team."' in question and verified == 1
    assert label["arguments"] == {"description": "Confirm the spring sale prices with the team."}
    # a description that only names its tool: what it says the tool helps do; a required empty list is "no ..."
    _, question, label, verified = actions["think"]
    said = 'analyze problems through a flexible thinking process with thought "Check the sale prices.", thought number 1 and no tools.'
    assert question in ("A" + said[1:], "Please " + said), question
    assert verified == 1 and label["arguments"] == {"thought": "Check the sale prices.", "thought_number": 1}
    # never: a roll (wanted for what it rolled), nor a change a read observed (a state change checks it),
    # nor a call whose reply says it did nothing (empty values only, "No test cases defined ... first",
    # bytes that are no text)
    assert "roll_dice" not in actions and "write_note" not in actions
    assert "clean_up" not in actions and "run_tests" not in actions and "decode" not in actions
    # bytes that are no text are no answer either
    assert not world.conn.execute("SELECT count(*) FROM tasks WHERE exploration_id = 'xbytes'").fetchone()[0]
    assert world.conn.execute("SELECT count(*) FROM tasks WHERE kind = 'state-change'").fetchone()[0]
    reasons = dict(world.conn.execute(
        "SELECT verifier, reasons FROM verdicts WHERE task_id = ?", (actions["plan_task"][0],)).fetchall())
    assert "the label is the recorded call planner/plan_task" in reasons["grounded"]
    assert "the episode made the call the label is" in reasons["replayable"]


def test_an_action_is_rewarded_for_making_its_call_and_for_nothing_else(world):
    synthesize(world)
    verify(world)
    play, plan = _actions(world)["play_tune"][0], _actions(world)["plan_task"][0]
    with FireflyEnv(world.path, split=None) as env:
        def play_out(task_id, calls):
            env.reset(task_id)
            if calls:
                env.step(tool_calls=[{"id": f"c{i}", "name": env.function_name(s, t), "arguments": json.dumps(a)}
                                     for i, (s, t, a) in enumerate(calls)])
            return env.step(final_answer="Done.").reward

        assert play_out(plan, [("planner", "plan_task", {"description": "Confirm the spring sale prices with the team."})]) == 1.0
        # the same words spaced otherwise are the same argument; another task, another tool, no call: 0
        assert play_out(plan, [("planner", "plan_task", {"description": "confirm the spring sale prices  with the team"})]) == 1.0
        assert play_out(plan, [("planner", "plan_task", {"description": "Confirm the winter sale."})]) == 0.0
        assert play_out(plan, [("planner", "roll_dice", {"sides": 6})]) == 0.0
        assert play_out(plan, []) == 0.0
        # a call that leaves the argument to its default is the default tune; another tune is not
        assert play_out(play, [("music", "play_tune", {})]) == 1.0
        assert play_out(play, [("music", "play_tune", {"abcNotation": TUNE})]) == 1.0
        assert play_out(play, [("music", "play_tune", {"abcNotation": "X:1\nK:C\nC2 |]"})]) == 0.0
        task = load_task(env.conn, plan)
        assert reward(task, "Done.") == 0.0  # no episode: nothing shows a call


def test_the_verifiers_fail_an_action_whose_label_is_not_its_call(world):
    synthesize(world)
    task = load_task(world.conn, _actions(world)["plan_task"][0])
    x = load_exploration(world, task.exploration_id)
    sim = Simulator.open(world, mode="strict")
    for check in (lambda t: check_grounded(t, x), lambda t: check_replayable(t, sim),
                  lambda t: check_fails_before(t, sim, x), check_leakage):
        assert check(task)[0], check(task)
    other = dataclasses.replace(task, answer=dict(task.answer, arguments={"description": "Confirm the winter sale."}))
    ok, reasons = check_grounded(other, x)
    assert not ok and "is not the recorded call's" in reasons[0]
    ok, reasons = check_replayable(other, sim)
    assert not ok and reasons == ["the replayed episode did not make the call the label is"]
    wrong_tool = dataclasses.replace(task, answer=dict(task.answer, tool="roll_dice"))
    assert not check_grounded(wrong_tool, x)[0]


def test_the_called_rule():
    label = {"server": "s", "tool": "t", "arguments": {"text": "Hello  World", "n": 2}}
    assert called(label, {"server": "s", "tool": "t", "arguments": {"text": "hello world", "n": 2.0, "extra": 1}})
    assert matches({"rule": "called"}, label, [{"server": "s", "tool": "u", "arguments": {}},
                                               {"server": "s", "tool": "t", "arguments": {"text": "Hello World", "n": 2}}])
    assert not called(label, {"server": "s", "tool": "t", "arguments": {"text": "Hello World"}})
    assert not called(label, {"server": "s", "tool": "t", "arguments": {"text": "Hello World", "n": 3}})
    assert not called(label, [{"server": "other", "tool": "t", "arguments": label["arguments"]}, "not a call"])
    with pytest.raises(MatchRuleError):
        called({"tool": "t"}, [])
