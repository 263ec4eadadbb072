"""The offline explorer policy and the value extraction it chains with.

The fixtures below are real results of the bundled servers (captured with
``scripts/explore_offline_check.py``, paths already virtual), trimmed where long.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jsonschema.validators import Draft202012Validator, validator_for

from firefly.explore.offline import OfflinePolicy, workspace_info
from firefly.explore.policy import VIRTUAL_ROOT, CallRecord, Proposal, ToolRef, Ungrounded, WorkspaceInfo
from firefly.explore.values import extract, extract_history, looks_like_error, resolve_locator

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- real results

GIT_LOG_TEXT = (
    "Commit history:\nCommit: 5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb\nAuthor: Daniel Brandt\n"
    "Date: 2025-03-05 10:00:00-05:00\nMessage: Release 0.2.0\n\n\n"
    "Commit: ae9c6a1a80a4db1211462cec23494bbbb2cc8207\nAuthor: Maya Okafor\nDate: 2025-02-27 17:20:00-05:00\n"
    "Message: Move notes into README and add a changelog\n\n\n"
    "Commit: 1afb043bb3fd3dc11dd750cefbd4dc801a276380\nAuthor: Tomás Herrera\nDate: 2025-02-20 09:48:00-05:00\n"
    "Message: Raise reorder points before the warehouse move\n\n"
)
COMMITS = ("5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb", "ae9c6a1a80a4db1211462cec23494bbbb2cc8207",
           "1afb043bb3fd3dc11dd750cefbd4dc801a276380")
LISTING_TEXT = "[FILE] README.md\n[DIR] config\n[DIR] data\n[DIR] notes\n[DIR] reports\n[DIR] src"
LIST_TABLES_TEXT = "[{'name': 'customers'}, {'name': 'products'}, {'name': 'orders'}, {'name': 'order_items'}]"
DESCRIBE_ORDERS_TEXT = (
    "[{'cid': 0, 'name': 'id', 'type': 'INTEGER', 'notnull': 0, 'dflt_value': None, 'pk': 1}, "
    "{'cid': 1, 'name': 'customer_id', 'type': 'INTEGER', 'notnull': 1, 'dflt_value': None, 'pk': 0}, "
    "{'cid': 2, 'name': 'order_date', 'type': 'TEXT', 'notnull': 1, 'dflt_value': None, 'pk': 0}, "
    "{'cid': 3, 'name': 'status', 'type': 'TEXT', 'notnull': 1, 'dflt_value': None, 'pk': 0}, "
    "{'cid': 4, 'name': 'shipping_method', 'type': 'TEXT', 'notnull': 1, 'dflt_value': None, 'pk': 0}]"
)
PRODUCTS_TEXT = (
    "[{'id': 1, 'sku': 'HCS-101', 'name': 'Harbor House Blend 12oz', 'category': 'coffee', 'price': 14.5, "
    "'stock': 142, 'supplier': 'Green Coast Importers'}, {'id': 2, 'sku': 'HCS-102', 'name': "
    "'Ethiopia Yirgacheffe 12oz', 'category': 'coffee', 'price': 17.0, 'stock': 58, 'supplier': "
    "'Green Coast Importers'}]"
)
GRAPH = {
    "entities": [
        {"name": "Maya Okafor", "entityType": "person", "observations": [
            "Founder of Harbor Coffee Supply (2021)", "Set a 25% cap on promo discounts at the 2025-03-04 standup"]},
        {"name": "Daniel Brandt", "entityType": "person", "observations": [
            "Maintains the harbor-shop repository", "Email: daniel@harborcoffee.example"]},
        {"name": "Westbrook warehouse", "entityType": "location", "observations": [
            "35 Bridge St, Unit 4, Westbrook, ME 04092"]},
    ],
    "relations": [
        {"from": "Maya Okafor", "to": "Harbor Coffee Supply", "relationType": "founded"},
        {"from": "Daniel Brandt", "to": "Harbor Coffee Supply", "relationType": "works_at"},
    ],
}
TIME_RESULT = {"timezone": "Europe/Paris", "datetime": "2026-11-26T07:27:05+01:00", "day_of_week": "Thursday",
               "is_dst": False}

# --------------------------------------------------------------------------- real schemas

REPO = {"repo_path": {"title": "Repo Path", "type": "string"}}
D7 = "http://json-schema.org/draft-07/schema#"
TOOLS = {
    "git_log": ToolRef("git", "git_log", "Shows the commit logs", {
        "type": "object", "properties": {**REPO, "max_count": {"default": 10, "title": "Max Count", "type": "integer"},
                                         "start_timestamp": {"anyOf": [{"type": "string"}, {"type": "null"}],
                                                             "default": None, "title": "Start Timestamp"}},
        "required": ["repo_path"]}, {"readOnlyHint": True}),
    "git_show": ToolRef("git", "git_show", "Shows the contents of a commit, or of a file or directory given as "
                        "<revision>:<path>", {"type": "object", "properties": {
                            **REPO, "revision": {"title": "Revision", "type": "string"}},
                            "required": ["repo_path", "revision"]}, {"readOnlyHint": True}),
    "list_directory": ToolRef("filesystem", "list_directory", "Get a detailed listing of all files and directories",
                              {"$schema": D7, "type": "object", "properties": {"path": {"type": "string"}},
                               "required": ["path"]}),
    "read_text_file": ToolRef("filesystem", "read_text_file", "Read the complete contents of a file as text.", {
        "$schema": D7, "type": "object", "properties": {
            "path": {"type": "string"},
            "tail": {"description": "If provided, returns only the last N lines of the file", "type": "number"},
            "head": {"description": "If provided, returns only the first N lines of the file", "type": "number"}},
        "required": ["path"]}),
    "list_directory_with_sizes": ToolRef("filesystem", "list_directory_with_sizes", "Listing with sizes", {
        "$schema": D7, "type": "object", "properties": {
            "path": {"type": "string"},
            "sortBy": {"default": "name", "description": "Sort entries by name or size", "type": "string",
                       "enum": ["name", "size"]}},
        "required": ["path"]}),
    "list_tables": ToolRef("sqlite", "list_tables", "List all tables in the SQLite database",
                           {"type": "object", "properties": {}}),
    "describe_table": ToolRef("sqlite", "describe_table", "Get the schema information for a specific table", {
        "type": "object", "properties": {"table_name": {"type": "string", "description": "Name of the table to describe"}},
        "required": ["table_name"]}),
    "read_query": ToolRef("sqlite", "read_query", "Execute a SELECT query on the SQLite database", {
        "type": "object", "properties": {"query": {"type": "string", "description": "SELECT SQL query to execute"}},
        "required": ["query"]}),
    "write_query": ToolRef("sqlite", "write_query", "Execute an INSERT, UPDATE, or DELETE query on the SQLite database", {
        "type": "object", "properties": {"query": {"type": "string", "description": "SQL query to execute"}},
        "required": ["query"]}),
    "git_commit": ToolRef("git", "git_commit", "Records changes to the repository", {
        "type": "object", "properties": {"repo_path": {"title": "Repo Path", "type": "string"},
                                         "message": {"title": "Message", "type": "string"}},
        "required": ["repo_path", "message"]}),
    "calculate": ToolRef("calculator", "calculate", "Calculates/evaluates the given expression.", {
        "properties": {"expression": {"title": "Expression", "type": "string"}}, "required": ["expression"],
        "type": "object"}),
    "read_graph": ToolRef("memory", "read_graph", "Read the entire knowledge graph",
                          {"$schema": D7, "type": "object", "properties": {}}),
    "open_nodes": ToolRef("memory", "open_nodes", "Open specific nodes in the knowledge graph by their names", {
        "$schema": D7, "type": "object", "properties": {"names": {
            "type": "array", "items": {"type": "string"}, "description": "An array of entity names to retrieve"}},
        "required": ["names"]}),
    "create_entities": ToolRef("memory", "create_entities", "Create multiple new entities in the knowledge graph", {
        "$schema": D7, "type": "object", "properties": {"entities": {"type": "array", "items": {
            "type": "object", "properties": {
                "name": {"type": "string", "description": "The name of the entity"},
                "entityType": {"type": "string", "description": "The type of the entity"},
                "observations": {"type": "array", "items": {"type": "string"},
                                 "description": "An array of observation contents associated with the entity"}},
            "required": ["name", "entityType", "observations"]}}},
        "required": ["entities"]}),
    "convert_time": ToolRef("time", "convert_time", "Convert time between timezones", {
        "type": "object", "properties": {
            "source_timezone": {"description": "Source IANA timezone name (e.g., 'America/New_York', "
                                               "'Europe/London').", "type": "string"},
            "time": {"description": "Time to convert in 24-hour format (HH:MM)", "type": "string"},
            "target_timezone": {"description": "Target IANA timezone name (e.g., 'Asia/Tokyo', "
                                               "'America/San_Francisco').", "type": "string"}},
        "required": ["source_timezone", "time", "target_timezone"]}),
    "edit_file": ToolRef("filesystem", "edit_file", "Make line-based edits to a text file.", {
        "$schema": D7, "type": "object", "properties": {
            "path": {"type": "string"},
            "edits": {"type": "array", "items": {"type": "object", "properties": {
                "oldText": {"type": "string", "description": "Text to search for - must match exactly"},
                "newText": {"type": "string", "description": "Text to replace with"}},
                "required": ["oldText", "newText"]}},
            "dryRun": {"default": False, "type": "boolean"}},
        "required": ["path", "edits"]}),
}

WS = WorkspaceInfo(
    files=(f"{VIRTUAL_ROOT}/files/README.md", f"{VIRTUAL_ROOT}/files/notes/todo.md",
           f"{VIRTUAL_ROOT}/files/config/app.json"),
    directories=(f"{VIRTUAL_ROOT}/files", f"{VIRTUAL_ROOT}/files/config", f"{VIRTUAL_ROOT}/files/notes"),
    git_repos=(f"{VIRTUAL_ROOT}/repo",),
    sqlite_tables={"customers": ("id", "first_name", "last_name", "email", "city"),
                   "products": ("id", "sku", "name", "category", "price", "stock", "supplier"),
                   "orders": ("id", "customer_id", "order_date", "status", "shipping_method"),
                   "order_items": ("id", "order_id", "product_id", "quantity", "unit_price")},
    memory_entities={"Maya Okafor": "person", "Daniel Brandt": "person", "Westbrook warehouse": "location"},
)


def rec(step: int, server: str, tool: str, args: dict, text: str | None = None, structured: dict | None = None,
        is_error: bool = False) -> CallRecord:
    content = [{"type": "text", "text": text if text is not None else json.dumps(structured, indent=2)}]
    return CallRecord(step=step, server=server, tool=tool, arguments=args, content=content, structured=structured,
                      is_error=is_error)


GIT_LOG = rec(0, "git", "git_log", {"repo_path": "/workspace/repo", "max_count": 3}, GIT_LOG_TEXT)
LISTING = rec(0, "filesystem", "list_directory", {"path": "/workspace/files"}, LISTING_TEXT, {"content": LISTING_TEXT})
LIST_TABLES = rec(0, "sqlite", "list_tables", {}, LIST_TABLES_TEXT)
READ_GRAPH = rec(0, "memory", "read_graph", {}, structured=GRAPH)


def propose(tool: str, history: list[CallRecord], seed: int = 0, attempt: int = 0, ws: WorkspaceInfo = WS) -> Proposal:
    p = OfflinePolicy().propose(TOOLS[tool], history, ws, random.Random(seed), attempt)
    assert p is not None
    validator = validator_for(TOOLS[tool].input_schema, default=Draft202012Validator)(TOOLS[tool].input_schema)
    assert not list(validator.iter_errors(p.arguments)), p.arguments
    return p


def located(record: CallRecord, path: str) -> str:
    """The line a text locator points at, to check that a source is real."""
    assert path.startswith(("$.content[0].text#line=", "$.structured_content.content#line="))
    line = resolve_locator(record, path)
    assert isinstance(line, str)
    return line


# --------------------------------------------------------------------------- chaining


def test_git_log_hash_feeds_git_show_revision():
    for seed in range(6):
        p = propose("git_show", [GIT_LOG], seed)
        assert p.arguments["repo_path"] == "/workspace/repo"
        rev = p.arguments["revision"]
        assert rev in COMMITS
        src = [s for s in p.sources if s.argument == "/revision"]
        assert len(src) == 1 and src[0].step == 0 and src[0].value == rev
        assert rev in located(GIT_LOG, src[0].path)


def test_a_servers_remark_is_not_a_fact_for_a_commit_message():
    """'Label: one sentence. Another.' is a server talking (mcp-server-git's git_add when
    nothing changed), not a field: it must not become what the next commit says."""
    remark = rec(1, "git", "git_add", {"repo_path": "/workspace/repo", "files": ["README.md"]},
                 "No changes were staged: the given paths had nothing new to stage. git_status shows what is"
                 " modified or untracked.")
    for seed in range(20):
        message = propose("git_commit", [GIT_LOG, remark], seed).arguments["message"]
        assert "No changes" not in message and "nothing new" not in message, message


def test_listing_entry_feeds_read_text_file_path():
    for seed in range(6):
        p = propose("read_text_file", [LISTING], seed)
        path = p.arguments["path"]
        src = [s for s in p.sources if s.argument == "/path"]
        if src:
            assert path == "/workspace/files/README.md"  # the only [FILE] of the listing
            assert src[0].step == 0 and "[FILE] README.md" == located(LISTING, src[0].path)
        else:
            assert path in WS.files
    # most seeds chain
    chained = sum(bool(propose("read_text_file", [LISTING], s).sources) for s in range(20))
    assert chained >= 14


def test_list_tables_feeds_describe_table_and_read_query():
    p = propose("describe_table", [LIST_TABLES], 1)
    table = p.arguments["table_name"]
    assert table in ("customers", "products", "orders", "order_items")
    assert p.sources[0].argument == "/table_name" and p.sources[0].path.startswith("$.content[0].text#json=$[")
    describe = rec(1, "sqlite", "describe_table", {"table_name": "orders"}, DESCRIBE_ORDERS_TEXT)
    used_columns = 0
    for seed in range(10):
        q = propose("read_query", [LIST_TABLES, describe], seed)
        sql = q.arguments["query"]
        assert sql.upper().startswith("SELECT")
        assert q.sources, sql
        assert all(s.argument == "/query" and str(s.value) in sql for s in q.sources)
        if any(s.step == 1 for s in q.sources):
            used_columns += 1
            assert "orders" in sql
    assert used_columns >= 6


def test_query_rows_feed_filters_updates_and_arithmetic():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT)
    vals = extract(rows)
    assert [v.value["sku"] for v in vals if v.kind == "row"] == ["HCS-101", "HCS-102"]
    assert {v.value for v in vals if v.kind == "column"} >= {"sku", "price"}
    w = propose("write_query", [rows], 3)
    assert w.sources and not w.arguments["query"].upper().startswith("SELECT")
    c = propose("calculate", [rows], 2)
    assert c.sources and all(s.argument == "/expression" for s in c.sources)
    for s in c.sources:
        assert isinstance(s.value, (int, float)) and str(s.value) in c.arguments["expression"]


def test_a_row_inserted_into_a_table_the_run_made_has_a_date_where_a_date_goes_and_a_line_for_its_note():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT)
    made = rec(1, "sqlite", "write_query", {"query": "CREATE TABLE IF NOT EXISTS product_notes (id INTEGER PRIMARY KEY,"
                                                     " product_id INTEGER, note TEXT NOT NULL, created_on TEXT)"}, "ok")
    inserts = [q for seed in range(40) if (q := propose("write_query", [rows, made], seed).arguments["query"])
               .startswith("INSERT INTO product_notes")]
    assert inserts
    for q in inserts:
        values = re.search(r"VALUES \((.*)\)$", q).group(1)
        *_, note, created_on = [v.strip().strip("'") for v in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", values)]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", created_on), q
        assert len(note.split()) >= 3 and note not in ("products", "orders"), q


def test_a_write_told_the_database_is_read_only_is_retried_as_a_read():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT)
    for said in ("Error: Only read-only queries are allowed in read-only mode.", "attempt to write a readonly database"):
        failed = CallRecord(1, "sqlite", "write_query", {"query": "UPDATE products SET stock = stock + 1 WHERE id = 1"},
                            [{"type": "text", "text": said}], None, True)
        for seed in range(3):
            assert propose("write_query", [rows, failed], seed, attempt=1).arguments["query"].upper().startswith("SELECT")
    # left alone: a write that failed for another reason is still a write
    other = CallRecord(1, "sqlite", "write_query", {"query": "UPDATE products SET stock = stock + 1 WHERE id = 1"},
                       [{"type": "text", "text": "no such column: stock"}], None, True)
    assert not propose("write_query", [rows, other], 3, attempt=1).arguments["query"].upper().startswith("SELECT")


def test_read_graph_feeds_open_nodes():
    names = {e["name"] for e in GRAPH["entities"]} | {"Harbor Coffee Supply"}
    for seed in range(6):
        p = propose("open_nodes", [READ_GRAPH], seed)
        assert p.arguments["names"] and set(p.arguments["names"]) <= names
        pointers = {s.argument for s in p.sources}
        assert pointers == {f"/names/{i}" for i in range(len(p.arguments["names"]))}
        assert all(s.path.startswith("$.structured_content.") for s in p.sources)


def test_current_time_feeds_convert_time():
    tokyo = {**TIME_RESULT, "timezone": "Asia/Tokyo", "datetime": "2026-11-26T07:27:05+09:00"}
    now = rec(0, "time", "get_current_time", {"timezone": "Asia/Tokyo"}, structured=tokyo)
    p = propose("convert_time", [now], 4)
    assert p.arguments["source_timezone"] == "Asia/Tokyo" and p.arguments["time"] == "07:27"
    assert p.arguments["target_timezone"] != "Asia/Tokyo"
    assert "America/San_Francisco" not in p.arguments.values()  # not an IANA name, though in the description
    by_arg = {s.argument: s for s in p.sources}
    assert by_arg["/time"].path == "$.structured_content.datetime"
    # a zone with summer time (Paris) is not chained on: its converted times change with the season
    paris = rec(0, "time", "get_current_time", {"timezone": "Europe/Paris"}, structured=TIME_RESULT)
    assert propose("convert_time", [paris], 4).arguments["source_timezone"] != "Europe/Paris"


def test_read_then_edit_uses_an_observed_line():
    text = "# To do\n\n- [x] Renew the TLS certificate\n- [ ] Tag harbor-shop 0.2.0\n"
    read = rec(0, "filesystem", "read_text_file", {"path": "/workspace/files/notes/todo.md"}, text, {"content": text})
    p = propose("edit_file", [read], 0)
    assert p.arguments["path"] == "/workspace/files/notes/todo.md"
    edit = p.arguments["edits"][0]
    assert edit["oldText"] in text.splitlines() and edit["newText"] != edit["oldText"]
    # nothing known about any file's content: the tool is skipped rather than guessed
    with pytest.raises(Ungrounded, match="/path"):
        OfflinePolicy().propose(TOOLS["edit_file"], [], WS, random.Random(0))


def test_memory_create_entities_from_rows():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT)
    p = propose("create_entities", [rows], 0)
    ent = p.arguments["entities"][0]
    assert ent["name"] and ent["entityType"] and ent["observations"]
    assert any(s.argument.startswith("/entities/0/") for s in p.sources)


# --------------------------------------------------------------------------- determinism, retries, schemas


def propose_or_reason(tool, history, ws, rng, attempt=0):
    """The proposal, or the reason the tool cannot be grounded."""
    try:
        return OfflinePolicy().propose(tool, history, ws, rng, attempt)
    except Ungrounded as err:
        return str(err)


def test_same_seed_same_proposal():
    history = [GIT_LOG, rec(1, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT),
               rec(2, "memory", "read_graph", {}, structured=GRAPH)]
    for name, tool in TOOLS.items():
        a = propose_or_reason(tool, history, WS, random.Random(42))
        b = propose_or_reason(tool, history, WS, random.Random(42))
        assert a == b, name


def test_same_seed_same_proposal_across_processes():
    code = (
        f"import json, random, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_offline_policy as t; "
        "from firefly.explore.offline import OfflinePolicy; "
        "h=[t.GIT_LOG, t.LIST_TABLES, t.READ_GRAPH]; "
        "print(json.dumps([(lambda p: p if isinstance(p, str) else p and [p.arguments, [s.path for s in p.sources]])("
        "t.propose_or_reason(t.TOOLS[k], h, t.WS, random.Random(7))) for k in sorted(t.TOOLS)], sort_keys=True))"
    )
    outs = set()
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True, cwd=ROOT).stdout)
    assert len(outs) == 1


def test_retry_after_failure_makes_a_different_choice():
    first = propose("git_show", [GIT_LOG], 5)
    failed = rec(1, "git", "git_show", first.arguments, "Error executing tool git_show: bad object", is_error=True)
    for seed in range(5):
        again = propose("git_show", [GIT_LOG, failed], seed, attempt=1)
        assert again.arguments["revision"] != first.arguments["revision"]
    # a table name that failed is not proposed again
    t0 = propose("describe_table", [LIST_TABLES], 0)
    bad = rec(1, "sqlite", "describe_table", t0.arguments, "Database error: no such table")
    t1 = propose("describe_table", [LIST_TABLES, bad], 0, attempt=1)
    assert t1.arguments["table_name"] != t0.arguments["table_name"]


def test_enums_defaults_and_ranges_are_respected():
    tool = ToolRef("x", "list_things", "List things", {
        "type": "object",
        "properties": {
            "mode": {"type": "string", "enum": ["fast", "slow", "auto"]},
            "order": {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 4, "default": 2},
            "level": {"$ref": "#/$defs/Level"},
            "flag": {"type": "boolean", "default": True},
        },
        "required": ["mode", "level"],
        "$defs": {"Level": {"type": "integer", "enum": [1, 2, 3]}},
    })
    seen_modes = set()
    for seed in range(30):
        p = OfflinePolicy(optional_rate=0.9).propose(tool, [], WS, random.Random(seed))
        assert p is not None
        a = p.arguments
        seen_modes.add(a["mode"])
        assert a["mode"] in ("fast", "slow", "auto") and a["level"] in (1, 2, 3)
        assert a.get("order", "asc") in ("asc", "desc")
        assert 1 <= a.get("limit", 2) <= 4
        assert a.get("flag", True) is True
    assert len(seen_modes) >= 2
    # on a retry, optional parameters are left to their defaults
    p = OfflinePolicy(optional_rate=1.0).propose(tool, [], WS, random.Random(0), attempt=1)
    assert set(p.arguments) == {"mode", "level"}


def test_enum_value_seen_earlier_wins_and_is_recorded():
    tool = TOOLS["list_directory_with_sizes"]
    earlier = rec(0, "x", "settings", {}, structured={"sortBy": "size"})
    hits = 0
    for seed in range(10):
        p = OfflinePolicy(optional_rate=1.0).propose(tool, [earlier], WS, random.Random(seed))
        if "sortBy" in p.arguments and any(s.argument == "/sortBy" for s in p.sources):
            assert p.arguments["sortBy"] == "size"
            hits += 1
    assert hits >= 1


def test_field_name_match_feeds_unknown_tools():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM customers LIMIT 1"},
               "[{'id': 7, 'first_name': 'Kenji', 'city': 'Seattle', 'email': 'kenji.watanabe@example.com'}]")
    tool = ToolRef("weather", "get_forecast", "Forecast for a city", {
        "type": "object", "properties": {"city": {"type": "string"}, "customer_id": {"type": "integer"}},
        "required": ["city", "customer_id"]})
    p = OfflinePolicy().propose(tool, [rows], WS, random.Random(0))
    assert p.arguments == {"city": "Seattle", "customer_id": 7}
    assert {s.argument for s in p.sources} == {"/city", "/customer_id"}


# --------------------------------------------------------------------------- extraction robustness


def test_extraction_of_real_results():
    log = extract(GIT_LOG)
    assert [v.value for v in log if v.kind == "commit"] == list(COMMITS)
    assert {"Daniel Brandt", "Maya Okafor", "Tomás Herrera"} <= {v.value for v in log if v.kind == "person"}
    listing = extract(LISTING)
    assert {v.value for v in listing if v.kind == "file"} == {"/workspace/files/README.md"}
    assert "/workspace/files/notes" in {v.value for v in listing if v.kind == "dir"}
    tables = extract(LIST_TABLES)
    assert [v.value for v in tables if v.kind == "table"] == ["customers", "products", "orders", "order_items"]
    assert tables[0].path == "$.content[0].text#json=$[0].name"
    cols = extract(rec(0, "sqlite", "describe_table", {"table_name": "orders"}, DESCRIBE_ORDERS_TEXT))
    assert [v.value for v in cols if v.kind == "column"] == ["id", "customer_id", "order_date", "status", "shipping_method"]
    assert all(v.context["table"] == "orders" for v in cols if v.kind == "column")
    graph = extract(READ_GRAPH)
    assert {v.value for v in graph if v.kind == "entity"} >= {"Maya Okafor", "Harbor Coffee Supply"}
    assert any(v.kind == "relation" and v.value["relationType"] == "founded" for v in graph)
    assert "daniel@harborcoffee.example" in {v.value for v in graph if v.kind == "email"}
    tz = extract(rec(0, "time", "get_current_time", {}, structured=TIME_RESULT))
    assert ("timezone", "Europe/Paris") in {(v.kind, v.value) for v in tz}
    assert ("datetime", "2026-11-26T07:27:05+01:00") in {(v.kind, v.value) for v in tz}
    # a failure reported as text is no source of values
    err = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM nope"}, "Database error: no such table: nope")
    assert looks_like_error(err) and extract(err) == []
    assert extract(rec(0, "git", "git_log", {}, GIT_LOG_TEXT, is_error=True)) == []


def test_every_locator_resolves_to_its_value():
    records = [GIT_LOG, LISTING, LIST_TABLES, READ_GRAPH,
               rec(0, "sqlite", "describe_table", {"table_name": "orders"}, DESCRIBE_ORDERS_TEXT),
               rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT),
               rec(0, "time", "get_current_time", {}, structured=TIME_RESULT)]
    for r in records:
        values = extract(r)
        assert values
        for v in values:
            target = resolve_locator(r, v.path)
            assert target is not None, v
            text = target if isinstance(target, str) else json.dumps(target, ensure_ascii=False)
            if v.kind in ("row", "relation"):
                assert target == v.value
            elif v.kind in ("file", "dir") and v.context.get("name"):
                assert v.context["name"] in text  # a listing entry, resolved against the listed directory
            else:
                assert str(v.value) in text, (v, text)


def test_huge_binary_and_malformed_results_do_not_break_extraction():
    blob = base64.b64encode(os.urandom(3_000_000)).decode()
    huge = "\n".join(f"line {i} /workspace/files/f{i}.txt 2025-01-{i % 28 + 1:02d} value={i}" for i in range(200_000))
    nested = "[" * 100_000 + "]" * 100_000
    records = [
        CallRecord(0, "x", "media", {}, [{"type": "image", "data": blob, "mimeType": "image/png"},
                                          {"type": "resource", "resource": {"uri": "file:///workspace/files/a.png",
                                                                            "blob": blob}}], None, False),
        CallRecord(1, "x", "big", {}, [{"type": "text", "text": huge}], None, False),
        CallRecord(2, "x", "bad", {}, [{"type": "text", "text": "[{'a': 1, 'b': "}], None, False),
        CallRecord(3, "x", "deep", {}, [{"type": "text", "text": nested}], {"deep": json.loads("[" * 500 + "]" * 500)}, False),
        CallRecord(4, "x", "evil", {}, [{"type": "text", "text": "[__import__('os').system('echo pwned')]"}], None, False),
        CallRecord(5, "x", "odd", {}, [{"type": "text"}, None, 7, {"type": "text", "text": None}], {"k": float("nan")}, False),  # type: ignore[list-item]
        CallRecord(6, "x", "binary", {}, [{"type": "text", "text": "\x00\xff\ufffd" * 10_000}], None, False),
    ]
    started = time.perf_counter()
    for r in records:
        vals = extract(r)
        assert isinstance(vals, list)
    vals = extract_history(records)
    assert time.perf_counter() - started < 30
    assert any(v.value == "/workspace/files/a.png" for v in vals)
    assert len([v for v in vals if v.step == 1]) <= 5_000
    # and the policy still proposes something sensible on top of that history
    p = OfflinePolicy().propose(TOOLS["read_text_file"], records, WS, random.Random(0))
    assert p is not None and p.arguments["path"].startswith("/workspace/files/")


def test_policy_survives_odd_schemas():
    odd = [
        ToolRef("x", "t1", None, {}),
        ToolRef("x", "t2", "d", {"type": "object", "properties": {"a": {"type": ["string", "null"]},
                                                                   "b": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
                                                                   "c": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string", "minLength": 5, "description": "a key, e.g. 'north-wing'"}}, "required": ["k"]}, "minItems": 2}},
                                 "required": ["a", "b", "c"]}),
        ToolRef("x", "t3", "d", {"type": "object", "properties": {"x": {"$ref": "#/nowhere"}}, "required": ["x"]}),
        ToolRef("x", "t4", "d", {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                                 "properties": {"n": {"type": "number", "exclusiveMinimum": 10, "maximum": 11}},
                                 "required": ["n"], "additionalProperties": False}),
    ]
    for tool in odd:
        if tool.name == "t3":  # an untyped parameter nothing grounds: skipped with the reason, not a placeholder
            with pytest.raises(Ungrounded, match="/x"):
                OfflinePolicy().propose(tool, [GIT_LOG], WS, random.Random(0))
            continue
        p = OfflinePolicy().propose(tool, [GIT_LOG], WS, random.Random(0))
        assert p is not None, tool.name
        if tool.name == "t2":
            assert p.arguments["a"] is None
            assert len(p.arguments["c"]) == 2 and all(len(i["k"]) >= 5 for i in p.arguments["c"])
        if tool.name == "t4":
            assert 10 < p.arguments["n"] <= 11


def test_workspace_info_of_a_built_workspace(tmp_path):
    from firefly.seeds import build_workspace

    root = build_workspace(tmp_path / "ws")
    ws = workspace_info(root)
    assert ws.root == VIRTUAL_ROOT and ws.git_repos == ("/workspace/repo",)
    assert "/workspace/files/README.md" in ws.files and "/workspace/files" == ws.directories[0]
    # every folder at the root is known (files/ first), never a repository's .git internals
    assert all(f.startswith(("/workspace/files/", "/workspace/repo/")) for f in ws.files)
    assert not any("/.git/" in f for f in ws.files) and any(f.startswith("/workspace/repo/") for f in ws.files)
    assert set(ws.sqlite_tables) >= {"customers", "products", "orders", "order_items"}
    assert "customer_id" in ws.sqlite_tables["orders"]
    assert ws.memory_entities["Maya Okafor"] == "person"


def test_a_file_parameter_gets_a_file_of_the_kind_it_names_inside_the_servers_folders():
    """``pdf_path`` gets a PDF (from any folder a fixture added, not only files/); a server
    handed one folder gets paths inside it; no file of that kind anywhere: skipped, saying so."""
    ws = WorkspaceInfo(
        files=("/workspace/files/README.md", "/workspace/files/notes/todo.md", "/workspace/data/report.pdf",
               "/workspace/data/deck.pptx"),
        directories=("/workspace/files", "/workspace/files/notes", "/workspace/data"),
        roots={"scoped": ("/workspace/files",)},
    )
    schema = {"type": "object", "properties": {"pdf_path": {"type": "string", "description": "Path to the PDF"}},
              "required": ["pdf_path"]}
    for seed in range(5):
        p = OfflinePolicy().propose(ToolRef("pdfs", "extract_text", "Extract text.", schema), [], ws, random.Random(seed))
        assert p.arguments["pdf_path"] == "/workspace/data/report.pdf"
    slides = {"type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}
    p = OfflinePolicy().propose(ToolRef("office", "open_presentation", "Open a PowerPoint presentation.", slides),
                                [], ws, random.Random(0))
    assert p.arguments["file_path"] == "/workspace/data/deck.pptx"
    with pytest.raises(Ungrounded, match="pdf"):  # the scoped server sees no PDF inside its folder
        OfflinePolicy().propose(ToolRef("scoped", "extract_text", "Extract text.", schema), [], ws, random.Random(0))
    plain = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    for seed in range(5):
        p = OfflinePolicy().propose(ToolRef("scoped", "read_text_file", "Read a file.", plain), [], ws, random.Random(seed))
        assert p.arguments["path"].startswith("/workspace/files/")


def test_a_retry_passes_the_optional_parameters_the_error_named_and_never_a_placeholder():
    schema = {"type": "object", "properties": {
        "file_path": {"type": "string", "description": "A CSV file, e.g. '/path/to/data.csv'"},
        "data": {"type": "string", "description": "Inline data"},
        "project_dir": {"type": "string", "examples": ["/path/to/your/project"]},
        "pdf_paths": {"type": "string", "description": "PDFs to merge, e.g. '/tmp/part1.pdf'"},
        "method": {"type": "string", "enum": ["ols", "gls"]}}, "required": ["method"]}
    tool = ToolRef("stats", "fit_model", "Fit a model.", schema)
    ws = WorkspaceInfo(files=("/workspace/data/sales.csv",), directories=("/workspace/data",))
    failed = rec(0, "stats", "fit_model", {"method": "ols"}, "error: Must provide either file_path or data")
    for seed in range(5):
        p = OfflinePolicy().propose(tool, [failed], ws, random.Random(seed), attempt=1)
        assert "file_path" in p.arguments and "data" not in p.arguments, p.arguments  # "either": the first
        assert p.arguments["file_path"] == "/workspace/data/sales.csv"
        assert not any("path/to" in json.dumps(v) or "/tmp/" in json.dumps(v) for v in p.arguments.values())
    both = rec(0, "stats", "fit_model", {"method": "ols"}, "error: file_path and data must be provided")
    p = OfflinePolicy().propose(tool, [both], ws, random.Random(0), attempt=1)
    assert {"file_path", "data"} <= set(p.arguments)


# --------------------------------------------------------------------------- real servers


def _harness():
    spec = importlib.util.spec_from_file_location("explore_offline_check", ROOT / "scripts" / "explore_offline_check.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["explore_offline_check"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.real_servers
@pytest.mark.timeout(900)
def test_offline_policy_against_real_servers(tmp_path):
    import anyio

    check = _harness()
    rng = random.Random(11)
    seqs = [check.HAND[i] for i in (0, 7, 14, 17, 19, 24, 26, 27)]
    rep = anyio.run(lambda: check.run_check(sequences=seqs + check.random_sequences(8, rng, set(check.FLOWS)),
                                            seed=11, workdir=tmp_path / "check"))
    assert rep["sequences"] == 16
    assert rep["call_success_rate"] >= 0.7, rep["errors"]
    assert rep["chaining_rate"] >= 0.4
    assert rep["sources_verified"] >= 0.95 * rep["sources"]


def test_a_url_parameter_gets_a_page_the_local_web_service_serves():
    """No URL in any result: a page of the sandbox the registry's web service serves, never a
    made-up address."""
    ws = WorkspaceInfo(files=("/workspace/web/index.html",), directories=("/workspace/web",),
                       urls=("http://127.0.0.1:18765/", "http://127.0.0.1:18765/index.html"))
    schema = {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}, "required": ["url"]}
    p = OfflinePolicy().propose(ToolRef("web", "fetch", "Fetch a URL.", schema), [], ws, random.Random(0))
    assert p.arguments["url"] == "http://127.0.0.1:18765/index.html"
    with pytest.raises(Ungrounded, match="/url"):
        OfflinePolicy().propose(ToolRef("web", "fetch", "Fetch a URL.", schema), [], WorkspaceInfo(), random.Random(0))


def test_an_id_parameter_takes_an_item_of_a_list_named_after_it():
    """``key`` <- an item of a ``keys`` list; ``sheet_name`` <- the name of an item of
    ``sheets``; ``task_id`` <- the id of an item of ``tasks`` (with the source recorded)."""
    listing = rec(0, "kv", "scan", {}, structured={"keys": ["user:1:name", "counter"],
                                                   "sheets": [{"name": "Sales", "rows": 12}],
                                                   "tasks": [{"id": "t-19", "title": "ship"}]})

    def one(param):
        schema = {"type": "object", "properties": {param: {"type": "string"}}, "required": [param]}
        p = OfflinePolicy().propose(ToolRef("kv", f"use_{param}", "Use it.", schema), [listing], WorkspaceInfo(),
                                    random.Random(0))
        (source,) = [s for s in p.sources if s.argument == f"/{param}"]
        assert source.step == 0
        return p.arguments[param]

    assert one("key") in ("user:1:name", "counter")
    assert one("sheet_name") == "Sales"
    assert one("task_id") == "t-19"


def test_an_id_parameter_is_not_given_the_id_of_another_thing():
    """``epic_id`` ("The epic's id") is not given ``story-abb8ff0b``, an id the listing shows
    for a story ("Epic not found: story-abb8ff0b"): the epic's id when one is shown, else none
    (the step is skipped as ungrounded); ``depends_on_task_id`` takes a task's id."""
    stories = rec(0, "tasks", "list_stories", {}, structured={"stories": [{"id": "story-abb8ff0b", "title": "a"}]})
    epics = rec(1, "tasks", "list_epics", {}, structured={"epics": [{"id": "epic-5c01e2aa", "title": "b"}]})
    tasks = rec(1, "tasks", "list_tasks", {}, structured={"tasks": [{"id": "task-7e3deb65", "title": "c"}]})

    def propose_id(param, history):
        schema = {"type": "object", "properties": {param: {"type": "string", "description": "The id to use."}},
                  "required": [param]}
        return OfflinePolicy().propose(ToolRef("tasks", "get_it", "Get one by id.", schema), history,
                                       WorkspaceInfo(), random.Random(0)).arguments[param]

    for seed in range(5):
        assert propose_id("epic_id", [stories, epics]) == "epic-5c01e2aa"
    with pytest.raises(Ungrounded, match="/epic_id"):
        propose_id("epic_id", [stories])
    assert propose_id("depends_on_task_id", [stories, tasks]) == "task-7e3deb65"
    accounts = rec(0, "tasks", "list_accounts", {}, structured={"accounts": [{"id": "acct-7f3"}]})
    assert propose_id("account_id", [accounts]) == "acct-7f3"  # an abbreviation names the same thing


