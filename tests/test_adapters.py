"""Server adapters and the generic adapter on a server firefly was never tuned for."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from firefly.adapters import FAMILIES, ServerRecord, adapter_for, error_reason, registered_adapters
from firefly.adapters.generic import safe_to_survey
from firefly.adapters.producers import missing_thing
from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.offline import OfflinePolicy
from firefly.explore.policy import CallRecord, ToolRef
from firefly.explore.stage import explore
from firefly.explore.survey import grounded_pools, survey
from firefly.explore.values import extract
from firefly.registry import parse_registry, register
from firefly.report import server_rows

from .conftest import SERVERS

T = lambda text: [{"type": "text", "text": text}]  # noqa: E731


# --------------------------------------------------------------------------- errors are errors


@pytest.mark.parametrize("content, structured, is_error", [
    (T("boom"), None, True),
    (T("Error: no such file"), None, False),
    (T("Database error: no such table: x"), None, False),
    (T('{"result": "Error: No data provided to write"}'), {"result": "Error: No data provided to write"}, False),
    (T("{}"), {"error": "file not found"}, False),
    (T("{}"), {"error": {"code": 3, "message": "denied"}}, False),
    (T("{}"), {"status": "error", "message": "quota"}, False),
    (T("{}"), {"success": False, "data": None}, False),
    (T('{"error": "not allowed"}'), None, False),
    (T("Column 'TEXT' not found in table products. Available columns: id, name"), None, False),
    (T("Field 'vector' not found in hash 'product:1'."), None, False),
    (T("Entity with name Tomás Herrera not found"), None, False),
    (T('{"/w/a.md": {"result": "error", "reason": "Hash mismatch - file has been modified"}}'), None, False),
    (T("{}"), {"result": "failed", "reason": "locked"}, False),
    (T("tasksRaw 參數格式錯誤，請確保格式正確，錯誤訊息：Unexpected token ',', \", lineStar\"... is not valid JSON"), None,
     False),
    (T("Parameter format is off: Unexpected token } in JSON at position 4"), None, False),
    (T('tasks: [\n  {\n    "code": "invalid_enum_value",\n    "options": ["A", "B"],\n    "path": [0, "type"]\n  }\n]'),
     None, False),  # a validator's issues (zod), however long the text
    (T("Execution of '/w/a.py':\n\n--- Error (status code: 1) ---\n  File \"/w/a.py\", line 3\n"
       "SyntaxError: invalid decimal literal\n"), None, False),
    (T("Either keys array or keyPattern must be provided"), None, False),  # a call that lacked an argument
    (T("Missing required argument: path"), None, False),
    (T("Keys must be a non-empty array"), None, False),
])
def test_every_shape_of_error_is_an_error(content, structured, is_error):
    assert error_reason(content, structured, is_error)
    record = CallRecord(0, "s", "t", {}, content, structured, is_error)
    assert extract(record) == []  # an error result is never mined for values to feed forward


@pytest.mark.parametrize("content, structured", [
    (T("3 errors were fixed"), None),
    (T("{}"), {"result": "42", "error": None}),
    (T("{}"), {"status": "ok", "success": True, "errors": []}),
    (T('{"/w/a.md": {"result": "ok"}, "/w/b.md": {"result": "error", "reason": "Hash mismatch"}}'), None),
    (T('{"alpha": {"count": 3}, "beta": {"count": 0}}'), None),
    (T("Failed tests: 0"), None),
    (T("No matches found"), None),
    (T("No arguments needed: the server is ready."), None),
    (T("Cache cleared. The next build must not be empty-handed: it reads the sources again."), None),
    (T("3 keys not found in the cache, 10 served"), None),
    (T("a long document\n" + "Error: quoted inside\n" * 3), None),
    (T("Execution of '/w/a.py':\n\n--- Output ---\nError rate: 3%\n"), None),
    (T("## 系統通知\n\n目前系統中沒有任何任務。"), None),  # "no tasks in the system": a notice, not an error
    (T("# 報告\n" + "失敗率 3%\n" * 200), None),  # a long document that speaks of failure rates
])
def test_results_that_are_not_errors(content, structured):
    assert error_reason(content, structured) is None


# --------------------------------------------------------------------------- registration


def test_generic_adapter_is_the_fallback_and_safe_survey_tools():
    assert adapter_for(ServerRecord("anything")).name == "generic"
    tool = lambda name, schema=None, **ann: ToolRef("s", name, None, schema or {"type": "object"}, ann)  # noqa: E731
    assert safe_to_survey(tool("list_accounts")) and safe_to_survey(tool("anything", readOnlyHint=True))
    assert not safe_to_survey(tool("delete_all")) and not safe_to_survey(tool("list_x", destructiveHint=True))
    assert not safe_to_survey(tool("get_x", {"type": "object", "required": ["id"]}))
    assert not safe_to_survey(tool("get_x", readOnlyHint=False)) and not safe_to_survey(tool("frobnicate"))


def test_a_third_party_adapter_comes_in_through_an_entry_point(tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    (pkg / "ledger_adapter").mkdir(parents=True)
    (pkg / "ledger_adapter" / "__init__.py").write_text(textwrap.dedent("""
        from firefly.adapters.generic import GenericAdapter

        class LedgerAdapter(GenericAdapter):
            name = "ledger"

            def matches(self, server):
                return 1.0 if server.server_name == "ledger" else 0.0
    """))
    dist = pkg / "ledger_adapter-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ledger-adapter\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[firefly.adapters]\nledger = ledger_adapter:LedgerAdapter\n")
    monkeypatch.syspath_prepend(str(pkg))
    registered_adapters.cache_clear()
    try:
        assert [a.name for a in registered_adapters()] == ["generic", *FAMILIES, "ledger"]  # built-in ones first
        assert adapter_for(ServerRecord("books", server_name="ledger")).name == "ledger"
        assert adapter_for(ServerRecord("other", server_name="notes")).name == "generic"
    finally:
        registered_adapters.cache_clear()


# --------------------------------------------------------------------------- its world first


@pytest.fixture
def ledger_store(store):
    register(store, parse_registry(json.dumps({"mcpServers": {
        "books": {"command": sys.executable, "args": [str(SERVERS / "ledger.py")]},
        "oracle": {"command": sys.executable, "args": [str(SERVERS / "ledger.py"), "one"]},
    }})), source="t")
    discover(store, connect_timeout=20)
    return store


def _dag(store, i, tools):
    store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                            edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))


def test_survey_explore_and_status_on_a_server_never_seen(ledger_store):
    store = ledger_store
    report = survey(store, connect_timeout=20)
    assert report.surveyed == 2 and report.adapters == {"books": "generic", "oracle": "generic"}
    done = {r.event.server: r.event for r in store.read(types=["server-surveyed"])}
    assert done["books"].tools == ["list_accounts"]  # never delete_account, never the destructive close_books
    assert done["books"].resources[0]["uri"] == "ledger://guide" and "Lena Park" in done["books"].resources[0]["text"]
    assert done["books"].prompts == [{"name": "summarize_account", "description": "Summarize one account.",
                                      "arguments": ["account_id"]}]
    assert done["oracle"].tools == ["get_fortune"]
    pool = grounded_pools(store)["books"]
    ids = [v for v in pool if v.key == "id"]
    assert {v.value for v in ids} == {"acct-7f3", "acct-9b2"}
    assert all(v.context["event"].startswith("tool-called:survey-") for v in ids)
    assert any(v.value == "2024-04-01" and v.path.startswith("$.resources[0].text") for v in pool)
    assert survey(store, connect_timeout=20).surveyed == 0  # resumable: surveyed once

    for i, tools in enumerate([[("books", "get_balance")], [("books", "export_report")],
                               [("books", "describe_code")], [("oracle", "get_fortune")]]):
        _dag(store, i, tools)
    store.catch_up()
    explore(store, OfflinePolicy(), concurrency=2, connect_timeout=20)
    calls = {r[0]: r[1:] for r in store.conn.execute(
        "SELECT tool, arguments, sources, ok, error_class, error FROM calls WHERE exploration_id NOT LIKE 'survey-%'"
        " AND attempt = 0")}
    # the id a listing returned in the survey grounds the id another tool requires, with its source
    args, sources, ok, _, _ = calls["get_balance"]
    assert ok == 1 and json.loads(args)["account_id"] in ("acct-7f3", "acct-9b2")
    (src,) = json.loads(sources)
    assert src["argument"] == "/account_id" and src["step"] == -1 and src["event"].startswith("tool-called:survey-")
    # an error inside structuredContent is an error, and never fed forward
    assert calls["export_report"][2:4] == (0, "in-band-error")
    assert "Error: No data provided to write" in calls["export_report"][4]
    # a required parameter nothing grounds: skipped with the reason, no placeholder sent
    assert calls["describe_code"][3] == "skipped" and "/ledger_code" in calls["describe_code"][4]
    assert calls["get_fortune"][2] == 1  # the one tool of a one-tool server is explored
    assert not store.conn.execute("SELECT count(*) FROM calls WHERE arguments LIKE '%example%'").fetchone()[0]
    started = [r.event for r in store.read(types=["exploration-started"])]
    assert all(e.adapters == {e.tools[0].split("/")[0]: "generic"} for e in started)
    rows = dict(server_rows(store))
    assert re.search(r"6 tools, \d explored", rows["  books"]) and "skipped describe_code" in "".join(rows)
    assert "ungrounded" in rows["    skipped describe_code"]


def test_without_the_survey_the_exploration_lists_the_ids_itself(ledger_store):
    """No survey: ``get_balance``'s account id is ungrounded at first (skipped, saying so); the
    explorer then calls the server's ``list_accounts`` and uses an id it returned."""
    store = ledger_store
    _dag(store, 0, [("books", "get_balance")])
    store.catch_up()
    explore(store, OfflinePolicy(), connect_timeout=20)
    rows = store.conn.execute("SELECT tool, error_class, error, arguments FROM calls ORDER BY step, attempt").fetchall()
    assert rows[0][:2] == ("get_balance", "skipped") and "/account_id" in rows[0][2]
    assert [r[:2] for r in rows[1:]] == [("list_accounts", None), ("get_balance", None)]
    assert json.loads(rows[2][3])["account_id"] in ("acct-7f3", "acct-9b2")


