"""Server adapters: what firefly knows about a kind of MCP server, in one place.

An adapter answers, for the servers it serves:

- ``matches(server)``: how well it fits a server (0 = not at all), from what discovery
  recorded: the registry name, ``serverInfo`` and the tool list (:class:`ServerRecord`);
- ``is_error(content, structured, is_error)``: why a result is an error, or None;
- ``harvest(record)``: the values a result holds (names, ids, paths, URLs, dates, numbers),
  each with its locator (:class:`firefly.explore.values.Value`);
- ``fill(tool, name, schema)``: a parameter value it knows how to make (or ``None`` to let
  the explorer decide);
- ``survey_tools(tools)``: the tools safe to call, without arguments, to learn the server's
  world before exploring;
- ``probe(call, tool, readers)``: the read-only call that observes an effect (or None);
- ``read_facts(step, tool, arguments, content, structured, ref)``: the facts a result holds,
  as tables whose every value keeps its locator (:class:`firefly.synth.facts.Reading`);
  ``ref`` is the tool as discovery recorded it (title, description, output schema);
- ``scope(tool, server, arguments, subst, ref)``: where a read-only call looked, in a
  question's words (or None when there are no good words);
- ``effect(tool, server, arguments, ref)``: what an effectful call did, as an instruction (or None);
- ``effect_marks(tool, arguments, marks)``: the strings a later read shows when the effect
  happened (given the strings of the call's arguments).

The family adapters (``time``, ``git``, ``sqlite``, ``calculator``, ``filesystem``,
``memory``: the servers of the bundled registry) hold everything firefly knows about their
family; no other module names their tools.

:func:`adapter_for` picks the best-matching adapter of those registered, the
:class:`~firefly.adapters.generic.GenericAdapter` when none matches. Adapters register
through the Python entry-point group ``firefly.adapters``; the built-in ones load through
the very same path (an :class:`importlib.metadata.EntryPoint` each), as ``llm`` loads its
default plugins. An entry point names an :class:`Adapter` class, an instance, or a callable
returning a list of them; see the README ("Server adapters") for a third-party example.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .judge import error_reason

if TYPE_CHECKING:
    from ..explore.policy import CallRecord, ToolRef
    from ..explore.probe import Probe
    from ..explore.values import Value
    from ..store import Store
    from ..synth.facts import Reading

__all__ = [
    "ENTRY_POINT_GROUP", "FAMILIES", "Adapter", "ServerRecord", "adapter_for", "adapter_names", "error_reason",
    "family_adapters",
    "registered_adapters", "server_record",
]

ENTRY_POINT_GROUP = "firefly.adapters"
FAMILIES = ("time", "git", "sqlite", "calculator", "filesystem", "memory")
"""The families of the bundled servers, one module each (``firefly.adapters.<family>``)."""
BUILTIN = (
    importlib.metadata.EntryPoint(name="generic", value="firefly.adapters.generic:GenericAdapter",
                                  group=ENTRY_POINT_GROUP),
    *(importlib.metadata.EntryPoint(name=f, value=f"firefly.adapters.{f}:ADAPTER", group=ENTRY_POINT_GROUP)
      for f in FAMILIES),
)


@dataclass(frozen=True)
class ServerRecord:
    """A server as discovery recorded it: what an adapter is chosen from."""

    name: str
    server_name: str | None = None
    server_version: str | None = None
    instructions: str | None = None
    tools: tuple[ToolRef, ...] = field(default_factory=tuple)

    @property
    def tool_names(self) -> frozenset[str]:
        return frozenset(t.name for t in self.tools)


@runtime_checkable
class Adapter(Protocol):
    """What firefly knows about one family of servers. Subclass
    :class:`~firefly.adapters.generic.GenericAdapter` to override only what differs."""

    name: str

    def matches(self, server: ServerRecord) -> float: ...

    def is_error(self, content: Any, structured: Any = None, is_error: bool = False) -> str | None: ...

    def harvest(self, record: CallRecord) -> list[Value]: ...

    def fill(self, tool: ToolRef, name: str, schema: dict[str, Any]) -> Any: ...

    def survey_tools(self, tools: list[ToolRef]) -> list[ToolRef]: ...

    def probe(self, call: CallRecord, tool: ToolRef, readers: list[ToolRef]) -> Probe | None: ...

    def read_facts(self, step: int, tool: str, arguments: dict[str, Any], content: Any, structured: Any,
                   ref: ToolRef | None = None) -> Reading: ...

    def scope(self, tool: str, server: str, arguments: dict[str, Any],
              subst: dict[str, str] | None = None, ref: ToolRef | None = None) -> str | None: ...

    def effect(self, tool: str, server: str, arguments: dict[str, Any], ref: ToolRef | None = None) -> str | None: ...

    def effect_marks(self, tool: str, arguments: dict[str, Any], marks: list[str]) -> list[str]: ...


def _instances(obj: Any) -> list[Adapter]:
    if isinstance(obj, type):
        obj = obj()
    elif callable(obj) and not isinstance(obj, Adapter):
        obj = obj()
    items = obj if isinstance(obj, (list, tuple)) else [obj]
    out = []
    for item in items:
        if isinstance(item, type):
            item = item()
        if not isinstance(item, Adapter):
            raise TypeError(f"{item!r} is not a firefly adapter (see firefly.adapters.Adapter)")
        out.append(item)
    return out


@functools.cache
def registered_adapters() -> tuple[Adapter, ...]:
    """Every adapter: the built-in ones, then those of installed packages (entry points)."""
    from ..errors import FireflyError

    points = list(BUILTIN) + sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
                                   key=lambda ep: (ep.name, ep.value))
    out: list[Adapter] = []
    seen: set[str] = set()
    for ep in points:
        try:
            found = _instances(ep.load())
        except Exception as exc:  # a broken plugin is named, not swallowed
            raise FireflyError(f"adapter entry point {ep.name!r} ({ep.value}) could not be loaded:"
                               f" {type(exc).__name__}: {exc}") from exc
        for adapter in found:
            if adapter.name not in seen:
                seen.add(adapter.name)
                out.append(adapter)
    return tuple(out)


def family_adapters() -> list[Any]:
    """The adapters of the bundled servers' families (:data:`FAMILIES`), in that order."""
    import importlib

    return [importlib.import_module(f"{__name__}.{family}").ADAPTER for family in FAMILIES]


