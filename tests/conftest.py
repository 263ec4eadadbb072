"""Shared fixtures. Every test runs in its own temp folder with its own database, away
from the user's data: FIREFLY_DB points into the test's temp dir and the working
directory is that dir."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from firefly.store import Store

TESTS = Path(__file__).resolve().parent
SERVERS = TESTS / "servers"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FIREFLY_DB", str(tmp_path / "firefly.db"))
    for name in ("FIREFLY_LLM_BASE_URL", "FIREFLY_LLM_MODEL", "FIREFLY_LLM_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "test.db"


@pytest.fixture
def store(db_path):
    s = Store.open(db_path)
    yield s
    s.close()


def table_dump(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """Every row of a table in a stable order (for rebuild-equals-incremental checks)."""
    cols = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])")]
    return conn.execute(f"SELECT * FROM [{table}] ORDER BY {', '.join(f'[{c}]' for c in cols)}").fetchall()


def projection_dumps(store: Store) -> dict[str, list[tuple]]:
    return {t: table_dump(store.conn, t) for p in store.projections for t in p.tables}


def file_bytes(path: Path) -> bytes:
    """The bytes of a database file and its WAL / secrets siblings."""
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


@pytest.fixture(scope="session")
def toy_explored(tmp_path_factory) -> Path:
    """A database explored with the toy server over stdio (tests/browse_fixtures.py), built
    once per session; copy it before writing to it."""
    from .browse_fixtures import build_explored

    path = tmp_path_factory.mktemp("toy-explored") / "explored.db"
    with Store.open(path) as store:
        build_explored(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(scope="session")
def datasets3_python() -> Path:
    """A Python with datasets 3.6 (a venv built once per machine: tests/pinned_envs.py)."""
    from .pinned_envs import pinned_python

    return pinned_python("datasets3")


@pytest.fixture(scope="session")
def verifiers_python() -> Path:
    """A Python with verifiers 0.1.x and firefly's dependencies (firefly itself from the source
    tree; a venv built once per machine: tests/pinned_envs.py)."""
    from .pinned_envs import pinned_python

    return pinned_python("verifiers")
