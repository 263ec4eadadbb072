"""Values a tool's documentation gives a bare string parameter, typed mathematical values,
human text, lists of numbers, paths made relative when the schema or the server asks."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from firefly.explore.offline import OfflinePolicy
from firefly.explore.paramdocs import documented_values, is_free_text, json_examples, param_doc, value_kind
from firefly.explore.policy import CallRecord, ToolRef, Ungrounded, WorkspaceInfo
from firefly.explore.stage import server_file_kinds
from firefly.explore.values import extract

ARGS_DOC = """Add a connector.
        Args:
            slide_index: Index of the slide (0-based)
            connector_type: Type of connector ("straight", "elbow", "curved")
            start_cell: Cell to start writing to, default is "A1"
            symbol_name: Name of the symbol to retrieve (e.g., "process_data", "MyClass.my_method")
"""


def test_documented_values_from_the_args_section_and_the_parameters_description():
    assert param_doc(ARGS_DOC, "connector_type").startswith("Type of connector")
    assert documented_values(ARGS_DOC, "connector_type") == ["straight", "elbow", "curved"]
    assert documented_values(ARGS_DOC, "start_cell") == ["A1"]
    assert documented_values(ARGS_DOC, "symbol_name") == ["process_data", "MyClass.my_method"]
    assert documented_values("Convert color space. target: gray, hsv, lab.", "target") == ["gray", "hsv", "lab"]
    assert documented_values("", "status", "single | married_jointly | head_of_household") == [
        "single", "married_jointly", "head_of_household"]
    assert documented_values("", "format", "Available formats:\n- date: 2024-12-10\n- iso: 2024-12-10T00:00") == [
        "date", "iso"]
    assert documented_values(ARGS_DOC, "missing") == []


def test_the_value_a_tool_falls_back_on_without_the_parameter_is_a_documented_value():
    doc = "Query JSON documents sorted by a field. If no sortField is provided, use the _id field."
    assert documented_values(doc, "sortField") == ["_id"]
    assert documented_values("If no path is given, uses the current directory.", "path") == []
    assert documented_values(doc, "databaseName") == []


def test_math_kinds_and_free_text_are_read_from_names_in_context():
    assert value_kind("a", "gcd: greatest common divisor") == "number"
    assert value_kind("args", "and: logical and (comma-separated)") == "expression"
    assert value_kind("matrix", "compute the determinant of a matrix") == "matrix"
    assert value_kind("point2", "create a triangle") == "point"
    assert value_kind("a", "send an email") is None  # no mathematics: not a number
    assert value_kind("order", "list_products sorted by price") is None
    assert value_kind("name", "create_product in the shop's endpoint") is None
    assert value_kind("n", "sympy_lcm") == "number" and value_kind("name", "Symbol name.") == "symbol"
    assert is_free_text("text_a", "", "diff two texts") and is_free_text("input", "String to hash")
    assert not is_free_text("command", "") and not is_free_text("input", "JSON to parse")
    assert not is_free_text("a", "", "compare two numbers")


def _propose(tool: ToolRef, ws: WorkspaceInfo = WorkspaceInfo(), history: list[CallRecord] | None = None,
             seed: int = 0, attempt: int = 0) -> dict:
    return OfflinePolicy().propose(tool, history or [], ws, random.Random(seed), attempt=attempt).arguments


def test_bare_string_parameters_get_documented_typed_or_text_values_never_placeholders():
    schema = {"type": "object", "properties": {"connector_type": {"title": "Connector Type", "type": "string"}},
              "required": ["connector_type"]}
    assert _propose(ToolRef("s", "add_connector", ARGS_DOC, schema))["connector_type"] in ("straight", "elbow", "curved")
    tri = {"type": "object", "properties": {f"point{i}": {"type": "string"} for i in (1, 2, 3)},
           "required": ["point1", "point2", "point3"]}
    args = _propose(ToolRef("s", "Triangle", "Create a triangle.", tri))
    assert len({args["point1"], args["point2"], args["point3"]}) == 3
    gcd = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}
    args = _propose(ToolRef("s", "gcd", "Greatest common divisor.", gcd))
    assert args["a"].isdigit() and args["b"].isdigit()
    text = {"type": "object", "properties": {"input": {"type": "string", "description": "String to hash"}},
            "required": ["input"]}
    ws = WorkspaceInfo(texts={"/workspace/notes/a.md": "Roast dates move to Fridays.\n"})
    assert _propose(ToolRef("s", "hash", "Hash a string.", text), ws)["input"] == "Roast dates move to Fridays."
    cmd = {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}
    assert _propose(ToolRef("s", "run", "Run a command.", cmd))["command"] in ("echo hello", "ls", "pwd")  # harmless


def test_a_command_reads_the_workspace_and_such_a_call_only_reads():
    from firefly.adapters.verbs import reads_by_command
    from firefly.explore.stage import is_read_only

    cmd = {"type": "object", "properties": {"command": {"type": "string", "description": "Command with args"}},
           "required": ["command"]}
    ws = WorkspaceInfo(texts={"/workspace/files/data/stock.csv": "sku,qty\nA,3\n", "/workspace/files/a.md": "# A\n"},
                       directories=("/workspace/files",))
    run = ToolRef("s", "run_command", "Run a command on this linux machine", cmd)
    seen = {_propose(run, ws, seed=seed)["command"] for seed in range(12)}
    assert seen and all(c.split()[0] in ("cat", "wc", "head", "ls") and "/workspace/files" in c for c in seen), seen
    assert "cat /workspace/files/data/stock.csv" in seen
    argv = {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
            "required": ["command"]}
    args = _propose(ToolRef("s", "shell_execute", "Execute an allowed command as an argv array", argv), ws)
    assert isinstance(args["command"], list) and args["command"][0] in ("cat", "wc", "head", "ls")
    # a call that only reads is read-only whatever the tool says; one that writes is not
    writer = ToolRef("s", "run_command", "Run a command on this linux machine", cmd, {"readOnlyHint": False})
    assert is_read_only(writer, {"command": "wc -l /workspace/files/a.md | sort"})
    assert not is_read_only(writer, {"command": "rm /workspace/files/a.md"}) and not is_read_only(writer)
    assert not reads_by_command(cmd, {"command": "cat a.md > b.md"}, "Run a command")
    assert not reads_by_command(cmd, {"command": "sort -o a.md a.md"}, "Run a command")
    assert not reads_by_command(cmd, {"command": "find . -delete"}, "Run a command")
    # a parameter called command of a tool that runs no commands (a chess engine's) is no command line
    assert not reads_by_command(cmd, {"command": "cat a.md"}, "Send a UCI instruction to the engine")


def test_a_sql_statement_that_only_reads_makes_its_call_read_only():
    """``execute_query`` "with full write access" given a SELECT changes nothing: the call
    is a read (a task does not ask for it as a step that must come first). A statement that
    writes, two statements, or a SELECT INTO is no read; nor is a search query that happens
    to begin with "show" on a tool that speaks of no database."""
    from firefly.adapters.verbs import reads_by_query
    from firefly.explore.stage import is_read_only

    sql = {"type": "object", "properties": {"sql": {"type": "string"}}, "required": ["sql"]}
    run = ToolRef("db", "execute_query", "Execute a SQL query with full write access.", sql, {"readOnlyHint": False})
    for q in ("SELECT * FROM products LIMIT 10", "with t as (select 1) select * from t;", "PRAGMA table_info(products)",
              "SHOW TABLES", "SELECT name FROM notes WHERE body = 'update the price'"):
        assert is_read_only(run, {"sql": q}), q
    for q in ("UPDATE products SET price = 1", "SELECT 1; DROP TABLE products", "SELECT * INTO copy FROM products",
              "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", "PRAGMA foreign_keys = ON",
              "SELECT nextval('ids')"):
        assert not is_read_only(run, {"sql": q}), q
    assert not is_read_only(run)
    query = {"type": "object", "properties": {"query": {"type": "string"}}}
    assert not reads_by_query(query, {"query": "show me the overdue tasks"}, "delete_by_query Delete the tasks a search finds")


def _one(name: str, description: str = "") -> dict:
    prop = {"type": "string", **({"description": description} if description else {})}
    return {"type": "object", "properties": {name: prop}, "required": [name]}


def test_a_bare_string_gets_a_value_of_the_kind_its_name_and_documentation_describe():
    assert "print(" in _propose(ToolRef("s", "analyze", "Lint it.", _one("code", "Python code to analyze")))["code"]
    assert "console.log" in _propose(ToolRef("s", "run_js", "Run JavaScript.", _one("script")))["script"]
    assert _propose(ToolRef("s", "click", "Click.", _one("selector", "CSS selector to click")))["selector"] in (
        "body", "h1", "p")
    # a tool that makes a named thing gets a new name, from the parameter's words or the tool's
    assert _propose(ToolRef("s", "create_worksheet", "", _one("sheet_name")))["sheet_name"].startswith("sheet_")
    assert _propose(ToolRef("s", "save", "", _one("key", "Unique key for the item")))["key"].startswith("item_")
    assert _propose(ToolRef("s", "add_member", "Add a member to a set.", _one("member")))["member"] in (
        "ready", "blue", "42")
    # left alone: code in no language the documentation names, the key of a thing that must exist
    with pytest.raises(Ungrounded):
        _propose(ToolRef("s", "describe", "Describe a code.", _one("code")))
    with pytest.raises(Ungrounded):
        _propose(ToolRef("s", "get", "Read a value.", _one("key", "The key to read")))
    with pytest.raises(Ungrounded):  # a link is made, not its source: that must exist already
        _propose(ToolRef("s", "context_link", "Create a link between items.", _one("sourceKey")))
    with pytest.raises(Ungrounded):  # a value to remove must be one that is there
        _propose(ToolRef("s", "remove_member", "Remove a member from a set.", _one("member")))


def test_a_name_an_earlier_call_of_the_server_gave_is_used_again():
    set_call = CallRecord(0, "s", "set", {"key": "basket_4", "value": "3"}, [{"type": "text", "text": "OK"}], None, False)
    get = ToolRef("s", "get", "Read a value.", _one("key", "The key to read"))
    assert _propose(get, history=[set_call])["key"] == "basket_4"
    failed = CallRecord(0, "s", "set", {"key": "basket_4"}, [{"type": "text", "text": "boom"}], None, True)
    other = CallRecord(0, "t", "set", {"key": "basket_5"}, [{"type": "text", "text": "OK"}], None, False)
    with pytest.raises(Ungrounded):  # not from a failed call, nor from another server
        _propose(get, history=[failed, other])


def test_a_required_list_of_numbers_is_never_empty():
    schema = {"type": "object", "properties": {
        "numbers": {"type": "array", "items": {"type": "number"}},
        "rows": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}, "maxItems": 2}},
        "required": ["numbers", "rows"]}
    for seed in range(5):
        args = _propose(ToolRef("s", "mean", "Average of the numbers.", schema), seed=seed)
        assert args["numbers"] and all(isinstance(x, (int, float)) for x in args["numbers"])
        assert 1 <= len(args["rows"]) <= 2 and all(r and all(isinstance(x, int) for x in r) for r in args["rows"])


def test_paths_are_made_relative_for_a_pattern_or_when_a_failed_call_asked():
    ws = WorkspaceInfo(files=("/workspace/vault/Python.md", "/workspace/vault/diagram.png"),
                       directories=("/workspace/vault",), roots={"s": ("/workspace/vault",)})
    schema = {"type": "object", "properties": {"path": {"type": "string", "pattern": r"^[^/].*\.md$"}},
              "required": ["path"]}
    for seed in range(4):  # the pattern names the kind of file, too
        assert _propose(ToolRef("s", "read_note", "Read a note.", schema), ws, seed=seed)["path"] == "Python.md"
    plain = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    told = CallRecord(0, "s", "read_note", {"path": "/workspace/vault/Python.md"},
                      [{"type": "text", "text": "Error: paths must be relative to the vault"}], None, True)
    assert _propose(ToolRef("s", "read_note", "Read a note.", plain), ws, [told], attempt=1)["path"] in (
        "Python.md", "diagram.png")


def test_a_server_whose_tools_speak_of_one_file_kind_gets_files_of_that_kind():
    tools = [ToolRef("img", n, d, {}) for n, d in (("blur", "Blur an image."), ("sharpen", "Sharpen."),
                                                   ("resize", "Resize an image."), ("crop", "Crop the image."))]
    kinds = server_file_kinds(tools)
    assert ".png" in kinds["img"]
    ws = WorkspaceInfo(files=("/workspace/data/notes.md", "/workspace/data/shapes.png"),
                       directories=("/workspace/data",), file_kinds=kinds)
    schema = {"type": "object", "properties": {"input_path": {"type": "string"}}, "required": ["input_path"]}
    for seed in range(4):
        assert _propose(ToolRef("img", "sharpen", "Sharpen.", schema), ws, seed=seed)["input_path"].endswith(".png")


def test_a_parameter_takes_values_listed_under_the_identifying_word_its_documentation_names():
    scanned = CallRecord(0, "kv", "scan_keys", {}, [{"type": "text", "text": '{"keys": ["user:1", "cart:7"]}'}],
                         {"keys": ["user:1", "cart:7"]}, False)
    schema = {"type": "object", "properties": {"name": {"title": "Name", "type": "string"}}, "required": ["name"]}
    doc = "Get all fields of a hash.\n\n    Args:\n        name: The Redis hash key.\n"
    assert _propose(ToolRef("kv", "hgetall", doc, schema), history=[scanned])["name"] in ("user:1", "cart:7")
    from firefly.adapters.verbs import reads_by_name

    assert reads_by_name("scan_all_keys")  # a listing: the survey may call it


def test_a_key_listed_wins_over_a_hash_field_called_name_and_an_undocumented_name_borrows_its_servers_docs():
    """name: "The Redis hash key": a key scan_keys listed, not "Widget" (the value of a hash
    field called "name"); llen(name), undocumented, reads "name" as the server's other tools
    document it, and is given a listed key instead of being skipped as ungrounded."""
    from firefly.explore.paramdocs import shared_param_docs, thing_kind

    scanned = CallRecord(0, "kv", "scan_keys", {}, [{"type": "text", "text": '{"keys": ["product:1", "queue:jobs"]}'}],
                         {"keys": ["product:1", "queue:jobs"]}, False)
    fields = CallRecord(1, "kv", "hgetall", {"name": "product:1"},
                        [{"type": "text", "text": '{"name": "Widget", "price": "9.99"}'}],
                        {"name": "Widget", "price": "9.99"}, False)
    schema = {"type": "object", "properties": {"name": {"title": "Name", "type": "string"}}, "required": ["name"]}
    hash_doc = "Get all fields of a hash.\n\n    Args:\n        name: The Redis hash key.\n"
    for seed in range(6):
        assert _propose(ToolRef("kv", "hkeys", hash_doc, schema), history=[scanned, fields], seed=seed)["name"] in (
            "product:1", "queue:jobs")
    llen = ToolRef("kv", "llen", "Get the length of a list.", schema)
    ws = WorkspaceInfo(param_docs=shared_param_docs([ToolRef("kv", "hkeys", hash_doc, schema), llen]))
    assert ws.param_docs == {"kv": {"name": "The Redis hash key."}}
    assert _propose(llen, ws, history=[scanned])["name"] in ("product:1", "queue:jobs")
    with pytest.raises(Ungrounded):
        _propose(llen, history=[scanned])  # nothing says what "name" is
    # the kind of thing an undocumented handle names: what the description is about
    assert thing_kind(llen, "name") == "list"
    assert thing_kind(ToolRef("kv", "sadd", "Add a value to a set.", {"properties": {"name": {}, "value": {}}}),
                      "name") == "set"
    assert thing_kind(ToolRef("kv", "echo", "Echo a value.", {"properties": {"text": {}}}), "text") == ""


def test_an_input_path_is_an_existing_file_and_an_output_folder_an_existing_folder():
    ws = WorkspaceInfo(files=("/workspace/data/sample.pdf", "/workspace/data/notes.md"), directories=("/workspace/data",))
    schema = {"type": "object", "properties": {
        "input_path": {"type": "string"}, "output_directory": {"type": "string"}},
        "required": ["input_path", "output_directory"]}
    for seed in range(4):
        args = _propose(ToolRef("pdfs", "add_watermark_pdf", "Add a watermark to a PDF.", schema), ws, seed=seed)
        assert args == {"input_path": "/workspace/data/sample.pdf", "output_directory": "/workspace/data"}


def test_a_parameter_documented_as_json_takes_only_the_json_written_out():
    assert documented_values("", "page_order", "JSON array of 1-based page numbers.\nExample: [3, 1, 2]") == ["[3, 1, 2]"]
    assert documented_values("", "form_data", 'JSON object of field to value, e.g. {"name": "Jane Roe"}.') == [
        '{"name": "Jane Roe"}']
    assert documented_values("", "fields", "A JSON object of field names, like 'a'") == []


def test_json_written_as_a_javascript_or_python_literal_is_the_json_it_stands_for():
    doc = ("Structured task list, each task atomic. Example: [{name: 'Pack orders', dependencies: ['Count stock'], "
           "relatedFiles: [{path: 'data/orders.csv', lineStart: 1, done: false}]}]")
    assert json_examples(doc) == ['[{"name": "Pack orders", "dependencies": ["Count stock"], '
                                  '"relatedFiles": [{"path": "data/orders.csv", "lineStart": 1, "done": false}]}]']
    # a failed call said the JSON it was sent was invalid: the retry sends the literal's JSON
    tasks = ToolRef("s", "split_tasks", "Split work into tasks.", _one("tasksRaw", doc))
    failed = CallRecord(0, "s", "split_tasks", {"tasksRaw": "Pack orders"},
                        [{"type": "text", "text": 'tasksRaw: Unexpected token "P", "Pack orders" is not valid JSON'}],
                        None, True)
    assert json.loads(_propose(tasks, history=[failed], attempt=1)["tasksRaw"])[0]["name"] == "Pack orders"
    # words in brackets are no literal; JSON stays as it was
    assert json_examples("Pass [optional] flags; see {name} below") == []
    assert json_examples("Example: [3, 1, 2]") == ["[3, 1, 2]"]


def test_a_retry_puts_a_listed_choice_where_the_validator_named_a_wrong_value_inside_the_json_text():
    doc = ("Task list. Example: [{name: 'Pack orders', description: 'Pack the orders of the week', "
           "relatedFiles: [{path: 'data/orders.csv', type: 'file type (TO_MODIFY, REFERENCE)'}]}, "
           "{name: 'Ship', description: 'short', relatedFiles: []}]")
    tool = ToolRef("s", "split_tasks", "Split work into tasks.", _one("tasksRaw", doc))
    sent = json_examples(doc)[0]
    issues = [{"received": "file type (TO_MODIFY, REFERENCE)", "code": "invalid_enum_value",
               "options": ["TO_MODIFY", "REFERENCE"], "path": [0, "relatedFiles", 0, "type"]},
              {"code": "too_small", "minimum": 10, "type": "string", "path": [1, "description"]}]
    failed = CallRecord(0, "s", "split_tasks", {"tasksRaw": sent},
                        [{"type": "text", "text": "tasks 參數格式錯誤：" + json.dumps(issues, indent=2)}], None, False)
    retry = json.loads(_propose(tool, history=[failed], attempt=1)["tasksRaw"])
    # the wrong value is the first choice listed; the item rejected for a short text is left out
    assert retry == [{"name": "Pack orders", "description": "Pack the orders of the week",
                      "relatedFiles": [{"path": "data/orders.csv", "type": "TO_MODIFY"}]}]
    assert json.loads(_propose(tool)["tasksRaw"]) == json.loads(sent)  # a first call sends the example as written


def test_a_retry_passes_as_many_numbers_as_the_failed_call_said():
    schema = {"type": "object", "properties": {"numbers": {"type": "array", "items": {"type": "number"}}},
              "required": ["numbers"]}
    tool = ToolRef("m", "power", "Raise to a power.", schema)
    failed = CallRecord(0, "m", "power", {"numbers": [1, 2, 3]},
                        [{"type": "text", "text": "Error: Operation power requires two inputs"}], None, True)
    for seed in range(4):
        assert len(_propose(tool, history=[failed], seed=seed, attempt=1)["numbers"]) == 2


def test_a_value_listed_under_another_field_by_an_earlier_survey_call_is_still_pooled_under_its_own(store):
    """A key one listing printed as a plain line is still pooled as listed under ``keys`` by the
    next: the pool keeps a value once per field it was seen under."""
    from firefly.events import ServerSurveyed, ToolCalled
    from firefly.explore.survey import grounded_pools

    sid = "survey-kv"
    store.append(ToolCalled(exploration_id=sid, step=0, server="kv", tool="scan_all_keys", read_only=True,
                            content=[{"type": "text", "text": '{"first": "cart:7"}'}], arguments_hash="h0"))
    store.append(ToolCalled(exploration_id=sid, step=1, server="kv", tool="scan_keys", read_only=True,
                            content=[{"type": "text", "text": '{"keys": ["cart:7"]}'}],
                            structured_content={"keys": ["cart:7"]}, arguments_hash="h1"))
    store.append(ServerSurveyed(survey_id=sid, server="kv", tools=["scan_all_keys", "scan_keys"]))
    pool = grounded_pools(store)["kv"]
    assert {v.key for v in pool if v.value == "cart:7"} >= {"first", "keys"}


def test_a_json_string_parameter_gets_the_json_its_description_writes_out():
    schema = {"type": "object", "properties": {"option": {"type": "string", "description":
              'Chart option. For example:\n{"title": {"text": "Sales"}, "series": [{"type": "bar"}]}'}},
              "required": ["option"]}
    for seed in range(3):
        got = _propose(ToolRef("s", "chart", "Make a chart.", schema), seed=seed)["option"]
        assert json.loads(got)["title"] == {"text": "Sales"}
    stand_in = {"type": "object", "properties": {"option": {"type": "string", "description":
                'JSON config, e.g. {"path": "/path/to/your/file"}'}}, "required": ["option"]}
    with pytest.raises(Ungrounded):
        _propose(ToolRef("s", "chart", "Make a chart.", stand_in))


def test_free_text_is_prose_of_the_world_never_data_with_stand_ins():
    ws = WorkspaceInfo(texts={"/workspace/data/a.csv": "name,email\nAna,ana@shop.example\n",
                              "/workspace/notes/z.md": "Roast dates move to Fridays.\n"})
    schema = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
    for seed in range(4):
        assert _propose(ToolRef("s", "summarize", "Summarize a text.", schema), ws, seed=seed)["input"] == \
            "Roast dates move to Fridays."


def test_a_parameter_that_takes_json_gets_json_its_documentation_writes_out():
    doc = "Add radio buttons.\n\n`options` is a JSON array of label strings:\n  [\"Residential\", \"Commercial\"]\n"
    radio = ToolRef("s", "add_radio", doc, _one("options", "JSON array of label strings"))
    assert json.loads(_propose(radio)["options"]) == ["Residential", "Commercial"]
    # none written out: an empty JSON value of the kind named, never a word seen elsewhere
    listed = CallRecord(0, "s", "list", {}, [{"type": "text", "text": '{"options": "Residential"}'}], None, False)
    assert _propose(ToolRef("s", "set_opts", "Set options.", _one("options", "A JSON list")), history=[listed]) == {
        "options": "[]"}
    # the kind its documentation names, whatever the name's number: an object of settings, a list of rows
    assert _propose(ToolRef("s", "set_opts", "Set options.", _one("options", "A JSON object of settings")),
                    history=[listed]) == {"options": "{}"}
    assert _propose(ToolRef("s", "load", "Load rows.", _one("data", "JSON array of rows"))) == {"data": "[]"}
    # a failed call told its JSON was invalid: the retry sends JSON
    rules = ToolRef("s", "add_rules", "Add rules.", _one("rules", "The rules to add"))
    failed = CallRecord(0, "s", "add_rules", {"rules": "required"},
                        [{"type": "text", "text": "error: Invalid JSON in rules: Expecting value"}], None, True)
    assert _propose(rules, history=[failed], attempt=1)["rules"] in ("[]", "{}")
    # left alone: a string that is not JSON, and a failure about JSON that names another parameter
    other = CallRecord(0, "s", "add_rules", {"rules": "required"},
                       [{"type": "text", "text": "error: Invalid JSON in options: Expecting value"}], None, True)
    with pytest.raises(Ungrounded):  # nothing else grounds it: skipped, as before
        _propose(rules, history=[other], attempt=1)


def test_a_retry_keeps_a_number_within_the_range_the_error_told():
    schema = {"type": "object", "properties": {"slide_no": {"type": "integer"}, "width": {"type": "integer"}},
              "required": ["slide_no", "width"]}
    tool = ToolRef("s", "get_slide", "Get a slide.", schema)
    failed = CallRecord(0, "s", "get_slide", {"slide_no": 5, "width": 300},
                        [{"type": "text", "text": "error: Invalid slide index: 5. Available slides: 0-1"}], None, True)
    for seed in range(4):
        args = _propose(tool, history=[failed], seed=seed, attempt=1)
        assert args["slide_no"] in (0, 1)
    pages = CallRecord(0, "s", "get_slide", {"slide_no": 7, "width": 300},
                       [{"type": "text", "text": "Invalid page numbers: [7]. Pages must be between 1 and 2"}], None, True)
    assert _propose(tool, history=[pages], attempt=1)["slide_no"] in (1, 2)
    # left alone: a range in an error that names no number the call sent
    other = CallRecord(0, "s", "get_slide", {"slide_no": 7, "width": 300},
                       [{"type": "text", "text": "error: the height must be between 0 and 1"}], None, True)
    assert {_propose(tool, history=[other], seed=seed, attempt=1)["slide_no"] for seed in range(8)} - {0, 1}


def test_the_number_lists_of_one_call_are_series_of_one_sample():
    schema = {"type": "object", "properties": {
        "x_data": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "y_data": {"type": "array", "items": {"type": "number"}},
        "weights": {"type": "array", "items": {"type": "number"}, "maxItems": 2}},
        "required": ["x_data", "y_data", "weights"]}
    for seed in range(6):
        args = _propose(ToolRef("s", "ols", "Regression.", schema), seed=seed)
        assert len(args["x_data"]) == len(args["y_data"])  # one sample
        assert len({len(r) for r in args["x_data"]}) == 1  # rows of one width
        assert len({tuple(r) for r in args["x_data"]}) > 1  # that differ
        assert 1 <= len(args["weights"]) <= 2  # the schema's bounds still win


def test_a_retry_takes_a_value_from_the_choices_the_error_listed():
    tool = ToolRef("s", "geometry", "Geometry.", _one("operation", "The operation"))
    said = "Invalid operation type: sum, supported operations: ['area', 'volume', 'perimeter']"
    failed = CallRecord(0, "s", "geometry", {"operation": "sum"}, [{"type": "text", "text": said}], None, True)
    assert _propose(tool, history=[failed], attempt=1)["operation"] in ("area", "volume", "perimeter")
    plain = CallRecord(0, "s", "geometry", {"operation": "sum"},
                       [{"type": "text", "text": "error: sum is not allowed; must be one of: area, volume"}], None, True)
    assert _propose(tool, history=[plain], attempt=1)["operation"] in ("area", "volume")
    listed = CallRecord(0, "s", "geometry", {"operation": "sum"}, [{"type": "text", "text": (
        "Operation 'sum' not found in table shapes. Available operations: area, volume, perimeter")}], None, True)
    assert _propose(tool, history=[listed], attempt=1)["operation"] in ("area", "volume", "perimeter")
    # left alone: a list in an error that does not name the value sent
    other = CallRecord(0, "s", "geometry", {"operation": "sum"},
                       [{"type": "text", "text": "unit must be one of: cm, m"}], None, True)
    with pytest.raises(Ungrounded):  # nothing else grounds it
        _propose(tool, history=[other], attempt=1)


def test_a_list_an_error_gave_of_another_parameter_s_values_is_not_taken_for_this_one():
    from firefly.explore.values import Value
    schema = {"type": "object", "properties": {"table_name": {"type": "string"}, "column_name": {"type": "string"}},
              "required": ["table_name", "column_name"]}
    tool = ToolRef("s", "distinct_values", "Distinct values of a column of a table.", schema)
    pool = WorkspaceInfo(grounded={"s": (Value("table", "orders", "$.result#line=1", key="table"),)})
    said = "Column 'column_7' not found in table orders. Available columns: id, product_id, qty, day"
    failed = CallRecord(0, "s", "distinct_values", {"table_name": "orders", "column_name": "column_7"},
                        [{"type": "text", "text": said}], {"result": said}, True)
    for seed in range(4):
        args = _propose(tool, pool, history=[failed], seed=seed, attempt=1)
        assert args["column_name"] in ("id", "product_id", "qty", "day")  # the listed columns, without the JSON after
        assert args["table_name"] == "orders"  # named in the error too, but the columns are not tables


def test_an_optional_id_a_result_of_the_exploration_returned_is_passed_on():
    schema = {"type": "object", "properties": {"slide_index": {"type": "integer"},
                                               "presentation_id": {"type": "string"}, "title": {"type": "string"}},
              "required": ["slide_index"]}
    tool = ToolRef("s", "slide_text", "Text of a slide.", schema)
    made = CallRecord(0, "s", "create_presentation", {}, [{"type": "text", "text": '{"presentation_id": "p_6"}'}],
                      {"presentation_id": "p_6"}, False)
    for seed in range(4):
        for attempt in (0, 1):  # on a retry too
            assert _propose(tool, history=[made], seed=seed, attempt=attempt).get("presentation_id") == "p_6"
    # left alone: an id that only the survey's pool holds is optional as before, and other fields
    pool = WorkspaceInfo(grounded={"s": tuple(replace(v, step=-1) for v in extract(made) if v.key == "presentation_id")})
    assert any("presentation_id" not in _propose(tool, pool, seed=seed) for seed in range(8))


def test_a_value_the_tool_rejected_in_an_earlier_exploration_is_not_given_again():
    listing = CallRecord(0, "s", "scan", {}, [], {"keys": ["user:1", "cart:2"]}, False)
    get = ToolRef("s", "get", "Read a string value.", _one("key", "The key to read"))
    rejected = {("s", "get", "/key"): {'"user:1"'}}
    ws = WorkspaceInfo(rejected=lambda server, tool, pointer: rejected.get((server, tool, pointer), set()))
    assert {_propose(get, ws, history=[listing], seed=seed)["key"] for seed in range(6)} == {"cart:2"}
    rejected[("s", "get", "/key")].add('"cart:2"')
    with pytest.raises(Ungrounded):  # every grounded value was rejected: skipped, not sent again
        _propose(get, ws, history=[listing])


def test_a_matrix_text_the_server_read_as_a_list_is_written_as_a_constructor_on_retry():
    tool = ToolRef("m", "matrix_rank", "Matrix rank.", _one("matrix", ""))
    first = _propose(tool)["matrix"]
    assert json.loads(first) == [[2, 1], [1, 3]]
    failed = CallRecord(0, "m", "matrix_rank", {"matrix": first},
                        [{"type": "text", "text": "Error: 'list' object has no attribute 'rank'"}], None, True)
    assert _propose(tool, history=[failed], attempt=1)["matrix"] == "Matrix([[2, 1], [1, 3]])"
    parsed = CallRecord(0, "m", "matrix_rank", {"matrix": first},
                        [{"type": "text", "text": "Error: invalid literal for int() with base 10: '[[2'"}], None, True)
    assert _propose(tool, history=[parsed], attempt=1)["matrix"] == "2, 1; 1, 3"


def test_the_outcome_of_a_binary_choice_model_is_zeros_and_ones():
    series = {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}], "default": None}
    schema = {"type": "object", "properties": {"y_data": series, "X_data": series}, "required": ["y_data", "X_data"]}
    for seed in range(4):
        args = _propose(ToolRef("e", "micro_logit", "Logit model of a binary outcome.", schema), seed=seed)
        assert set(args["y_data"]) == {0, 1} and len(args["y_data"]) == len(args["X_data"])
        assert set(args["X_data"]) != {0, 1}  # the regressors stay numbers of the world
    tool = ToolRef("e", "matching", "Match treated and control units.", schema | {"properties": {
        "treatment": series, "outcome": series}, "required": ["treatment", "outcome"]})
    assert not set(_propose(tool)["treatment"]) <= {0, 1}
    failed = CallRecord(0, "e", "matching", {"treatment": [4, 7, 9], "outcome": [4, 7, 9]},
                        [{"type": "text", "text": "error: endog must be in the unit interval."}], None, True)
    args = _propose(tool, history=[failed], attempt=1)
    assert set(args["treatment"]) == {0, 1} and set(args["outcome"]) == {0, 1}


def test_every_tool_of_a_mathematical_server_takes_mathematical_values():
    from firefly.explore.paramdocs import math_servers

    doc = {"lhs": "", "rhs": ""}
    eq = ToolRef("alg", "make_eq", "Create equality.", {"type": "object", "properties": {
        k: {"type": "string"} for k in doc}, "required": list(doc)})
    total = ToolRef("alg", "total", "Compute a sum.", {"type": "object", "properties": {
        "expr": {"type": "string"}, "lower": {"type": "string"}, "upper": {"type": "string"}},
        "required": ["expr", "lower", "upper"]})
    union = ToolRef("alg", "union", "Union of two sets.", _one("set1") | {"properties": {
        "set1": {"type": "string"}, "set2": {"type": "string"}}, "required": ["set1", "set2"]})
    others = [ToolRef("alg", f"t{i}", d, {}) for i, d in enumerate(
        ["Simplify an expression.", "Solve an equation.", "Factorize a polynomial."])]
    pdf = [ToolRef("pdf", f"p{i}", "Draw at these points of the page.", {}) for i in range(4)]
    assert math_servers([eq, total, union, *others, *pdf]) == {"alg"}  # points of a page are no mathematics
    with pytest.raises(Ungrounded):  # alone, "Create equality." says nothing of mathematics
        _propose(eq)
    ws = WorkspaceInfo(math=frozenset({"alg"}))
    for seed in range(4):
        args = _propose(eq, ws, seed=seed)
        assert "x" in args["lhs"] and "x" in args["rhs"] and args["lhs"] != args["rhs"]
        args = _propose(total, ws, seed=seed)
        assert int(args["upper"]) > int(args["lower"])
        args = _propose(union, ws, seed=seed)
        assert args["set1"].startswith("{") and args["set1"] != args["set2"]


def test_cell_references_come_from_the_cells_and_ranges_a_result_showed():
    read = CallRecord(0, "x", "read_sheet", {}, [{"type": "text", "text": json.dumps(
        {"range": "A1:F7", "cells": [{"address": "A1", "value": "id"}, {"address": "B1", "value": "UTF8"}]})}], None, False)
    cells = {"start_cell": {"type": "string"}, "end_cell": {"type": "string"}}
    merge = ToolRef("x", "merge_cells", "Merge a range of cells.", {"type": "object", "properties": cells,
                                                                     "required": list(cells)})
    table = ToolRef("x", "create_table", "Make a table of data.", _one("data_range"))
    copy = ToolRef("x", "copy_range", "Copy a range of cells.", {"type": "object", "properties": {
        "source_start": {"type": "string"}, "source_end": {"type": "string"}}, "required": ["source_start", "source_end"]})
    assert _propose(merge, history=[read]) == {"start_cell": "A1", "end_cell": "F7"}
    assert _propose(table, history=[read]) == {"data_range": "A1:F7"}
    assert _propose(copy, history=[read]) == {"source_start": "A1", "source_end": "F7"}
    with pytest.raises(Ungrounded):  # nothing showed a cell: none is made up
        _propose(merge)
    talk = CallRecord(0, "x", "about", {}, [{"type": "text", "text": "Encoded as UTF8 since v2"}], None, False)
    with pytest.raises(Ungrounded):  # a word that looks like a cell is not one
        _propose(merge, history=[talk])


def test_a_parameter_named_for_the_part_a_thing_plays_takes_a_thing_of_that_kind():
    listing = CallRecord(0, "x", "workbook_info", {}, [], {"sheets": ["Sales"], "tasks": [{"task_id": "t-7"}]}, False)
    copy = ToolRef("x", "copy_sheet", "Copy a worksheet.", _one("source_sheet"))
    depend = ToolRef("x", "add_dependency", "Make a task depend on another.", _one("depends_on_task_id"))
    assert _propose(copy, history=[listing]) == {"source_sheet": "Sales"}
    assert _propose(depend, history=[listing]) == {"depends_on_task_id": "t-7"}


def test_a_tool_that_worked_with_its_data_and_never_its_file_is_given_its_data_first():
    series = {"anyOf": [{"type": "array", "items": {"type": "number"}}, {"type": "null"}], "default": None}
    schema = {"type": "object", "properties": {"file_path": {"anyOf": [{"type": "string"}, {"type": "null"}],
                                                             "default": None}, "X_data": series, "y_data": series}}
    tool = ToolRef("e", "ols", "Least squares fit.", schema)
    ws = WorkspaceInfo(files=("/workspace/econ/data.csv",), directories=("/workspace/econ",))
    assert set(_propose(tool, ws)) == {"file_path"}  # the world's file first
    shapes = {frozenset({"X_data", "y_data"})}
    learned = replace(ws, worked_with=lambda server, name: shapes)
    args = _propose(tool, learned)
    assert "file_path" not in args and args["y_data"] and args["X_data"]
    shapes.add(frozenset({"file_path"}))  # it worked with its file too: the file stays first
    assert set(_propose(tool, learned)) == {"file_path"}


def test_a_date_the_tool_would_take_from_the_clock_is_always_given():
    schema = {"type": "object", "properties": {"date": {"type": "string", "description": "Format: YYYY-MM-DD"}}}
    days = ToolRef("s", "days_in_month", "Get the number of days in a month. If no date is provided, get the number"
                   " of days in the current month.", schema)
    for seed in range(6):  # left out, the answer would be the day the call ran
        assert "date" in _propose(days, seed=seed)
    # a tool that says nothing of now may leave its optional date out
    orders = ToolRef("s", "list_orders", "List the orders.", schema)
    assert any("date" not in _propose(orders, seed=seed) for seed in range(6))


def test_a_files_hash_is_no_git_revision():
    schema = {"type": "object", "properties": {"path": {"type": "string"}, "file_hash": {"type": "string"}},
              "required": ["path", "file_hash"]}
    edit = ToolRef("s", "edit_text_file", "Edit a text file; file_hash is the hash from get_text_file_contents.", schema)
    ws = WorkspaceInfo(texts={"/workspace/files/a.md": "# A\n"}, files=("/workspace/files/a.md",))
    read = CallRecord(0, "s", "get_text_file_contents", {"path": "/workspace/files/a.md"},
                      [{"type": "text", "text": '{"/workspace/files/a.md": {"content": "# A", "file_hash": "9f2c41d0ab"}}'}],
                      None, False)
    assert _propose(edit, ws, [read])["file_hash"] == "9f2c41d0ab"
    with pytest.raises(Ungrounded):
        _propose(edit, ws)  # nothing read: no hash known, and never "HEAD~2"


def test_a_mathematical_server_with_no_handles_makes_values_not_things():
    from firefly.adapters.verbs import computes, says_it_changes
    from firefly.explore.paramdocs import value_servers

    math = [ToolRef("alg", n, d, {"type": "object", "properties": {"expr": {"type": "string"}}}) for n, d in [
        ("matrix", "Create a matrix from rows."), ("eq", "Create equality."), ("simplify", "Simplify an expression."),
        ("solve", "Solve an equation."), ("factor", "Factorize a polynomial.")]]
    # the same tools, and one that keeps matrices under a key between calls
    kept = [replace(t, server="store") for t in math] + [ToolRef("store", "det", "Determinant of a stored matrix.", {
        "type": "object", "properties": {"matrix_id": {"type": "string"}}})]
    assert value_servers(math + kept) == {"alg"}
    assert says_it_changes("matrix", None, "Create a matrix from rows.")  # alone, "Create" makes a thing
    assert computes("matrix", None, "Create a matrix from rows.", values_only=True)
    assert says_it_changes("drop_matrix", None, "Create a matrix.", values_only=True)  # a name that writes still does
    assert says_it_changes("notebook", None, "Creates a new notebook.", values_only=True)  # no mathematical object
    assert says_it_changes("matrix", {"readOnlyHint": False}, "Create a matrix.", values_only=True)


def test_on_a_server_of_values_arithmetic_verbs_change_nothing_and_keeping_verbs_still_do():
    from firefly.adapters.verbs import changes_nothing, says_it_changes

    # "Add two matrices", "Cancel common factors": arithmetic on the values given, no thing kept
    assert says_it_changes("matrix_add", None, "Add two matrices.")
    assert not says_it_changes("matrix_add", None, "Add two matrices.", values_only=True)
    assert not says_it_changes("cancel", None, "Cancel common factors in rational expression.", values_only=True)
    assert not says_it_changes("product_set", None, "Product of sets.", values_only=True)
    assert not says_it_changes("Point", None, "Create a 2D point.", values_only=True)  # "2D" is one word
    assert not says_it_changes("symbols_create", None, "Create multiple symbols.", values_only=True)
    # keeping something between calls, or saying so, still changes a world
    assert says_it_changes("save_result", None, "Save a result.", values_only=True)
    assert says_it_changes("clear_cache", None, "Clear the cache.", values_only=True)
    assert says_it_changes("notebook", None, "Creates a new notebook.", values_only=True)
    tools = [(n, None, d, False, {"type": "object", "properties": {"expr": {"type": "string"}}})
             for n, d in [("matrix_add", "Add two matrices."), ("cancel", "Cancel common factors."),
                          ("Point", "Create a 2D point.")]]
    assert changes_nothing(tools, values_only=True) and not changes_nothing(tools)


def test_a_tool_that_works_on_symbols_gets_an_expression_in_x_not_arithmetic():
    schema = {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}
    for name, desc in [("factor", "Factor a polynomial."), ("free_symbols", "Free symbols of an expression."),
                       ("roots", "Roots of a polynomial."), ("expand", "Expand an expression.")]:
        assert "x" in _propose(ToolRef("m", name, desc, schema))["expr"], name
    # a calculator evaluates arithmetic
    assert "x" not in _propose(ToolRef("m", "evaluate", "Evaluate a math expression.", schema))["expr"]


def test_the_text_a_pattern_runs_on_is_free_text_and_the_pattern_is_not():
    from firefly.explore.paramdocs import is_free_text

    assert is_free_text("input_string", "The input string to test the regex pattern against")
    assert not is_free_text("input_string", "A regex pattern to compile")
    assert not is_free_text("text", "The regex to test against the input")  # the regex itself, said first


def test_a_tool_named_after_an_elementary_function_is_called_where_it_has_a_closed_form():
    from firefly.explore.paramdocs import closed_form_arguments

    schema = {"type": "object", "properties": {"expr": {"type": "string"}}, "required": ["expr"]}
    math = WorkspaceInfo(math=frozenset({"m"}))
    for name, wanted in [("sympy_cos", {"pi/3", "pi/4", "pi/6"}), ("acos", {"1/2", "sqrt(3)/2"}), ("exp", {"log(2) + log(3)", "2*log(3)"})]:
        tool = ToolRef("m", name, "An elementary function.", schema)
        assert OfflinePolicy().propose(tool, [], math, random.Random(0)).arguments["expr"] in wanted
    assert closed_form_arguments("cosine_similarity") == () and closed_form_arguments("get_log") == ()
    # not a mathematics server: a log is a log file's
    assert "log" not in str(_propose(ToolRef("m", "get_log", "An elementary function.", schema)))


def test_a_parameter_required_unless_another_is_given_is_passed_when_the_other_is_not():
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "contents": {"type": "string", "description": "The content to be converted (required if input_file not provided)"},
        "input_file": {"type": "string", "description": "Complete path to input file"},
        "output_format": {"type": "string", "enum": ["markdown", "html"], "default": "markdown"}}}
    tool = ToolRef("s", "convert", "Converts content between formats.", schema)
    for seed in range(6):
        for attempt in (0, 1):
            try:
                args = _propose(tool, seed=seed, attempt=attempt)
            except Ungrounded:
                continue  # the file was wanted, and there is none
            assert "contents" in args or "input_file" in args


def test_a_chance_word_in_one_operation_name_makes_chance_only_the_call_that_names_it():
    from firefly.adapters.verbs import by_chance, computes

    doc = ("Probability and statistics calculation tool.\n\nExamples:\n"
           "    calc(operation='cumulative_distribution', distribution='normal', x_value=25)\n"
           "    calc(operation='random_sampling', distribution='binomial', n_samples=100)")
    assert by_chance("calc", doc)  # the tool as a whole may answer by chance
    assert not by_chance("calc", doc, {"operation": "cumulative_distribution", "x_value": 25})
    assert by_chance("calc", doc, {"operation": "random_sampling"})
    assert computes("calc", None, doc, True, {"operation": "cumulative_distribution"})
    # chance in the description's words, or in the name, stays chance whatever the call
    assert by_chance("pick", "Pick a random item from a list", {"items": ["a", "b"]})
    assert by_chance("roll_dice", "", {"sides": 6})
