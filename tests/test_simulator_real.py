"""The simulator over calls the real explorer recorded from real bundled servers (git and
filesystem, started with uvx / npx on the seed workspace): every recorded trajectory replays
exactly, in order, in one episode each."""

from __future__ import annotations

import json

import pytest

from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.offline import OfflinePolicy
from firefly.explore.stage import explore
from firefly.registry import load_registry, register
from firefly.resources import bundled_registry
from firefly.simulator import MISS_TEXT, Simulator

pytestmark = pytest.mark.real_servers

DAGS = [
    [("git", "git_status"), ("git", "git_log"), ("git", "git_show")],
    [("filesystem", "list_directory"), ("filesystem", "read_text_file"), ("filesystem", "write_file"),
     ("filesystem", "read_text_file")],
    [("git", "git_branch"), ("filesystem", "write_file"), ("git", "git_status")],
]


def test_recorded_real_trajectories_replay_exactly(store):
    servers = {k: v for k, v in json.loads(bundled_registry().read_text())["mcpServers"].items() if k in ("git", "filesystem")}
    path = store.path.parent / "registry.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    register(store, load_registry(path), source="test")
    discover(store, connect_timeout=300, call_timeout=60)
    for i, tools in enumerate(DAGS):
        store.append(DagSampled(dag_id=f"real{i}", tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    report = explore(store, OfflinePolicy(), concurrency=1, connect_timeout=300)
    assert report.finished == len(DAGS) and report.successes >= 6
    with Simulator.open(store) as sim:
        replayed = 0
        for (xid,) in store.conn.execute("SELECT exploration_id FROM explorations ORDER BY exploration_id").fetchall():
            ep = sim.episode()
            for server, tool, args, content, structured, is_error, state in store.conn.execute(
                "SELECT server, tool, arguments, content, structured_content, is_error, state FROM calls"
                " WHERE exploration_id = ? AND error_class IS NULL ORDER BY step, attempt", (xid,)).fetchall():
                assert ep.state == state
                r = ep.call_sync(server, tool, json.loads(args))
                assert (r.content, r.structured_content, r.is_error) == (
                    json.loads(content), json.loads(structured) if structured else None, bool(is_error))
                replayed += 1
        assert replayed == store.conn.execute("SELECT count(*) FROM calls WHERE error_class IS NULL").fetchone()[0]
        assert sim.call_sync("git", "git_log", {"repo_path": "/workspace/no-such-repo"}).text == MISS_TEXT
