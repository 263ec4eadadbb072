"""The simulator's lookup: canonical arguments, world state, several results per key,
rebuilds. Recorded worlds are built from events (tests/sim_fixtures.py)."""

from __future__ import annotations

import json

import anyio
import pytest

from firefly.events import IN_BAND_ERROR
from firefly.simulator import MISS_TEXT, Simulator, SimulatorError
from firefly.simulator.canonical import ArgumentsError, call_key, canonical_arguments, normalise_path

from .conftest import projection_dumps
from .sim_fixtures import TOOLS, Walk, discover, notes_world

SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string"},
        "depth": {"type": "integer", "default": 2},
        "opts": {"$ref": "#/$defs/Opts"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"w": {"type": "number", "default": 1.0}}}},
    },
    "$defs": {"Opts": {"type": "object", "properties": {"hidden": {"type": "boolean", "default": False}}}},
}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"path": "/workspace/a", "depth": 2}, {"depth": 2, "path": "/workspace/a"}),  # key order
        ('{"path": "/workspace/a",\n  "depth": 2}', {"path": "/workspace/a", "depth": 2}),  # JSON whitespace
        ({"path": "/workspace/a", "depth": 2.0}, {"path": "/workspace/a", "depth": 2}),  # 1 == 1.0
        ({"path": "/workspace/a"}, {"path": "/workspace/a", "depth": 2}),  # a default filled in
        ({"path": "/workspace/a", "opts": {}}, {"path": "/workspace/a", "opts": {"hidden": False}}),  # through $ref
        ({"items": [{}]}, {"items": [{"w": 1}], "depth": 2}),  # array items
        ({"path": "/workspace/files/"}, {"path": "/workspace/files"}),  # trailing slash
        ({"path": "/workspace/./files/x/../y"}, {"path": "/workspace/files/y"}),  # ./ and ..
        ({"path": "/workspace//files"}, {"path": "/workspace/files"}),
        ({"paths": ["/workspace/a/", "/workspace/b/."]}, {"paths": ["/workspace/a", "/workspace/b"]}),  # nested
    ],
)
def test_canonical_equal(a, b):
    assert canonical_arguments(a, SCHEMA) == canonical_arguments(b, SCHEMA)
    assert call_key("s", "t", canonical_arguments(a, SCHEMA)) == call_key("s", "t", canonical_arguments(b, SCHEMA))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"path": "/workspace/a"}, {"path": "/workspace/a", "depth": 3}),  # not the default
        ({"path": " /workspace/a"}, {"path": "/workspace/a"}),  # text inside strings counts
        ({"path": "files/"}, {"path": "files"}),  # only virtual paths are normalised
        ({"flag": True}, {"flag": 1}),  # true is not 1
        ({"path": "/workspaces/a/"}, {"path": "/workspaces/a"}),  # not under /workspace
    ],
)
def test_canonical_different(a, b):
    assert canonical_arguments(a, SCHEMA) != canonical_arguments(b, SCHEMA)


def test_canonical_rejects_non_objects():
    with pytest.raises(ArgumentsError):
        canonical_arguments("[1, 2]")
    with pytest.raises(ArgumentsError):
        canonical_arguments("{not json")
    assert canonical_arguments(None) == "{}"
    assert normalise_path("/workspace") == "/workspace" and normalise_path("hello/") == "hello/"


@pytest.fixture
def sim(store):
    notes_world(store)
    with Simulator.open(store) as s:
        yield s


def test_exact_hit_returns_the_recorded_result(sim):
    r = sim.call_sync("calc", "add", {"b": 2.0, "a": 1})
    assert r.content == [{"type": "text", "text": "3"}] and r.structured_content == {"sum": 3} and not r.is_error
    assert r.meta["source"] == "recorded" and r.meta["match"] == "exact" and r.meta["exploration_id"] == "xa"
    # a recorded tool-level error is a result too
    missing = sim.call_sync("notes", "read_note", {"path": "/workspace/notes/missing.md", "format": "text"})
    assert missing.is_error and missing.text == "no such note" and missing.meta["source"] == "recorded"


def test_strict_miss_is_a_tool_error(sim):
    r = sim.call_sync("calc", "add", {"a": 1, "b": 3})
    assert r.is_error and r.text == MISS_TEXT and r.meta["miss"] == "arguments"
    unknown = sim.call_sync("calc", "divide", {"a": 1})
    assert unknown.is_error and "unknown tool calc/divide" in unknown.text
    bad = sim.call_sync("calc", "add", "[1]")
    assert bad.is_error and "JSON object" in bad.text


