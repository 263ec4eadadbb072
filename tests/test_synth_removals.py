"""State changes that take something away: labelled by a read before and after that shows it gone."""

from __future__ import annotations

import json

import pytest

from firefly.store import Store
from firefly.synth import synthesize
from firefly.synth.offline import _only_removed
from firefly.synth.verify import verify

from . import synth_fixtures as fx

NAMES = {"type": "array", "items": {"type": "string"}}
DELETE = ("memory", "delete_entities")
GONE = {"entities": [], "relations": []}
PRESENT = {"entities": [{"name": "Ada Park", "entityType": "person", "observations": ["Joined in 2025"]}], "relations": []}


@pytest.fixture
def removal_world(tmp_path, monkeypatch):
    monkeypatch.setitem(fx.TOOLS, DELETE, ({"type": "object", "properties": {"entityNames": NAMES}}, False))
    store = Store.open(tmp_path / "removals.db")
    fx.discover(store)
    look = fx.Walk(store, "xlook", "dlook", [("memory", "open_nodes")])  # the initial world has Ada Park
    look.call("memory", "open_nodes", {"names": ["Ada Park"]}, fx.as_text(PRESENT), structured=PRESENT)
    look.finish()
    w = fx.Walk(store, "xdel", "ddel", [("memory", "open_nodes"), DELETE, ("memory", "open_nodes")])
    w.call("memory", "open_nodes", {"names": ["Ada Park"]}, fx.as_text(PRESENT), structured=PRESENT, probe_of=1)
    w.call("memory", "delete_entities", {"entityNames": ["Ada Park"]}, fx.text("Entities deleted successfully"))
    w.call("memory", "open_nodes", {"names": ["Ada Park"]}, fx.as_text(GONE), structured=GONE, probe_of=1)
    w.finish()
    store.catch_up()
    return store


def test_a_removal_is_labelled_by_the_read_after_showing_it_gone_and_fails_before(removal_world):
    synthesize(removal_world)
    verify(removal_world)
    rows = removal_world.conn.execute(
        "SELECT task_id, question, answer, match, probe, verified FROM tasks WHERE kind = 'state-change'").fetchall()
    task_id, question, answer, match, probe, verified = next(r for r in rows if json.loads(r[3])["rule"] == "exact")
    assert json.loads(answer) == GONE and json.loads(probe)["tool"] == "open_nodes"
    assert "Ada Park" in question and verified == 1, question
    verdicts = dict(removal_world.conn.execute("SELECT verifier, passed FROM verdicts WHERE task_id = ?", (task_id,)))
    assert verdicts["fails-before"] == 1  # the read before the change showed Ada Park: doing nothing fails


def test_only_a_result_with_something_taken_away_and_nothing_added_shows_a_removal():
    assert _only_removed(PRESENT, GONE)
    assert _only_removed([{"id": 1}, {"id": 2}], [{"id": 2}])
    assert _only_removed("a.md\nb.md", "b.md")
    assert not _only_removed(GONE, PRESENT)  # something added
    assert not _only_removed([{"id": 1, "v": 1}, {"id": 2}], [{"id": 1, "v": 2}])  # one left, but changed
    assert not _only_removed({"a": [1]}, {"a": [1]})  # nothing changed
    assert not _only_removed("a.md\nb.md", "b.md\nc.md")


def _removal_first(store, looks):
    """Looks at Ada Park in the initial world (each its own exploration), then an exploration
    whose first call removes her, read only after (no probe before: the survey saw her)."""
    for i, shown in enumerate(looks):
        look = fx.Walk(store, f"xlook{i}", f"dlook{i}", [("memory", "open_nodes")])
        look.call("memory", "open_nodes", {"names": ["Ada Park"]}, fx.as_text(shown), structured=shown)
        look.finish()
    w = fx.Walk(store, "xdel", "ddel", [DELETE, ("memory", "open_nodes")])
    w.call("memory", "delete_entities", {"entityNames": ["Ada Park"]}, fx.text("Entities deleted successfully"))
    w.call("memory", "open_nodes", {"names": ["Ada Park"]}, fx.as_text(GONE), structured=GONE, probe_of=0)
    w.finish()
    store.catch_up()
    synthesize(store)
    verify(store)
    return store.conn.execute("SELECT answer, verified FROM tasks WHERE kind = 'state-change'").fetchall()


def test_a_removal_made_first_is_compared_with_what_the_initial_world_showed(tmp_path, monkeypatch):
    monkeypatch.setitem(fx.TOOLS, DELETE, ({"type": "object", "properties": {"entityNames": NAMES}}, False))
    store = Store.open(tmp_path / "first.db")
    fx.discover(store)
    rows = _removal_first(store, [PRESENT])
    assert [(json.loads(a), v) for a, v in rows] == [(GONE, 1)]


def test_no_removal_is_read_from_an_initial_world_that_answered_two_ways(tmp_path, monkeypatch):
    monkeypatch.setitem(fx.TOOLS, DELETE, ({"type": "object", "properties": {"entityNames": NAMES}}, False))
    store = Store.open(tmp_path / "twice.db")
    fx.discover(store)
    other = {"entities": [{"name": "Ada Park", "entityType": "person", "observations": []}], "relations": []}
    assert _removal_first(store, [PRESENT, other]) == []
