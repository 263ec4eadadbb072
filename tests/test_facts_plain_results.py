"""Facts in results that are not one clean JSON record: a sentence that states one value, a
table after a line of prose, a JSON record inside a string, a small table of numbers as an
argument; and values no question asks for (a computed zero, a day taken from the clock, a
prose summary that says the record's numbers again)."""

from __future__ import annotations

import json
from typing import Any

from firefly.explore.policy import ToolRef
from firefly.synth.facts import dull_reason, is_dull, is_float_noise, read_result, reads_the_clock
from firefly.synth.model import Candidate, Exploration, Step
from firefly.synth.offline import OfflineSynthesizer
from firefly.synth.phrasing import generic_scope

from .test_facts import T, tables


def ref(description: str, props: dict[str, Any] | None = None, name: str = "t") -> ToolRef:
    return ToolRef("s", name, description, {"type": "object", "properties": props or {}})


def values(found: list[Any]) -> list[dict[str, Any]]:
    return [{f: c.value for f, c in it.cells.items()} for t in found for it in t.items]


def questions(tool: ToolRef, arguments: dict[str, Any], content: list[dict[str, Any]], structured: Any = None
              ) -> list[Candidate]:
    step = Step(0, "s", tool.name, arguments, content, structured, True, True, [], "initial")
    found, _ = OfflineSynthesizer().candidates(Exploration("x1", "d1", [step], tools={("s", tool.name): tool}))
    return found


# --------------------------------------------------------------------------- reading


def test_a_sentence_that_states_one_value_is_the_result():
    assert values(tables(T("The sum of 1 and 3 is 4."))) == [{"result": 4}]
    assert values(tables(T("The derivative of x**2 is 2*x"))) == [{"result": "2*x"}]
    # no value, a path: no fact
    for text in ("The timestamp of 12:00 is NaN ms.", "The file is /workspace/a1.txt", "a month ago"):
        assert tables(T(text)) == [], text


def test_a_list_item_wrapped_onto_the_next_line_keeps_its_place_but_is_no_value():
    text = ("## Dates\n\n- Sale runs 2025-04-07 to 2025-04-20 (two weeks, ends the weekend before the\n"
            "  warehouse move).\n- Email to subscribers goes out 2025-04-03.\n- Stock count on 2025-04-21.\n")
    (dates,) = tables(T(text), tool="read_text_file")
    assert dates.noun == "date" and dates.total == 3
    assert [it.cells["value"].value if it.cells else None for it in dates.items] == [
        None, "Email to subscribers goes out 2025-04-03.", "Stock count on 2025-04-21."]
    assert [it.index for it in dates.items] == [0, 1, 2]  # "the second date listed" is still the second line


def test_lists_under_bare_headings_are_named_by_them_and_lists_nothing_tells_apart_are_not_read():
    report = ("TRIP REPORT: visit to Green Coast\nDate: 2025-01-22\n\nTasted\n"
              "  - Ethiopia Yirgacheffe (washed), 2024 harvest, bright.\n  - Colombia Huila: caramel, red apple.\n"
              "  - Sumatra Mandheling, heavier than last year.\n\nAgreed\n  - Price up 4% from April.\n"
              "  - Lead time stays at 10 days.\n\nFollow-up\n  - Maya decides retail prices.\n"
              "  - Priya estimates the margin.\n")
    lists = {t.plural: [it.cells["value"].value for it in t.items]
             for t in tables(T(report), tool="read_file") if t.key == "value"}
    # each list is named by the heading its items are indented under; "Tasted" mixes a
    # "label: value" item with plain ones, so its plain items are no whole list
    assert lists == {"items of the agreed list": ["Price up 4% from April.", "Lead time stays at 10 days."],
                     "items of the follow up list": ["Maya decides retail prices.", "Priya estimates the margin."]}
    # two lists with no heading: "every item in the file" would be either of them
    two = "Notes\n\n- one thing\n- another thing\n\nMore text here.\n\n- third thing\n- fourth thing\n"
    assert not [t for t in tables(T(two), tool="read_file") if t.key == "value"]
    one = "Notes\n\n- one thing\n- another thing\n"
    assert [t.total for t in tables(T(one), tool="read_file") if t.key == "value"] == [2]
    # a heading of things somewhere names those things, not "items of the tables in schema main list"
    (listed,) = tables(T("Tables in schema 'main':\n- orders\n- products\n"), tool="list_tables")
    assert (listed.noun, listed.plural) == ("table in schema main", "tables in schema main")
    # a list in a code block is an example's, not the text's
    example = "Use this structure:\n\n```markdown\n## Title\n\n- Rule one\n- Rule two\n```\n"
    assert not [t for t in tables(T(example), tool="init_rules") if t.key == "value"]


