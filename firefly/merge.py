"""Merge the logs of separate workers: ``firefly merge A.db B.db ... OUT.db``.

The output's log is the union of the inputs' logs. Each input keeps its own order; the
inputs are interleaved by event time (then id), so a stream written by several workers
reads in the order its facts happened. Event ids are globally unique (ULIDs): an event
found in two inputs (a worker that started from a copy of another's database) is written
once, and the same id with different content is an error. An event whose idempotency key
is already in the output is the same fact recorded twice (two workers discovered the same
tool version, explored the same DAG): the first one is kept. Every projection is then
rebuilt from the merged log.

Vector indexes beside the inputs are not merged: they are rebuilt from the merged
``embeddings`` when first needed. Secrets files are: ``<out>.secrets.json`` (mode 0600)
gets the union of the inputs' (and of the one already there, when ``--force`` replaces an
output), written before the merged file appears. The log is copied as it is, so a merged
log holds whatever its inputs held; with their secret values beside it, ``firefly pack``
and ``firefly export`` of the merged file still find any of them and refuse.

Why the values themselves, not salted hashes of them inside the merged file: a file is
checked by searching its bytes for each value, which takes the value; a hash could only be
checked by hashing every substring of every length a secret might have. The sidecar is the
same kind of file each input already had beside it (owner-only, never packed), so a merge
adds no new place a secret is kept in clear.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .pack import PackError, finish_output, prepare_output, remove_database
from .secrets import SecretsFile
from .store import Store

Progress = Callable[[str, int, int], None]
Row = tuple[str, str, str, str, str, str | None, str]  # id, type, stream, time, run, key, payload


class MergeError(PackError):
    """The logs could not be merged."""


@dataclass
class MergeReport:
    path: Path
    inputs: dict[str, int] = field(default_factory=dict)  # input -> events read
    written: int = 0
    same_id: int = 0
    same_key: int = 0
    applied: int = 0
    secrets: int = 0  # distinct secret values in the merged secrets file

    def summary(self) -> dict[str, Any]:
        return {"inputs": len(self.inputs), "read": sum(self.inputs.values()), "written": self.written,
                "duplicate_ids": self.same_id, "duplicate_keys": self.same_key, "secret_values": self.secrets}


def _open_input(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise MergeError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path.absolute()}?mode=ro", uri=True)
        has_log = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise MergeError(f"{path} is not a usable SQLite database: {exc}") from None
    if not has_log:
        conn.close()
        raise MergeError(f"{path} is not a firefly database (it has no events table)")
    return conn


def _rows(conn: sqlite3.Connection) -> Iterator[Row]:
    sql = ("SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events"
           " WHERE position > ? ORDER BY position LIMIT 5000")
    after = 0
    while True:
        page = conn.execute(sql, (after,)).fetchall()
        if not page:
            return
        for row in page:
            yield row[1:]
        after = page[-1][0]


def merge(inputs: list[Path], out: Path, *, force: bool = False, progress: Progress | None = None) -> MergeReport:
    """Write the union of the inputs' logs to ``out`` and rebuild its projections."""
    inputs = [Path(p) for p in inputs]
    out = Path(out)
    if not inputs:
        raise MergeError("name at least one database to merge, then the output file")
    if len({p.absolute() for p in inputs}) != len(inputs):
        raise MergeError("an input database is named twice")
    conns = [_open_input(p) for p in inputs]
    partial = prepare_output(out, inputs, force=force)
    report = MergeReport(path=out)
    try:
        totals = [c.execute("SELECT count(*) FROM events").fetchone()[0] for c in conns]
        total = sum(totals)
        report.inputs = {str(p): n for p, n in zip(inputs, totals, strict=True)}
        with Store.open(partial) as merged:
            # heapq.merge keeps each input's own order whatever its times; interleaves by (time, id)
            stream = heapq.merge(*(_rows(c) for c in conns), key=lambda row: (row[3], row[0]))
            done = 0
            batch_end = 0
            while True:
                with merged.transaction() as conn:
                    for row in stream:
                        done += 1
                        _insert(conn, row, report)
                        if done - batch_end >= 5000:
                            break
                    else:
                        break
                batch_end = done
                if progress:
                    progress("merge logs", done, total)
            if progress:
                progress("merge logs", done, total)
            report.applied = merged.catch_up(
                progress=(lambda n, all_: progress("projections", n, all_)) if progress else None)
            merged.conn.execute("PRAGMA journal_mode=DELETE")
        report.secrets = SecretsFile(out).merge(SecretsFile(p) for p in inputs)
        finish_output(partial, out)
    except BaseException:
        remove_database(partial)
        raise
    finally:
        for c in conns:
            c.close()
    return report


INSERT = ("INSERT OR IGNORE INTO events (id, type, stream, time, run, idempotency_key, payload)"
          " VALUES (?, ?, ?, ?, ?, ?, ?)")


def absorb(store: Store, rows: list[Row], report: MergeReport) -> None:
    """Append another log's events (a Ray shard's, :mod:`firefly.distributed`) to an open
    store's log, in their order, by the rule of :func:`merge`: an id or an idempotency key
    already in the log is the same fact, written once. One transaction; the caller catches
    the projections up."""
    with store.transaction() as conn:
        for row in rows:
            _insert(conn, tuple(row), report)  # type: ignore[arg-type]


def _insert(conn: sqlite3.Connection, row: Row, report: MergeReport) -> None:
    if conn.execute(INSERT, row).rowcount == 0:
        _skipped(conn, row, report)
    else:
        report.written += 1


def _skipped(conn: sqlite3.Connection, row: Row, report: MergeReport) -> None:
    """Account for an event the output already had (by id or by idempotency key)."""
    id_, type_, stream, time, run, key, payload = row
    same = conn.execute("SELECT type, stream, time, run, idempotency_key, payload FROM events WHERE id = ?", (id_,)).fetchone()
    if same is not None:
        if tuple(same) != (type_, stream, time, run, key, payload):
            raise MergeError(f"event {id_} appears in two inputs with different content; these logs cannot be merged")
        report.same_id += 1
    elif key is not None and conn.execute("SELECT 1 FROM events WHERE idempotency_key = ?", (key,)).fetchone():
        report.same_key += 1
    else:  # neither its id nor its key is there: the log's CHECK refused it (OR IGNORE skips it)
        raise MergeError(f"event {id_} (type {type_!r}, stream {stream!r}) of an input cannot be merged: its payload"
                         " is not JSON")