def test_a_result_that_reads_back_our_own_arguments_gives_no_fact():
    rows = rec(0, "sqlite", "read_query", {"query": "SELECT * FROM products LIMIT 2"}, PRODUCTS_TEXT)
    sent = {"observations": [{"entityName": "Maya Okafor", "contents": ["Noted during exploration 444"]}]}
    echo = [{"entityName": "Maya Okafor", "addedObservations": ["Noted during exploration 444"]}]
    added = rec(1, "memory", "add_observations", sent, json.dumps(echo, indent=2))
    for seed in range(8):
        observations = [o for e in propose("create_entities", [rows, added], seed).arguments["entities"]
                        for o in e["observations"]]
        assert not any("444" in o or "addedObservations" in o for o in observations), observations
    # the facts that are new still come through, labelled in words
    facts = [o for seed in range(8) for e in propose("create_entities", [rows], seed).arguments["entities"]
             for o in e["observations"]]
    assert any(o.startswith(("price: ", "stock: ", "supplier: ", "category: ")) for o in facts), facts


def test_an_aggregate_query_sums_numbers_not_a_column_whose_name_holds_a_numeric_word():
    # only the column names are known (no types, no values): their words decide
    ws = WorkspaceInfo(sqlite_tables={"customers": ("id", "country", "city", "order_count")})
    summed = set()
    for seed in range(40):
        query = propose("read_query", [], seed, ws=ws).arguments["query"]
        if "SUM(" in query:
            summed.add(query.split("SUM(")[1].split(")")[0].strip('"'))
    assert summed == {"order_count"}


