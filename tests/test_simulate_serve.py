"""`firefly simulate serve`: the recorded servers as MCP servers, checked with real clients:
the mcp Python client (in process, over stdio and over streamable HTTP) and the MCP
Inspector CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from firefly.cli import app
from firefly.simulator import MISS_TEXT, Simulator
from firefly.simulator.serve import ServeError, Worlds, build_server, tool_names

from .sim_fixtures import TOOLS, discover, notes_world

FIREFLY = str(Path(sys.executable).parent / "firefly")
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"


def recorded_listing(store, server: str) -> dict[str, dict]:
    rows = store.conn.execute(
        "SELECT name, description, input_schema, output_schema, annotations FROM tools WHERE server = ? ORDER BY name", (server,))
    return {n: {"description": d, "inputSchema": json.loads(i), "outputSchema": json.loads(o) if o else None,
                "annotations": json.loads(a)} for n, d, i, o, a in rows}


def listed(tools) -> dict[str, dict]:
    out = {}
    for t in tools:
        wire = t.model_dump(by_alias=True, exclude_none=True)
        out[t.name] = {"description": wire.get("description"), "inputSchema": wire["inputSchema"],
                       "outputSchema": wire.get("outputSchema"), "annotations": wire.get("annotations", {})}
    return out


TODO = {"path": "/workspace/notes/todo.md"}
MODERN = "2026-07-28"


def text(result) -> str:
    return result.content[0].text


def test_in_process_lists_the_recorded_tools_and_answers_per_episode(store):
    notes_world(store)
    with Simulator.open(store) as sim:
        server = build_server(sim, ["notes"])

        async def main():
            async with Client(server, mode=MODERN) as a, Client(server, mode=MODERN) as b:
                assert a.protocol_version == MODERN
                assert listed((await a.list_tools()).tools) == recorded_listing(store, "notes")
                hit = await a.call_tool("read_note", TODO)
                assert text(hit) == "buy milk" and not hit.is_error and hit.meta["firefly/source"] == "recorded"
                # firefly's keys are namespaced (the SDK adds io.modelcontextprotocol/serverInfo)
                assert all(key.startswith(("firefly/", "io.modelcontextprotocol/")) for key in hit.meta)
                # a named episode is its own world
                one = {"firefly/episode": "one"}
                await a.call_tool("write_note", {**TODO, "text": "buy eggs"}, meta=one)
                assert text(await a.call_tool("read_note", TODO, meta=one)) == "buy eggs"
                assert text(await b.call_tool("read_note", TODO, meta={"firefly/episode": "two"})) == "buy milk"
                # 2026-07-28 in process: every request is its own exchange, so an unnamed call gets a
                # fresh world, named in the result: sending the name back goes on in it
                wrote = await a.call_tool("write_note", {**TODO, "text": "buy eggs"})
                mine = {"firefly/episode": wrote.meta["firefly/episode"]}
                assert text(await a.call_tool("read_note", TODO, meta=mine)) == "buy eggs"
                assert text(await b.call_tool("read_note", TODO)) == "buy milk"  # b never sees a's effects
                assert text(await a.call_tool("read_note", TODO, meta={**mine, "firefly/reset": True})) == "buy milk"
                assert text(await a.call_tool("read_note", TODO, meta=one)) == "buy eggs"  # other worlds stay
                miss = await b.call_tool("read_note", {"path": "/workspace/nothing"})
                assert miss.is_error and text(miss) == MISS_TEXT
                unknown = await b.call_tool("add", {"a": 1, "b": 2})  # calc is not served here
                assert unknown.is_error and "unknown tool" in text(unknown)

        anyio.run(main)


def test_a_wrong_type_is_a_schema_error_not_a_miss(store):
    notes_world(store)
    with Simulator.open(store) as sim:
        server = build_server(sim, ["notes"])

        async def main():
            async with Client(server, mode=MODERN) as c:
                wrong = await c.call_tool("read_note", {"path": 1})
                assert wrong.is_error and text(wrong) == "invalid arguments for read_note: path: 1 is not of type 'string'"
                missing = await c.call_tool("write_note", {"path": TODO["path"]})
                assert missing.is_error and "'text' is a required property" in text(missing) and MISS_TEXT not in text(missing)
                assert not (await c.call_tool("read_note", TODO)).is_error

        anyio.run(main)


def test_worlds_are_bounded_and_the_least_recently_used_goes(store):
    notes_world(store)
    with Simulator.open(store) as sim:
        worlds = Worlds(sim, limit=2)
        worlds.get("a").call_sync("notes", "write_note", {**TODO, "text": "buy eggs"})
        worlds.get("b")
        worlds.get("a")  # a is used again: b is now the oldest
        worlds.get("c")
        assert list(worlds.by_name) == ["a", "c"]
        assert text_of(worlds.get("a").call_sync("notes", "read_note", TODO)) == "buy eggs"
        assert text_of(worlds.get("b").call_sync("notes", "read_note", TODO)) == "buy milk"  # started afresh


def text_of(result) -> str:
    return result.content[0]["text"]


def test_handshake_clients_each_get_a_world_and_the_reset_tool_resets_it(store):
    notes_world(store)
    with Simulator.open(store) as sim:
        server = build_server(sim, ["notes"], reset_tool=True)
        plain = build_server(sim, ["notes"])

        async def main():
            async with Client(plain, mode="legacy") as c:  # off by default: an agent is not offered it
                assert "firefly_reset" not in {t.name for t in (await c.list_tools()).tools}
            async with Client(server, mode="legacy") as a, Client(server, mode="legacy") as b:
                listing = {t.name: t for t in (await a.list_tools()).tools}
                assert set(listing) == {"list_notes", "now", "read_note", "write_note", "firefly_reset"}
                await a.call_tool("write_note", {**TODO, "text": "buy eggs"})
                assert text(await a.call_tool("read_note", TODO)) == "buy eggs"  # the connection's world
                assert text(await b.call_tool("read_note", TODO)) == "buy milk"  # not b's
                await b.call_tool("write_note", {**TODO, "text": "buy eggs"})
                reset = await a.call_tool("firefly_reset", {})
                assert not reset.is_error and "initial state" in text(reset)
                assert text(await a.call_tool("read_note", TODO)) == "buy milk"
                assert text(await b.call_tool("read_note", TODO)) == "buy eggs"  # b's world kept its write

        anyio.run(main)


def test_several_servers_get_prefixed_names_and_collisions_get_distinct_names(store):
    notes_world(store)
    with Simulator.open(store) as sim:
        names = tool_names(sim, None)
        assert sorted(names) == sorted(f"{s}__{t}" for s, t in TOOLS)
        assert sorted(tool_names(sim, ["calc"])) == ["add"]
        with pytest.raises(ServeError, match="no recorded tools for server"):
            tool_names(sim, ["nope"])

        async def main():
            async with Client(build_server(sim, None)) as c:
                r = await c.call_tool("calc__add", {"a": 1, "b": 2})
                assert r.structured_content == {"sum": 3}

        anyio.run(main)
    spec = TOOLS[("calc", "add")]
    discover(store, {("x", "a__b"): spec, ("x__a", "b"): spec})
    with Simulator.open(store) as sim:
        both = tool_names(sim, ["x", "x__a"])
        assert len(both) == 2 and {(t.server, t.name) for t in both.values()} == {("x", "a__b"), ("x__a", "b")}


def test_cli_needs_a_choice_of_servers(db_path, store):
    notes_world(store)
    result = CliRunner().invoke(app, ["simulate", "serve", "--db", str(db_path)])
    assert result.exit_code == 1 and "--server NAME" in result.output


def test_stdio_serve_with_the_mcp_client(store, db_path):
    notes_world(store)

    async def main():
        params = StdioServerParameters(command=FIREFLY, args=["simulate", "serve", "--server", "notes", "--db", str(db_path)])
        async with Client(stdio_client(params), mode=MODERN) as c:
            assert listed((await c.list_tools()).tools) == recorded_listing(store, "notes")
            r = await c.call_tool("list_notes", {"folder": "/workspace/notes/"})
            assert r.content[0].text == "todo.md\nideas.md"
            # 2026-07-28 over stdio: no session, but the connection is one client with one world
            await c.call_tool("write_note", {**TODO, "text": "buy eggs"})
            assert text(await c.call_tool("read_note", TODO)) == "buy eggs"
            assert text(await c.call_tool("read_note", TODO, meta={"firefly/reset": True})) == "buy milk"

    anyio.run(main)


def test_http_serve_with_the_mcp_client(store, db_path):
    notes_world(store)
    proc = subprocess.Popen([FIREFLY, "simulate", "serve", "--all", "--transport", "http", "--port", "0", "--db", str(db_path)],
                            stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stderr:
            found = re.search(r"at (http://127\.0\.0\.1:\d+/mcp)", line)
            if found:
                url = found.group(1)
                break
        assert url, "the server printed no URL"

        async def main():
            # 2026-07-28: no sessions; each client keeps its world by the name its first result gave
            async with Client(streamable_http_client(url), mode=MODERN) as a, \
                    Client(streamable_http_client(url), mode=MODERN) as b:
                assert a.protocol_version == MODERN
                names = {t.name for t in (await a.list_tools()).tools}
                assert names == {f"{s}__{t}" for s, t in TOOLS}
                wrote = await a.call_tool("notes__write_note", {**TODO, "text": "buy eggs"})
                mine = {"firefly/episode": wrote.meta["firefly/episode"]}
                assert text(await a.call_tool("notes__read_note", TODO, meta=mine)) == "buy eggs"
                assert text(await b.call_tool("notes__read_note", TODO)) == "buy milk"  # A's write is not B's
                theirs = {"firefly/episode": "b-world"}
                await b.call_tool("notes__write_note", {**TODO, "text": "buy eggs"}, meta=theirs)
                assert text(await a.call_tool("notes__read_note", TODO, meta={**mine, "firefly/reset": True})) == "buy milk"
                assert text(await b.call_tool("notes__read_note", TODO, meta=theirs)) == "buy eggs"
                wrong = await b.call_tool("calc__add", {"a": "1", "b": 2})
                assert wrong.is_error and "invalid arguments for calc__add: a: '1' is not of type" in text(wrong)
            # a protocol with sessions: each session is a world, with no name to send
            async with Client(streamable_http_client(url), mode="legacy") as a, \
                    Client(streamable_http_client(url), mode="legacy") as b:
                await a.call_tool("notes__write_note", {**TODO, "text": "buy eggs"})
                assert text(await a.call_tool("notes__read_note", TODO)) == "buy eggs"
                assert text(await b.call_tool("notes__read_note", TODO)) == "buy milk"

        anyio.run(main)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def inspector(*args: str) -> dict:
    env = {**os.environ, "npm_config_loglevel": "error"}
    out = subprocess.run(["npx", "-y", INSPECTOR, "--cli", *args], capture_output=True, text=True, timeout=280, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout[out.stdout.index("{"):])


@pytest.mark.real_servers
@pytest.mark.skipif(shutil.which("npx") is None, reason="the MCP Inspector needs Node.js (npx)")
def test_the_mcp_inspector_cli_lists_and_calls_tools(store, db_path):
    notes_world(store)
    command = ["--", FIREFLY, "simulate", "serve", "--server", "notes", "--db", str(db_path)]
    listing = inspector("--method", "tools/list", *command)
    assert sorted(t["name"] for t in listing["tools"]) == ["list_notes", "now", "read_note", "write_note"]
    by_name = {t["name"]: t for t in listing["tools"]}
    assert by_name["read_note"]["inputSchema"] == TOOLS[("notes", "read_note")]["input_schema"]
    assert by_name["list_notes"]["annotations"]["readOnlyHint"] is True
    result = inspector("--method", "tools/call", "--tool-name", "read_note", "--tool-arg", "path=/workspace/notes/todo.md", *command)
    assert result["content"][0]["text"] == "buy milk" and result["isError"] is False
