"""Generic facts and generic wording: any result shape gives facts whose every value keeps a
locator that leads back to it, named from the output schema, the keys and the tool; any tool
is worded from its description, title or name and its arguments, never as a raw call."""

from __future__ import annotations

import json
import re
import sys
import time
from typing import Any

import pytest

from firefly import locator
from firefly.explore.policy import CallRecord, ToolRef
from firefly.explore.values import resolve_locator
from firefly.synth.derive import found_at
from firefly.synth.facts import file_tables, is_clock_value, is_opaque_id, is_volatile, labelled_value, read_result
from firefly.synth.phrasing import generic_effect, generic_scope

from .conftest import SERVERS


def T(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def tables(content: Any, structured: Any = None, tool: str = "get_things", ref: ToolRef | None = None,
           arguments: dict[str, Any] | None = None) -> list[Any]:
    """The tables read from a result, each cell checked to lead back to its value."""
    found = read_result(0, arguments or {}, content, structured, ref, tool).tables
    record = CallRecord(0, "s", tool, arguments or {}, content, structured, False)
    for t in found:
        for it in t.items:
            for name, cell in it.cells.items():
                ok, got = found_at(record, cell.path, cell.value)
                assert ok, (name, cell, got)
    return found


def by_noun(found: list[Any]) -> dict[str, Any]:
    return {t.noun: t for t in found}


# --------------------------------------------------------------------------- the locator


def test_one_locator_format_built_and_followed_in_one_place():
    text = 'Result:\n```json\n{"rows": [{"order id": 7}]}\n```\n'
    content, structured = T(text), {"a": [{"b c": 1}]}
    path = locator.jpath(locator.jpath(locator.jpath(locator.STRUCTURED, "a"), 0), "b c")
    assert path == '$.structured_content.a[0]["b c"]'
    assert locator.resolve(content, structured, path) == 1
    inner = locator.jpath(locator.jpath(locator.jpath("$", "rows"), 0), "order id")
    assert locator.resolve(content, structured, locator.in_json(locator.content_text(0), inner)) == 7
    assert locator.resolve(content, structured, locator.at_line(locator.content_text(0), 2)) == "```json"
    assert locator.resolve(content, structured, "$.content[0].text#line=99") is None
    assert locator.resolve(content, structured, "$.nowhere") is None
    record = CallRecord(0, "s", "t", {}, content, structured, False)
    assert resolve_locator(record, path) == 1  # the explorer's values follow the same format


def test_locator_fragments_chain_and_every_value_read_is_found_at_its_locator():
    # lines of a string inside JSON text: the reader's locators are followed back
    content = T(json.dumps({"context": "Graph summary\n\nNodes: 4\nEdges: 3\nCycles detected: No"}))
    assert locator.resolve(content, None, "$.content[0].text#json=$.context#line=4") == "Edges: 3"
    assert locator.resolve(content, None, "$.content[0].text#json=$.nowhere#line=1") is None
    # a list item with markdown marks is read without them and found at its line
    content = T("Plan:\n- Sale runs **2025-04-07 to 2025-04-20** (two weeks)\n- Email goes out 2025-04-03\n")
    for content in (content, T(json.dumps({"context": content[0]["text"]}))):
        record = CallRecord(0, "s", "t", {}, content, None, False)
        cells = [c for t in tables(content, tool="plan") for it in t.items for c in it.cells.values()]
        assert cells and all(found_at(record, c.path, c.value)[0] for c in cells), cells


# --------------------------------------------------------------------------- readers


def test_structured_content_at_any_depth_named_from_the_output_schema():
    schema = {"type": "object", "properties": {
        "location": {"type": "object", "properties": {"name": {"type": "string", "title": "Place"}}},
        "days": {"type": "array", "items": {"$ref": "#/$defs/Day"}},
        "tags": {"type": "array", "items": {"type": "string"}}},
        "$defs": {"Day": {"type": "object", "properties": {"hi": {"type": "number", "title": "High temperature"}}}}}
    ref = ToolRef("w", "get_forecast", "Get the forecast for a city.", {}, {}, schema)
    data = {"location": {"name": "Oslo", "lat": 59.9}, "days": [{"day": "Mon", "hi": 20, "rain": ["am", "pm"]},
                                                                  {"day": "Tue", "hi": 22, "rain": []}],
            "tags": ["cold", "windy"], "note": None}
    found = by_noun(tables(T(json.dumps(data)), data, "get_forecast", ref))
    top = found["forecast"]
    assert top.items[0].cells["location.name"].value == "Oslo" and top.labels["location.name"] == "place"  # its own name when it says enough
    # one key word alone says too little: a config's database path is no "path of the file"
    (config,) = tables(T(json.dumps({"shop_name": "Harbor", "database": {"path": "shop.db", "pool_size": 4}})),
                       tool="read_file")
    assert config.labels["database.path"] == "database path" and config.labels["database.pool_size"] == "pool size"
    days = found["day"]
    assert (days.key, days.plural, len(days.items)) == ("day", "days", 2)
    assert days.labels["hi"] == "high temperature" and "hi" in days.numeric
    assert days.items[0].cells["rain#count"].value == 2 and days.labels["rain#count"] == "number of rain"
    assert days.items[1].cells["hi"].path == "$.structured_content.days[1].hi"
    assert [it.get("value") for it in found["tag"].items] == ["cold", "windy"]


def test_json_inside_text_whole_or_fenced():
    rows = [{"id": 1, "title": "Dune"}, {"id": 2, "title": "Emma"}]
    for text in (json.dumps(rows), "Found 2 books:\n```json\n" + json.dumps(rows) + "\n```"):
        (books,) = tables(T(text), tool="search_books")
        assert (books.noun, books.key, len(books.items)) == ("book", "title", 2)
        assert books.items[1].cells["title"].path == "$.content[0].text#json=$[1].title"


def test_json_the_recorder_cut_short_gives_what_it_holds_whole_and_counts_nothing():
    rows = [{"id": i, "title": t, "author": a} for i, (t, a) in enumerate(
        [("Dune", "Herbert"), ("Emma", "Austen"), ("Ulysses", "Joyce")], 1)]
    full = json.dumps({"total": 3, "books": rows}, indent=2)
    cut = full[: full.index('"Joyce"') - 3] + locator.TRUNCATION_MARKER.format(omitted=40)
    assert locator.embedded_json(cut) == {"total": 3, "books": rows[:2]}  # Ulysses was cut in the middle
    assert locator.embedded_json(full[:-20]) is None  # broken JSON the recorder did not cut is no JSON
    assert locator.salvaged('{"total": 3, "sizes": [10, 20, 12') == {"total": 3, "sizes": [10, 20]}  # 12 of 123?
    (books,) = [t for t in tables(T(cut), tool="search_books") if t.key == "title"]
    assert [it.cells["title"].value for it in books.items] == ["Dune", "Emma"]
    path = books.items[1].cells["author"].path
    assert path == "$.content[0].text#json=$.books[1].author"
    # a question over a result the recorder cut counts none of its items
    from firefly.synth.model import Exploration, Step
    from firefly.synth.offline import OfflineSynthesizer

    step = Step(0, "lib", "search_books", {"query": "novels"}, T(cut), None, True, True, [], "s0", None, "h")
    found, _ = OfflineSynthesizer().candidates(Exploration("x", "d", [step]))
    assert found and not any(c.derivation.get("op") in ("count", "count_where") for c in found)
    assert any(c.answer == "Austen" for c in found)


def test_yaml_csv_tsv_and_markdown_tables_in_text():
    yaml_text = "suppliers:\n  - name: Acme\n    city: Oslo\n    lead_days: 10\n  - name: Beta\n    city: Rome\n    lead_days: 4\n"
    (suppliers,) = tables(T(yaml_text), tool="read_config")
    assert (suppliers.noun, suppliers.key) == ("supplier", "name")
    assert suppliers.items[1].cells["lead_days"].value == 4 and suppliers.items[1].cells["city"].path.endswith("#line=6")
    (rows,) = tables(T("sku,price,stock\nA-1,3.5,10\nB-2,7,2\nC-3,0.25,500\n"), tool="read_csv")
    assert (rows.noun, rows.key, rows.numeric) == ("row", "sku", ("price", "stock"))
    assert rows.items[2].get("price") == 0.25 and rows.items[2].cells["price"].path.endswith("#line=4")
    (tsv,) = tables(T("name\tage\nAnn\t31\nBob\t42\nCy\t7\n"))
    assert [it.get("age") for it in tsv.items] == [31, 42, 7]
    (md,) = tables(T("# People\n\n| Name | Age |\n|---|---:|\n| Ann | 31 |\n| **Bob** | 42 |\n"))
    assert [it.get("Name") for it in md.items] == ["Ann", "Bob"] and md.items[1].cells["Age"].path.endswith("#line=6")


def test_a_csv_read_from_its_end_has_no_header_row():
    """``tail=3``: the first line is data; a data row never becomes the header."""
    text = "7,Ingrid Solberg,ingrid@example.no,Oslo\n8,Tomás Herrera,tomas@example.es,Madrid\n9,Ann Lee,ann@example.com,Rome\n"
    assert tables(T(text), tool="read_file", arguments={"path": "/w/customers.csv", "tail": 3}) == []
    assert tables(T(text), tool="read_file") == []  # a header of a number, an e-mail: no header
    assert file_tables(0, "$.content[0].text", text, 4, "/w/customers.csv") == []


def test_labelled_lines_keep_only_their_value():
    assert labelled_value("Owner: Tomás Herrera. Move day: **Monday 2025-04-28**.") == ("Owner", "Tomás Herrera")
    assert labelled_value("- **Status:** active") == ("Status", "active")
    assert labelled_value("See the guide: it explains how to") is None
    # settings said back ("enabled=False, debounce=6.0s") are no one value
    assert labelled_value("File watcher configuration updated: enabled=False, debounce=6.0s. Restart") is None
    # columns laid out on one line after a label are several values, not one
    assert labelled_value("Year 2: Depreciation $ 1.00  Book Value $ 0.00") is None
    assert labelled_value("Total:  42") == ("Total", "42")
    # a sentence before the label: what is labelled is not said
    assert labelled_value("Search tools refreshed. Available: ['ripgrep', 'grep']. Preferred: ripgrep.") is None
    # a sentence the value ends names no field; an error's line is no field
    assert labelled_value("Python files in: /workspace/code") is None
    assert labelled_value("SyntaxError: invalid decimal literal") is None
    assert labelled_value("Files found: 4") == ("Files found", "4")
    (record,) = tables(T("Owner: Tomás Herrera. Move day: Monday.\nBudget: 1850\nOwner2: x\n"), tool="get_move")
    assert record.items[0].get("Owner") == "Tomás Herrera" and record.items[0].get("Budget") == 1850


def test_repeated_labelled_blocks_are_records():
    text = "Order: A-1\nCustomer: Ann\nTotal: 30\n\nOrder: A-2\nCustomer: Bob\nTotal: 12\n"
    (orders,) = tables(T(text), tool="list_orders")
    assert (orders.noun, orders.key, len(orders.items), orders.numeric) == ("order", "Order", 2, ("Total",))


def test_numbered_and_bulleted_lists_named_by_their_heading():
    (found,) = tables(T("Tables:\n1. customers\n2. orders\n3. products\n"), tool="show_schema")
    assert (found.noun, [it.get("value") for it in found.items]) == ("table", ["customers", "orders", "products"])
    (found,) = tables(T("- red\n- green\n  - nested\n- blue\n"), tool="list_colors")
    assert (found.noun, [it.get("value") for it in found.items]) == ("color", ["red", "green", "blue"])
    # a singular heading names the list, not its items: five people under "## Team" are no teams
    (found,) = tables(T("## Team\n\n- Maya Okafor, founder\n- Daniel Brandt, developer\n"), tool="read_file")
    assert (found.noun, found.plural) == ("item of the team list", "items of the team list")


def test_a_csv_of_names_only_has_a_header_row_when_no_row_repeats_it():
    text = "TABLE_NAME,COLUMN_NAME,DATA_TYPE\norders,id,int\norders,qty,int\nproducts,name,varchar\n"
    (found,) = tables(T(text), tool="get_schema_info")
    assert (len(found.items), found.items[2].get("TABLE_NAME"), found.items[2].get("DATA_TYPE")) == (3, "products", "varchar")
    # without its header the first row is data (its values come back below): no table
    assert tables(T("orders,id,int\norders,qty,int\nproducts,name,varchar\nproducts,id,int\n")) == []


def test_a_heading_with_one_bare_value_a_line_is_a_table():
    (found,) = tables(T("Allowed directories:\n/workspace/files\n/workspace/repo\n"), tool="list_allowed_directories")
    assert (found.noun, [it.get("value") for it in found.items]) == (
        "allowed directory", ["/workspace/files", "/workspace/repo"])
    # prose, labelled lines or values with spaces under a heading are no such table
    assert tables(T("Changes:\nmodified a.py and b.py\n")) == []
    assert tables(T("Result:\nhello world\n")) == []
    assert tables(T("alpha\nbeta\n")) == []  # no heading and no paths: nothing says what the values are


def test_a_result_that_is_one_value_or_one_path_a_line():
    (found,) = tables(T("$5.00\n"), tool="currency_format")
    assert (found.noun, found.items[0].get("result")) == ("currency format", "$5.00")
    (found,) = tables(T("/workspace/a.md\n/workspace/b.md\n"), tool="list_files")
    assert (found.noun, [it.get("value") for it in found.items]) == ("file", ["/workspace/a.md", "/workspace/b.md"])
    # a folder's listing, a bare name a line (ls): its files, or its entries when a folder is among them
    (found,) = tables(T("todo.md\n2025-03-18-planning.md\n"), tool="shell_execute")
    assert (found.noun, [it.get("name") for it in found.items]) == ("file", ["todo.md", "2025-03-18-planning.md"])
    (found,) = tables(T("reports/\ntodo.md\n"), tool="run_command")
    assert found.noun == "entry" and tables(T("1.5\n2.5\n"), tool="run_command") == []
    # a sentence is no value; a clock reading is one but never a fact
    assert tables(T("No matches found")) == [] and tables(T("Input parsed successfully.")) == []
    assert is_volatile("result", "20261206_053306", now=time.mktime((2026, 12, 6, 5, 33, 6, 0, 0, 0)))
    assert is_volatile("result", 1796535105, now=1796535105.0) and not is_volatile("result", 405, now=1796535105.0)
    # a day alone, today's (a "current date" tool's "2026/12/06"), is the clock; another day is the world's
    noon = time.mktime((2026, 12, 6, 12, 0, 0, 0, 0, 0))
    assert is_volatile("date_slash", "2026/12/06", now=noon) and is_volatile("today", "2026-12-07", now=noon)
    assert not is_volatile("date", "2025-03-18", now=noon) and not is_volatile("version", "1.2.3", now=noon)


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_binary_result_is_summarised_by_its_type_size_and_pixels():
    import base64

    data = _png(48, 16)
    content = [{"type": "image", "data": base64.b64encode(data).decode(), "mimeType": "image/png"}]
    (image,) = tables(content, tool="read_media_file")
    assert image.noun == "image"
    assert {f: c.value for f, c in image.items[0].cells.items()} == {
        "MIME type": "image/png", "size in bytes": len(data), "width in pixels": 48, "height in pixels": 16}
    assert image.items[0].cells["width in pixels"].path == "$.content[0].data#image=width"
    # a blob that is not an image has a type and a size, no pixels; one that is not base64 has no facts
    blob = [{"type": "resource", "resource": {"uri": "file:///a.bin", "mimeType": "application/octet-stream",
                                              "blob": base64.b64encode(b"abcdef").decode()}}]
    (found,) = tables(blob)
    assert {f: c.value for f, c in found.items[0].cells.items()} == {
        "MIME type": "application/octet-stream", "size in bytes": 6}
    assert tables([{"type": "image", "data": "not base64!", "mimeType": "image/png"}]) == []
    # structured content that copies the blocks is not read a second time as records
    assert [t.noun for t in tables(content, {"content": content})] == ["image"]
    assert locator.resolve(content, None, "$.content[0].data#image=depth") is None


def test_image_sizes_from_their_headers():
    import struct

    assert locator.image_size(_png(3, 7)) == (3, 7)
    assert locator.image_size(b"GIF89a" + struct.pack("<HH", 5, 9) + b"\x00" * 8) == (5, 9)
    jpeg = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 4) + b"\x00\x00" + b"\xff\xc0" + struct.pack(">HBHH", 11, 8, 20, 30) + b"\x00" * 8
    assert locator.image_size(jpeg) == (30, 20)
    assert locator.image_size(b"plain text, no image") is None