# --------------------------------------------------------------------------- knowledge in one place

BUNDLED_SERVERS = ("time", "git", "sqlite", "calculator", "filesystem", "memory")
# modules outside firefly/adapters/ allowed to name a bundled server or tool: none (the docs
# and the tests, outside firefly/, may); every family's knowledge is in its adapter
STILL_TO_MOVE: set[str] = set()


def _bundled_names() -> set[str]:
    tools = json.loads((Path(__file__).parent / "graph_bundled_tools.json").read_text())["servers"]
    names = {t["name"] for items in tools.values() for t in items if re.search(r"[_-]", t["name"])}  # not bare verbs
    return names | {f"mcp-server-{s}" for s in BUNDLED_SERVERS} | {"server-filesystem", "server-memory"}


def test_no_module_outside_the_adapters_names_a_bundled_server_or_tool():
    root = Path(__file__).parent.parent / "firefly"
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _bundled_names()), key=len, reverse=True)) + r")\b")
    offenders = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("adapters/") or rel in STILL_TO_MOVE:
            continue
        found = sorted(set(pattern.findall(path.read_text())))
        if found:
            offenders[rel] = found
    assert offenders == {}, "move this knowledge into an adapter (firefly/adapters/): " + json.dumps(offenders)
    assert not any(p.startswith("adapters/") for p in STILL_TO_MOVE)


