"""``runs`` (one row per command that wrote to the log) and ``errors`` (every error event)."""

from __future__ import annotations

import sqlite3

from ..events import ExplorationFailed, RunFinished, RunStarted, ServerFailed, ToolCalled
from .base import Projection, dumps


class RunsProjection(Projection):
    name = "runs"
    tables = ("runs",)
    handles = frozenset({"run-started", "run-finished"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, RunStarted):
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, command, options, version, status, started_at)"
                " VALUES (?, ?, ?, ?, 'running', ?)",
                (e.run_id, e.command, dumps(e.options), e.version, rec.time),
            )
        elif isinstance(e, RunFinished):
            db.execute(
                "UPDATE runs SET status = ?, message = ?, summary = ?, finished_at = ? WHERE run_id = ?",
                (e.status, e.message, dumps(e.summary), rec.time, e.run_id),
            )


class ErrorsProjection(Projection):
    name = "errors"
    tables = ("errors",)
    handles = frozenset({"server-failed", "tool-called", "exploration-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        row = None
        if isinstance(e, ServerFailed):
            row = ("discover", e.server, None, e.error_class, e.message)
        elif isinstance(e, ToolCalled) and e.error_class is not None:
            row = ("explore", e.server, e.tool, e.error_class, e.error or "")
        elif isinstance(e, ExplorationFailed):
            row = ("explore", None, None, "exploration-failed", e.reason)
        if row is not None:
            db.execute(
                "INSERT INTO errors (position, time, run, stage, server, tool, error_class, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.position, rec.time, rec.run, *row),
            )
