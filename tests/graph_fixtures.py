"""Stores for the graph tests, built by appending ``tool-discovered`` events directly.

* ``graph_bundled_tools.json``: what the six bundled servers (data/servers.json) list, as
  recorded by ``firefly run``: real schemas of callable tools, no server needed.
* ``graph_catalog.jsonl``: nine real servers of the Smithery catalog (catalog format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from firefly.discovery import schema_hash
from firefly.events import ToolDiscovered
from firefly.store import Store

HERE = Path(__file__).resolve().parent
BUNDLED = HERE / "graph_bundled_tools.json"
CATALOG = HERE / "graph_catalog.jsonl"


def bundled_servers() -> dict[str, list[dict[str, Any]]]:
    return json.loads(BUNDLED.read_text())["servers"]


def tool_discovered(server: str, tool: dict[str, Any], *, callable_: bool = True, previous: str | None = None, version: int = 0) -> ToolDiscovered:
    return ToolDiscovered(
        server=server,
        name=tool["name"],
        title=tool.get("title"),
        description=tool.get("description"),
        input_schema=tool.get("inputSchema") or {},
        output_schema=tool.get("outputSchema"),
        annotations=tool.get("annotations") or {},
        schema_hash=schema_hash(tool),
        previous_hash=previous,
        version=version,
        callable=callable_,
        source="discovery" if callable_ else "catalog:test",
    )


def add_tools(store: Store, servers: dict[str, list[dict[str, Any]]], *, callable_: bool = True) -> None:
    with store.transaction():
        store.append_many([tool_discovered(s, t, callable_=callable_) for s, tools in servers.items() for t in tools])
    store.catch_up()


def bundled_store(path: Path) -> Store:
    store = Store.open(path)
    add_tools(store, bundled_servers())
    return store


def catalog_servers() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for line in CATALOG.read_text().splitlines():
        entry = json.loads(line)
        out[entry["qualified_name"]] = entry["tools"]
    return out
