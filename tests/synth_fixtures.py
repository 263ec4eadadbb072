"""Recorded explorations for the synthesis tests, built from events (no server needed).

The results have the shapes the bundled real servers answer with (mcp-server-git's text,
the memory server's structured content, mcp-server-sqlite's Python-literal rows), so the
fact readers meet what they meet in a real run. :func:`shop_world` records three
explorations over three sampled DAGs:

* ``xgit`` (DAG ``dgit``): git_log (3 commits) -> git_show of the middle commit (its hash
  fed from the log) -> git_create_branch ``feature/spring`` -> git_branch (shows it).
* ``xmem`` (DAG ``dmem``): read_graph -> create_entities ``Ada Park`` -> open_nodes of her.
* ``xsql`` (DAG ``dsql``): list_tables -> describe_table of the second table (fed) ->
  read_query over products.
"""

from __future__ import annotations

from typing import Any

from firefly.events import DagSampled, DagTool, ExplorationFinished, ExplorationStarted, ToolCalled, ToolDiscovered
from firefly.ids import canonical_json, content_hash, short_hash
from firefly.store import Store

REPO = {"type": "string", "description": "The path to the Git repository."}
TOOLS: dict[tuple[str, str], dict[str, Any]] = {
    ("git", "git_log"): ({"type": "object", "properties": {"repo_path": REPO, "max_count": {"type": "integer", "default": 10}},
                          "required": ["repo_path"]}, True),
    ("git", "git_show"): ({"type": "object", "properties": {"repo_path": REPO, "revision": {"type": "string"}},
                           "required": ["repo_path", "revision"]}, True),
    ("git", "git_create_branch"): ({"type": "object", "properties": {"repo_path": REPO, "branch_name": {"type": "string"},
                                                                     "base_branch": {"type": "string"}},
                                    "required": ["repo_path", "branch_name"]}, False),
    ("git", "git_branch"): ({"type": "object", "properties": {"repo_path": REPO, "branch_type": {"type": "string"}},
                             "required": ["repo_path", "branch_type"]}, True),
    ("memory", "read_graph"): ({"type": "object", "properties": {}}, True),
    ("memory", "create_entities"): ({"type": "object", "properties": {"entities": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "entityType": {"type": "string"},
                                         "observations": {"type": "array", "items": {"type": "string"}}}}}}}, False),
    ("memory", "open_nodes"): ({"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"}}}}, True),
    ("sqlite", "list_tables"): ({"type": "object", "properties": {}}, True),
    ("sqlite", "describe_table"): ({"type": "object", "properties": {"table_name": {"type": "string"}},
                                    "required": ["table_name"]}, True),
    ("sqlite", "read_query"): ({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}, True),
}

HASHES = ["5ac98f14ad8c006f9c6da8aa4e7b3b8879c20beb", "ae9c6a1a80a4db1211462cec23494bbbb2cc8207",
          "1afb043bb3fd3dc11dd750cefbd4dc801a276380"]
LOG = (
    "Commit history:\n"
    f"Commit: {HASHES[0]}\nAuthor: Daniel Brandt\nDate: 2025-03-05 10:00:00-05:00\nMessage: Release 0.2.0\n\n\n"
    f"Commit: {HASHES[1]}\nAuthor: Maya Okafor\nDate: 2025-02-27 17:20:00-05:00\nMessage: Move notes into README\n\n\n"
    f"Commit: {HASHES[2]}\nAuthor: Daniel Brandt\nDate: 2025-02-20 09:48:00-05:00\nMessage: Raise reorder points\n"
)
SHOW = (
    f"commit {HASHES[1]}\nAuthor: Maya Okafor <maya@harborcoffee.example>\nDate:   2025-02-27 17:20:00 -0500\n\n"
    "    Move notes into README\n\n--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # Shop\n+notes\n\n"
    "--- a/NOTES.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-old\n"
)
GRAPH = {
    "entities": [
        {"name": "Maya Okafor", "entityType": "person", "observations": ["Founder", "Sets prices"]},
        {"name": "Daniel Brandt", "entityType": "person", "observations": ["Developer"]},
        {"name": "Green Coast Importers", "entityType": "organization", "observations": ["Supplier", "Providence", "Lead time 10 days"]},
    ],
    "relations": [
        {"from": "Maya Okafor", "to": "Green Coast Importers", "relationType": "works_with"},
        {"from": "Daniel Brandt", "to": "Maya Okafor", "relationType": "reports_to"},
    ],
}
NEW = {"name": "Ada Park", "entityType": "person", "observations": ["Joined in 2025"]}


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value}]


def as_text(value: Any) -> list[dict[str, Any]]:
    import json

    return text(json.dumps(value, indent=2))