def test_a_time_of_day_converted_without_a_date_asks_nothing_of_the_day_and_nothing_where_summer_time_moves_it():
    tool = ToolRef("clock", "convert_time", "Convert time between timezones",
                   {"type": "object", "properties": {"source_timezone": {"type": "string"},
                                                     "target_timezone": {"type": "string"},
                                                     "time": {"type": "string", "description": "HH:MM"}}}, {}, None)

    def converted(source, target, day, offset, difference):
        return {"source": {"timezone": source, "datetime": f"2026-12-07T08:15:00{offset}", "day_of_week": day},
                "target": {"timezone": target, "datetime": "2026-12-07T11:45:00+09:00", "day_of_week": day},
                "time_difference": difference}

    fixed = {"source_timezone": "Asia/Kolkata", "target_timezone": "Asia/Tokyo", "time": "08:15"}
    asked = questions(tool, fixed, T(json.dumps(converted("Asia/Kolkata", "Asia/Tokyo", "Monday", "+05:30", "+3.5h"))))
    answers = json.dumps([c.answer for c in asked])
    assert "+3.5h" in answers and "Monday" not in answers and "2026-12-07" not in answers
    moving = {"source_timezone": "Australia/Sydney", "target_timezone": "Asia/Tokyo", "time": "08:15"}
    assert questions(tool, moving, T(json.dumps(converted("Australia/Sydney", "Asia/Tokyo", "Monday", "+11:00",
                                                          "-2.0h")))) == []


def test_a_statistic_of_an_id_column_and_a_time_counted_from_the_run_are_not_asked():
    assert is_dull("id.sum", 21.0) and is_dull("order_id.75%", 4.75) and is_dull("statistics.id.mean", 3.5)
    assert not is_dull("price.sum", 1054.09) and not is_dull("id.count", 6)  # a column's total; the rows counted
    # why a call found nothing, in a reply about the call, is no fact; a record's reason is
    assert is_dull("reason", "Cannot find paths: graph is empty. Add nodes first.", whole=True)
    assert not is_dull("reason", "Damaged in transit", whole=True)
    # a sentence saying what the call did is a message about it, however the reply keys it
    assert is_dull("result", "Search tools refreshed. Available: ['ripgrep', 'grep']. Preferred: ripgrep.", whole=True)
    assert not is_dull("result", "Maya Okafor set a 25% cap on promo discounts.", whole=True)
    for message in ("Session 'default' cleared.", "Range formatted successfully", "Evaluation enabled",
                    "Project re-indexed. Found 4 files.", "Successfully deleted zadd_2", "Hello from Chinese NLP MCP",
                    "Query executed successfully. No rows returned."):
        assert dull_reason("result", message, whole=True) == "status or message about the call", message
    # a reply saying the world holds nothing of what was asked is true of any empty world
    for nothing in ("No active sessions.", "Set 'group_3' is empty or does not exist.", "None (no dependencies)"):
        assert dull_reason("result", nothing, whole=True) == "nothing found", nothing
    # the same words as one record's field among others, or values that only look alike, are asked
    for value in ("No smoking on premises", "Bonjour le monde.", "Noah Tremblay", "No"):
        assert not is_dull("comment", value), value
    assert not is_dull("result", "Bonjour le monde.", whole=True) and not is_dull("result", "No", whole=True)
    from firefly.synth.facts import is_clock_value

    assert is_clock_value("period.end", "now") and is_clock_value("since", "Yesterday")
    assert not is_clock_value("status", "known")
    # a time left open ("since the beginning") is the default of every call, not a time of the world
    assert is_clock_value("period.start", "beginning") and not is_clock_value("stage", "end")


