"""The offline explorer on the bundled real servers: effectful calls, their probes, the seeds.

Every effectful tool of the bundled servers that a state-change task can be built on is
walked after a reader; the call must succeed and be followed by a probe that observes its
effect. The seed folder must be byte-identical before and after.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from firefly.discovery import discover
from firefly.events import DagSampled, DagTool
from firefly.explore.offline import OfflinePolicy
from firefly.explore.stage import explore
from firefly.registry import load_registry, register
from firefly.resources import bundled_registry
from firefly.seeds import SEEDS_DIR

pytestmark = pytest.mark.real_servers

DAGS = [
    ["filesystem/list_directory", "filesystem/write_file"],
    ["filesystem/read_text_file", "filesystem/edit_file"],
    ["filesystem/edit_file"],
    ["filesystem/list_directory", "filesystem/create_directory"],
    ["filesystem/list_directory", "filesystem/move_file"],
    ["git/git_status", "git/git_add", "git/git_commit"],
    ["git/git_commit"],
    ["git/git_branch", "git/git_create_branch", "git/git_checkout"],
    ["memory/read_graph", "memory/create_entities", "memory/create_relations", "memory/add_observations"],
    ["memory/read_graph", "memory/delete_observations", "memory/delete_relations", "memory/delete_entities"],
    ["sqlite/list_tables", "sqlite/create_table", "sqlite/write_query"],
    ["sqlite/read_query", "sqlite/write_query"],
    ["sqlite/describe_table", "sqlite/write_query"],
    ["sqlite/read_query", "sqlite/append_insight"],
]


def tree_hash(root) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def observed(effect: dict, probe_text: str) -> bool:
    """Whether the probe's result shows the effect of the call (by what the call wrote)."""
    tool, args = effect["tool"], effect["arguments"]
    if tool == "write_file":
        return args["content"].strip() in probe_text
    if tool == "edit_file":
        return all(e["newText"].strip() in probe_text for e in args["edits"])
    if tool in ("create_directory",):
        return True  # an empty listing of the new folder is the observation
    if tool == "move_file":
        return args["destination"].rsplit("/", 1)[1] in probe_text
    if tool == "git_commit":  # made by the bundled identity at its fixed time: the same hash on every run
        return args["message"] in probe_text and "firefly explorer" in probe_text and "2026-01-01" in probe_text
    if tool == "git_add":
        return "Staged changes" in probe_text
    if tool == "git_create_branch":
        return args["branch_name"] in probe_text
    if tool == "git_checkout":
        return f"On branch {args['branch_name']}" in probe_text
    if tool == "create_entities":
        return all(e["name"] in probe_text for e in args["entities"])
    if tool == "create_relations":
        return all(r["relationType"] in probe_text for r in args["relations"])
    if tool == "add_observations":
        return all(c in probe_text for o in args["observations"] for c in o["contents"])
    if tool == "delete_observations":
        return all(c not in probe_text for d in args["deletions"] for c in d["observations"])
    if tool == "delete_relations":
        left = {(r["from"], r["relationType"], r["to"]) for r in json.loads(probe_text)["relations"]}
        return all((r["from"], r["relationType"], r["to"]) not in left for r in args["relations"])
    if tool == "delete_entities":
        return '"entities": []' in probe_text
    if tool == "create_table":
        return "'name': 'id'" in probe_text or "'cid': 0" in probe_text
    if tool == "write_query":
        return probe_text.startswith("[")
    raise AssertionError(f"no check for {tool}")


def test_effectful_calls_succeed_and_their_probes_observe_them(store):
    before = tree_hash(SEEDS_DIR)
    register(store, load_registry(bundled_registry()), source="bundled")
    report = discover(store, ["git", "sqlite", "filesystem", "memory"], connect_timeout=300, call_timeout=60)
    assert not report.failed, report.failed
    for i, tools in enumerate(DAGS):
        store.append(DagSampled(dag_id=f"d{i:02}", tools=[DagTool(server=t.split("/")[0], name=t.split("/")[1],
                                                                   schema_hash="h") for t in tools],
                                edges=[(j, j + 1) for j in range(len(tools) - 1)], seed=0, index=i, sampler="test"))
    store.catch_up()
    result = explore(store, OfflinePolicy(), concurrency=2, connect_timeout=300)
    assert (result.finished, result.failed) == (len(DAGS), 0)
    rows = [dict(zip(("xid", "step", "tool", "arguments", "ok", "read_only", "probe_of", "text", "error"), r))
            for r in store.conn.execute(
                "SELECT exploration_id, step, tool, arguments, ok, read_only, probe_of, result_text, error FROM calls"
                " ORDER BY exploration_id, step, attempt")]
    for r in rows:
        r["arguments"] = json.loads(r["arguments"])
    effects = [r for r in rows if not r["read_only"] and r["ok"]]
    failed = [(r["tool"], r["error"] or r["text"]) for r in rows if not r["ok"]]
    assert not failed, failed
    assert {r["tool"] for r in effects} >= {t.split("/")[1] for d in DAGS for t in d if "/" in t} - {
        "list_directory", "read_text_file", "git_status", "git_branch", "read_graph", "list_tables", "read_query",
        "describe_table"}
    probes = {(r["xid"], r["probe_of"]): r for r in rows if r["probe_of"] is not None}
    for effect in effects:
        probe = probes.get((effect["xid"], effect["step"]))
        if effect["tool"] == "append_insight":
            assert probe is None  # nothing read-only shows the memo
            continue
        assert probe is not None, effect
        assert probe["step"] == effect["step"] + 1 and probe["ok"] and probe["read_only"]
        assert observed(effect, probe["text"]), (effect, probe)
    # the seeds are byte-identical after servers wrote to their sandboxes
    assert tree_hash(SEEDS_DIR) == before