def discover(store: Store) -> None:
    for (server, name), (schema, read_only) in TOOLS.items():
        store.append(ToolDiscovered(server=server, name=name, description=f"{name} of {server}", input_schema=schema,
                                    annotations={"readOnlyHint": read_only},
                                    schema_hash="sha256:" + short_hash([server, name, schema], 64)))


class Walk:
    """One exploration of one DAG, recorded call by call as the explorer records them."""

    def __init__(self, store: Store, xid: str, dag_id: str, tools: list[tuple[str, str]]):
        self.store, self.xid, self.step, self.effects = store, xid, 0, []
        store.append(DagSampled(dag_id=dag_id, tools=[DagTool(server=s, name=n, schema_hash="h") for s, n in tools],
                                edges=[(i, i + 1) for i in range(len(tools) - 1)], sampler="test", index=len(dag_id)))
        store.append(ExplorationStarted(exploration_id=xid, dag_id=dag_id, policy="offline",
                                        tools=[f"{s}/{n}" for s, n in tools]))

    def call(self, server: str, tool: str, arguments: dict[str, Any], content: list[dict[str, Any]],
             structured: dict[str, Any] | None = None, sources: list[dict[str, Any]] | None = None,
             probe_of: int | None = None) -> ToolCalled:
        read_only = TOOLS[(server, tool)][1]
        event = ToolCalled(exploration_id=self.xid, step=self.step, server=server, tool=tool, arguments=arguments,
                           arguments_hash=content_hash(arguments), content=content, structured_content=structured,
                           sources=sources or [], read_only=read_only, state=content_hash(self.effects),
                           probe_of=probe_of)
        self.store.append(event)
        if not read_only:
            self.effects.append(canonical_json([server, tool, event.arguments_hash]))
        self.step += 1
        return event

    def finish(self) -> None:
        self.store.append(ExplorationFinished(exploration_id=self.xid, calls=self.step, successes=self.step, errors=0))


def shop_world(store: Store) -> Store:
    discover(store)
    repo = {"repo_path": "/workspace/repo"}
    g = Walk(store, "xgit", "dgit", [("git", "git_log"), ("git", "git_show"), ("git", "git_create_branch"), ("git", "git_branch")])
    g.call("git", "git_log", {**repo, "max_count": 5}, text(LOG))
    g.call("git", "git_show", {**repo, "revision": HASHES[1]}, text(SHOW),
           sources=[{"argument": "/revision", "step": 0, "path": "$.content[0].text#line=8", "value": HASHES[1]}])
    g.call("git", "git_create_branch", {**repo, "branch_name": "feature/spring"},
           text("Created branch 'feature/spring' from 'main'"))
    g.call("git", "git_branch", {**repo, "branch_type": "local"}, text("  feature/spring\n* main"))
    g.finish()
    m = Walk(store, "xmem", "dmem", [("memory", "read_graph"), ("memory", "create_entities"), ("memory", "open_nodes")])
    m.call("memory", "read_graph", {}, as_text(GRAPH), structured=GRAPH)
    m.call("memory", "create_entities", {"entities": [NEW]}, as_text([NEW]), structured={"entities": [NEW]})
    opened = {"entities": [NEW], "relations": []}
    m.call("memory", "open_nodes", {"names": ["Ada Park"]}, as_text(opened), structured=opened)
    m.finish()
    s = Walk(store, "xsql", "dsql", [("sqlite", "list_tables"), ("sqlite", "describe_table"), ("sqlite", "read_query")])
    s.call("sqlite", "list_tables", {}, text("[{'name': 'customers'}, {'name': 'products'}, {'name': 'orders'}]"))
    s.call("sqlite", "describe_table", {"table_name": "products"}, text(
        "[{'cid': 0, 'name': 'id', 'type': 'INTEGER', 'notnull': 0, 'dflt_value': None, 'pk': 1},"
        " {'cid': 1, 'name': 'sku', 'type': 'TEXT', 'notnull': 1, 'dflt_value': None, 'pk': 0},"
        " {'cid': 2, 'name': 'price', 'type': 'REAL', 'notnull': 1, 'dflt_value': None, 'pk': 0}]"),
        sources=[{"argument": "/table_name", "step": 0, "path": "$.content[0].text#json=$[1].name", "value": "products"}])
    s.call("sqlite", "read_query", {"query": "SELECT sku, price, stock FROM products ORDER BY sku LIMIT 4"}, text(
        "[{'sku': 'HCS-101', 'price': 14.2, 'stock': 142}, {'sku': 'HCS-102', 'price': 16.5, 'stock': 58},"
        " {'sku': 'HCS-201', 'price': 39.0, 'stock': 12}, {'sku': 'HCS-303', 'price': 22.0, 'stock': 999}]"))
    s.finish()
    store.catch_up()
    return store