def test_the_last_lines_of_a_script_are_code_not_labelled_values():
    tail = ("    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH\n    rows = low_stock(path)\n"
            "    print(f\"{len(rows)} SKU(s) below reorder point\")\n    for r in rows:\n"
            "        short = int(r[\"reorder_point\"]) - int(r[\"on_hand\"])\n        print(short)\n\n"
            "if __name__ == \"__main__\":\n    main()\n")
    assert not [v for t in tables(T(tail), tool="read_text_file") for it in t.items for v in it.cells]
    assert values(tables(T("name = harbor-shop\ntimeout = 30\nratio = 0.5 (approx)\n"))) == [
        {"name": "harbor-shop", "timeout": 30, "ratio": "0.5 (approx)"}]


def test_a_sentence_of_clauses_each_stating_a_number_is_one_record_named_by_the_clauses():
    (week,) = tables(T("The week of the year is 1, and the isoWeek of the year is 1."), tool="get_week_year")
    assert values([week]) == [{"week of the year": 1, "iso week of the year": 1}]
    assert week.labels == {"week of the year": "week of the year", "iso week of the year": "iso week of the year"}
    # a clause that says no number (an invalid date, NaN): the sentence is no record
    assert tables(T("Current time in Europe/Paris is Invalid Date, and the time in America/Toronto is Invalid "
                    "Date. The time difference is NaN hours.")) == []
    assert values(tables(T("The sum of 1 and 3 is 4."))) == [{"result": 4}]  # "1 and 3" is no second clause


def test_sections_of_a_heading_and_its_one_line_value_are_named_by_their_headings():
    text = "Execution result:\n42\n\nConsole output:\n[log] 9"
    (run,) = tables(T(text), tool="evaluate")
    assert values([run]) == [{"Execution result": 42, "Console output": 9}]  # "[log] " is how it was printed
    assert run.label("Console output") == "console output"
    # a section of several lines is no value; a heading alone with values is a list (not sections)
    assert values(tables(T("Execution result:\n1\n\nConsole output:\n[log] a\n[log] b"))) == [
        {"Execution result": 1}]
    assert [t.noun for t in tables(T("Allowed directories:\n/workspace\n/tmp/x"))] == ["allowed directory"]
    # a heading set off by rules, after a line that introduces it; a placeholder is no value
    ran = "Execution in session 'default' (inline mode):\n\n--- Output ---\n45\n"
    assert values(tables(T(ran), tool="run_python_code")) == [{"Output": 45}]
    assert tables(T("Execution of 'app.py' in 'system' environment:\n\n--- Output ---\n(No output)\n")) == []


def test_a_long_folder_listing_gives_names_and_file_sizes_never_owners_or_times():
    text = ("total 8\ndrwxr-xr-x 2 user user 4096 Dec  6 18:25 reports\n"
            "-rw-r--r-- 1 user user  120 Mar  1  2025 todo.md\nlrwxrwxrwx 1 user user 7 Mar 1 2025 last -> todo.md\n")
    (entries,) = tables(T(text), tool="list_files")
    assert (entries.noun, entries.key, entries.numeric) == ("entry", "name", ("size",))
    assert values([entries]) == [{"name": "reports"}, {"name": "todo.md", "size": 120}, {"name": "last"}]
    (files,) = tables(T("-rw-r--r-- 1 user user    55 Dec  6 18:25 /workspace/files/a.md\n"))
    assert (files.noun, values([files])) == ("file", [{"name": "/workspace/files/a.md", "size": 55}])
    assert tables(T("total 0\n")) == []  # an empty folder lists nothing


def test_an_html_page_gives_its_title_and_headings():
    page = ("<html><head><title>About</title></head><body><h1>About us</h1>\n<h2>Team &amp; partners</h2>"
            "<p>We build offline MCP test fixtures. Founded 2021.</p></body></html>")
    found = tables(T(page), tool="fetch_html")
    assert [(t.noun, values([t])) for t in found] == [("page", [{"title": "About"}]),
                                                      ("heading", [{"value": "About us"}])]
    # "Team & partners" reads "&amp;" in the source: no locator leads to it as it reads
    assert tables(T("<p>no page</p>")) == []


