"""Misbehaving servers through discovery and exploration: every fault ends at its server.

Non-UTF-8 bytes, lone surrogates, invalid tool schemas, a hung handshake, 300,000 content
blocks, a big result still arriving at the call timeout, and a server left alive by a
firefly killed with ``kill -9`` (see ``tests/servers/misbehaving.py`` for each mode).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import anyio
import msgspec
import pytest

from firefly import processes
from firefly.connect import Endpoint
from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.executor import Executor
from firefly.explore.policy import Proposal
from firefly.explore.stage import explore
from firefly.registry import parse_registry, register
from firefly.stdio import ItemCounter, parse_prefix

from .conftest import SERVERS

MISBEHAVING = str(SERVERS / "misbehaving.py")


def py(*args: str, **extra) -> dict:
    return {"command": sys.executable, "args": [str(a) for a in args], **extra}


def events(store, type_: str) -> list:
    return [r.event for r in store.read(types=[type_])]


@pytest.fixture(autouse=True)
def own_tmp(tmp_path, monkeypatch):
    """Owner files and scratch folders of these tests live in a temporary directory of their own."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TMPDIR", str(tmp))
    return tmp


# -- reading a cut message -------------------------------------------------------------------


def test_a_cut_reply_keeps_its_complete_elements_and_counts_all_of_them():
    doc = json.dumps({"jsonrpc": "2.0", "id": 7, "result": {"content": [
        {"type": "text", "text": f'item "{i}" [with] {{brackets}}, \\ and commas'} for i in range(500)]}}).encode()
    for size in (1, 13, 4096):
        counter = ItemCounter()
        for i in range(0, len(doc), size):
            counter.feed(doc[i:i + size])
        assert counter.items == 500
    prefix = parse_prefix(doc[:1000].decode())
    assert prefix["id"] == 7
    blocks = prefix["result"]["content"]
    assert 0 < len(blocks) < 500 and all(set(b) == {"type", "text"} for b in blocks)  # no half block
    single = parse_prefix('{"id": 1, "result": {"content": [{"type": "text", "text": "abc\\u00')
    assert single["result"]["content"] == [{"type": "text", "text": "abc"}]  # one long text, cut short


# -- discovery ---------------------------------------------------------------------------------------


def test_discovery_flags_bad_schemas_and_fails_bad_servers_alone(store):
    register(store, parse_registry(json.dumps({"mcpServers": {
        "good": py(SERVERS / "toy.py"),
        "bad-bytes": py(MISBEHAVING, "badbytes-init"),
        "bad-schemas": py(MISBEHAVING, "bad-schemas"),
        "hangs": py(MISBEHAVING, "hang"),
    }})), source="test")
    started = time.monotonic()
    report = discover(store, connect_timeout=15, call_timeout=300)
    elapsed = time.monotonic() - started
    assert sorted(report.connected) == ["bad-schemas", "good"]
    failures = {e.server: e for e in events(store, "server-failed")}
    assert set(failures) == {"bad-bytes", "hangs"} and store.count("server-failed") == 2
    assert failures["bad-bytes"].error_class == "protocol-error" and "not UTF-8" in failures["bad-bytes"].message
    # the reader's reason as it is, not wrapped in the exception that carried it
    assert failures["bad-bytes"].message.startswith("server 'bad-bytes' wrote bytes that are not UTF-8 (0xff fe")
    # a hung handshake is reported after the connect timeout, not the (much longer) call timeout
    assert failures["hangs"].error_class == "timeout" and "15s" in failures["hangs"].message and elapsed < 120
    for failure in failures.values():
        assert "\n" not in failure.message
    tools = {name: (valid, json.loads(errors), callable_) for name, valid, errors, callable_ in store.conn.execute(
        "SELECT name, schema_valid, schema_errors, callable FROM tools WHERE server = 'bad-schemas'")}
    assert set(tools) == {"echo", "fault", "typo_type", "string_required", "list_schema"}
    assert tools["echo"][:2] == (1, []) and tools["fault"][:2] == (1, [])
    for name in ("typo_type", "string_required", "list_schema"):
        valid, errors, _ = tools[name]
        assert valid == 0 and len(errors) == 1 and "\n" not in errors[0], (name, errors)
    assert "objekt" in tools["typo_type"][1][0] or "not valid" in tools["typo_type"][1][0]
    assert "not a JSON object" in tools["list_schema"][1][0]


