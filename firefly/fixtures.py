"""Per-server fixtures: the data a registry entry says its server works on.

A registry entry may carry a ``firefly`` key, which Claude Desktop, Cursor and other clients
ignore::

    "duckdb": {
      "command": "uvx", "args": ["mcp-server-duckdb==1.1.0", "--db-path", "${FIREFLY_WORKSPACE}/db/shop.duckdb"],
      "firefly": {
        "fixtures": ["data", {"from": "fixtures/shop.duckdb.gz", "to": "db/shop.duckdb"}],
        "sqlite": {"db/shop.sqlite": ["shop.sql"]},
        "dirs": ["out"],
        "services": ["web", {"name": "postgresql", "database": "shop", "seed": ["shop.pg.sql"]}],
        "requires": ["pandoc"],
        "python": "3.12",
        "exclude_tools": ["fetch_remote"]
      }
    }

- ``fixtures``: files or folders copied into every sandbox. A string copies that path
  (relative to the registry file's folder) to the same relative path in the sandbox;
  ``{"from": ..., "to": ...}`` names the target. A ``.gz`` file copied to a name without
  ``.gz`` is decompressed (a mostly empty database file ships small).
- ``sqlite``: a SQLite database built in every sandbox from SQL scripts, run in order.
- ``dirs``: empty folders the server expects to exist.
- ``services``: local services started on 127.0.0.1 for the run (:mod:`firefly.services`).
- ``requires``: programs the server needs on PATH (or absolute paths); without one, the
  server is one ``server-failed`` event naming it.
- ``python``: the Python version the server needs (``3.12``); firefly finds an interpreter
  (:mod:`firefly.pythons`) and puts it on the server's PATH so that ``uvx --python`` finds it.
- ``exclude_tools``: tools never explored (they reach the internet or hardware).

The sandbox root stays ``${FIREFLY_WORKSPACE}``: it holds firefly's seed workspace
(:mod:`firefly.seeds`) and every registered server's fixtures. Fixture files are read, never
written: each sandbox gets its own copy. Parsing checks everything (paths inside the
registry's folder, files present, known keys and services), raising one RegistryError.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RegistryError
from .events import FileFixture, ServerFixtures, ServiceNeed, SqliteFixture
from .resources import data_dir

__all__ = [
    "FIXTURE_KEY", "SERVICES", "apply_fixtures", "build_sandbox", "check_conflicts", "fixture_base",
    "parse_fixtures",
]

FIXTURE_KEY = "firefly"
SERVICES = ("web", "postgresql", "mariadb", "redis")
KEYS = ("fixtures", "sqlite", "dirs", "services", "requires", "python", "exclude_tools")
SERVICE_KEYS = ("name", "port", "root", "database", "user", "password", "seed")
BUNDLED = "bundled:"


# -- parsing -----------------------------------------------------------------------------------


def base_of(registry_dir: Path) -> str:
    """How the log names a registry's folder: relative to firefly's data folder when bundled
    (so a log made from a bundled registry works on any machine), else absolute."""
    folder = Path(registry_dir).resolve()
    with contextlib.suppress(FileNotFoundError, ValueError):
        return BUNDLED + folder.relative_to(data_dir().resolve()).as_posix()
    return str(folder)


def fixture_base(base: str) -> Path:
    """The folder a recorded ``base`` names."""
    if base.startswith(BUNDLED):
        rel = base[len(BUNDLED):]
        return data_dir() / rel if rel not in ("", ".") else data_dir()
    return Path(base)


def parse_fixtures(value: Any, *, where: str, registry_dir: Path) -> ServerFixtures:
    """Check an entry's ``firefly`` value. Raises RegistryError saying what is wrong where."""
    where = f"{where}: {FIXTURE_KEY!r}"
    if not isinstance(value, dict):
        raise RegistryError(f"{where} must be an object with any of: {', '.join(KEYS)}")
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise RegistryError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(KEYS)}")
    base = Path(registry_dir)

    def source(rel: Any, what: str) -> str:
        path = _relative(rel, f"{where}: {what}")
        if not (base / path).exists():
            raise RegistryError(f"{where}: {what} {rel!r} does not exist (looked for {base / path})")
        return path

    files: list[FileFixture] = []
    raw = value.get("fixtures", [])
    if not isinstance(raw, list):
        raise RegistryError(f'{where}: "fixtures" must be a list of paths or {{"from": ..., "to": ...}} objects')
    for i, item in enumerate(raw, start=1):
        if isinstance(item, str):
            src = source(item, f"fixture {i}")
            files.append(FileFixture(source=src, target=_target(item, f"{where}: fixture {i}")))
        elif isinstance(item, dict) and set(item) == {"from", "to"}:
            src = source(item["from"], f"fixture {i}")
            files.append(FileFixture(source=src, target=_target(item["to"], f"{where}: fixture {i}")))
        else:
            raise RegistryError(f'{where}: fixture {i} must be a path or an object with exactly "from" and "to"')

    sqlite: list[SqliteFixture] = []
    raw_db = value.get("sqlite", {})
    if not isinstance(raw_db, dict):
        raise RegistryError(f'{where}: "sqlite" must map a database path in the sandbox to a list of SQL scripts')
    for target, scripts in raw_db.items():
        if isinstance(scripts, str):
            scripts = [scripts]
        if not isinstance(scripts, list) or not scripts:
            raise RegistryError(f'{where}: "sqlite" database {target!r} needs a non-empty list of SQL scripts')
        sqlite.append(SqliteFixture(target=_target(target, f"{where}: sqlite database"),
                                    sql=[source(s, f"SQL script of {target!r}") for s in scripts]))

    dirs = [_target(d, f"{where}: dirs") for d in _strings(value, "dirs", where)]
    services = [_service(item, where, source) for item in _list(value, "services", where)]
    names = [s.name for s in services]
    if len(set(names)) != len(names):
        raise RegistryError(f"{where}: a service is named twice in \"services\"")
    requires = _strings(value, "requires", where)
    python = value.get("python")
    if python is not None and (not isinstance(python, str) or not re.fullmatch(r"3\.\d{1,2}", python)):
        raise RegistryError(f'{where}: "python" must be a version such as "3.12" (got {python!r})')
    spec = ServerFixtures(
        base=base_of(base), files=files, sqlite=sqlite, dirs=dirs, services=services, requires=requires,
        python=python, exclude_tools=_strings(value, "exclude_tools", where),
    )
    check_conflicts([spec], where=where)
    return _with_digest(spec, base)


