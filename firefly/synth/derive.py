"""How a label follows from the values it came from, and where those values sit.

A task's ``provenance`` lists values with the call and locator each came from; its
``derivation`` says how the answer is computed from them. Each provenance entry is
``{"step", "path", "value"}`` plus ``role``: ``answer`` (the value itself is the answer),
``item`` (an element of a count, a set, an order, a sum, a maximum ...), ``name`` (the name of
item ``index`` for ``argmax`` / ``argmin``) or ``via`` (a value that carried the question from
one call to the next in a multi-hop task). Verifiers check every entry against a result
(:func:`found_at`) and recompute the answer (:func:`compute`).

Operations: ``value``, ``count``, ``sum``, ``max``, ``min``, ``argmax``, ``argmin``, ``set``,
``order``, ``mode`` (the most common value); ``fields`` (an answer with named fields:
``{"op": "fields", "fields": {name: derivation}}``, each field computed from the provenance
entries that carry its ``field`` name, plus the ``via`` entries); ``probe`` (a state change: the answer is
the probe's expected result); numbers are read from strings where needed (``1.36 KB`` is 1392.64 bytes).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..explore.policy import CallRecord
from ..explore.values import resolve_locator
from ..ids import canonical_json
from .facts import plain_text, size_bytes

OPS = ("value", "count", "sum", "max", "min", "argmax", "argmin", "mode", "set", "order", "fields", "probe")


class DerivationError(ValueError):
    """A derivation that cannot be computed from its provenance."""


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        size = size_bytes(value)
        if size is not None:
            return size
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    return None


def _tidy(number: float) -> int | float:
    rounded = round(number, 9)
    return int(rounded) if float(rounded).is_integer() else rounded


def compute(derivation: dict[str, Any], provenance: list[dict[str, Any]]) -> Any:
    """The answer the derivation gives for these provenance values."""
    op = derivation.get("op", "value")
    if op == "fields":
        parts = derivation.get("fields")
        if not isinstance(parts, dict) or not parts:
            raise DerivationError("a fields derivation needs a derivation per field")
        return {name: compute(sub, [p for p in provenance if p.get("field") == name])
                for name, sub in parts.items()}
    items = [p["value"] for p in provenance if p.get("role") == "item"]
    if op == "value":
        answers = [p["value"] for p in provenance if p.get("role", "answer") == "answer"]
        if len(answers) != 1:
            raise DerivationError(f"a value derivation needs one answer entry, got {len(answers)}")
        return answers[0]
    if op == "count":
        return len(items)
    if op in ("set", "order"):
        return list(items)
    if op == "mode":
        counts = Counter(canonical_json(v) for v in items)
        ranked = counts.most_common()
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            raise DerivationError("mode is not unique")
        return next(v for v in items if canonical_json(v) == ranked[0][0])
    numbers = [as_number(v) for v in items]
    if not numbers or any(n is None for n in numbers):
        raise DerivationError(f"{op} needs numbers, got {items!r}")
    if op == "sum":
        return _tidy(sum(numbers))  # type: ignore[arg-type]
    if op == "max":
        return _tidy(max(numbers))  # type: ignore[type-var]
    if op == "min":
        return _tidy(min(numbers))  # type: ignore[type-var]
    if op in ("argmax", "argmin"):
        target = max(numbers) if op == "argmax" else min(numbers)  # type: ignore[type-var]
        winners = [i for i, n in enumerate(numbers) if n == target]
        if len(winners) != 1:
            raise DerivationError(f"{op} is not unique")
        item_indexes = [p.get("index") for p in provenance if p.get("role") == "item"]
        names = {p.get("index"): p["value"] for p in provenance if p.get("role") == "name"}
        name = names.get(item_indexes[winners[0]])
        if name is None:
            raise DerivationError(f"{op} has no name for the winning item")
        return name
    raise DerivationError(f"unknown derivation {op!r}")


def record_of(step: int, server: str, tool: str, arguments: dict[str, Any], content: list[dict[str, Any]],
              structured: Any, is_error: bool = False) -> CallRecord:
    return CallRecord(step, server, tool, arguments, content, structured, is_error)


def found_at(record: CallRecord, path: str, value: Any) -> tuple[bool, Any]:
    """Whether ``value`` is what ``path`` points at in the result (or, for a locator that
    points at a line or a longer text, appears in it as a whole word). Returns (found, what
    the locator points at)."""
    got = resolve_locator(record, path)
    if got is None:
        return False, None
    if canonical_json(got) == canonical_json(value):
        return True, got
    if isinstance(value, (list, dict)):
        return False, got
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        n = as_number(value)
        return (n is not None and abs(n - got) < 1e-9), got
    if isinstance(got, list) and isinstance(value, int):  # a count of a listing
        return len(got) == value, got
    if isinstance(got, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers = re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])", got)
        return any(abs(float(n) - value) < 1e-9 for n in numbers), got
    if isinstance(got, str):
        text = str(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))
        if not text:
            return False, got
        pattern = r"(?<![\w])" + re.escape(text) + r"(?![\w])"
        # a value read from a line is its text without markdown marks (``**2025-04-07**``)
        return re.search(pattern, got) is not None or re.search(pattern, plain_text(got)) is not None, got
    return False, got