def test_results_without_a_result_are_not_looked_up(sim):
    # the timed-out attempt and the skipped call left no result; the retry's result is served
    r = sim.call_sync("notes", "read_note", {"path": "/workspace/notes/ideas.md/"})
    assert r.text == "fly" and r.meta["step"] == 2
    assert sim.call_sync("notes", "write_note", {"path": "/workspace/notes/x.md", "text": "x"}).text == MISS_TEXT
    rows = sim.store.conn.execute("SELECT count(*) FROM sim_calls").fetchone()[0]
    assert rows == sim.store.conn.execute("SELECT count(*) FROM calls WHERE error_class IS NULL").fetchone()[0] == 12


def test_an_in_band_error_is_served_in_its_world_as_the_error_it_is(store):
    """A reply whose text reports a failure though isError is false (in-band) is what the
    server answered in that world: replay serves it as an error (a read of a note not written
    yet), not a miss, and a write that failed so changed nothing."""
    discover(store)
    w = Walk(store, "xi")
    path = {"path": "/workspace/notes/new.md"}
    w.call("notes", "read_note", path, '{"error": "Note not found"}', error_class=IN_BAND_ERROR)
    w.call("notes", "write_note", {**path, "text": "hi"}, "wrote 2 bytes")
    w.call("notes", "write_note", {"path": "/workspace/notes/bad.md", "text": ""}, '{"error": "text is empty"}',
           error_class=IN_BAND_ERROR)
    w.call("notes", "read_note", path, "hi")
    store.catch_up()
    with Simulator.open(store) as sim:
        ep = sim.episode()
        before = ep.call_sync("notes", "read_note", path)
        assert before.is_error and "Note not found" in before.text and before.meta["source"] == "recorded"
        assert ep.call_sync("notes", "write_note", {**path, "text": "hi"}).text == "wrote 2 bytes"
        bad = ep.call_sync("notes", "write_note", {"path": "/workspace/notes/bad.md", "text": ""})
        assert bad.is_error and "text is empty" in bad.text and len(ep.effects) == 1  # no effect
        assert ep.call_sync("notes", "read_note", path).text == "hi"  # the world after the one write
        # a call that left no result (timed out, skipped) is still never served
        w.call("notes", "read_note", {"path": "/workspace/notes/slow.md"}, "", error_class="timeout")
        store.catch_up()
        sim.reload()
        assert sim.episode().call_sync("notes", "read_note", {"path": "/workspace/notes/slow.md"}).text == MISS_TEXT


def test_replaying_a_trajectory_in_one_episode_hits_every_step(sim):
    ep = sim.episode()
    assert ep.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"}).text == "buy milk"
    w = ep.call_sync("notes", "write_note", {"text": "buy eggs", "path": "/workspace/notes/todo.md"})
    assert w.text == "wrote 8 bytes" and len(ep.effects) == 1
    assert ep.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"}).text == "buy eggs"
    # the episode's state is the explorer's: the recorded states match step by step
    recorded = [r[0] for r in sim.store.conn.execute("SELECT state FROM calls WHERE exploration_id = 'xa' ORDER BY step")]
    assert ep.state == recorded[3]


def test_state_decides_which_result_and_episodes_are_separate(sim):
    before, after = sim.episode(), sim.episode()
    after.call_sync("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggs"})
    assert after.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"}).text == "buy eggs"
    assert before.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"}).text == "buy milk"
    # effects on another server do not matter; calc never saw an effect
    r = after.call_sync("calc", "add", {"a": 2, "b": 2})
    assert r.text == "4" and r.meta["state_match"] == "server"
    # recorded only before any effect on notes: after a write that was never read back, a miss
    assert after.call_sync("notes", "list_notes", {}).text == MISS_TEXT
    assert after.call_sync("notes", "list_notes", {}).meta["miss"] == "state"
    assert before.call_sync("notes", "list_notes", {"folder": "/workspace/notes/"}).text == "todo.md\nideas.md"
    # a write that was never recorded changes nothing in strict mode (an error has no effect)
    other = sim.episode()
    assert other.call_sync("notes", "write_note", {"path": "/workspace/notes/new.md", "text": "?"}).is_error
    assert other.effects == [] and other.call_sync("notes", "list_notes", {}).text == "todo.md\nideas.md"


