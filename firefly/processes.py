"""What a firefly process leaves behind if it is killed, and cleaning it up at the next start.

Every stdio server runs in its own process group (its pid is the group id). A firefly
process records the groups it started and the scratch folders (sandboxes, discovery
workspaces) it made in an *owner file*, ``<tmp>/firefly-owners/<pid>.json``, rewritten as
they come and go. When firefly ends normally the groups are stopped by their sessions (and
any left at exit are killed); the folders are removed by their context managers.

SIGTERM and SIGHUP (a ``kill``, a closed terminal, a job scheduler's stop) stop firefly as
Ctrl-C does (:func:`stop_signals_interrupt`, installed by the command line): every context
manager closes, so the local services a run started (PostgreSQL, MariaDB) stop with it.

``kill -9`` skips all of that. :func:`reap_orphans`, called when discovery or exploration
starts, reads the owner files of firefly processes that are no longer alive, kills the
groups they recorded (only when the group leader is the very process that was recorded:
same start time, so a recycled pid is never hit) and removes their folders.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

SCRATCH_PREFIX = "firefly-"


def stop_signals_interrupt() -> None:
    """Make SIGTERM and SIGHUP stop this process as Ctrl-C does.

    The signal is passed on as SIGINT, so whatever handles Ctrl-C at that moment handles it:
    Python's default raises KeyboardInterrupt; inside ``anyio.run`` the event loop cancels its
    main task first, so sessions and servers close in order. Only the main thread can set
    handlers; a SIGINT the shell ignores (``nohup firefly run &``) is no reason to go on: then
    the handler raises KeyboardInterrupt itself. Elsewhere (firefly used as a library in a
    thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return

    def as_interrupt(signum: int, frame: object) -> None:
        if callable(signal.getsignal(signal.SIGINT)):
            signal.raise_signal(signal.SIGINT)
        else:  # SIGINT ignored (a background job of a shell) or default: no handler to pass it to
            raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, as_interrupt)


def owners_dir() -> Path:
    return Path(tempfile.gettempdir()) / "firefly-owners"


def start_time(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot on Linux), None when gone.

    Elsewhere than Linux, a live process gets "?" (existence is all that can be told)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 19 and fields[0] != "Z":  # a zombie is dead
            return fields[19]
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "?"


@dataclass
class _Owner:
    """This process's owner file."""

    groups: dict[int, str | None] = field(default_factory=dict)  # pgid -> leader's start time
    folders: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    registered_exit: bool = False

    def path(self) -> Path:
        return owners_dir() / f"{os.getpid()}.json"

    def save(self) -> None:
        path = self.path()
        if not self.groups and not self.folders:
            with suppress(FileNotFoundError):
                path.unlink()
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "pid": os.getpid(),
            "started": start_time(os.getpid()),
            "groups": [[g, t] for g, t in self.groups.items()],
            "folders": self.folders,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)

    def change(self, fn) -> None:  # noqa: ANN001
        with self.lock:
            if not self.registered_exit:
                atexit.register(kill_own_groups)
                self.registered_exit = True
            fn()
            try:
                self.save()
            except OSError:
                pass  # cleanup is best effort: a read-only /tmp must not stop the run


_owner = _Owner()


def adopt_group(pgid: int) -> None:
    """Record a server process group this process started."""
    _owner.change(lambda: _owner.groups.__setitem__(pgid, start_time(pgid)))


def release_group(pgid: int) -> None:
    _owner.change(lambda: _owner.groups.pop(pgid, None))


def kill_own_groups() -> None:
    """Kill the server groups still recorded (at exit: their sessions did not stop them)."""
    for pgid, started in list(_owner.groups.items()):
        _kill_group(pgid, started)
    _owner.change(_owner.groups.clear)


@contextmanager
def scratch_dir(prefix: str) -> Iterator[str]:
    """A temporary folder, recorded as this process's until it is removed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        _owner.change(lambda: _owner.folders.append(tmp))
        try:
            yield tmp
        finally:
            _owner.change(lambda: _owner.folders.remove(tmp) if tmp in _owner.folders else None)


def server_temp_root() -> Path:
    return Path(tempfile.gettempdir()) / "firefly-server-tmp"


@contextmanager
def server_temp_dir(name: str) -> Iterator[str]:
    """A server connection's own temporary folder at a path that does not change from run to
    run: ``<tmp>/firefly-server-tmp/<name>-<i>``, ``i`` the lowest slot no live connection
    holds (claimed with an atomic ``mkdir``, so concurrent connections of one server never
    share it). A path a server puts in a result is then the same in every run. Recorded as
    this process's until it is removed, like :func:`scratch_dir`."""
    root = server_temp_root()
    root.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:60] or "server"
    i = 0
    while True:
        folder = root / f"{slug}-{i}"
        try:
            folder.mkdir()
            break
        except FileExistsError:
            i += 1
        except FileNotFoundError:  # the last connection of another process removed the root
            root.mkdir(parents=True, exist_ok=True)
    tmp = str(folder)
    _owner.change(lambda: _owner.folders.append(tmp))
    try:
        yield tmp
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # the root too, once no connection holds a folder in it
            root.rmdir()
        _owner.change(lambda: _owner.folders.remove(tmp) if tmp in _owner.folders else None)


def _kill_group(pgid: int, started: str | None) -> bool:
    now = start_time(pgid)
    if now is None or (started is not None and now != started):
        return False  # gone, or the pid now belongs to another process
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@dataclass
class Reaped:
    groups: list[int] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)


def reap_orphans() -> Reaped:
    """Kill the server groups and remove the scratch folders of dead firefly processes."""
    reaped = Reaped()
    root = owners_dir()
    try:
        files = sorted(root.glob("*.json"))
    except OSError:
        return reaped
    tmp_root = Path(tempfile.gettempdir()).resolve()
    for path in files:
        try:
            data = json.loads(path.read_text())
            pid = int(data["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if pid == os.getpid():
            continue
        now = start_time(pid)
        if now is not None and (data.get("started") in (None, "?") or now == data.get("started")):
            continue  # its owner is alive
        for pgid, started in data.get("groups", []):
            if _kill_group(int(pgid), started):
                reaped.groups.append(int(pgid))
        for folder in data.get("folders", []):
            folder_path = Path(folder)
            # only firefly's own scratch folders, directly in the temporary directory
            parent = folder_path.parent.resolve()
            if (parent == tmp_root and folder_path.name.startswith(SCRATCH_PREFIX)) or parent == server_temp_root().resolve():
                if folder_path.is_dir():
                    shutil.rmtree(folder_path, ignore_errors=True)
                    reaped.folders.append(folder)
        with suppress(OSError):
            path.unlink()
    return reaped


__all__ = ["Reaped", "adopt_group", "kill_own_groups", "reap_orphans", "release_group", "scratch_dir", "server_temp_dir", "start_time"]
