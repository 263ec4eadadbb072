"""Derivations: a label as an expression over recorded results, which firefly evaluates.

The LLM synthesizer does not trust a value a model writes: the model gives, for each answer
field, a derivation over the exploration's recorded results, firefly evaluates it
(:func:`evaluate`) and keeps the field only if it yields the proposed value. The derivation is
stored in the field's provenance entry (``{"step", "steps", "derive", "value", "role":
"answer", "field"}``) and evaluated again by the verifiers, on the recorded results
(``grounded``) and on the replayed ones (``replayable``) (:func:`check_entry`).

A derivation is a JSON object, one of:

* ``{"step": 2, "jmespath": "entities[?entityType=='person'].name"}``: a JMESPath expression
  (the ``jmespath`` library) into step 2's result as JSON (:func:`document`: the result's
  text parsed as JSON or a Python literal when it is an object or a list, else its
  structured content, else its text);
* ``{"step": 2, "quote": "Lead time 10 days"}``: an exact span of step 2's text (the result's
  text blocks, or its structured content as JSON); the value is the span itself;
* ``{"op": "count" | "sum" | "min" | "max" | "sort", "of": <derivation>}``: an operation over
  the list another derivation yields (``sort`` orders it ascending);
* ``{"op": "filter", "of": <derivation>, "where": {"key": "entityType", "equals": "person"}}``:
  the items of a list whose ``key`` equals a value (without ``key``: items equal to it).

Anything else (an unknown operation, a step that is not a successful recorded call, an
expression that does not parse, a result that is null) is a :class:`DerivationError` with a
clear reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from ..explore.policy import CallRecord
from ..ids import canonical_json
from ..match import normalize, parse_json
from .derive import DerivationError, _tidy, as_number, found_at

OPS = ("count", "sum", "min", "max", "sort", "filter")
MAX_DEPTH = 6
MAX_EXPRESSION = 500


def text_of(record: CallRecord) -> str:
    """The text of a result: its text blocks, else its structured content as JSON."""
    texts = [b.get("text", "") for b in record.content or [] if isinstance(b, dict) and b.get("type") == "text"]
    if texts:
        return "\n".join(t for t in texts if isinstance(t, str))
    return canonical_json(record.structured) if record.structured is not None else ""


def document(record: CallRecord) -> Any:
    """A result as JSON, for a JMESPath expression (see the module docstring)."""
    texts = [b.get("text", "") for b in record.content or [] if isinstance(b, dict) and b.get("type") == "text"]
    if texts:
        parsed = parse_json("\n".join(t for t in texts if isinstance(t, str)))
        if isinstance(parsed, (dict, list)):
            return parsed
    if record.structured is not None:
        return record.structured
    return "\n".join(texts)


def validate(spec: Any, depth: int = 0) -> None:
    """Raise :class:`DerivationError` unless ``spec`` is a well-formed derivation."""
    if depth > MAX_DEPTH:
        raise DerivationError(f"a derivation nests deeper than {MAX_DEPTH} levels")
    if not isinstance(spec, dict):
        raise DerivationError(f"a derivation is an object, got {canonical_json(spec)[:60]}")
    if "op" in spec:
        if spec["op"] not in OPS:
            raise DerivationError(f"unknown operation {spec['op']!r}; known: {', '.join(OPS)}")
        if "of" not in spec:
            raise DerivationError(f"operation {spec['op']!r} needs 'of': the derivation of a list")
        if spec["op"] == "filter":
            where = spec.get("where")
            if not isinstance(where, dict) or "equals" not in where or not isinstance(where.get("key", ""), str):
                raise DerivationError("filter needs 'where': {\"key\": <field>, \"equals\": <value>}")
        validate(spec["of"], depth + 1)
        return
    step = spec.get("step")
    if not isinstance(step, int) or isinstance(step, bool):
        raise DerivationError("a derivation into a result needs 'step': a step number")
    if isinstance(spec.get("jmespath"), str) == isinstance(spec.get("quote"), str):
        raise DerivationError("a derivation into a result needs exactly one of 'jmespath' or 'quote' (text)")
    expression = spec.get("jmespath")
    if isinstance(expression, str):
        if not expression.strip() or len(expression) > MAX_EXPRESSION:
            raise DerivationError(f"a JMESPath expression of 1 to {MAX_EXPRESSION} characters is needed")
        try:
            jmespath.compile(expression)
        except JMESPathError as exc:
            raise DerivationError(f"the JMESPath expression {expression!r} does not parse: {exc}") from None
    elif not spec["quote"]:
        raise DerivationError("an empty quote")


def steps_of(spec: dict[str, Any]) -> set[int]:
    """The steps whose results a (valid) derivation reads."""
    if "op" in spec:
        return steps_of(spec["of"])
    return {spec["step"]}


def _list(value: Any, op: str) -> list[Any]:
    if not isinstance(value, list):
        raise DerivationError(f"{op} needs a list, got {canonical_json(value)[:60]}")
    return value


def evaluate(spec: dict[str, Any], records: Mapping[int, CallRecord]) -> Any:
    """The value a derivation yields on these results (step -> record)."""
    validate(spec)
    value = _evaluate(spec, records)
    if value is None:
        raise DerivationError("the derivation yields nothing (null)")
    return value


def _evaluate(spec: dict[str, Any], records: Mapping[int, CallRecord]) -> Any:
    op = spec.get("op")
    if op is None:
        record = records.get(spec["step"])
        if record is None or record.is_error:
            raise DerivationError(f"step {spec['step']} is not a successful recorded call")
        if "quote" in spec and isinstance(spec["quote"], str):
            if spec["quote"] not in text_of(record):
                raise DerivationError(f"step {spec['step']}'s result does not contain the quote {spec['quote'][:60]!r}")
            return spec["quote"]
        try:
            return jmespath.search(spec["jmespath"], document(record))
        except JMESPathError as exc:
            raise DerivationError(f"the JMESPath expression {spec['jmespath']!r} fails: {exc}") from None
    items = _evaluate(spec["of"], records)
    if op == "count":
        return len(_list(items, op))
    if op == "filter":
        where = spec["where"]
        key, want = where.get("key"), normalize(where["equals"])
        return [it for it in _list(items, op)
                if normalize(it.get(key) if key and isinstance(it, dict) else (None if key else it)) == want]
    if op == "sort":
        values = _list(items, op)
        numbers = [as_number(v) for v in values]
        if all(n is not None for n in numbers):
            return [v for _, v in sorted(zip(numbers, values), key=lambda p: p[0])]
        return sorted(values, key=canonical_json)
    numbers = [as_number(v) for v in _list(items, op)]
    if not numbers or any(n is None for n in numbers):
        raise DerivationError(f"{op} needs a list of numbers, got {canonical_json(items)[:60]}")
    total = {"sum": sum, "min": min, "max": max}[op](numbers)  # type: ignore[type-var,arg-type]
    return _tidy(total)


def same_value(a: Any, b: Any) -> bool:
    """Whether two derived values are the same (numbers within float noise)."""
    if canonical_json(a) == canonical_json(b):
        return True
    x, y = as_number(a), as_number(b)
    return x is not None and y is not None and not isinstance(a, str) and not isinstance(b, str) \
        and abs(x - y) <= 1e-9 * max(1.0, abs(x))


def check_entry(entry: dict[str, Any], records: Mapping[int, CallRecord]) -> tuple[bool, Any]:
    """Whether a provenance entry holds on these results: a derivation evaluated again gives
    its value; a locator points at it (:func:`firefly.synth.derive.found_at`). Returns (holds,
    what was found)."""
    if "derive" in entry:
        try:
            got = evaluate(entry["derive"], records)
        except DerivationError as exc:
            return False, f"the derivation fails: {exc}"
        return same_value(got, entry.get("value")), got
    record = records.get(entry.get("step"))  # type: ignore[arg-type]
    if record is None:
        return False, None
    return found_at(record, str(entry.get("path")), entry.get("value"))
