"""Local services that registry entries need, started and stopped under firefly's control.

A registry entry's ``firefly.services`` (see :mod:`firefly.fixtures`) names what its server
talks to: ``web`` (a static web server on 127.0.0.1 serving a folder of the sandbox, ``web/``
by default: Python's http.server in a thread), ``postgresql``, ``mariadb`` and ``redis``
(the Debian binaries, if installed: a throwaway instance in a temporary folder, listening on
127.0.0.1 only, seeded from the entry's scripts, stopped and deleted at the end).

:class:`Services` is a context manager: ``with Services(workspace) as services:
services.start_for(regs)`` starts each distinct service once; a service that cannot start
(its binaries are missing, its port is taken) is recorded in :attr:`Services.unavailable`,
so the servers that need it fail with that one clear reason and the rest go on. Leaving
the block stops everything it started, whatever happened inside.

Each service listens on the port the entry gives (its usual port by default; 0 picks a free
one) and adds variables a registry may refer to: ``${FIREFLY_WEB_URL}``,
``${FIREFLY_POSTGRESQL_URL}``, ``${FIREFLY_REDIS_URL}``, ``${FIREFLY_MARIADB_PORT}`` ...

Redis keeps what a call writes in the service, not in a sandbox: each exploration slot gets
a Redis database of its own (:meth:`Services.slot_variables`: ``${FIREFLY_REDIS_DB}``, and
``${FIREFLY_REDIS_URL}`` ending in it), emptied and seeded again before each exploration
(:meth:`Services.reset_slot`), so that what one exploration wrote never reaches another and
every exploration starts from the seeded world. Database 0 is seeded too, for what runs
outside a slot (discovery, the survey).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .errors import FireflyError
from .events import ServiceNeed
from .fixtures import fixture_base

__all__ = ["ServiceUnavailable", "Services", "missing_services"]

DEFAULT_PORTS = {"web": 18765, "postgresql": 5432, "mariadb": 3306, "redis": 6379}
REDIS_SLOT_DBS = 15  # Redis databases 1..15 are the slots' own (16 by default; 0 is everyone's)
START_TIMEOUT = 60.0


class ServiceUnavailable(FireflyError):
    """A service a server needs cannot be started here (the message says why and what to do)."""


def missing_services(reg: Any, unavailable: dict[str, str]) -> str | None:
    """Why a registered server cannot run for lack of a service (None when it can)."""
    needs = reg.fixtures.services if getattr(reg, "fixtures", None) is not None else []
    reasons = [f"{n.name}: {unavailable[n.name]}" for n in needs if n.name in unavailable]
    if not reasons:
        return None
    return f"server {reg.name!r} needs a service that could not be started here ({'; '.join(reasons)})"


class Services:
    """The services a run needs, each started once, all stopped on exit.

    ``workspace`` is the sandbox the web service serves from (a built sandbox of its own,
    not one an exploration changes).
    """

    def __init__(self, workspace: Path | None = None):
        self.workspace = Path(workspace) if workspace is not None else None
        self.variables: dict[str, str] = {}
        self.unavailable: dict[str, str] = {}
        self.running: dict[str, ServiceNeed] = {}
        self._stops: list[Callable[[], None]] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="firefly-services-")
        self._redis_seed: list[list[str]] = []  # the seed's commands, sent again to a slot's database

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                stop()
        self._tmp.cleanup()

    def start_for(self, regs: Iterable[Any]) -> dict[str, str]:
        """Start what the registered servers need; returns server name -> why it cannot run."""
        out: dict[str, str] = {}
        for reg in regs:
            fixtures = getattr(reg, "fixtures", None)
            for need in fixtures.services if fixtures is not None else []:
                clash = self.start(need, base=fixture_base(fixtures.base))
                if clash:
                    out[reg.name] = f"server {reg.name!r}: {clash}"
            reason = missing_services(reg, self.unavailable)
            if reason and reg.name not in out:
                out[reg.name] = reason
        return out

    def start(self, need: ServiceNeed, *, base: Path | None = None) -> str | None:
        """Start one service (once: a second server needing the same one shares it).

        A failure is kept in :attr:`unavailable`. Returns a reason when the service already
        runs with other settings (a port, a database, seed scripts) than ``need`` asks for."""
        if need.name in self.running:
            if self.running[need.name] != need:
                return f"the service {need.name} already runs with other settings than this entry declares"
            return None
        if need.name in self.unavailable:
            return None
        starter = {"web": self._web, "postgresql": self._postgresql, "mariadb": self._mariadb,
                   "redis": self._redis}[need.name]
        port = need.port if need.port is not None else DEFAULT_PORTS[need.name]
        try:
            port = free_port() if port == 0 else port
            if _port_in_use(port):
                # another instance (the system's, another firefly's) has it: a port of our own;
                # servers and the explorer find it through ${FIREFLY_<SERVICE>_PORT} / _URL
                port = free_port()
            starter(need, port, base or Path("."))
        except ServiceUnavailable as err:
            self.unavailable[need.name] = str(err)
            return None
        self.running[need.name] = need
        return None

    # -- exploration slots -------------------------------------------------------------------

    def slot_variables(self, slot: int | None) -> dict[str, str]:
        """The variables of exploration slot ``slot`` (None: none of its own): its Redis
        database, ``${FIREFLY_REDIS_DB}`` and a ``${FIREFLY_REDIS_URL}`` that ends in it.
        More slots than databases share them round the circle."""
        if slot is None or "redis" not in self.running:
            return {}
        db = 1 + slot % REDIS_SLOT_DBS
        port = self.variables["FIREFLY_REDIS_PORT"]
        return {"FIREFLY_REDIS_DB": str(db), "FIREFLY_REDIS_URL": f"redis://127.0.0.1:{port}/{db}"}

    def reset_slot(self, slot: int | None) -> None:
        """The slot's world as it starts again: its Redis database emptied (``FLUSHDB``) and
        seeded from the entry's scripts. Raises :class:`ServiceUnavailable` when Redis fails."""
        found = self.slot_variables(slot)
        if not found:
            return
        port, db = int(self.variables["FIREFLY_REDIS_PORT"]), found["FIREFLY_REDIS_DB"]
        replies = _redis_commands(port, [["SELECT", db], ["FLUSHDB"], *self._redis_seed])
        bad = next((r for r in replies if r.startswith(b"-")), None)
        if bad is not None or len(replies) < 2 + len(self._redis_seed):
            why = bad[1:].decode(errors="replace") if bad is not None else "the connection closed"
            raise ServiceUnavailable(f"resetting Redis database {db}: {why}")

    # -- web ---------------------------------------------------------------------------------

    def _web(self, need: ServiceNeed, port: int, base: Path) -> None:
        if self.workspace is None:
            raise ServiceUnavailable("no workspace to serve")
        root = self.workspace / (need.root or "web")
        if not root.is_dir():
            raise ServiceUnavailable(f"the folder to serve, {need.root or 'web'}/, is not in the sandbox")
        handler = functools.partial(_QuietHandler, directory=str(root))
        try:
            httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as exc:
            raise ServiceUnavailable(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, name="firefly-web", daemon=True)
        thread.start()

        def stop() -> None:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=10)

        self._stops.append(stop)
        real = httpd.server_address[1]
        self.variables.update(FIREFLY_WEB_PORT=str(real), FIREFLY_WEB_URL=f"http://127.0.0.1:{real}")

    # -- PostgreSQL ------------------------------------------------------------------------

    def _postgresql(self, need: ServiceNeed, port: int, base: Path) -> None:
        bindir = _postgres_bindir()
        if bindir is None:
            raise ServiceUnavailable("PostgreSQL is not installed (no initdb); e.g. apt-get install postgresql")
        user = _unprivileged("postgres")
        folder = self._folder("postgresql", user)
        data, sockets = folder / "data", folder / "run"
        sockets.mkdir()
        _chown(sockets, user)
        _run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
             user, "initdb")
        proc = _spawn([str(bindir / "postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1", "-p", str(port),
                       "-k", str(sockets), "-c", "fsync=off", "-c", "full_page_writes=off"], user, folder / "log")
        self._stops.append(lambda: _stop(proc))
        psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        _wait_until(lambda: _ok([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]), proc,
                    "PostgreSQL", folder / "log")
        database = need.database or "postgres"
        if database != "postgres":
            _run([*psql, "-c", f'CREATE DATABASE "{database}"'], None, "CREATE DATABASE")
        for script in need.seed:
            _run([*psql, "-d", database, "-f", str(base / script)], None, f"seeding from {script}")
        self.variables.update(FIREFLY_POSTGRESQL_PORT=str(port),
                              FIREFLY_POSTGRESQL_URL=f"postgresql://postgres@127.0.0.1:{port}/{database}")

    # -- MariaDB ---------------------------------------------------------------------------

    def _mariadb(self, need: ServiceNeed, port: int, base: Path) -> None:
        server = _which("mariadbd", "mysqld")
        install = _which("mariadb-install-db", "mysql_install_db")
        client = _which("mariadb", "mysql")
        if server is None or install is None or client is None:
            raise ServiceUnavailable("MariaDB is not installed (no mariadbd); e.g. apt-get install mariadb-server")
        user = _unprivileged("mysql")
        folder = self._folder("mariadb", user)
        data, sock = folder / "data", folder / "mysqld.sock"
        as_user = [f"--user={user[2]}"] if user else []
        _run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=socket",
              "--skip-test-db", *as_user], None, "mariadb-install-db")
        proc = _spawn([server, "--no-defaults", f"--datadir={data}", "--bind-address=127.0.0.1", f"--port={port}",
                       f"--socket={sock}", f"--pid-file={folder / 'mysqld.pid'}", "--skip-log-bin", *as_user],
                      None, folder / "log")
        self._stops.append(lambda: _stop(proc))
        root = [client, "--no-defaults", "-uroot", f"--socket={sock}"]
        _wait_until(lambda: _ok([*root, "-e", "SELECT 1"]), proc, "MariaDB", folder / "log")
        database = need.database or "shop"
        sql = f"CREATE DATABASE IF NOT EXISTS `{database}`;"
        if need.user:
            for host in ("127.0.0.1", "localhost"):
                sql += (f" CREATE USER '{need.user}'@'{host}' IDENTIFIED BY '{need.password or ''}';"
                        f" GRANT ALL ON `{database}`.* TO '{need.user}'@'{host}';")
        _run([*root, "-e", sql], None, "creating the database")
        for script in need.seed:
            with open(base / script, "rb") as f:
                _run([*root, database], None, f"seeding from {script}", stdin=f)
        self.variables.update(FIREFLY_MARIADB_PORT=str(port))

    # -- Redis -----------------------------------------------------------------------------

    def _redis(self, need: ServiceNeed, port: int, base: Path) -> None:
        server = _which("redis-server")
        if server is None:
            raise ServiceUnavailable("Redis is not installed (no redis-server); e.g. apt-get install redis-server")
        folder = self._folder("redis", None)
        proc = _spawn([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                       "--dir", str(folder), "--protected-mode", "no"], None, folder / "log")
        self._stops.append(lambda: _stop(proc))
        _wait_until(lambda: _redis_command(port, ["PING"]) == b"+PONG", proc, "Redis", folder / "log")
        for script in need.seed:
            for line in (base / script).read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    reply = _redis_command(port, shlex.split(line))
                    if reply.startswith(b"-"):
                        raise ServiceUnavailable(f"seeding Redis from {script}: {line!r} failed: {reply[1:].decode(errors='replace')}")
                    self._redis_seed.append(shlex.split(line))
        self.variables.update(FIREFLY_REDIS_PORT=str(port), FIREFLY_REDIS_URL=f"redis://127.0.0.1:{port}",
                              FIREFLY_REDIS_DB="0")

    def _folder(self, name: str, user: tuple[int, int, str] | None) -> Path:
        folder = Path(self._tmp.name) / name
        folder.mkdir()
        _chown(folder, user)
        if user is not None:  # the service's own user must reach its folder
            os.chmod(self._tmp.name, 0o755)
        return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


