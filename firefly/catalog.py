"""Offline tool catalogs: schemas of servers that cannot be called from here.

The format is one JSON object per line (``../shared/catalogs/smithery-870-servers.jsonl``):
``{"id", "name", "qualified_name", "overview", "primary_label", "secondary_labels",
"tools": [{"name", "description", "inputSchema", "annotations"}]}``. Each server becomes a
``server-registered`` event with transport ``catalog`` and each tool a ``tool-discovered``
event with ``callable = false``. Real catalogs are messy (missing descriptions, invalid
schemas, duplicate names): such tools are kept and flagged; a line that is not a server is
skipped and reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discovery import schema_hash, tool_event
from .errors import CatalogError
from .events import ServerRegistered, ToolRemoved
from .ids import content_hash
from .store import Store


@dataclass
class CatalogReport:
    servers: int = 0
    servers_added: int = 0
    tools: int = 0
    tools_added: int = 0
    tools_changed: int = 0
    tools_invalid: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "servers_added": self.servers_added,
            "tools": self.tools,
            "tools_added": self.tools_added,
            "tools_changed": self.tools_changed,
            "tools_invalid": self.tools_invalid,
            "lines_skipped": len(self.skipped),
        }


def read_catalog(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse a catalog file: (server entries, reasons for skipped lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror or exc}") from None
    entries, skipped = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            skipped.append(f"line {number}: not JSON ({exc})")
            continue
        if not isinstance(entry, dict) or not (entry.get("qualified_name") or entry.get("name")):
            skipped.append(f"line {number}: not a server entry (no qualified_name or name)")
            continue
        if not isinstance(entry.get("tools"), list):
            skipped.append(f"line {number}: server {entry.get('qualified_name') or entry.get('name')!r} has no tools list")
            continue
        entries.append(entry)
    if not entries and skipped:
        raise CatalogError(f"{path} holds no usable server entries; first problem: {skipped[0]}")
    return entries, skipped


def import_catalog(store: Store, path: str | Path, *, progress: Callable[[int, int], None] | None = None) -> CatalogReport:
    """Record a catalog's servers and tools (idempotent: a re-import writes only changes)."""
    path = Path(path)
    entries, skipped = read_catalog(path)
    report = CatalogReport(skipped=skipped)
    source = f"catalog:{path.name}"
    store.catch_up()
    servers = {row[0]: row[1:] for row in store.conn.execute(
        "SELECT name, status, transport, config_hash, config_version FROM servers")}
    live: dict[tuple[str, str], str] = {}
    versions: dict[tuple[str, str], int] = {}
    for server, tool_name, h, removed, version in store.conn.execute(
        "SELECT server, name, schema_hash, removed, stream_version FROM tools"
    ):
        versions[(server, tool_name)] = version
        if not removed:
            live[(server, tool_name)] = h
    live_by_server: dict[str, dict[str, str]] = {}
    for (server, tool_name), h in live.items():
        live_by_server.setdefault(server, {})[tool_name] = h
    names_used: set[str] = set()
    events: list[Any] = []
    for i, entry in enumerate(entries):
        name = str(entry.get("qualified_name") or entry.get("name")).strip()
        if name in servers and servers[name][1] != "catalog":
            name = f"{name} (catalog)"
        if name in names_used:
            name = f"{name}#{entry.get('id', i)}"
        names_used.add(name)
        labels = [entry["primary_label"]] if isinstance(entry.get("primary_label"), str) else []
        labels += [x for x in entry.get("secondary_labels") or [] if isinstance(x, str)]
        meta = {"title": entry.get("name"), "overview": entry.get("overview"), "labels": labels, "source": source}
        config_hash = content_hash(meta)
        previous = servers.get(name, (None, None, None, 0))
        previous_hash = previous[2] if previous[0] not in (None, "removed") else None
        if previous_hash != config_hash:
            events.append(
                ServerRegistered(
                    name=name,
                    transport="catalog",
                    source=source,
                    config_hash=config_hash,
                    previous_hash=previous_hash,
                    version=previous[3],
                    title=entry.get("name") if isinstance(entry.get("name"), str) else None,
                    overview=entry.get("overview") if isinstance(entry.get("overview"), str) else None,
                    labels=labels,
                )
            )
            if previous_hash is None:
                report.servers_added += 1
        report.servers += 1
        listed: set[str] = set()
        for tool in entry["tools"]:
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"].strip():
                report.skipped.append(f"server {name!r}: a tool without a name")
                continue
            if tool["name"] in listed:
                report.skipped.append(f"server {name!r}: tool {tool['name']!r} listed twice (first kept)")
                continue
            listed.add(tool["name"])
            report.tools += 1
            old = live.get((name, tool["name"]))
            if old == schema_hash(tool):
                continue
            event = tool_event(name, tool, old, versions.get((name, tool["name"]), 0), callable_=False, source=source)
            events.append(event)
            report.tools_invalid += not event.schema_valid
            if old is None:
                report.tools_added += 1
            else:
                report.tools_changed += 1
        for tool_name, old in sorted(live_by_server.get(name, {}).items()):
            if tool_name not in listed:
                events.append(ToolRemoved(server=name, name=tool_name, last_hash=old, version=versions.get((name, tool_name), 0)))
        if progress:
            progress(i + 1, len(entries))
    with store.transaction():
        store.append_many(events)
    store.catch_up()
    return report
