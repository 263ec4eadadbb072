"""A job queue kept in Redis, for the test that each exploration slot has its own Redis
world (stdio). ``REDIS_URL`` (``redis://127.0.0.1:PORT/DB``) says where: ``add_job`` pushes a
job and answers how many wait; ``count_jobs`` (read-only) counts them."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server


def redis(*command: str) -> bytes:
    """One command on the database of ``REDIS_URL``; the first line of its reply."""
    url = urlparse(os.environ["REDIS_URL"])
    db = (url.path or "/0").strip("/") or "0"
    with socket.create_connection((url.hostname, url.port), timeout=5) as s:
        replies = b""
        for args in (("SELECT", db), command):
            s.sendall(f"*{len(args)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args))
            while replies.count(b"\r\n") < (1 if args[0] == "SELECT" else 2):
                replies += s.recv(4096)
    return replies.split(b"\r\n")[1]


def build() -> Server:
    async def list_tools(ctx, params):  # noqa: ANN001
        job = {"type": "object", "properties": {"name": {"type": "string", "description": "The job's name"}},
               "required": ["name"]}
        return types.ListToolsResult(tools=[
            types.Tool(name="add_job", description="Add a job to the queue.", input_schema=job,
                       annotations=types.ToolAnnotations(read_only_hint=False, destructive_hint=False)),
            types.Tool(name="count_jobs", description="Count the jobs waiting in the queue.",
                       input_schema={"type": "object", "properties": {}},
                       annotations=types.ToolAnnotations(read_only_hint=True)),
        ])

    async def call_tool(ctx, params):  # noqa: ANN001
        if params.name == "add_job":
            waiting = redis("RPUSH", "jobs", str((params.arguments or {}).get("name", "job"))).lstrip(b":").decode()
            text = f"Queued. {waiting} jobs waiting."
        else:
            text = f"{redis('LLEN', 'jobs').lstrip(b':').decode()} jobs waiting."
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)])

    return Server("redis-jobs", version="0.1.0", on_list_tools=list_tools, on_call_tool=call_tool)


async def main() -> None:
    server = build()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