def test_volatile_values_are_never_facts():
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 60))
    assert is_volatile("started", stamp, now) and is_volatile("updated_at", int(now), now)
    assert is_volatile("path", "/tmp/firefly-explore-kh1gxp39/slot1/shop.db", now)
    assert is_volatile("where", "/var/folders/xy/T/tmpab12cd34/out.txt", now)
    assert not is_volatile("day", "2025-03-05", now) and not is_volatile("when", "2025-03-05T10:00", now)
    assert not is_volatile("path", "/workspace/files/notes.md", now) and not is_volatile("count", int(now), now)


# --------------------------------------------------------------------------- words


TOOLS = [
    ToolRef("w", "get_weather", "Get the current weather for a city.", {"type": "object", "properties": {
        "city": {"type": "string"}, "units": {"type": "string", "default": "metric"}}}),
    ToolRef("x", "rename_worksheet", None, {"type": "object"}),
    ToolRef("n", "add_note", "Creates a new note with a title and a body.", {"type": "object"}),
    ToolRef("m", "convert_units", "Converts a value from one unit into another.", {"type": "object"}),
]


@pytest.mark.parametrize(("tool", "args", "scope"), [
    (0, {"city": "Paris", "units": "metric"}, 'the current weather for the city "Paris"'),
    (0, {"city": "Paris", "units": "imperial"}, 'the current weather for the city "Paris" with units "imperial"'),
    (1, {"filepath": "a.xlsx", "sheet": "Q1"}, 'the result of renaming the worksheet for filepath "a.xlsx" and sheet "Q1"'),
    (3, {"value": 3, "from": "km", "to": "mi"}, 'the result of converting the value 3 from one unit into another for from "km" and to "mi"'),
])
def test_any_tool_is_worded_from_its_description_and_arguments(tool, args, scope):
    ref = TOOLS[tool]
    said = generic_scope(ref.name, args, {}, ref)
    assert said == scope
    assert "{" not in said and ref.name not in said


