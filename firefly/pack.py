"""Ship the dataset as one SQLite file: ``firefly pack OUT.db``.

The packed file holds the whole log (same positions and ids), every projection rebuilt from
it, the files that live beside a working database (the usearch vector indexes and their
descriptions: ``<db>.tools.usearch``, and the folder of per-tool indexes the simulator keeps,
``<db>.calls.usearch/``) embedded in ``dataset_files``, and a ``dataset`` table describing it: counts,
versions, the options of every run, and a content hash. It is written in rollback-journal
mode (no ``-wal`` sibling), so one file is the dataset; plain Datasette reads it as is.

Secrets are refused, twice: every event payload is scanned for credential shapes
(:func:`firefly.secrets.find_secret`) before anything is written, and the finished file's
bytes are searched for every secret value the database has been given
(:meth:`firefly.store.Store.secret_values`: the secrets file beside it -- for a merged
database, the union of its inputs' -- and the environment variables that server ``env`` /
``headers`` templates and the LLM client refer to). Either finding removes the partial file
and raises :class:`SecretFound`. (The store keeps those values out of every event it
appends; the scan catches a log written before it did, or merged from one.)

``drop_raw`` leaves out the raw LLM exchanges (``llm-replied`` events: prompts and replies).
What was decided from them (edge verdicts, tasks) stays; a re-run would ask the model again.

Opening a packed file with :meth:`firefly.store.Store.open` writes the embedded files that
are missing beside it (:func:`restore_files`), so a copy at another path uses the shipped
vector indexes instead of rebuilding them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from . import errors
from .errors import FireflyError
from .ids import utc_now
from .secrets import find_secret, found
from .store import Store

FORMAT = "firefly-dataset/1"
RAW_TYPES = ("llm-replied",)

Progress = Callable[[str, int, int], None]


class PackError(FireflyError):
    """The dataset file could not be written."""


class SecretFound(PackError, errors.SecretFound):
    """What would be shipped contains something that is, or looks like, a secret."""


@dataclass
class PackReport:
    path: Path
    events: int = 0
    dropped: int = 0
    files: dict[str, int] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    content_hash: str = ""
    size: int = 0

    def summary(self) -> dict[str, Any]:
        return {"events": self.events, "dropped_raw": self.dropped, "files": len(self.files),
                "bytes": self.size, "content_hash": self.content_hash}


# -- the files beside a database --------------------------------------------------------------


def _is_index_name(name: str) -> bool:
    return name.endswith(".usearch") or name.endswith(".usearch.json")


def sidecar_files(db_path: Path) -> dict[str, Path]:
    """The vector indexes beside a database and their descriptions, keyed by the name after
    ``<db>.``: files ``<db>.<name>`` whose name ends in ``.usearch`` or ``.usearch.json``
    (the tool index), and every file inside a folder ``<db>.<name>.usearch/`` (the
    simulator's per-tool indexes), keyed ``<name>.usearch/<file>``."""
    prefix = db_path.name + "."
    found: dict[str, Path] = {}
    if not db_path.parent.is_dir():
        return found
    for path in sorted(db_path.parent.iterdir()):
        if not path.name.startswith(prefix) or not _is_index_name(path.name):
            continue
        name = path.name[len(prefix):]
        if path.is_file():
            found[name] = path
        elif path.is_dir():
            for inner in sorted(path.rglob("*")):
                if inner.is_file() and not inner.name.endswith(".tmp"):
                    found[f"{name}/{inner.relative_to(path).as_posix()}"] = inner
    return found


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and _is_index_name(parts[0]) and "\\" not in name and all(p not in ("", ".", "..") for p in parts)


def restore_files(conn: sqlite3.Connection, db_path: Path) -> list[Path]:
    """Write the files a packed database embeds beside it, where they are missing.

    Returns the paths written. A folder that cannot be written is left alone: whoever needs
    a file then rebuilds it (the vector indexes do) or reports it."""
    has_table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dataset_files'").fetchone()
    if not has_table:
        return []
    written: list[Path] = []
    for (name,) in conn.execute("SELECT name FROM dataset_files ORDER BY name").fetchall():
        target = Path(f"{db_path}.{name}")
        if target.exists() or not _safe_name(name):
            continue
        (content,) = conn.execute("SELECT content FROM dataset_files WHERE name = ?", (name,)).fetchone()
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(content)
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)
            continue
        written.append(target)
    return written


def _refresh_tool_index(store: Store) -> None:
    """Bring the tool vector index beside ``store`` up to date before it is embedded: the
    embedder of the index already there, else the one that embedded last."""
    from .vectors import ToolIndex

    meta_path = Path(f"{ToolIndex.path_for(store)}.json")
    model = None
    if meta_path.exists():
        try:
            model = json.loads(meta_path.read_text()).get("model")
        except (OSError, ValueError):
            model = None
    if model is None:
        row = store.conn.execute("SELECT model FROM embeddings ORDER BY position DESC LIMIT 1").fetchone()
        model = row[0] if row else None
    if model is not None:
        ToolIndex.open(store, model)


