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
in the effectful call's arguments, called with those values (``update_note(title)`` ->
``read_note(title)``); or one whose required parameters are all identifiers (an id, a
path, a name, a key) that the call took or returned under a name of the same kind
(``update_note(note_path)`` -> ``read_note(path)``, ``create_task`` returning ``{"id": ...}``
-> ``get_task(task_id)``); or one that takes no argument and lists the things of the kind
the call changed (``create_branch`` -> ``list_branches``). Of these, the one that reads the
same kind of thing (:func:`_rank`): a reader of tasks after a change of a task.

No rule fits (an effect no read-only tool can observe): no probe. The probe's arguments are
validated against the probe tool's input schema; a probe that would not validate is not made.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import cache
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


def _by_argument_names(call: CallRecord, readers: Readers) -> list[Probe]:
    """The read-only tools whose required parameters are all among the call's arguments."""
    out = []
    for tool in readers.by_name.values():
        req = _required(tool)
        if req and all(r in call.arguments for r in req):
            out.append(Probe(tool, _in_same_place(tool, {r: call.arguments[r] for r in req}, call),
                             "read what the call changed"))
    return out


def _in_same_place(reader: ToolRef, args: dict[str, Any], call: CallRecord) -> dict[str, Any]:
    """``args`` with the identifiers the call was given that the reader takes as optional
    parameters of the same name (``presentation_id``, ``repo_path``): a reader left to its
    default (the current document, none yet) reads another place than the one changed."""
    extra = {k: call.arguments[k] for k in props(reader) if k not in args and k in call.arguments
             and _ident(k) is not None and isinstance(call.arguments[k], (str, int))
             and not isinstance(call.arguments[k], bool)}
    return {**args, **extra}


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