# --------------------------------------------------------------------------- the family adapters


def _bundled_tools() -> dict[str, list[ToolRef]]:
    servers = json.loads((Path(__file__).parent / "graph_bundled_tools.json").read_text())["servers"]
    return {server: [ToolRef(server, t["name"], t.get("description"), t.get("inputSchema") or {},
                             t.get("annotations") or {}, t.get("outputSchema")) for t in tools]
            for server, tools in servers.items()}


SERVER_INFO = {"time": "mcp-time", "git": "mcp-git", "sqlite": "sqlite-manager", "calculator": "calculator",
               "filesystem": "secure-filesystem-server", "memory": "memory-server"}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_chosen_from_what_discovery_recorded_never_from_the_registry_key(family):
    tools = _bundled_tools()[family]
    # by its tool list alone, under a key the user chose
    assert adapter_for(ServerRecord("my-server", tools=tuple(tools))).name == family
    # by its serverInfo name alone
    assert adapter_for(ServerRecord("my-server", server_name=SERVER_INFO[family])).name == family
    # the registry key says nothing
    assert adapter_for(ServerRecord(family)).name == "generic"
    toy = (ToolRef(family, "list_notes", None, {"type": "object"}), ToolRef(family, "read_note", None, {"type": "object"}))
    assert adapter_for(ServerRecord(family, server_name="toy-notes", tools=toy)).name == "generic"


