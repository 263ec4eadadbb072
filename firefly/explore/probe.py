"""Probe calls: after a successful effectful call, a read-only call that observes its effect.

A state-change task later asks for an end state ("the file now says ...", "the last commit
is ...") and checks it with a probe. The explorer makes that probe right away, on the same
server, so that the observation is a real recorded result (``tool-called`` with
``probe_of`` set to the step of the effectful call).

The adapter of the server chooses the probe (:meth:`firefly.adapters.Adapter.probe`): an
adapter of a server family knows the usual shapes of its effects (a file written: read it
back; a commit: the newest commits; a row inserted: the newest rows; see
:mod:`firefly.adapters`), and every adapter falls back on :func:`pick_probe`'s rule for any
server: a read-only tool of the same server whose required parameters all appear, by name,
in the effectful call's arguments, called with those values (``delete_note(title)`` ->
``read_note(title)``); else one whose required parameters are all identifiers (an id, a
path, a name, a key) that the call took or returned under a name of the same kind
(``update_note(note_path)`` -> ``read_note(path)``, ``create_task`` returning ``{"id": ...}``
-> ``get_task(task_id)``).

No rule fits (an effect no read-only tool can observe): no probe. The probe's arguments are
validated against the probe tool's input schema; a probe that would not validate is not made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from jsonschema.validators import validator_for

from .policy import CallRecord, ToolRef

__all__ = ["Probe", "ProbeRule", "Readers", "pick_probe", "props", "words"]


@dataclass(frozen=True)
class Probe:
    """A read-only call to make after an effectful one: the tool, its arguments, and why."""

    tool: ToolRef
    arguments: dict[str, Any]
    note: str = ""


def words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()) if w]


def props(tool: ToolRef) -> dict[str, Any]:
    found = tool.input_schema.get("properties") if isinstance(tool.input_schema, dict) else None
    return found if isinstance(found, dict) else {}


def _required(tool: ToolRef) -> list[str]:
    req = tool.input_schema.get("required") if isinstance(tool.input_schema, dict) else None
    return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []


def _valid(tool: ToolRef, arguments: dict[str, Any]) -> bool:
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    try:
        cls = validator_for(schema)
        return not any(True for _ in cls(schema).iter_errors(arguments))
    except Exception:  # noqa: BLE001 - a schema the validator cannot use: let the server judge
        return True


class Readers:
    """The read-only tools of one server, found by name."""

    def __init__(self, tools: Sequence[ToolRef]):
        self.by_name = {t.name: t for t in tools}

    def first(self, *names: str) -> ToolRef | None:
        for name in names:
            if name in self.by_name:
                return self.by_name[name]
        return None


ProbeRule = Callable[[CallRecord, list[str], Readers], "Probe | None"]
"""An adapter's rule for its family's effects: (the effectful call, the words of its tool's
name, the server's read-only tools) -> the probe, or None to fall back on the generic rule."""


def _by_argument_names(call: CallRecord, readers: Readers) -> Probe | None:
    """A read-only tool whose required parameters are all among the call's arguments."""
    best: tuple[int, str, ToolRef] | None = None
    for name, tool in readers.by_name.items():
        req = _required(tool)
        if req and all(r in call.arguments for r in req):
            score = (len(req), name)
            if best is None or score > best[:2]:
                best = (*score, tool)
    if best is None:
        return None
    tool = best[2]
    return Probe(tool, {r: call.arguments[r] for r in _required(tool)}, "read what the call changed")


_IDENT_WORDS = {"id": "id", "uuid": "id", "key": "key", "slug": "id", "handle": "id", "path": "path", "file": "path",
                "filepath": "path", "filename": "path", "name": "name", "title": "name", "uri": "url", "url": "url"}


def _ident(param: str) -> tuple[str, tuple[str, ...]] | None:
    """An identifying parameter's kind (id, path, name, key, url) and the words naming what it
    identifies (``task_id`` -> ``("id", ("task",))``); None for any other parameter."""
    w = words(param)
    if not w or w[-1] not in _IDENT_WORDS:
        return None
    return _IDENT_WORDS[w[-1]], tuple(w[:-1])


def _returned(call: CallRecord) -> dict[str, Any]:
    """The top-level scalar fields of the call's result (structured, else a JSON text)."""
    found: dict[str, Any] = {}
    objects: list[Any] = [call.structured]
    for block in call.content or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, str) and text.lstrip()[:1] == "{":
            with suppress(ValueError):
                objects.append(json.loads(text))
    for obj in objects:
        if isinstance(obj, dict):
            for k, v in obj.items():
                if isinstance(v, (str, int)) and not isinstance(v, bool) and str(k) not in found:
                    found[str(k)] = v
    return found


def _by_identifiers(call: CallRecord, tool: ToolRef, readers: Readers) -> Probe | None:
    """A read-only tool that takes the identifier the call took or returned, under the same
    name or a name of the same kind (``update_note(note_path)`` -> ``read_note(path)``;
    ``create_task(...)`` returning ``{"id": ...}`` -> ``get_task(task_id)``). Every required
    parameter of the reader must be an identifier found so; unambiguous matches only."""
    subject = set(words(tool.name))
    given = {k: v for k, v in call.arguments.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
    returned = _returned(call)
    best: tuple[tuple[int, int, str], Probe] | None = None
    for name, reader in readers.by_name.items():
        req = _required(reader)
        if not req:
            continue
        args: dict[str, Any] = {}
        exact = 0
        for r in req:
            if r in given:
                args[r], exact = given[r], exact + 1
                continue
            kind = _ident(r)
            if kind is None:
                break
            owner = set(kind[1])
            same = [v for k, v in given.items() if (ik := _ident(k)) and ik[0] == kind[0]
                    and (not owner or not ik[1] or owner & set(ik[1]) or owner <= subject)]
            if len(same) != 1:
                same = [v for k, v in returned.items() if k == r or ((ik := _ident(k)) and ik[0] == kind[0]
                        and (not ik[1] or not owner or owner & set(ik[1]) or owner <= subject))]
            if len(set(map(str, same))) != 1:
                break
            args[r] = same[0]
        else:
            score = (exact, len(set(words(name)) & subject), name)
            if best is None or score > best[0]:
                best = (score, Probe(reader, args, "read what the call changed, by the identifier it used"))
    return best[1] if best else None


def pick_probe(call: CallRecord, tool: ToolRef, readers: Sequence[ToolRef], rule: ProbeRule | None = None) -> Probe | None:
    """The probe for one successful effectful call of ``tool``, or None when none of
    ``readers`` (the read-only tools of its server) observes the effect. ``rule``: an
    adapter's own rule for its family's effects, tried first (called with the call, the
    words of the tool's name and the readers)."""
    if not isinstance(call.arguments, dict):
        return None
    found = Readers([t for t in readers if t.server == tool.server and t.name != tool.name])
    if not found.by_name:
        return None
    probe = rule(call, words(tool.name), found) if rule is not None else None
    if probe is None:
        probe = _by_argument_names(call, found)
    if probe is None or not _valid(probe.tool, probe.arguments):
        probe = _by_identifiers(call, tool, found)
    if probe is None or not _valid(probe.tool, probe.arguments):
        return None
    return probe