def test_a_description_that_is_a_noun_phrase_stays_one():
    ref = ToolRef("m", "sympy_log", "Natural logarithm of an expression.", {"type": "object"})
    assert generic_scope("sympy_log", {"expr": "2 * 3"}, {}, ref) == 'the natural logarithm of the expression "2 * 3"'
    assert generic_scope("rad", {"expr": "2"}, {}, ToolRef("m", "rad", "Simplify radicals.", {"type": "object"})) == \
        'the result of simplifying radicals for expression "2"'  # a short name spelled out
    ref = ToolRef("m", "cancel", "Cancel common factors in a rational expression.", {"type": "object"})
    assert generic_scope("cancel", {}, {}, ref) == "the result of canceling common factors in a rational expression"


def test_any_effect_is_an_instruction_never_a_raw_call():
    assert generic_effect("add_note", {"title": "Groceries", "body": "milk"}, TOOLS[2]) == \
        'create a new note with the title "Groceries" and the body "milk"'
    said = generic_effect("rename_worksheet", {"filepath": "a.xlsx", "old": "S1", "new": "Data"}, TOOLS[1])
    assert said == 'rename the worksheet with filepath "a.xlsx", old "S1" and new "Data"'
    assert generic_effect("git_commit", {"message": "x"}) == 'commit in git with message "x"'


