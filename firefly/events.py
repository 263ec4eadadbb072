"""Every fact firefly records, as one tagged union of frozen msgspec Structs.

Each class is one event type. Its tag (the ``type`` column of the log and the ``type`` field
of the payload) is kebab-case. Its docstring documents its fields; ``docs/events.md`` and the
JSON Schemas in ``schema/events/`` are generated from these classes
(``python scripts/gen_event_docs.py``), and a test checks they are up to date.

Evolution rules (msgspec's): new fields get defaults; fields are never renamed or retyped;
a correction is a new event, never an edit.

An event knows its *stream* (the entity it belongs to, e.g. ``tool:git/git_log``) and, where
re-running the same work could record the same fact twice, its *idempotency key*. The store
adds the envelope: position, id, time and run.
"""

from __future__ import annotations

from typing import Any, Literal, Union

import msgspec

from .errors import EventValidationError

JSON = dict[str, Any]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of all events (not itself an event type)."""

    @property
    def stream(self) -> str:
        raise NotImplementedError

    def key(self) -> str | None:
        """The idempotency key, or None when every occurrence is a new fact."""
        return None


# --------------------------------------------------------------------------------------
# runs


class RunStarted(Event, frozen=True, kw_only=True, tag="run-started"):
    """A command started writing to the log.

    Fields:
        run_id: the run's id (also in every event's envelope).
        command: the CLI command or API entry point (``discover``, ``catalog import`` ...).
        options: the options it ran with, secrets removed.
        version: firefly's version.
    """

    run_id: str
    command: str
    options: JSON = msgspec.field(default_factory=dict)
    version: str = ""

    @property
    def stream(self) -> str:
        return f"run:{self.run_id}"

    def key(self) -> str:
        return f"run-started:{self.run_id}"


class RunFinished(Event, frozen=True, kw_only=True, tag="run-finished"):
    """A command finished.

    Fields:
        run_id: the run's id.
        status: ``ok``, ``failed`` (the command raised) or ``interrupted`` (Ctrl-C).
        summary: counts the command reports (servers connected, tools added ...).
        message: the error message when it failed.
    """

    run_id: str
    status: Literal["ok", "failed", "interrupted"]
    summary: JSON = msgspec.field(default_factory=dict)
    message: str | None = None

    @property
    def stream(self) -> str:
        return f"run:{self.run_id}"

    def key(self) -> str:
        return f"run-finished:{self.run_id}"


# --------------------------------------------------------------------------------------
# server registry and discovery


class ServerRegistered(Event, frozen=True, kw_only=True, tag="server-registered"):
    """A server entered the registry, or its configuration changed (the latest wins).

    Secrets never enter this event: ``env`` and ``headers`` keep their names; a value is kept
    only when it is a template made of ``${VAR}`` references (resolved from the environment
    when connecting), otherwise it is ``null`` and the value lives in the secrets file beside
    the database.

    Fields:
        name: the registry name (unique).
        transport: ``stdio`` (a command), ``http`` (streamable HTTP at ``url``) or ``catalog``
            (known from an offline catalog; not callable).
        command, args, cwd: how a stdio server starts (``${VAR}`` placeholders allowed).
        url: the streamable HTTP endpoint.
        env, headers: names, with templates where they are not secret (see above).
        source: where the entry came from (a file path, ``cli``, ``catalog:<file>``).
        config_hash: hash of the configuration as recorded.
        previous_hash: the configuration hash this one replaces (``None`` for the first).
        version: how many registry changes of this server came before (its stream
            version); the idempotency key, so two writers cannot both record change n.
        title, overview, labels: descriptive metadata (catalog servers carry them).
    """

    name: str
    transport: Literal["stdio", "http", "catalog"]
    command: str | None = None
    args: list[str] = msgspec.field(default_factory=list)
    cwd: str | None = None
    url: str | None = None
    env: dict[str, str | None] = msgspec.field(default_factory=dict)
    headers: dict[str, str | None] = msgspec.field(default_factory=dict)
    source: str = ""
    config_hash: str = ""
    previous_hash: str | None = None
    version: int = 0
    title: str | None = None
    overview: str | None = None
    labels: list[str] = msgspec.field(default_factory=list)

    @property
    def stream(self) -> str:
        return f"server:{self.name}"

    def key(self) -> str:
        return f"server:{self.name}@{self.version}"


class ServerRemoved(Event, frozen=True, kw_only=True, tag="server-removed"):
    """A server left the registry. Its recorded tools and calls stay in the log.

    Fields:
        name: the registry name.
        reason: why (``removed by user`` ...).
        version: the server's registry stream version (see server-registered).
    """

    name: str
    reason: str = ""
    version: int = 0

    @property
    def stream(self) -> str:
        return f"server:{self.name}"

    def key(self) -> str:
        return f"server:{self.name}@{self.version}"


class ServerConnected(Event, frozen=True, kw_only=True, tag="server-connected"):
    """Discovery connected to a server and listed its tools.

    Fields:
        server: the registry name.
        server_name, server_version: what the server says it is (``serverInfo``).
        protocol_version: the negotiated MCP protocol version.
        capabilities: the server's declared capabilities.
        instructions: the server's instructions text, if any.
        tool_hashes: tool name -> schema hash of every tool listed this time.
        latency_ms: time to connect and list tools.
    """

    server: str
    server_name: str | None = None
    server_version: str | None = None
    protocol_version: str | None = None
    capabilities: JSON = msgspec.field(default_factory=dict)
    instructions: str | None = None
    tool_hashes: dict[str, str] = msgspec.field(default_factory=dict)
    latency_ms: float = 0.0

    @property
    def stream(self) -> str:
        return f"server:{self.server}"


ServerErrorClass = Literal[
    "command-not-found",  # the command to start it does not exist
    "exited",  # the process ended before or during the handshake
    "timeout",  # connect or call took longer than allowed
    "protocol-error",  # it answered, but not valid MCP
    "config-error",  # the registry entry cannot be used as it is (missing variable ...)
    "http-error",  # the HTTP endpoint could not be reached or refused
]


class ServerFailed(Event, frozen=True, kw_only=True, tag="server-failed"):
    """Discovery could not use a server. The rest of the run goes on.

    Fields:
        server: the registry name.
        phase: ``start``, ``initialize`` or ``list-tools``.
        error_class: one of command-not-found, exited, timeout, protocol-error, config-error,
            http-error.
        message: a clear, one-line reason with what to do.
        stderr_tail: the last lines the server wrote to stderr (secret values removed).
    """

    server: str
    phase: Literal["start", "initialize", "list-tools"]
    error_class: ServerErrorClass
    message: str
    stderr_tail: str | None = None

    @property
    def stream(self) -> str:
        return f"server:{self.server}"


class ToolDiscovered(Event, frozen=True, kw_only=True, tag="tool-discovered"):
    """A tool was seen for the first time, or its schema changed (schema drift is history).

    Fields:
        server: the registry name of its server.
        name: the tool name.
        title, description: as the server lists them.
        input_schema, output_schema: JSON Schemas as listed (kept even when invalid).
        annotations: MCP tool annotations (readOnlyHint, destructiveHint ...).
        schema_hash: hash of the canonical {name, title, description, schemas, annotations}.
        previous_hash: the schema hash of the live tool this one replaces (``None`` when the
            tool is new, or comes back after it was removed).
        version: how many schema changes and removals of this tool came before (its stream
            version); the idempotency key, so re-runs and concurrent writers record each
            change once, and a schema that changes back is still recorded.
        schema_valid: whether the input (and output) schema is valid JSON Schema.
        schema_errors: why not, when it is not.
        callable: False for tools known only from an offline catalog.
        source: ``discovery`` or ``catalog:<file>``.
    """

    server: str
    name: str
    title: str | None = None
    description: str | None = None
    input_schema: JSON = msgspec.field(default_factory=dict)
    output_schema: JSON | None = None
    annotations: JSON = msgspec.field(default_factory=dict)
    schema_hash: str
    previous_hash: str | None = None
    version: int = 0
    schema_valid: bool = True
    schema_errors: list[str] = msgspec.field(default_factory=list)
    callable: bool = True
    source: str = "discovery"

    @property
    def stream(self) -> str:
        return f"tool:{self.server}/{self.name}"

    def key(self) -> str:
        return f"tool:{self.server}/{self.name}@{self.version}"


class ToolRemoved(Event, frozen=True, kw_only=True, tag="tool-removed"):
    """A tool a server listed before is no longer listed.

    Fields:
        server, name: the tool.
        last_hash: the schema hash it had.
        version: the tool's stream version (see tool-discovered).
    """

    server: str
    name: str
    last_hash: str
    version: int = 0

    @property
    def stream(self) -> str:
        return f"tool:{self.server}/{self.name}"

    def key(self) -> str:
        return f"tool:{self.server}/{self.name}@{self.version}"


# --------------------------------------------------------------------------------------

AnyEvent = Union[
    RunStarted,
    RunFinished,
    ServerRegistered,
    ServerRemoved,
    ServerConnected,
    ServerFailed,
    ToolDiscovered,
    ToolRemoved,
]

EVENT_TYPES: tuple[type[Event], ...] = AnyEvent.__args__  # type: ignore[attr-defined]
TAGS: dict[str, type[Event]] = {cls.__struct_config__.tag: cls for cls in EVENT_TYPES}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyEvent)


def tag_of(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def encode(event: Event) -> bytes:
    """JSON bytes of an event, its tag included, after checking it against its type."""
    data = _encoder.encode(event)
    decode(data)  # a Struct is not type-checked on construction: round-trip to validate
    return data


def decode(data: bytes | str) -> Event:
    """Parse and validate a payload. Raises EventValidationError naming the JSON path."""
    try:
        return _decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise EventValidationError(f"invalid event payload: {exc}") from None
    except msgspec.DecodeError as exc:
        raise EventValidationError(f"event payload is not JSON: {exc}") from None


def from_dict(payload: dict[str, Any]) -> Event:
    """Build and validate an event from a plain dict carrying its ``type`` tag."""
    try:
        return msgspec.convert(payload, AnyEvent)
    except msgspec.ValidationError as exc:
        raise EventValidationError(f"invalid event payload: {exc}") from None
