"""``servers``, ``tools`` and ``tool_versions``: the registry and what discovery saw."""

from __future__ import annotations

import shlex
import sqlite3
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from ..events import (
    ServerConnected,
    ServerFailed,
    ServerRegistered,
    ServerRemoved,
    ToolDiscovered,
    ToolRemoved,
)
from .base import Projection, dumps


class ServersProjection(Projection):
    """One row per server: its registration, its state after the last discovery, its tool count.

    ``server-connected`` events and tool counts (+1 per new tool, -1 per removed one) wait in
    memory until the end of the store's batch (:meth:`flush`), or until another event of
    the same server (registered, removed, failed) must see them: a server connected many
    times in one batch is written once. Nothing reads these columns while a batch is
    applied, so the table ends as if each event were applied in turn.
    """

    name = "servers"
    tables = ("servers",)
    handles = frozenset(
        {"server-registered", "server-removed", "server-connected", "server-failed", "tool-discovered", "tool-removed"}
    )

    def __init__(self) -> None:
        # server -> (server_name, server_version, protocol_version, capabilities (a dict, encoded
        #            when written), instructions,
        #            time of the first and of the last connection in this batch)
        self._connected: dict[str, tuple] = {}
        self._tool_counts: dict[str, int] = {}  # server -> tools added minus removed

    def flush(self, db: sqlite3.Connection) -> None:
        """Write every server's waiting updates."""
        for server in [*self._connected, *self._tool_counts]:
            self._write(db, server)

    def _write(self, db: sqlite3.Connection, server: str) -> None:
        """Write the waiting updates of one server."""
        connected = self._connected.pop(server, None)
        if connected is not None:
            connected = (*connected[:3], dumps(connected[3]), *connected[4:])  # capabilities as JSON
            db.execute(
                "UPDATE servers SET status = 'connected', server_name = ?, server_version = ?,"
                " protocol_version = ?, capabilities = ?, instructions = ?, last_error_class = NULL,"
                " last_error = NULL, first_connected_at = coalesce(first_connected_at, ?),"
                " last_connected_at = ? WHERE name = ?",
                (*connected, server),
            )
        delta = self._tool_counts.pop(server, 0)
        if delta:
            db.execute("UPDATE servers SET tools = tools + ? WHERE name = ?", (delta, server))

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ToolDiscovered):
            if e.previous_hash is None:
                self._tool_counts[e.server] = self._tool_counts.get(e.server, 0) + 1
        elif isinstance(e, ServerConnected):
            waiting = self._connected.get(e.server)
            self._connected[e.server] = (
                e.server_name, e.server_version, e.protocol_version, e.capabilities, e.instructions,
                rec.time if waiting is None else waiting[5], rec.time,
            )
        elif isinstance(e, ToolRemoved):
            self._tool_counts[e.server] = self._tool_counts.get(e.server, 0) - 1
        elif isinstance(e, ServerRegistered):
            self._write(db, e.name)
            command = shlex.join([e.command, *e.args]) if e.command else None
            callable_ = e.transport != "catalog"
            db.execute(
                "INSERT INTO servers (name, transport, callable, status, command, url, env_names,"
                " header_names, source, config_hash, title, overview, labels, registered_at, config_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
                " ON CONFLICT(name) DO UPDATE SET transport = excluded.transport,"
                " callable = excluded.callable, status = excluded.status, command = excluded.command,"
                " url = excluded.url, env_names = excluded.env_names, header_names = excluded.header_names,"
                " source = excluded.source, config_hash = excluded.config_hash, title = excluded.title,"
                " overview = excluded.overview, labels = excluded.labels,"
                " config_version = servers.config_version + 1",
                (
                    e.name, e.transport, int(callable_), "registered" if callable_ else "catalog",
                    command, e.url, dumps(sorted(e.env)), dumps(sorted(e.headers)), e.source,
                    e.config_hash, e.title, e.overview, dumps(e.labels), rec.time,
                ),
            )
        elif isinstance(e, ServerRemoved):
            self._write(db, e.name)
            db.execute(
                "UPDATE servers SET status = 'removed', config_version = config_version + 1 WHERE name = ?", (e.name,)
            )
        elif isinstance(e, ServerFailed):
            self._write(db, e.server)
            db.execute(
                "UPDATE servers SET status = 'failed', last_error_class = ?, last_error = ? WHERE name = ?",
                (e.error_class, e.message, e.server),
            )


@dataclass(slots=True)
class _ToolChanges:
    """What a batch's changes of one tool add up to (see ToolsProjection.flush)."""

    fields: tuple[Any, ...]  # the columns of its latest schema, as text
    source: str
    first_seen: str  # the first discovery's time (kept only when the row is new)
    last_seen: str  # the time of the last change
    versions: int = 1  # schema versions added
    changes: int = 1  # stream changes (discoveries and removals)
    removed: int = 0  # removed at the end of the batch


