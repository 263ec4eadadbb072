"""The explore stage over a real stdio server: recording, chaining, resuming after a kill."""

from __future__ import annotations

import json
import os
import re
import signal
import sys

import pytest

from firefly.events import DagSampled, DagTool, ToolCalled, ToolDiscovered
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
    # read_note, which the DAG puts after delete_note, is looked at first too, in the world before it;
    # the effectful delete_note changes the state the next call was observed in
    walked = store.conn.execute(
        "SELECT tool, state FROM calls WHERE exploration_id = ? ORDER BY step", (rows[2][0],)).fetchall()
    assert [w[0] for w in walked] == ["list_notes", "read_note", "delete_note", "read_note"]
    assert walked[0][1] == walked[1][1] == walked[2][1] != walked[3][1]
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
    # same calls as one uninterrupted run (d2: the listing, the look first at read_note, the delete, the read)
    assert store.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 2 + 2 + 4


def test_read_only_detection():
    def ref(name, **ann):
        return ToolRef("s", name, None, {}, ann)

    assert is_read_only(ref("git_log")) and is_read_only(ref("list_directory")) and is_read_only(ref("read_query"))
    assert not is_read_only(ref("write_file")) and not is_read_only(ref("git_commit"))
    assert not is_read_only(ref("list_things", readOnlyHint=False))
    assert is_read_only(ref("frobnicate", readOnlyHint=True))
    assert exploration_id("d", "offline", 0) == exploration_id("d", "offline", 0) != exploration_id("d", "offline", 1)


# --------------------------------------------------------------------------- failures during explorations


class TroublePolicy:
    """Kills the server in the middle of an exploration, hangs a call, asks for a 20 MB result."""

    name = "trouble"

    def propose(self, tool, history, workspace, rng, attempt=0):
        if tool.name == "read_note":
            listed = [h for h in history if h.tool == "list_notes" and not h.is_error]
            if listed and attempt == 0:
                pid = int(re.search(r"pid (\d+)", listed[-1].content[0]["text"]).group(1))
                os.kill(pid, signal.SIGKILL)  # the server dies between two calls of one exploration
            return Proposal({"title": "groceries"})
        if tool.name == "sleep":
            return Proposal({"seconds": 60})
        if tool.name == "echo":  # an error in disguise first (isError false), then a real answer
            if attempt:
                assert history[-1].is_error and "Database error" in history[-1].content[0]["text"]
            return Proposal({"text": "hello" if attempt else "Database error: no such table: notes"})
        return Proposal({})


def _unlisted(store, name):
    """Make a tool the toy server answers (but does not list) callable, as discovery would record it."""
    store.append(ToolDiscovered(server="toy", name=name, input_schema={"type": "object", "properties": {}},
                                annotations={"readOnlyHint": True}, schema_hash=f"h-{name}"))


def _calls(store):
    return {(r[0], r[1], r[2]): r[3:] for r in store.conn.execute(
        "SELECT x.dag_id, c.tool, c.attempt, c.ok, c.error_class, c.error, c.truncated, c.result_bytes, length(c.content)"
        " FROM calls c JOIN explorations x USING (exploration_id)")}


def test_killed_server_and_hung_call_are_recorded_and_the_others_go_on(explored_store):
    store = explored_store
    _unlisted(store, "sleep")
    _unlisted(store, "echo")
    for i, name in ((3, "sleep"), (4, "echo")):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server="toy", name=name, schema_hash="h")],
                                edges=[], seed=0, index=i, sampler="test"))
    store.catch_up()
    report = explore(store, TroublePolicy(), concurrency=2, connect_timeout=20, call_timeout=3)
    assert (report.finished, report.failed) == (5, 0)
    calls = _calls(store)
    # killed: the call after the kill failed, the server was restarted and the retry succeeded
    assert calls[("d0", "read_note", 0)][:2] == (0, "server-died")
    assert calls[("d0", "read_note", 1)][0] == 1
    # hung: a timeout event, with a clear message
    ok_, cls, msg = calls[("d3", "sleep", 0)][:3]
    assert (ok_, cls) == (0, "timeout") and "within 3s" in msg
    assert calls[("d2", "delete_note", 0)][0] == 1  # the others went on
    # an error in disguise counts as an error, and the retry saw it
    assert calls[("d4", "echo", 0)][:2] == (0, "in-band-error") and "Database error" in calls[("d4", "echo", 0)][2]
    assert calls[("d4", "echo", 1)][0] == 1