def test_a_fed_argument_is_described_once_by_where_it_came_from():
    said = generic_scope("get_weather", {"city": "Oslo"}, {"city": "the second office listed in the offices"}, TOOLS[0])
    assert said == "the current weather for the city of the second office listed in the offices"
    assert "Oslo" not in said


# --------------------------------------------------------------------------- a server no adapter knows


def test_a_server_without_an_adapter_yields_verified_tasks_with_natural_questions(store):
    from firefly.discovery import discover
    from firefly.events import DagSampled, DagTool
    from firefly.explore.offline import OfflinePolicy
    from firefly.explore.stage import explore
    from firefly.registry import parse_registry, register
    from firefly.synth import synthesize
    from firefly.synth.verify import verify

    register(store, parse_registry(json.dumps({"mcpServers": {
        "stock": {"command": sys.executable, "args": [str(SERVERS / "warehouse.py")]}}})), source="t")
    discover(store, connect_timeout=20)
    for i, tools in enumerate([[("stock", "list_warehouses"), ("stock", "get_stock")],
                               [("stock", "list_warehouses"), ("stock", "shelf_report")],
                               [("stock", "get_server_time")]]):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    store.catch_up()
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=20)
    synthesize(store, max_tasks=30)
    verify(store)
    rows = store.conn.execute("SELECT question, answer, kind, template FROM tasks WHERE verified = 1").fetchall()
    assert len(rows) >= 5, rows
    questions = [q for q, *_ in rows]
    for q in questions:
        assert "{" not in q and not re.search(r"\b(get_stock|list_warehouses|shelf_report|get_server_time)\b", q), q
        assert "tool" not in q.lower(), q
    text = " ".join(questions)
    assert "warehouses of the company" in text or "stock held in" in text
    assert any("units on hand" in q or "unit price" in q for q in questions)  # names from the output schema
    assert any("Ola Nordmann" == json.loads(a) for _, a, *_ in rows)  # a labelled line, without the rest of its line
    hops = [q for q, _, kind, _ in rows if kind == "multi-hop"]
    assert hops and all(q.count(" whose ") == 1 for q in hops)  # one description per hop, never nested
    assert any('the stock held in the warehouse whose city is "' in q for q in hops), hops
    # the clock is never a label of its own: only a reading bound to the call that told it
    bound = {t: json.loads(m).get("returned") for t, m in store.conn.execute(
        "SELECT template, match FROM tasks WHERE verified = 1")}
    assert all(bound[t] and bound[t]["tool"] == "get_server_time" for *_, t in rows if "time" in t and "server" in t)
    answers = [(json.loads(a), bound[t]) for _, a, _, t in rows]
    assert not any(isinstance(a, str) and re.match(r"\d{4}-\d{2}-\d{2}T", a) and not b for a, b in answers)