def test_a_clock_gives_its_recorded_results_in_order(sim):
    # recorded three times: twice in xa (after a write on notes), once in xc (fresh world)
    assert sim.call_sync("notes", "now", {}).text == "2026-01-02T09:00:00Z"  # a fresh episode: xc's
    ep = sim.episode()
    ep.call_sync("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggs"})
    times = [ep.call_sync("notes", "now", {}) for _ in range(3)]
    assert [t.text for t in times] == ["2026-01-01T10:00:00Z", "2026-01-01T10:00:05Z", "2026-01-01T10:00:05Z"]
    assert [t.meta["repeat"] for t in times] == [0, 1, 2]
    assert times[0].meta["position"] < times[1].meta["position"] == times[2].meta["position"]
    # all of them stay visible in the lookup table
    texts = [r[0] for r in sim.store.conn.execute(
        "SELECT content FROM sim_calls WHERE server = 'notes' AND tool = 'now' ORDER BY position")]
    assert len(texts) == 3


def test_a_reading_of_the_clock_is_scored_against_what_the_episode_s_own_call_returned(sim):
    from firefly.env import expected, reward
    from firefly.synth.model import Task

    returned = {"server": "notes", "tool": "now", "arguments": {}, "locator": "$.content[0].text"}
    task = Task(task_id="t", exploration_id="xc", dag_id="d", kind="lookup", question="What time is it now?",
                answer="2026-01-02T09:00:00Z", match={"rule": "normalized", "returned": returned},
                trajectory=[{"step": 0, "server": "notes", "tool": "now", "arguments": {}}], probe=None,
                provenance=[{"step": 0, "path": "$.content[0].text", "value": "2026-01-02T09:00:00Z", "role": "answer"}],
                derivation={"op": "value"})
    fresh = sim.episode()  # no call yet: the recorded label (what a fresh episode is given), but a guess scores 0
    assert expected(task, fresh) == task.answer and reward(task, "2026-01-02T09:00:00Z", fresh) == 0.0
    assert fresh.call_sync("notes", "now", {}).text == task.answer and reward(task, task.answer, fresh) == 1.0
    assert reward(task, task.answer, None) == 1.0  # a text-only reward has no episode to look in: the label
    ep = sim.episode()  # another world: the clock said another time, and that is the right answer
    ep.call_sync("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggs"})
    ep.call_sync("notes", "now", {})
    assert reward(task, "2026-01-01T10:00:00Z", ep) == 1.0 and reward(task, task.answer, ep) == 0.0
    ep.call_sync("notes", "now", {})  # read again: the last reading counts
    assert expected(task, ep) == "2026-01-01T10:00:05Z" and reward(task, "2026-01-01T10:00:00Z", ep) == 0.0
    # a call with other arguments is not the reading asked for; a task without "returned" keeps its label
    assert ep.returned("notes", "now", {"zone": "UTC"}) is None and ep.returned("calc", "add", {"a": 1, "b": 2}) is None
    plain = Task(**{**task.__dict__, "match": {"rule": "normalized"}})
    assert expected(plain, ep) == task.answer and reward(plain, "2026-01-01T10:00:05Z", ep) == 0.0


def test_async_call_and_the_shorthand(sim):
    async def main():
        ep = sim.episode()
        first = await ep.call("calc", "add", {"a": 10, "b": 20.5})
        return first, await sim.call("calc", "add", {"a": 10.0, "b": 20.5})

    first, second = anyio.run(main)
    assert first.structured_content == second.structured_content == {"sum": 30.5}


def test_rebuild_gives_the_same_lookups(store):
    notes_world(store)
    calls = [("calc", "add", {"a": 1, "b": 2}), ("notes", "now", {}), ("notes", "list_notes", {}),
             ("notes", "read_note", {"path": "/workspace/notes/ideas.md"}), ("calc", "add", {"a": 5})]
    with Simulator.open(store) as sim:
        before = [sim.call_sync(*c) for c in calls]
    dumps = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == dumps
    with Simulator.open(store) as sim:
        assert [sim.call_sync(*c) for c in calls] == before