def test_a_tool_of_a_family_name_on_another_server_is_not_read_as_the_family_reads_it():
    # one tool named like a family's, among others: the generic adapter, which reads JSON
    tools = (ToolRef("db", "read_query", None, {"type": "object", "required": ["sql"]}),
             ToolRef("db", "list_schemas", None, {"type": "object"}))
    adapter = adapter_for(ServerRecord("db", server_name="duck", tools=tools))
    assert adapter.name == "generic"
    rows = T("[{'sku': 'A', 'stock': 3}]")
    (table,) = adapter.read_facts(0, "read_query", {"sql": "SELECT 1"}, rows, None).tables
    assert table.noun == "item"  # any JSON list of objects, not the sqlite family's rows
    sqlite = adapter_for(ServerRecord("db", tools=tuple(_bundled_tools()["sqlite"])))
    (table,) = sqlite.read_facts(0, "read_query", {"query": "SELECT 1"}, rows, None).tables
    assert table.noun == "row" and table.items[0].get("stock") == 3


def test_a_result_the_family_reader_finds_nothing_in_is_read_by_the_generic_one():
    # a server the sqlite family serves, answering describe_table in another format
    sqlite = adapter_for(ServerRecord("db", tools=tuple(_bundled_tools()["sqlite"])))
    text = T("Table: products\n\nColumns:\n- id (PK): INTEGER\n- name: TEXT\n- price: REAL")
    tables = sqlite.read_facts(0, "describe_table", {"table_name": "products"}, text, None).tables
    assert "TEXT" in {c.value for t in tables for it in t.items for c in it.cells.values()}
    # the family's own format is still read its way
    rows = T("[{'cid': 0, 'name': 'id', 'type': 'INTEGER', 'notnull': 0, 'dflt_value': None, 'pk': 1}]")
    (table,) = sqlite.read_facts(0, "describe_table", {"table_name": "products"}, rows, None).tables
    assert table.noun == "column" and table.labels["type"] == "declared type"