# --------------------------------------------------------------------------- retries and inputs


def test_a_retry_completes_the_call_the_error_said_lacked_a_parameter():
    """``Operation collatz requires parameter 'number'``: the retry keeps the operation it was
    asked about and adds the number, instead of trying another operation."""
    schema = {"type": "object", "properties": {
        "operation": {"type": "string", "enum": ["prime_test", "collatz", "gcd"]},
        "number": {"type": "integer"}, "precision": {"type": "integer"}}, "required": ["operation"]}
    tool = ToolRef("m", "number_theory", "Number theory.", schema)
    failed = rec(0, "m", "number_theory", {"operation": "collatz"}, "error: Operation collatz requires parameter 'number'")
    for seed in range(5):
        p = OfflinePolicy().propose(tool, [failed], WorkspaceInfo(), random.Random(seed), attempt=1)
        assert p.arguments["operation"] == "collatz" and isinstance(p.arguments["number"], int), p.arguments


def test_a_retry_changes_what_the_error_blamed_and_keeps_the_rest():
    """``Invalid slide index: 10``: the slide index changes, the presentation made first stays;
    an error that blames nothing keeps nothing."""
    schema = {"type": "object", "properties": {
        "slide_index": {"type": "integer"}, "presentation_id": {"type": ["string", "null"], "default": None},
        "mode": {"type": "string", "enum": ["a", "b", "c", "d"]}}, "required": ["slide_index", "mode"]}
    tool = ToolRef("p", "get_slide_info", "Information about a slide.", schema)
    failed = rec(1, "p", "get_slide_info", {"slide_index": 10, "mode": "c", "presentation_id": "deck_7"},
                 "error: Invalid slide index: 10")
    for seed in range(5):
        args = OfflinePolicy().propose(tool, [failed], WorkspaceInfo(), random.Random(seed), attempt=1).arguments
        assert args["presentation_id"] == "deck_7" and args["mode"] == "c" and args["slide_index"] != 10, args
    vague = rec(1, "p", "get_slide_info", {"slide_index": 10, "mode": "c"}, "error: 'NoneType' object is not iterable")
    modes = {OfflinePolicy().propose(tool, [vague], WorkspaceInfo(), random.Random(s), attempt=1).arguments["mode"]
             for s in range(6)}
    assert modes - {"c"}