@pytest.mark.parametrize("bound", [True, False])
def test_a_server_changed_by_an_exploration_is_restarted_before_the_next(explored_store, bound):
    """In-process server state (mcp-server-sqlite's insight memo, a loaded document, a session)
    must not leak into the next exploration of the same sandbox slot: a server an exploration
    changed is restarted, whether or not its configuration names the workspace."""
    store = explored_store
    if not bound:  # the same server, its configuration naming no workspace
        register(store, parse_registry(json.dumps({"mcpServers": {
            "toy": {"command": sys.executable, "args": [str(SERVERS / "toy.py")]}}})), source="t")
    store.append(DagSampled(dag_id="d3", tools=[DagTool(server="toy", name="list_notes", schema_hash="h")],
                            edges=[], seed=0, index=3, sampler="test"))
    store.catch_up()
    assert explore(store, NotesPolicy(), concurrency=1, connect_timeout=20).finished == 4
    pids = [(d, t, re.search(r"pid (\d+)", text).group(1)) for d, t, text in store.conn.execute(
        "SELECT x.dag_id, c.tool, c.result_text FROM calls c JOIN explorations x USING (exploration_id)"
        " WHERE c.tool IN ('list_notes', 'delete_note') ORDER BY c.position")]
    assert [(d, t) for d, t, _ in pids] == [("d0", "list_notes"), ("d2", "list_notes"), ("d2", "delete_note"),
                                            ("d3", "list_notes")]
    assert pids[0][2] == pids[1][2] == pids[2][2]  # one process while no exploration changed anything
    assert pids[3][2] != pids[2][2]  # d2 deleted a note: d3 gets a fresh server


def test_a_sandbox_that_cannot_be_reset_is_replaced_and_the_run_goes_on(explored_store, monkeypatch):
    """A server may leave its sandbox in a state it cannot be rebuilt from (a file made
    read-only, a folder held open): that slot gets a new sandbox, and every DAG is explored."""
    from firefly.explore.sandbox import Sandbox

    real = Sandbox.reset
    failures = []

    def reset(self):
        if not failures:
            failures.append(self.root)
            raise PermissionError(f"[Errno 13] Permission denied: '{self.root}/shop.db'")
        return real(self)

    monkeypatch.setattr(Sandbox, "reset", reset)
    report = explore(explored_store, NotesPolicy(), concurrency=1, connect_timeout=20)
    assert failures and report.finished == 3 and report.failed == 0


def test_run_explorations_explores_only_the_first_dags_and_a_rerun_nothing_new(explored_store):
    import io

    from rich.console import Console

    from firefly.pipeline import Display, RunOptions, first_dags, stage_explore

    store = explored_store
    assert first_dags(store, None) is None and first_dags(store, 2) == {"d0", "d1"}
    opts = RunOptions(explorations=2, concurrency=2, connect_timeout=20)
    with Display(Console(file=io.StringIO())) as display:
        result = stage_explore(store, opts, display)
        assert result.summary["finished"] + result.summary["failed"] == 2
        again = stage_explore(store, opts, display)
    explored = {d for (d,) in store.conn.execute("SELECT dag_id FROM explorations")}
    assert explored == {"d0", "d1"} and again.summary == {}


class ProbingPolicy(NotesPolicy):
    """Deletes a note (one the listing showed, or one it never showed) and probes a deletion
    by reading the note back."""

    def __init__(self, title: str = "groceries", fail_at: int | None = None):
        super().__init__(fail_at)
        self.title = title

    def propose(self, tool, history, workspace, rng, attempt=0):
        if tool.name == "delete_note":
            self.proposed += 1
            return Proposal({"title": self.title})
        return super().propose(tool, history, workspace, rng, attempt)

    def probe(self, call, tool, readers, workspace):
        from firefly.explore.probe import Probe

        if call.tool != "delete_note":
            return None
        return Probe(next(r for r in readers if r.name == "read_note"), {"title": call.arguments["title"]})


def _walk_of(store, dag_id):
    return store.conn.execute(
        "SELECT c.step, c.tool, c.probe_of, c.state FROM calls c JOIN explorations x USING (exploration_id)"
        " WHERE x.dag_id = ? AND c.attempt = 0 ORDER BY c.step", (dag_id,)).fetchall()