def test_a_task_that_holds_a_time_of_this_run_or_a_temporary_path_is_never_made():
    from collections import Counter

    from firefly.synth.model import Candidate
    from firefly.synth.offline import OfflineSynthesizer

    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    synth, skipped = OfflineSynthesizer(), Counter()

    def task(question: str, answer: Any) -> Any:
        return synth._finish(Candidate("lookup", "t", question, answer, {"rule": "normalized"}, {0}, [], {}), skipped)

    assert task("When was the report written?", now) is None
    assert task("First write the file a.md with exactly this content:\n- created: " + now + "\nThen answer: x?", 3) is None
    assert task("Where is the export?", "/tmp/tmpk2j3h4x9/export.csv") is None
    assert skipped["a run-dependent value in the task"] == 3
    assert task("When was the commit made?", "2025-03-05") is not None


def test_plurals_of_field_names_in_questions():
    from firefly.synth.facts import plural_of

    assert [plural_of(w) for w in ("status", "address", "order id", "category", "box", "items", "data")] == [
        "statuses", "addresses", "order ids", "categories", "boxes", "items", "data"]


def test_a_field_headed_by_a_question_is_named_as_a_field_not_asked_twice():
    (md,) = tables(T("| Folder | What is in it |\n|---|---|\n| data/ | CSV exports |\n| notes/ | Meeting notes |\n"))
    assert md.label("What is in it").lower() == '"what is in it" field'
    assert md.label("Folder").lower() == "folder"


