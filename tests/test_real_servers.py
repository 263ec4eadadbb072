"""Discovery against the bundled real servers, started with uvx / npx as a user would."""

from __future__ import annotations

import pytest

from firefly.discovery import discover
from firefly.registry import load_registry, register
from firefly.resources import bundled_registry

pytestmark = pytest.mark.real_servers

EXPECTED = {
    "time": {"get_current_time", "convert_time"},
    "git": {"git_log", "git_show", "git_status", "git_diff", "git_commit", "git_add", "git_branch"},
    "sqlite": {"read_query", "write_query", "list_tables", "describe_table"},
    "calculator": {"calculate"},
    "filesystem": {"read_text_file", "list_directory", "write_file", "search_files", "directory_tree"},
    "memory": {"create_entities", "search_nodes", "read_graph", "open_nodes"},
}


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    from firefly.store import Store

    store = Store.open(tmp_path_factory.mktemp("real") / "real.db")
    register(store, load_registry(bundled_registry()), source="bundled")
    report = discover(store, connect_timeout=300, call_timeout=60)
    yield store, report
    store.close()


def test_bundled_servers_are_discovered(discovered):
    store, report = discovered
    assert not report.failed, report.failed
    assert sorted(report.connected) == sorted(EXPECTED)
    for server, names in EXPECTED.items():
        listed = {r[0] for r in store.conn.execute("SELECT name FROM tools WHERE server = ? AND removed = 0", (server,))}
        assert names <= listed, (server, names - listed)
    counts = dict(store.conn.execute("SELECT name, tools FROM servers"))
    assert counts["git"] >= 10 and counts["filesystem"] >= 10 and counts["memory"] >= 8
    versions = dict(store.conn.execute("SELECT name, server_version FROM servers"))
    assert versions["time"] == "2026.10.19" and versions["git"] == "2026.10.19"
    assert store.conn.execute("SELECT count(*) FROM tools WHERE schema_valid = 0").fetchone()[0] == 0


def test_rediscovery_of_real_servers_changes_nothing(discovered):
    store, _ = discovered
    before = store.count("tool-discovered")
    report = discover(store, ["time", "git", "sqlite"], connect_timeout=300, call_timeout=60)
    assert sorted(report.connected) == ["git", "sqlite", "time"]
    assert store.count("tool-discovered") == before
    assert store.count("server-connected") == 9
