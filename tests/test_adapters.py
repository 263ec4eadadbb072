"""Server adapters and the generic adapter on a server firefly was never tuned for."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

from firefly.adapters import ServerRecord, adapter_for, error_reason, registered_adapters
from firefly.adapters.generic import safe_to_survey
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
])
def test_every_shape_of_error_is_an_error(content, structured, is_error):
    assert error_reason(content, structured, is_error)
    record = CallRecord(0, "s", "t", {}, content, structured, is_error)
    assert extract(record) == []  # an error result is never mined for values to feed forward


@pytest.mark.parametrize("content, structured", [
    (T("3 errors were fixed"), None),
    (T("{}"), {"result": "42", "error": None}),
    (T("{}"), {"status": "ok", "success": True, "errors": []}),
    (T("Failed tests: 0"), None),
    (T("a long document\n" + "Error: quoted inside\n" * 3), None),
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
        assert [a.name for a in registered_adapters()][:2] == ["generic", "ledger"]
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


def test_without_the_survey_the_id_cannot_be_grounded(ledger_store):
    store = ledger_store
    _dag(store, 0, [("books", "get_balance")])
    store.catch_up()
    explore(store, OfflinePolicy(), connect_timeout=20)
    (error_class, error), = store.conn.execute("SELECT error_class, error FROM calls WHERE tool = 'get_balance'")
    assert error_class == "skipped" and "/account_id" in error


# --------------------------------------------------------------------------- knowledge in one place

BUNDLED_SERVERS = ("time", "git", "sqlite", "calculator", "filesystem", "memory")
# modules that still hold knowledge of the bundled servers, to move into firefly/adapters/
# (issue 14, item 1); this list only ever shrinks
STILL_TO_MOVE = {"explore/probe.py", "seeds.py", "synth/facts.py", "synth/offline.py", "synth/phrasing.py"}


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