def test_an_effect_on_a_thing_the_world_showed_is_probed_before_and_after(explored_store):
    store = explored_store
    store.append(DagSampled(dag_id="d3", tools=[DagTool(server="toy", name=n, schema_hash="h") for n in
                                                ("list_notes", "delete_note")], edges=[(0, 1)], seed=0, index=3,
                            sampler="test"))
    store.catch_up()
    assert explore(store, ProbingPolicy(), concurrency=1, connect_timeout=20).failed == 0
    # no read of the DAG after the delete: the probe before it (probe_of: the delete's step) sees the world it changes
    assert [(s, t, p) for s, t, p, _ in _walk_of(store, "d3")] == [(0, "list_notes", None), (1, "read_note", 2),
                                                                   (2, "delete_note", None), (3, "read_note", 2)]
    walk = _walk_of(store, "d2")
    # the listing, the look first at read_note (the probe before the delete would make the same call in the
    # same world: not made again), the delete, its probe (probe_of: the delete's step), the read
    assert [(s, t, p) for s, t, p, _ in walk] == [(0, "list_notes", None), (1, "read_note", None), (2, "delete_note", None),
                                                 (3, "read_note", 2), (4, "read_note", None)]
    states = [w[3] for w in walk]
    assert states[0] == states[1] == states[2] != states[3]  # the look saw the world the delete changed


def test_an_effect_on_a_thing_nothing_showed_is_not_probed_before_it(explored_store):
    store = explored_store
    explore(store, ProbingPolicy(title="receipts"), concurrency=1, connect_timeout=20)
    # the look first reads the note the listing showed; no probe of receipts before the delete, one after it
    assert [(t, p) for _, t, p, _ in _walk_of(store, "d2")][:4] == [("list_notes", None), ("read_note", None),
                                                                   ("delete_note", None), ("read_note", 2)]


def test_a_walk_interrupted_after_a_probe_before_an_effect_resumes_as_one_run(explored_store):
    store = explored_store
    with pytest.raises(BaseException):  # at d2's last read: after the look first, the delete and its probe
        explore(store, ProbingPolicy(fail_at=8), concurrency=1, connect_timeout=20)
    store.catch_up()
    assert [t for _, t, _, _ in _walk_of(store, "d2")] == ["list_notes", "read_note", "delete_note", "read_note"]
    report = explore(store, ProbingPolicy(), concurrency=1, connect_timeout=20)
    assert report.failed == 0
    assert [r[0] for r in store.conn.execute("SELECT status FROM explorations")] == ["finished"] * 3
    assert [(s, t, p) for s, t, p, _ in _walk_of(store, "d2")] == [
        (0, "list_notes", None), (1, "read_note", None), (2, "delete_note", None), (3, "read_note", 2), (4, "read_note", None)]


def test_a_dag_is_walked_reading_before_changing_as_far_as_its_edges_allow():
    from firefly.explore.stage import observed_first

    def ref(name, read_only):
        return ToolRef("s", name, "", {"type": "object"}, {"readOnlyHint": read_only}, None)

    refs = {("s", n): ref(n, n.startswith("read")) for n in ("write", "read_a", "read_b", "write_2")}
    tools = [{"server": "s", "name": n} for n in ("write", "read_a", "read_b", "write_2")]
    names = lambda order: [t["name"] for t in order]  # noqa: E731
    # no edge: the reads first, in the sampled order, then the effects
    assert names(observed_first(tools, [], refs)) == ["read_a", "read_b", "write", "write_2"]
    # read_a takes what write gave: it stays after it; read_b still goes first
    assert names(observed_first(tools, [[0, 1]], refs)) == ["read_b", "write", "read_a", "write_2"]
    # edges that are not acyclic: the sampled order
    assert names(observed_first(tools, [[0, 1], [1, 0]], refs)) == names(tools)