class ToolsProjection(Projection):
    """Latest schema of every tool, plus one ``tool_versions`` row per change.

    ``previous_hash`` of a tool-discovered event is the hash of the schema that was live
    (None when the tool is new, or comes back after it was removed).

    ``server-connected`` only moves ``last_seen`` of the tools it lists. Those updates wait
    in ``_last_seen`` until the end of the store's batch (:meth:`flush`), so a tool listed
    by many connections in one batch is written once; a tool-discovered or tool-removed
    event of the tool sets ``last_seen`` itself and drops its waiting value. Nothing reads
    ``last_seen`` while a batch is applied, so the table ends as if each update ran in turn.
    Tool-discovered events wait likewise (with the removals that follow them in the
    batch): a tool changed several times in a batch gets one upsert, the rows go in key
    order, and ``tool_versions`` rows (only ever appended) are written in one go.
    """

    name = "tools"
    tables = ("tools", "tool_versions")
    deferred_indexes = ("tools_callable", "tool_versions_tool")
    handles = frozenset({"tool-discovered", "tool-removed", "server-connected"})

    def __init__(self) -> None:
        self._last_seen: dict[tuple[str, str], str] = {}  # (server, name) -> time, this batch
        self._versions: list[tuple] = []  # tool_versions rows of this batch, in log order
        # (server, name) -> what this batch's tool-discovered events (and the tool-removed
        # events after them) do to the tool's row
        self._tools: dict[tuple[str, str], _ToolChanges] = {}

    def flush(self, db: sqlite3.Connection) -> None:
        """Write this batch's tool rows, ``tool_versions`` rows and the ``last_seen``
        updates of its server-connected events.

        A tool discovered in the batch gets one upsert: the fields of its latest schema,
        and the counters and state all of its changes in the batch add up to, as if each
        had been written in turn (rows in key order, so the writes walk the table once)."""
        tools, self._tools = self._tools, {}
        if tools:
            db.executemany(
                "INSERT INTO tools (server, name, title, description, input_schema, output_schema,"
                " annotations, schema_hash, schema_valid, schema_errors, callable, removed, source,"
                " versions, stream_version, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(server, name) DO UPDATE SET title = excluded.title,"
                " description = excluded.description, input_schema = excluded.input_schema,"
                " output_schema = excluded.output_schema, annotations = excluded.annotations,"
                " schema_hash = excluded.schema_hash, schema_valid = excluded.schema_valid,"
                " schema_errors = excluded.schema_errors, callable = excluded.callable, removed = excluded.removed,"
                " source = excluded.source, versions = tools.versions + excluded.versions,"
                " stream_version = tools.stream_version + excluded.stream_version, last_seen = excluded.last_seen",
                [
                    (*key, *t.fields, t.removed, t.source, t.versions, t.changes, t.first_seen, t.last_seen)
                    for key, t in sorted(tools.items())
                ],
            )
        versions, self._versions = self._versions, []
        if versions:
            db.executemany(
                "INSERT INTO tool_versions (position, server, name, change, schema_hash, previous_hash, time, run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                versions,
            )
        pending, self._last_seen = self._last_seen, {}
        if pending:  # after the tool rows: a connection's time is later than the changes before it
            db.executemany(
                "UPDATE tools SET last_seen = ? WHERE server = ? AND name = ?",
                [(time, server, name) for (server, name), time in pending.items()],
            )

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ServerConnected):  # (server, name) -> time, for every tool listed
            self._last_seen.update(dict.fromkeys(zip(repeat(e.server), e.tool_hashes), rec.time))
            return
        if isinstance(e, (ToolDiscovered, ToolRemoved)):
            self._last_seen.pop((e.server, e.name), None)
        if isinstance(e, ToolDiscovered):
            # the columns as text now: a batch holds many events, and keeping their decoded
            # schemas alive until the flush would make every garbage collection walk them
            fields = (
                e.title, e.description, dumps(e.input_schema),
                None if e.output_schema is None else dumps(e.output_schema), dumps(e.annotations),
                e.schema_hash, int(e.schema_valid), dumps(e.schema_errors), int(e.callable),
            )
            waiting = self._tools.get((e.server, e.name))
            if waiting is None:
                self._tools[(e.server, e.name)] = _ToolChanges(fields, e.source, rec.time, rec.time)
            else:
                waiting.fields, waiting.source = fields, e.source
                waiting.versions += 1
                waiting.changes += 1
                waiting.removed = 0
                waiting.last_seen = rec.time
            self._versions.append(
                (rec.position, e.server, e.name, "changed" if e.previous_hash else "added", e.schema_hash,
                 e.previous_hash, rec.time, rec.run)
            )
        elif isinstance(e, ToolRemoved):
            waiting = self._tools.get((e.server, e.name))
            if waiting is not None:  # discovered earlier in this batch: its row will exist
                waiting.changes += 1
                waiting.removed = 1
                waiting.last_seen = rec.time
            else:  # the row, if the table has it, is as the events before this one left it
                db.execute(
                    "UPDATE tools SET removed = 1, stream_version = stream_version + 1, last_seen = ?"
                    " WHERE server = ? AND name = ?",
                    (rec.time, e.server, e.name),
                )
            self._versions.append(
                (rec.position, e.server, e.name, "removed", e.last_hash, e.last_hash, rec.time, rec.run)
            )
