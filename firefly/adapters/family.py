"""The base of an adapter for one family of servers: what the family looks like, and hooks
keyed on the family's own tools.

A :class:`FamilyAdapter` claims a server from what discovery recorded, never from the
registry key the user chose: its ``serverInfo`` name, and the shape of its tool list (tools
of the family's names whose required parameters are among the family tool's parameters).
It then answers with its readers, phrasings and probe rule for the family's tools, and as
the generic adapter for anything else.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import ServerRecord
from .generic import GenericAdapter

if TYPE_CHECKING:
    from ..explore.policy import CallRecord, ToolRef
    from ..explore.probe import Probe, Readers
    from ..synth.facts import Reading

__all__ = ["FamilyAdapter", "tool_fits"]

FactReader = Callable[[int, dict[str, Any], list[dict[str, Any]], Any], "Reading | None"]


def tool_fits(tool: ToolRef, params: frozenset[str]) -> bool:
    """A tool whose required parameters are all among ``params`` (the family tool's own)."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    required = schema.get("required")
    required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    return set(required) <= params


class FamilyAdapter(GenericAdapter):
    """An adapter for the servers of one family. Subclasses set the class attributes."""

    name: ClassVar[str] = "family"
    server_names: ClassVar[frozenset[str]] = frozenset()
    """``serverInfo`` names the family's servers give."""
    tools: ClassVar[Mapping[str, frozenset[str]]] = {}
    """The family's tools: name -> the names of its parameters."""
    min_tools: ClassVar[int] = 2
    """How many of the family's tools a server must offer to be claimed by its tools alone."""
    no_facts: ClassVar[frozenset[str]] = frozenset()
    """Tools whose results hold no facts (blobs, configuration, the clock)."""
    workspace: ClassVar[tuple[str, str] | None] = None
    """The family's part of the seed workspace: (its entry in a built workspace, the seed it
    is built from, relative to the seed folder), or None for a family with no world on disk
    (each part is the world of its family's servers alone)."""

    # -- the seed workspace

    def build_workspace_part(self, seed: Path, dest: Path) -> None:
        """Build the family's part of a workspace at ``dest`` from ``seed`` (a copy)."""
        if seed.is_dir():
            shutil.copytree(seed, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store"))
        else:
            shutil.copyfile(seed, dest)

    # -- matching

    def matches(self, server: ServerRecord) -> float:
        hits = sum(1 for t in server.tools if t.name in self.tools and tool_fits(t, self.tools[t.name]))
        named = server.server_name in self.server_names
        if not named and hits < min(self.min_tools, len(self.tools)):
            return 0.0
        return 0.5 * named + 0.5 * hits / max(1, len(self.tools)) + 0.01

    # -- probes

    def probe_rule(self, call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
        """The family's own probe for an effect, or None to fall back on the generic rule."""
        return None

    def probe(self, call: CallRecord, tool: ToolRef, readers: list[ToolRef]) -> Probe | None:
        from ..explore.probe import pick_probe

        return pick_probe(call, tool, readers, self.probe_rule)

    # -- facts

    def fact_readers(self) -> Mapping[str, FactReader]:
        """tool name -> the reader of its results (None from a reader: read as any JSON)."""
        return {}

    def read_facts(self, step: int, tool: str, arguments: dict[str, Any], content: Any, structured: Any,
                   ref: ToolRef | None = None) -> Reading:
        from ..synth.facts import Reading

        reader = self.fact_readers().get(tool)
        if reader is not None:
            out = reader(step, arguments, content, structured)
            if out is not None and out.tables:  # a result the family's reader finds nothing in: the generic one reads it
                return out
        if tool in self.no_facts:
            return Reading()
        return super().read_facts(step, tool, arguments, content, structured, ref)

    # -- words

    def family_scope(self, tool: str, arguments: dict[str, Any], subst: dict[str, str]) -> str | None:
        """Where a read-only call of the family's looked, or None to say it generically."""
        return None

    def family_effect(self, tool: str, arguments: dict[str, Any]) -> str | None:
        """What an effectful call of the family's did, or None to say it generically."""
        return None

    def described(self) -> frozenset[str]:
        """The tools :meth:`family_effect` has words for (None from it then means: no good words)."""
        return frozenset()

    def scope(self, tool: str, server: str, arguments: dict[str, Any],
              subst: dict[str, str] | None = None, ref: ToolRef | None = None) -> str | None:
        words = self.family_scope(tool, arguments, subst or {}) if tool in self.tools else None
        return words if words is not None else super().scope(tool, server, arguments, subst, ref)

    def effect(self, tool: str, server: str, arguments: dict[str, Any], ref: ToolRef | None = None) -> str | None:
        if tool in self.tools and tool in self.described():
            return self.family_effect(tool, arguments)
        return super().effect(tool, server, arguments, ref)