def test_a_reader_is_known_by_a_verb_after_a_namespace_or_by_its_description():
    from firefly.explore.policy import CallRecord
    from firefly.explore.probe import pick_probe

    def ref(name, description=None, schema=None, **ann):
        return ToolRef("kv", name, description, schema or {}, ann)

    # a verb after a namespace of two words: a listing, not an effect; a making verb there is none
    assert is_read_only(ref("context_session_list")) and not is_read_only(ref("context_session_start"))
    # single-word names that say nothing: the description's first verb does
    assert is_read_only(ref("hgetall", "Get all fields and values from a hash.\n\n    Args:\n        name: key"))
    assert is_read_only(ref("smembers", "Get all members of a set."))  # "set" here is a noun
    assert is_read_only(ref("type", "Returns the string representation of the type of the value stored at key"))
    assert not is_read_only(ref("hset", "Set a field in a hash."))
    assert not is_read_only(ref("lpop", "Remove and return the first element from a list."))
    assert not is_read_only(ref("session", "Get or create a session."))
    assert not is_read_only(ref("zset_delete", "Get rid of a member."))  # the name changes something
    assert not is_read_only(ref("hgetall", "Get all fields.", readOnlyHint=False))  # an annotation decides
    # so the effect gets a read after it: the reader of the key it set
    key = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    setter = ref("hset", "Set a field in a hash.", {"type": "object", "properties": {
        "name": {"type": "string"}, "key": {"type": "string"}, "value": {"type": "string"}}, "required": ["name"]})
    readers = [t for t in (ref("hgetall", "Get all fields and values from a hash.", key), setter) if is_read_only(t)]
    call = CallRecord(0, "kv", "hset", {"name": "user:1", "key": "age", "value": "3"}, [], None, False)
    probe = pick_probe(call, setter, readers)
    assert probe is not None and probe.tool.name == "hgetall" and probe.arguments == {"name": "user:1"}


def test_a_listing_is_walked_after_the_tool_that_makes_what_it_lists():
    from firefly.explore.stage import makers_before_listings, observed_first

    def ref(name, required=()):
        schema = {"type": "object", "properties": {r: {"type": "string"} for r in required}, "required": list(required)}
        return ToolRef("s", name, "", schema, {}, None)

    made = ("get_tasks", "get_kanban_board", "create_task", "get_task", "delete_task")
    refs = {("s", n): ref(n, ("task_id",) if n in ("get_task", "delete_task") else ()) for n in made}
    tools = [{"server": "s", "name": n} for n in made]
    names = lambda order: [t["name"] for t in order]  # noqa: E731
    # the task listing after create_task (it would list nothing before); the board lists no tasks
    # by name and goes first; a removal makes nothing
    assert makers_before_listings(tools, refs) == [(2, 0)]
    assert names(observed_first(tools, [], refs)) == ["get_kanban_board", "get_task", "create_task", "get_tasks",
                                                      "delete_task"]
    # an edge the other way (the maker takes what the listing gave) stays
    assert names(observed_first(tools, [[0, 2]], refs))[:3] == ["get_tasks", "get_kanban_board", "get_task"]


def test_a_listing_made_before_a_producer_made_what_it_lists_is_called_again(monkeypatch):
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import CallRecord

    def ref(name, required=()):
        schema = {"type": "object", "properties": {r: {"type": "string"} for r in required}, "required": list(required)}
        return ToolRef("s", name, "", schema, {}, None)

    refs = {("s", n): ref(n, ("task_id",) if n == "update_task" else ()) for n in
            ("get_tasks", "get_epics", "create_task", "update_task")}

    class FakeWalk:  # the walk so far: both listings on the empty world, then a task made for update_task
        history = [CallRecord(0, "s", "get_tasks", {}, [], None, False), CallRecord(1, "s", "get_epics", {}, [], None, False),
                   CallRecord(2, "s", "update_task", {}, [], None, True), CallRecord(3, "s", "create_task", {}, [], None, False),
                   CallRecord(4, "s", "update_task", {"task_id": "t1"}, [], None, False)]

    FakeWalk.refs = refs
    called = []

    async def fake_call(walk, policy, info, tool):
        called.append(tool.name)

    monkeypatch.setattr(stage, "_call_tool", fake_call)
    tools = [refs[("s", n)] for n in ("get_tasks", "get_epics", "update_task")]
    anyio.run(stage._list_again, FakeWalk(), None, None, tools)
    assert called == ["get_tasks"]  # the epics listing lists nothing create_task made


