"""Function names for tools: ``<server>__<tool>``, unique within a set of tools and reversible.

Every place that offers several servers' tools under one namespace (the environment and the
evaluation harness, the training exports, the LLM explorer, ``simulate serve --all``) names
them here, so that a name means the same tool everywhere::

    names = tool_names([("shop", "get item"), ("shop", "get.item"), ("shop", "get_item")])
    names.name("shop", "get_item")       # 'shop__get_item'
    names.name("shop", "get.item")       # 'shop__get_item_3f9a0c1d'
    names.target("shop__get_item_3f9a0c1d")   # ('shop', 'get.item')

* A name matches OpenAI's function-name rule ``^[a-zA-Z0-9_-]{1,64}$`` (which MCP tool names
  also allow): other characters become ``_``; a name longer than 64 keeps its first 47
  characters and gets a hash of (server, tool).
* That plain name is kept whenever no other tool of the set has the same one, so the names
  of the common case (no collision) do not depend on the other tools. When several tools
  share a plain name (``get item``, ``get.item`` and ``get_item`` all give ``get_item``),
  the tool whose ``<server>__<tool>`` is already the plain name keeps it, and every other
  one gets ``_`` and a short hash of its own (server, tool): deterministic, and the same
  whichever other tools collide with it.
* The way back from a name to (server, tool) is the set's mapping (:meth:`ToolNames.target`),
  never parsing the name: a server or tool name may itself contain ``__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .ids import short_hash

SEPARATOR = "__"
MAX_LENGTH = 64
VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
_SUFFIX_LENGTHS = (8, 12, 16, 32)


def plain_name(server: str, tool: str) -> str:
    """``<server>__<tool>`` with characters OpenAI does not allow replaced, at most 64 long
    (the name of a tool that collides with no other)."""
    name = _NOT_ALLOWED.sub("_", f"{server}{SEPARATOR}{tool}")
    if len(name) > MAX_LENGTH:
        name = f"{name[:47]}_{short_hash([server, tool], 16)}"
    return name


def _suffixed(plain: str, server: str, tool: str, length: int) -> str:
    suffix = short_hash(["tool-name", server, tool], length)
    return f"{plain[: MAX_LENGTH - length - 1]}_{suffix}"


@dataclass(frozen=True)
class ToolNames:
    """The names of one set of tools, both ways."""

    by_name: dict[str, tuple[str, str]]
    by_tool: dict[tuple[str, str], str]

    def name(self, server: str, tool: str) -> str:
        """The name of a tool of the set; a tool outside it gets its plain name (which the
        set does not know, so calling it is an unknown-function error, as it should be)."""
        return self.by_tool.get((server, tool)) or plain_name(server, tool)

    def target(self, name: str) -> tuple[str, str] | None:
        """The (server, tool) a name stands for, or None for a name not in the set."""
        return self.by_name.get(name)

    def __len__(self) -> int:
        return len(self.by_name)


def tool_names(tools: Iterable[tuple[str, str]]) -> ToolNames:
    """Unique, valid function names for (server, tool) pairs (see the module docstring).

    The result depends on the set of pairs, not on their order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for pair in sorted(set(tools)):
        groups.setdefault(plain_name(*pair), []).append(pair)
    by_tool: dict[tuple[str, str], str] = {}
    renamed: list[tuple[str, tuple[str, str]]] = []
    for plain, pairs in groups.items():
        if len(pairs) == 1:
            by_tool[pairs[0]] = plain
            continue
        exact = [p for p in pairs if f"{p[0]}{SEPARATOR}{p[1]}" == plain]
        keeper = exact[0] if exact else None  # pairs are sorted: the first exact one keeps it
        for pair in pairs:
            if pair == keeper:
                by_tool[pair] = plain
            else:
                renamed.append((plain, pair))
    taken = set(by_tool.values())
    for plain, pair in renamed:
        for length in _SUFFIX_LENGTHS:
            name = _suffixed(plain, *pair, length)
            if name not in taken:
                break
        else:  # pragma: no cover - 128 bits of hash colliding
            raise ValueError(f"no unique function name for {pair[0]}/{pair[1]}")
        by_tool[pair] = name
        taken.add(name)
    return ToolNames({name: pair for pair, name in by_tool.items()}, by_tool)
