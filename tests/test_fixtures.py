"""Per-server fixtures in the registry (the entry's ``firefly`` key): parsing and its errors,
what the log records, sandboxes built with them, exclusions, and servers that cannot run
for lack of a Python, a program or a service."""

from __future__ import annotations

import gzip
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from firefly.discovery import discover
from firefly.errors import RegistryError
from firefly.events import DagSampled, DagTool
from firefly.explore.policy import Proposal
from firefly.explore.stage import explore
from firefly.fixtures import build_sandbox, fixture_base
from firefly.registry import load_registry, register
from firefly.resources import bundled_registries, find_registry

from .conftest import SERVERS

READER = [sys.executable, str(SERVERS / "fixture_reader.py")]


def write_registry(folder: Path, servers: dict) -> Path:
    path = folder / "servers.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def reader_entry(**firefly) -> dict:
    entry = {"command": READER[0], "args": [READER[1], "${FIREFLY_WORKSPACE}"]}
    if firefly:
        entry["firefly"] = firefly
    return entry


@pytest.fixture
def fixture_dir(tmp_path) -> Path:
    folder = tmp_path / "reg"
    (folder / "stuff" / "docs").mkdir(parents=True)
    (folder / "stuff" / "docs" / "note.txt").write_text("the fixture note\n")
    (folder / "shop.sql").write_text("CREATE TABLE items(name TEXT); INSERT INTO items VALUES ('lamp'), ('desk');")
    with gzip.open(folder / "blob.bin.gz", "wb") as f:
        f.write(b"unpacked bytes")
    return folder


def test_fixtures_are_parsed_and_recorded_in_the_registration(store, fixture_dir):
    path = write_registry(fixture_dir, {"reader": reader_entry(
        fixtures=[{"from": "stuff/docs", "to": "docs"}, {"from": "blob.bin.gz", "to": "db/blob.bin"}],
        sqlite={"db/shop.sqlite": ["shop.sql"]}, dirs=["out/tmp"], services=["web"], requires=["git"],
        exclude_tools=["get_url"])})
    [spec] = load_registry(path)
    fx = spec.fixtures
    assert fx is not None and fx.base == str(fixture_dir.resolve())
    assert [(f.source, f.target) for f in fx.files] == [("stuff/docs", "docs"), ("blob.bin.gz", "db/blob.bin")]
    assert [(d.target, d.sql) for d in fx.sqlite] == [("db/shop.sqlite", ["shop.sql"])]
    assert fx.services[0].name == "web" and fx.exclude_tools == ["get_url"] and fx.digest.startswith("sha256:")
    register(store, [spec], source=str(path))
    event = store.last("server:reader", "server-registered").event
    assert event.fixtures == fx
    first_hash = event.config_hash
    # changed fixture content is a changed configuration
    (fixture_dir / "stuff" / "docs" / "note.txt").write_text("edited\n")
    [again] = load_registry(path)
    assert register(store, [again], source=str(path)) == {"reader": "changed"}
    assert store.last("server:reader", "server-registered").event.config_hash != first_hash


def test_entries_without_fixtures_keep_their_config_hash(store, tmp_path):
    # the hash of a plain entry does not depend on this feature (existing logs stay unchanged)
    path = write_registry(tmp_path, {"plain": {"command": "uvx", "args": ["x"]}})
    register(store, load_registry(path), source="t")
    event = store.last("server:plain", "server-registered").event
    assert event.fixtures is None
    from firefly.ids import content_hash

    assert event.config_hash == content_hash({
        "transport": "stdio", "command": "uvx", "args": ["x"], "cwd": None, "url": None, "env": {}, "headers": {},
        "secrets": content_hash({"env": {}, "headers": {}})})