def _service(item: Any, where: str, source: Any) -> ServiceNeed:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise RegistryError(f'{where}: each service is a name or an object with a "name" ({", ".join(SERVICES)})')
    name = item["name"]
    if name not in SERVICES:
        raise RegistryError(f"{where}: unknown service {name!r}; firefly can start: {', '.join(SERVICES)}")
    unknown = sorted(set(item) - set(SERVICE_KEYS))
    if unknown:
        raise RegistryError(f"{where}: service {name!r} has unknown key(s) {', '.join(map(repr, unknown))}")
    port = item.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535):
        raise RegistryError(f"{where}: service {name!r} port must be a number from 0 to 65535 (0: any free port)")
    for key in ("database", "user", "password"):
        if item.get(key) is not None and (not isinstance(item[key], str) or not re.fullmatch(r"[A-Za-z0-9_]+", item[key])):
            raise RegistryError(f"{where}: service {name!r} {key} must be letters, digits and underscores")
    seed = item.get("seed", [])
    if not isinstance(seed, list) or not all(isinstance(s, str) for s in seed):
        raise RegistryError(f"{where}: service {name!r} seed must be a list of file paths")
    root = item.get("root")
    return ServiceNeed(
        name=name, port=port, root=_target(root, f"{where}: service {name!r} root") if root is not None else None,
        database=item.get("database"), user=item.get("user"), password=item.get("password"),
        seed=[source(s, f"seed of service {name!r}") for s in seed],
    )


def _list(value: dict[str, Any], key: str, where: str) -> list[Any]:
    raw = value.get(key, [])
    if not isinstance(raw, list):
        raise RegistryError(f'{where}: "{key}" must be a list')
    return raw


def _strings(value: dict[str, Any], key: str, where: str) -> list[str]:
    raw = _list(value, key, where)
    if not all(isinstance(s, str) and s.strip() for s in raw):
        raise RegistryError(f'{where}: "{key}" must be a list of non-empty strings')
    return list(raw)