def is_packed(path: Path) -> bool:
    """Whether ``path`` is a dataset file written by :func:`pack` (read without writing)."""
    try:
        conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
        try:
            return bool(conn.execute("SELECT 1 FROM dataset WHERE key = 'format'").fetchone())
        finally:
            conn.close()
    except sqlite3.Error:
        return False


# -- secrets -----------------------------------------------------------------------------------


def scan_log(conn: sqlite3.Connection, *, skip_types: tuple[str, ...] = (), limit: int = 5) -> list[str]:
    """Places in the log whose payload looks like it holds a credential (up to ``limit``)."""
    found: list[str] = []
    marks = ",".join("?" * len(skip_types))
    where = f"WHERE type NOT IN ({marks})" if skip_types else ""
    for position, type_, stream, payload in conn.execute(
        f"SELECT position, type, stream, payload FROM events {where} ORDER BY position", skip_types
    ):
        kind = find_secret(payload)
        if kind is not None:
            found.append(f"event {position} ({type_}, {stream}) holds what looks like a {kind}")
            if len(found) >= limit:
                break
    return found


def scan_bytes(path: Path, secrets: dict[str, str]) -> list[str]:
    """Which known secret values occur in a file's bytes (as UTF-8 text, or JSON-escaped)."""
    return found(path.read_bytes(), secrets)


# -- the content hash --------------------------------------------------------------------------


def content_hash(conn: sqlite3.Connection) -> str:
    """``sha256:`` over the log and the embedded files, independent of where and when the
    file was packed: for each event in position order its id, type, stream, time, run,
    idempotency key and payload (each followed by a 0 byte, the key empty when null), then
    for each embedded file in name order its name and its bytes' sha256."""
    digest = hashlib.sha256()
    for row in conn.execute("SELECT id, type, stream, time, run, idempotency_key, payload FROM events ORDER BY position"):
        for value in row:
            digest.update((value or "").encode())
            digest.update(b"\0")
    has_files = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dataset_files'").fetchone()
    if has_files:
        for name, sha in conn.execute("SELECT name, sha256 FROM dataset_files ORDER BY name"):
            digest.update(f"{name}\0{sha}\0".encode())
    return "sha256:" + digest.hexdigest()


# -- packing -----------------------------------------------------------------------------------