def test_source_code_gives_no_labelled_values_but_prose_with_a_colon_does():
    from firefly.synth.facts import looks_like_code

    code = ('"""Inventory report."""\nimport csv\nimport sys\nfrom pathlib import Path\n\n'
            'DEFAULT_PATH = Path("data/inventory.csv")\n\n\ndef main():\n'
            '    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH\n'
            '    with path.open() as f:\n        rows = list(csv.DictReader(f))\n    return rows\n')
    assert looks_like_code(code.splitlines())
    assert tables(T(code), tool="read_file") == []
    notes = "# Warehouse move\n\nOwner: Tomás Herrera\nMove day: Monday 2025-04-28\nMover: Atlantic Freight\n"
    assert not looks_like_code(notes.splitlines())
    (rec,) = tables(T(notes), tool="read_file")
    assert rec.items[0].get("Owner") == "Tomás Herrera"


def test_a_hop_names_the_field_it_took_from_an_item_not_the_item():
    from types import SimpleNamespace

    from firefly.adapters import ServerRecord, adapter_for
    from firefly.synth.facts import Cell, Item, Table
    from firefly.synth.offline import OfflineSynthesizer

    def relation(i: int, src: str, dst: str, kind: str) -> Item:
        return Item({"from": Cell(src, f"$.structured_content.relations[{i}].from"),
                     "to": Cell(dst, f"$.structured_content.relations[{i}].to"),
                     "relationType": Cell(kind, f"$.structured_content.relations[{i}].relationType")}, i + 1)

    rels = Table(0, "relation", "relations", "relationType",
                 [relation(0, "Ann", "Acme", "works_at"), relation(1, "Bob", "Ann", "reports_to")],
                 labels={"from": "source entity", "to": "target entity", "relationType": "relation type"})
    step = SimpleNamespace(step=0, tool="find_links", server="crm", arguments={"query": "Ann"})
    x = SimpleNamespace(adapter=lambda s: adapter_for(ServerRecord(s)), ref=lambda s, t: None)
    describe = OfflineSynthesizer()._describe
    fed = {"step": 0, "path": "$.structured_content.relations[0].to", "value": "Acme"}
    phrase, _ = describe(x, step, [rels], fed)
    assert phrase.startswith('the target entity of the relation whose relation type is "works_at" in ')
    # the item's own key fed on: the item is what is described
    key = {"step": 0, "path": "$.structured_content.relations[1].relationType", "value": "reports_to"}
    phrase, _ = describe(x, step, [rels], key)
    assert phrase.startswith('the relation whose source entity is "Bob" in ')


