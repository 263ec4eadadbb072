"""The memory family: @modelcontextprotocol/server-memory (``serverInfo`` ``memory-server``)
and servers shaped like it: a knowledge graph of entities, observations and relations.

Its world: the graph of the seed workspace (``memory.jsonl`` of :mod:`firefly.seeds`, a copy
of ``data/seeds/memory.jsonl``), shared with no other server. What firefly knows:

- probes: the entities an effect created, observed, related or deleted -> ``open_nodes`` of
  their names;
- facts: the entities (name, type, number of observations), their observations and the
  relations of a graph, a search or the nodes opened;
- words: "the knowledge graph", and each change to it as an instruction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..explore.policy import CallRecord
from ..explore.probe import Probe, Readers, props
from ..explore.probe import words as name_words
from ..synth.facts import MAX_ITEMS, Cell, Item, Reading, Table, first_text, parse_structured_text
from ..synth.phrasing import listing, quote
from .family import FactReader, FamilyAdapter

__all__ = ["ADAPTER", "MemoryAdapter"]

TOOLS = {
    "add_observations": frozenset(["observations"]),
    "create_entities": frozenset(["entities"]),
    "create_relations": frozenset(["relations"]),
    "delete_entities": frozenset(["entityNames"]),
    "delete_observations": frozenset(["deletions"]),
    "delete_relations": frozenset(["relations"]),
    "open_nodes": frozenset(["names"]),
    "read_graph": frozenset(),
    "search_nodes": frozenset(["query"]),
}


# --------------------------------------------------------------------------- probes


def _entity_names(value: Any, key: str = "") -> list[str]:
    """Entity names in memory-graph arguments: name, entityName, from, to, entityNames[]."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_entity_names(v, k))
    elif isinstance(value, list):
        for v in value:
            out.extend(_entity_names(v, key))
    elif isinstance(value, str) and name_words(key) in (["name"], ["entity", "name"], ["from"], ["to"],
                                                    ["entity", "names"], ["names"]):
        out.append(value)
    return out


def _memory_probe(call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
    opener = readers.first("open_nodes")
    if opener is None or "names" not in props(opener):
        return None
    names = list(dict.fromkeys(_entity_names(call.arguments)))[:6]
    if not names:
        return None
    return Probe(opener, {"names": names}, "open the entities the call touched")


# --------------------------------------------------------------------------- facts


def _graph(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    if not isinstance(structured, dict):
        found = first_text(content)
        structured = parse_structured_text(found[1]) if found else None
        base = f"{found[0]}#json=$" if found else ""
    else:
        base = "$.structured_content"
    if not isinstance(structured, dict):
        return None
    out = []
    entities = structured.get("entities")
    if isinstance(entities, list):
        items = []
        obs_items = []
        for i, e in enumerate(entities):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                continue
            p = f"{base}.entities[{i}]"
            cells = {"name": Cell(e["name"], f"{p}.name")}
            if isinstance(e.get("entityType"), str):
                cells["entityType"] = Cell(e["entityType"], f"{p}.entityType")
            obs = e.get("observations")
            if isinstance(obs, list):
                cells["observations"] = Cell(len(obs), f"{p}.observations")
                for j, o in enumerate(obs):
                    if isinstance(o, str):
                        obs_items.append(Item({"entity": Cell(e["name"], f"{p}.name"),
                                               "text": Cell(o, f"{p}.observations[{j}]")}, len(obs_items)))
            items.append(Item(cells, len(items)))
        if items:
            out.append(Table(step, "entity", "entities", "name", items[:MAX_ITEMS],
                             labels={"entityType": "type", "observations": "number of observations"},
                             numeric=("observations",), total=len(items), whole=f"{base}.entities"))
        if obs_items:
            out.append(Table(step, "observation", "observations", "text", obs_items[:MAX_ITEMS],
                             total=len(obs_items), whole=f"{base}.entities"))
    relations = structured.get("relations")
    if isinstance(relations, list):
        items = []
        for i, r in enumerate(relations):
            if isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("from", "to", "relationType")):
                p = f"{base}.relations[{i}]"
                items.append(Item({k: Cell(r[k], f"{p}.{k}") for k in ("from", "relationType", "to")}, len(items)))
        if items:
            out.append(Table(step, "relation", "relations", "relationType", items[:MAX_ITEMS],
                             labels={"relationType": "relation type", "from": "source entity", "to": "target entity"},
                             total=len(items), whole=f"{base}.relations"))
    return Reading(out)


READERS: dict[str, FactReader] = {"read_graph": _graph, "search_nodes": _graph, "open_nodes": _graph}


# --------------------------------------------------------------------------- words


def _scope(tool: str, args: dict[str, Any], subst: dict[str, str]) -> str | None:
    if tool == "read_graph":
        return "the knowledge graph"
    if tool == "search_nodes":
        query = subst.get("query", args.get("query"))
        return (f"the knowledge-graph search for {query}" if "query" in subst
                else f"the knowledge-graph search for {quote(query)}")
    if tool == "open_nodes":
        names = args.get("names") or []
        if len(names) == 1 and subst.get("names/0"):
            return f"the knowledge-graph node of {subst['names/0']}"  # one node, named by where it came from
        parts = [subst.get(f"names/{i}") or quote(n) for i, n in enumerate(names)]
        return "the knowledge-graph nodes " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts))
    return None