def test_a_later_schema_default_does_not_change_recorded_keys(store):
    discover(store)
    Walk(store, "x1").call("notes", "read_note", {"path": "/workspace/a"}, "A")
    # the schema changes its default afterwards: the recorded call keeps the default it had
    changed = {("notes", "read_note"): {**TOOLS_READ, "input_schema": {**TOOLS_READ["input_schema"], "properties": {
        "path": {"type": "string"}, "format": {"type": "string", "default": "markdown"}}}}}
    discover(store, changed, version=1)
    store.catch_up()
    with Simulator.open(store) as sim:
        assert sim.call_sync("notes", "read_note", {"path": "/workspace/a", "format": "text"}).text == "A"
        assert sim.call_sync("notes", "read_note", {"path": "/workspace/a"}).is_error  # now means markdown
    dumps = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == dumps


def test_unknown_mode_is_one_clear_error(store):
    with pytest.raises(SimulatorError, match="unknown simulator mode"):
        Simulator.open(store, mode="fuzzy")


from .sim_fixtures import TOOLS  # noqa: E402

TOOLS_READ = TOOLS[("notes", "read_note")]


def _computing_world(store, *, stateful: bool, moving: bool = False, chance: bool = False, writes: bool = False):
    """A server of tools without annotations: ``sum`` and ``max`` compute; with ``stateful``
    a ``save_total`` that writes too. One exploration calls sum, then max."""
    number_list = {"type": "object", "properties": {"numbers": {"type": "array", "items": {"type": "number"}}}}
    tools = {("mathy", "sum"): {"description": "Sum of numbers.", "input_schema": number_list, "annotations": {}},
             ("mathy", "max"): {"description": "Largest of numbers.", "input_schema": number_list, "annotations": {}}}
    if stateful:
        tools[("mathy", "save_total")] = {"description": "Save a running total.", "input_schema": number_list,
                                          "annotations": {}}
    if writes:  # no verb says it, but it takes a place to write its result to (and one call gave it)
        tools[("mathy", "histogram")] = {"description": "Histogram of numbers.", "annotations": {}, "input_schema": {
            "type": "object", "properties": {"numbers": number_list["properties"]["numbers"],
                                             "output_path": {"type": "string"}}}}
    if chance:
        tools[("mathy", "bootstrap_mean")] = {"description": "Bootstrap resampling of the mean.",
                                              "input_schema": number_list, "annotations": {}}
    discover(store, tools)
    w = Walk(store, "xm", tools)
    w.call("mathy", "sum", {"numbers": [1, 2]}, "3")
    w.call("mathy", "max", {"numbers": [4, 9]}, "9")
    if writes:
        w.call("mathy", "histogram", {"numbers": [4, 9]}, "drawn")  # an optional place left out: no write
        store.catch_up()
        with Simulator.open(store) as sim:
            assert sim.unchanging == {"mathy"}
        w.call("mathy", "histogram", {"numbers": [4, 9], "output_path": "/workspace/h.png"}, "saved")
    if chance:  # a tool that answers by chance answers two ways: no sign of a world that moved
        w.call("mathy", "bootstrap_mean", {"numbers": [4, 9]}, "6.1")
        Walk(store, "xc", tools).call("mathy", "bootstrap_mean", {"numbers": [4, 9]}, "6.7")
    if moving:  # the log shows a call of it answering two ways
        Walk(store, "xn", tools).call("mathy", "sum", {"numbers": [1, 2]}, "4")
    store.catch_up()


@pytest.mark.parametrize("chance", [False, True])
def test_a_server_that_changes_nothing_answers_in_any_state(store, chance):
    # max was recorded only after sum (an effect: nothing says it reads); but no tool of the
    # server changes anything (a bootstrap answers by chance, it changes nothing either), so
    # a fresh world gets the recorded result
    _computing_world(store, stateful=False, chance=chance)
    with Simulator.open(store) as sim:
        assert sim.unchanging == {"mathy"}
        r = sim.call_sync("mathy", "max", {"numbers": [4, 9]})
        assert r.text == "9" and r.meta["state_match"] == "any"
        ep = sim.episode()  # in order, the world tier still answers first
        ep.call_sync("mathy", "sum", {"numbers": [1, 2]})
        assert ep.call_sync("mathy", "max", {"numbers": [4, 9]}).meta["state_match"] == "world"