def test_a_server_that_dies_on_the_modern_probe_gets_the_classic_handshake(store):
    """Servers on an older SDK may exit on ``server/discover`` (the 2.x client's first probe):
    started again with ``initialize`` alone, they connect and list their tools."""
    register(store, parse_registry(json.dumps({"mcpServers": {"old": py(MISBEHAVING, "legacy-crash")}})), source="test")
    report = discover(store, connect_timeout=30, call_timeout=30)
    assert report.connected == ["old"] and store.count("server-failed") == 0
    assert {name for (name,) in store.conn.execute("SELECT name FROM tools WHERE server = 'old'")} == {"echo", "fault"}


def test_a_half_installed_npx_package_is_installed_again_and_the_failure_says_what_went_wrong(store, tmp_path):
    """npx fails on a cache folder whose install was cut off ("ENOENT ... _npx/<hash>/package.json")
    until it is removed: firefly removes it and starts the server again. The reason a server
    gives is its telling line, not npm's pointer to its log."""
    from firefly.connect import repair_npx_cache, telling_line

    cache = tmp_path / "npm" / "_npx" / "b7f26c04d8f49c14"
    (cache / "node_modules").mkdir(parents=True)
    runner = tmp_path / "runner.py"  # npx, as it behaves on that cache: fails until the folder is gone
    runner.write_text(textwrap.dedent(f"""
        import os, sys
        if os.path.isdir({str(cache)!r}):
            print("npm error code ENOENT", file=sys.stderr)
            print("npm error enoent Could not read package.json: Error: ENOENT: no such file or directory, "
                  "open '{cache}/package.json'", file=sys.stderr)
            print("npm error A complete log of this run can be found in: /root/.npm/_logs/x.log", file=sys.stderr)
            sys.exit(1)
        os.execv(sys.executable, [sys.executable, {str(SERVERS / "warehouse.py")!r}])
    """))
    register(store, parse_registry(json.dumps({"mcpServers": {"cut": {"command": sys.executable,
                                                                      "args": [str(runner)]}}})), source="test")
    report = discover(store, connect_timeout=30, call_timeout=30)
    assert report.connected == ["cut"] and not cache.exists() and cache.parent.exists()
    # a whole folder, or one outside npx's cache, is never removed
    whole = tmp_path / "npm" / "_npx" / "0123456789abcdef"
    whole.mkdir()
    (whole / "package.json").write_text("{}")
    said = f"npm error enoent Could not read package.json: Error: ENOENT: open '{whole}/package.json'"
    assert repair_npx_cache(said) is None and whole.exists()
    assert repair_npx_cache("ENOENT: open '/tmp/elsewhere/0123456789abcdef/package.json'") is None
    tail = "npm error code ENOENT\n" + said + "\nnpm error A complete log of this run can be found in: /x.log"
    assert telling_line(tail) == said and telling_line("Traceback\nValueError: bad port") == "ValueError: bad port"