def test_a_reader_that_counted_nothing_is_called_again_after_an_effect_on_its_server(monkeypatch):
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import CallRecord

    def ref(name, required=(), read_only=True):
        schema = {"type": "object", "properties": {r: {"type": "string"} for r in required}, "required": list(required)}
        return ToolRef("s", name, "", schema, {"readOnlyHint": read_only}, None)

    refs = {("s", n): ref(n, ("task_id",) if n == "get_task" else (), n.startswith("get")) for n in
            ("get_project_status", "get_settings", "get_task", "start_review")}

    def said(value):
        return [{"type": "text", "text": json.dumps(value)}]

    class FakeWalk:  # three reads on the empty world, then an effect on their server
        history = [CallRecord(0, "s", "get_project_status", {}, said({"total_tasks": 0, "columns": {"todo": []}}),
                              None, False),
                   CallRecord(1, "s", "get_settings", {}, said({"max_tasks": 50, "tasks": []}), None, False),
                   CallRecord(2, "s", "get_task", {"task_id": "t1"}, said({"progress": 0}), None, False),
                   CallRecord(3, "s", "start_review", {}, said({"ok": True}), None, False)]

    FakeWalk.refs = refs
    called = []

    async def fake_call(walk, policy, info, tool):
        called.append(tool.name)

    monkeypatch.setattr(stage, "_call_tool", fake_call)
    tools = [refs[("s", n)] for n in ("get_project_status", "get_settings", "get_task", "start_review")]
    anyio.run(stage._list_again, FakeWalk(), None, None, tools)
    assert called == ["get_project_status"]  # get_settings showed a setting; get_task takes an id
    assert stage.counted_nothing(said({"nodes": [], "count": 0}), None)
    assert stage.counted_nothing(said([]), None)  # an empty listing
    assert not stage.counted_nothing(said({"name": "default"}), None) and not stage.counted_nothing(said("0"), None)


def test_a_reader_alone_on_an_empty_world_gets_one_thing_made_and_reads_again(monkeypatch):
    """A DAG of one reader (get_tasks) that counted nothing, on a server nothing has changed:
    the maker of what it lists is called (create_task, before a maker of something else and
    never a removal), then the reader again. A first maker that fails gives way to the next;
    a reader whose DAG changes its server, or one that found something, is left alone."""
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import CallRecord

    def ref(name, required=(), read_only=False):
        schema = {"type": "object", "properties": {r: {"type": "string"} for r in required}, "required": list(required)}
        return ToolRef("s", name, "", schema, {"readOnlyHint": read_only}, None)

    refs = {("s", n): ref(n, ("task_id",) if n == "update_task" else (), n.startswith("get")) for n in
            ("get_tasks", "add_note", "create_task", "delete_all", "update_task")}
    empty = [{"type": "text", "text": json.dumps({"tasks": []})}]

    class FakeWalk:
        def __init__(self, failing=()):
            self.history = [CallRecord(0, "s", "get_tasks", {}, empty, None, False)]
            self.refs, self.failing, self.calls, self.schemas = refs, failing, [], []

        class futility:
            futile = staticmethod(lambda server, name: "")

    async def fake_call(walk, policy, info, tool):
        walk.calls.append(tool.name)
        walk.schemas.append(tool.input_schema)
        failed = tool.name in walk.failing
        walk.history.append(CallRecord(len(walk.history), "s", tool.name, {}, empty, None, failed))
        return ToolCalled(exploration_id="x", step=0, attempt=0, server="s", tool=tool.name, read_only=False, state="",
                          is_error=failed), ""

    monkeypatch.setattr(stage, "_call_tool", fake_call)
    walk = FakeWalk()
    anyio.run(stage._fill_empty, walk, None, None, refs[("s", "get_tasks")], [5])
    assert walk.calls == ["create_task", "get_tasks"]
    # read again with no argument: a filter of its own could leave the new task out
    filtered = ToolRef("s", "get_tasks", "", {"type": "object", "properties": {"status": {"type": "string"}}},
                       {"readOnlyHint": True}, None)
    walk = FakeWalk()
    anyio.run(stage._fill_empty, walk, None, None, filtered, [5])
    assert walk.calls == ["create_task", "get_tasks"] and walk.schemas[-1]["properties"] == {}
    walk = FakeWalk(failing=("create_task",))
    anyio.run(stage._fill_empty, walk, None, None, refs[("s", "get_tasks")], [5])
    assert walk.calls == ["create_task", "add_note", "get_tasks"]
    walk = FakeWalk()
    anyio.run(stage._fill_empty, walk, None, None, refs[("s", "get_tasks")], [0])  # no budget left
    assert walk.calls == []
    walk = FakeWalk()
    walk.history.append(CallRecord(1, "s", "add_note", {}, empty, None, False))  # the world changed already
    anyio.run(stage._fill_empty, walk, None, None, refs[("s", "get_tasks")], [5])
    assert walk.calls == []


