"""The recorded servers served as real MCP servers (stdio, or streamable HTTP on loopback).

``firefly simulate serve --server git`` lists git's tools exactly as discovery recorded them
(name, title, description, input and output schema, annotations) and answers ``tools/call``
from the simulator: any MCP client or agent framework runs against it offline.

**Worlds, per client.** Each simulated world (a simulator episode) starts from the initial
state and never sees another's effects. Which world a ``tools/call`` acts in:

1. the one named by the request's ``_meta["firefly/episode"]`` (any string; a new name is a
   fresh world), so that one server can host many agents or evaluation episodes at once;
2. else the MCP session's (streamable HTTP of a protocol version with sessions:
   ``Mcp-Session-Id``);
3. else the connection's: a stdio connection (or an in-memory one) of any protocol version is
   one client, and has one world;
4. else (a request that is its own exchange: protocol 2026-07-28 over HTTP has neither
   sessions nor connections) a fresh world.

Every result's ``_meta["firefly/episode"]`` names the world it acted in: send it back to go
on in that world (what a 2026-07-28 HTTP client does to keep its state across requests). A
server keeps :data:`MAX_WORLDS` worlds; past that the least recently used one is dropped (a
later call in it starts from the initial state).

**Reset.** ``_meta["firefly/reset"]: true`` on a ``tools/call`` returns that world to the
initial state before the call. With ``reset_tool`` (``--reset-tool``), the server also lists
a tool ``firefly_reset`` (no arguments) that does it on its own; it is off by default, so an
agent under training is not offered a way to undo its effects.

**Inputs** are validated against the recorded input schema first: a wrong type is a schema
error naming the argument, not a "no recorded result" miss.

**Tool names.** Serving one server keeps its tool names. Serving several (``--all``, or
``--server`` more than once) names each ``<server>__<tool>`` as :mod:`firefly.toolnames`
does for ``firefly eval`` and the exports: the same names an evaluated agent sees, valid
OpenAI function names, and unique (tools whose names would collide, such as ``get item``,
``get.item`` and ``get_item``, get distinct names with a hash suffix; each calls its own tool).

A result's ``_meta`` carries the simulator's ``meta`` under firefly's namespace
(``firefly/source``, ``firefly/approximate``, ``firefly/similarity`` ...): clients that do not
know it ignore it.
"""

from __future__ import annotations

import errno
import sys
import uuid
from collections import OrderedDict
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .. import __version__
from ..errors import FireflyError
from ..toolnames import tool_names as function_names
from .core import Episode, Simulator, SimTool

EPISODE_META = "firefly/episode"
RESET_META = "firefly/reset"
RESET_TOOL = "firefly_reset"
MAX_WORLDS = 10_000  # worlds kept at once; beyond, the least recently used is dropped


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


def _input_validator(schema: dict[str, Any]) -> Any:
    from jsonschema.validators import validator_for

    from jsonschema.exceptions import SchemaError

    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:  # a recorded schema that is not valid JSON Schema validates nothing
        return None
    return cls(schema)


def schema_errors(validator: Any, arguments: dict[str, Any]) -> list[str]:
    """Why ``arguments`` do not match a tool's input schema (empty when they do)."""
    if validator is None:
        return []
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}"
            for e in sorted(validator.iter_errors(arguments), key=lambda e: list(map(str, e.absolute_path)))]


def _text_result(text: str, name: str) -> types.CallToolResult:
    return types.CallToolResult.model_validate(
        {"content": [{"type": "text", "text": text}], "isError": True, "_meta": {EPISODE_META: name}})


class Worlds:
    """The simulated worlds of one served process, by name, and which one a request acts in."""

    def __init__(self, sim: Simulator, *, limit: int = MAX_WORLDS) -> None:
        self.sim = sim
        self.limit = limit
        self.by_name: OrderedDict[str, Episode] = OrderedDict()  # least recently used first
        self._by_channel: dict[int, str] = {}  # a 2026-07-28 stdio channel -> world name
        self._channels: list[Any] = []

    def fresh(self, name: str | None = None) -> str:
        name = name or f"episode-{uuid.uuid4().hex}"
        self.by_name[name] = self.sim.episode()
        while len(self.by_name) > self.limit:  # the least recently used world goes (a later call starts it afresh)
            self.by_name.popitem(last=False)
        return name

    def get(self, name: str) -> Episode:
        if name not in self.by_name:
            self.fresh(name)
        self.by_name.move_to_end(name)
        return self.by_name[name]

    def reset(self, name: str) -> None:
        self.fresh(name)

    def name_for(self, ctx: Any, meta: dict[str, Any]) -> str:
        """The world a request acts in (see the module docstring), created when new."""
        named = meta.get(EPISODE_META)
        if isinstance(named, str) and named:
            return named
        connection = getattr(ctx.session, "_connection", None)
        if connection is None:
            return self.fresh()
        if connection.session_id or connection.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            # an HTTP session, or a handshake connection (stdio, in-memory): it lasts as long as
            # its client, and so does its world
            name = connection.state.get(EPISODE_META)
            if name is None:
                name = connection.state[EPISODE_META] = self.fresh()
                connection.exit_stack.callback(self.by_name.pop, name, None)
            return name
        if connection.has_standalone_channel:
            # a 2026-07-28 duplex connection (stdio): a new Connection per request, one channel per client
            key = id(connection.outbound)
            name = self._by_channel.get(key)
            if name is None:
                name = self._by_channel[key] = self.fresh()
                self._channels.append(connection.outbound)  # keeps the id from being reused
            return name
        return self.fresh()  # a single exchange (2026-07-28 over HTTP): no client to keep a world for


def build_server(sim: Simulator, servers: list[str] | None = None, *, reset_tool: bool = False) -> Server:
    """A low-level MCP server answering from ``sim``; one world per client (module docstring)."""
    names = tool_names(sim, servers)
    if reset_tool and RESET_TOOL in names:
        raise ServeError(f"a served tool is named {RESET_TOOL!r}: serve without --reset-tool")
    listed = [mcp_tool(name, tool) for name, tool in names.items()]
    if reset_tool:
        listed.append(types.Tool.model_validate({
            "name": RESET_TOOL, "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
            "description": "Return this client's simulated world to its initial state (firefly's simulator; not a recorded tool).",
            "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True, "openWorldHint": False},
        }))
    listing = types.ListToolsResult(tools=listed)
    validators = {name: _input_validator(tool.input_schema) for name, tool in names.items()}
    worlds = Worlds(sim)

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return listing

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        meta = params.meta if isinstance(params.meta, dict) else (params.meta.model_dump(by_alias=True) if params.meta else {})
        name = worlds.name_for(ctx, meta)
        if meta.get(RESET_META) is True:
            worlds.reset(name)
        if reset_tool and params.name == RESET_TOOL:
            worlds.reset(name)
            return types.CallToolResult.model_validate({
                "content": [{"type": "text", "text": "The world is back to its initial state."}], "isError": False,
                "_meta": {EPISODE_META: name}})
        tool = names.get(params.name)
        if tool is None:
            return _text_result(f"unknown tool {params.name!r}", name)
        arguments = params.arguments or {}
        problems = schema_errors(validators[params.name], arguments)
        if problems:
            return _text_result(f"invalid arguments for {params.name}: {'; '.join(problems)}", name)
        result = await worlds.get(name).call(tool.server, tool.name, arguments)
        wire: dict[str, Any] = {"content": result.content, "isError": result.is_error,
                                "_meta": {**{f"firefly/{k}": v for k, v in result.meta.items()}, EPISODE_META: name}}
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