# -- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _which(*names: str) -> str | None:
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(["/usr/sbin", "/usr/local/sbin", "/sbin"])
    for name in names:
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


POSTGRES_PROGRAMS = ("initdb", "postgres", "psql", "pg_isready")


def _postgres_bindir() -> Path | None:
    """A folder holding every PostgreSQL program firefly runs: the one of ``initdb`` on PATH,
    else Debian's newest ``/usr/lib/postgresql/<version>/bin``."""
    candidates = []
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                      key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates += [Path(v) for v in versions]
    for folder in candidates:
        if all((folder / name).is_file() and os.access(folder / name, os.X_OK) for name in POSTGRES_PROGRAMS):
            return folder
    return None


def _unprivileged(account: str) -> tuple[int, int, str] | None:
    """(uid, gid, name) to run a database server as when firefly runs as root (they refuse
    to run as root); None when not root."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        raise ServiceUnavailable(f"running as root and there is no {account!r} user to run the service as") from None
    return entry.pw_uid, entry.pw_gid, entry.pw_name


def _chown(path: Path, user: tuple[int, int, str] | None) -> None:
    if user is not None:
        os.chown(path, user[0], user[1])


def _run(cmd: list[str], user: tuple[int, int, str] | None, what: str, stdin: Any = None) -> None:
    kwargs: dict[str, Any] = {"user": user[0], "group": user[1]} if user else {}
    proc = subprocess.run(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL, capture_output=True,
                          text=True, check=False, timeout=START_TIMEOUT, cwd="/", **kwargs)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ServiceUnavailable(f"{what} failed: {' '.join(tail)[:400]}")


def _ok(cmd: list[str]) -> bool:
    return subprocess.run(cmd, capture_output=True, check=False, timeout=10, stdin=subprocess.DEVNULL).returncode == 0


def _spawn(cmd: list[str], user: tuple[int, int, str] | None, log: Path) -> subprocess.Popen[bytes]:
    kwargs: dict[str, Any] = {"user": user[0], "group": user[1]} if user else {}
    with open(log, "wb") as out:
        _chown(log, user)
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd="/",
                                start_new_session=True, **kwargs)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    """Poll ``ready`` until it holds; fail if the process exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    delay = 0.05
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = " ".join(log.read_text(errors="replace").strip().splitlines()[-3:]) if log.exists() else ""
            raise ServiceUnavailable(f"{what} exited on start (code {proc.returncode}): {tail[:400]}")
        with contextlib.suppress(ConnectionError, TimeoutError, subprocess.TimeoutExpired):
            if ready():
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise ServiceUnavailable(f"{what} did not become ready within {START_TIMEOUT:g}s")


def _redis_command(port: int, args: list[str]) -> bytes:
    """Send one command in Redis's protocol; the first line of the reply."""
    replies = _redis_commands(port, [args])
    return replies[0] if replies else b""


def _redis_commands(port: int, commands: list[list[str]]) -> list[bytes]:
    """Send commands one after the other on one connection (a ``SELECT`` holds for those
    after it); the first line of each reply (fewer when the connection closed early). Only
    for commands whose replies are one line (status, error, integer)."""
    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        pending = b""
        for args in commands:
            s.sendall(f"*{len(args)}\r\n".encode() + b"".join(
                f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args))
            while b"\r\n" not in pending:
                chunk = s.recv(4096)
                if not chunk:
                    return replies
                pending += chunk
            line, pending = pending.split(b"\r\n", 1)
            replies.append(line)
    return replies
