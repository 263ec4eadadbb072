"""Schema migrations: SQL files in ``schema/migrations/``, applied in name order when a
database is opened, each in one transaction together with its record in ``_migrations``.

Migrations only ever append: a shipped file is never edited; a change is a new file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import MigrationError
from .ids import utc_now
from .resources import schema_dir


def migration_files() -> list[Path]:
    return sorted((schema_dir() / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))


def applied(conn: sqlite3.Connection) -> set[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    return {row[0] for row in conn.execute("SELECT name FROM _migrations")}


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied. ``conn`` must be in autocommit."""
    done = applied(conn)
    newly: list[str] = []
    for path in migration_files():
        name = path.stem
        if name in done:
            continue
        sql = path.read_text()
        try:
            conn.execute("BEGIN IMMEDIATE")
            # re-check under the write lock: another process may have just applied it
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                conn.execute("COMMIT")
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, utc_now())
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"migration {name} failed: {exc}") from exc
        newly.append(name)
    return newly


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (complete_statement handles triggers' inner ';')."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise MigrationError(f"incomplete SQL statement at the end of a migration: {buffer[:80]!r}")
    return statements
