"""Readings of the clock and of chance: a task whose label is what its one call returned,
bound to that call (``match["returned"]``), so that an environment scores the answer against
what the episode's own call said (tests/test_simulator.py scores one)."""

from __future__ import annotations

import time

from firefly.locator import resolve

from .test_synth_english import questions, ref, step


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())  # a clock value is one near the time it is read


def _readings(found):
    return [c for c in found if c.match.get("returned")]


def test_the_time_a_clock_tool_tells_is_asked_bound_to_its_call():
    now = _now()
    clock = ref("Get the current date and time in a timezone.", {"timezone": {"type": "string"}}, name="get_current_time")
    s = step(0, "get_current_time", {"timezone": "Asia/Tokyo"}, {"timezone": "Asia/Tokyo", "datetime": now})
    (c,) = _readings(questions([s], [clock]))
    assert c.answer == now and c.template.startswith("reading:") and c.label_steps == {0}
    returned = c.match["returned"]
    assert {k: returned[k] for k in ("server", "tool", "arguments")} == {
        "server": "s", "tool": "get_current_time", "arguments": {"timezone": "Asia/Tokyo"}}
    assert resolve(s.content, s.structured, returned["locator"]) == now
    assert "Asia/Tokyo" in c.question  # the call's arguments are in the question; the zone said back is not asked


def test_a_roll_of_the_dice_is_asked_bound_to_its_call_and_its_time_stamp_is_not():
    now = _now()
    dice = ref("Roll dice using standard notation (e.g. '2d6+3').", {"notation": {"type": "string"}}, name="roll_dice")
    roll = step(0, "roll_dice", {"notation": "2d6"}, {"rolls": [2, 5], "total": 7, "notation": "2d6", "timestamp": now},
                read_only=False)
    found = _readings(questions([roll], [dice]))
    assert [c.answer for c in found] == [7] and found[0].match["returned"]["locator"].endswith("$.total")
    assert found[0].match["rule"] == "number"
    # no constant label for it elsewhere: an effect whose result is chance is not asked about as such
    assert not [c for c in questions([roll], [dice]) if not c.match.get("returned")]


def test_no_reading_after_a_change_of_its_server_nor_of_a_tool_that_neither_tells_the_time_nor_draws():
    now = _now()
    dice = ref("Roll dice using standard notation.", {"notation": {"type": "string"}}, name="roll_dice")
    reset = ref("Reset the dice tray.", {}, name="reset_tray")
    steps = [step(0, "reset_tray", {}, {"ok": True}, read_only=False),
             step(1, "roll_dice", {"notation": "1d20"}, {"total": 13, "notation": "1d20"}, read_only=False)]
    assert not _readings(questions(steps, [dice, reset]))  # the task would need the reset first
    # a listing that shows a time of now is no reading: its time-stamp is no fact, and nothing else moves
    lister = ref("List the jobs of the queue.", {}, name="list_jobs")
    assert not _readings(questions([step(0, "list_jobs", {}, {"jobs": [{"name": "a", "queued_at": now}]})], [lister]))
    # chance only in an example of the description is no chance: the tool finds, it does not draw
    finder = ref("Find orphaned notes.\n\nExample reply: {\"path\": \"Random Thoughts/Old Idea.md\"}", {},
                 name="find_orphans")
    found = questions([step(0, "find_orphans", {}, {"count": 2, "scanned": 5})], [finder])
    assert found and not _readings(found)


def test_an_adapter_that_reads_no_fact_of_the_clock_still_gives_its_reading():
    from firefly.adapters.time import TimeAdapter
    from firefly.synth.model import Exploration
    from firefly.synth.offline import OfflineSynthesizer

    now = _now() + "+08:00"
    clock = ref("Get current time in a specific timezone", {"timezone": {"type": "string"}}, name="get_current_time")
    s = step(0, "get_current_time", {"timezone": "Asia/Singapore"},
             {"timezone": "Asia/Singapore", "datetime": now, "day_of_week": "Monday", "is_dst": False})
    x = Exploration("x1", "d1", [s], adapters={"s": TimeAdapter()}, tools={("s", "get_current_time"): clock})
    found, _ = OfflineSynthesizer().candidates(x)
    # the weekday is the clock's too; a flag is no question (and the zone said back none)
    assert sorted((c.answer, bool(c.match.get("returned"))) for c in found) == [(now, True), ("Monday", True)]
