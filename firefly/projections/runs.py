"""``runs`` (one row per command that wrote to the log) and ``errors`` (every error event)."""

from __future__ import annotations

import sqlite3

from ..events import RunFinished, RunStarted, ServerFailed
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
    handles = frozenset({"server-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, ServerFailed):
            db.execute(
                "INSERT INTO errors (position, time, run, stage, server, tool, error_class, message)"
                " VALUES (?, ?, ?, 'discover', ?, NULL, ?, ?)",
                (rec.position, rec.time, rec.run, e.server, e.error_class, e.message),
            )
