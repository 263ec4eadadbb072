"""Every fact firefly records, as one tagged union of frozen msgspec Structs.

Each class is one event type. Its tag (the ``type`` column of the log and the ``type`` field
of the payload) is kebab-case. Its docstring documents its fields; ``docs/events.md`` and the
JSON Schemas in ``schema/events/`` are generated from these classes
(``python scripts/gen_event_docs.py``), and a test checks they are up to date.

Evolution rules (msgspec's): new fields get defaults; fields are never renamed or retyped;
a correction is a new event, never an edit.

An event knows its *stream* (the entity it belongs to, e.g. ``tool:notes/list_notes``) and, where
re-running the same work could record the same fact twice, its *idempotency key*. The store
adds the envelope: position, id, time and run.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from .errors import EventValidationError

JSON = dict[str, Any]
# ToolCalled.error_class of a result that reports a failure though isError is false: a real
# reply of the server (the simulator serves it as the error it is), not a missing one
IN_BAND_ERROR = "in-band-error"


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", gc=False):
    """Base of all events (not itself an event type).

    ``gc=False``: events hold JSON data and can never be part of a reference cycle, so the
    garbage collector need not walk the many a batch of appends or a replay keeps alive."""

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


class ShardFailed(Event, frozen=True, kw_only=True, tag="shard-failed"):
    """A shard of a stage's work failed on a Ray worker (``--ray``): the worker raised, or
    died (killed, out of memory). The run went on with the other shards; the next run does
    this one again. What the shard had not returned is lost; nothing else is.

    Fields:
        stage: the stage (``discover``, ``explore``, ``synthesize``, ``verify``, ``eval``).
        shard: the shard's name (``dag:<id>``, ``server:<name>`` ...).
        items: the ids the shard held (servers, DAGs, explorations or tasks).
        worker: the worker it ran on (host:pid).
        error: what went wrong, one line.
    """

    stage: str
    shard: str
    items: list[str] = msgspec.field(default_factory=list)
    worker: str
    error: str

    @property
    def stream(self) -> str:
        return f"shard:{self.stage}:{self.shard}"


# --------------------------------------------------------------------------------------
# server registry and discovery


class FileFixture(msgspec.Struct, frozen=True, kw_only=True):
    """A file or folder copied into every sandbox (inside ``server-registered``'s fixtures)."""

    source: str  # relative to the fixtures' base
    target: str  # relative to the sandbox root


class SqliteFixture(msgspec.Struct, frozen=True, kw_only=True):
    """A SQLite database built in every sandbox by running SQL scripts in order."""

    target: str  # relative to the sandbox root
    sql: list[str] = msgspec.field(default_factory=list)  # scripts, relative to the base


class ServiceNeed(msgspec.Struct, frozen=True, kw_only=True):
    """A local service a server needs (``web``, ``postgresql``, ``mariadb``, ``redis``), which
    firefly starts on 127.0.0.1 for the run and stops at its end."""

    name: str
    port: int | None = None  # None: the service's usual port
    root: str | None = None  # web: the sandbox folder served (default ``web``)
    database: str | None = None  # postgresql, mariadb: the database created
    user: str | None = None  # mariadb: the account created for the servers
    password: str | None = None  # mariadb: that account's password (a throwaway local database)
    seed: list[str] = msgspec.field(default_factory=list)  # SQL scripts, or Redis command files


class ServerFixtures(msgspec.Struct, frozen=True, kw_only=True):
    """What a registry entry's ``firefly`` key says about the data its server works on.

    Paths are relative to ``base``: the folder of the registry file (``bundled:<path>`` for a
    registry shipped with firefly, relative to its data folder). ``digest`` is a hash of the
    content of every file named, so changed fixtures count as a changed configuration.
    """

    base: str
    files: list[FileFixture] = msgspec.field(default_factory=list)
    sqlite: list[SqliteFixture] = msgspec.field(default_factory=list)
    dirs: list[str] = msgspec.field(default_factory=list)
    services: list[ServiceNeed] = msgspec.field(default_factory=list)
    requires: list[str] = msgspec.field(default_factory=list)
    python: str | None = None
    exclude_tools: list[str] = msgspec.field(default_factory=list)
    digest: str = ""


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
        fixtures: what the entry's ``firefly`` key declares (``None`` without one): files
            and folders copied into every sandbox, SQLite databases built there, empty
            folders, local services (web, postgresql, mariadb, redis), programs it needs on
            PATH, the Python version it runs on, and tools never to explore (they reach the
            internet or hardware).
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
    fixtures: ServerFixtures | None = None

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
        callable: False for tools known only from an offline catalog, and for tools the
            registry excludes from exploration (its ``exclude_tools``: they reach the
            internet or hardware).
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
# LLM exchanges and embeddings (shared by every stage that asks a model), the tool graph
# and sampled sub-DAGs

LlmErrorClass = Literal[
    "http-error",  # the endpoint answered with an HTTP error status
    "timeout",  # no answer within the allowed time
    "connection-error",  # the endpoint could not be reached
    "malformed-reply",  # it answered 200, but not with a valid completion / embeddings list
]


class LlmReplied(Event, frozen=True, kw_only=True, tag="llm-replied"):
    """An OpenAI-compatible endpoint answered a chat request.

    Asking again with the same purpose, canonical request and attempt reuses this reply
    instead of calling the endpoint: that is what makes LLM stages resumable and replayable.

    Fields:
        purpose: what the request is for (``judge-edges`` ...); part of the reuse key.
        request_hash: hash of the canonical request (model, messages, parameters).
        attempt: 0 for the first try; a caller that asks again on purpose (after a reply it
            could not use) counts up, which makes a new request.
        base_url: the endpoint, without credentials or query.
        request: the canonical request as sent (the API key is never part of it).
        content: the assistant message text.
        tool_calls: tool calls as the model wrote them: ``{id, name, arguments}`` with
            ``arguments`` the raw text (it may not be valid JSON).
        finish_reason: as reported.
        model: the model that answered, as reported.
        usage: token counts as reported.
        latency_ms: time the request took.
    """

    purpose: str
    request_hash: str
    attempt: int = 0
    base_url: str = ""
    request: JSON = msgspec.field(default_factory=dict)
    content: str | None = None
    tool_calls: list[JSON] = msgspec.field(default_factory=list)
    finish_reason: str | None = None
    model: str | None = None
    usage: dict[str, int] = msgspec.field(default_factory=dict)
    latency_ms: float = 0.0

    @property
    def stream(self) -> str:
        return f"llm:{self.request_hash}"

    def key(self) -> str:
        return f"llm-replied:{self.purpose}:{self.request_hash}:{self.attempt}"


class LlmFailed(Event, frozen=True, kw_only=True, tag="llm-failed"):
    """A request to an OpenAI-compatible endpoint failed. The run goes on; nothing is reused
    from a failure, so asking again later calls the endpoint again.

    Fields:
        purpose: what the request was for.
        operation: ``chat`` or ``embeddings``.
        request_hash: hash of the canonical request.
        attempt: as in ``llm-replied``.
        base_url: the endpoint, without credentials or query.
        model: the model asked for.
        error_class: http-error, timeout, connection-error or malformed-reply.
        status: the HTTP status, when there was one.
        message: a clear, one-line reason.
    """

    purpose: str
    operation: Literal["chat", "embeddings"]
    request_hash: str
    attempt: int = 0
    base_url: str = ""
    model: str = ""
    error_class: LlmErrorClass
    status: int | None = None
    message: str

    @property
    def stream(self) -> str:
        return f"llm:{self.request_hash}"


class Embedded(Event, frozen=True, kw_only=True, tag="embedded"):
    """A vector for one subject (a tool's text ...) from an embedding model.

    Fields:
        subject: the stream of what was embedded (``tool:notes/list_notes``).
        version: the version of the subject the text came from (a tool's schema hash).
        model: the embedder: ``firefly-hashed-v1`` (built in, no download) or a remote
            model's name.
        dim: the number of dimensions.
        dtype: ``float16`` or ``float32`` (little-endian).
        vector: base64 of the vector's bytes (L2-normalised).
        text_hash: hash of the exact text that was embedded.
    """

    subject: str
    version: str
    model: str
    dim: int
    dtype: Literal["float16", "float32"] = "float16"
    vector: str
    text_hash: str = ""

    @property
    def stream(self) -> str:
        return self.subject

    def key(self) -> str:
        return f"embedded:{self.model}:{self.subject}:{self.version}"


class Neighbour(msgspec.Struct, frozen=True, kw_only=True):
    """One candidate partner of a tool (inside ``edge-candidates``)."""

    server: str
    name: str
    similarity: float
    via: list[str] = msgspec.field(default_factory=list)


class EdgeCandidates(Event, frozen=True, kw_only=True, tag="edge-candidates"):
    """Tools that may form a workflow edge with one tool. Candidates are cheap to find and
    are not edges: a judge decides (``edge-judged``). A pair stays a candidate once found.

    Fields:
        server, name, schema_hash: the tool.
        model: the embedder whose vectors were compared.
        generator: how they were found (``knn-server-schema-v1``: vector neighbours, the
            nearest tools of the same server, and schema matches), with its parameters in
            ``params``.
        params: the generator's parameters (``k``, ``per_server`` ...).
        neighbours: ``{server, name, similarity, via}``; ``via`` lists the sources that
            proposed the pair (``vector``, ``server``, ``schema``).
    """

    server: str
    name: str
    schema_hash: str
    model: str
    generator: str
    params: JSON = msgspec.field(default_factory=dict)
    neighbours: list[Neighbour] = msgspec.field(default_factory=list)

    @property
    def stream(self) -> str:
        return f"tool:{self.server}/{self.name}"

    def key(self) -> str:
        from .ids import short_hash

        content = _encoder.encode([self.schema_hash, self.model, self.params, self.neighbours])
        return f"edge-candidates:{self.generator}:{self.server}/{self.name}:{short_hash(content, 24)}"


EdgeDirection = Literal["a->b", "b->a", "both", "none"]


class EdgeJudged(Event, frozen=True, kw_only=True, tag="edge-judged"):
    """A judge's verdict on a candidate pair: which workflow edges the two tools form.

    An edge A -> B means A's output can feed B's input, or A then B is one coherent
    workflow. The pair is unordered and written in canonical order ((server, name) of ``a``
    sorts first); ``direction`` says which edges exist. The latest verdict on a pair wins.

    Fields:
        a_server, a_name, a_hash: the first tool and its schema hash when judged.
        b_server, b_name, b_hash: the second tool and its schema hash when judged.
        judge: ``rules-v2`` (the deterministic default) or ``llm:<model>``.
        direction: ``a->b``, ``b->a``, ``both`` or ``none``.
        score_ab, score_ba: the judge's confidence in [0, 1] that a -> b (b -> a) is an edge.
        reason: one line saying why.
        request_hash: the LLM exchange the verdict came from (LLM judges only).
    """

    a_server: str
    a_name: str
    a_hash: str
    b_server: str
    b_name: str
    b_hash: str
    judge: str
    direction: EdgeDirection
    score_ab: float = 0.0
    score_ba: float = 0.0
    reason: str = ""
    request_hash: str | None = None

    @property
    def stream(self) -> str:
        return f"pair:{self.a_server}/{self.a_name}|{self.b_server}/{self.b_name}"

    def key(self) -> str:
        return (
            f"edge-judged:{self.judge}:{self.a_server}/{self.a_name}@{self.a_hash[-12:]}"
            f"|{self.b_server}/{self.b_name}@{self.b_hash[-12:]}"
        )


class JudgeFailed(Event, frozen=True, kw_only=True, tag="judge-failed"):
    """A judge could not give verdicts for some candidate pairs (a malformed LLM reply, a
    reply that skipped pairs). Those pairs stay unjudged; the run goes on.

    Fields:
        judge: the judge (``llm:<model>``).
        request_hash: the LLM exchange whose reply could not be used.
        attempt: the exchange's attempt number.
        pairs: the pairs left unjudged, each ``[a_server, a_name, b_server, b_name]``.
        message: a clear, one-line reason.
    """

    judge: str
    request_hash: str
    attempt: int = 0
    pairs: list[list[str]] = msgspec.field(default_factory=list)
    message: str

    @property
    def stream(self) -> str:
        return f"llm:{self.request_hash}"

    def key(self) -> str:
        return f"judge-failed:{self.judge}:{self.request_hash}:{self.attempt}"


class DagTool(msgspec.Struct, frozen=True, kw_only=True):
    """One tool of a sampled sub-DAG (inside ``dag-sampled``)."""

    server: str
    name: str
    schema_hash: str


class DagSampled(Event, frozen=True, kw_only=True, tag="dag-sampled"):
    """A small sub-DAG of the tool graph, sampled for exploration.

    DAG number ``index`` of a ``seed`` uses a random generator seeded by both and the
    coverage of the DAGs before it, so an interrupted sampling run continues exactly where
    it stopped.

    Fields:
        dag_id: hash of its tools and edges.
        tools: the tools in a topological order: ``{server, name, schema_hash}``.
        edges: ``[i, j]`` pairs of indexes into ``tools``, always ``i < j``.
        scope: ``callable`` (only tools that can be called) or ``all`` (catalog tools too).
        seed: the sampling run's seed.
        index: the DAG's number under that seed and scope.
        sampler: the algorithm and its version (``coverage-walk-v1``).
        params: its parameters (``min_size``, ``max_size`` ...).
    """

    dag_id: str
    tools: list[DagTool]
    edges: list[tuple[int, int]] = msgspec.field(default_factory=list)
    scope: Literal["callable", "all"] = "callable"
    seed: int = 0
    index: int = 0
    sampler: str = ""
    params: JSON = msgspec.field(default_factory=dict)

    @property
    def stream(self) -> str:
        return f"dag:{self.dag_id}"

    def key(self) -> str:
        return f"dag-sampled:{self.sampler}:{self.scope}:{self.seed}:{self.index}"

# --------------------------------------------------------------------------------------
# exploration: real calls along sampled DAGs


class ExplorationStarted(Event, frozen=True, kw_only=True, tag="exploration-started"):
    """An explorer began walking one sampled DAG on a fresh sandbox.

    Fields:
        exploration_id: derived from the DAG, the policy and the seed, so a re-run
            continues the same exploration instead of starting another.
        dag_id: the DAG walked.
        policy: ``offline`` or ``llm:<model>``.
        seed: the seed of the policy's random choices.
        tools: ``server/name`` of the DAG's tools in the order they will be walked.
        adapters: server -> the name of the adapter chosen for it (``generic`` for a server
            no adapter claims; see :mod:`firefly.adapters`).
    """

    exploration_id: str
    dag_id: str
    policy: str
    seed: int = 0
    tools: list[str] = msgspec.field(default_factory=list)
    adapters: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"exploration-started:{self.exploration_id}"


class ArgumentSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where an argument value came from (inside ``tool-called``)."""

    argument: str  # JSON pointer into the arguments
    step: int  # the earlier step whose result held it (-1: not a step of this exploration)
    path: str  # where in that result
    value: Any = None
    event: str | None = None  # the idempotency key of the event that held it, when outside the exploration (a survey)


class ResultCut(msgspec.Struct, frozen=True, kw_only=True):
    """What of a result was cut to the limits (inside ``tool-called``): content blocks and
    bytes kept of the total the server sent."""

    blocks_kept: int
    blocks_total: int
    bytes_kept: int
    bytes_total: int


class ToolCalled(Event, frozen=True, kw_only=True, tag="tool-called"):
    """One real call of a tool and its real result. Paths are virtual (``/workspace``).

    Fields:
        exploration_id, step, attempt: the call's place (a failed step may be retried).
        server, tool: what was called.
        arguments: the arguments as sent (virtual paths).
        arguments_hash: hash of their canonical JSON.
        sources: arguments whose value came from an earlier result of the exploration, or
            from the server's survey (``event`` names the survey's event, ``step`` is -1).
        content: the result's content blocks (MCP wire format).
        structured_content: the result's structured content, if any.
        is_error: the result's ``isError`` (a tool-level error is still a result).
        error_class: set when there was no result: timeout, server-died,
            server-unavailable, protocol-error, skipped (the policy had no sensible
            arguments), malformed-call (an LLM's tool call that could not be made: bad JSON
            arguments, an unknown tool); or when the result is an error in disguise:
            in-band-error (``isError`` false but the text reports a failure).
        error: the message for ``error_class``.
        latency_ms: time of the call.
        result_bytes: size of the full result.
        truncated: the result was cut to the size cap (text with a marker, blobs by size).
        cut: when truncated, what was kept: content blocks kept / total, bytes kept / total.
        read_only: whether the call cannot change the world (annotations, else the name).
        state: hash of the effectful calls made before this one in the exploration: the
            world this result was observed in (the simulator keys on it).
        probe_of: for a probe call, the step of the effectful call whose effect it checks: made
            after it, or before it (a step below ``probe_of``: the world the effect changes).
    """

    exploration_id: str
    step: int
    attempt: int = 0
    server: str
    tool: str
    arguments: JSON = msgspec.field(default_factory=dict)
    arguments_hash: str = ""
    sources: list[ArgumentSource] = msgspec.field(default_factory=list)
    content: list[JSON] = msgspec.field(default_factory=list)
    structured_content: JSON | None = None
    is_error: bool = False
    error_class: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    result_bytes: int = 0
    truncated: bool = False
    read_only: bool = False
    state: str = ""
    probe_of: int | None = None
    cut: ResultCut | None = None

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"tool-called:{self.exploration_id}:{self.step}:{self.attempt}"


class ServerSurveyed(Event, frozen=True, kw_only=True, tag="server-surveyed"):
    """Before exploring, firefly learned a server's world on a fresh sandbox: it called the
    tools that need no arguments and cannot change anything (each call a ``tool-called``
    event of this survey, ``exploration_id`` = ``survey_id``), listed and read the server's
    resources and listed its prompts. Their values make the server's pool of grounded
    values (:mod:`firefly.explore.survey`).

    Fields:
        survey_id: derived from the server and its tool list, so a re-run does not survey
            the same server twice.
        server: the registry name.
        adapter: the adapter chosen for the server.
        tools: the tools called, in the order of their steps.
        resources: ``{uri, name, mime_type, text, bytes, truncated, error}`` per resource
            listed (text only for those read, cut to the size cap).
        prompts: ``{name, description, arguments}`` per prompt listed.
        errors: what could not be done (listing resources, reading one ...), one line each.
    """

    survey_id: str
    server: str
    adapter: str = "generic"
    tools: list[str] = msgspec.field(default_factory=list)
    resources: list[JSON] = msgspec.field(default_factory=list)
    prompts: list[JSON] = msgspec.field(default_factory=list)
    errors: list[str] = msgspec.field(default_factory=list)

    @property
    def stream(self) -> str:
        return f"exploration:{self.survey_id}"

    def key(self) -> str:
        return f"server-surveyed:{self.survey_id}"


class ExplorationFinished(Event, frozen=True, kw_only=True, tag="exploration-finished"):
    """An exploration walked its whole DAG.

    Fields:
        exploration_id: the exploration.
        calls: calls made (attempts and probes included; skipped tools and malformed LLM
            tool calls are not calls).
        successes: calls with a result that is not an error.
        errors: calls that failed (tool-level errors and protocol-level failures).
        chained: successful calls that used a value from an earlier result.
    """

    exploration_id: str
    calls: int
    successes: int
    errors: int
    chained: int = 0

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"exploration-ended:{self.exploration_id}"


class ExplorationFailed(Event, frozen=True, kw_only=True, tag="exploration-failed"):
    """An exploration could not be carried out (its servers could not start ...).

    Fields:
        exploration_id: the exploration.
        reason: a clear, one-line reason.
    """

    exploration_id: str
    reason: str

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"exploration-ended:{self.exploration_id}"


# --------------------------------------------------------------------------------------
# the simulator


class ToolSimulated(Event, frozen=True, kw_only=True, tag="tool-simulated"):
    """The simulator's model wrote a result for a call that was never recorded (``llm`` mode).

    Recorded so that the same call in the same server state gets the same result again,
    whatever else the log holds by then: the simulator stays deterministic. Never served as
    a recorded result (``strict`` and ``nearest`` modes only use real ``tool-called`` results).

    Fields:
        server, tool: what was called.
        arguments: the call's canonical arguments (defaults filled in, paths normalised).
        call_key: the simulator's lookup key (hash of server, tool and canonical arguments).
        server_state: hash of the effects on this server the call came after.
        model: the model that wrote the result.
        request_hash: the ``llm-replied`` exchange the result came from.
        neighbours: positions of the recorded ``tool-called`` events shown to the model.
        content: the result's content blocks (MCP wire format).
        structured_content: the result's structured content, if any.
        is_error: the result's ``isError``.
    """

    server: str
    tool: str
    arguments: JSON = msgspec.field(default_factory=dict)
    call_key: str
    server_state: str
    model: str = ""
    request_hash: str = ""
    neighbours: list[int] = msgspec.field(default_factory=list)
    content: list[JSON] = msgspec.field(default_factory=list)
    structured_content: JSON | None = None
    is_error: bool = False

    @property
    def stream(self) -> str:
        return f"tool:{self.server}/{self.tool}"

    def key(self) -> str:
        return f"tool-simulated:{self.server}/{self.tool}:{self.call_key}:{self.server_state}"


# --------------------------------------------------------------------------------------
# tasks: synthesized backward from explorations, verified, split


class TaskSynthesized(Event, frozen=True, kw_only=True, tag="task-synthesized"):
    """A task written backward from one exploration's recorded calls: its label is true by
    construction (it is a value the real tools returned, or a value computed from them).

    Fields:
        task_id: hash of the exploration, the synthesizer, the template and the label's
            provenance, so a re-run writes the same task once.
        exploration_id, dag_id: where it came from.
        kind: ``lookup``, ``multi-hop``, ``aggregate``, ``state-change`` or ``action`` (an
            instruction whose label is the call it asks for: match rule ``called``).
        question: the task in natural language (untrusted text when an LLM wrote it).
        answer: the label: a value, a list, or for a state change the expected end state.
        match: how an answer is compared with the label (:mod:`firefly.match`):
            ``{"rule": "exact" | "normalized" | "number" | "set" | "json-subset", ...}``.
        trajectory: the reference calls in order, ``{step, server, tool, arguments}``:
            every successful effectful call before the label's calls, then those calls.
        probe: for a state change, ``{server, tool, arguments, expected}``: the read-only
            call that observes the effect and what its result must contain; else null.
        provenance: where each label value came from, ``{step, path, value}`` (``path`` a
            locator into that step's result, as in ``tool-called`` sources).
        derivation: how the answer follows from the provenance values: ``{"op": "value"}``
            or ``count``, ``sum``, ``max``, ``min``, ``argmax``, ``argmin``, ``set``,
            ``order`` (see :mod:`firefly.synth.derive`).
        answer_schema: for an answer with named fields (``match`` rule ``fields``), the JSON
            Schema of the answer object; each property has its ``x-match`` rule
            (:mod:`firefly.synth.answers`); null for a single value.
        calls, servers, hops: difficulty signals: calls in the trajectory, distinct
            servers, and calls on the chain from the question to the answer.
        synthesizer: ``offline-v1`` or ``llm:<model>``.
        template: the offline template or ``llm`` (for mix reports).
        request_hash: the LLM exchange the question came from (LLM synthesizer only).
    """

    task_id: str
    exploration_id: str
    dag_id: str
    kind: Literal["lookup", "multi-hop", "aggregate", "state-change", "action"]
    question: str
    answer: Any = None
    match: JSON = msgspec.field(default_factory=dict)
    trajectory: list[JSON] = msgspec.field(default_factory=list)
    probe: JSON | None = None
    provenance: list[JSON] = msgspec.field(default_factory=list)
    derivation: JSON = msgspec.field(default_factory=dict)
    answer_schema: JSON | None = None
    calls: int = 0
    servers: int = 0
    hops: int = 0
    synthesizer: str = ""
    template: str = ""
    request_hash: str | None = None

    @property
    def stream(self) -> str:
        return f"task:{self.task_id}"

    def key(self) -> str:
        return f"task-synthesized:{self.task_id}"


class SynthesisFinished(Event, frozen=True, kw_only=True, tag="synthesis-finished"):
    """A synthesizer is done with one exploration (written in the same transaction as the
    exploration's tasks, so a re-run skips it).

    Fields:
        exploration_id: the exploration.
        synthesizer: ``offline-v1`` or ``llm:<model>``.
        tasks: tasks written.
        candidates: candidate tasks considered before picking.
        skipped: reasons candidates or calls were dropped, with counts.
    """

    exploration_id: str
    synthesizer: str
    tasks: int = 0
    candidates: int = 0
    skipped: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"synthesis-finished:{self.synthesizer}:{self.exploration_id}"


class SynthesisFailed(Event, frozen=True, kw_only=True, tag="synthesis-failed"):
    """A synthesizer could not use what it got for one exploration (a malformed LLM reply,
    a proposed label that no recorded value supports). The run goes on.

    Fields:
        exploration_id: the exploration.
        synthesizer: the synthesizer.
        request_hash: the LLM exchange whose reply could not be used, if any.
        attempt: the exchange's attempt number.
        message: a clear, one-line reason.
    """

    exploration_id: str
    synthesizer: str
    request_hash: str | None = None
    attempt: int = 0
    message: str

    @property
    def stream(self) -> str:
        return f"exploration:{self.exploration_id}"

    def key(self) -> str:
        return f"synthesis-failed:{self.synthesizer}:{self.exploration_id}:{self.request_hash}:{self.attempt}"


class TaskVerdict(Event, frozen=True, kw_only=True, tag="task-verdict"):
    """One verifier's verdict on one task. A task is verified when every verdict passed.

    Fields:
        task_id: the task.
        verifier: one of the verify stage's verifiers (``grounded``, ``replayable``,
            ``not-duplicate``, ``diverse`` ...; :mod:`firefly.synth.verify`).
        passed: whether the task passed.
        reasons: why (one line each; on a pass, what was checked).
        params: the verifier's parameters (thresholds, models); on a correction,
            ``corrects`` holds the verdict it replaces (passed, reasons).
        version: how many verdicts of this verifier on this task came before: 0, or a
            correction (the verdicts decided over every task, not-duplicate and diverse, are
            decided again when tasks are added; the latest verdict wins).
    """

    task_id: str
    verifier: str
    passed: bool
    reasons: list[str] = msgspec.field(default_factory=list)
    params: JSON = msgspec.field(default_factory=dict)
    version: int = 0

    @property
    def stream(self) -> str:
        return f"task:{self.task_id}"

    def key(self) -> str:
        first = f"task-verdict:{self.task_id}:{self.verifier}"
        return first if self.version == 0 else f"{first}@{self.version}"


class TaskSplit(Event, frozen=True, kw_only=True, tag="task-split"):
    """A verified task's place in the train / test split. Every task of a DAG goes to the
    same side, decided by a hash of the DAG and the seed (the latest split of a task wins).

    Fields:
        task_id: the task.
        dag_id: the DAG it came from (the grouping).
        split: ``train`` or ``test``.
        seed: the split's seed.
        test_fraction: the share of DAGs meant for test.
        version: how many splits of this task came before (the idempotency key, so a
            re-run writes nothing and a new assignment is a new event).
    """

    task_id: str
    dag_id: str
    split: Literal["train", "test"]
    seed: int = 0
    test_fraction: float = 0.2
    version: int = 0

    @property
    def stream(self) -> str:
        return f"task:{self.task_id}"

    def key(self) -> str:
        return f"task-split:{self.task_id}@{self.version}"


# --------------------------------------------------------------------------------------
# evaluation: agents run against the simulator on synthesized tasks


class EvalStarted(Event, frozen=True, kw_only=True, tag="eval-started"):
    """An evaluation began: one agent on every task of a split, against the simulator.

    Fields:
        eval_id: derived from the agent, the model, the endpoint, the split, the turn limit,
            the samples per task, the simulator mode and the sampling parameters, so running
            the same evaluation again continues it (episodes already recorded are kept).
        agent: ``openai:<model>`` (a tool-calling model behind an OpenAI-compatible
            endpoint), ``oracle`` (replays the reference trajectory, answers the label) or
            ``null`` (answers nothing).
        model: the model asked for (OpenAI agents only).
        base_url: the endpoint, without credentials or query (OpenAI agents only).
        split: the split evaluated (``train``, ``test``), or ``None`` for every verified task.
        max_turns: the most assistant turns an episode may take before it ends unanswered.
        samples: episodes per task (k of pass@k).
        simulator: the simulator mode (``strict``, ``nearest``, ``llm``).
        tasks: how many tasks the evaluation covers.
        params: sampling parameters sent to the model (``temperature`` ...).
        dataset: when the episodes are recorded in another database than the tasks (a
            dataset on read-only media, ``firefly eval --record-to``): the absolute path
            of the database the tasks come from; empty when they are in this one.
        dataset_hash: that dataset's content hash, from its ``dataset`` table (a packed
            file); empty when it has none. It is part of the eval id, so evaluations of
            two datasets recorded in one database stay apart.
    """

    eval_id: str
    agent: str
    model: str | None = None
    base_url: str = ""
    split: str | None = None
    max_turns: int
    samples: int = 1
    simulator: str = "strict"
    tasks: int = 0
    params: JSON = msgspec.field(default_factory=dict)
    dataset: str = ""
    dataset_hash: str = ""

    @property
    def stream(self) -> str:
        return f"eval:{self.eval_id}"

    def key(self) -> str:
        return f"eval-started:{self.eval_id}"


EpisodeOutcome = Literal["answered", "unanswered", "max-turns", "llm-error"]


class EpisodeRecorded(Event, frozen=True, kw_only=True, tag="episode-recorded"):
    """One episode of an evaluation: an agent on one task, to its end, and its reward.

    Fields:
        eval_id: the evaluation.
        task_id: the task.
        sample: the episode's number among the task's samples (0 .. samples-1).
        messages: the whole conversation in OpenAI chat format: system, user, assistant
            (with ``tool_calls``) and ``tool`` messages, as the agent saw and wrote them.
        calls: every tool call the agent made: ``{turn, id, name, server, tool, arguments,
            ok, error}``; ``server`` and ``tool`` are null and ``error`` says why when the
            call was malformed (unknown function, arguments not a JSON object ...);
            ``simulated`` (``{source, approximate, similarity}``) when the result is not the
            recorded result of that very call (a miss, a nearest or a generated result).
        answer: the final answer, or ``None`` when the agent gave none.
        reward: 1.0 when the answer (or, for a state-change task, the probe run against
            the episode's own simulated state) matches the label under the task's match
            rule, else 0.0; for an answer with named fields, the share of fields right
            (or 1.0 / 0.0 with the rule's ``reward: all``).
        outcome: ``answered``, ``unanswered`` (the agent ended without an answer),
            ``max-turns`` (the turn limit came first) or ``llm-error`` (the endpoint refused
            the episode's request, e.g. HTTP 400 for a conversation too long, or its reply
            was not a chat completion). An endpoint that was down (unreachable, timed out,
            a server error, credentials refused) ends the episode as ``episode-aborted``
            instead, which is not scored. Only an answered episode can have reward 1.
        turns: assistant turns taken.
        error: the endpoint's error message when the outcome is ``llm-error``.
        prompt_tokens, completion_tokens: token counts as the endpoint reported them, summed
            over the turns.
        latency_ms: time spent waiting for the model, summed over the turns.
        env_ms: time spent in the environment (simulated calls and scoring).
    """

    eval_id: str
    task_id: str
    sample: int = 0
    messages: list[JSON] = msgspec.field(default_factory=list)
    calls: list[JSON] = msgspec.field(default_factory=list)
    answer: str | None = None
    reward: float = 0.0
    outcome: EpisodeOutcome
    turns: int = 0
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    env_ms: float = 0.0

    @property
    def stream(self) -> str:
        return f"eval:{self.eval_id}"

    def key(self) -> str:
        return f"episode:{self.eval_id}:{self.task_id}:{self.sample}"


class EpisodeAborted(Event, frozen=True, kw_only=True, tag="episode-aborted"):
    """An episode of an evaluation that could not be played to its end because the model's
    endpoint was down: unreachable, timed out, a server error (HTTP 5xx), credentials or
    model refused (401, 403, 404), rate-limited (429). It is not a result: it is not scored,
    and running the evaluation again plays the episode again. Every abort is a new fact.

    Fields:
        eval_id: the evaluation.
        task_id: the task.
        sample: the episode's number among the task's samples.
        error_class: ``connection-error``, ``timeout`` or ``http-error`` (as in ``llm-failed``).
        status: the HTTP status, when there was one.
        error: the endpoint's error, one line.
        turns: assistant turns completed before the failure.
        prompt_tokens, completion_tokens: spent before the failure, as the endpoint reported.
        latency_ms: time spent waiting for the replies before the failure.
    """

    eval_id: str
    task_id: str
    sample: int = 0
    error_class: LlmErrorClass
    status: int | None = None
    error: str
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0

    @property
    def stream(self) -> str:
        return f"eval:{self.eval_id}"


# --------------------------------------------------------------------------------------

AnyEvent = Union[
    RunStarted,
    RunFinished,
    ShardFailed,
    ServerRegistered,
    ServerRemoved,
    ServerConnected,
    ServerFailed,
    ToolDiscovered,
    ToolRemoved,
    LlmReplied,
    LlmFailed,
    Embedded,
    EdgeCandidates,
    EdgeJudged,
    JudgeFailed,
    DagSampled,
    ExplorationStarted,
    ServerSurveyed,
    ToolCalled,
    ExplorationFinished,
    ExplorationFailed,
    ToolSimulated,
    TaskSynthesized,
    SynthesisFinished,
    SynthesisFailed,
    TaskVerdict,
    TaskSplit,
    EvalStarted,
    EpisodeRecorded,
    EpisodeAborted,
]

EVENT_TYPES: tuple[type[Event], ...] = AnyEvent.__args__  # type: ignore[attr-defined]
TAGS: dict[str, type[Event]] = {cls.__struct_config__.tag: cls for cls in EVENT_TYPES}

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyEvent)


def tag_of(event: Event) -> str:
    return type(event).__struct_config__.tag  # type: ignore[return-value]


def _lean(tp: Any, done: dict[type, type]) -> Any:
    """``tp`` with every ``Any`` replaced by ``msgspec.Raw`` (and nested Structs likewise)."""
    if tp is Any:
        return msgspec.Raw
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _lean_struct(tp, done)
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return Annotated[(_lean(args[0], done), *args[1:])]  # type: ignore[return-value]
    if origin in (Union, types.UnionType):
        if Any in args:  # Any absorbs the rest
            return msgspec.Raw
        return Union[tuple(_lean(a, done) for a in args)]  # type: ignore[return-value]
    if origin in (dict, list, tuple, set, frozenset) and args:
        return origin[tuple(_lean(a, done) for a in args)]
    return tp


def _lean_struct(cls: type, done: dict[type, type]) -> type:
    """A Struct type that accepts exactly the JSON ``cls`` accepts, but keeps the values its
    ``Any`` fields hold as raw JSON instead of building Python objects for them."""
    if cls not in done:
        config = cls.__struct_config__  # type: ignore[attr-defined]
        fields = []
        for f in msgspec.structs.fields(cls):
            lean = _lean(f.type, done)
            if f.default is not msgspec.NODEFAULT:
                fields.append((f.encode_name, lean, msgspec.field(default=f.default)))
            elif f.default_factory is not msgspec.NODEFAULT:
                fields.append((f.encode_name, lean, msgspec.field(default_factory=f.default_factory)))
            else:
                fields.append((f.encode_name, lean))
        done[cls] = msgspec.defstruct(
            f"Lean{cls.__name__}", fields, kw_only=True, frozen=True, gc=False,
            tag=config.tag, tag_field=config.tag_field, forbid_unknown_fields=config.forbid_unknown_fields,
        )
    return done[cls]


# Validating an event's JSON with its lean twin checks every field the decoder checks
# (types, literals, tags, nested Structs, the shape of JSON objects) without building the
# nested values of ``Any`` fields (tool schemas, results), which is most of a decode's work.
_lean_types: dict[type, type] = {}
_checkers: dict[type, msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(_lean_struct(cls, _lean_types)) for cls in EVENT_TYPES
}


def encode(event: Event) -> bytes:
    """JSON bytes of an event, its tag included, after checking it against its type.

    A Struct is not type-checked on construction, so the bytes are validated the way
    :func:`decode` would validate them (same rules, same error paths) before they are
    returned."""
    data = _encoder.encode(event)
    checker = _checkers.get(type(event))
    if checker is None:  # not one of the union's types: the full decoder says why
        decode(data)
        return data
    try:
        checker.decode(data)
    except msgspec.ValidationError as exc:
        raise EventValidationError(f"invalid event payload: {exc}") from None
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
