"""Tasks over the simulator's recorded notes world (tests/sim_fixtures.py), built from events:
one task per match rule, a multi-hop task and a state-change task, verified and split.

What the recorded world holds (see ``notes_world``): ``/workspace/notes/todo.md`` says
"buy milk" until ``write_note`` makes it "buy eggs"; ``list_notes`` lists todo.md and
ideas.md; ideas.md says "fly"; ``add`` of 1 and 2 is 3 (structured ``{"sum": 3}``), of 10 and
20.5 is 30.5.
"""

from __future__ import annotations

from typing import Any

from firefly.events import TaskSplit, TaskSynthesized, TaskVerdict
from firefly.store import Store

from .sim_fixtures import notes_world

TODO = "/workspace/notes/todo.md"


def _step(step: int, server: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"step": step, "server": server, "tool": tool, "arguments": arguments}


# task_id -> (kind, exploration, question, answer, match, trajectory, probe, hops, split)
TASKS: dict[str, tuple] = {
    "t-exact": ("lookup", "xa", f"What does the note {TODO} say?", "buy milk", {"rule": "exact"},
                [_step(0, "notes", "read_note", {"path": TODO})], None, 1, "test"),
    "t-normalized": ("lookup", "xa", f"Read the note {TODO}: what is on it?", "buy milk", {"rule": "normalized"},
                     [_step(0, "notes", "read_note", {"path": TODO})], None, 1, "train"),
    "t-number": ("lookup", "xc", "What is 10 plus 20.5?", 30.5, {"rule": "number", "tolerance": 1e-6},
                 [_step(1, "calc", "add", {"a": 10, "b": 20.5})], None, 1, "test"),
    "t-set": ("aggregate", "xb", "Which notes are there?", ["todo.md", "ideas.md"], {"rule": "set"},
              [_step(1, "notes", "list_notes", {})], None, 1, "train"),
    "t-subset": ("lookup", "xa", "Add 1 and 2; give the result object.", {"sum": 3}, {"rule": "json-subset"},
                 [_step(3, "calc", "add", {"a": 1, "b": 2})], None, 1, "test"),
    "t-hops": ("multi-hop", "xb", "List the notes, then read the one that is not the to-do list: what does it say?",
               "fly", {"rule": "normalized"},
               [_step(1, "notes", "list_notes", {}), _step(2, "notes", "read_note", {"path": "/workspace/notes/ideas.md"})],
               None, 2, "test"),
    "t-change": ("state-change", "xa", f"Replace the note {TODO} with the text: buy eggs", "buy eggs",
                 {"rule": "normalized"}, [_step(1, "notes", "write_note", {"path": TODO, "text": "buy eggs"})],
                 {"server": "notes", "tool": "read_note", "arguments": {"path": TODO}, "expected": "buy eggs"}, 1, "test"),
    "t-unverified": ("lookup", "xa", "An unverified task", "buy milk", {"rule": "exact"},
                     [_step(0, "notes", "read_note", {"path": TODO})], None, 1, "test"),
}

# near misses: answers (or, for the state change, the text written) that must score 0
NEAR_MISSES: dict[str, list[str]] = {
    "t-exact": ["Buy milk", "buy milk.", "buy mil", '"buy milk" please'],
    "t-normalized": ["buy milks", "buy", "milk buy"],
    "t-number": ["30.6", "30.5 or 31", "305", "thirty"],
    "t-set": ["todo.md", "todo.md, ideas.md, x.md", "todo.md, idea.md"],
    "t-subset": ['{"sum": 4}', '{"total": 3}', "3"],
    "t-hops": ["fly away", "todo.md"],
}
# answers a correct agent might give that must score 1
GOOD: dict[str, list[str]] = {
    "t-exact": ["buy milk", "  buy milk\n"],
    "t-normalized": ["Buy Milk.", "'buy  milk'"],
    "t-number": ["30.5", "The sum is 30.5", "30.50000001"],
    "t-set": ["ideas.md, todo.md", '["todo.md", "ideas.md"]', "todo.md\nideas.md", "todo.md and ideas.md"],
    "t-subset": ['{"sum": 3}', '{"sum": 3, "note": "x"}'],
    "t-hops": ["Fly", "fly."],
}


def tasks_world(store: Store) -> Store:
    """The notes world plus the tasks above (every one verified but ``t-unverified``)."""
    notes_world(store)
    events: list[Any] = []
    for task_id, (kind, xid, question, answer, match, trajectory, probe, hops, split) in TASKS.items():
        events.append(TaskSynthesized(
            task_id=task_id, exploration_id=xid, dag_id=f"d-{task_id}", kind=kind, question=question, answer=answer,
            match=match, trajectory=trajectory, probe=probe, calls=len(trajectory),
            servers=len({s["server"] for s in trajectory}), hops=hops, synthesizer="test", template="test",
        ))
        passed = task_id != "t-unverified"
        events.append(TaskVerdict(task_id=task_id, verifier="replayable", passed=passed))
        events.append(TaskSplit(task_id=task_id, dag_id=f"d-{task_id}", split=split))
    store.append_many(events)
    store.catch_up()
    return store
