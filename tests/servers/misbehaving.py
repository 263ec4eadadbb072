"""Servers that fail in the ways discovery and exploration must survive.

Usage: misbehaving.py MODE [NAME=VALUE ...]; each NAME=VALUE sets a setting below (as the
environment variable of that name does), so that a registry can size a fault in its args
(env values of 6 or more characters are secrets, redacted wherever they appear).

Startup faults:
exit          writes a reason (and $TOY_SECRET if set) to stderr and exits with status 3
hang          reads nothing and never answers (the handshake times out)
garbage       writes lines that are not JSON-RPC, then exits
badbytes-init writes 0xff 0xfe before its reply to initialize

The modes below speak MCP by hand (JSON-RPC lines on stdin/stdout, so that they can break it
byte by byte). They list the tools ``echo`` (a fine tool) and ``fault`` (misbehaves as MODE
says; ``echo`` keeps working unless the fault ends the session):
badbytes-call  a result whose text holds the bytes 0xff 0xfe (its reply is not UTF-8)
badbytes-noid  writes a line of bytes that are not UTF-8 and carry no id, instead of a reply
surrogate      a result whose text holds a lone surrogate (the JSON escape \\ud800)
blocks         a result of $MISBEHAVING_BLOCKS (default 300,000) small content blocks
slow-big       a result of $MISBEHAVING_BYTES (default 50 MB) of text, written in
               $MISBEHAVING_CHUNKS chunks $MISBEHAVING_PAUSE seconds apart
bad-schemas    lists, besides echo, tools whose input schemas the mcp client rejects:
               "type": "objekt", "required": "record_id", an inputSchema that is a list
               (called anyway, each answers with its own name)
stubborn       a fine server that ignores SIGTERM and the end of its stdin (it must be killed)
legacy-crash   a fine server that exits on any request method it does not know (as servers on
               an older SDK do on the modern handshake's ``server/discover`` probe)
collide        lists, besides echo and fault, three fine tools whose names differ only in the
               character that a function name cannot hold: "get item", "get.item", "get_item"
               (each answers with its own name, so a call that reached the wrong one shows)
echo-secret
        a working MCP server that echoes $LEAK_TOKEN in every field a server controls: its
        serverInfo name and version, its instructions, its tool's title, description,
        annotations, input-schema property description and default,
        the output schema, and the result (text, a structuredContent key and value, stderr)
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

mode = sys.argv[1] if len(sys.argv) > 1 else "exit"
for setting in sys.argv[2:]:
    name, _, value = setting.partition("=")
    os.environ[name] = value
if mode == "exit":
    print(f"fatal: cannot open the database (token {os.environ.get('TOY_SECRET', '-')})", file=sys.stderr, flush=True)
    sys.exit(3)
elif mode == "hang":
    time.sleep(600)
    sys.exit(0)
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

out = sys.stdout.buffer
OBJECT = {"type": "object", "properties": {"text": {"type": "string"}}}
TOOLS = [
    {"name": "echo", "description": "Echo the text back.", "inputSchema": OBJECT},
    {"name": "fault", "description": "Misbehave.", "inputSchema": {"type": "object", "properties": {}}},
]
if mode == "bad-schemas":
    TOOLS += [
        {"name": "typo_type", "description": "A schema with an unknown type.", "inputSchema": {"type": "objekt"}},
        {"name": "string_required", "description": "required is not a list.",
         "inputSchema": {"type": "object", "properties": {"record_id": {"type": "string"}}, "required": "record_id"}},
        {"name": "list_schema", "description": "inputSchema is not an object.", "inputSchema": [{"type": "string"}]},
    ]
COLLIDING = ["get item", "get.item", "get_item"]
if mode == "collide":
    TOOLS += [{"name": name, "description": f"Get an item (the tool named {name!r}).",
               "inputSchema": {"type": "object", "properties": {}}} for name in COLLIDING]


def send(message: dict, prefix: bytes = b"") -> None:
    out.write(prefix + json.dumps(message).encode() + b"\n")
    out.flush()


def reply(request_id, result: dict, prefix: bytes = b"") -> None:
    send({"jsonrpc": "2.0", "id": request_id, "result": result}, prefix)


def text(value: str) -> dict:
    return {"content": [{"type": "text", "text": value}], "isError": False}


def fault(request_id) -> None:
    if mode == "badbytes-call":
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "result": text("before AFTER")}).encode()
        out.write(line.replace(b"AFTER", b"\xff\xfe after") + b"\n")
        out.flush()
    elif mode == "badbytes-noid":
        out.write(b"\xff\xfe\xfd not a reply\n")
        out.flush()
    elif mode == "surrogate":
        out.write(b'{"jsonrpc": "2.0", "id": ' + json.dumps(request_id).encode()
                  + b', "result": {"content": [{"type": "text", "text": "lone \\ud800 surrogate"}], "isError": false}}\n')
        out.flush()
    elif mode == "blocks":
        n = int(os.environ.get("MISBEHAVING_BLOCKS", "300000"))
        reply(request_id, {"content": [{"type": "text", "text": f"item {i}"} for i in range(n)], "isError": False})
    elif mode == "slow-big":
        size = int(os.environ.get("MISBEHAVING_BYTES", str(50_000_000)))
        chunks = int(os.environ.get("MISBEHAVING_CHUNKS", "10"))
        pause = float(os.environ.get("MISBEHAVING_PAUSE", "1"))
        head = b'{"jsonrpc": "2.0", "id": ' + json.dumps(request_id).encode() + b', "result": {"content": [{"type": "text", "text": "'
        out.write(head)
        out.flush()
        for _ in range(chunks):
            time.sleep(pause)
            out.write(b"x" * (size // chunks))
            out.flush()
        out.write(b'"}], "isError": false}}\n')
        out.flush()
    else:
        reply(request_id, text("nothing odd"))


if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(f"stubborn server pid {os.getpid()}", file=sys.stderr, flush=True)

for raw in sys.stdin.buffer:
    try:
        request = json.loads(raw)
    except ValueError:
        continue
    method, request_id = request.get("method"), request.get("id")
    if method == "initialize":
        result = {
            "protocolVersion": request["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": f"misbehaving-{mode}", "version": "1.0"},
        }
        reply(request_id, result, b"\xff\xfe" if mode == "badbytes-init" else b"")
    elif method == "tools/list":
        reply(request_id, {"tools": TOOLS})
    elif method == "tools/call":
        name = request["params"]["name"]
        if name == "echo":
            said = str((request["params"].get("arguments") or {}).get("text", ""))
            if said == "tmpdir?":  # where this server's temporary files go
                import tempfile

                said = tempfile.gettempdir()
            elif said == "cwd?":  # where a file written to a relative path lands
                import os

                said = os.getcwd()
            reply(request_id, text(said))
        elif name == "fault":
            fault(request_id)
        elif any(tool["name"] == name for tool in TOOLS):  # bad-schemas' and collide's tools work
            reply(request_id, text(f"answered by the tool named {name!r}"))
        else:
            send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32602, "message": f"unknown tool {name}"}})
    elif method == "ping":
        reply(request_id, {})
    elif request_id is not None:
        if mode == "legacy-crash":  # an older SDK that dies on a method it does not know
            print(f"ValidationError: unknown method {method!r}", file=sys.stderr, flush=True)
            sys.exit(1)
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"no method {method}"}})

if mode == "stubborn":
    while True:  # the end of stdin does not stop it
        time.sleep(3600)