@pytest.mark.parametrize("stateful, moving, writes", [(True, False, False), (False, True, False), (False, False, True)])
def test_a_server_that_may_change_still_misses_in_another_state(store, stateful, moving, writes):
    # a tool that writes (by its name or by a place to write to), or a call the log shows
    # answering two ways: the state matters
    _computing_world(store, stateful=stateful, moving=moving, writes=writes)
    with Simulator.open(store) as sim:
        assert sim.unchanging == frozenset()
        r = sim.call_sync("mathy", "max", {"numbers": [4, 9]})
        assert r.is_error and r.text == MISS_TEXT


def test_a_footprint_tells_unrelated_effects_apart():
    from firefly.simulator.footprint import footprint, unrelated

    read = footprint({"path": "/workspace/files/config/app.json"})
    assert unrelated(read, "size: 120", footprint({"path": "/workspace/notes/exploration-notes-473"}), "created")
    # a folder above the file, the file itself, or a write into the folder listed: related
    assert not unrelated(read, "", footprint({"path": "/workspace/files/config"}), "")
    assert not unrelated(footprint({"folder": "/workspace/files"}), "", footprint({"path": "/workspace/files/a.md"}), "")
    # a call or an effect that names nothing may touch anything
    assert not unrelated(footprint({}), "", footprint({"path": "/workspace/x"}), "")
    assert not unrelated(read, "", footprint({"limit": 3}), "")
    # the same word in a query; a value the effect made (an id in its result); one the call showed
    assert not unrelated(footprint({"sql": "SELECT count(*) FROM orders"}), "",
                         footprint({"sql": "INSERT INTO orders VALUES (1)"}), "")
    assert unrelated(footprint({"sql": "SELECT * FROM products"}), "", footprint({"sql": "INSERT INTO orders VALUES (1)"}), "")
    assert not unrelated(footprint({"session_id": "s-42aa"}), "", footprint({"file": "/workspace/a.csv"}), "session s-42aa")
    assert not unrelated(footprint({"session_id": "s-42aa"}), "closed: s-17bb", footprint({"session_id": "s-17bb"}), "")
    assert unrelated(footprint({"session_id": "s-42aa"}), "rows: 3", footprint({"session_id": "s-17bb"}), "closed")


def test_an_effect_that_names_only_paths_is_told_apart_by_its_paths():
    from firefly.simulator.footprint import footprint, unrelated

    moved = footprint({"source": "/workspace/files/a.md", "destination": "/workspace/db/shop-notes-452.md"})
    written = footprint({"path": "/workspace/db/shop-notes-580.md", "content": "# Findings"})
    # the file written beside the one moved shares words with it (shop, notes), not a path
    assert unrelated(written, "wrote 10 bytes", moved, "moved")
    # the file moved, or the folder it went into: related
    assert not unrelated(footprint({"path": "/workspace/db/shop-notes-452.md"}), "", moved, "")
    assert not unrelated(footprint({"path": "/workspace/db"}), "", moved, "")
    # an effect that names anything else (a text), or paths that are not absolute: the words still count
    assert not unrelated(moved, "", written, "")
    relative = footprint({"source": "notes/shop-notes-452.md"})
    assert not unrelated(footprint({"path": "/workspace/vault/notes/shop-notes-452.md"}), "", relative, "")


def test_a_call_recorded_after_an_unrelated_effect_answers_without_it(store):
    discover(store)
    w = Walk(store, "xu")
    w.call("notes", "write_note", {"path": "/workspace/drafts/plan.md", "text": "draft"}, "wrote 5 bytes")
    w.call("notes", "read_note", {"path": "/workspace/notes/todo.md"}, "buy milk")
    w.call("notes", "list_notes", {"folder": "/workspace/drafts"}, "plan.md")
    store.catch_up()
    with Simulator.open(store) as sim:
        # the note read never saw the draft written elsewhere: a fresh world gets its result
        r = sim.call_sync("notes", "read_note", {"path": "/workspace/notes/todo.md"})
        assert r.text == "buy milk" and r.meta["state_match"] == "unrelated"
        # the listing of the draft's folder depends on it: still a miss, never a stale answer
        assert sim.call_sync("notes", "list_notes", {"folder": "/workspace/drafts"}).text == MISS_TEXT
        # an effect the call depends on, missing or extra, keeps it a miss
        ep = sim.episode()
        ep.call_sync("notes", "write_note", {"path": "/workspace/drafts/plan.md", "text": "draft"})
        assert ep.call_sync("notes", "list_notes", {"folder": "/workspace/drafts"}).text == "plan.md"


