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
