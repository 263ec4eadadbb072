"""A smoke run of a few light servers of the bundled ``offline`` registry, for real: the fetch
server reads a page of the local web service, duckdb queries its fixture database, a math
server computes. Needs the package registries on first run (uvx)."""

from __future__ import annotations

import pytest

from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.policy import Proposal
from firefly.explore.stage import explore
from firefly.registry import load_registry, register
from firefly.resources import find_registry

pytestmark = pytest.mark.real_servers

ARGUMENTS = {
    ("fetch", "fetch"): {"url": "http://127.0.0.1:18765/about.html"},
    ("duckdb", "query"): {"query": "SELECT sum(qty) AS units FROM sales"},
    ("math", "average"): {"numbers": [3, 5, 10]},
}


class Scripted:
    name = "scripted"

    def propose(self, tool, history, workspace, rng, attempt=0):
        if tool.server == "fetch":  # the page at the port firefly's web service got
            (url,) = [u for u in workspace.urls if u.endswith("/about.html")]
            return Proposal({"url": url})
        return Proposal(ARGUMENTS[(tool.server, tool.name)])


def test_light_offline_servers_answer_with_their_fixtures_and_services(store):
    specs = [s for s in load_registry(find_registry("offline")) if s.name in {"fetch", "duckdb", "math"}]
    register(store, specs, source="offline")
    report = discover(store, connect_timeout=240)
    assert sorted(report.connected) == ["duckdb", "fetch", "math"], report.failed
    for i, (server, tool) in enumerate(ARGUMENTS):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server=server, name=tool, schema_hash="h")],
                                edges=[], seed=0, index=i, sampler="test"))
    store.catch_up()
    result = explore(store, Scripted(), concurrency=1, connect_timeout=240)
    assert (result.finished, result.calls, result.successes) == (3, 3, 3)
    texts = dict(store.conn.execute("SELECT server, result_text FROM calls").fetchall())
    assert "We build offline MCP test fixtures" in texts["fetch"]  # served by firefly's web service
    assert "392" in texts["duckdb"]  # 12 + 3 + 200 + 150 + 2 + 25 units in the fixture database
    assert "6" in texts["math"]
