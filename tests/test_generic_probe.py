"""The generic adapter's probe on a server it has never seen: a read-only tool of the same
server that takes the identifier the write took or returned, under a name of the same kind."""

from __future__ import annotations

import json

import anyio
from mcp.server.mcpserver import MCPServer

from firefly.adapters.generic import GenericAdapter
from firefly.connect import Endpoint, open_connection
from firefly.explore.policy import CallRecord, ToolRef


def _tasks_server() -> MCPServer:
    server = MCPServer("tasks")
    tasks: dict[str, dict] = {}

    @server.tool()
    def create_task(title: str, notes: str = "") -> dict:
        """Create a task."""
        task_id = f"t-{len(tasks) + 1}"
        tasks[task_id] = {"task_id": task_id, "title": title, "notes": notes}
        return {"id": task_id, "status": "created"}

    @server.tool()
    def update_task_notes(task_ref_id: str, notes: str) -> str:
        """Replace a task's notes."""
        tasks[task_ref_id]["notes"] = notes
        return "updated"

    @server.tool()
    def get_task(task_id: str) -> dict:
        """Read one task."""
        return tasks[task_id]

    @server.tool()
    def search_tasks(query: str) -> list:
        """Search tasks by words."""
        return [t for t in tasks.values() if query in t["title"]]

    return server


async def _call(conn, tool: str, arguments: dict) -> CallRecord:
    result = await conn.request("tools/call", {"name": tool, "arguments": arguments}, timeout=30)
    return CallRecord(0, "tasks", tool, arguments, result.get("content", []), result.get("structuredContent"),
                      bool(result.get("isError")))


def test_the_generic_probe_reads_back_by_the_identifier_a_write_took_or_returned():
    server = _tasks_server()

    async def main() -> None:
        async with open_connection(Endpoint(name="tasks", transport="stdio", target=server)) as conn:
            listed = await conn.request("tools/list", {}, timeout=30)
            refs = {t["name"]: ToolRef("tasks", t["name"], t.get("description"), t["inputSchema"])
                    for t in listed["tools"]}
            readers = [refs["get_task"], refs["search_tasks"]]
            adapter = GenericAdapter()

            created = await _call(conn, "create_task", {"title": "Order beans"})
            probe = adapter.probe(created, refs["create_task"], readers)
            assert probe is not None and probe.tool.name == "get_task" and probe.arguments == {"task_id": "t-1"}
            seen = await _call(conn, probe.tool.name, probe.arguments)
            assert "Order beans" in json.dumps(seen.content)

            updated = await _call(conn, "update_task_notes", {"task_ref_id": "t-1", "notes": "two bags"})
            probe = adapter.probe(updated, refs["update_task_notes"], readers)
            assert probe is not None and probe.arguments == {"task_id": "t-1"}
            seen = await _call(conn, probe.tool.name, probe.arguments)
            assert "two bags" in json.dumps(seen.content)  # the probe observes the effect

            # nothing identifies what a call changed: no probe rather than a guess
            vague = CallRecord(0, "tasks", "create_task", {"title": "x"}, [{"type": "text", "text": "done"}], None, False)
            assert adapter.probe(vague, refs["create_task"], readers) is None

    anyio.run(main)