def test_a_sum_stated_in_a_sentence_is_asked_about_in_the_words_of_the_tool():
    tool = ref("Returns the sum of two numbers", {"a": {"type": "number"}, "b": {"type": "number"}}, name="get-sum")
    found = questions(tool, {"a": 1, "b": 3}, T("The sum of 1 and 3 is 4."))
    assert [(c.question, c.answer) for c in found] in (
        [("What is the sum of two numbers for a 1 and b 3?", 4)],
        [("Can you tell me the sum of two numbers for a 1 and b 3?", 4)])
    assert found[0].match == {"rule": "number", "tolerance": 1e-6}


def test_a_table_after_a_line_of_prose_and_under_a_rule_of_dashes():
    text = ("Query executed successfully. 3 rows returned.\n\nid, name, qty\n----------------\n"
            "1, Widget, 12\n2, Gadget, 3\n3, Laptop, 25")
    (rows,) = tables(T(text))
    assert (rows.noun, rows.key, rows.numeric) == ("row", "name", ("id", "qty"))
    assert rows.items[2].get("qty") == 25 and rows.items[2].cells["qty"].path.endswith("#line=7")
    # prose that goes on after the blank line is no table
    text = "We sell coffee.\n\nBeans, gear and merch, roasted by us.\nOpen daily, 9 to 5.\nClosed on Sundays, sorry."
    assert not any(t.noun == "row" for t in tables(T(text)))


def test_a_json_record_inside_a_string_is_read_field_by_field():
    structured = {"result": "{'filename': 'sales.xlsx', 'sheets': ['Sales'], 'size': 5164}"}
    record, sheets = tables(T(structured["result"]), structured)
    assert values([record]) == [{"filename": "sales.xlsx", "size": 5164}]
    assert record.items[0].cells["size"].path == "$.structured_content.result#json=$.size"
    # a list of one name is a list all the same (the workbook's sheets: one)
    assert (sheets.noun, values([sheets]), sheets.total) == ("sheet", [{"value": "Sales"}], 1)
    assert sheets.items[0].cells["value"].path == "$.structured_content.result#json=$.sheets[0]"
    # a mapping of numbers (a factorization) stays one value: no field is named "2"
    (whole,) = tables(T("{2: 1, 3: 1}"), {"result": "{2: 1, 3: 1}"})
    assert values([whole]) == [{"result": "{2: 1, 3: 1}"}]


def test_a_prose_summary_of_the_record_s_own_numbers_is_not_read_again():
    doc = {"group_a_mean": 20.25, "group_b_mean": 20.5, "explained_part": -9.01,
           "summary": "Oaxaca-Blinder分解:\n- 总差异: 0.0000\n  - A组平均: 20.2500 (n=4)\n"}
    found = tables(T(json.dumps(doc)))
    assert values(found) == [{"group_a_mean": 20.25, "group_b_mean": 20.5, "explained_part": -9.01}]
    # a text that is the record's content (a note) is still read
    note = {"path": "a.md", "content": "Owner: Maya Okafor\nStatus: draft\n"}
    assert {"Owner": "Maya Okafor", "Status": "draft"} in values(tables(T(json.dumps(note))))


# --------------------------------------------------------------------------- not asked


def test_a_computed_zero_and_a_ratio_blown_up_by_one_are_dull():
    assert is_float_noise(4.707213067546585e-16) and is_float_noise(2124399269058800.0)
    assert not is_float_noise(0.0) and not is_float_noise(0.9275) and not is_float_noise(7_900_000_000.0)
    assert not is_float_noise(10**15)  # a whole number of things is no noise
    assert is_dull("std_error", 4.707213067546585e-16)