def test_a_locator_moves_the_item_it_points_into():
    from firefly.locator import moved

    assert moved("$.content[0].text#line=19", -5) == "$.content[0].text#line=14"
    assert moved("$.content[0].text#line=2", -5) is None  # above the first line
    assert moved("$.content[0].text#json=$.rows[3].name", 2) == "$.content[0].text#json=$.rows[5].name"
    assert moved("$.structured_content.entities[2].tags[0]", -1) == "$.structured_content.entities[1].tags[0]"
    assert moved("$.structured_content.total", 1) is None  # no position to move
    assert moved("$.content[1].text", 1) is None  # the content block is not an item


def test_a_python_repr_with_wrapped_values_is_read_as_records():
    # psycopg's rows: dict subclasses and Decimal numbers, printed as Python reprs
    text = "[RealDictRow({'id': 3, 'name': 'Laptop', 'price': Decimal('999.00')}), RealDictRow({'id': 4, 'name': 'Mug', 'price': Decimal('8.50')})]"
    [t] = tables(T(text))
    assert [{f: c.value for f, c in it.cells.items()} for it in t.items] == [
        {"id": 3, "name": "Laptop", "price": 999.0}, {"id": 4, "name": "Mug", "price": 8.5}]
    # a date or a time as Python prints it is the ISO text it stands for (a row's datetime.date)
    assert locator.embedded_json("[{'day': datetime.date(2025, 1, 2)}]") == [{"day": "2025-01-02"}]
    assert locator.embedded_json("[{'at': datetime.datetime(2025, 1, 2, 9, 30)}]") == [{"at": "2025-01-02T09:30:00"}]
    # any other call of several arguments is not one value, nor a date that is none: not read as a record
    assert locator.embedded_json("[{'day': point(2025, 1)}]") is None
    assert locator.embedded_json("[{'day': date(2025, 2, 30)}]") is None
    assert locator.embedded_json("[Tag('draft')]") == ["draft"]


def test_an_age_counted_back_from_now_is_a_reading_of_the_clock():
    assert is_clock_value("days_ago", 0) and is_clock_value("hoursAgo", 5) and is_clock_value("uptime", 12.5)
    assert not is_clock_value("days", 3) and not is_clock_value("lead_time_days", 10)


def test_a_random_lower_case_id_is_made_up_and_a_named_one_is_not():
    assert is_opaque_id("id", "mxckp0mg5e4zo4th6vv") and is_opaque_id("element_id", "k2j4h5g6f7d8")
    assert not is_opaque_id("id", "order_items") and not is_opaque_id("id", "harborshop")
    assert not is_opaque_id("name", "mxckp0mg5e4zo4th6vv") and not is_opaque_id("id", "sku1042")


