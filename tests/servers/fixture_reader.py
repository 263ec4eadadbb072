"""An MCP server over stdio for fixture tests: it reads files of the sandbox it is given.

Usage: fixture_reader.py WORKSPACE. ``read_file`` returns the text of WORKSPACE/<path>;
``list_files`` lists every file under WORKSPACE/<folder>; ``get_url`` reads an http URL
(to check the web service).
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()


def text(value: str, error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=value)], is_error=error)


async def list_tools(ctx, params):  # noqa: ANN001
    path = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
    return types.ListToolsResult(tools=[
        types.Tool(name="read_file", description="Read a file of the workspace.", input_schema=path,
                   annotations=types.ToolAnnotations(read_only_hint=True)),
        types.Tool(name="list_files", description="List the files in a folder of the workspace.", input_schema=path,
                   annotations=types.ToolAnnotations(read_only_hint=True)),
        types.Tool(name="get_url", description="Read a web page.",
                   input_schema={"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
                   annotations=types.ToolAnnotations(read_only_hint=True)),
    ])


async def call_tool(ctx, params):  # noqa: ANN001
    args = params.arguments or {}
    if params.name == "read_file":
        target = ROOT / args.get("path", "")
        return text(target.read_text()) if target.is_file() else text(f"no file {args.get('path')!r}", True)
    if params.name == "list_files":
        folder = ROOT / args.get("path", "")
        return text("\n".join(sorted(p.relative_to(ROOT).as_posix() for p in folder.rglob("*") if p.is_file())))
    if params.name == "get_url":
        with urllib.request.urlopen(args["url"], timeout=10) as r:  # noqa: S310 - loopback in tests
            return text(r.read().decode())
    raise ValueError(f"unknown tool {params.name}")


async def main() -> None:
    server = Server("fixture-reader", version="1.0.0", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