def _relative(rel: Any, where: str) -> str:
    if not isinstance(rel, str) or not rel.strip():
        raise RegistryError(f"{where}: a path must be non-empty text")
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or "\\" in rel:
        raise RegistryError(f"{where}: {rel!r} must be a relative path inside the registry's folder (no '..')")
    return p.as_posix()


def _target(rel: Any, where: str) -> str:
    from .seeds import WORKSPACE_ENTRIES

    path = _relative(rel, where)
    if path == ".":
        raise RegistryError(f"{where}: the target must be a path inside the sandbox, not its root")
    first = PurePosixPath(path).parts[0]
    if first in WORKSPACE_ENTRIES or first == ".git":
        raise RegistryError(f"{where}: {rel!r} would replace the seed workspace's {first!r}; choose another path")
    return path


def _with_digest(spec: ServerFixtures, base: Path) -> ServerFixtures:
    h = hashlib.sha256(b"firefly-fixtures\0")
    paths = [f.source for f in spec.files] + [s for db in spec.sqlite for s in db.sql] + [
        s for svc in spec.services for s in svc.seed]
    for rel in sorted(set(paths)):
        for path in _files_under(base / rel):
            h.update(path.relative_to(base).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    import msgspec

    return msgspec.structs.replace(spec, digest="sha256:" + h.hexdigest())


def _files_under(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


# -- conflicts and building --------------------------------------------------------------------


def _placements(spec: ServerFixtures) -> Iterable[tuple[str, tuple[str, ...]]]:
    for f in spec.files:
        yield f.target, ("file", spec.base, f.source)
    for db in spec.sqlite:
        yield db.target, ("sqlite", spec.base, *db.sql)


def check_conflicts(specs: Sequence[ServerFixtures], *, where: str = "the registry") -> None:
    """Raise RegistryError when two fixtures would land on the same place (or one inside the
    other) with different content. The same fixture declared by several servers is fine."""
    seen: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        for target, what in _placements(spec):
            for other, other_what in seen.items():
                same = other == target
                nested = target.startswith(other + "/") or other.startswith(target + "/")
                if (same and other_what != what) or nested:
                    raise RegistryError(
                        f"{where}: fixtures collide in the sandbox: {other!r} ({other_what[2]}) and"
                        f" {target!r} ({what[2]}); give them different targets")
            seen[target] = what


def apply_fixtures(root: Path, specs: Sequence[ServerFixtures]) -> None:
    """Copy every fixture into the sandbox ``root`` (an existing folder); each distinct
    fixture once. Sources are only read; the copies are the sandbox's own, writable."""
    check_conflicts(specs)
    root = Path(root)
    done: set[tuple[str, tuple[str, ...]]] = set()
    for spec in specs:
        base = fixture_base(spec.base)
        for d in spec.dirs:
            (root / d).mkdir(parents=True, exist_ok=True)
        for target, what in _placements(spec):
            if (target, what) in done:
                continue
            done.add((target, what))
            dest = root / target
            dest.parent.mkdir(parents=True, exist_ok=True)
            if what[0] == "file":
                src = base / what[2]
                if src.suffix == ".gz" and not dest.name.endswith(".gz"):
                    with gzip.open(src, "rb") as packed, open(dest, "wb") as out:
                        shutil.copyfileobj(packed, out)
                elif src.is_dir():
                    shutil.copytree(src, dest, copy_function=shutil.copyfile,
                                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copyfile(src, dest)
            else:
                with contextlib.closing(sqlite3.connect(dest)) as conn:
                    for script in what[2:]:
                        conn.executescript((base / script).read_text(encoding="utf-8"))
                    conn.commit()


def build_sandbox(dest: Path, specs: Sequence[ServerFixtures] = ()) -> Path:
    """A fresh sandbox at ``dest``: the seed workspace plus every server's fixtures."""
    from .seeds import build_workspace

    build_workspace(dest)
    apply_fixtures(dest, specs)
    return Path(dest)


def fixtures_of(regs: Iterable[Any]) -> list[ServerFixtures]:
    """The fixture specs of registered servers (``server-registered`` events), in order."""
    return [r.fixtures for r in regs if getattr(r, "fixtures", None) is not None]