def test_an_index_parameter_takes_the_first_item_not_a_random_number():
    schema = {"type": "object", "properties": {"slide_index": {"type": "integer"}, "page_idx": {
        "type": "integer", "description": "Page number (1-based)"}}, "required": ["slide_index", "page_idx"]}
    tool = ToolRef("p", "read_page", "Read a page.", schema)
    for seed in range(5):
        args = OfflinePolicy().propose(tool, [], WorkspaceInfo(), random.Random(seed)).arguments
        assert args == {"slide_index": 0, "page_idx": 1}
    # an index a result showed under that name wins
    made = rec(0, "p", "add_slide", {}, structured={"slide_index": 4, "message": "Added slide 4"})
    assert OfflinePolicy().propose(tool, [made], WorkspaceInfo(), random.Random(0)).arguments["slide_index"] == 4
    # "Available slides: 0--1": no number will do; skipped, naming the index (a slide is made first)
    empty = rec(1, "p", "read_page", {"slide_index": 0, "page_idx": 1}, "error: Invalid slide index: 0. Available slides: 0--1")
    with pytest.raises(Ungrounded, match="slide_index.*there are none"):
        OfflinePolicy().propose(tool, [empty], WorkspaceInfo(), random.Random(0), attempt=1)


def test_a_range_told_before_the_server_made_a_thing_no_longer_holds():
    """"Available slides: 0--1", then add_slide worked: the index is no longer skipped as
    having none (it failed so after the slide was made), and takes the one the result showed."""
    schema = {"type": "object", "properties": {"slide_index": {"type": "integer"}}, "required": ["slide_index"]}
    tool = ToolRef("p", "get_slide_info", "Information about a slide.", schema)
    empty = rec(1, "p", "get_slide_info", {"slide_index": 1}, "error: Invalid slide index: 1. Available slides: 0--1")
    with pytest.raises(Ungrounded, match="there are none"):
        OfflinePolicy().propose(tool, [empty], WorkspaceInfo(), random.Random(0))
    listed = rec(2, "p", "list_slides", {}, structured={"slides": []})
    with pytest.raises(Ungrounded, match="there are none"):  # a reader changed nothing
        OfflinePolicy().propose(tool, [empty, listed], WorkspaceInfo(), random.Random(0))
    added = rec(2, "p", "add_slide", {}, structured={"message": "Added slide 0", "slide_index": 0})
    for seed in range(3):
        assert OfflinePolicy().propose(tool, [empty, added], WorkspaceInfo(), random.Random(seed)).arguments == {
            "slide_index": 0}


def test_the_thing_made_first_is_passed_on_although_a_call_carrying_it_failed_for_another_reason():
    schema = {"type": "object", "properties": {"slide_index": {"type": "integer"}, "deck_id": {
        "type": ["string", "null"], "default": None}}, "required": ["slide_index"]}
    tool = ToolRef("p", "read_slide", "Read a slide.", schema)
    made = rec(0, "p", "create_deck", {}, structured={"deck_id": "deck_3", "slide_count": 0})
    failed = rec(1, "p", "read_slide", {"slide_index": 0, "deck_id": "deck_3"}, "error: Invalid slide index: 0")
    added = rec(2, "p", "add_slide", {"deck_id": "deck_3"}, structured={"message": "Added", "slide_index": 0})
    for seed in range(3):
        args = OfflinePolicy().propose(tool, [made, failed, added], WorkspaceInfo(), random.Random(seed)).arguments
        assert args == {"slide_index": 0, "deck_id": "deck_3"}, args
    named = rec(1, "p", "read_slide", {"slide_index": 0, "deck_id": "deck_3"}, "error: deck 'deck_3' is closed")
    args = OfflinePolicy().propose(tool, [made, named, added], WorkspaceInfo(), random.Random(0)).arguments
    assert args.get("deck_id") != "deck_3"