@pytest.mark.parametrize(("firefly", "message"), [
    ("data", "must be an object"),
    ({"fixture": ["x"]}, "unknown key(s) 'fixture'"),
    ({"fixtures": ["/etc/passwd"]}, "must be a relative path"),
    ({"fixtures": ["../secret"]}, "must be a relative path"),
    ({"fixtures": ["missing.txt"]}, "does not exist"),
    ({"fixtures": [{"from": "stuff", "to": "repo"}]}, "would replace the seed workspace's 'repo'"),
    ({"fixtures": [{"from": "stuff"}]}, 'exactly "from" and "to"'),
    ({"fixtures": [{"from": "stuff", "to": "a"}, {"from": "shop.sql", "to": "a/b.sql"}]}, "fixtures collide"),
    ({"sqlite": {"db/x.sqlite": []}}, "non-empty list of SQL scripts"),
    ({"services": ["ftp"]}, "unknown service 'ftp'"),
    ({"services": [{"name": "redis", "port": 99999}]}, "port must be a number"),
    ({"services": [{"name": "postgresql", "database": "shop; DROP"}]}, "letters, digits and underscores"),
    ({"python": "3"}, '"python" must be a version'),
    ({"exclude_tools": "fetch"}, '"exclude_tools" must be a list'),
])
def test_fixture_errors_are_clear(fixture_dir, firefly, message):
    path = write_registry(fixture_dir, {"reader": reader_entry(**{}) | {"firefly": firefly}})
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert message in str(err.value) and "'reader'" in str(err.value)


def test_two_servers_may_share_a_fixture_but_not_a_target(fixture_dir):
    same = {"fixtures": [{"from": "stuff", "to": "files2"}]}
    assert len(load_registry(write_registry(fixture_dir, {"a": reader_entry(**same), "b": reader_entry(**same)}))) == 2
    other = {"fixtures": [{"from": "shop.sql", "to": "files2"}]}
    with pytest.raises(RegistryError, match="fixtures collide"):
        load_registry(write_registry(fixture_dir, {"a": reader_entry(**same), "b": reader_entry(**other)}))


def test_sandbox_gets_copies_of_every_fixture(fixture_dir, tmp_path):
    path = write_registry(fixture_dir, {"reader": reader_entry(
        fixtures=["stuff", {"from": "blob.bin.gz", "to": "db/blob.bin"}], sqlite={"db/shop.sqlite": "shop.sql"},
        dirs=["out/tmp"])})
    [spec] = load_registry(path)
    source = fixture_dir / "stuff" / "docs" / "note.txt"
    source.chmod(0o444)  # seeds are read-only; the sandbox's copy is its own
    root = build_sandbox(tmp_path / "box", [spec.fixtures])
    assert (root / "stuff" / "docs" / "note.txt").read_text() == "the fixture note\n"
    assert (root / "repo" / ".git").is_dir()  # the seed workspace is there too
    assert (root / "db" / "blob.bin").read_bytes() == b"unpacked bytes"
    with sqlite3.connect(root / "db" / "shop.sqlite") as conn:
        assert sorted(r[0] for r in conn.execute("SELECT name FROM items")) == ["desk", "lamp"]
    assert (root / "out" / "tmp").is_dir()
    (root / "stuff" / "docs" / "note.txt").write_text("changed by a server")
    assert source.read_text() == "the fixture note\n"


class ReadPolicy:
    name = "fixture-reader"

    def propose(self, tool, history, workspace, rng, attempt=0):
        return Proposal({"path": "docs/note.txt"})


def test_discover_and_explore_see_the_fixtures_and_skip_excluded_tools(store, fixture_dir):
    path = write_registry(fixture_dir, {"reader": reader_entry(
        fixtures=[{"from": "stuff/docs", "to": "docs"}], exclude_tools=["get_url"])})
    register(store, load_registry(path), source=str(path))
    report = discover(store, connect_timeout=30)
    assert report.connected == ["reader"]
    rows = dict(store.conn.execute("SELECT name, callable FROM tools WHERE server = 'reader'").fetchall())
    assert rows == {"read_file": 1, "list_files": 1, "get_url": 0}  # excluded: listed, never explored
    store.append(DagSampled(dag_id="d0", tools=[DagTool(server="reader", name="read_file", schema_hash="h")],
                            edges=[], seed=0, index=0, sampler="test"))
    store.catch_up()
    result = explore(store, ReadPolicy(), concurrency=1, connect_timeout=30)
    assert (result.finished, result.successes) == (1, 1)
    text = store.conn.execute("SELECT result_text FROM calls WHERE tool = 'read_file'").fetchone()[0]
    assert text == "the fixture note\n"
    # dropping the exclusion makes the tool callable again on the next discovery
    register(store, load_registry(write_registry(fixture_dir, {"reader": reader_entry(
        fixtures=[{"from": "stuff/docs", "to": "docs"}])})), source=str(path))
    discover(store, connect_timeout=30)
    assert store.conn.execute("SELECT callable FROM tools WHERE name = 'get_url'").fetchone()[0] == 1


