"""Discovery against in-process servers and real stdio processes, including every bad input."""

from __future__ import annotations

import json
import sys

import pytest
from mcp.server.mcpserver import MCPServer

from firefly.discovery import check_schema, discover
from firefly.registry import parse_registry, register

from .conftest import SERVERS, file_bytes, projection_dumps
from .servers import toy


def registry(**entries) -> list:
    return parse_registry(json.dumps({"mcpServers": entries}))


def py(*args: str, **extra) -> dict:
    return {"command": sys.executable, "args": [str(a) for a in args], **extra}


def events(store, type_: str) -> list:
    return [r.event for r in store.read(types=[type_])]


def test_in_process_servers(store):
    calc = MCPServer("calc")

    @calc.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    register(store, registry(notes=py("unused"), calc=py("unused")), source="test")
    report = discover(store, targets={"notes": toy.build(), "calc": calc})
    assert sorted(report.connected) == ["calc", "notes"] and not report.failed
    rows = dict(store.conn.execute("SELECT name, tools FROM servers"))
    assert rows == {"calc": 1, "notes": 4}
    server = store.conn.execute(
        "SELECT status, server_name, server_version, instructions, protocol_version FROM servers WHERE name = 'notes'"
    ).fetchone()
    assert server[:4] == ("connected", "toy-notes", "1.0.0", "Notes for tests.") and server[4]
    tool = store.conn.execute(
        "SELECT description, input_schema, output_schema, annotations, schema_valid, callable FROM tools"
        " WHERE server = 'notes' AND name = 'read_note'"
    ).fetchone()
    assert tool[0] == "Read one note by its title."
    assert json.loads(tool[1])["required"] == ["title"]
    assert json.loads(tool[2]) == {"type": "object", "properties": {"text": {"type": "string"}}}
    assert tool[4:] == (1, 1)
    assert json.loads(store.conn.execute(
        "SELECT annotations FROM tools WHERE name = 'list_notes'").fetchone()[0]) == {"readOnlyHint": True}
    add_schema = json.loads(store.conn.execute("SELECT input_schema FROM tools WHERE name = 'add'").fetchone()[0])
    assert set(add_schema["properties"]) == {"a", "b"}


def test_invalid_schema_is_kept_and_flagged(store):
    register(store, registry(notes=py("unused")), source="test")
    discover(store, targets={"notes": toy.build()})
    valid, errors, schema = store.conn.execute(
        "SELECT schema_valid, schema_errors, input_schema FROM tools WHERE name = 'broken_schema'").fetchone()
    assert valid == 0 and "banana" in errors or "required" in errors
    assert json.loads(schema)["properties"]["x"]["type"] == "banana"
    assert check_schema({"type": "object", "properties": {"q": {"type": "string"}}}) == []
    assert check_schema([1]) == ["inputSchema is not a JSON object"]
    assert check_schema({"type": "string"})  # tools take objects


def test_rediscovery_records_only_changes(store):
    register(store, registry(notes=py("unused")), source="test")
    discover(store, targets={"notes": toy.build("v1")})
    before = store.count("tool-discovered")
    assert before == 4
    report = discover(store, targets={"notes": toy.build("v1")})
    assert store.count("tool-discovered") == before and report.tools_added == report.tools_changed == 0
    report = discover(store, targets={"notes": toy.build("v2")})
    assert (report.tools_changed, report.tools_removed) == (1, 1)
    changed = events(store, "tool-discovered")[-1]
    assert changed.name == "read_note" and changed.previous_hash and changed.version == 1
    assert [e.name for e in events(store, "tool-removed")] == ["delete_note"]
    assert store.conn.execute("SELECT removed FROM tools WHERE name = 'delete_note'").fetchone() == (1,)
    assert store.conn.execute("SELECT tools FROM servers").fetchone() == (3,)
    # drift back: the old schema is recorded again, as a new version
    discover(store, targets={"notes": toy.build("v1")})
    history = store.conn.execute(
        "SELECT change FROM tool_versions WHERE name = 'read_note' ORDER BY position").fetchall()
    assert [h[0] for h in history] == ["added", "changed", "changed"]
    assert store.conn.execute("SELECT removed FROM tools WHERE name = 'delete_note'").fetchone() == (0,)
    incremental = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == incremental


def test_real_stdio_server_and_every_bad_input_in_one_run(store, monkeypatch):
    monkeypatch.setenv("TOY_SECRET_VALUE", "s3cr3t-token-value-42")
    entries = {
        "good": py(SERVERS / "toy.py"),
        "missing-command": {"command": "firefly-no-such-command-xyz", "args": []},
        "exits": py(SERVERS / "misbehaving.py", "exit", env={"TOY_SECRET": "${TOY_SECRET_VALUE}"}),
        "hangs": py(SERVERS / "misbehaving.py", "hang"),
        "garbage": py(SERVERS / "misbehaving.py", "garbage"),
        "unset-variable": py(SERVERS / "toy.py", "${FIREFLY_TEST_UNSET_VARIABLE}"),
        "literal-secret": py(SERVERS / "toy.py", env={"TOY_SECRET": "literal-secret-abc-123"}),
    }
    register(store, registry(**entries), source="test")
    # generous: on a loaded 2-core machine a Python MCP server needs several seconds to start
    report = discover(store, connect_timeout=20, call_timeout=20)
    assert sorted(report.connected) == ["good", "literal-secret"]
    failures = {e.server: e for e in events(store, "server-failed")}
    assert set(failures) == {"missing-command", "exits", "hangs", "garbage", "unset-variable"}
    assert failures["missing-command"].error_class == "command-not-found"
    assert "not found" in failures["missing-command"].message
    assert failures["exits"].error_class == "exited"
    assert "fatal: cannot open the database" in failures["exits"].stderr_tail
    assert failures["hangs"].error_class == "timeout" and "20s" in failures["hangs"].message
    assert failures["garbage"].error_class in ("exited", "protocol-error", "timeout")
    assert failures["unset-variable"].error_class == "config-error"
    assert "FIREFLY_TEST_UNSET_VARIABLE" in failures["unset-variable"].message
    # every failure is exactly one event, and each is in the errors table
    assert store.count("server-failed") == 5
    assert store.conn.execute("SELECT count(*) FROM errors").fetchone()[0] == 5
    statuses = dict(store.conn.execute("SELECT name, status FROM servers"))
    assert statuses["good"] == "connected" and statuses["hangs"] == "failed"
    # secrets: the value substituted into env, and the literal one, are nowhere in the file
    store.close()
    data = file_bytes(store.path)
    assert b"s3cr3t-token-value-42" not in data
    assert b"literal-secret-abc-123" not in data
    assert b"[secret]" in data  # the exit message was logged, scrubbed


def test_unknown_server_name_is_a_clear_error(store):
    from firefly.errors import ServerNotFound

    register(store, registry(notes=py("unused")), source="test")
    with pytest.raises(ServerNotFound, match="nope"):
        discover(store, ["nope"])


def test_removed_server_is_not_discovered(store):
    from firefly.registry import unregister

    register(store, registry(notes=py("unused"), other=py("unused")), source="test")
    unregister(store, "other")
    report = discover(store, targets={"notes": toy.build()})
    assert report.connected == ["notes"]
