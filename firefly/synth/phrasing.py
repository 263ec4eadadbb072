"""Words for calls: where a question looks (a call's *scope*), and what an effect does.

:func:`scope` describes the part of the world a read-only call looked at, in the words a
question uses (``the last 5 commits of the repository at /workspace/repo``, ``the folder
notes``), with every argument the call needs (a question must be self-contained). An
argument fed by an earlier result may be replaced by a description of where that value came
from (``subst``), which is what makes a multi-hop question.

:func:`effect` describes what an effectful call did, as an instruction (``add the entity
'Ana' of type 'person' to the knowledge graph``), or None when there is no good way to say it.

The words come from the server's adapter (:meth:`firefly.adapters.Adapter.scope` and
:meth:`~firefly.adapters.Adapter.effect`); the generic adapter names the tool and its
arguments. This module holds the helpers every adapter's phrasings use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..adapters.generic import GenericAdapter
from .facts import FILES_ROOT, rel

if TYPE_CHECKING:
    from ..adapters import Adapter


def quote(value: Any) -> str:
    text = str(value)
    return f"\"{text}\"" if '"' not in text else f"'{text}'"


def listing(values: list[Any]) -> str:
    parts = [quote(v) for v in values]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def place(path: Any) -> str:
    """A workspace path as a question writes it (the files folder when there is none)."""
    if not isinstance(path, str):
        return FILES_ROOT
    return rel(path)


def scope(tool: str, server: str, args: dict[str, Any], subst: dict[str, str] | None = None,
          adapter: Adapter | None = None) -> str | None:
    """Where a read-only call looked, in words (the server's adapter's), or None when there
    are no good words for it."""
    return (adapter or GenericAdapter()).scope(tool, server, args, subst or {})


def effect(tool: str, server: str, args: dict[str, Any], adapter: Adapter | None = None) -> str | None:
    """What an effectful call does, as an instruction in words (the server's adapter's)."""
    try:
        return (adapter or GenericAdapter()).effect(tool, server, args)
    except (TypeError, KeyError, AttributeError):
        return None


def ordinal(n: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    if n < len(words):
        return words[n]
    suffix = "th" if 10 <= (n + 1) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get((n + 1) % 10, "th")
    return f"{n + 1}{suffix}"
