"""Recorded worlds for the simulator's tests, built from events directly (no server needed).

Two servers: ``notes`` (a note store: read_note, write_note, list_notes, now: a clock) and
``calc`` (add). :class:`Walk` records calls the way the explorer does, with ``state`` the
hash of the effects before each call.
"""

from __future__ import annotations

from typing import Any

from firefly.events import IN_BAND_ERROR, ToolCalled, ToolDiscovered
from firefly.ids import canonical_json, content_hash, short_hash
from firefly.store import Store

TOOLS: dict[tuple[str, str], dict[str, Any]] = {
    ("notes", "read_note"): {
        "description": "Read one note by its path.",
        "input_schema": {"type": "object", "properties": {
            "path": {"type": "string", "description": "The note's path"},
            "format": {"type": "string", "default": "text"},
        }, "required": ["path"]},
        "annotations": {"readOnlyHint": True},
    },
    ("notes", "write_note"): {
        "description": "Write a note (replaces it).",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}, "text": {"type": "string"}},
                         "required": ["path", "text"]},
        "annotations": {"readOnlyHint": False, "destructiveHint": True},
    },
    ("notes", "list_notes"): {
        "description": "List notes under a folder.",
        "input_schema": {"type": "object", "properties": {
            "folder": {"type": "string", "default": "/workspace/notes"},
            "options": {"$ref": "#/$defs/Options"},
        }, "$defs": {"Options": {"type": "object", "properties": {"limit": {"type": "integer", "default": 10}}}}},
        "annotations": {"readOnlyHint": True, "title": "List notes"},
    },
    ("notes", "now"): {
        "description": "The current time.",
        "input_schema": {"type": "object", "properties": {}},
        "annotations": {"readOnlyHint": True},
    },
    ("calc", "add"): {
        "description": "Add two numbers.",
        "input_schema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
        "output_schema": {"type": "object", "properties": {"sum": {"type": "number"}}},
        "annotations": {"readOnlyHint": True},
    },
}


def discover(store: Store, tools: dict[tuple[str, str], dict[str, Any]] = TOOLS, version: int = 0) -> None:
    for (server, name), spec in tools.items():
        store.append(ToolDiscovered(
            server=server, name=name, description=spec["description"], input_schema=spec["input_schema"],
            output_schema=spec.get("output_schema"), annotations=spec["annotations"],
            schema_hash="sha256:" + short_hash([server, name, spec], 64), version=version,
        ))


def text(value: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": value}]


class Walk:
    """One exploration, recorded call by call as the explorer records them."""

    def __init__(self, store: Store, xid: str, tools: dict[tuple[str, str], dict[str, Any]] = TOOLS):
        self.store = store
        self.tools = tools
        self.xid = xid
        self.step = 0
        self.effects: list[str] = []

    def call(self, server: str, tool: str, arguments: dict[str, Any], result: str, *, is_error: bool = False,
             error_class: str | None = None, structured: dict[str, Any] | None = None, attempt: int = 0,
             next_step: bool = True, probe_of: int | None = None) -> ToolCalled:
        read_only = bool(self.tools[(server, tool)]["annotations"].get("readOnlyHint"))
        no_result = error_class is not None and error_class != IN_BAND_ERROR  # an in-band error is a reply
        event = ToolCalled(
            exploration_id=self.xid, step=self.step, attempt=attempt, server=server, tool=tool, arguments=arguments,
            arguments_hash=content_hash(arguments), content=[] if no_result else text(result),
            structured_content=structured, is_error=is_error or no_result, error_class=error_class,
            error=result if error_class else None, read_only=read_only, state=content_hash(self.effects),
            probe_of=probe_of,
        )
        self.store.append(event)
        if not event.is_error and error_class is None and not read_only:
            self.effects.append(canonical_json([server, tool, event.arguments_hash]))
        if next_step:  # False for a failed attempt that is retried
            self.step += 1
        return event


def notes_world(store: Store) -> Store:
    """Three explorations over the notes and calc servers (see the tests for what they hold)."""
    discover(store)
    a = Walk(store, "xa")
    a.call("notes", "read_note", {"path": "/workspace/notes/todo.md"}, "buy milk")
    a.call("notes", "write_note", {"path": "/workspace/notes/todo.md", "text": "buy eggs"}, "wrote 8 bytes")
    a.call("notes", "read_note", {"path": "/workspace/notes/todo.md"}, "buy eggs")
    a.call("calc", "add", {"a": 1, "b": 2}, "3", structured={"sum": 3})
    a.call("notes", "now", {}, "2026-01-01T10:00:00Z")
    a.call("notes", "now", {}, "2026-01-01T10:00:05Z")
    b = Walk(store, "xb")
    b.call("calc", "add", {"a": 2, "b": 2}, "4", structured={"sum": 4})
    b.call("notes", "list_notes", {}, "todo.md\nideas.md")
    b.call("notes", "read_note", {"path": "/workspace/notes/ideas.md"}, "", error_class="timeout", next_step=False)
    b.call("notes", "read_note", {"path": "/workspace/notes/ideas.md"}, "fly", attempt=1)
    b.call("notes", "read_note", {"path": "/workspace/notes/missing.md"}, "no such note", is_error=True)
    b.call("notes", "write_note", {"path": "/workspace/notes/x.md", "text": "x"}, "", error_class="skipped")
    c = Walk(store, "xc")
    c.call("notes", "now", {}, "2026-01-02T09:00:00Z")
    c.call("calc", "add", {"a": 10, "b": 20.5}, "30.5", structured={"sum": 30.5})
    store.catch_up()
    return store