def test_a_square_matrix_is_read_as_its_pairs_labelled_by_what_it_holds():
    """A correlation matrix (an object of objects, rows and columns alike) had been read as
    fields "price.qty" ("what is the price qty?", and the diagonal 1.0 asked too): each pair
    once, the diagonal left out, labelled "correlation of price and qty". An object of
    objects with other keys is no matrix."""

    def said(value):
        return [{"type": "text", "text": json.dumps(value)}]

    matrix = {"id": {"id": 1.0, "price": 0.3939, "qty": 0.0074}, "price": {"id": 0.3939, "price": 1.0, "qty": -0.3772},
              "qty": {"id": 0.0074, "price": -0.3772, "qty": 1.0}}
    (found,) = [t for t in tables(said({"method": "pearson", "correlation_matrix": matrix}))
                if len(t.items[0].cells) > 1]
    assert {f: c.value for f, c in found.items[0].cells.items()} == {
        "id and price": 0.3939, "id and qty": 0.0074, "price and qty": -0.3772}
    assert found.labels["price and qty"] == "correlation of price and qty"
    # a matrix whose two halves differ (a distance from one to the other): each ordered pair
    directed = {"a": {"a": 0, "b": 3}, "b": {"a": 5, "b": 0}}
    (found,) = tables(said({"distance_matrix": directed}))
    assert {f: c.value for f, c in found.items[0].cells.items()} == {"a and b": 3, "b and a": 5}
    assert found.labels["b and a"] == "distance of b to a"
    (plain,) = tables(said({"stats": {"price": {"mean": 2.5, "max": 4}, "qty": {"mean": 1, "max": 2}}}))
    assert "price.mean" in plain.items[0].cells


def test_a_map_of_records_keyed_by_name_is_one_table_with_the_keys_as_names():
    """``{"options": {"Threads": {...}, "Hash": {...}}}`` had been read as one small record per
    key ("the name of all available engine options" answered with one option's name): it is
    one table of options, each named by its key, located as the key itself (``~``). A map of
    numbers per key stays fields of one record, and a record whose objects are unlike is no map."""
    doc = {"engine": "Fish 16", "options": {
        "Threads": {"type": "spin", "default": 1, "min": 1, "max": 1024},
        "Hash": {"type": "spin", "default": 16, "min": 1, "max": 33554432},
        "Ponder": {"type": "check", "default": False}}}
    for content, structured in ((T(json.dumps(doc)), None), (T("ok"), doc)):
        options = by_noun(tables(content, structured, "get_engine_options"))["option"]
        assert (options.key, options.total) == ("name", 3)
        assert [it.get("name") for it in options.items] == ["Threads", "Hash", "Ponder"]
        assert [it.get("max") for it in options.items] == [1024, 33554432, None]
        assert locator.resolve(content, structured, options.items[1].cells["name"].path) == "Hash"
    # rows whose fields sit under a flat object, some of them empty or None, are rows too
    nested = {"options": {"Clear Hash": {"current_value": None, "metadata": {"type": "button", "default": None}},
                          "Debug Log File": {"current_value": "", "metadata": {"type": "string", "default": ""}},
                          "Hash": {"current_value": 16, "metadata": {"type": "spin", "default": 16}}}}
    options = by_noun(tables(T(json.dumps(nested)), None, "get_engine_options"))["option"]
    assert [(it.get("name"), it.get("metadata.type")) for it in options.items] == [
        ("Clear Hash", "button"), ("Debug Log File", "string"), ("Hash", "spin")]
    # the key itself, not its value; a key that is not there, or a list position, is nothing
    assert locator.resolve(None, doc, "$.structured_content.options.Hash~") == "Hash"
    assert locator.resolve(None, doc, "$.structured_content.options.Nope~") is None
    assert locator.resolve(None, {"a": [1]}, "$.structured_content.a[0]~") is None
    # rows that have a name of their own keep it; the key is then the row's key
    named = {"tools": {"t1": {"name": "Saw", "kind": "cut"}, "t2": {"name": "Drill", "kind": "bore"}}}
    tools = by_noun(tables(T(json.dumps(named))))["tool"]
    assert [(it.get("key"), it.get("name")) for it in tools.items] == [("t1", "Saw"), ("t2", "Drill")]
    unlike = {"address": {"street": "Main St", "city": "Oslo"}, "company": {"name": "Acme", "founded": 1990}}
    assert all(t.total != 2 or t.key != "name" for t in tables(T(json.dumps({"person": unlike}))))