def _recorded_calls() -> list[tuple[CallRecord, bool]]:
    """Calls as the bundled servers answered them (the shapes firefly meets in a real run),
    and whether each was read-only."""
    from .synth_fixtures import GRAPH, HASHES, LOG, NEW, SHOW

    repo = {"repo_path": "/workspace/repo"}
    calls = [
        ("git", "git_log", {**repo, "max_count": 5}, T(LOG), None, True),
        ("git", "git_show", {**repo, "revision": HASHES[1]}, T(SHOW), None, True),
        ("git", "git_branch", {**repo, "branch_type": "local"}, T("  feature/spring\n* main"), None, True),
        ("git", "git_status", repo, T("Repository status:\nOn branch main\nnothing to commit"), None, True),
        ("git", "git_create_branch", {**repo, "branch_name": "feature/spring"},
         T("Created branch 'feature/spring' from 'main'"), None, False),
        ("git", "git_commit", {**repo, "message": "Tidy notes"}, T("Changes committed successfully with hash 1a2b3c"),
         None, False),
        ("git", "git_checkout", {**repo, "branch_name": "main"}, T("Switched to branch 'main'"), None, False),
        ("memory", "read_graph", {}, T(json.dumps(GRAPH)), GRAPH, True),
        ("memory", "create_entities", {"entities": [NEW]}, T(json.dumps([NEW])), {"entities": [NEW]}, False),
        ("sqlite", "list_tables", {}, T("[{'name': 'customers'}, {'name': 'products'}]"), None, True),
        ("sqlite", "describe_table", {"table_name": "products"},
         T("[{'cid': 0, 'name': 'id', 'type': 'INTEGER', 'notnull': 0, 'dflt_value': None, 'pk': 1}]"), None, True),
        ("sqlite", "read_query", {"query": "SELECT sku, stock FROM products"},
         T("[{'sku': 'HCS-101', 'stock': 142}, {'sku': 'HCS-102', 'stock': 58}]"), None, True),
        ("sqlite", "write_query", {"query": "INSERT INTO products (sku, stock) VALUES ('HCS-900', 4)"},
         T("[{'affected_rows': 1}]"), None, False),
        ("sqlite", "read_query", {"query": "SELECT * FROM nowhere"}, T("Database error: no such table: nowhere"),
         None, True),
        ("filesystem", "list_directory", {"path": "/workspace/files"}, T("[DIR] config\n[FILE] README.md"), None, True),
        ("filesystem", "read_text_file", {"path": "/workspace/files/data/stock.csv"},
         T("sku,name,stock\nHCS-101,House blend,142\nHCS-102,Decaf,58"), None, True),
        ("filesystem", "get_file_info", {"path": "/workspace/files/README.md"},
         T("size: 120\ncreated: Thu Jan 01 2026 12:00:00 GMT+0000\npermissions: 644"), None, True),
        ("filesystem", "write_file", {"path": "/workspace/files/notes/new.md", "content": "Owner: Ada Park\n"},
         T("Successfully wrote to /workspace/files/notes/new.md"), None, False),
        ("filesystem", "read_text_file", {"path": "/workspace/files/nope.md"},
         T("Error: ENOENT: no such file or directory"), None, True),
        ("time", "get_current_time", {"timezone": "UTC"}, T('{"timezone": "UTC", "datetime": "2026-01-01T12:00:00+00:00"}'),
         {"timezone": "UTC", "datetime": "2026-01-01T12:00:00+00:00", "is_dst": False}, True),
        ("time", "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
         T('{"source": {"timezone": "UTC"}, "target": {"timezone": "Asia/Tokyo", "datetime": "2026-01-01T21:00:00+09:00"}}'),
         None, True),
        ("calculator", "calculate", {"expression": "2 + 3"}, T('{"result": "5"}'), {"result": "5"}, True),
    ]
    return [(CallRecord(i, server, tool, args, content, structured, False), read_only)
            for i, (server, tool, args, content, structured, read_only) in enumerate(calls)]


@pytest.mark.parametrize("name", ["generic", *FAMILIES])
def test_contract_every_adapter_over_the_same_recorded_calls(name):
    from firefly.explore.probe import Probe
    from firefly.explore.values import resolve_locator
    from firefly.synth.facts import Reading

    adapter = next(a for a in registered_adapters() if a.name == name)
    tools = _bundled_tools()
    for server, refs in tools.items():
        score = adapter.matches(ServerRecord(server, SERVER_INFO[server], tools=tuple(refs)))
        assert isinstance(score, float) and score >= 0 and (score > 0) == (server == name)
    for record, read_only in _recorded_calls():
        # errors are judged the one way, whatever the adapter
        why = adapter.is_error(record.content, record.structured, record.is_error)
        assert (why is None) == (error_reason(record.content, record.structured, record.is_error) is None)
        failed = why is not None
        # values, each with a locator that resolves to it
        values = adapter.harvest(record)
        assert not (failed and values)
        for v in values:
            assert resolve_locator(record, v.path) is not None, (name, record.tool, v)
        # facts, each cell with a locator that resolves
        reading = adapter.read_facts(record.step, record.tool, record.arguments, record.content, record.structured)
        assert isinstance(reading, Reading)
        for table in reading.tables:
            assert table.noun and table.plural
            for item in table.items:
                for cell in item.cells.values():
                    found = resolve_locator(record, cell.path)
                    assert found is not None, (name, record.tool, cell)
                    if "#line=" not in cell.path and not isinstance(found, (dict, list)):
                        assert found == cell.value, (name, record.tool, cell)
        # words: a string or nothing, never an exception
        for words in (adapter.scope(record.tool, record.server, record.arguments, {}),
                      adapter.effect(record.tool, record.server, record.arguments)):
            assert words is None or (isinstance(words, str) and words)
        marks = adapter.effect_marks(record.tool, record.arguments, ["x"])
        assert isinstance(marks, list) and all(isinstance(m, str) for m in marks)
        # a probe is a read-only tool of the same server, with arguments its schema accepts
        if not read_only and not failed:
            readers = [t for t in tools[record.server] if t.annotations.get("readOnlyHint") is True
                       or t.name in {r.tool for r, ro in _recorded_calls() if ro and r.server == record.server}]
            tool = next(t for t in tools[record.server] if t.name == record.tool)
            probe = adapter.probe(record, tool, readers)
            assert probe is None or (isinstance(probe, Probe) and probe.tool in readers
                                     and probe.tool.server == record.server and probe.tool.name != record.tool)
            if name == record.server:  # its own family's effects: each one observed
                assert probe is not None, (name, record.tool)


