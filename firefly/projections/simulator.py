"""The simulator's lookup projection: ``sim_tools``, ``sim_calls`` and ``sim_generated``.

``sim_calls`` holds every real result (a ``tool-called`` event without ``error_class``, or
an in-band error: a reply whose text reports a failure though ``isError`` is false, kept as
the error it is, ``is_error`` 1 and no effect: a read of a thing not made yet answered "not
found" in that world, and replay shows it so) under the key of its canonical arguments (:mod:`firefly.simulator.canonical`), with the
world it was observed in: ``state`` (every effect of the exploration before it, as the
explorer recorded it) and ``server_state`` (only the effects on the same server, rebuilt
here from the exploration's earlier rows). Schema defaults come from the tool's latest
``tool-discovered`` event before the call: ``sim_schemas`` keeps its position (the schema
is read from the event), so a call is canonicalised with the schema the log had when it
was recorded, on the incremental path and on rebuild alike. ``sim_tools`` is a view that
shows those schemas.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from ..events import IN_BAND_ERROR, ToolCalled, ToolDiscovered, ToolSimulated
from ..ids import canonical_json, content_hash
from ..simulator.canonical import call_key, canonical_arguments
from .base import Projection, dumps

_decoder = msgspec.json.Decoder()


def effect_of(server: str, tool: str, arguments_hash: str) -> str:
    """One effect as the explorer records it in ``state`` (see firefly/explore/stage.py)."""
    return canonical_json([server, tool, arguments_hash])


class SimulatorProjection(Projection):
    name = "simulator"
    tables = ("sim_schemas", "sim_calls", "sim_generated")
    # not sim_calls_exploration: apply() reads an exploration's earlier rows through it
    deferred_indexes = ("sim_calls_state", "sim_calls_server_state", "sim_calls_tool")
    handles = frozenset({"tool-discovered", "tool-called", "tool-simulated"})

    def __init__(self) -> None:
        self._schemas: dict[int, dict[str, Any] | None] = {}  # tool-discovered position -> its input schema
        self._latest: dict[tuple[str, str], int] = {}  # this batch's sim_schemas rows, written by flush()

    def flush(self, db: sqlite3.Connection) -> None:
        latest, self._latest = self._latest, {}
        if latest:
            db.executemany(
                "INSERT OR REPLACE INTO sim_schemas (server, tool, position) VALUES (?, ?, ?)",
                [(server, tool, position) for (server, tool), position in sorted(latest.items())],
            )

    def _schema(self, db: sqlite3.Connection, server: str, tool: str) -> dict[str, Any] | None:
        """The input schema of the tool's latest tool-discovered event (None if unknown)."""
        position = self._latest.get((server, tool))
        if position is None:
            row = db.execute("SELECT position FROM sim_schemas WHERE server = ? AND tool = ?", (server, tool)).fetchone()
            if row is None:
                return None
            position = row[0]
        if position not in self._schemas:  # events never change: a schema read once stays right
            if len(self._schemas) >= 10_000:
                self._schemas.clear()
            text = db.execute(
                "SELECT json_extract(payload, '$.input_schema') FROM events WHERE position = ?", (position,)
            ).fetchone()[0]
            self._schemas[position] = None if text is None else _decoder.decode(text)
        return self._schemas[position]

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ToolDiscovered):
            self._latest[(e.server, e.name)] = rec.position
        elif isinstance(e, ToolCalled):
            if e.error_class is not None and e.error_class != IN_BAND_ERROR:  # no result: skipped, timed out, server died ...
                return
            failed = e.is_error or e.error_class is not None
            canonical = canonical_arguments(e.arguments, self._schema(db, e.server, e.tool))
            earlier = db.execute(
                "SELECT server, tool, arguments_hash FROM sim_calls WHERE exploration_id = ? AND step < ? AND effect = 1"
                " ORDER BY step, attempt",
                (e.exploration_id, e.step),
            ).fetchall()
            effects = [effect_of(*x) for x in earlier]
            server_state = content_hash([effect_of(*x) for x in earlier if x[0] == e.server])
            db.execute(
                "INSERT OR IGNORE INTO sim_calls (position, key, server, tool, arguments, arguments_hash, state, server_state,"
                " read_only, effect, content, structured_content, is_error, exploration_id, step, attempt, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.position, call_key(e.server, e.tool, canonical), e.server, e.tool, canonical,
                    e.arguments_hash or content_hash(e.arguments), e.state or content_hash(effects), server_state,
                    int(e.read_only), int(not failed and not e.read_only), dumps(e.content),
                    None if e.structured_content is None else dumps(e.structured_content), int(failed),
                    e.exploration_id, e.step, e.attempt, rec.time,
                ),
            )
        elif isinstance(e, ToolSimulated):
            db.execute(
                "INSERT OR IGNORE INTO sim_generated (position, key, server_state, server, tool, arguments, content,"
                " structured_content, is_error, model, request_hash, neighbours, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.position, e.call_key, e.server_state, e.server, e.tool, canonical_json(e.arguments), dumps(e.content),
                    None if e.structured_content is None else dumps(e.structured_content), int(e.is_error), e.model,
                    e.request_hash, dumps(e.neighbours), rec.time,
                ),
            )
