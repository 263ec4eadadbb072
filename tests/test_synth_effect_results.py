"""Tasks about what an effect's own reply reports: the effect is the label's call."""

from __future__ import annotations

import json

import pytest

from firefly.store import Store
from firefly.synth import synthesize
from firefly.synth.verify import verify

from . import synth_fixtures as fx

PATH = {"type": "string"}
EFFECTS = {
    ("csv", "remove_duplicates"): ({"type": "object", "properties": {"file": PATH}, "required": ["file"]}, False),
    ("csv", "rename_column"): ({"type": "object", "properties": {"file": PATH, "old": PATH, "new": PATH}}, False),
    ("csv", "open_session"): ({"type": "object", "properties": {"file": PATH}, "required": ["file"]}, False),
    ("dice", "roll_dice"): ({"type": "object", "properties": {"notation": PATH}}, False),
    ("csv", "save_parts"): ({"type": "object", "properties": {"file": PATH, "ranges": {"type": "string"}}}, False),
    ("csv", "preview"): ({"type": "object", "properties": {"file": PATH}, "required": ["file"]}, True),
}
FILE = "/workspace/data/sales.csv"


@pytest.fixture
def effect_world(tmp_path, monkeypatch):
    for key, value in EFFECTS.items():
        monkeypatch.setitem(fx.TOOLS, key, value)
    store = Store.open(tmp_path / "effects.db")
    fx.discover(store)
    look = fx.Walk(store, "xlook", "dlook", [("csv", "preview")])  # a read of the initial world
    look.call("csv", "preview", {"file": FILE}, fx.as_text({"rows": [{"id": 1, "city": "Portland"}]}))
    look.finish()
    w = fx.Walk(store, "xcsv", "dcsv", [("csv", "remove_duplicates"), ("csv", "rename_column")])
    w.call("csv", "remove_duplicates", {"file": FILE}, fx.as_text(
        {"success": True, "message": "Duplicates removed", "rows_before": 20, "rows_after": 17, "dedup_time": 0.42}))
    w.call("csv", "rename_column", {"file": FILE, "old": "qty", "new": "quantity"},
           fx.as_text({"success": True, "renamed": "quantity", "file": FILE}))
    w.call("csv", "open_session", {"file": FILE}, fx.as_text({"session": "269cb2eb", "opened": True}))
    w.finish()
    p = fx.Walk(store, "xparts", "dparts", [("csv", "save_parts")])
    p.call("csv", "save_parts", {"file": FILE, "ranges": '["1-5", "6-10", "11-17"]'}, fx.as_text(
        {"result": "Split 17 rows of sales.csv into 3 parts", "part_id": "part_3", "ranges_requested": 3,
         "largest_part_rows": 7, "parts_written": 3, "shape": "Line2D(Point2D(0, 0), Point2D(4, 0))"}))
    p.finish()
    r = fx.Walk(store, "xseen", "dseen", [("csv", "rename_column")])  # a reply that repeats the world
    r.call("csv", "rename_column", {"file": FILE, "old": "city", "new": "town"},
           fx.as_text({"columns": ["id", "town"], "first_town": "Portland", "columns_now": 2}))
    r.finish()
    d = fx.Walk(store, "xdice", "ddice", [("dice", "roll_dice")])
    d.call("dice", "roll_dice", {"notation": "2d6"}, fx.as_text({"rolls": [6, 5], "sum": 11}))
    d.finish()
    store.catch_up()
    return store


def test_an_effect_is_asked_about_what_its_reply_reports_and_the_task_verifies(effect_world):
    synthesize(effect_world)
    verify(effect_world)
    rows = effect_world.conn.execute(
        "SELECT question, answer, template, trajectory, verified FROM tasks WHERE template LIKE 'effect:%'").fetchall()
    answers = {json.loads(a) for _, a, _, _, _ in rows if not a.startswith(("{", "["))}
    assert 17 in answers  # the rows left: what the effect found out
    for question, answer, _, trajectory, verified in rows:
        calls = [(c["tool"], c["arguments"]) for c in json.loads(trajectory)]
        assert calls[-1][0] in ("remove_duplicates", "rename_column", "open_session", "save_parts")  # the effect is the label's call
        assert question.startswith(("Remove", "Please remove", "Rename", "Please rename", "Save", "Please save",
                                    "Do the following"))
    left = next(r for r in rows if json.loads(r[1]) == 17)
    assert left[4] == 1, left  # grounded, replayed, not leaked, no padding
    assert "sales.csv" in left[0]
    # the echo of the arguments, the status, how long the call took, a token it made up, chance: never asked
    assert not answers & {"quantity", "Duplicates removed", 0.42, "269cb2eb"}
    # nor a message saying the call back, an id it made up, how many things it was given
    assert 7 in answers and not answers & {"Split 17 rows of sales.csv into 3 parts", "part_3"}
    asked = " ".join(q for q, *_ in rows)
    assert "ranges requested" not in asked and "parts written" in asked  # a count of other things is a fact
    assert "Line2D(Point2D(0, 0), Point2D(4, 0))" in answers  # a value with spaces is no message
    assert not effect_world.conn.execute("SELECT count(*) FROM tasks WHERE exploration_id = 'xdice'").fetchone()[0]
    # a value of the reply that the world showed before the effect (a survey read the first
    # town) is the world's, not the effect's: not asked; a count the effect gave is
    seen = [json.loads(a) for a, in effect_world.conn.execute(
        "SELECT answer FROM tasks WHERE exploration_id = 'xseen' AND template LIKE 'effect:%'")]
    assert 2 in seen and "Portland" not in seen


def test_an_effect_says_a_long_value_and_gives_a_text_of_several_lines_as_a_block():
    from firefly.synth.phrasing import generic_effect, generic_scope

    long = "Observed Attendees Maya Okafor, Lena Fischer, Daniel Brandt and the title of the meeting."
    assert generic_effect("update_task", {"task": "t-2", "description": long}) == \
        f'update the task "t-2" with description "{long}"'
    assert generic_scope("get_task", {"description": long}) is None  # a question about a read quotes no such text
    note = "# Summary\n\n- size: 67\n"
    said = generic_effect("create_note", {"content": note, "path": "a.md"})
    assert said == 'create the note with path "a.md" and the content below:\n# Summary\n\n- size: 67\n'
    assert generic_effect("create_note", {"content": "x\n" * 600, "path": "a.md"}) is None  # a document: no words


def test_a_numbered_step_ending_with_a_block_has_no_lone_full_stop():
    from firefly.synth.offline import _after_blocks

    assert _after_blocks("Do:\n1. Write a.md with the content below:\n# A\n- b\n.\n2. Read it.") == \
        "Do:\n1. Write a.md with the content below:\n# A\n- b\n2. Read it."


def test_a_short_value_an_effect_changed_is_what_its_probe_before_and_after_differ_in():
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import _changed_since

    def step(n, tool, args, value, *, probe_of=None, read_only=True, hash_="h"):
        return Step(n, "tasks", tool, args, fx.as_text(value), None, True, read_only, [], "s", probe_of, hash_)

    pre = step(0, "get_epic", {"epic_id": "e1"}, {"id": "e1", "priority": "P2"}, probe_of=1)
    update = step(1, "update_epic", {"epic_id": "e1", "priority": "P0"}, {"success": True}, read_only=False, hash_="u")
    post = step(2, "get_epic", {"epic_id": "e1"}, {"id": "e1", "priority": "P0"}, probe_of=1)
    assert _changed_since(Exploration("x", "d", [pre, update, post]), update, post) == {"priority": "P0"}