def test_a_tool_that_computes_on_an_empty_world_gets_one_thing_made_too(monkeypatch):
    """A tool not known to be read-only that nothing says changes anything (``Calculate
    PageRank scores``) counted nothing: its own call is no change of the world, so the
    server's maker is called and it computes again. A roll of the dice only looks at nothing."""
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import CallRecord

    def ref(name, description, required=()):
        schema = {"type": "object", "properties": {r: {"type": "string"} for r in required}, "required": list(required)}
        return ToolRef("g", name, description, schema, {}, None)

    refs = {("g", t.name): t for t in (ref("pagerank", "Calculate PageRank scores for node importance"),
                                        ref("add_facts", "Add facts (relationships) to the graph.", ("facts",)),
                                        ref("roll", "Roll dice using standard notation"))}
    empty = [{"type": "text", "text": json.dumps({"rankings": []})}]
    assert stage.only_looks(refs[("g", "pagerank")]) and not stage.only_looks(refs[("g", "add_facts")])
    assert not stage.only_looks(refs[("g", "roll")])  # chance: no world's answer

    class FakeWalk:
        def __init__(self, first):
            self.history = [CallRecord(0, "g", first, {}, empty, None, False)]
            self.refs, self.calls = refs, []

        class futility:
            futile = staticmethod(lambda server, name: "")

    async def fake_call(walk, policy, info, tool):
        walk.calls.append(tool.name)
        walk.history.append(CallRecord(len(walk.history), "g", tool.name, {}, empty, None, False))
        return ToolCalled(exploration_id="x", step=0, attempt=0, server="g", tool=tool.name, read_only=False, state="",
                          is_error=False), ""

    monkeypatch.setattr(stage, "_call_tool", fake_call)
    walk = FakeWalk("pagerank")
    anyio.run(stage._fill_empty, walk, None, None, refs[("g", "pagerank")], [5])
    assert walk.calls == ["add_facts", "pagerank"]
    walk = FakeWalk("pagerank")
    walk.history.append(CallRecord(1, "g", "add_facts", {}, empty, None, False))
    anyio.run(stage._fill_empty, walk, None, None, refs[("g", "pagerank")], [5])
    assert walk.calls == []  # the graph changed already


def test_a_tool_that_computes_is_looked_at_first_like_a_reader():
    """Before the first change of a server, a tool after it in the DAG that only computes
    (``Measure text width``) is called in the world before the change too; one that makes
    something (``Create a PDF``, ``Generate a resume PDF``: a file may be left behind, and
    what is looked at after it is no longer the first world) or answers by chance is not."""
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import Proposal

    def ref(name, description):
        return ToolRef("p", name, description, {"type": "object", "properties": {"text": {"type": "string"}}}, {}, None)

    later = [ref("pdf-resume", "Generate a professional resume PDF from JSON Resume format."),
             ref("text-measure", "Measure text width and height before rendering."),
             ref("pdf-document", "Create a flowing PDF document with automatic pagination."),
             ref("roll_dice", "Roll dice using standard notation")]

    class Policy:
        def propose(self, tool, history, info, rng, attempt):
            return Proposal({"text": "Harbor Coffee"})

    walk = LookingWalk()
    anyio.run(stage._look_first, walk, Policy(), None, later)
    assert [name for _, name, _ in walk.calls] == ["text-measure"]


class LookingWalk:
    """A walk that records what ``_look_first`` calls: (step, tool, arguments)."""

    xid, step, history, recorded = "x1", 0, [], {}

    class futility:
        futile = staticmethod(lambda server, name: "")

    def __init__(self):
        self.calls = []

    async def call(self, tool, propose, *, attempt=0):
        self.calls.append((self.step, tool.name, propose()[0].arguments))