def adapter_names() -> list[str]:
    return [a.name for a in registered_adapters()]


def adapter_for(server: ServerRecord) -> Adapter:
    """The adapter that fits ``server`` best (the first registered wins a tie); the generic
    adapter when none claims it."""
    best: Adapter | None = None
    score = 0.0
    for adapter in registered_adapters():
        try:
            s = float(adapter.matches(server) or 0.0)
        except Exception:  # noqa: BLE001 - an adapter's bug must not stop the run: it just does not match
            s = 0.0
        if s > score:
            best, score = adapter, s
    if best is None:
        best = next(a for a in registered_adapters() if a.name == "generic")
    return best


def server_record(store: Store, server: str) -> ServerRecord:
    """The :class:`ServerRecord` of a registered server, from the projections."""
    from ..explore.policy import ToolRef

    row = store.conn.execute(
        "SELECT server_name, server_version, instructions FROM servers WHERE name = ?", (server,)).fetchone()
    tools = tuple(
        ToolRef(server, name, desc, json.loads(schema), json.loads(annotations), json.loads(output) if output else None,
                title)
        for name, desc, schema, annotations, output, title in store.conn.execute(
            "SELECT name, description, input_schema, annotations, output_schema, title FROM tools"
            " WHERE server = ? AND removed = 0 ORDER BY name", (server,))
    )
    return ServerRecord(server, *(row or (None, None, None)), tools=tools)
