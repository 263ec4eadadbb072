"""Walks over JSON values (a tool's arguments, a recorded result) shared by every stage."""

from __future__ import annotations

from typing import Any

__all__ = ["leaves", "strings"]


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
