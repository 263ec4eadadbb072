"""Reads whose input is a text of several lines (code to lint, two texts to compare): the
question names each text "the <argument> below" and gives it after the question; an empty
object or an unrequired empty list or text is no argument a question states; a diff's lines
are no facts; a result the recorder cut short is never asked about through a given text."""

from __future__ import annotations

import json
from typing import Any

from firefly.explore.executor import TRUNCATION_MARKER
from firefly.explore.policy import ToolRef
from firefly.synth.facts import Names, looks_like_diff, read_text
from firefly.synth.model import Candidate, Exploration, Step
from firefly.synth.offline import OfflineSynthesizer
from firefly.synth.phrasing import block_scope, generic_scope

CODE = "import math\nprint(math.sqrt(2))"


def ref(name: str, description: str, props: dict[str, Any], required: list[str] | None = None) -> ToolRef:
    return ToolRef("s", name, description, {"type": "object", "properties": props, "required": required or []})


LINT = ref("lint", "Lint Python code to find style problems.", {"code": {"type": "string"}}, ["code"])
COMPARE = ref("compare_texts", "Compare two texts.", {"text_a": {"type": "string"}, "text_b": {"type": "string"},
                                                      "api_key": {"type": "string"}}, ["text_a", "text_b"])


def questions(tool: ToolRef, args: dict[str, Any], text: str) -> list[Candidate]:
    s = Step(0, "s", tool.name, args, [{"type": "text", "text": text}], None, True, True, [], "initial")
    x = Exploration("x1", "d1", [s], tools={("s", tool.name): tool})
    found, _ = OfflineSynthesizer().candidates(x)
    return found


def test_a_read_of_one_text_of_several_lines_gives_the_text_after_the_question():
    assert generic_scope("lint", {"code": CODE}, {}, LINT) is None  # no scope quotes a document
    where, block = block_scope("lint", "s", {"code": CODE}, ref=LINT)
    assert where.endswith("for the code below") and block == CODE
    asked = questions(LINT, {"code": CODE}, json.dumps({"total_issues": 3, "fixable_issues": 2}))
    assert asked, asked
    for c in asked:
        words, _, given = c.question.partition("\n\n")
        assert "the code below" in words and given == CODE, c.question


def test_two_texts_are_given_each_under_its_name():
    args = {"text_a": "one\ntwo", "text_b": "one\nthree", "api_key": ""}
    where, block = block_scope("compare_texts", "s", args, ref=COMPARE)
    assert "the text a below" in where and "the text b below" in where and "api key" not in where
    assert block == "Text a:\none\ntwo\n\nText b:\none\nthree"


def test_empty_arguments_say_nothing_but_a_required_empty_list_has_no_words():
    tool = ref("fetch_page", "Fetch a web page.", {"url": {"type": "string"}, "headers": {"type": "object"},
                                                  "ids": {"type": "array"}, "tags": {"type": "array"}}, ["ids"])
    assert generic_scope("fetch_page", {"url": "http://x/a", "headers": {}, "tags": []}, {}, tool) \
        == 'the web page for URL "http://x/a"'
    assert generic_scope("fetch_page", {"url": "http://x/a", "ids": []}, {}, tool) is None


def test_the_lines_of_a_diff_are_no_facts():
    ndiff = "- # Standup\n+ # To do\n  \n- Attendees: Maya Okafor\n+ Owner: Daniel Brandt"
    unified = "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-Date: 2025-03-18\n+Date: 2025-03-19\n Owner: Ana"
    assert looks_like_diff(ndiff.splitlines()) and looks_like_diff(unified.splitlines())
    assert read_text(0, "$", ndiff, Names()) == [] and read_text(0, "$", unified, Names()) == []
    bullets = "- apples\n- pears\n- plums"
    assert not looks_like_diff(bullets.splitlines()) and read_text(0, "$", bullets, Names())


def test_a_result_cut_short_is_not_asked_about_through_a_given_text():
    text = json.dumps({"total_issues": 3, "fixable_issues": 2}) + TRUNCATION_MARKER.format(omitted=9000)
    assert questions(LINT, {"code": CODE}, text) == []


