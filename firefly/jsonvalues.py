"""Walks over JSON values (a tool's arguments, a recorded result) shared by every stage."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["at_pointer", "inline_refs", "json_document", "leaves", "strings"]


def leaves(value: Any) -> list[Any]:
    """Every scalar inside a JSON value, in order (object keys left out)."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [value]


def strings(value: Any) -> list[str]:
    """Every string inside a JSON value, in order (object keys left out)."""
    return [x for x in leaves(value) if isinstance(x, str)]


def json_document(text: Any) -> Any:
    """The object or list a text holds as JSON (a reader's JSON written out as text, a JSON
    text argument), or None when it is no such document."""
    if not isinstance(text, str) or not text.lstrip().startswith(("{", "[")):
        return None
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, (dict, list)) else None


def at_pointer(doc: Any, pointer: str, default: Any = None) -> Any:
    """The value at a JSON pointer (``/deck_id``, ``/items/0/id``; ``""`` or ``"/"``: the whole
    document), or ``default`` when nothing is there."""
    if pointer in ("", "/"):
        return doc
    cur = doc
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur


def inline_refs(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Inline local ``$ref`` s (``#/$defs/...``, ``#/definitions/...``), a bounded depth."""
    if depth > 12:
        return {}
    if isinstance(schema, dict):
        if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#/"):
            target: Any = root
            for part in schema["$ref"][2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
                if target is None:
                    break
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            if isinstance(target, dict):
                merged = dict(inline_refs(target, root, depth + 1))
                merged.update({k: inline_refs(v, root, depth + 1) for k, v in rest.items()})
                return merged
            return {k: inline_refs(v, root, depth + 1) for k, v in rest.items()}
        return {k: (inline_refs(v, root, depth + 1) if k not in ("enum", "const", "default", "examples") else v)
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(v, root, depth + 1) for v in schema]
    return schema