def test_effects_the_log_shows_changed_nothing_a_call_meets_are_left_out(store):
    """Tier 5: the listing of all notes answered alike on the initial world and after a
    draft about the plan was written twice (related to the plan by its words, so tier 4
    cannot leave it out): without that pair, a world gets the listing recorded
    after them; the note written next, probed by that listing, is made there too."""
    discover(store)
    Walk(store, "survey").call("notes", "list_notes", {}, "todo.md")  # the initial world
    w = Walk(store, "xs")
    w.call("notes", "write_note", {"path": "/workspace/notes/draft.md", "text": "plan"}, "wrote 4 bytes")  # 0
    w.call("notes", "write_note", {"path": "/workspace/notes/draft.md", "text": "plan dropped"}, "wrote 12 bytes")  # 1
    w.call("notes", "list_notes", {}, "todo.md", probe_of=3)  # 2: the world the next change meets, as it was
    w.call("notes", "write_note", {"path": "/workspace/notes/plan.md", "text": "plan"}, "wrote 4 bytes")  # 3
    w.call("notes", "list_notes", {}, "todo.md\nplan.md", probe_of=3)  # 4
    w.call("notes", "write_note", {"path": "/workspace/notes/plan.md", "text": "plan b"}, "wrote 6 bytes")  # 5
    w.call("notes", "list_notes", {}, "todo.md\nplan.md")  # 6: alike after 5 as before it
    store.catch_up()
    plan = {"path": "/workspace/notes/plan.md", "text": "plan"}
    with Simulator.open(store) as sim:
        ep = sim.episode()
        made = ep.call_sync("notes", "write_note", plan)
        assert made.text == "wrote 4 bytes" and made.meta["state_match"] == "unchanged"
        listed = ep.call_sync("notes", "list_notes", {})
        assert listed.text == "todo.md\nplan.md" and listed.meta["state_match"] == "unchanged"
        # a run is left out whole or not at all: the draft written once is a world never seen
        ep = sim.episode()
        ep.call_sync("notes", "write_note", {"path": "/workspace/notes/draft.md", "text": "plan"})
        assert ep.call_sync("notes", "write_note", plan).text == MISS_TEXT
        # a change no read was probed before: nothing shows what it met, so only its own world
        ep = sim.episode()
        assert ep.call_sync("notes", "write_note", {"path": "/workspace/notes/plan.md", "text": "plan b"}).text == MISS_TEXT
        # a run after which the listing answered alike (step 5) is left out too
        ep = sim.episode()
        ep.call_sync("notes", "write_note", plan)
        ep.call_sync("notes", "list_notes", {})
        assert ep.call_sync("notes", "list_notes", {}).text == "todo.md\nplan.md"
    with Simulator.open(store) as sim:
        # without the probe before it, nothing shows what the change met: a miss
        sim.exclude = {p for (p,) in store.conn.execute("SELECT position FROM sim_calls WHERE step = 2 AND exploration_id = 'xs'")}
        assert sim.episode().call_sync("notes", "write_note", plan).text == MISS_TEXT


def test_a_read_that_did_not_show_a_change_is_no_witness_of_the_world_it_met(store):
    """The listing probed around a rewrite of todo.md answered alike before and after it: it
    says nothing of what the rewrite met, so the rewrite is served only in its own world."""
    discover(store)
    Walk(store, "survey").call("notes", "list_notes", {}, "todo.md")
    w = Walk(store, "xq")
    w.call("notes", "write_note", {"path": "/workspace/notes/draft.md", "text": "todo"}, "wrote 4 bytes")  # 0
    w.call("notes", "list_notes", {}, "todo.md", probe_of=2)  # 1: the draft shows nowhere here either
    rewrite = {"path": "/workspace/notes/todo.md", "text": "todo v2"}
    w.call("notes", "write_note", rewrite, "wrote 7 bytes")  # 2
    w.call("notes", "list_notes", {}, "todo.md", probe_of=2)  # 3: alike after it
    store.catch_up()
    with Simulator.open(store) as sim:
        assert sim.episode().call_sync("notes", "write_note", rewrite).text == MISS_TEXT