def test_a_read_the_dag_puts_after_an_effect_is_looked_at_first_too_when_the_world_grounds_it():
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import Proposal, Ungrounded

    def ref(name, read_only):
        schema = {"type": "object", "properties": {"path": {"type": "string"}}}
        return ToolRef("s", name, "", schema, {"readOnlyHint": read_only}, None)

    # get_task needs an id nothing has shown yet
    tools = [ref("read_notes", True), ref("write_note", False), ref("read_note", True), ref("get_task", True)]

    class Policy:
        def propose(self, tool, history, info, rng, attempt):
            if tool.name == "get_task":
                raise Ungrounded("task_id")
            return Proposal({"path": "/workspace/notes/todo.md"})

    walk = LookingWalk()
    anyio.run(stage._look_first, walk, Policy(), None, tools[2:])  # what comes after write_note
    assert walk.calls == [(0, "read_note", {"path": "/workspace/notes/todo.md"})] and walk.step == 1
    # resumed where the log shows another call at that step: the first walk did not look first
    resumed = LookingWalk()
    resumed.recorded = {(0, 0): ToolCalled(exploration_id="x1", step=0, attempt=0, server="s", tool="read_notes",
                                           read_only=True, state="s0")}
    anyio.run(stage._look_first, resumed, Policy(), None, tools[2:])
    assert resumed.calls == [] and resumed.step == 0


def test_an_effect_whose_name_says_nothing_is_probed_by_the_reader_its_description_shares_nouns_with():
    from firefly.explore.policy import CallRecord
    from firefly.explore.probe import pick_probe

    def ref(name, description, *required):
        props = {r: {"type": "string"} for r in ("name", "key", "value")}
        return ToolRef("kv", name, description, {"type": "object", "properties": props, "required": list(required)}, {})

    setter = ref("hset", "Set a field in a hash stored at key.", "name", "key", "value")
    readers = [ref("hexists", "Check if a field exists in a hash.", "name", "key"),  # a yes or no: computes
               ref("llen", "Get the length of a list.", "name"),  # shows another kind of thing
               ref("hgetall", "Get all fields and values from a hash.", "name")]
    call = CallRecord(0, "kv", "hset", {"name": "user:1", "key": "age", "value": "3"}, [], None, False)
    probe = pick_probe(call, setter, readers)
    assert probe is not None and probe.tool.name == "hgetall"


def test_reads_the_dag_puts_later_are_looked_at_before_each_change_not_only_the_first():
    """load_csv, drop_rows, get_stats: get_stats takes the session load_csv makes, so it cannot
    be looked at before load_csv; it is before drop_rows, in the world the load left. A
    question about the session's statistics then needs the load only; recorded only after
    both, it needed drop_rows too, which replay could neither leave out nor keep (padding)."""
    import anyio

    from firefly.explore import stage
    from firefly.explore.policy import CallRecord

    def ref(name, read_only):
        return ToolRef("csv", name, "", {"type": "object", "properties": {}}, {"readOnlyHint": read_only}, None)

    tools = [ref("load_csv", False), ref("drop_rows", False), ref("get_stats", True)]
    refs = {(t.server, t.name): t for t in tools}
    looked: list[tuple[str, list[str]]] = []

    class Walk:
        def __init__(self):
            self.history, self.refs = [], refs

    walk = Walk()

    async def call_tool(walk, policy, info, tool):
        walk.history.append(CallRecord(len(walk.history), tool.server, tool.name, {}, [{"type": "text", "text": "1"}],
                                       None, False))
        return type("Event", (), {"error_class": None, "is_error": False, "content": [], "structured_content": None,
                                  "error": None})(), ""

    async def look_first(walk, policy, info, later):
        looked.append((walk.history[-1].tool if walk.history else "", [t.name for t in later if stage.only_looks(t)]))
        for t in later:
            if t.name == "get_stats" and walk.history:  # grounded once the session exists
                await call_tool(walk, policy, info, t)

    async def nothing(*args):
        return None

    patches = {"_call_tool": call_tool, "_look_first": look_first, "_list_again": nothing}
    saved = {k: getattr(stage, k) for k in patches}
    try:
        for k, v in patches.items():
            setattr(stage, k, v)
        anyio.run(stage._walk_dag, walk, None, None, tools)
    finally:
        for k, v in saved.items():
            setattr(stage, k, v)
    # before load_csv: nothing made yet; before drop_rows: get_stats, once, on the loaded session
    assert looked == [("", ["get_stats"]), ("load_csv", ["get_stats"])]
    assert [r.tool for r in walk.history] == ["load_csv", "get_stats", "drop_rows", "get_stats"]
    assert stage._read_since_change(walk, "csv") == {"get_stats"}