def test_a_stdio_server_gets_a_temporary_folder_of_its_own_at_a_stable_path():
    """A server that cleans its temp folder (some do) cleans only its own files: TMPDIR points
    into a folder made for the connection and removed with it. Its path is named after the
    server, not random, so a path in a result is the same in every run; two connections of
    one server at once get two folders."""
    from firefly.connect import open_connection

    async def tmpdir(conn) -> str:
        result = await conn.request("tools/call", {"name": "echo", "arguments": {"text": "tmpdir?"}}, timeout=30)
        return result["content"][0]["text"]

    async def main() -> list[str]:
        endpoint = misbehaving_endpoint("plain")
        async with open_connection(endpoint, connect_timeout=30) as one, \
                open_connection(endpoint, connect_timeout=30) as two:
            folders = [await tmpdir(one), await tmpdir(two)]
            said = await one.request("tools/call", {"name": "echo", "arguments": {"text": "cwd?"}}, timeout=30)
            cwd = said["content"][0]["text"]
        for folder in folders:
            assert os.path.realpath(folder) != os.path.realpath(tempfile.gettempdir())
        assert [os.path.basename(f) for f in folders] == [f"{endpoint.name}-0", f"{endpoint.name}-1"]
        # a server without `cwd` in its entry also works there: what it writes next to itself goes
        assert os.path.realpath(cwd) == os.path.realpath(folders[0])
        assert os.path.basename(os.path.dirname(folders[0])) == "firefly-server-tmp"
        return folders

    first = anyio.run(main)
    assert not any(os.path.exists(f) for f in first)
    assert anyio.run(main) == first  # the next run: the same paths


# -- the executor ------------------------------------------------------------------------------------


ENV = {"MISBEHAVING_BLOCKS": "300000", "MISBEHAVING_BYTES": "3000000", "MISBEHAVING_CHUNKS": "8",
       "MISBEHAVING_PAUSE": "0.5"}


def misbehaving_endpoint(server: str, sandbox=None) -> Endpoint:
    return Endpoint(name=server, transport="stdio", command=sys.executable, args=[MISBEHAVING, server], env=dict(ENV))


def test_every_bad_result_is_one_clear_outcome_and_the_server_goes_on():
    async def main():
        async with Executor(misbehaving_endpoint, call_timeout=2, connect_timeout=20, max_result_bytes=64_000) as ex:
            bad = await ex.call("badbytes-call", "fault", {})
            assert bad.error_class == "protocol-error" and "not UTF-8" in bad.error and "\n" not in bad.error
            assert (await ex.call("badbytes-call", "echo", {"text": "still here"})).content[0]["text"] == "still here"

            lost = await ex.call("badbytes-noid", "fault", {})
            assert lost.error_class == "protocol-error" and "not UTF-8" in lost.error
            assert (await ex.call("badbytes-noid", "echo", {"text": "again"})).ok  # restarted

            odd = await ex.call("surrogate", "fault", {})
            assert odd.ok and odd.content[0]["text"] == "lone \ufffd surrogate"
            msgspec.json.encode(odd.content)  # recordable

            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            many = await ex.call("blocks", "fault", {})
            grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
            assert many.ok and many.truncated and many.error_class is None
            assert many.cut.blocks_total == 300_000 and 0 < many.cut.blocks_kept == len(many.content) <= 1000
            assert many.cut.bytes_total == many.result_bytes > 5_000_000 and many.cut.bytes_kept < 70_000
            assert grown_mb < 200, f"300,000 blocks took {grown_mb:.0f} MB"

            # 3 MB written over 4 s, never 2 s without a byte: not a timeout, cut while reading
            big = await ex.call("slow-big", "fault", {})
            assert big.ok and big.truncated, big
            assert big.cut.bytes_total > 3_000_000 and big.cut.blocks_total == big.cut.blocks_kept == 1
            assert big.content[0]["text"].endswith("more bytes]") and len(big.content[0]["text"]) < 65_000

    anyio.run(main)


# -- exploration ----------------------------------------------------------------------------------


class FaultPolicy:
    name = "faults"

    def propose(self, tool, history, workspace, rng, attempt=0):
        if tool.name == "read_note":
            return Proposal({"title": "groceries"})
        if tool.name == "echo":
            return Proposal({"text": "hello"})
        return Proposal({})