def test_a_tool_whose_inputs_are_all_optional_gets_one_on_its_first_call():
    """A model fitted to ``file_path`` or to ``X_data``/``y_data``, all optional: the first call
    passes a table of the world, else the series; never where results are saved."""
    nullable = lambda t: {"anyOf": [t, {"type": "null"}], "default": None}  # noqa: E731
    numbers = {"type": "array", "items": {"type": "number"}}
    schema = {"type": "object", "properties": {
        "X_data": nullable(numbers), "y_data": nullable(numbers), "file_path": nullable({"type": "string"}),
        "save_path": nullable({"type": "string"}), "output_format": {"type": "string", "default": "json"}}}
    tool = ToolRef("e", "fit_logit", "Logistic regression model.", schema)
    ws = WorkspaceInfo(files=("/workspace/files/README.md", "/workspace/econ/regression.csv"),
                       directories=("/workspace/files", "/workspace/econ"))
    for seed in range(5):
        args = OfflinePolicy().propose(tool, [], ws, random.Random(seed)).arguments
        assert args["file_path"] == "/workspace/econ/regression.csv" and "save_path" not in args, args
    for seed in range(5):
        args = OfflinePolicy().propose(tool, [], WorkspaceInfo(), random.Random(seed)).arguments
        assert len(args["X_data"]) == len(args["y_data"]) > 0 and "file_path" not in args, args
    # a listing needs nothing: left as it was
    lister = ToolRef("e", "list_models", "List the models.", {"type": "object", "properties": {
        "data": nullable(numbers)}})
    assert OfflinePolicy().propose(lister, [], ws, random.Random(0)).arguments == {}


def test_an_empty_value_that_failed_is_not_sent_again_and_shown_shapes_are_used():
    schema = {"type": "object", "properties": {"key": {"type": "string"}, "fields": {
        "type": "object", "additionalProperties": True}}, "required": ["key", "fields"]}
    tool = ToolRef("r", "stream_add", "Add an entry to a stream.", schema)
    failed = rec(0, "r", "stream_add", {"key": "jobs", "fields": {}}, "error: fields must be a non-empty dict")
    with pytest.raises(Ungrounded, match="empty"):
        OfflinePolicy().propose(tool, [failed], WorkspaceInfo(), random.Random(0), attempt=1)
    shown = {"type": "object", "properties": {"criteria": {
        "type": "object", "additionalProperties": True, "examples": [{"query": "tag:project"}, {"folder": "Projects"}]}},
        "required": ["criteria"]}
    args = OfflinePolicy().propose(ToolRef("n", "batch_update", "Update notes.", shown), [], WorkspaceInfo(),
                                   random.Random(0)).arguments
    assert args["criteria"] in ({"query": "tag:project"}, {"folder": "Projects"})


def test_a_retry_takes_a_file_of_a_format_the_error_listed_or_one_that_exists():
    ws = WorkspaceInfo(files=("/workspace/files/README.md", "/workspace/files/app.py", "/workspace/data/sales.csv",
                              "/workspace/data/book.xlsx"), directories=("/workspace/files", "/workspace/data"))
    schema = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    tool = ToolRef("d", "get_overview", "Overview of a dataset file.", schema)
    failed = rec(0, "d", "get_overview", {"path": "/workspace/files/README.md"},
                 "Unsupported dataset format '.md'. Supported formats: .csv, .tsv, .xlsx, .xls, .json, .parquet.",
                 is_error=True)
    for seed in range(5):
        p = OfflinePolicy().propose(tool, [failed], ws, random.Random(seed), attempt=1).arguments["path"]
        assert p in ("/workspace/data/sales.csv", "/workspace/data/book.xlsx"), p
    # a new workbook it was told does not exist: the retry works in one that does
    sheet = {"type": "object", "properties": {"filepath": {"type": "string"}, "sheet_name": {"type": "string"}},
             "required": ["filepath", "sheet_name"]}
    add = ToolRef("x", "create_worksheet", "Create a new worksheet in an Excel workbook.", sheet)
    gone = rec(0, "x", "create_worksheet", {"filepath": "/workspace/data/notes-601.xlsx", "sheet_name": "Q1"},
               "Error: [Errno 2] No such file or directory: '/workspace/data/notes-601.xlsx'")
    for seed in range(3):
        assert OfflinePolicy().propose(add, [gone], ws, random.Random(seed), attempt=1).arguments["filepath"] \
            == "/workspace/data/book.xlsx"



def test_a_retry_names_a_new_file_as_the_error_asked_a_bare_name_of_its_extension():
    ws = WorkspaceInfo(files=("/workspace/kb/README.md",), directories=("/workspace/kb",))
    schema = {"type": "object", "properties": {"file": {"type": "string"}, "topic": {"type": "string"}},
              "required": ["file", "topic"]}
    tool = ToolRef("k", "pkg_create", "Create an empty package.", schema)
    first = OfflinePolicy().propose(tool, [], ws, random.Random(0)).arguments["file"]
    assert first.startswith("/workspace/kb/")
    failed = rec(0, "k", "pkg_create", {"file": first, "topic": "Notes"},
                 "Error executing tool pkg_create: file must be a simple .mmp name; _catalog.mmp is reserved")
    for seed in range(3):
        again = OfflinePolicy().propose(tool, [failed], ws, random.Random(seed), attempt=1).arguments["file"]
        assert again.endswith(".mmp") and "/" not in again, again


def test_a_new_file_is_named_as_the_tool_said_earlier_in_the_run_on_a_first_call():
    """A later exploration's first call names the file as the tool asked in another: it failed
    once in each exploration before."""
    from firefly.explore.futility import Futility

    futility = Futility()
    futility.note(("x1", 0, 0), "k", "pkg_create", worked=False, arguments={"file": "/workspace/kb/a.md"},
                  text="Error executing tool pkg_create: file must be a simple .mmp name; _catalog.mmp is reserved")
    ws = WorkspaceInfo(files=("/workspace/kb/README.md",), directories=("/workspace/kb",), told=futility.told)
    schema = {"type": "object", "properties": {"file": {"type": "string"}, "topic": {"type": "string"}},
              "required": ["file", "topic"]}
    tool = ToolRef("k", "pkg_create", "Create an empty package.", schema)
    for seed in range(3):
        first = OfflinePolicy().propose(tool, [], ws, random.Random(seed)).arguments["file"]
        assert first.endswith(".mmp") and "/" not in first, first
    other = ToolRef("k", "pkg_open", "Create an empty package.", schema)  # another tool learnt nothing
    assert OfflinePolicy().propose(other, [], ws, random.Random(0)).arguments["file"].startswith("/workspace/kb/")

def test_a_retry_after_the_input_file_failed_passes_the_series_instead():
    nullable = lambda t: {"anyOf": [t, {"type": "null"}], "default": None}  # noqa: E731
    numbers = {"type": "array", "items": {"type": "number"}}
    schema = {"type": "object", "properties": {
        "outcome": nullable(numbers), "treatment": nullable({"type": "array", "items": {"type": "integer"}}),
        "file_path": nullable({"type": "string"}), "output_format": {"type": "string", "default": "json"}}}
    tool = ToolRef("e", "did", "Difference in differences.", schema)
    ws = WorkspaceInfo(files=("/workspace/econ/regression.csv",), directories=("/workspace/econ",))
    first = OfflinePolicy().propose(tool, [], ws, random.Random(0)).arguments
    assert first["file_path"] == "/workspace/econ/regression.csv" and "outcome" not in first
    failed = rec(0, "e", "did", first, "error: If using all scalar values, you must pass an index")
    for seed in range(3):
        args = OfflinePolicy().propose(tool, [failed], ws, random.Random(seed), attempt=1).arguments
        assert "file_path" not in args and len(args["outcome"]) == len(args["treatment"]) > 0, args


