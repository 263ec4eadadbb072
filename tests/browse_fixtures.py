"""A small explored database for the Datasette, pack and merge tests: the toy notes server
over stdio, explored along hand-made DAGs by a scripted policy. One call asks for a note
whose title is hostile markup, so a real tool result (the server's error text) carries it."""

from __future__ import annotations

import json
import sys

from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.policy import ArgSource, Proposal
from firefly.explore.stage import explore
from firefly.registry import parse_registry, register
from firefly.store import Store

from .conftest import SERVERS
from .servers import toy

HOSTILE = "<script>document.body.appendChild(document.createElement('pwned-script'))</script><img src=x onerror=\"document.body.appendChild(document.createElement('pwned-img'))\">"


class HostilePolicy:
    """Reads the note the previous call named; asks for a hostile title when alone."""

    name = "scripted"

    def propose(self, tool, history, workspace, rng, attempt=0):  # noqa: ANN001, ANN201
        if tool.name == "read_note":
            if history:
                return Proposal({"title": "groceries"}, (ArgSource("/title", history[-1].step, "$.content[0].text", "groceries"),))
            return Proposal({"title": HOSTILE if attempt == 0 else "groceries"})
        return Proposal({})


def toy_registry(*names: str) -> str:
    entry = {"command": sys.executable, "args": [str(SERVERS / "toy.py"), "${FIREFLY_WORKSPACE}"]}
    return json.dumps({"mcpServers": {name: entry for name in names}})


DAGS = [
    [("list_notes",), ("read_note",)],
    [("read_note",)],
    [("list_notes",), ("delete_note",), ("read_note",)],
]
# results without process ids (list_notes and delete_note answer with theirs): the same in every run
STEADY_DAGS = [[("read_note",), ("read_note",)]]


def build_explored(store: Store, servers: tuple[str, ...] = ("toy",), dags: list[list[tuple[str, ...]]] = DAGS) -> None:
    """One run over ``servers`` (each a copy of the toy server): register and discover them,
    sample ``dags`` on each, explore them all."""
    register(store, parse_registry(toy_registry(*servers)), source="test")
    # discovery lists the in-process server (the same tools, no process to start); the
    # explorer calls the real stdio one
    discover(store, list(servers), connect_timeout=30, targets={name: toy.build() for name in servers})
    for server in servers:
        for i, tools in enumerate(dags):
            store.append(DagSampled(
                dag_id=f"{server}-dag{i}", tools=[DagTool(server=server, name=t[0], schema_hash="h") for t in tools],
                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler=f"test-{server}"))
    store.catch_up()
    report = explore(store, HostilePolicy(), concurrency=2, connect_timeout=30)
    assert report.finished == len(dags) * len(servers), report
