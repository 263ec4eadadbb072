"""Which recorded effects a call can depend on: its footprint against theirs.

A call names what it is about in its arguments (a path, an id, a name, a query); an effect
names what it changed in its own (the path it wrote, the session it closed, the entity it
deleted) and shows what it made in its result (the id of what it created). A call is
*unrelated* to an effect when both name something and nothing either names meets the
other's: no path of one is the other's or under it, no word of one is found in the other's
text, no value the call names is in the effect's result (the effect did not make it) and no
value the effect names is in the call's recorded result (the call did not show it). An effect
that names only absolute paths changes only what is at them: against a call that names an
absolute path its paths alone decide, not the words they share (``shop-notes-452.md`` moved
says nothing about ``shop-notes-580.md`` written beside it).

Anything less is related: a call or an effect that names nothing (a whole graph read with ``{}``, a
compaction) may touch anything; a listing of a folder is related to every write under it;
``SELECT ... FROM orders`` to ``INSERT INTO orders``. Used by the simulator's last lookup
tier (:mod:`firefly.simulator.core`): a call recorded in a world that differs from the
episode's only by unrelated effects answers as recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..jsonvalues import strings

__all__ = ["Footprint", "footprint", "unrelated"]

_WORD = re.compile(r"[^\W_]{3,}")  # letters and digits: "exploration-notes-473" -> exploration, notes, 473


@dataclass(frozen=True)
class Footprint:
    """What a call names: ``paths`` (no spaces, with a slash), ``values`` (every string of
    three characters or more, lower case), ``words`` (the words of its names and texts; of a
    path, those of its last part without its extension: a folder or a file type many paths
    share says nothing) and ``text`` (all
    its strings, lower case, to look words up in)."""

    paths: frozenset[str]
    values: frozenset[str]
    words: frozenset[str]
    text: str
    only_paths: bool = False  # every value it names is an absolute path

    @property
    def empty(self) -> bool:
        return not self.values


def _options(arguments: Any, schema: Any) -> list[str]:
    """The strings of ``arguments`` that choose an option rather than name a thing: the value
    of a property whose schema lists its choices (``enum``, ``const``) or declares it the
    default (``scale: "css"``, ``format: "json"``)."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(arguments, dict) or not isinstance(props, dict):
        return []
    out = []
    for name, value in arguments.items():
        spec = props.get(name)
        if not isinstance(spec, dict) or not isinstance(value, str):
            continue
        if value in (spec.get("enum") or ()) or value == spec.get("const") or value == spec.get("default"):
            out.append(value)
    return out


def footprint(arguments: Any, schema: Any = None) -> Footprint:
    """The footprint of a call's arguments (numbers, flags and options name nothing);
    ``schema``: the tool's input schema, which tells options (:func:`_options`)."""
    paths, values, words, texts = set(), set(), set(), []
    options = _options(arguments, schema)
    for s in strings(arguments):
        if s in options:
            continue
        s = s.strip()
        if len(s) < 3:
            continue
        low = s.lower()
        values.add(low)
        texts.append(low)
        if "/" in s and not re.search(r"\s", s):
            path = low.rstrip("/") or "/"
            paths.add(path)
            name = path.rsplit("/", 1)[-1]
            words.update(_WORD.findall(name.rsplit(".", 1)[0] if "." in name[1:] else name))  # not its extension
        else:
            words.update(_WORD.findall(low))
    only = bool(paths) and all(p.startswith("/") for p in paths) and all((v.rstrip("/") or "/") in paths for v in values)
    return Footprint(frozenset(paths), frozenset(values), frozenset(words), "\n".join(texts), only)


def _under(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/")


def _shown(value: str, text: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", text) is not None


def unrelated(call: Footprint, call_result: str, effect: Footprint, effect_result: str) -> bool:
    """Whether a call cannot depend on an effect (the module docstring). ``call_result`` and
    ``effect_result``: their recorded results' text, lower case."""
    if call.empty or effect.empty:
        return False
    if any(_under(p, q) or _under(q, p) for p in call.paths for q in effect.paths):
        return False
    if not (effect.only_paths and call.paths and all(p.startswith("/") for p in call.paths)) and (
            any(w in effect.text for w in call.words) or any(w in call.text for w in effect.words)):
        return False
    if any(_shown(v, effect_result) for v in call.values):
        return False
    return not any(_shown(v, call_result) for v in effect.values)