def _relations(relations: list[dict[str, Any]]) -> str:
    parts = [f"{quote(r['from'])} {r['relationType']} {quote(r['to'])}" for r in relations]
    plural = "s" if len(parts) > 1 else ""
    types = listing(sorted({r["relationType"] for r in relations}))
    return f"the relation{plural} " + "; ".join(parts) + f" (relation type{plural} {types})"


def _effect(tool: str, args: dict[str, Any]) -> str | None:
    if tool == "create_entities":
        parts = []
        for e in args["entities"]:
            text = f"an entity {quote(e['name'])} of type {quote(e['entityType'])}"
            if e.get("observations"):
                text += " with the observation" + ("s " if len(e["observations"]) > 1 else " ") + listing(e["observations"])
            parts.append(text)
        return "add to the knowledge graph " + "; and ".join(parts)
    if tool == "create_relations":
        return "record in the knowledge graph " + _relations(args["relations"])
    if tool == "add_observations":
        parts = [f"the observation{'s' if len(o['contents']) > 1 else ''} {listing(o['contents'])} to {quote(o['entityName'])}"
                 for o in args["observations"]]
        return "add to the knowledge graph " + "; and ".join(parts)
    if tool == "delete_entities":
        return "delete from the knowledge graph the entit" + ("ies " if len(args["entityNames"]) > 1 else "y ") + listing(
            args["entityNames"])
    if tool == "delete_observations":
        parts = [f"the observation{'s' if len(d['observations']) > 1 else ''} {listing(d['observations'])} of {quote(d['entityName'])}"
                 for d in args["deletions"]]
        return "delete from the knowledge graph " + "; and ".join(parts)
    if tool == "delete_relations":
        return "delete from the knowledge graph " + _relations(args["relations"])
    return None


# --------------------------------------------------------------------------- the adapter


class MemoryAdapter(FamilyAdapter):
    name = "memory"
    server_names = frozenset({"memory-server", "server-memory"})
    tools = TOOLS
    workspace = ("memory.jsonl", "memory.jsonl")

    def probe_rule(self, call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
        return _memory_probe(call, words, readers)

    def fact_readers(self) -> Mapping[str, FactReader]:
        return READERS

    def family_scope(self, tool: str, arguments: dict[str, Any], subst: dict[str, str]) -> str | None:
        return _scope(tool, arguments, subst)

    def described(self) -> frozenset[str]:
        return frozenset({"create_entities", "create_relations", "add_observations", "delete_entities",
                          "delete_observations", "delete_relations"})

    def family_effect(self, tool: str, arguments: dict[str, Any]) -> str | None:
        return _effect(tool, arguments)


ADAPTER = MemoryAdapter()