def test_family_hooks_say_what_the_generic_adapter_cannot():
    git = next(a for a in registered_adapters() if a.name == "git")
    generic = adapter_for(ServerRecord("x"))
    log = next(r for r, _ in _recorded_calls() if r.tool == "git_log")
    commits = git.read_facts(0, "git_log", log.arguments, log.content, None).tables[0]
    assert (commits.noun, len(commits.items), commits.order) == ("commit", 3, "newest first")
    # the generic reader sees records of labelled lines, but not what they are nor their order
    plain = generic.read_facts(0, "git_log", log.arguments, log.content, None).tables
    assert [(t.noun, len(t.items), t.order) for t in plain] == [("git log", 3, None)]
    assert git.scope("git_log", "vcs", log.arguments, {}) == "the last 5 commits of the git repository at /workspace/repo"
    # a log of a commit a line (hash, author, date, message): the same commits, without their dates
    one_line = [{"type": "text", "text": "5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb Daniel Brandt Wed Mar 5 10:00:00 2025"
                 " -0500 Release 0.2.0\nae9c6a1 Maya Okafor Thu Feb 27 17:20:00 2025 -0500 Move notes into README\n"}]
    short = git.read_facts(0, "git_log", {"max_count": 5}, one_line, None).tables[0]
    assert (short.noun, short.order, short.complete) == ("commit", "newest first", True)
    assert [{f: c.value for f, c in it.cells.items()} for it in short.items] == [
        {"hash": "5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb", "author": "Daniel Brandt", "message": "Release 0.2.0"},
        {"hash": "ae9c6a1", "author": "Maya Okafor", "message": "Move notes into README"}]
    assert generic.scope("git_log", "vcs", log.arguments, {}) == 'the git log for repository path "/workspace/repo" and max count 5'
    # a commit described through the log it came from names its repository once
    hop = 'the commit whose message is "Release 0.2.0" in ' + git.scope("git_log", "vcs", log.arguments, {})
    show = {"repo_path": "/workspace/repo", "revision": "x"}
    assert git.scope("git_show", "vcs", show, {"revision": hop}) == hop
    assert git.scope("git_show", "vcs", show, {"revision": "the first commit listed"}) == (
        "the first commit listed (the git repository at /workspace/repo)")
    assert git.effect_marks("git_checkout", {"branch_name": "main"}, ["main"]) == ["* main", "On branch main"]
    time = next(a for a in registered_adapters() if a.name == "time")
    now = {"timezone": "UTC", "datetime": "2026-01-01T12:00:00+00:00"}
    assert time.read_facts(0, "get_current_time", {}, T("{}"), now).tables == []  # the clock is no fact


def explore_batches(store, tool: str) -> None:
    """Explore a one-tool DAG of ledger.py's ``batches`` server (no survey)."""
    register(store, parse_registry(json.dumps({"mcpServers": {
        "batches": {"command": sys.executable, "args": [str(SERVERS / "ledger.py"), "batches"]}}})), source="t")
    discover(store, connect_timeout=20)
    _dag(store, 0, [("batches", tool)])
    store.catch_up()
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=20)