def remove_database(path: Path) -> None:
    """Delete a database file, its journal siblings and the vector indexes beside it."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for sidecar in sidecar_files(path).values():
        sidecar.unlink(missing_ok=True)
    prefix = path.name + "."
    if path.parent.is_dir():
        for folder in path.parent.iterdir():
            if folder.is_dir() and folder.name.startswith(prefix) and _is_index_name(folder.name):
                shutil.rmtree(folder, ignore_errors=True)


def prepare_output(out: Path, inputs: list[Path], *, force: bool) -> Path:
    """Check that ``out`` may be written (not an input; exists only with ``force``) and
    return the partial path to write first (renamed over ``out`` when complete)."""
    out = Path(out)
    if not out.parent.is_dir():
        raise PackError(f"cannot write {out}: folder {out.parent} does not exist")
    for source in inputs:
        if out.absolute() == Path(source).absolute() or (out.exists() and Path(source).exists() and out.samefile(source)):
            raise PackError(f"{out} is also an input; write the result to another file")
    if out.exists() and not force:
        raise PackError(f"{out} already exists; pass --force to replace it")
    partial = out.with_name(out.name + ".partial")
    remove_database(partial)
    return partial


def finish_output(partial: Path, out: Path) -> None:
    """Move a complete partial database (a single file) over ``out``."""
    remove_database(out)
    os.replace(partial, out)


def _table_counts(conn: sqlite3.Connection, tables: list[str]) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in tables}


def pack(store: Store, out: Path, *, drop_raw: bool = False, force: bool = False, progress: Progress | None = None) -> PackReport:
    """Write the dataset of ``store`` to ``out`` as one self-contained SQLite file."""
    out = Path(out)
    store.catch_up()
    skip = RAW_TYPES if drop_raw else ()
    places = scan_log(store.conn, skip_types=skip)
    if places:
        raise SecretFound(
            "refusing to pack: " + "; ".join(places)
            + ". Find and fix what recorded it (a server that prints credentials, an argument); the log itself cannot be edited."
        )
    secrets = store.secret_values()
    if not store.read_only:  # on read-only media the index files beside it are taken as they are
        _refresh_tool_index(store)
    partial = prepare_output(out, [store.path], force=force)
    report = PackReport(path=out)
    try:
        _write(store, partial, skip, report, progress)
        found = scan_bytes(partial, secrets)
        if found:
            raise SecretFound(f"refusing to pack: the packed bytes contain the value of {', '.join(found)}")
        finish_output(partial, out)
    except BaseException:
        remove_database(partial)
        raise
    report.size = out.stat().st_size
    return report


def _write(store: Store, partial: Path, skip: tuple[str, ...], report: PackReport, progress: Progress | None) -> None:
    with Store.open(partial) as packed:
        conn = packed.conn
        total = store.head()
        marks = ",".join("?" * len(skip))
        sql = "SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events WHERE position > ?"
        sql += f" AND type NOT IN ({marks})" if skip else ""
        sql += " ORDER BY position LIMIT 5000"
        after = 0
        while True:
            rows = store.conn.execute(sql, (after, *skip)).fetchall()
            if not rows:
                break
            try:
                with packed.transaction():
                    conn.executemany(
                        "INSERT INTO events (position, id, type, stream, time, run, idempotency_key, payload)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError as exc:  # the log's CHECK: an event written while there was none
                bad = next((row for row in rows if not conn.execute("SELECT json_valid(?)", (row[7],)).fetchone()[0]), None)
                if bad is None:
                    raise
                raise PackError(f"event {bad[0]} of the log (type {bad[2]!r}, stream {bad[3]!r}, id {bad[1]}) cannot be"
                                " packed: its payload is not JSON") from exc
            after = rows[-1][0]
            report.events += len(rows)
            if progress:
                progress("copy log", after, total)
        report.dropped = store.count() - report.events
        packed.catch_up(progress=(lambda done, all_: progress("projections", done, all_)) if progress else None)

        files = sidecar_files(store.path)
        with packed.transaction():
            for name, path in files.items():
                data = path.read_bytes()
                conn.execute("INSERT INTO dataset_files (name, size, sha256, content) VALUES (?, ?, ?, ?)",
                             (name, len(data), "sha256:" + hashlib.sha256(data).hexdigest(), data))
                report.files[name] = len(data)
        tables = [t for p in packed.projections for t in p.tables]
        report.tables = _table_counts(conn, tables)
        report.content_hash = content_hash(conn)
        with packed.transaction():
            conn.executemany("INSERT INTO dataset (key, value, description) VALUES (?, ?, ?)",
                             [(k, json.dumps(v, sort_keys=True), d) for k, v, d in _describe(packed, store, skip, report)])
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")


def _describe(packed: Store, source: Store, skip: tuple[str, ...], report: PackReport) -> Iterator[tuple[str, Any, str]]:
    conn = packed.conn
    yield "format", FORMAT, "what this file is: a firefly dataset (the log, its projections and embedded files)"
    yield "content_hash", report.content_hash, (
        "sha256 over every event (id, type, stream, time, run, idempotency key, payload; each followed by a 0 byte)"
        " in position order, then each embedded file's name and sha256 in name order (firefly/pack.py::content_hash)")
    yield "packed_at", utc_now(), "when the file was written (UTC)"
    yield "source", source.path.name, "the database it was packed from"
    yield "firefly_version", __version__, "the firefly that packed it"
    yield "sqlite_version", sqlite3.sqlite_version, "the SQLite library that wrote it"
    yield "migrations", [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")], "schema migrations applied"
    yield "events", report.events, "events in the log"
    yield "event_types", dict(conn.execute("SELECT type, count(*) FROM events GROUP BY type ORDER BY type").fetchall()), "events per type"
    yield "raw_llm_exchanges", ({"dropped": report.dropped, "types": list(skip)} if skip else "kept"), (
        "whether the raw LLM exchanges (prompts and replies) were left out (--drop-raw)")
    yield "tables", report.tables, "rows per projection table"
    yield "files", {name: {"size": size} for name, size in report.files.items()}, (
        "files embedded in dataset_files (written beside the database when it is opened with firefly)")
    servers = conn.execute(
        "SELECT name, server_name, server_version, tools FROM servers WHERE callable = 1 ORDER BY name").fetchall()
    yield "servers", {name: {"server_name": sn, "version": v, "tools": n} for name, sn, v, n in servers}, (
        "callable servers and the versions they reported")
    runs = conn.execute(
        "SELECT run_id, command, options, version, status, started_at, finished_at FROM runs ORDER BY started_at, run_id").fetchall()
    yield "runs", [
        {"run_id": r[0], "command": r[1], "options": json.loads(r[2]), "firefly_version": r[3], "status": r[4],
         "started_at": r[5], "finished_at": r[6]} for r in runs
    ], "every run that wrote to the log, with its options"