def test_a_call_that_leaves_the_date_to_the_clock_is_not_asked_about():
    tool = ref("Get the number of days in a month. If no date is provided, get the number of days in the current month.",
               {"date": {"type": "string"}}, name="days_in_month")
    assert reads_the_clock({}, tool) and not reads_the_clock({"date": "2025-02-01"}, tool)
    assert questions(tool, {}, T("The number of days in month is 31.")) == []
    assert [c.answer for c in questions(tool, {"date": "2025-02-01"}, T("The number of days in month is 28."))] == [28]
    # a tool that does not speak of now: an argument left out is only a filter left out
    assert not reads_the_clock({}, ref("List the orders.", {"date": {"type": "string"}}))
    # a calendar tool (its name says so) whose optional date was left out answers for today
    week = ref("Get the week and isoWeek of the year.", {"date": {"type": "string"}}, name="get_week_year")
    assert reads_the_clock({}, week) and not reads_the_clock({"date": "2025-01-01"}, week)
    assert questions(week, {}, T("The week of the year is 50, and the isoWeek of the year is 49.")) == []
    asked = questions(week, {"date": "2025-01-01"}, T("The week of the year is 1, and the isoWeek of the year is 2."))
    assert {json.dumps(c.answer) for c in asked} >= {"1", "2"}


# --------------------------------------------------------------------------- wording


def test_a_small_table_of_numbers_is_written_out_a_row_at_a_time():
    tool = ref("Mediation Effect Analysis")
    assert generic_scope("t", {"covariates": [[6, 10, 13], [7, 9, 13]], "mediator": [66, 11, 1]}, {}, tool) == \
        "the mediation effect analysis for covariates (6, 10, 13) and (7, 9, 13) and mediator 66, 11 and 1"
    assert generic_scope("t", {"data": [[1] * 7]}, {}, tool) is None  # a row too long to say
    assert generic_scope("t", {"data": [[1, 2, 3]] * 11}, {}, tool) is None  # too many rows
    assert generic_scope("t", {"data": [["a", "b"]]}, {}, tool) is None  # rows of texts are a payload


def test_resource_links_are_a_table_named_by_their_names():
    content = T("Here are 2 resource links:") + [
        {"type": "resource_link", "name": "Text Resource 2", "uri": "demo://text/2", "mimeType": "text/plain"},
        {"type": "resource_link", "name": "Blob Resource 3", "uri": "demo://blob/3", "mimeType": "text/plain"}]
    (links,) = [t for t in tables(content) if t.noun == "resource link"]
    assert (links.key, links.label("uri"), links.total) == ("name", "URI", 2)
    assert links.items[1].cells["uri"].path == "$.content[2].uri"
    tool = ref("Returns resource links to resources of this server", name="get_resource_links")
    answers = {c.question: c.answer for c in questions(tool, {}, content)}
    assert "demo://blob/3" in answers.values() and 2 in answers.values(), answers


def test_a_file_written_and_its_size_in_one_sentence_even_wrapped_as_the_only_structured_field():
    line = "Wrote /workspace/data/shapes-moved-190.png (2709 bytes)"
    for found in (tables(T(line)), tables(T(line), {"result": line})):
        (written,) = found
        assert (written.noun, written.key, written.label("size")) == ("file", "path", "size in bytes")
        assert values([written]) == [{"path": "/workspace/data/shapes-moved-190.png", "size": 2709}]
    assert tables(T(line), {"result": line})[0].items[0].cells["size"].path == "$.structured_content.result#line=1"
    # a wrapped line no text reader reads stays one value
    assert values(tables(T("Saved the file"), {"result": "Saved the file"})) == [{"result": "Saved the file"}]


def test_an_embedded_text_resource_gives_its_uri_and_type_not_its_text():
    content = T("Returning resource reference for Resource 1:") + [
        {"type": "resource", "resource": {"uri": "demo://resource/dynamic/text/1", "mimeType": "text/plain",
                                          "text": "Resource 1: This is a plaintext resource created at 6:23:52 PM"}}]
    (resource,) = tables(content)
    assert (resource.noun, resource.key, resource.label("mimeType")) == ("resource", "uri", "MIME type")
    assert values([resource]) == [{"uri": "demo://resource/dynamic/text/1", "mimeType": "text/plain"}]
    assert resource.items[0].cells["uri"].path == "$.content[1].resource.uri"