def test_a_tool_needing_an_id_nothing_showed_gets_a_producer_called_first(store):
    """``post_entry`` needs a ``batch_id`` that no listing shows: the explorer calls the server's
    ``open_batch`` first and posts to the batch it made (the id's source is that call)."""
    explore_batches(store, "post_entry")
    rows = store.conn.execute("SELECT step, tool, ok, error_class, arguments, sources FROM calls"
                              " WHERE exploration_id NOT LIKE 'survey-%' ORDER BY step, attempt").fetchall()
    assert [(r[0], r[1], r[3]) for r in rows] == [(0, "post_entry", "skipped"), (1, "open_batch", None),
                                                  (2, "post_entry", None)]
    assert json.loads(rows[2][4])["batch_id"] == "batch-001"
    assert any(s["argument"] == "/batch_id" and s["step"] == 1 for s in json.loads(rows[2][5]))
    # a resumed walk decides the same way: nothing more is called
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=20)
    assert store.conn.execute("SELECT count(*) FROM calls WHERE exploration_id NOT LIKE 'survey-%'").fetchone()[0] == 3


def test_an_error_saying_something_must_exist_first_gets_it_made_first(store):
    """``batch_summary`` answers "No batch is currently open": the explorer opens one with the
    server's ``open_batch`` and calls it again (no retry first: no arguments cure that)."""
    explore_batches(store, "batch_summary")
    rows = store.conn.execute("SELECT step, tool, ok, error_class FROM calls"
                              " WHERE exploration_id NOT LIKE 'survey-%' ORDER BY step, attempt").fetchall()
    assert rows == [(0, "batch_summary", 0, "in-band-error"), (1, "open_batch", 1, None), (2, "batch_summary", 1, None)]


# --------------------------------------------------------------------------- futile calls


def test_a_tool_that_fails_whatever_the_arguments_is_not_called_again(store):
    """``render_chart`` lacks a package: one call, then its steps in later explorations are
    skipped with the reason; ``sum_column`` fails the same way with two different sets of
    arguments: not called again either. ``find_entry``'s error names the entry asked for: it
    is called again with other arguments, but not after two different sets of arguments have
    failed (a tool that works at all works by its second call)."""
    register(store, parse_registry(json.dumps({"mcpServers": {
        "broken": {"command": sys.executable, "args": [str(SERVERS / "ledger.py"), "broken"]}}})), source="t")
    discover(store, connect_timeout=20)
    for i in range(6):
        for j, tool in enumerate(("render_chart", "sum_column", "find_entry")):
            _dag(store, 3 * i + j, [("broken", tool)])
    store.catch_up()
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=20)
    made = dict(store.conn.execute("SELECT tool, count(*) FROM calls WHERE coalesce(error_class, '') != 'skipped'"
                                   " GROUP BY tool").fetchall())
    skipped = {t: e for t, e in store.conn.execute("SELECT tool, error FROM calls WHERE error_class = 'skipped'")}
    assert made["render_chart"] == 1 and "pip install" in skipped["render_chart"]
    assert "not called again" in skipped["render_chart"]
    assert made["sum_column"] == 2 and "failed the same way with 2 different sets" in skipped["sum_column"]
    assert 2 <= made["find_entry"] < 4 and "failed with 2 different sets" in skipped["find_entry"]
    # a resumed run decides as the first did: nothing more is called
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=20)
    assert store.conn.execute("SELECT count(*) FROM calls WHERE coalesce(error_class, '') != 'skipped'"
                              ).fetchone()[0] == sum(made.values())


def test_an_error_saying_a_thing_was_not_found_gets_one_made_first(store):
    """``batch_total`` answers "Batch not found": the explorer opens a batch and calls it again."""
    explore_batches(store, "batch_total")
    rows = store.conn.execute("SELECT step, tool, ok FROM calls WHERE exploration_id NOT LIKE 'survey-%'"
                              " AND attempt = 0 ORDER BY step").fetchall()
    assert rows == [(0, "batch_total", 0), (1, "open_batch", 1), (2, "batch_total", 1)]


def test_what_an_error_says_must_be_made_first():
    assert missing_thing("error: Epic not found: story-0ff6ad68", None) == "epic"
    assert missing_thing("Entity with name Tomás Herrera not found", None) == "entity"
    assert missing_thing("Subscription '83f' was not found", None) == "subscription"
    assert missing_thing("No presentation is currently loaded", None) == "presentation"
    # an index into an empty collection: a slide must be made first
    assert missing_thing("Invalid slide index: 10. Available slides: 0--1", None) == "slide"
    assert missing_thing("Slide index 2 out of range", None) == "slide"
    assert missing_thing("Invalid slide index: 3. Available slides: 0-2", None) == ""
    assert missing_thing("Shape at index 0 is not a table", None) == "table"
    # left alone: what no tool makes
    assert missing_thing("Error: command not found", None) == ""
    assert missing_thing("ModuleNotFoundError: Module not found", None) == ""
    assert missing_thing("invalid value for width", None) == ""


