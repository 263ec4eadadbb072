"""The simulator's lookup projection: ``sim_tools``, ``sim_calls`` and ``sim_generated``.

``sim_calls`` holds every real result (a ``tool-called`` event without ``error_class``)
under the key of its canonical arguments (:mod:`firefly.simulator.canonical`), with the
world it was observed in: ``state`` (every effect of the exploration before it, as the
explorer recorded it) and ``server_state`` (only the effects on the same server, rebuilt
here from the exploration's earlier rows). Schema defaults come from ``sim_tools``, which
this projection keeps itself from ``tool-discovered`` events, so a call is canonicalised
with the schema the log had when it was recorded, on the incremental path and on rebuild
alike.
"""

from __future__ import annotations

import sqlite3

import msgspec

from ..events import ToolCalled, ToolDiscovered, ToolSimulated
from ..ids import canonical_json, content_hash
from ..simulator.canonical import call_key, canonical_arguments
from .base import Projection, dumps

_decoder = msgspec.json.Decoder()


def effect_of(server: str, tool: str, arguments_hash: str) -> str:
    """One effect as the explorer records it in ``state`` (see firefly/explore/stage.py)."""
    return canonical_json([server, tool, arguments_hash])


class SimulatorProjection(Projection):
    name = "simulator"
    tables = ("sim_tools", "sim_calls", "sim_generated")
    handles = frozenset({"tool-discovered", "tool-called", "tool-simulated"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ToolDiscovered):
            db.execute(
                "INSERT OR REPLACE INTO sim_tools (server, tool, input_schema, annotations, position) VALUES (?, ?, ?, ?, ?)",
                (e.server, e.name, dumps(e.input_schema), dumps(e.annotations), rec.position),
            )
        elif isinstance(e, ToolCalled):
            if e.error_class is not None:  # no result: skipped, timed out, server died ...
                return
            row = db.execute("SELECT input_schema FROM sim_tools WHERE server = ? AND tool = ?", (e.server, e.tool)).fetchone()
            schema = _decoder.decode(row[0]) if row else None
            canonical = canonical_arguments(e.arguments, schema)
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
                    int(e.read_only), int(not e.is_error and not e.read_only), dumps(e.content),
                    None if e.structured_content is None else dumps(e.structured_content), int(e.is_error),
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