def test_a_word_ending_in_zes_loses_only_its_s():
    from firefly.synth.facts import singular
    from firefly.synth.phrasing import _base

    assert [singular(w) for w in ("sizes", "prizes", "buzzes", "boxes")] == ["size", "prize", "buzz", "box"]
    assert _base("analyzes") == "analyze" and _base("summarizes") == "summarize"


def test_no_position_of_a_cell_named_by_its_address_and_no_empty_container_as_a_value():
    tool = ref("Read data from an Excel worksheet with cell metadata", {"filepath": {"type": "string"}}, name="read")
    cells = [{"address": "C2", "value": "Laptop", "row": 2, "column": 3},
             {"address": "B6", "value": "Mouse", "row": 6, "column": 2}]
    found = questions(tool, {"filepath": "/w/a.xlsx"}, T("x"), {"result": json.dumps({"cells": cells, "merged": "[]"})})
    lookups = [c.answer for c in found if c.kind == "lookup" and not isinstance(c.answer, dict)]
    assert sorted(lookups) == ["Laptop", "Mouse"]  # never the row 2 of the cell "C2"
    assert "[]" not in [c.answer for c in found]


def test_a_sentence_stating_a_converted_time_and_a_timestamp_is_read():
    def cells(text: str) -> list[dict]:
        r = read_result(0, {}, [{"type": "text", "text": text}], None)
        return [{k: c.value for k, c in it.cells.items()} for t in r.tables for it in t.items]

    said = ("Current time in America/Toronto is 2025-03-23 14:00:00, and the time in Africa/Nairobi is "
            "2025-03-23 21:00:00. The time difference is 7 hours.")
    assert cells(said) == [{"current time in America/Toronto": "2025-03-23 14:00:00",  # a zone keeps its name
                            "time in Africa/Nairobi": "2025-03-23 21:00:00", "time difference": "7 hours"}]
    assert cells("The timestamp of 2025-03-01 12:00:00.000 (parsed as UTC) is 1740830400000 ms.") == \
        [{"result": 1740830400000}]
    # a clause that says no value is no record; a label before the sentence is no subject
    assert cells("Current time in Europe/Paris is Invalid Date, and the time in America/Toronto is Invalid Date."
                 " The time difference is NaN hours.") == []
    assert cells("Note: the value is 5.") == []


def test_examples_of_the_tools_use_in_a_result_are_no_facts():
    """list_slide_templates answers its templates and, beside them, ``usage_examples`` of how
    to call another tool: "text_with_image" in an example had been asked as "the template id
    of all available slide layout templates"."""
    result = {"available_templates": [{"id": "title_slide", "name": "Dynamic Title Slide", "element_count": 4},
                                      {"id": "text_with_image", "name": "Dynamic Text + Image", "element_count": 6}],
              "total_templates": 2,
              "usage_examples": {"single_slide_example": {"code": {"template_id": "text_with_image",
                                                                   "color_scheme": "modern_blue"}}},
              "exampleCall": {"template_id": "title_slide"}}
    found = tables(T(json.dumps(result)), result, tool="list_slide_templates")
    fields = {f for t in found for it in t.items for f in it.cells}
    assert not [f for f in fields if "template_id" in f or "color_scheme" in f], fields
    assert {"id", "name", "element_count"} <= fields  # the templates themselves are read


def test_a_preview_is_not_counted_but_its_rows_are_asked():
    """load_csv answers {"preview": [five rows]}: "count the preview entries" is the size the
    preview was cut to (5 for any file of 5 rows or more), not a count of the world."""
    tool = ref("Load a CSV file into a session.", {"file_path": {"type": "string"}}, name="load_csv")
    rows = [{"name": n, "qty": q} for n, q in (("Widget", 3), ("Gadget", 5), ("Laptop", 1), ("Mouse", 9), ("Pad", 2))]
    asked = questions(tool, {"file_path": "/w/a.csv"}, T(json.dumps({"rows": 40, "preview": rows})))
    assert not any(c.template.startswith("count:") for c in asked), [c.question for c in asked]
    assert any(c.template.startswith("sum:") for c in asked)
    listed = questions(tool, {"file_path": "/w/a.csv"}, T(json.dumps({"items": rows})))
    assert any(c.template.startswith("count:") and c.answer == 5 for c in listed)