def test_missing_python_program_or_service_is_one_server_failed_event(store, fixture_dir, monkeypatch):
    import firefly.services as services

    monkeypatch.setattr(services, "_which", lambda *names: None)  # no Redis, no MariaDB here
    monkeypatch.setattr(services, "_postgres_bindir", lambda: None)
    path = write_registry(fixture_dir, {
        "old-python": reader_entry(python="3.99"),
        "no-program": reader_entry(requires=["firefly-no-such-program"]),
        "no-redis": reader_entry(services=["redis"]),
        "fine": reader_entry(),
    })
    register(store, load_registry(path), source=str(path))
    report = discover(store, connect_timeout=30)
    assert report.connected == ["fine"]
    failed = {e.event.server: e.event for e in store.read(types=["server-failed"])}
    assert set(failed) == {"old-python", "no-program", "no-redis"}
    assert all(f.error_class == "config-error" for f in failed.values())
    assert "needs Python 3.99" in failed["old-python"].message
    assert "firefly-no-such-program" in failed["no-program"].message
    assert "Redis is not installed" in failed["no-redis"].message


def test_a_found_python_goes_first_on_the_servers_path(tmp_path, monkeypatch):
    from firefly.pythons import find_python

    fake = tmp_path / "pyenv" / "versions" / "3.98.1" / "bin"
    fake.mkdir(parents=True)
    (fake / "python3.98").write_text("#!/bin/sh\necho 3.98\n")
    (fake / "python3.98").chmod(0o755)
    shims = tmp_path / "shims"  # like a pyenv shim of a version not selected: it fails
    shims.mkdir()
    (shims / "python3.98").write_text("#!/bin/sh\nexit 127\n")
    (shims / "python3.98").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:/usr/bin:/bin")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    assert find_python("3.98") == fake / "python3.98"
    assert find_python("3.97") is None


def test_registry_option_takes_a_bundled_name_or_a_path(tmp_path):
    assert set(bundled_registries()) >= {"default", "offline"}
    offline = find_registry("offline")
    assert offline == bundled_registries()["offline"] and offline.is_file()
    path = write_registry(tmp_path, {})
    assert find_registry(str(path)) == path
    with pytest.raises(RegistryError, match="bundled: default, offline"):
        find_registry("no-such-registry")


def test_the_offline_registry_parses_with_its_fixtures():
    specs = load_registry(find_registry("offline"))
    assert len(specs) == 89
    by_name = {s.name: s for s in specs}
    assert by_name["duckdb"].fixtures.base == "bundled:registries/offline"
    assert fixture_base(by_name["duckdb"].fixtures.base) == find_registry("offline").parent
    assert by_name["everything"].fixtures.exclude_tools == ["gzip-file-as-resource", "get-env"]
    assert {n.name for n in by_name["postgres"].fixtures.services} == {"postgresql"}
    assert by_name["datetime"].fixtures.python == "3.12"


def test_cli_registry_option_resolves_offline(tmp_path):
    from typer.testing import CliRunner

    from firefly.cli import app

    result = CliRunner().invoke(app, ["servers", "import", "offline", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 0, result.output
    assert "89 server(s)" in result.output
    bad = CliRunner().invoke(app, ["servers", "import", "nope", "--db", str(tmp_path / "x.db")])
    assert bad.exit_code != 0 and "no bundled registry" in bad.output
