"""A small MCP server for tests, in process (``build()``) or over stdio (run this file).

Its tool list can be changed through environment variables, to test re-discovery:
TOY_VARIANT=v2 changes one schema and drops one tool. TOY_SECRET, if set, is written to
stderr at start (to check that firefly scrubs secret values from what it logs).
"""

from __future__ import annotations

import os
import sys

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server


def tools(variant: str) -> list[types.Tool]:
    listing = [
        types.Tool(
            name="list_notes",
            description="List the titles of all notes.",
            input_schema={"type": "object", "properties": {}},
            annotations=types.ToolAnnotations(read_only_hint=True),
        ),
        types.Tool(
            name="read_note",
            description="Read one note by its title." if variant == "v1" else "Read a note (by title) with its tags.",
            input_schema={
                "type": "object",
                "properties": {"title": {"type": "string", "description": "The note's title"}},
                "required": ["title"],
            },
            output_schema={"type": "object", "properties": {"text": {"type": "string"}}},
        ),
        types.Tool(
            name="broken_schema",
            description="A tool whose input schema is not valid JSON Schema.",
            input_schema={"type": "object", "properties": {"x": {"type": "banana"}}, "required": "x"},
        ),
    ]
    if variant == "v1":
        listing.append(types.Tool(name="delete_note", description="<script>alert(1)</script> Delete a note.",
                                  input_schema={"type": "object", "properties": {"title": {"type": "string"}}}))
    return listing


def build(variant: str = "v1") -> Server:
    async def list_tools(ctx, params):  # noqa: ANN001
        return types.ListToolsResult(tools=tools(variant))

    async def call_tool(ctx, params):  # noqa: ANN001
        args = params.arguments or {}
        if params.name == "sleep":
            await anyio.sleep(float(args.get("seconds", 1)))
        elif params.name == "crash":
            os._exit(1)
        elif params.name == "big":
            return types.CallToolResult(content=[types.TextContent(type="text", text="x" * int(args.get("n", 100)))])
        elif params.name == "read_note":
            title = args.get("title", "")
            if title != "groceries":
                return types.CallToolResult(content=[types.TextContent(type="text", text=f"no note {title!r}")], is_error=True)
            return types.CallToolResult(
                content=[types.TextContent(type="text", text="eggs, milk")], structured_content={"text": "eggs, milk"})
        elif params.name == "list_notes":
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"notes: groceries (pid {os.getpid()})")])
        elif params.name == "echo":
            return types.CallToolResult(content=[types.TextContent(type="text", text=str(args.get("text", "")))])
        elif params.name not in {t.name for t in tools(variant)}:
            raise ValueError(f"unknown tool {params.name}")
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"called {params.name} pid {os.getpid()}")])

    return Server("toy-notes", version="1.0.0", instructions="Notes for tests.", on_list_tools=list_tools,
                  on_call_tool=call_tool)


async def main() -> None:
    secret = os.environ.get("TOY_SECRET")
    if secret:
        print(f"starting with token {secret}", file=sys.stderr, flush=True)
    server = build(os.environ.get("TOY_VARIANT", "v1"))
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