def _by_identifiers(call: CallRecord, tool: ToolRef, readers: Readers) -> list[Probe]:
    """A read-only tool that takes the identifier the call took or returned, under the same
    name or a name of the same kind (``update_note(note_path)`` -> ``read_note(path)``;
    ``create_task(...)`` returning ``{"id": ...}`` -> ``get_task(task_id)``). Every required
    parameter of the reader must be an identifier found so; unambiguous matches only, but of
    an input and an output path (``image_rotate(input_path, output_path)``), the place the
    call wrote to (``image_info(path=output_path)``)."""
    from ..adapters.verbs import written_places

    subject = set(words(tool.name))
    given = {k: v for k, v in call.arguments.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
    written = written_places(tool.name, tool.input_schema, call.arguments) or []
    returned = _returned(call)
    out: list[Probe] = []
    for name, reader in readers.by_name.items():
        req = _required(reader)
        if not req:
            continue
        args: dict[str, Any] = {}
        for r in req:
            if r in given:
                args[r] = given[r]
                continue
            kind = _ident(r)
            if kind is None:
                break
            owner = set(kind[1])
            same = [v for k, v in given.items() if (ik := _ident(k)) and ik[0] == kind[0]
                    and (not owner or not ik[1] or owner & set(ik[1]))]
            if len(set(map(str, same))) > 1 and written:
                same = [v for v in same if v in written]  # of an input and an output: what the call wrote
            if len(same) != 1:
                same = [v for k, v in returned.items() if k == r or ((ik := _ident(k)) and ik[0] == kind[0]
                        and (not ik[1] or not owner or owner & set(ik[1]) or owner <= subject))]
            if len(set(map(str, same))) != 1:
                break
            args[r] = same[0]
        else:
            out.append(Probe(reader, _in_same_place(reader, args, call),
                             "read what the call changed, by the identifier it used"))
    return out


def _listings(call: CallRecord, tool: ToolRef, readers: Readers) -> list[Probe]:
    """The read-only tools that need no argument and list or show things of the kind the call
    changed (``create_branch`` -> ``list_branches``, ``add_task`` -> ``get_tasks``), called
    with the call's arguments their optional parameters name (the repository, the project)."""
    out = []
    for reader in readers.by_name.values():
        if _required(reader):
            continue
        args = {k: call.arguments[k] for k in props(reader) if k in call.arguments
                and isinstance(call.arguments[k], (str, int)) and not isinstance(call.arguments[k], bool)}
        out.append(Probe(reader, args, "list the things of the kind the call changed"))
    return out


def _subject(name: str, common: set[str]) -> set[str]:
    """The nouns of a tool's name, singular, without its verbs and the words every tool of the
    server shares (``repo_create_branch`` -> ``{"branch"}``, ``list_tasks`` -> ``{"task"}``)."""
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, REMOVE_VERBS, WRITE_VERBS, name_words
    from ..synth.facts import singular

    verbs = READ_VERBS | WRITE_VERBS | MAKE_VERBS | REMOVE_VERBS | _LINKS
    return {singular(w) for w in name_words(name) if w not in verbs and w not in common and not w.isdigit()}


_LINKS = frozenset({"from", "to", "of", "by", "in", "on", "for", "with", "and", "as", "at", "into", "all"})


_SHOWING = frozenset({"get", "read", "show", "view", "list", "describe", "open", "fetch", "info", "inspect", "stat",
                      "cat", "ls", "find", "search", "lookup", "peek", "browse", "query"})
"""The verbs of a tool that shows things as they are (not one that computes on them)."""


def _common(tool: ToolRef, readers: Readers) -> set[str]:
    """Words in the names of four in five or more of the server's tools (a prefix: ``git``, ``bash``)."""
    from ..adapters.verbs import name_words

    names = [tool.name, *readers.by_name]
    if len(names) < 4:
        return set()
    counts: dict[str, int] = {}
    for name in names:
        for w in set(name_words(name)):
            counts[w] = counts.get(w, 0) + 1
    return {w for w, n in counts.items() if 5 * n >= 4 * len(names)}


def _described(description: str | None) -> set[str]:
    """The nouns of a description's first sentence, singular (``"Set a field in a hash"`` ->
    ``{"field", "hash"}``): what a tool whose name has no noun (``hset``) acts on."""
    from ..adapters.verbs import first_sentence, name_words
    from ..synth.facts import singular

    return {singular(w) for w in name_words(first_sentence(description))
            if w not in _verbs() and w not in _LINKS and w not in _FILLER and not w.isdigit() and len(w) > 2}


_FILLER = frozenset({"an", "the", "if", "its", "it", "this", "that", "all", "any", "given", "optional", "specific",
                     "value", "values", "name", "key"})


@cache
def _verbs() -> frozenset[str]:
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, REMOVE_VERBS, WRITE_VERBS

    return READ_VERBS | WRITE_VERBS | MAKE_VERBS | REMOVE_VERBS


# a description's first verb, as a name's verb (``"Returns the type"`` -> ``return``: shows)
_DESCRIBED = {"gets": "get", "retrieve": "get", "retrieves": "get", "return": "get", "returns": "get",
              "lists": "list", "reads": "read", "shows": "show", "fetches": "fetch", "checks": "check",
              "counts": "count", "searches": "search", "finds": "find", "describes": "describe"}


def _rank(probes: list[tuple[int, Probe]], call: CallRecord, tool: ToolRef, readers: Readers) -> Probe | None:
    """The probe that reads the same kind of thing the call changed: one that shows things
    as they are before one that computes on them (``resolve_blocker``, ``validate_range``);
    one that writes nothing itself before one given a place to write to (``find_contours``
    saving a picture); one that reads the place the call wrote to, named for that file's kind
    (``image_info`` of a ``.png``, not ``video_info``); then the most nouns shared with the
    effect's name (``add_task`` -> ``get_task`` before ``summarize_task_activity``), then with
    the identifiers it took (``set_blocker(task_id)`` -> ``get_task``); a read by what the call
    named before a listing (a listing first after a
    removal: a read of the removed thing fails); the most arguments under the call's own
    names; a showing verb (``get``, ``read``, ``list``); the fewest other nouns. A listing
    must share a noun with the effect's name, list nothing else (not ``list_slide_templates``
    after ``add_slide``) and be named with a showing verb that makes nothing (not ``open_``)."""
    from ..adapters.verbs import MAKE_VERBS, READ_VERBS, REMOVE_VERBS, first_sentence, name_words, written_places

    common = _common(tool, readers)
    written = written_places(tool.name, tool.input_schema, call.arguments) or []
    kinds = {kind.split("/")[0] for place in written if (kind := mimetypes.guess_type(place)[0])}
    # what the call acts on: the nouns of its name and of the identifiers it took (task_id: a task)
    subject = _subject(tool.name, common)
    owners = {w for k in call.arguments if (ik := _ident(k)) for w in _subject("_".join(ik[1]), common)} - subject
    removes = any(w in REMOVE_VERBS for w in name_words(tool.name))
    described = _described(tool.description)
    best: tuple[tuple[Any, ...], Probe] | None = None
    for tier, probe in probes:
        theirs = _subject(probe.tool.name, common)
        shared = len(theirs & subject)
        lead = [w for w in name_words(probe.tool.name) if w not in common][:1]
        if lead and lead[0] not in _verbs() and (said := name_words(first_sentence(probe.tool.description))):
            lead = [_DESCRIBED.get(said[0], said[0])]  # ``hexists``: "Check if a field exists", a computation
        if tier == 0 and (not shared or theirs - subject - owners or not lead or lead[0] not in _SHOWING
                          or lead[0] in MAKE_VERBS):
            continue  # a listing of another kind of thing (templates, after a slide was added), or one that
            # may make one (``open_batch`` taking nothing: a maker named like a reader)
        computes = bool(lead) and lead[0] in READ_VERBS and lead[0] not in _SHOWING  # resolve_, summarize_, validate_
        # a reader given a place to write to (find_contours saving a picture) says that place back
        writes = written_places(probe.tool.name, probe.tool.input_schema, probe.arguments) is not None
        # and of those, one that reads what the effect wrote (image_info of the filtered image, not
        # a histogram of the image it read)
        reads_written = any(isinstance(v, str) and v in written for v in probe.arguments.values())
        # of those, one named for the kind of file written (image_info for a .png, not video_info)
        of_kind = bool(kinds & set(words(f"{probe.tool.name} {first_sentence(probe.tool.description)}")))
        key = (not computes, not writes, reads_written, reads_written and of_kind, shared, len(theirs & owners),
               len(described & _described(probe.tool.description)),
               tier if not removes else -tier,
               sum(1 for k in probe.arguments if k in call.arguments),
               bool(lead) and lead[0] in _SHOWING, -len(theirs - subject - owners), len(probe.arguments),
               probe.tool.name)
        if best is None or key > best[0]:
            best = (key, probe)
    return best[1] if best else None


def pick_probe(call: CallRecord, tool: ToolRef, readers: Sequence[ToolRef], rule: ProbeRule | None = None) -> Probe | None:
    """The probe for one successful effectful call of ``tool``, or None when none of
    ``readers`` (the read-only tools of its server) observes the effect. ``rule``: an
    adapter's own rule for its family's effects, tried first (called with the call, the
    words of the tool's name and the readers); else the best ranked (:func:`_rank`) of the
    reads by the call's argument names or identifiers and the listings of its kind of thing."""
    if not isinstance(call.arguments, dict):
        return None
    found = Readers([t for t in readers if t.server == tool.server and t.name != tool.name])
    if not found.by_name:
        return None
    probe = rule(call, words(tool.name), found) if rule is not None else None
    if probe is not None and _valid(probe.tool, probe.arguments):
        return probe
    candidates = [(1, p) for p in _by_argument_names(call, found) + _by_identifiers(call, tool, found)]
    candidates += [(0, p) for p in _listings(call, tool, found)]
    return _rank([(t, p) for t, p in candidates if _valid(p.tool, p.arguments)], call, tool, found)
