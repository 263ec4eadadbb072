"""The event store: one SQLite file (WAL) holding the append-only log and its projections.

    store = Store.open("firefly.db")
    with store.transaction():
        store.append(ToolDiscovered(...))
    store.catch_up()           # bring every projection up to the head of the log

* Appending an event validates it against its type; an event whose idempotency key is
  already in the log is not written again, the existing record is returned instead.
* Secrets never enter the log: every string of every event appended (payload, stream and
  key; object keys included, at any depth) has the secret values the database was given
  (:func:`firefly.secrets.known_values`) replaced by ``[secret]``, so no field a server
  controls -- a tool's description or schema, its server's name, a result's keys -- can
  carry one in. The returned record holds the event as written.
* The database itself rejects UPDATE and DELETE on ``events`` (triggers in
  ``schema/migrations/0001_event_log.sql``).
* Projections (:mod:`firefly.projections`) apply the events after their checkpoint, in
  batches; each batch's row writes and checkpoint commit in one transaction.
* ``Store.open(path, create=False)`` is for commands that only read: a missing path or a
  file that is not a firefly database is a named error (:class:`DatabaseNotFound`,
  :class:`NotAFireflyDatabase`) before anything is written. ``read_only=True`` (or ``None``:
  when the file or its folder cannot be written, as on read-only media) opens the file with
  SQLite's ``mode=ro`` (``immutable=1`` in a folder nobody can write): no migration, no
  catching up, no run records, and an append is a :class:`ReadOnlyDatabase` error.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from . import __version__
from .errors import DatabaseNotFound, EventValidationError, FireflyError, NotAFireflyDatabase, ReadOnlyDatabase, UnreadableEvent
from .events import Event, RunFinished, RunStarted, decode, encode
from .ids import new_id, new_ids, utc_now
from .lease import WriterLease
from .migrations import migrate
from .secrets import KEY_VARIABLES, Redactor, SecretsFile, known_values, secret_variables, values_of

DEFAULT_DB = "firefly.db"
BATCH = 100_000
# Appending is dominated by the index pages each commit writes to the WAL (the idempotency
# key and stream indexes take random keys): 16 KiB pages halve the page count of a commit,
# and checkpointing every 64 MiB instead of SQLite's 4 MiB copies a page rewritten by many
# commits back into the database once. (scripts/bench_log.py measures both.)
PAGE_SIZE = 16384
WAL_CHECKPOINT_BYTES = 64 << 20


SQLITE_HEADER = b"SQLite format 3\x00"
LOG_TABLES = {"events", "_migrations"}  # what every firefly database has from its first migration


def default_db_path() -> Path:
    """``$FIREFLY_DB`` if set, else ``firefly.db`` in the working directory."""
    return Path(os.environ.get("FIREFLY_DB") or DEFAULT_DB)


def writable(path: Path) -> bool:
    """Whether SQLite could write ``path``: the file and its folder (where the WAL and the
    journal go). False on read-only media, whoever asks (access(2) says EROFS even to root)."""
    folder = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)


def read_only_uri(path: Path) -> str:
    """The URI that opens ``path`` for reading without writing anything: ``mode=ro``, and
    ``immutable=1`` when no one can write its folder and it has no WAL beside it (SQLite
    cannot read a WAL-mode file there otherwise: it would need to create the -shm file)."""
    folder = path.parent if str(path.parent) else Path(".")
    frozen = not os.access(folder, os.W_OK) and not Path(f"{path}-wal").exists()
    return f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if frozen else "")


def check_database(path: Path) -> None:
    """Raise :class:`DatabaseNotFound` or :class:`NotAFireflyDatabase` unless ``path`` is a
    firefly database. Reads the file, never writes it (nor creates it)."""
    if not path.exists():
        raise DatabaseNotFound(f"no firefly database at {path}: run the pipeline first (firefly run) or name one with --db")
    if not path.is_file():
        raise NotAFireflyDatabase(f"{path} is not a firefly database (not a file)")
    try:
        with path.open("rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise FireflyError(f"cannot read {path}: {exc.strerror or exc}") from None
    if header != SQLITE_HEADER:
        raise NotAFireflyDatabase(f"{path} is not a firefly database (not a SQLite file)")
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise NotAFireflyDatabase(f"{path} is not a usable SQLite database: {exc}") from None
    if not LOG_TABLES <= tables:
        raise NotAFireflyDatabase(f"{path} is a SQLite database but not a firefly one (it has no event log)")


class Recorded(msgspec.Struct, frozen=True, gc=False):
    """An event as the log holds it: the envelope plus the typed event."""

    position: int
    id: str
    type: str
    stream: str
    time: str
    run: str
    key: str | None
    event: Event


def read_event(position: int, id_: str, type_: str, stream: str, payload: Any) -> Event:
    """The event of one row of the log, checked against the row's type.

    A row the store did not write (a raw INSERT, a damaged file, a payload written before
    0015_json_check.sql) may not decode, or may decode as another type than its
    ``type`` column says: :class:`UnreadableEvent` names the row, so that a replay that
    meets it says which event stopped it."""
    try:
        if not isinstance(payload, (str, bytes)):
            raise EventValidationError(f"event payload is not JSON text but {type(payload).__name__}")
        event = decode(payload)
    except EventValidationError as exc:
        raise UnreadableEvent(_unreadable(position, id_, type_, stream, str(exc))) from None
    tag = type(event).__struct_config__.tag
    if tag != type_:
        raise UnreadableEvent(_unreadable(position, id_, type_, stream, f"its payload is a {tag!r} event"))
    return event


def _unreadable(position: int, id_: str, type_: str, stream: str, reason: str) -> str:
    return f"event {position} of the log (type {type_!r}, stream {stream!r}, id {id_}) cannot be read: {reason}"


class Store:
    """An open firefly database. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path, run_id: str):
        self.conn = conn
        self.path = path
        self.run_id = run_id
        self.read_only = False
        self._depth = 0
        self._secrets = SecretsFile(path)
        self._redactor = Redactor()
        self._redactor_stamp: tuple[Any, ...] | None = None
        self._secret_variables: tuple[str, ...] = tuple(sorted(KEY_VARIABLES))
        self._registrations_seen = 0
        self.lease: WriterLease | None = None  # held by a store opened as a writer

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        run_id: str | None = None,
        create: bool = True,
        read_only: bool | None = False,
        writer: str | None = None,
        wait: bool = False,
        on_wait: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> Store:
        """Open a database and apply pending migrations.

        ``create=False``: the file must already be a firefly database (else
        :class:`DatabaseNotFound` or :class:`NotAFireflyDatabase`, with nothing written).
        ``read_only``: True opens it read-only (see the module docstring); None does so
        only when it cannot be written (read-only media); False (the default) opens it for
        writing. A read-only open implies ``create=False``.

        ``writer`` (the command, e.g. "run") first takes the database's writer lease
        (:mod:`firefly.lease`), held until :meth:`close`: if another process writes the
        database, :class:`~firefly.errors.LeaseHeld` names it, or with ``wait`` the open
        waits for it to end (``on_wait`` is told whom it waits for). Readers pass no writer."""
        lease = None
        if writer is not None and read_only is not True:
            target = Path(path) if path is not None else default_db_path()
            if target.parent and not target.parent.exists():
                raise FireflyError(f"cannot create {target}: folder {target.parent} does not exist")
            lease = WriterLease.acquire(target, writer, wait=wait, on_wait=on_wait)
        try:
            store = cls._open(path, run_id=run_id, create=create, read_only=read_only)
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        store.lease = lease
        return store

    @classmethod
    def _open(cls, path: str | os.PathLike[str] | None = None, *, run_id: str | None = None,
              create: bool = True, read_only: bool | None = False) -> Store:
        path = Path(path) if path is not None else default_db_path()
        if read_only is None:
            read_only = path.exists() and not writable(path)
        if not create or read_only:
            check_database(path)
        if read_only:
            return cls._open_read_only(path, run_id or "read-only")
        if path.parent and not path.parent.exists():
            raise FireflyError(f"cannot create {path}: folder {path.parent} does not exist")
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            # a new file gets larger pages (an existing one keeps its own: in WAL mode the
            # page size is fixed); must come before anything creates the file's first page
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # a 128 MiB page cache (SQLite's default is 2 MiB): replaying a large log
            # updates projection rows all over their tables; it is only used as needed
            conn.execute("PRAGMA cache_size=-131072")
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_BYTES // page_size}")
            conn.execute(f"PRAGMA journal_size_limit={WAL_CHECKPOINT_BYTES}")
        except sqlite3.DatabaseError as exc:
            raise FireflyError(f"{path} is not a usable SQLite database: {exc}") from None
        migrate(conn)
        from .pack import restore_files

        restore_files(conn, path)  # a packed dataset's vector indexes, where missing
        store = cls(conn, path, run_id or new_id())
        store._restore_indexes()  # those an interrupted rebuild had dropped
        store._register_projections()
        return store

    @classmethod
    def _open_read_only(cls, path: Path, run_id: str) -> Store:
        from .projections import all_projections

        try:
            conn = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise NotAFireflyDatabase(f"{path} is not a usable SQLite database: {exc}") from None
        store = cls(conn, path, run_id)
        store.read_only = True
        store.projections = all_projections()
        return store

    def close(self) -> None:
        self.conn.close()
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); nested uses join the outer one."""
        if self.read_only:
            raise ReadOnlyDatabase(f"{self.path} is open read-only (read-only media?): this needs a writable copy of it")
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    # -- appending -------------------------------------------------------------------

    def append(
        self, event: Event, *, key: str | None = None, stream: str | None = None
    ) -> Recorded:
        """Append one event (validated). If its idempotency key is already in the log,
        nothing is written and the existing record is returned."""
        return self.append_many([event], keys=[key], streams=[stream])[0]

    def append_many(
        self,
        events: Sequence[Event],
        *,
        keys: Sequence[str | None] | None = None,
        streams: Sequence[str | None] | None = None,
    ) -> list[Recorded]:
        """Append events in one transaction, in order; duplicates by key are skipped (the
        existing record is returned in their place)."""
        if not events:
            return []
        # validate and encode first: a bad event fails the batch before anything is written
        time, run = utc_now(), self.run_id
        rows = [
            (id_, type(event).__struct_config__.tag, event.stream, time, run, event.key(), encode(event).decode())
            for id_, event in zip(new_ids(len(events)), events)
        ]
        if (keys and any(keys)) or (streams and any(streams)):  # explicit ones replace the events' own
            rows = [
                (id_, tag, (streams and streams[i]) or stream, time, run, (keys and keys[i]) or key, payload)
                for i, (id_, tag, stream, _, _, key, payload) in enumerate(rows)
            ]
        redactor = self.redactor()
        if redactor:
            rows, events = _redacted(rows, events, redactor)
        with self.transaction() as conn:
            head = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
            before = conn.total_changes
            # a key already in the log (or earlier in the batch) makes its row a no-op: the
            # unique index says so while inserting, with no lookup before
            conn.executemany(
                "INSERT OR IGNORE INTO events (id, type, stream, time, run, idempotency_key, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if conn.total_changes - before == len(rows):  # the usual case: every event is new
                return [Recorded(head + n, *row[:6], event) for n, (row, event) in enumerate(zip(rows, events), 1)]
            return self._after_duplicates(rows, events, head)

    # -- secrets ---------------------------------------------------------------------

    def secret_values(self) -> dict[str, str]:
        """Every secret value this database has been given, by where it comes from (read
        afresh: the secrets file beside it and the environment as they are now)."""
        registrations = [
            msgspec.json.decode(payload)
            for (payload,) in self.conn.execute("SELECT payload FROM events WHERE type = 'server-registered'")
        ]
        return known_values(self.path, registrations)

    def redactor(self) -> Redactor:
        """What appending runs every event through: the secret values this database has
        been given. Kept up to date at little cost per batch: the registrations appended
        since the last look (one indexed range), a stat of the secrets file and a read of
        the environment variables the registrations name; built again when one changed."""
        new = self.conn.execute(
            "SELECT position, payload FROM events WHERE type = 'server-registered' AND position > ? ORDER BY position",
            (self._registrations_seen,),
        ).fetchall()
        if new:
            self._registrations_seen = new[-1][0]
            names = set(secret_variables(msgspec.json.decode(payload) for _, payload in new))
            if not names <= set(self._secret_variables):
                self._secret_variables = tuple(sorted(names | set(self._secret_variables)))
        stamp = (self._secrets.stamp(), self._secret_variables, tuple(map(os.environ.get, self._secret_variables)))
        if stamp != self._redactor_stamp:
            self._redactor = Redactor(values_of(self.path, self._secret_variables).values())
            self._redactor_stamp = stamp
        return self._redactor

    def _after_duplicates(self, rows: list[tuple], events: Sequence[Event], head: int) -> list[Recorded]:
        """The records of a batch some of whose rows were not written (their key was taken):
        written rows by their new positions, the others as the event that holds their key."""
        positions = dict(self.conn.execute("SELECT id, position FROM events WHERE position > ?", (head,)).fetchall())
        taken = {row[5] for row in rows if row[0] not in positions}
        if None in taken:
            raise FireflyError("an event without an idempotency key was not written to the log")
        existing = self._records_by_key(list(taken))
        if len(existing) < len(taken):
            raise FireflyError(f"events with keys {sorted(taken - set(existing))[:3]} were neither written nor in the log")
        return [
            Recorded(positions[row[0]], *row[:6], event) if row[0] in positions else existing[row[5]]
            for row, event in zip(rows, events)
        ]

    def _records_by_key(self, keys: list[str]) -> dict[str, Recorded]:
        found: dict[str, Recorded] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for rec in self._records(
                f"SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events"
                f" WHERE idempotency_key IN ({marks})",
                chunk,
            ):
                found[rec.key] = rec  # type: ignore[index]
        return found

    def has_key(self, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM events WHERE idempotency_key = ?", (key,)).fetchone() is not None

    # -- reading ---------------------------------------------------------------------

    def _records(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Recorded]:
        for pos, id_, type_, stream, time, run, key, payload in self.conn.execute(sql, params):
            yield Recorded(pos, id_, type_, stream, time, run, key, read_event(pos, id_, type_, stream, payload))

    def read(
        self,
        *,
        after: int = 0,
        types: Iterable[str] | None = None,
        stream: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Recorded]:
        """Events in log order after a position, optionally of some types or one stream."""
        where, params = ["position > ?"], [after]
        if types is not None:  # "+type" with a stream: its index is the narrower (0013_stream_index.sql)
            types = list(types)
            where.append(f"{'+' if stream is not None else ''}type IN ({','.join('?' * len(types))})")
            params.extend(types)
        if stream is not None:
            where.append("stream = ?")
            params.append(stream)
        sql = (
            "SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events"
            f" WHERE {' AND '.join(where)} ORDER BY position"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        # materialise in pages so a caller may write while iterating
        while True:
            page = list(self._records(sql + ("" if limit else " LIMIT 5000"), params))
            yield from page
            if limit is not None or len(page) < 5000:
                return
            params[0] = page[-1].position

    def last(self, stream: str, type_: str | None = None) -> Recorded | None:
        """The latest event of a stream (optionally of one type)."""
        sql = (
            "SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events"
            " WHERE stream = ?" + (" AND +type = ?" if type_ else "") + " ORDER BY position DESC LIMIT 1"
        )
        return next(self._records(sql, [stream, type_] if type_ else [stream]), None)

    def head(self) -> int:
        """The position of the last event (0 for an empty log)."""
        return self.conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]

    def count(self, type_: str | None = None) -> int:
        if type_ is None:
            return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        return self.conn.execute("SELECT count(*) FROM events WHERE type = ?", (type_,)).fetchone()[0]

    # -- runs ------------------------------------------------------------------------

    @contextmanager
    def run(self, command: str, options: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Record a run: ``run-started`` now, ``run-finished`` (ok, failed or interrupted)
        at the end. Yields a dict the caller fills with the summary counts.

        Each run gets a fresh id; the events it writes carry it in their envelope. On a
        read-only store the run is not recorded (a command that only reads still works)."""
        summary: dict[str, Any] = {}
        if self.read_only:
            yield summary
            return
        self.run_id = new_id()
        self.append(RunStarted(run_id=self.run_id, command=command, options=options or {}, version=__version__))
        try:
            yield summary
        except KeyboardInterrupt:
            self._finish("interrupted", summary, "interrupted by the user")
            raise
        except BaseException as exc:
            self._finish("failed", summary, f"{type(exc).__name__}: {exc}")
            raise
        self._finish("ok", summary, None)

    def _finish(self, status: str, summary: dict[str, Any], message: str | None) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
            self._depth = 0
        self.append(RunFinished(run_id=self.run_id, status=status, summary=summary, message=message))  # type: ignore[arg-type]
        self.catch_up()

    # -- projections -----------------------------------------------------------------

    def _register_projections(self) -> None:
        from .projections import all_projections

        self.projections = all_projections()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO _projections (name, position) VALUES (?, 0)",
                [(p.name,) for p in self.projections],
            )

    def checkpoints(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, position FROM _projections"))

    def catch_up(self, *, progress: Any = None) -> int:
        """Apply every event after each projection's checkpoint. Returns events applied.

        Works in batches of positions; a batch's row writes and its checkpoints commit in one
        transaction, so a crash leaves every projection consistent with its checkpoint.
        A projection may buffer writes while it applies a batch if it has a ``flush(db)``
        method: the store calls it at the end of every batch, before the checkpoints move.
        ``progress``, if given, is called with (done, total) after each batch.
        A read-only store takes its tables as they are (see :meth:`behind`).
        """
        if self.read_only:
            return 0
        checkpoints = self.checkpoints()
        head = self.head()
        low = min((checkpoints.get(p.name, 0) for p in self.projections), default=head)
        if low >= head:
            return 0
        handled: dict[str, list[Any]] = {}
        for p in self.projections:
            for tag in p.handles:
                handled.setdefault(tag, []).append(p)
        appliers = {tag: [p.apply for p in ps] for tag, ps in handled.items()}
        buffered = [p for p in self.projections if hasattr(p, "flush")]
        tags = list(handled)
        # "+type": read the batch along the primary key (already in position order) rather
        # than through the type index, which needs a sort of the whole batch
        sql = (
            "SELECT position, id, type, stream, time, run, idempotency_key, payload FROM events"
            f" WHERE position > ? AND position <= ? AND +type IN ({','.join('?' * len(tags))}) ORDER BY position"
        )
        applied = 0
        start = low
        while start < head:
            end = min(start + BATCH, head)
            behind = all(checkpoints[p.name] <= start for p in self.projections)
            with self.transaction() as conn:
                try:
                    for pos, id_, type_, stream, time, run, key, payload in conn.execute(sql, [start, end, *tags]):
                        rec = Recorded(pos, id_, type_, stream, time, run, key, read_event(pos, id_, type_, stream, payload))
                        if behind:  # every projection needs every event of this batch
                            for apply in appliers[type_]:
                                apply(conn, rec)
                        else:
                            for p in handled[type_]:
                                if pos > checkpoints[p.name]:
                                    p.apply(conn, rec)
                        applied += 1
                finally:  # always empties the buffers; after an error the batch rolls back
                    for p in buffered:
                        p.flush(conn)
                conn.execute("UPDATE _projections SET position = ? WHERE position < ?", (end, end))
            start = end
            if progress is not None:
                progress(start - low, head - low)
        return applied

    def behind(self, names: Iterable[str] | None = None) -> bool:
        """Whether the log holds events that projections (all, or those named) have not
        applied yet: what a read-only store cannot catch up with."""
        chosen = [p for p in self.projections if names is None or p.name in set(names)]
        if not chosen:
            return False
        checkpoints = self.checkpoints()
        low = min(checkpoints.get(p.name, 0) for p in chosen)
        types = sorted(set().union(*(p.handles for p in chosen)))
        marks = ",".join("?" * len(types))
        return self.conn.execute(
            f"SELECT 1 FROM events WHERE position > ? AND type IN ({marks}) LIMIT 1", (low, *types)).fetchone() is not None

    def rebuild(self, *, progress: Any = None) -> int:
        """Empty every projection and replay the whole log into it, in one transaction: a
        rebuild that fails (an event it cannot read, an error, Ctrl-C, kill -9) leaves every
        projection, checkpoint and index as it was, and readers see the old tables until the
        new ones commit.

        The indexes projections name as ``deferred_indexes`` are dropped for the replay and
        created again at the end (each sorts its table once instead of taking every row at a
        random place). Their definitions wait in ``_rebuild_indexes`` meanwhile; a database
        whose rebuild an older firefly left half done gets them back in :meth:`open`."""
        deferred = [name for p in self.projections for name in p.deferred_indexes]
        with self.transaction() as conn:
            for p in self.projections:
                for table in p.tables:
                    conn.execute(f"DELETE FROM [{table}]")
            conn.execute("UPDATE _projections SET position = 0")
            marks = ",".join("?" * len(deferred))
            conn.execute(
                f"INSERT OR IGNORE INTO _rebuild_indexes (name, sql) SELECT name, sql FROM sqlite_master"
                f" WHERE type = 'index' AND sql IS NOT NULL AND name IN ({marks})",
                deferred,
            )
            for (name,) in conn.execute("SELECT name FROM _rebuild_indexes").fetchall():
                conn.execute(f"DROP INDEX IF EXISTS [{name}]")
            applied = self.catch_up(progress=progress)  # its batches join this transaction
            self._restore_indexes()
        return applied

    def _restore_indexes(self) -> None:
        """Create the indexes a rebuild dropped (all at once: each sorts its table once)."""
        if not self.conn.execute("SELECT 1 FROM _rebuild_indexes LIMIT 1").fetchone():
            return
        with self.transaction() as conn:
            for name, sql in conn.execute("SELECT name, sql FROM _rebuild_indexes").fetchall():
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)).fetchone():
                    conn.execute(sql)
            conn.execute("DELETE FROM _rebuild_indexes")


def _redacted(rows: list[tuple], events: Sequence[Event], redactor: Redactor) -> tuple[list[tuple], list[Event]]:
    """The rows (and events) with every secret value redacted: payload, stream and key."""
    out_rows: list[tuple] = []
    out_events: list[Event] = []
    for row, event in zip(rows, events):
        id_, tag, stream, time, run, key, payload = row
        clean = redactor.payload(payload)
        if clean is not payload:
            try:
                event = decode(clean)
            except FireflyError as exc:
                raise FireflyError(f"a {tag} event cannot be logged without the secret values in it: {exc}") from None
        row = (id_, tag, redactor.text(stream), time, run, redactor.text(key) if key else key, clean)
        out_rows.append(row)
        out_events.append(event)
    return out_rows, out_events
