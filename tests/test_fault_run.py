"""One ``firefly run`` over every misbehaving server of issue 16 plus one good bundled server.

Each server-side fault of ``tests/servers/misbehaving.py`` is registered beside the bundled
``sqlite`` server, and ``firefly run`` (a subprocess, as a user starts it) must finish with
the good server's tasks verified and each fault as it should be: one ``server-failed`` event
with a one-line reason for a server that cannot start, one failed ``tool-called`` event with
a one-line reason for a call whose reply breaks the protocol, and no error at all where the
fault can be absorbed (a lone surrogate, 300,000 content blocks, a big result still arriving
at the call timeout, invalid schemas, colliding tool names, a server ignoring SIGTERM). No
secret reaches the database, no traceback the output, no server process outlives the run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from firefly.resources import bundled_registry
from firefly.toolnames import tool_names

from .conftest import SERVERS, file_bytes

pytestmark = [pytest.mark.real_servers, pytest.mark.timeout(900)]  # the run is in the first test

SECRET = "tok-Zq8XvP3kLm9Rw2-fault-run"
# seconds without a byte (generous: a loaded machine slows every server); slow-big writes a
# chunk every 2.5 s for 15 s, so its result takes longer than the call timeout to arrive
CALL_TIMEOUT = 10
# mode -> settings (NAME=VALUE arguments: env values of 6+ characters would be secrets)
MODES = {
    "exit": [], "hang": [], "garbage": [], "badbytes-init": [],
    "badbytes-call": [], "badbytes-noid": [], "surrogate": [],
    "blocks": ["MISBEHAVING_BLOCKS=300000"],
    "slow-big": ["MISBEHAVING_BYTES=3000000", "MISBEHAVING_CHUNKS=6", "MISBEHAVING_PAUSE=2.5"],
    "bad-schemas": [], "stubborn": [], "collide": [], "echo-secret": [],
}
FAILS_TO_START = {"exit": "exited", "hang": "timeout", "garbage": "protocol-error", "badbytes-init": "protocol-error"}
BREAKS_A_CALL = {"badbytes-call", "badbytes-noid"}


def mode_processes(mark: str) -> list[str]:
    """Command lines of live processes started with ``mark`` among their arguments."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark.encode() in cmdline:
            out.append(b" ".join(cmdline).decode(errors="replace"))
    return out


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fault-run")
    mark = f"FAULT_RUN_MARK={root}"
    servers = {f"bad-{mode}": {"command": sys.executable, "args": [str(SERVERS / "misbehaving.py"), mode, *settings, mark]}
               for mode, settings in MODES.items()}
    servers["bad-echo-secret"]["env"] = {"LEAK_TOKEN": SECRET}
    servers["sqlite"] = json.loads(bundled_registry().read_text())["mcpServers"]["sqlite"]
    registry = root / "servers.json"
    registry.write_text(json.dumps({"mcpServers": servers}))
    tmp = root / "tmp"
    tmp.mkdir()
    db = root / "faults.db"
    env = {**os.environ, "TMPDIR": str(tmp), "FIREFLY_DB": str(db)}
    proc = subprocess.run(
        [sys.executable, "-m", "firefly", "run", "--registry", str(registry), "--dags", "30", "--seed", "1",
         "--connect-timeout", "60", "--call-timeout", str(CALL_TIMEOUT), "--db", str(db)],
        capture_output=True, text=True, env=env, cwd=root, timeout=600,
    )
    left = mode_processes(mark)
    return proc, db, tmp, left


def payloads(conn: sqlite3.Connection, type_: str) -> list[dict]:
    return [json.loads(p) for (p,) in conn.execute("SELECT payload FROM events WHERE type = ? ORDER BY position", (type_,))]


def test_the_run_finishes_with_the_good_servers_tasks(fault_run):
    proc, db, _, _ = fault_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output and "ExceptionGroup" not in output
    conn = sqlite3.connect(db)
    verified = conn.execute("SELECT count(*) FROM tasks WHERE verified = 1 AND trajectory LIKE '%\"server\":\"sqlite\"%'").fetchone()[0]
    assert verified >= 5, output[-3000:]
    connected = {r[0] for r in conn.execute("SELECT name FROM servers WHERE status = 'connected'")}
    assert connected == {"sqlite"} | {f"bad-{m}" for m in MODES if m not in FAILS_TO_START}


