"""``explorations`` and ``calls``: what the explorers did and what the real tools answered."""

from __future__ import annotations

import sqlite3

from ..events import ExplorationFailed, ExplorationFinished, ExplorationStarted, ToolCalled
from .base import Projection, dumps


def result_text(content: list[dict]) -> str:
    return "\n".join(b.get("text", "") for b in content if b.get("type") == "text" and isinstance(b.get("text"), str))


class ExplorationsProjection(Projection):
    name = "explorations"
    tables = ("explorations", "calls")
    deferred_indexes = ("explorations_dag", "explorations_status", "calls_tool", "calls_lookup", "calls_probe")
    handles = frozenset({"exploration-started", "tool-called", "exploration-finished", "exploration-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ExplorationStarted):
            db.execute(
                "INSERT OR IGNORE INTO explorations (exploration_id, dag_id, policy, seed, tools, status,"
                " servers, started_at, run) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                (e.exploration_id, e.dag_id, e.policy, e.seed, dumps(e.tools),
                 len({t.split("/", 1)[0] for t in e.tools}), rec.time, rec.run),
            )
        elif isinstance(e, ToolCalled):
            ok = not e.is_error and e.error_class is None
            db.execute(
                "INSERT INTO calls (position, exploration_id, step, attempt, server, tool, arguments,"
                " arguments_hash, sources, chained, result_text, content, structured_content, is_error,"
                " error_class, error, ok, latency_ms, result_bytes, truncated, read_only, state, time, probe_of)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.position, e.exploration_id, e.step, e.attempt, e.server, e.tool, dumps(e.arguments),
                    e.arguments_hash, dumps([s for s in e.sources]),
                    int(ok and any(s.event is None and s.step >= 0 for s in e.sources)),
                    result_text(e.content), dumps(e.content),
                    None if e.structured_content is None else dumps(e.structured_content), int(e.is_error),
                    e.error_class, e.error, int(ok), e.latency_ms, e.result_bytes, int(e.truncated),
                    int(e.read_only), e.state, rec.time, e.probe_of,
                ),
            )
        elif isinstance(e, ExplorationFinished):
            db.execute(
                "UPDATE explorations SET status = 'finished', calls = ?, successes = ?, errors = ?, chained = ?,"
                " ended_at = ? WHERE exploration_id = ?",
                (e.calls, e.successes, e.errors, e.chained, rec.time, e.exploration_id),
            )
        elif isinstance(e, ExplorationFailed):
            db.execute(
                "UPDATE explorations SET status = 'failed', reason = ?, ended_at = ? WHERE exploration_id = ?",
                (e.reason, rec.time, e.exploration_id),
            )