def test_a_failure_saying_something_must_exist_first_is_retried_only_when_it_names_an_argument():
    from firefly.events import ToolCalled
    from firefly.explore.stage import must_make_first

    def failed(text: str, arguments: dict) -> ToolCalled:
        return ToolCalled(exploration_id="x", step=0, server="s", tool="t", arguments=arguments, is_error=True,
                          content=[{"type": "text", "text": text}])
    assert must_make_first(failed("No presentation is currently loaded", {"slide_index": 0}))
    assert not must_make_first(failed("Session not found: 4887086b", {"sessionId": "4887086b"}))
    assert not must_make_first(failed("Invalid value for width", {"width": 3}))


def test_a_selector_that_matched_nothing_gets_a_page_opened_first():
    """"'p' does not match any elements": a browser's page is blank; the server's tool that
    goes to a URL opens one (not a tab lister, nor a tool that needs no URL)."""
    from firefly.adapters.producers import find_producers

    assert missing_thing('### Error\nError: "p" does not match any elements.', None) == "page"
    assert missing_thing("No element found for selector: #submit", None) == "page"
    obj = {"type": "object"}
    nav = ToolRef("b", "browser_navigate", "Navigate to a URL", obj | {
        "properties": {"url": {"type": "string"}}, "required": ["url"]})
    tabs = ToolRef("b", "browser_tabs", "List, create, close, or select a browser tab.", obj | {
        "properties": {"action": {"type": "string"}}, "required": ["action"]})
    shot = ToolRef("b", "browser_screenshot", "Screenshot of the page", obj)
    click = ToolRef("b", "browser_click", "Perform click on a web page", obj | {
        "properties": {"target": {"type": "string"}}, "required": ["target"]})
    assert find_producers(click, "page", [tabs, shot, nav, click])[0] == nav  # the likeliest first
    # a browser marks going to a URL destructive (it leaves the page before): it still opens one,
    # and a tool that only reads the current page (find, snapshot) is never taken for one that opens it
    leaving = ToolRef("b", "browser_navigate", "Navigate to a URL", nav.input_schema, {"destructiveHint": True})
    find = ToolRef("b", "browser_find", "Search the current page for text", obj | {
        "properties": {"text": {"type": "string"}}})
    assert find_producers(click, "page", [find, shot, leaving, click]) == [leaving]


def test_a_selector_on_a_page_never_opened_is_not_retried_with_another_selector():
    """'"p" does not match any elements' names the selector given, yet while no page was
    opened in the walk any selector matches nothing: a page is opened first, not retried."""
    from firefly.events import ToolCalled
    from firefly.explore.policy import CallRecord
    from firefly.explore.stage import must_make_first

    nav = ToolRef("b", "browser_navigate", "Navigate to a URL", {"type": "object", "properties": {
        "url": {"type": "string"}}, "required": ["url"]})

    class _Walk:
        refs = {("b", "browser_navigate"): nav}
        history: list = []

    failed = ToolCalled(exploration_id="x", step=0, server="b", tool="browser_click", arguments={"target": "p"},
                        is_error=True, content=[{"type": "text", "text": 'Error: "p" does not match any elements.'}])
    walk = _Walk()
    assert must_make_first(failed, walk)
    walk.history = [CallRecord(0, "b", "browser_navigate", {"url": "http://127.0.0.1:1/"}, [], None, False)]
    assert not must_make_first(failed, walk)  # a page is open: another selector may match


def test_the_files_one_call_reads_are_named_in_the_number_they_are():
    from firefly.adapters.filesystem import ADAPTER

    one = ADAPTER.family_scope("read_multiple_files", {"paths": ["/workspace/files/config/app.json"]}, {})
    two = ADAPTER.family_scope("read_multiple_files", {"paths": ["/workspace/files/a.md", "/workspace/files/b.md"]}, {})
    assert one == 'the file "config/app.json"' and two == 'the files "a.md" and "b.md"'