def test_a_server_that_cannot_start_is_one_failed_event_with_a_one_line_reason(fault_run):
    proc, db, _, _ = fault_run
    conn = sqlite3.connect(db)
    failures = payloads(conn, "server-failed")
    assert sorted(f["server"] for f in failures) == sorted(f"bad-{m}" for m in FAILS_TO_START)  # once each
    for failure in failures:
        mode = failure["server"].removeprefix("bad-")
        assert failure["error_class"] == FAILS_TO_START[mode], failure
        message = failure["message"]
        assert "\n" not in message and len(message) < 300 and failure["server"] in message, message
        assert "Error:" not in message  # no exception class dumped in front of the reason
        assert f"✗ {failure['server']}: " in proc.stdout + proc.stderr  # said once, on its own line
    reasons = {f["server"]: f["message"] for f in failures}
    assert "not UTF-8" in reasons["bad-badbytes-init"]
    assert "60s" in reasons["bad-hang"]  # the connect timeout, not the call timeout


def test_a_call_whose_reply_breaks_the_protocol_is_one_failed_call(fault_run):
    _, db, _, _ = fault_run
    conn = sqlite3.connect(db)
    for mode in BREAKS_A_CALL:
        rows = conn.execute("SELECT ok, error_class, error FROM calls WHERE server = ? AND tool = 'fault'", (f"bad-{mode}",)).fetchall()
        assert len(rows) == 1, (mode, rows)  # not retried with the same arguments
        ok, error_class, error = rows[0]
        assert (ok, error_class) == (0, "protocol-error") and "not UTF-8" in error and "\n" not in error, rows
        # the server goes on: its other tool still answers (restarted after the violation)
        assert conn.execute("SELECT min(ok) FROM calls WHERE server = ? AND tool = 'echo'", (f"bad-{mode}",)).fetchone()[0] == 1
    errors = conn.execute("SELECT server, tool FROM calls WHERE ok = 0 AND server LIKE 'bad-%'").fetchall()
    assert sorted(errors) == sorted((f"bad-{m}", "fault") for m in BREAKS_A_CALL), errors  # no other fault failed


def test_absorbed_faults_are_recorded_as_results(fault_run):
    _, db, _, _ = fault_run
    conn = sqlite3.connect(db)

    def fault_calls(mode: str) -> list[dict]:
        return [p for p in payloads(conn, "tool-called") if p["server"] == f"bad-{mode}" and p["tool"] == "fault"]

    [surrogate] = fault_calls("surrogate")
    assert surrogate.get("error_class") is None and surrogate["content"][0]["text"] == "lone \ufffd surrogate"
    [blocks] = fault_calls("blocks")
    assert blocks["truncated"] and blocks["cut"]["blocks_total"] == 300_000 and blocks["cut"]["blocks_kept"] <= 1000
    [big] = fault_calls("slow-big")  # 15 s to arrive, a chunk every 2.5 s: cut, not a timeout
    assert big.get("error_class") is None and big["truncated"] and big["cut"]["bytes_total"] > 3_000_000
    flagged = dict(conn.execute("SELECT name, schema_valid FROM tools WHERE server = 'bad-bad-schemas'"))
    assert flagged == {"echo": 1, "fault": 1, "typo_type": 0, "string_required": 0, "list_schema": 0}
    [stubborn] = fault_calls("stubborn")
    assert stubborn.get("error_class") is None


def test_colliding_tool_names_stay_apart(fault_run):
    _, db, _, _ = fault_run
    conn = sqlite3.connect(db)
    tools = [("bad-collide", n) for (n,) in conn.execute("SELECT name FROM tools WHERE server = 'bad-collide'")]
    assert {"get item", "get.item", "get_item"} <= {n for _, n in tools}
    for tool, text in conn.execute("SELECT tool, result_text FROM calls WHERE server = 'bad-collide' AND tool LIKE 'get%'"):
        assert text == f"answered by the tool named {tool!r}"  # each call reached its own tool
    names = tool_names(tools)
    assert len({names.name(*t) for t in tools}) == len(tools)
    assert all(names.target(names.name(*t)) == t for t in tools)


def test_no_secret_and_no_process_outlives_the_run(fault_run):
    proc, db, tmp, left = fault_run
    assert SECRET.encode() not in file_bytes(db)
    assert SECRET not in proc.stdout + proc.stderr
    assert left == []  # the hung and the stubborn servers were killed with their groups
    assert not [p.name for p in tmp.glob("firefly-*") if not p.name.startswith(("firefly-owners", "firefly-seeds-"))]
    assert not list((tmp / "firefly-owners").glob("*.json"))
