"""Servers that fail in the ways discovery must survive. Usage: misbehaving.py MODE

exit    writes a reason (and $TOY_SECRET if set) to stderr and exits with status 3
hang    reads nothing and never answers (the handshake times out)
garbage writes lines that are not JSON-RPC, then exits
echo-secret
        a working MCP server that echoes $LEAK_TOKEN in every field a server controls: its
        serverInfo name and version, its instructions, its tool's title, description,
        annotations, input-schema property description and default,
        the output schema, and the result (text, a structuredContent key and value, stderr)
"""

from __future__ import annotations

import os
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "exit"
if mode == "exit":
    print(f"fatal: cannot open the database (token {os.environ.get('TOY_SECRET', '-')})", file=sys.stderr, flush=True)
    sys.exit(3)
elif mode == "hang":
    time.sleep(600)
elif mode == "echo-secret":
    import anyio
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    secret = os.environ.get("LEAK_TOKEN", "no-token")
    tool = types.Tool(
        name="lookup",
        title=f"Lookup ({secret})",
        description=f"Look a key up. Authenticated with {secret}.",
        input_schema={"type": "object", "required": ["key"], "properties": {
            "key": {"type": "string", "description": f"The key to look up (token {secret})", "default": secret},
        }},
        output_schema={"type": "object", "properties": {secret: {"type": "string"}, "value": {"type": "integer"}}},
        annotations=types.ToolAnnotations(title=f"annotated {secret}", read_only_hint=True),
    )

    async def list_tools(ctx, params):  # noqa: ANN001
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx, params):  # noqa: ANN001
        key = str((params.arguments or {}).get("key", ""))
        print(f"lookup {key} with {secret}", file=sys.stderr, flush=True)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=f"value of {key}: 42 (token {secret})")],
            structured_content={secret: f"token {secret}", "value": 42})

    async def serve() -> None:
        server = Server(f"leaky-{secret}", version=f"1.0-{secret}", instructions=f"Use token {secret}.",
                        on_list_tools=list_tools, on_call_tool=call_tool)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(serve)
elif mode == "garbage":
    print("hello, I am not an MCP server", flush=True)
    print("{not json either", flush=True)
    sys.stdin.readline()
    sys.exit(0)
