"""The writer lease: one firefly process at a time writes a database.

Two processes running ``firefly run`` on one database would both call every real tool and
mix their explorations. A command that writes takes the lease first; a second writer is
told who holds it and stops (:class:`~firefly.errors.LeaseHeld`), or waits for it.

    with WriterLease.acquire("firefly.db", "run"):
        ...

The lease is an OS file lock (``flock``) on ``<db>.lock`` beside the database, so the
kernel releases it when its holder ends in any way, ``kill -9`` included: a lease is never
stale, and the next writer simply takes it. The file also holds a small JSON note of the
holder (pid, host, command, since) for the message a second writer prints; the note of a
holder that died is overwritten by the next one. The lock file itself is never removed
(removing a locked file lets two processes lock two different files).

Readers (status, browse, export, the simulator) never need the lease: SQLite's WAL lets
them read while a writer writes. Within one process the lease is shared: a second
acquisition for the same database (a stage opening its own store) joins the first one.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import FireflyError, LeaseHeld
from .ids import utc_now

_held: dict[str, list[Any]] = {}  # lock file -> [WriterLease, acquisitions] in this process
_guard = threading.Lock()


def lock_path(db: str | os.PathLike[str]) -> Path:
    """The lock file of a database: ``<db>.lock`` beside it."""
    return Path(str(db) + ".lock")


def holder(db: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The note of the process that holds (or last held) the lease, if it left a readable one."""
    try:
        text = lock_path(db).read_text()
    except OSError:
        return None
    try:
        note = json.loads(text)
    except ValueError:  # empty (released) or being written this very moment
        return None
    return note if isinstance(note, dict) else None


def describe(note: dict[str, Any] | None) -> str:
    """One line naming a lease's holder."""
    if not note:
        return "another process (it left no note of itself)"
    command = " ".join(["firefly", str(note.get("command", "?"))])
    return f"process {note.get('pid', '?')} on host {note.get('host', '?')} ({command}, since {note.get('since', '?')})"


class WriterLease:
    """A held writer lease. Use :meth:`acquire`; :meth:`release` (or ``with``) ends it."""

    def __init__(self, path: Path, fd: int, note: dict[str, Any]):
        self.path = path
        self.note = note
        self._fd: int | None = fd

    @classmethod
    def acquire(
        cls,
        db: str | os.PathLike[str],
        command: str,
        *,
        wait: bool = False,
        on_wait: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> WriterLease:
        """Take the lease of database ``db`` for ``command`` (e.g. "run").

        If another process holds it: raise :class:`LeaseHeld` naming the holder, or with
        ``wait`` call ``on_wait(note)`` once and block until the holder ends."""
        path = lock_path(db)
        key = str(path.resolve())
        with _guard:
            if key in _held:
                _held[key][1] += 1
                return _held[key][0]
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
        except OSError as exc:
            raise FireflyError(f"cannot take the writer lease of {db}: {path}: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                note = holder(db)
                if not wait:
                    raise LeaseHeld(
                        f"{db} is being written by {describe(note)}; wait for it to finish, or pass --wait"
                    ) from None
                if on_wait is not None:
                    on_wait(note)
                fcntl.flock(fd, fcntl.LOCK_EX)
            note = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "since": utc_now(),
                    "argv": sys.argv[1:]}
            data = json.dumps(note).encode()
            os.pwrite(fd, data, 0)  # the whole note at once, then cut what an older one left
            os.ftruncate(fd, len(data))
        except BaseException:
            os.close(fd)  # closing the file releases the lock, if it was taken
            raise
        lease = cls(path, fd, note)
        with _guard:
            _held[key] = [lease, 1]
        return lease

    def release(self) -> None:
        """Give the lease up (the last release of this process's acquisitions does)."""
        key = str(self.path.resolve())
        with _guard:
            entry = _held.get(key)
            if entry is not None and entry[0] is self:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _held[key]
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # no note: nobody holds it
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
