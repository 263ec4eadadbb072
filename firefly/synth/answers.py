"""Answers with named fields: one task, a small JSON object for an answer, scored field by field.

A task may ask for several values at once (``For the commit "Release 0.2.0" in ..., give its
author, date and hash.``); its label is an object ``{"author": ..., "date": ..., "hash": ...}``.
Each field has

* its own provenance: the task's provenance entries that carry ``"field": <name>`` (a
  locator into a recorded result, or a derivation, :mod:`firefly.synth.derivation`);
* its own match rule: ``match = {"rule": "fields", "fields": {name: rule}, "reward": ...}``
  (:func:`firefly.match.field_scores`);
* its own derivation: ``{"op": "fields", "fields": {name: derivation}}``
  (:func:`firefly.synth.derive.compute`).

The reward (:func:`firefly.match.score`) is the share of fields right by default
(``reward: share``, :data:`DEFAULT_REWARD`): partial credit gives an RL trainer a gradient on a
task with five fields. ``reward: all`` is all-or-nothing. The task also carries the answer's
JSON Schema (:func:`answer_schema`: each property with its type, its description and its
``x-match`` rule), stored in ``task-synthesized`` and in the ``tasks`` projection, and carried
by the exports and the environment, so a trainer or an agent knows the shape asked for. The
question itself ends with the keys to use (:func:`format_hint`), so it stands on its own.

:func:`record_candidates` is the offline synthesizer's source of such tasks: several named
values of one record of a result (a record described by its key, or the one record of a
result); in a multi-hop question the record is the one the earlier call led to.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from ..ids import canonical_json
from ..match import normalize
from .facts import Item, Table
from .model import Candidate
from .phrasing import quote

DEFAULT_REWARD = "share"
MIN_FIELDS = 2
MAX_FIELDS = 5
MAX_RECORDS = 3  # records of one table turned into a multi-field candidate
SCORE = 0.86  # plus 0.02 a field: between a plain lookup (0.8) and a count (1.0)

RECORD = [
    "For the {noun} whose {keylabel} is {key} in {scope}, give its {fields}.",
    "In {scope}, what are the {fields} of the {noun} {key}?",
    "Look up the {noun} with {keylabel} {key} in {scope}: what are its {fields}?",
]
RECORD_SINGLE = [
    "What are the {fields} of {scope}?",
    "For {scope}, give its {fields}.",
]


def field_key(name: str, taken: set[str]) -> str:
    """A JSON key for a field named ``name`` (snake case), unique among ``taken``."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name))
    key = "_".join(w.lower() for w in words) or "value"
    if key[0].isdigit():
        key = "f_" + key
    out, n = key, 2
    while out in taken:
        out, n = f"{key}_{n}", n + 1
    taken.add(out)
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def answer_schema(answer: dict[str, Any], rules: dict[str, dict[str, Any]],
                  descriptions: dict[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema of an answer object: a property per field with its type, its
    description and its match rule (``x-match``); every field required."""
    descriptions = descriptions or {}
    props = {}
    for name, value in answer.items():
        prop: dict[str, Any] = {"type": _json_type(value)}
        if prop["type"] in ("integer", "number"):
            prop["type"] = ["number", "string"]  # "1,881" and "34 B" are answers too
        if name in descriptions:
            prop["description"] = descriptions[name]
        prop["x-match"] = rules[name]
        props[name] = prop
    return {"type": "object", "properties": props, "required": list(answer), "additionalProperties": True}


def fields_match(rules: dict[str, dict[str, Any]], reward: str = DEFAULT_REWARD) -> dict[str, Any]:
    return {"rule": "fields", "fields": rules, "reward": reward}


def format_hint(names: list[str]) -> str:
    """The sentence a multi-field question ends with: the keys of the answer object."""
    keys = [f'"{n}"' for n in names]
    listed = ", ".join(keys[:-1]) + " and " + keys[-1] if len(keys) > 1 else keys[0]
    return f"Answer with a JSON object with the keys {listed}."


def words(labels: list[str]) -> str:
    return ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else labels[0]


def field_values(answer: Any) -> list[Any]:
    """The values of a label, field by field for an answer object (for leakage checks)."""
    if isinstance(answer, dict):
        return [v for value in answer.values() for v in (value if isinstance(value, list) else [value])]
    return list(answer) if isinstance(answer, list) else [answer]


def record_candidates(step: int, t: Table, items: list[Item], where: str, rng: random.Random, *,
                      skip: Callable[[str, str], bool], short: Callable[[Any], bool], match_for: Callable[[Any], dict[str, Any]],
                      leaks: Callable[[Any, str], bool],
                      dull: Callable[[str, Any, bool], bool] | None = None) -> list[Candidate]:
    """Multi-field lookups over the records of table ``t`` (see the module docstring). The
    offline synthesizer's rules come in: fields not worth asking (``skip(noun, field)``), which values are
    short enough to be answers, the match rule of a value and whether a value leaks into a
    question; ``dull(field, value, whole)``: a value not worth asking (an echo, a status)."""
    out: list[Candidate] = []
    single = len(items) == 1 and (t.key not in items[0].cells or len(t.items) == 1)
    if single:
        chosen = items
    else:
        keyed = [it for it in items if short(it.get(t.key))]
        counts: dict[str, int] = {}
        for it in keyed:
            counts[canonical_json(it.get(t.key))] = counts.get(canonical_json(it.get(t.key)), 0) + 1
        unique = [it for it in keyed if counts[canonical_json(it.get(t.key))] == 1]
        chosen = sorted(rng.sample(unique, min(MAX_RECORDS, len(unique))), key=lambda it: it.index)
    for it in chosen:
        key_value = None if single else it.get(t.key)
        fields = [f for f, cell in it.cells.items()
                  if not skip(t.noun, f) and short(cell.value) and (single or f != t.key)
                  and (key_value is None or canonical_json(cell.value) != canonical_json(key_value))
                  and not (t.noun == "entry" and f == "type")
                  and not (dull is not None and dull(f, cell.value, single))]
        fields = fields[:MAX_FIELDS]
        if len(fields) < MIN_FIELDS:
            continue
        taken: set[str] = set()
        names = {f: field_key(f, taken) for f in fields}
        labels = [t.label(f) for f in fields]
        fmt = {"noun": t.noun, "keylabel": t.label(t.key), "key": quote(key_value), "scope": where,
               "fields": words(labels)}
        question = rng.choice(RECORD_SINGLE if single else RECORD).format(**fmt)
        question = question[:1].upper() + question[1:] + " " + format_hint(list(names.values()))
        if any(leaks(it.cells[f].value, normalize(question)) for f in fields):
            continue
        answer = {names[f]: it.cells[f].value for f in fields}
        rules = {names[f]: match_for(it.cells[f].value) for f in fields}
        provenance = [{"step": step, "path": it.cells[f].path, "value": it.cells[f].value, "role": "answer",
                       "field": names[f]} for f in fields]
        if not single:
            provenance.append({"step": step, "path": it.cells[t.key].path, "value": key_value, "role": "key"})
        out.append(Candidate(
            "lookup", f"fields:{t.noun}", question, answer, fields_match(rules), {step}, provenance,
            {"op": "fields", "fields": {names[f]: {"op": "value"} for f in fields}}, score=SCORE + 0.02 * len(fields),
            answer_schema=answer_schema(answer, rules, {names[f]: t.label(f) for f in fields}),
        ))
    return out