def test_a_required_empty_object_leaves_the_call_without_words():
    tool = ref("make_resume", "Generate a resume PDF.", {"resume": {"type": "object"}, "style": {"type": "string"}},
               ["resume"])
    assert generic_scope("make_resume", {"resume": {}, "style": "plain"}, {}, tool) is None
    # a required object of options only, sent empty: each option left to its default, nothing unsaid
    clock = ref("get_current_time", "Get the current time.", {"args": {"$ref": "#/$defs/TimeArgs"}}, ["args"])
    clock.input_schema["$defs"] = {"TimeArgs": {"type": "object", "properties": {"timezone": {"type": "string"}}}}
    assert generic_scope("get_current_time", {"args": {}}, {}, clock) == "the current time"


def test_a_menu_of_links_lists_the_links_by_their_texts():
    menu = "Welcome\n\n*   [About](http://h/about.html)\n*   [Data](http://h/data.json)"
    [t] = read_text(0, "$", menu, Names())
    assert (t.noun, [it.get("value") for it in t.items]) == ("link", ["About", "Data"])
    assert read_text(0, "$", "*   ![a](x.png)\n*   ![b](y.png)", Names()) == []


def test_a_searchs_matches_a_line_each_are_a_table_of_matches():
    text = "Found 3 matches:\nsrc/a.py:12:import os\nsrc/b.py:3:import os\n--\nsrc/b.py:9:  os.path"
    [t] = read_text(0, "$", text, Names(tool="search"))
    assert (t.noun, t.plural, t.total) == ("match", "matches", 3)
    assert [(it.get("file"), it.get("line"), it.get("text")) for it in t.items] == [
        ("src/a.py", 12, "import os"), ("src/b.py", 3, "import os"), ("src/b.py", 9, "os.path")]
    log = ("5ac98f1 Daniel Brandt Wed Mar 5 10:00:00 2025 -0500 Release 0.2.0\n"
           "ae9c6a1 Maya Okafor Thu Feb 27 17:20:00 2025 -0500 Move notes")
    for other in (log, "http://a:80:b\nhttp://c:81:d", "Started:12:00\nEnded:13:00"):
        assert all(t.noun != "match" for t in read_text(0, "$", other, Names())), other
    # lines of context around a match (grep -C, ripgrep's --context) are no matches; with them
    # one match is a table too (it had been no fact at all)
    around = ("tests/test_pricing.py-20-def test_bulk():\n"
              "tests/test_pricing.py:21:    # truncating gave 38.33\n"
              "tests/test_pricing.py-22-    assert total == 38.34\n")
    [t] = read_text(0, "$", around, Names(tool="search"))
    assert [(it.get("file"), it.get("line"), it.get("text")) for it in t.items] == [
        ("tests/test_pricing.py", 21, "# truncating gave 38.33")]
    # one such line alone, with no context, is not taken for a search's result
    assert all(t.noun != "match" for t in read_text(0, "$", "tests/a.py:3:x = 1", Names(tool="search")))


def test_a_sentence_saying_how_many_were_found_is_that_number():
    [t] = read_text(0, "$", "Found 12 files.", Names(tool="find"))
    assert t.label("found") == "number of files" and t.items[0].get("found") == 12
    assert read_text(0, "$", "Found 3 matches in 2 files.", Names()) == []
    # after a sentence saying what the call did, the count is still the fact
    [t] = read_text(0, "$", "Project re-indexed. Found 4 files.", Names(tool="build_index"))
    assert t.label("found") == "number of files" and t.items[0].get("found") == 4
    assert read_text(0, "$", "Maya wrote the report. Found 4 files.", Names(tool="x")) == []


def test_a_documents_page_count_is_asked_but_a_listings_is_not():
    tool = ref("pdf_overview", "Get an overview of a PDF.", {"pdf_path": {"type": "string"}}, ["pdf_path"])
    asked = questions(tool, {"pdf_path": "/w/a.pdf"}, json.dumps({"total_pages": 2, "has_forms": True}))
    assert any(c.answer == 2 and "total pages" in c.question for c in asked), [c.question for c in asked]
    listing = questions(tool, {"pdf_path": "/w/a.pdf"}, json.dumps({"total_pages": 2, "page": 1, "title": "Q3 plan"}))
    assert not any(c.answer == 2 for c in listing), [c.question for c in listing]


def test_a_process_id_is_chosen_by_the_machine_and_registering_changes_the_world():
    from firefly.adapters.verbs import computes
    from firefly.synth.facts import is_dull
    assert is_dull("pid", 1587) and is_dull("process_id", 1587) and not is_dull("pages", 3)
    assert not computes("request_planning", None, "Register a new user request and plan its tasks.")
