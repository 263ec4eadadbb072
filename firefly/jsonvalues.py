"""Walks over JSON values (a tool's arguments, a recorded result) shared by every stage."""

from __future__ import annotations

from typing import Any

__all__ = ["at_pointer", "leaves", "strings"]


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