def test_a_confirmation_is_given_and_a_dataset_tool_gets_a_table():
    schema = {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}},
                                               "confirm": {"type": "boolean", "default": False}}}
    tool = ToolRef("s", "delete_outputs", "Delete outputs.", schema)
    for seed in range(3):
        assert OfflinePolicy().propose(tool, [], WorkspaceInfo(), random.Random(seed)).arguments.get("confirm") is True
    ws = WorkspaceInfo(files=("/workspace/files/README.md", "/workspace/data/sales.csv"),
                       directories=("/workspace/files", "/workspace/data"))
    overview = ToolRef("d", "dataset_overview", "Overview of a dataset.", {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
    for seed in range(3):
        assert OfflinePolicy().propose(overview, [], ws, random.Random(seed)).arguments["path"] == "/workspace/data/sales.csv"


def test_a_retry_told_the_series_are_needed_drops_the_file_it_gave():
    nullable = lambda t: {"anyOf": [t, {"type": "null"}], "default": None}  # noqa: E731
    numbers = {"type": "array", "items": {"type": "number"}}
    schema = {"type": "object", "properties": {"X_data": nullable(numbers), "y_data": nullable(numbers),
                                               "file_path": nullable({"type": "string"}),
                                               "n_estimators": {"type": "integer", "default": 100}}}
    tool = ToolRef("e", "forest", "Random forest.", schema)
    ws = WorkspaceInfo(files=("/workspace/econ/regression.csv",), directories=("/workspace/econ",))
    failed = rec(0, "e", "forest", {"file_path": "/workspace/econ/regression.csv", "n_estimators": 50},
                 "error: X_data and y_data must be provided")
    args = OfflinePolicy().propose(tool, [failed], ws, random.Random(0), attempt=1).arguments
    assert "file_path" not in args and args["n_estimators"] == 50 and len(args["X_data"]) == len(args["y_data"])


def test_a_retry_of_a_tool_that_makes_a_thing_told_the_name_holds_another_kind_takes_a_new_name():
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
              "required": ["name", "value"]}
    tool = ToolRef("r", "sadd", "Add a value to a set.", schema)
    keys = rec(0, "r", "scan_keys", {}, structured={"keys": ["user:1", "counter"]})
    failed = rec(1, "r", "sadd", {"name": "user:1", "value": "ready"},
                 "Error adding value 'ready' to set 'user:1': WRONGTYPE Operation against a key holding the wrong kind of value")
    for seed in range(4):
        args = OfflinePolicy().propose(tool, [keys, failed], WorkspaceInfo(), random.Random(seed), attempt=1).arguments
        assert args["name"] not in ("user:1", "counter"), args


def test_a_handle_a_tool_ended_is_not_given_again():
    """close_session(session_id) worked: that id is gone ("Invalid session ID" after it); the
    session_id is ungrounded (a session is made first), not the closed one."""
    schema = {"type": "object", "properties": {"session_id": {"type": "string"}}, "required": ["session_id"]}
    tool = ToolRef("c", "export_csv", "Export the session's data.", schema)
    loaded = rec(0, "c", "load_csv", {"file_path": "/workspace/a.csv"}, structured={"session_id": "s-159f1c84"})
    assert OfflinePolicy().propose(tool, [loaded], WorkspaceInfo(), random.Random(0)).arguments == {
        "session_id": "s-159f1c84"}
    closed = rec(1, "c", "close_session", {"session_id": "s-159f1c84"}, structured={"success": True})
    with pytest.raises(Ungrounded, match="session_id"):
        OfflinePolicy().propose(tool, [loaded, closed], WorkspaceInfo(), random.Random(0))


def test_on_a_server_whose_things_come_in_kinds_a_key_known_to_be_of_the_kind_wanted_is_chosen():
    """hget told "counter" is of the wrong kind, hgetall worked with "product:1": another hash
    tool is given "product:1" (a key seen to be a hash), not one of the other kinds."""
    from firefly.explore.futility import Futility
    from firefly.explore.paramdocs import thing_kind

    def tool(name: str) -> ToolRef:
        return ToolRef("redis", name, "Do it.\n\n    Args:\n        name: The Redis hash key.\n",
                       {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})
    refs = {n: tool(n) for n in ("hget", "hgetall", "hkeys")}
    futility = Futility()
    futility.kind_of = lambda server, name, pointer: thing_kind(refs[name], pointer[1:])
    wrong = "Error: hash 'counter': WRONGTYPE Operation against a key holding the wrong kind of value"
    futility.note(("x", 0, 0), "redis", "hget", worked=False, arguments={"name": "counter"}, arguments_hash="a",
                  text=wrong)
    futility.note(("x", 1, 0), "redis", "hgetall", worked=True, arguments={"name": "product:1"}, arguments_hash="b")
    keys = rec(0, "redis", "scan_keys", {}, structured={"keys": ["user:1", "product:1", "queue:jobs", "counter"]})
    ws = WorkspaceInfo(rejected=futility.rejected, fitting=futility.fitting)
    for seed in range(6):
        assert OfflinePolicy().propose(refs["hkeys"], [keys], ws, random.Random(seed)).arguments == {"name": "product:1"}
    # no wrong kind told on the server: no preference
    calm = Futility()
    calm.kind_of = futility.kind_of
    calm.note(("x", 1, 0), "redis", "hgetall", worked=True, arguments={"name": "product:1"}, arguments_hash="b")
    ws = WorkspaceInfo(rejected=calm.rejected, fitting=calm.fitting)
    assert {OfflinePolicy().propose(refs["hkeys"], [keys], ws, random.Random(s)).arguments["name"] for s in range(12)} != {
        "product:1"}


def test_a_new_file_beside_its_source_is_named_for_what_the_tool_does():
    ws = WorkspaceInfo(files=("/workspace/data/shapes.png",), directories=("/workspace/data",))
    schema = {"type": "object", "properties": {"input_path": {"type": "string"}, "output_path": {"type": "string"}},
              "required": ["input_path", "output_path"]}
    blur = OfflinePolicy().propose(ToolRef("i", "blur_image", "Blur an image.", schema), [], ws, random.Random(0)).arguments
    assert blur["input_path"] == "/workspace/data/shapes.png" and "-out-" in blur["output_path"]
    moves = {"type": "object", "properties": {"source": {"type": "string"}, "destination": {"type": "string"}},
             "required": ["source", "destination"]}
    moved = OfflinePolicy().propose(ToolRef("f", "move_file", "Move a file.", moves), [], ws, random.Random(0)).arguments
    assert "-moved-" in moved["destination"], moved
    # the log keeps a schema's properties sorted: the destination is still made from the source
    stored = {"type": "object", "properties": {"destination": {"type": "string"}, "source": {"type": "string"}},
              "required": ["source", "destination"]}
    for seed in range(6):
        moved = OfflinePolicy().propose(ToolRef("f", "move_file", "Move a file.", stored), [], ws,
                                        random.Random(seed)).arguments
        assert moved["destination"].endswith(".png") and "shapes-moved-" in moved["destination"], moved


def test_a_topic_is_a_line_of_a_seed_text_typed_plainly_and_ascii_after_the_server_asked_for_it():
    ws = WorkspaceInfo(texts={"/workspace/files/plan.md": "# Harbor Coffee Supply — Tomás’ workspace\n\nShared ..."},
                       files=("/workspace/files/plan.md",), directories=("/workspace/files",))
    schema = {"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}
    tool = ToolRef("k", "start_package", "Start an empty package.", schema)
    first = OfflinePolicy().propose(tool, [], ws, random.Random(0)).arguments["topic"]
    # a dash and a quote as a keyboard types them (a tool taking ASCII only, asked again in another
    # exploration that was never told, fails no more on them); a name keeps its accent
    assert first == "Harbor Coffee Supply - Tomás' workspace"
    told = rec(0, "k", "start_package", {"topic": first}, "Error executing tool: topic must contain ASCII only",
               is_error=True)
    again = OfflinePolicy().propose(tool, [told], ws, random.Random(0), attempt=1).arguments["topic"]
    assert again == "Harbor Coffee Supply - Tomas' workspace" and again.isascii()


def test_an_edit_sets_another_value_than_the_current_one():
    """``update_task_status(status)`` after a read shows the task "todo": set to "todo" again it
    would change nothing a probe could show; another allowed value is chosen."""
    tool = ToolRef("tasks", "update_task_status", "Update a task's status", {
        "type": "object",
        "properties": {"task_id": {"type": "string"},
                       "status": {"type": "string", "enum": ["todo", "in_progress", "review", "done"]}},
        "required": ["task_id", "status"]})
    earlier = rec(0, "tasks", "get_task", {"task_id": "task-1"}, structured={"id": "task-1", "status": "todo"})
    for seed in range(10):
        p = OfflinePolicy().propose(tool, [earlier], WS, random.Random(seed))
        assert p.arguments["task_id"] == "task-1"
        assert p.arguments["status"] in ("in_progress", "review", "done")
    # a call that does not edit (a listing) still takes the observed value
    lister = ToolRef("tasks", "list_tasks", "List tasks", {
        "type": "object", "properties": {"status": {"type": "string", "enum": ["todo", "done"]}}, "required": ["status"]})
    assert OfflinePolicy().propose(lister, [earlier], WS, random.Random(0)).arguments["status"] == "todo"


def test_made_up_texts_hold_no_reading_of_the_clock():
    """A title written from earlier results leaves out this run's times: an effect whose text
    held "created at 2026-...T18:25:50Z" would be a new task each run."""
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tool = ToolRef("tasks", "create_story", "Create a story", {
        "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]})
    earlier = rec(0, "tasks", "get_task", {"task_id": "task-1"},
                  structured={"id": "task-1", "created_at": now, "updated_at": now, "estimate_hours": 3,
                              "task_type": "feature"})
    titles = {OfflinePolicy().propose(tool, [earlier], WS, random.Random(seed)).arguments["title"] for seed in range(12)}
    assert titles and not any(now[:10] in t for t in titles)
    assert not any(t.startswith("Observed") for t in titles), titles  # no bare readings read back as a title


def test_a_made_up_title_or_reason_is_a_line_a_person_writes_about_a_thing_the_world_showed():
    tool = ToolRef("tasks", "create_task", "Create a task", {
        "type": "object", "properties": {"title": {"type": "string"}, "reason": {"type": "string"}},
        "required": ["title", "reason"]})
    earlier = rec(0, "crm", "get_supplier", {"supplier_id": 4},
                  structured={"id": 4, "name": "Green Coast Importers", "lead_time_days": 10, "total_orders": 0})
    made = [OfflinePolicy().propose(tool, [earlier], WS, random.Random(seed)).arguments for seed in range(8)]
    assert all("Green Coast Importers" in m["title"] for m in made), made
    assert all(m["title"] != "Green Coast Importers" and "Observed" not in m["title"] for m in made)
    reasons = {m["reason"] for m in made}
    assert any(r.startswith(("Waiting on", "Blocked until", "Needs an answer")) for r in reasons), reasons


def test_a_new_file_is_never_named_after_a_yes_or_no():
    """The newest result says ``isFile: true``: a new file's name comes from another value, or
    is the plain exploration-notes, never ``true-notes-4.md``."""
    info = rec(0, "filesystem", "get_file_info", {"path": "/workspace/files/README.md"},
               "size: 104\nisDirectory: false\nisFile: true\npermissions: 644")
    tool = ToolRef("filesystem", "write_file", "Create a new file or overwrite an existing file", {
        "type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"]})
    paths = {OfflinePolicy().propose(tool, [info], WS, random.Random(seed)).arguments["path"] for seed in range(20)}
    assert paths and not any(p.rsplit("/", 1)[-1].startswith(("true-", "false-")) for p in paths), paths


# --------------------------------------------------------------------------- required arrays and objects filled

CSV_LOADED = rec(0, "tables", "load_table", {"file_path": f"{VIRTUAL_ROOT}/files/data/sales.csv"}, structured={
    "success": True, "session_id": "970ca4bb-de46-4785-895d-2ea42ab844d5",
    "columns_affected": ["id", "product", "category", "price"],
    "data": {"preview": [{"id": 1, "product": "Widget", "category": "tools", "price": 9.99},
                         {"id": 2, "product": "Gadget", "category": "tools", "price": 24.5}]}})
SESSION = {"session_id": {"type": "string"}}


def _tool(name: str, description: str, props: dict, required: list[str]) -> ToolRef:
    return ToolRef("tables", name, description, {"type": "object", "properties": {**SESSION, **props},
                                                  "required": ["session_id", *required]})


def _propose_tool(tool: ToolRef, history: list[CallRecord], seed: int = 0) -> Proposal | str:
    got = propose_or_reason(tool, history, WS, random.Random(seed))
    if isinstance(got, Proposal):
        validator = validator_for(tool.input_schema, default=Draft202012Validator)(tool.input_schema)
        assert not list(validator.iter_errors(got.arguments)), got.arguments
    return got


def test_rename_mapping_names_a_seen_column_and_a_new_name():
    tool = _tool("rename_columns", "Rename columns in the dataframe.",
                 {"mapping": {"type": "object", "additionalProperties": {"type": "string"}}}, ["mapping"])
    for seed in range(4):
        p = _propose_tool(tool, [CSV_LOADED], seed)
        assert isinstance(p, Proposal), p
        ((old, new),) = p.arguments["mapping"].items()
        assert old in ("id", "product", "category", "price") and new == f"{old}_renamed"
        assert any(s.argument == "/mapping" for s in p.sources)


def test_free_object_of_a_writing_tool_takes_a_seen_field_and_its_value():
    tool = ToolRef("streams", "add_entry", "Add an entry to a stream", {"type": "object", "properties": {
        "key": {"type": "string"}, "fields": {"type": "object", "additionalProperties": True}},
        "required": ["key", "fields"]})
    history = [CSV_LOADED, rec(1, "streams", "list_keys", {}, structured={"keys": ["events:1"]})]
    p = _propose_tool(tool, history)
    assert isinstance(p, Proposal), p
    ((field, value),) = p.arguments["fields"].items()
    assert {"id": 1, "product": "Widget", "category": "tools", "price": 9.99}.get(field, "x") == value or \
        {"id": 2, "product": "Gadget", "category": "tools", "price": 24.5}.get(field, "x") == value


def test_free_form_item_objects_of_a_reading_tool_stay_ungrounded_not_empty():
    tool = _tool("filter_rows", "Filter rows based on conditions.", {
        "conditions": {"type": "array", "items": {"type": "object", "additionalProperties": True}}}, ["conditions"])
    got = _propose_tool(tool, [CSV_LOADED])
    assert isinstance(got, str) and "conditions" in got, got  # never [{}]


def test_item_fields_the_description_lists_as_required_are_filled():
    tool = ToolRef("notes", "notes_write", "Append structured entries. Required entry fields: summary (3-15 English "
                   "words), status (F/C/H), tags (array of strings); legend is optional.", {
                       "type": "object", "properties": {
                           "entries": {"type": "array", "items": {"type": "object", "additionalProperties": True}}},
                       "required": ["entries"]})
    history = [rec(0, "notes", "notes_list", {}, structured={"tags": ["supply", "roastery"],
                                                             "notes": [{"title": "Roastery visit", "pages": 3}]})]
    p = _propose_tool(tool, history)
    assert isinstance(p, Proposal), p
    entry = p.arguments["entries"][0]
    assert set(entry) == {"summary", "status", "tags"}
    assert entry["status"] in ("F", "C", "H") and entry["tags"] and all(entry.values())


def test_id_list_named_after_a_thing_takes_the_id_a_tool_of_that_thing_answered():
    created = rec(0, "canvas", "create_element", {"type": "rectangle"},
                  text=json.dumps({"id": "mxc6c0185ddzzdtmhq2", "type": "rectangle", "x": 2}))
    tool = ToolRef("canvas", "lock_elements", "Lock elements to prevent modification", {
        "type": "object", "properties": {"elementIds": {"type": "array", "items": {"type": "string"}}},
        "required": ["elementIds"]})
    p = _propose_tool(tool, [created])
    assert isinstance(p, Proposal), p
    assert p.arguments["elementIds"] == ["mxc6c0185ddzzdtmhq2"]


def test_group_by_names_a_column_of_a_seen_record():
    tool = _tool("group_rows", "Group data.", {"group_by": {"type": "array", "items": {"type": "string"}}},
                 ["group_by"])
    p = _propose_tool(tool, [CSV_LOADED])
    assert isinstance(p, Proposal), p
    assert p.arguments["group_by"] and p.arguments["group_by"][0] in ("id", "product", "category", "price")


def test_column_comes_from_the_rows_the_named_session_loaded():
    other = rec(1, "tables", "read_rows", {"file_path": f"{VIRTUAL_ROOT}/files/data/orders.csv"},
                structured={"rows": [{"order_id": 7, "unit_price": 3.5}]})
    tool = _tool("group_rows", "Group data.", {"group_by": {"type": "array", "items": {"type": "string"}}},
                 ["group_by"])
    for seed in range(4):
        p = _propose_tool(tool, [CSV_LOADED, other], seed)
        assert isinstance(p, Proposal), p
        if p.arguments["session_id"] == "970ca4bb-de46-4785-895d-2ea42ab844d5":
            assert p.arguments["group_by"][0] in ("id", "product", "category", "price"), p.arguments


def test_a_date_is_never_taken_from_a_reading_of_the_clock():
    import datetime as dt

    today = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    clock = rec(0, "t", "current_time", {}, structured={"date": today, "time": f"{today} 21:12:24"})
    schema = {"type": "object", "properties": {"date": {"type": "string", "description": "A date (YYYY-MM-DD)"}},
              "required": ["date"]}
    tool = ToolRef("t", "days_in_month", "Number of days in the month of a date.", schema)
    for seed in range(4):
        assert OfflinePolicy().propose(tool, [clock], WorkspaceInfo(), random.Random(seed)).arguments["date"] != today
    written = rec(0, "t", "list_events", {}, structured={"events": [{"date": "2025-04-28", "title": "Move day"}]})
    assert OfflinePolicy().propose(tool, [written], WorkspaceInfo(), random.Random(0)).arguments["date"] == "2025-04-28"


def test_a_time_is_written_as_its_parameter_shows_one_and_never_read_off_the_clock():
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    clock = rec(0, "t", "current_time", {}, structured={"time": now})
    schema = {"type": "object", "required": ["time", "sourceTimezone", "targetTimezone"], "properties": {
        "sourceTimezone": {"type": "string", "description": "The source timezone. IANA timezone name, e.g. Asia/Shanghai"},
        "targetTimezone": {"type": "string", "description": "The target timezone. IANA timezone name, e.g. Europe/London"},
        "time": {"type": "string", "description": "Date and time in 24-hour format. e.g. 2025-03-23 12:30:00"}}}
    tool = ToolRef("t", "convert_time", "Convert time between timezones.", schema)
    for seed in range(4):
        at = OfflinePolicy().propose(tool, [clock], WorkspaceInfo(), random.Random(seed)).arguments["time"]
        assert re.fullmatch(r"2025-03-23 \d\d:\d\d:00", at), at  # a day and a time, as the example: never "00:41"
        assert at[11:16] != now[11:16]
    patterned = {"type": "object", "properties": {
        "time": {"type": "string", "description": "The time to get the timestamp. Format: YYYY-MM-DD HH:mm:ss.SSS"}},
        "required": ["time"]}
    tool = ToolRef("t", "get_timestamp", "Get the timestamp for the time.", patterned)
    at = OfflinePolicy().propose(tool, [], WorkspaceInfo(), random.Random(0)).arguments["time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:00\.000", at), at


def test_a_column_parameter_takes_a_column_a_result_listed_for_the_same_file():
    """get_dataset_overview listed each file's "features": inspect_column(path, col_name) and
    analyze_target(path, target_name) (a tool about a table's columns) are given a column of
    the file they read, not skipped as ungrounded; a target of a tool about no columns is not."""
    def overview(step: int, path: str, feats: list[str]) -> CallRecord:
        return rec(step, "ds", "get_dataset_overview", {"path": path},
                   json.dumps({"features": feats, "missing_values": {f: 0 for f in feats}}))
    history = [overview(0, "/workspace/data/a.csv", ["id", "price", "qty"]),
               overview(1, "/workspace/data/b.csv", ["supplier", "city"])]
    ws = WorkspaceInfo(files=("/workspace/data/a.csv", "/workspace/data/b.csv"), directories=("/workspace/data",))
    columns = {"/workspace/data/a.csv": {"id", "price", "qty"}, "/workspace/data/b.csv": {"supplier", "city"}}
    for name, desc in (("col_name", "Gives a detailed summary of a specific column/feature."),
                       ("target_name", "Gives a detailed summary of the target column.")):
        tool = ToolRef("ds", "inspect", desc, {"type": "object", "properties": {
            "path": {"type": "string"}, name: {"type": "string"}}, "required": ["path", name]})
        for seed in range(6):
            proposal = OfflinePolicy().propose(tool, history, ws, random.Random(seed))
            args = proposal.arguments
            assert args[name] in columns[args["path"]], args
            assert any(s.argument == f"/{name}" for s in proposal.sources)
    # a file no result listed the columns of: no column of another file
    other = WorkspaceInfo(files=("/workspace/data/c.csv",), directories=("/workspace/data",))
    tool = ToolRef("ds", "inspect", "Gives a detailed summary of a specific column/feature.", {
        "type": "object", "properties": {"path": {"type": "string"}, "col_name": {"type": "string"}},
        "required": ["path", "col_name"]})
    with pytest.raises(Ungrounded):
        OfflinePolicy().propose(tool, history, other, random.Random(0))
    deploy = ToolRef("ds", "deploy", "Deploy the app.", {"type": "object", "properties": {
        "target": {"type": "string"}}, "required": ["target"]})
    with pytest.raises(Ungrounded):
        OfflinePolicy().propose(deploy, history, ws, random.Random(0))


def test_a_new_or_destination_name_is_a_fresh_name_and_an_old_key_a_key_listed():
    """rename(old_key, new_key): old_key is a key scan_keys listed (not a line of text to
    replace), new_key no existing key; copy_sheet's dstSheetName is no sheet that exists."""
    keys = rec(0, "kv", "scan_keys", {}, structured={"keys": ["product:1", "queue:jobs"]})
    rename = ToolRef("kv", "rename", "Renames a key.\n\n    Args:\n        old_key (str): The current name of the key."
                     "\n        new_key (str): The new name to assign to the key.\n",
                     {"type": "object", "properties": {"old_key": {"type": "string"}, "new_key": {"type": "string"}},
                      "required": ["old_key", "new_key"]})
    sheets = rec(0, "x", "describe_sheets", {}, structured={"sheets": [{"name": "Sales", "usedRange": "A1:F7"}]})
    copy = ToolRef("x", "copy_sheet", "Copy existing sheet to a new sheet", {"type": "object", "properties": {
        "srcSheetName": {"type": "string", "description": "Source sheet name"},
        "dstSheetName": {"type": "string", "description": "Sheet name to be copied"}},
        "required": ["srcSheetName", "dstSheetName"]})
    for seed in range(4):
        args = OfflinePolicy().propose(rename, [keys], WorkspaceInfo(), random.Random(seed)).arguments
        assert args["old_key"] in ("product:1", "queue:jobs") and args["new_key"] not in ("product:1", "queue:jobs")
        args = OfflinePolicy().propose(copy, [sheets], WorkspaceInfo(), random.Random(seed)).arguments
        assert args["srcSheetName"] == "Sales" and args["dstSheetName"] not in ("Sales", ""), args


def test_an_id_a_sentence_states_feeds_an_id_parameter():
    saved = rec(0, "docs", "save_doc", {"db": "notes", "doc": {"a": 1}},
                "Saved document with ID: 01a24e01-584b-7300-bd76-d320799ead57 to database: notes")
    assert ("text", "01a24e01-584b-7300-bd76-d320799ead57") in {(v.kind, v.value) for v in extract(saved)}
    tool = ToolRef("docs", "load_doc", "Load a document by ID", {
        "type": "object", "properties": {"id": {"type": "string", "description": "ID of document to load"}},
        "required": ["id"]})
    p = OfflinePolicy().propose(tool, [saved], WS, random.Random(0))
    assert p.arguments == {"id": "01a24e01-584b-7300-bd76-d320799ead57"}
    assert located(saved, p.sources[0].path).startswith("Saved document")
    # an id line is read as its pair; an id without a digit ('ID: none') is no id
    assert "none" not in {v.value for v in extract(rec(0, "docs", "x", {}, "Nothing with ID: none here"))}


def test_a_search_pattern_over_file_contents_is_a_word_the_seed_texts_share():
    """ripgrep's "The search pattern (regex by default)" had been given "pptx" (an extension:
    no match anywhere); a word the texts where it searches hold finds something (else one
    several seed texts hold). A pattern over file names keeps naming files."""
    ws = WorkspaceInfo(files=("/workspace/files/a.md", "/workspace/files/b.md", "/workspace/files/c.csv"),
                       directories=("/workspace/files",),
                       texts={"/workspace/files/a.md": "Harbor roasts beans.", "/workspace/files/b.md": "Harbor ships.",
                              "/workspace/files/c.csv": "id,name\n1,Widget\n"})
    search = ToolRef("rg", "search", "Search files for patterns.", {"type": "object", "properties": {
        "pattern": {"type": "string", "description": "The search pattern (regex by default)"},
        "path": {"type": "string"}}, "required": ["pattern", "path"]})
    for seed in range(6):  # a word the texts where it searches hold
        args = OfflinePolicy().propose(search, [], ws, random.Random(seed)).arguments
        assert any(args["pattern"] in t for p, t in ws.texts.items() if p == args["path"] or p.startswith(args["path"] + "/"))
    # told where to search before what: a word of that file; not told: a word the seed texts share
    one = ToolRef("rg", "search", "Search files for patterns.", {"type": "object", "properties": {
        "path": {"type": "string", "const": "/workspace/files/c.csv"},
        "pattern": {"type": "string", "description": "The search pattern (regex by default)"}},
        "required": ["path", "pattern"]})
    assert OfflinePolicy().propose(one, [], ws, random.Random(0)).arguments["pattern"] == "Widget"
    alone = ToolRef("rg", "search", "Search files for patterns.", {"type": "object", "properties": {
        "pattern": {"type": "string", "description": "The search pattern (regex by default)"}}, "required": ["pattern"]})
    assert OfflinePolicy().propose(alone, [], ws, random.Random(0)).arguments["pattern"] == "Harbor"
    names = ToolRef("fs", "search_files", "Find files matching a pattern.", {"type": "object", "properties": {
        "pattern": {"type": "string", "description": "Glob pattern to match file names"}}, "required": ["pattern"]})
    assert OfflinePolicy().propose(names, [], ws, random.Random(0)).arguments["pattern"] != "Harbor"


def test_a_list_of_numbers_holds_as_many_as_its_description_says():
    def numbers(desc: str) -> list:
        schema = {"type": "object", "required": ["numbers"], "properties": {
            "numbers": {"type": "array", "items": {"type": "number"}, "description": desc}}}
        return OfflinePolicy().propose(ToolRef("m", "op", "An operation.", schema), [], WorkspaceInfo(),
                                       random.Random(0)).arguments["numbers"]

    assert len(numbers("Two numbers in a list, find the remainder of the first divided by the second")) == 2
    assert len(numbers("A number to find the square root of")) == 1
    assert len(numbers("A list of numbers to add")) >= 3


def test_facts_for_a_graph_that_makes_its_nodes_link_things_the_world_showed():
    """A graph server's add_facts (items of from, to and rel, nodes "auto-created if they
    don't exist") on a world with no graph yet: two things a result showed, linked by a
    relation type; with nothing shown, no item is sent empty."""
    import dataclasses

    node = {"type": "string", "description": "Source node"}
    facts = ToolRef("graph-engine", "add_facts", "Add facts (relationships) to the graph. Nodes are auto-created if they"
                    " don't exist.", {"type": "object", "required": ["facts"], "properties": {"facts": {
                        "type": "array", "description": "Relationship facts to add", "items": {
                            "type": "object", "required": ["from", "to", "rel"], "properties": {
                                "from": node, "to": dict(node, description="Target node"),
                                "rel": {"type": "string", "description": "Relationship type"},
                                "from_type": {"type": "string", "description": "Source node type"}}}}}})
    empty = dataclasses.replace(WS, memory_entities={})
    for seed in range(4):
        p = OfflinePolicy().propose(facts, [GIT_LOG], empty, random.Random(seed))
        for fact in p.arguments["facts"]:
            assert fact["from"] != fact["to"] and fact["rel"] in ("related_to", "mentions", "works_with", "depends_on")
            assert {fact["from"], fact["to"]} <= {"Maya Okafor", "Daniel Brandt", "Tomás Herrera"} | {
                f"commit {c[:10]}" for c in COMMITS}
    with pytest.raises(Ungrounded):
        OfflinePolicy().propose(facts, [], empty, random.Random(0))
    # nothing seen yet in this exploration: people another server's survey showed
    from firefly.explore.values import Value

    people = [Value("person", name, "$.content[0].text#line=3", -1, "author") for name in ("Maya Okafor", "Lena Fischer")]
    surveyed = dataclasses.replace(empty, grounded={"git": tuple(people)})
    fact = OfflinePolicy().propose(facts, [], surveyed, random.Random(0)).arguments["facts"][0]
    assert {fact["from"], fact["to"]} == {"Maya Okafor", "Lena Fischer"}


def test_a_value_begins_as_a_failed_call_was_told_it_must():
    """"Formula must start with '='": the formula given next begins with it; a parameter the
    error does not name is left as it is."""
    apply = ToolRef("excel", "apply_formula", "Apply Excel formula to cell.", {  # its real schema
        "type": "object", "required": ["filepath", "sheet_name", "cell", "formula"], "properties": {
            "cell": {"title": "Cell", "type": "string"}, "filepath": {"title": "Filepath", "type": "string"},
            "formula": {"title": "Formula", "type": "string"}, "sheet_name": {"title": "Sheet Name", "type": "string"}}})
    import dataclasses

    ws = dataclasses.replace(WS, files=WS.files + (f"{VIRTUAL_ROOT}/files/sales.xlsx",))
    sent = {"filepath": f"{VIRTUAL_ROOT}/files/sales.xlsx", "sheet_name": "Sales", "cell": "A1",
            "formula": "(25 + 7) / 2"}
    failed = rec(0, "excel", "apply_formula", sent, "Error: Invalid formula syntax: Formula must start with '='",
                 is_error=True)
    for seed in range(3):  # the retry: the cell, the file and the sheet were not blamed and stay
        p = OfflinePolicy().propose(apply, [failed], ws, random.Random(seed), 1)
        assert p.arguments["formula"].startswith("=") and not p.arguments["formula"].startswith("==")
        assert {k: v for k, v in p.arguments.items() if k != "formula"} == {k: v for k, v in sent.items() if k != "formula"}


def test_the_two_ends_of_a_conversion_get_different_values():
    """convert_weight(from_unit, to_unit) had been called kg -> kg (the value given back as
    it was asked): the other end takes another unit; a lone enum keeps all its choices."""
    units = ["g", "kg", "oz", "lb"]
    convert = ToolRef("cook", "convert_weight", "Convert a weight.", {"type": "object", "properties": {
        "from_unit": {"type": "string", "enum": units}, "to_unit": {"type": "string", "enum": units},
        "value": {"type": "number"}}, "required": ["value", "from_unit", "to_unit"]})
    for seed in range(20):
        args = OfflinePolicy().propose(convert, [], WS, random.Random(seed)).arguments
        assert args["from_unit"] != args["to_unit"]
    single = ToolRef("cook", "to_grams", "Weigh.", {"type": "object", "properties": {
        "unit": {"type": "string", "enum": ["g"]}, "to_unit": {"type": "string", "enum": ["g"]}},
        "required": ["unit", "to_unit"]})
    assert OfflinePolicy().propose(single, [], WS, random.Random(0)).arguments == {"unit": "g", "to_unit": "g"}


ADD_TEST_CASE = ToolRef("regex", "add_test_case", "Add a test case for regex pattern validation.", {  # its real schema
    "type": "object", "required": ["input_string", "expected_matches", "groups"], "properties": {
        "description": {"description": "Optional description of what this test case is checking for", "type": "string"},
        "expected_matches": {"description": "Array of substrings that should be matched/extracted by the regex",
                             "items": {"type": "string"}, "type": "array"},
        "groups": {"description": "The groups that should be extracted by the regex. This is an array of numbers",
                   "items": {"type": "number"}, "type": "array"},
        "input_string": {"description": "The input string to test the regex pattern against", "type": "string"}}})


def test_substrings_of_the_input_are_drawn_from_the_input_it_gives():
    """expected_matches ("substrings that should be matched") had been sent empty: they are
    words of the input_string the same call gives."""
    seen = [rec(0, "fs", "read_file", {"path": "/workspace/notes.md"},
                "Attendees: Maya Okafor, Daniel Brandt, Priya Raman")]
    for seed in range(5):
        args = OfflinePolicy().propose(ADD_TEST_CASE, seen, WS, random.Random(seed)).arguments
        assert args["expected_matches"] and all(m in args["input_string"] for m in args["expected_matches"]), args


def test_lists_a_failed_call_was_told_must_match_in_number_are_sent_as_long_as_each_other():
    """"Number of groups (5) does not match number of expected matches (1)": the retry sends
    as many groups as matches; a first call is left as it was."""
    seen = [rec(0, "fs", "read_file", {"path": "/workspace/notes.md"}, "Attendees: Maya Okafor, Daniel Brandt")]
    first = OfflinePolicy().propose(ADD_TEST_CASE, seen, WS, random.Random(1)).arguments
    failed = rec(1, "regex", "add_test_case", first, "Error: Invalid test case. Number of groups "
                 f"({len(first['groups'])}) does not match number of expected matches ({len(first['expected_matches'])}).",
                 is_error=True)
    again = OfflinePolicy().propose(ADD_TEST_CASE, [*seen, failed], WS, random.Random(1), 1).arguments
    assert len(again["groups"]) == len(again["expected_matches"]) >= 1, again


def test_a_parameter_asked_for_after_it_was_sent_at_its_default_gets_another_value():
    """"Provide width, height, or scale" after width=0 and height=0 (the schema's defaults,
    which the tool reads as not given): the retry sends sizes that are not the defaults."""
    resize = ToolRef("img", "image_resize", "", {"type": "object", "required": ["input_path", "output_path"], "properties": {
        "height": {"default": 0, "title": "Height", "type": "integer"},
        "input_path": {"title": "Input Path", "type": "string"}, "output_path": {"title": "Output Path", "type": "string"},
        "scale": {"default": 0.0, "title": "Scale", "type": "number"},
        "width": {"default": 0, "title": "Width", "type": "integer"}}})
    sent = {"input_path": f"{VIRTUAL_ROOT}/files/logo.png", "output_path": f"{VIRTUAL_ROOT}/files/logo-out.png",
            "width": 0, "height": 0, "scale": 0.0}
    failed = rec(0, "img", "image_resize", sent, "Error executing tool image_resize: Provide width, height, or scale.",
                 is_error=True)
    for seed in range(5):
        args = OfflinePolicy().propose(resize, [failed], WS, random.Random(seed), 1).arguments
        assert all(args[k] not in (0, 0.0) for k in ("width", "height", "scale")), args


def test_the_two_ends_of_a_move_get_different_places():
    """move_folder(source_folder, destination_folder) had been sent "vault" twice ("Source and
    destination folders are the same"): the destination is another folder the world holds."""
    move = ToolRef("notes", "move_folder_tool", "Move a folder to another place in the vault.", {
        "type": "object", "required": ["source_folder", "destination_folder"], "properties": {
            "source_folder": {"type": "string"}, "destination_folder": {"type": "string"}}})
    seen = [rec(0, "notes", "list_folders", {}, structured={"folders": ["projects", "archive", "daily"]})]
    for seed in range(8):
        args = OfflinePolicy().propose(move, seen, WS, random.Random(seed)).arguments
        assert args["source_folder"] != args["destination_folder"], args


def test_a_value_that_may_be_text_or_bytes_is_sent_as_text():
    """lpush's value is anyOf [bytes, string, integer, number] (its real schema): it had been
    left ungrounded (bytes, on a tool that pushes, which was not known to add anything); it
    is a short text to store now."""
    lpush = ToolRef("redis", "lpush", "Push a value onto the left of a Redis list and optionally set an expiration time.", {
        "type": "object", "required": ["name", "value"], "properties": {
            "expire": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Expire"},
            "name": {"title": "Name", "type": "string"},
            "value": {"anyOf": [{"format": "binary", "type": "string"}, {"type": "string"}, {"type": "integer"},
                                {"type": "number"}], "title": "Value"}}})
    seen = [rec(0, "redis", "llen", {"name": "queue:jobs"}, "0")]
    args = OfflinePolicy().propose(lpush, seen, WS, random.Random(0)).arguments
    assert isinstance(args["value"], (str, int, float)) and args["name"], args
    from firefly.explore.offline import _branch

    assert "format" not in _branch(lpush.input_schema["properties"]["value"])  # text, not bytes
    assert _branch({"anyOf": [{"type": "string", "format": "binary"}]})["format"] == "binary"  # bytes alone stay


def test_time_zones_that_keep_their_hours_all_year_are_chosen_first():
    """convert_time(source_timezone, target_timezone, time) after the world showed only
    Australia/Sydney: both zones keep their offset all year (a time of day converted into a
    zone with summer time is another answer in another season: no question can ask it)."""
    from firefly.synth.facts import offsets_change

    convert = ToolRef("time", "convert_time", "Convert time between timezones.", {"type": "object", "properties": {
        "source_timezone": {"type": "string", "description": "Source IANA timezone name"},
        "target_timezone": {"type": "string", "description": "Target IANA timezone name"},
        "time": {"type": "string", "description": "Time to convert in 24-hour format (HH:MM)"}},
        "required": ["source_timezone", "time", "target_timezone"]})
    seen = [rec(0, "time", "get_current_time", {"timezone": "Australia/Sydney"},
                structured={"timezone": "Australia/Sydney", "datetime": "2025-03-01T08:15:00+11:00"})]
    for seed in range(8):
        args = OfflinePolicy().propose(convert, seen, WS, random.Random(seed)).arguments
        assert not offsets_change(args) and args["source_timezone"] != args["target_timezone"], args


def test_parameters_a_validation_error_lists_are_sent_when_the_schema_declares_none():
    """A schema exported bare ({"$schema": ...}, zod 4 through an old converter) declares
    nothing; the server's validation error lists what it wants ("expected array" at
    ["paths"]). The retry sends those parameters, of the type the error expected."""
    read = ToolRef("vault", "read_notes", "Read the contents of multiple notes.",
                   {"$schema": "http://json-schema.org/draft-07/schema#"})
    search = ToolRef("vault", "search_notes", "Searches for a note by its name.",
                     {"$schema": "http://json-schema.org/draft-07/schema#"})
    issue = '[\n  {\n    "expected": "%s",\n    "code": "invalid_type",\n    "path": [\n      "%s"\n    ],\n' \
            '    "message": "Invalid input: expected %s, received undefined"\n  }\n]'
    seen = [rec(0, "vault", "list_notes", {}, structured={"notes": ["ideas.md", "todo.md"]})]
    for tool, (kind, name) in ((read, ("array", "paths")), (search, ("string", "query"))):
        failed = rec(1, "vault", tool.name, {}, f"Error: Invalid arguments for {tool.name}: " + issue % (kind, name, kind),
                     is_error=True)
        args = OfflinePolicy().propose(tool, [*seen, failed], WS, random.Random(0), 1).arguments
        assert isinstance(args.get(name), list if kind == "array" else str) and args[name], args
        assert OfflinePolicy().propose(tool, seen, WS, random.Random(0), 0).arguments == {}  # nothing told yet