def test_a_change_that_made_what_a_call_names_is_never_left_out(store):
    """The note written first was saved as note-77 (its reply says so); the listing did not
    show it, but the call that edits note-77 needs it: without it there is no such note."""
    discover(store)
    Walk(store, "survey").call("notes", "list_notes", {}, "todo.md")
    w = Walk(store, "xm")
    w.call("notes", "write_note", {"path": "/workspace/notes/draft.md", "text": "x"}, "saved as note-77")  # 0
    w.call("notes", "list_notes", {}, "todo.md", probe_of=2)  # 1
    edit = {"path": "note-77", "text": "y"}
    w.call("notes", "write_note", edit, "wrote 1 byte")  # 2
    w.call("notes", "list_notes", {}, "todo.md\nnote-77", probe_of=2)  # 3
    store.catch_up()
    with Simulator.open(store) as sim:
        assert sim.episode().call_sync("notes", "write_note", edit).text == MISS_TEXT


def test_an_option_names_nothing_a_call_could_be_unrelated_by():
    from firefly.simulator.footprint import footprint, unrelated

    schema = {"type": "object", "properties": {"scale": {"type": "string", "default": "css"},
                                               "format": {"type": "string", "enum": ["png", "jpeg"]},
                                               "name": {"type": "string"}}}
    # a screenshot of "the current page" with options only: it may depend on any effect
    shot = footprint({"scale": "css", "format": "png"}, schema)
    assert shot.empty and not unrelated(shot, "", footprint({"url": "http://127.0.0.1/about.html"}), "")
    assert footprint({"scale": "css", "name": "front-page"}, schema).values == {"front-page"}


def test_an_effect_that_wrote_only_to_its_output_path_is_unrelated_to_a_read_of_its_input(store):
    from firefly.adapters.verbs import written_places

    pdf = {"input_path": {"type": "string"}, "output_path": {"type": "string"}, "text": {"type": "string"}}
    tools = dict(TOOLS)
    tools[("notes", "stamp_pdf")] = {"description": "Stamp a PDF and save it to a new file.",
                                     "input_schema": {"type": "object", "properties": pdf},
                                     "annotations": {"readOnlyHint": False}}
    tools[("notes", "move_pdf")] = {"description": "Move a PDF.", "input_schema": {"type": "object", "properties": pdf},
                                    "annotations": {"readOnlyHint": False}}
    discover(store, tools)
    w = Walk(store, "xo", tools)
    w.call("notes", "stamp_pdf", {"input_path": "/workspace/data/a.pdf", "output_path": "/workspace/data/a-stamped.pdf",
                                  "text": "OK"}, "stamped /workspace/data/a.pdf into /workspace/data/a-stamped.pdf")
    w.call("notes", "read_note", {"path": "/workspace/data/a.pdf"}, "two pages")
    w.call("notes", "read_note", {"path": "/workspace/data/a-stamped.pdf"}, "two pages, stamped")
    store.catch_up()
    with Simulator.open(store) as sim:
        # the stamp read a.pdf and wrote a-stamped.pdf: a.pdf read in a fresh world answers as recorded
        r = sim.call_sync("notes", "read_note", {"path": "/workspace/data/a.pdf"})
        assert r.text == "two pages" and r.meta["state_match"] == "unrelated"
        # what it wrote depends on it
        assert sim.call_sync("notes", "read_note", {"path": "/workspace/data/a-stamped.pdf"}).text == MISS_TEXT
    schema = tools[("notes", "stamp_pdf")]["input_schema"]
    assert written_places("stamp_pdf", schema, {"output_path": "/workspace/b.pdf"}) == ["/workspace/b.pdf"]
    # a move takes its source away; no output path filled: it may have changed anything it names
    assert written_places("move_pdf", schema, {"output_path": "/workspace/b.pdf"}) is None
    assert written_places("stamp_pdf", schema, {"input_path": "/workspace/a.pdf"}) is None


