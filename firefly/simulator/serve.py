"""The recorded servers served as real MCP servers (stdio, or streamable HTTP on loopback).

``firefly simulate serve --server git`` lists git's tools exactly as discovery recorded them
(name, title, description, input and output schema, annotations) and answers ``tools/call``
from the simulator: any MCP client or agent framework runs against it offline.

**Episodes.** Each simulated world (a simulator episode) starts from the initial state and
never sees another's effects. Which world a ``tools/call`` acts in:

1. the one named by the request's ``_meta["firefly/episode"]`` (any string; a new name is a
   fresh world), so that one server can host many agents or evaluation episodes at once;
2. else the MCP session's (a stateful streamable HTTP session of a protocol version that
   has sessions: ``Mcp-Session-Id``);
3. else one world for the whole server process. A stdio server serves one client, so its
   world is that client's; protocol 2026-07-28 requests carry no session.

**Tool names.** Serving one server keeps its tool names. Serving several (``--all``, or
``--server`` more than once) names each ``<server>__<tool>`` as :mod:`firefly.toolnames`
does for ``firefly eval`` and the exports: the same names an evaluated agent sees, valid
OpenAI function names, and unique (tools whose names would collide, such as ``get item``,
``get.item`` and ``get_item``, get distinct names with a hash suffix; each calls its own tool).

A result's ``_meta`` carries the simulator's ``meta`` (``source``, ``approximate``,
``similarity`` ...): clients that do not know it ignore it.
"""

from __future__ import annotations

import errno
import sys
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server

from .. import __version__
from ..errors import FireflyError
from ..toolnames import tool_names as function_names
from .core import Episode, Simulator, SimTool

EPISODE_META = "firefly/episode"


class ServeError(FireflyError):
    """The servers cannot be served as asked."""


def tool_names(sim: Simulator, servers: list[str] | None) -> dict[str, SimTool]:
    """Served name -> tool, for the chosen servers (None: every server with tools)."""
    known = sim.servers()
    chosen = known if servers is None else servers
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ServeError(f"no recorded tools for server(s) {', '.join(unknown)}; known: {', '.join(known) or 'none'}")
    if not chosen:
        raise ServeError("no recorded tools to serve: run firefly discover first")
    tools = [tool for server in chosen for tool in sim.tools_of(server)]
    if len(chosen) == 1:
        return {tool.name: tool for tool in tools}
    named = function_names((tool.server, tool.name) for tool in tools)
    return {named.name(tool.server, tool.name): tool for tool in tools}


def mcp_tool(name: str, tool: SimTool) -> types.Tool:
    wire: dict[str, Any] = {"name": name, "inputSchema": tool.input_schema}
    if tool.title:
        wire["title"] = tool.title
    if tool.description is not None:
        wire["description"] = tool.description
    if tool.output_schema is not None:
        wire["outputSchema"] = tool.output_schema
    if tool.annotations:
        wire["annotations"] = tool.annotations
    return types.Tool.model_validate(wire)


def build_server(sim: Simulator, servers: list[str] | None = None) -> Server:
    """A low-level MCP server answering from ``sim``; one episode per session."""
    names = tool_names(sim, servers)
    listing = types.ListToolsResult(tools=[mcp_tool(name, tool) for name, tool in names.items()])
    episodes: dict[tuple[str, str], Episode] = {}

    def episode_of(ctx: Any, params: types.CallToolRequestParams) -> Episode:
        key = ("process", "")
        meta = params.meta if isinstance(params.meta, dict) else (params.meta.model_dump(by_alias=True) if params.meta else {})
        if isinstance(meta.get(EPISODE_META), str):
            key = ("named", meta[EPISODE_META])
        else:
            session_id = getattr(getattr(ctx.session, "_connection", None), "session_id", None)
            if session_id:
                key = ("session", str(session_id))
        found = episodes.get(key)
        if found is None:
            found = episodes[key] = sim.episode()
        return found

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        tool = names.get(params.name)
        if tool is None:
            return types.CallToolResult(content=[types.TextContent(type="text", text=f"unknown tool {params.name!r}")], is_error=True)
        result = await episode_of(ctx, params).call(tool.server, tool.name, params.arguments or {})
        wire: dict[str, Any] = {"content": result.content, "isError": result.is_error, "_meta": result.meta}
        if result.structured_content is not None:
            wire["structuredContent"] = result.structured_content
        return types.CallToolResult.model_validate(wire)

    served = sorted({t.server for t in names.values()})
    return Server(
        "firefly-simulator" if len(served) != 1 else f"firefly-simulator-{served[0]}",
        version=__version__,
        instructions=f"Recorded tool calls of {', '.join(served)}, replayed offline by firefly's simulator ({sim.mode} mode).",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(server: Server) -> None:
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_http(server: Server, host: str, port: int, *, ready: Any = None) -> None:
    """Streamable HTTP at ``http://host:port/mcp`` until cancelled or interrupted.

    ``port`` 0 picks a free port; ``ready`` is called with the URL once it accepts connections."""
    import anyio
    import uvicorn

    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ServeError(f"the simulator serves on loopback only (127.0.0.1, localhost or ::1), not {host!r}")
    _check_port(host, port)
    app = server.streamable_http_app(host=host)
    http = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    failed: list[BaseException] = []

    async def run() -> None:
        try:
            await http.serve()
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            failed.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        while not http.started and not failed:
            await anyio.sleep(0.02)
        if not failed:
            bound = http.servers[0].sockets[0].getsockname()[1] if http.servers else port
            if ready is not None:
                ready(f"http://{host}:{bound}/mcp")
    if failed:  # raised here, outside the task group, so it is not wrapped in an ExceptionGroup
        raise ServeError(f"cannot serve on {host}:{port} (is the port in use?)")


def _check_port(host: str, port: int) -> None:
    """Fail with one line if the port cannot be bound (in use, or not allowed), before the
    HTTP server starts and logs its own errors."""
    import socket

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot serve on {host}:{port}: {exc.strerror or exc}"
                             + (" (the port is in use: choose another with --port)" if exc.errno == errno.EADDRINUSE else "")) from None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
