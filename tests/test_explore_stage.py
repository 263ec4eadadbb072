"""The explore stage over a real stdio server: recording, chaining, resuming after a kill."""

from __future__ import annotations

import json
import sys

import pytest

from firefly.events import DagSampled, DagTool
from firefly.explore.policy import ArgSource, Proposal
from firefly.explore.stage import explore, exploration_id, is_read_only
from firefly.explore.policy import ToolRef
from firefly.discovery import discover
from firefly.registry import parse_registry, register

from .conftest import SERVERS, projection_dumps


class NotesPolicy:
    """A scripted policy: reads the note whose title the previous call returned."""

    name = "scripted"

    def __init__(self, fail_at: int | None = None):
        self.fail_at = fail_at
        self.proposed = 0

    def propose(self, tool, history, workspace, rng, attempt=0):
        self.proposed += 1
        if self.fail_at is not None and self.proposed == self.fail_at:
            raise KeyboardInterrupt  # the user pressed Ctrl-C in the middle of an exploration
        if tool.name == "read_note":
            done = [h for h in history if not h.is_error]  # failed attempts are in the history too
            if done:
                return Proposal({"title": "groceries"}, (ArgSource("/title", done[-1].step, "$.content[0].text", "groceries"),))
            if attempt:
                assert history[-1].is_error and history[-1].arguments == {"title": "nothing"}  # the retry sees the failure
            return Proposal({"title": "nothing" if attempt == 0 else "groceries"})
        if tool.name == "echo":
            return Proposal({"text": f"{workspace.root}/files/x"})
        return Proposal({})


@pytest.fixture
def explored_store(store):
    register(store, parse_registry(json.dumps({"mcpServers": {
        "toy": {"command": sys.executable, "args": [str(SERVERS / "toy.py"), "${FIREFLY_WORKSPACE}"]}}})), source="t")
    discover(store, connect_timeout=20)
    dags = [
        [("toy", "list_notes"), ("toy", "read_note")],
        [("toy", "read_note")],
        [("toy", "list_notes"), ("toy", "delete_note"), ("toy", "read_note")],
    ]
    for i, tools in enumerate(dags):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    store.catch_up()
    return store


def test_explore_records_calls_and_chaining(explored_store):
    store = explored_store
    report = explore(store, NotesPolicy(), concurrency=2, connect_timeout=20)
    assert (report.finished, report.failed) == (3, 0)
    rows = store.conn.execute("SELECT exploration_id, status, calls, successes, chained FROM explorations ORDER BY dag_id").fetchall()
    assert [r[1] for r in rows] == ["finished"] * 3
    assert rows[0][2:] == (2, 2, 1)   # list_notes, then read_note fed by its result
    assert rows[1][2:] == (2, 1, 0)   # read_note failed once (is_error), the retry succeeded
    calls = store.conn.execute("SELECT step, attempt, tool, ok, is_error, read_only, state, result_text FROM calls"
                               " WHERE exploration_id = ? ORDER BY step, attempt", (rows[1][0],)).fetchall()
    assert [(c[0], c[1], c[3], c[4]) for c in calls] == [(0, 0, 0, 1), (0, 1, 1, 0)]
    assert calls[1][7] == "eggs, milk"
    # the effectful delete_note changes the state the next call was observed in
    states = [r[0] for r in store.conn.execute(
        "SELECT state FROM calls WHERE exploration_id = ? ORDER BY step", (rows[2][0],))]
    assert states[0] == states[1] != states[2]
    # nothing left: a second run explores nothing
    assert explore(store, NotesPolicy()).explorations == 0
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before


def test_interrupted_exploration_resumes_without_duplicates(explored_store):
    store = explored_store
    with pytest.raises(BaseException):
        explore(store, NotesPolicy(fail_at=4), concurrency=1, connect_timeout=20)
    store.catch_up()
    partial = store.count("tool-called")
    statuses = [r[0] for r in store.conn.execute("SELECT status FROM explorations ORDER BY dag_id")]
    assert "running" in statuses and partial >= 2
    report = explore(store, NotesPolicy(), concurrency=1, connect_timeout=20)
    assert report.finished == statuses.count("running") + (3 - len(statuses))
    keys = [r[0] for r in store.conn.execute("SELECT idempotency_key FROM events WHERE type = 'tool-called'")]
    assert len(keys) == len(set(keys))
    assert [r[0] for r in store.conn.execute("SELECT status FROM explorations")] == ["finished"] * 3
    # same calls as one uninterrupted run
    assert store.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 2 + 2 + 3


def test_read_only_detection():
    def ref(name, **ann):
        return ToolRef("s", name, None, {}, ann)

    assert is_read_only(ref("git_log")) and is_read_only(ref("list_directory")) and is_read_only(ref("read_query"))
    assert not is_read_only(ref("write_file")) and not is_read_only(ref("git_commit"))
    assert not is_read_only(ref("list_things", readOnlyHint=False))
    assert is_read_only(ref("frobnicate", readOnlyHint=True))
    assert exploration_id("d", "offline", 0) == exploration_id("d", "offline", 0) != exploration_id("d", "offline", 1)