def test_exploration_beside_bad_servers_finishes_the_good_servers_work(store):
    register(store, parse_registry(json.dumps({"mcpServers": {
        "toy": py(SERVERS / "toy.py", "${FIREFLY_WORKSPACE}"),
        "bytes": py(MISBEHAVING, "badbytes-noid"),
        "surrogate": py(MISBEHAVING, "surrogate"),
    }})), source="test")
    discover(store, connect_timeout=20)
    dags = {"d-toy": [("toy", "list_notes"), ("toy", "read_note")],
            "d-bytes": [("bytes", "fault"), ("bytes", "echo")],
            "d-surrogate": [("surrogate", "fault")]}
    for i, (dag_id, tools) in enumerate(dags.items()):
        store.append(DagSampled(dag_id=dag_id, tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    store.catch_up()
    report = explore(store, FaultPolicy(), concurrency=3, connect_timeout=20, call_timeout=10)
    assert report.explorations == 3
    calls = {(dag, tool, attempt): (ok, cls, err) for dag, tool, attempt, ok, cls, err in store.conn.execute(
        "SELECT x.dag_id, c.tool, c.attempt, c.ok, c.error_class, c.error FROM calls c JOIN explorations x USING (exploration_id)")}
    assert calls[("d-toy", "list_notes", 0)][0] == 1 and calls[("d-toy", "read_note", 0)][0] == 1
    ok_, cls, err = calls[("d-bytes", "fault", 0)]
    assert (ok_, cls) == (0, "protocol-error") and "not UTF-8" in err and "\n" not in err
    assert ("d-bytes", "fault", 1) not in calls  # the same arguments again would break it again: one event
    assert calls[("d-surrogate", "fault", 0)][0] == 1
    status = dict(store.conn.execute("SELECT dag_id, status FROM explorations"))
    assert status["d-toy"] == "finished"
    assert not list(processes.owners_dir().glob("*.json"))  # nothing left behind after a normal end


# -- kill -9 -------------------------------------------------------------------------------------


ORPHAN_MAKER = textwrap.dedent("""
    import sys, anyio
    from firefly.connect import Endpoint, open_connection
    from firefly.processes import scratch_dir

    async def main():
        with scratch_dir("firefly-explore-") as folder:
            endpoint = Endpoint(name="stubborn", transport="stdio", command=sys.executable, args=[sys.argv[1], "stubborn"])
            async with open_connection(endpoint, connect_timeout=30) as conn:
                print(conn.transport.pid, folder, flush=True)
                await anyio.sleep_forever()

    anyio.run(main)
""")


def test_servers_and_sandboxes_of_a_killed_firefly_are_reaped_at_the_next_start(tmp_path, own_tmp):
    script = tmp_path / "orphan_maker.py"
    script.write_text(ORPHAN_MAKER)
    env = {**os.environ, "TMPDIR": str(own_tmp), "PYTHONPATH": os.pathsep.join(sys.path)}
    maker = subprocess.Popen([sys.executable, str(script), MISBEHAVING], stdout=subprocess.PIPE, env=env, text=True)
    try:
        pid_text, folder = maker.stdout.readline().split()
        server = int(pid_text)
        os.kill(maker.pid, signal.SIGKILL)
        maker.wait(timeout=30)
        assert processes.start_time(server) is not None  # kill -9 left the server running ...
        assert os.path.isdir(folder)  # ... and its sandbox in place
        reaped = processes.reap_orphans()  # what discovery and exploration do when they start
        assert reaped.groups == [server] and reaped.folders[0] == folder
        # ... and the server's own temporary folder
        assert [os.path.basename(os.path.dirname(f)) for f in reaped.folders[1:]] == ["firefly-server-tmp"]
        deadline = time.monotonic() + 30
        while processes.start_time(server) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes.start_time(server) is None
        assert not any(os.path.exists(f) for f in reaped.folders) and not list(processes.owners_dir().glob("*.json"))
        assert processes.reap_orphans().groups == []  # once
    finally:
        if maker.poll() is None:
            maker.kill()