def test_a_call_that_writes_where_an_effect_wrote_does_not_depend_on_what_the_effect_left_there(store):
    """edges_sobel wrote out.png; find_contours reads a.png and saves its own picture to the
    same out.png (saying that path back): it overwrites, so it answers as recorded without
    the sobel step, which a task then does not need. A read of out.png still depends on it."""
    pic = {"input_path": {"type": "string"}, "output_path": {"type": "string"}}
    tools = dict(TOOLS)
    tools[("notes", "edges_sobel")] = {"description": "Sobel gradient magnitude.", "annotations": {"readOnlyHint": False},
                                       "input_schema": {"type": "object", "properties": pic}}
    tools[("notes", "find_contours")] = {"description": "Find contours after thresholding.",
                                         "annotations": {"readOnlyHint": True},
                                         "input_schema": {"type": "object", "properties": pic}}
    discover(store, tools)
    out, src = "/workspace/data/a-out.png", "/workspace/data/a.png"
    w = Walk(store, "xw", tools)
    w.call("notes", "edges_sobel", {"input_path": src, "output_path": out}, f"Sobel magnitude saved to {out}")
    w.call("notes", "find_contours", {"input_path": src, "output_path": out}, json.dumps({"count": 1, "annotated_image": out}))
    w.call("notes", "read_note", {"path": out}, "an edge picture")
    store.catch_up()
    with Simulator.open(store) as sim:
        r = sim.call_sync("notes", "find_contours", {"input_path": src, "output_path": out})
        assert json.loads(r.text)["count"] == 1 and r.meta["state_match"] == "unrelated"
        assert sim.call_sync("notes", "read_note", {"path": out}).text == MISS_TEXT


def test_an_effect_that_makes_something_from_a_template_leaves_the_template_as_it_was(store):
    from firefly.adapters.verbs import read_inputs

    tools = dict(TOOLS)
    tools[("notes", "create_deck_from_template")] = {
        "description": "Create a deck from a template.", "annotations": {"readOnlyHint": False},
        "input_schema": {"type": "object", "properties": {"template_path": {"type": "string"}}}}
    discover(store, tools)
    w = Walk(store, "xt", tools)
    w.call("notes", "create_deck_from_template", {"template_path": "/workspace/data/deck.pptx"},
           "Created deck_1 from template '/workspace/data/deck.pptx'")
    w.call("notes", "read_note", {"path": "/workspace/data/deck.pptx"}, "28251 bytes")
    w.call("notes", "read_note", {"path": "deck_1"}, "one slide")
    store.catch_up()
    with Simulator.open(store) as sim:
        r = sim.call_sync("notes", "read_note", {"path": "/workspace/data/deck.pptx"})
        assert r.text == "28251 bytes" and r.meta["state_match"] == "unrelated"
        # what it made depends on it
        assert sim.call_sync("notes", "read_note", {"path": "deck_1"}).text == MISS_TEXT
    assert read_inputs("create_deck_from_template", {"template_path": "/workspace/data/deck.pptx"}) == [
        "/workspace/data/deck.pptx"]
    # a change that is no making one (an update, a move) may change what it was given
    assert read_inputs("update_deck", {"template_path": "/workspace/data/deck.pptx"}) == []
    assert read_inputs("move_from", {"source": "/workspace/data/deck.pptx"}) == []
    # an effect that derives new files from a file reads every file it is given
    assert read_inputs("imageprocessing__extract_images", {"pdf_path": "/workspace/data/a.pdf", "output_format": "png"}) \
        == ["/workspace/data/a.pdf"]
    assert read_inputs("edit_pdf", {"pdf_path": "/workspace/data/a.pdf"}) == []  # an edit may change it


def test_a_call_that_makes_something_itself_still_depends_on_what_an_effect_made_from_its_input(store):
    tools = dict(TOOLS)
    tools[("notes", "create_deck_from_template")] = {
        "description": "Create a deck from a template.", "annotations": {"readOnlyHint": False},
        "input_schema": {"type": "object", "properties": {"template_path": {"type": "string"}}}}
    tools[("notes", "open_deck")] = {"description": "Open a deck file.", "annotations": {"readOnlyHint": True},
                                     "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}
    discover(store, tools)
    w = Walk(store, "xm", tools)
    w.call("notes", "create_deck_from_template", {"template_path": "/workspace/data/deck.pptx"}, "Created deck_1")
    w.call("notes", "open_deck", {"path": "/workspace/data/deck.pptx"}, "Opened deck_2")
    store.catch_up()
    with Simulator.open(store) as sim:  # a fresh world would open it as deck_1: no recorded answer
        assert sim.call_sync("notes", "open_deck", {"path": "/workspace/data/deck.pptx"}).text == MISS_TEXT
