"""Match rules: does an answer (an agent's, or a replayed result's) match a task's label?

    matches({"rule": "number", "tolerance": 1e-6}, 94.05, "The average is 94.05.")  # True

A task's ``match`` is a JSON object with a ``rule`` and its parameters:

* ``exact``: canonical JSON equality (``1 == 1.0``; key order does not matter). A string
  answer that is JSON text is parsed first.
* ``normalized``: strings equal after Unicode NFKC, case folding, collapsing whitespace and
  trimming surrounding quotes and punctuation; lists compare element by element, in order.
  A label that is a size (``34 B``, ``1.36 KB``) matches the same size in any unit or a bare
  number of bytes (within 0.5%); a number matches as the ``number`` rule does.

Values are normalized before matching under every rule: a float with binary noise
(``36.447500000000005``) reads as its 12 significant digits, sizes as bytes.
* ``number``: ``|got - expected| <= tolerance * max(1, |expected|)`` (``tolerance`` defaults
  to 1e-6). A string answer is read as a number: the whole string (``1,881``, ``$12.50``,
  ``94.05%``), else its only number.
* ``set``: the same elements in any order (normalized). A string answer is a JSON list, or
  items separated by commas, semicolons, new lines or a final "and".
* ``json-subset``: everything in ``expected`` is in ``got``: object keys recursively, every
  element of an expected list matches a distinct element of the got list, a string is
  contained in the got string (normalized), other scalars equal. A string answer that is
  JSON (or a Python literal) is parsed first.
* ``fields``: an answer with named fields (``{"rule": "fields", "fields": {name: rule},
  "reward": "share" | "all"}``): ``expected`` is an object, ``got`` an object or JSON text
  holding one (inside prose or a code fence too); each field is compared under its own rule,
  a missing field is wrong, keys are compared normalized. :func:`field_scores` gives each
  field's outcome; :func:`score` the reward: the share of fields right (``share``, the
  default) or 1.0 only when all are (``all``). :func:`matches` is true when every field is.

* ``called``: the label is a call, ``{"server", "tool", "arguments"}`` (an action: an
  instruction to a tool whose reply says nothing a question could ask, a player, a planner);
  ``got`` is a call or a list of calls (the calls an episode made, each ``{"server", "tool",
  "arguments"}``), and one of them must be that tool with every argument of the label equal
  (canonical JSON; strings compared normalized). Arguments the label does not have are not
  looked at. The environment gives it the episode's calls with their arguments as the
  simulator canonicalised them, the schema's defaults filled in (:func:`firefly.synth.model.made_call`).

:func:`result_value` is what a probe's result is compared with: its structured content if
any, else its text parsed as JSON or a Python literal, else the text.
"""

from __future__ import annotations

import ast
import json
import math
import re
import unicodedata
from typing import Any

from .ids import canonical_json

RULES = ("exact", "normalized", "number", "set", "json-subset", "fields", "called")
FIELD_REWARDS = ("share", "all")
DEFAULT_TOLERANCE = 1e-6

_SPACE = re.compile(r"\s+")
_TRIM = " \t\n\"'`.,;:!?()[]{}"
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+")
_SPLIT = re.compile(r"\s*(?:[,;\n]|\band\b)\s*", re.IGNORECASE)


class MatchRuleError(ValueError):
    """A match rule that is not one of :data:`RULES` or has bad parameters."""


SIZE_UNITS = {"b": 1, "byte": 1, "bytes": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2,
              "gb": 1024**3, "gib": 1024**3, "tb": 1024**4, "tib": 1024**4}
SIZE_TOLERANCE = 0.005  # sizes are shown rounded (1.36 KB)
_SIZE = re.compile(r"^\s*(-?\d[\d,]*(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


def size_in_bytes(value: Any) -> float | None:
    """A size written with a unit (``34 B``, ``1.36 KB``, ``2 MiB``) in bytes, or None."""
    if not isinstance(value, str):
        return None
    m = _SIZE.match(value)
    if not m or m.group(2).lower() not in SIZE_UNITS:
        return None
    return float(m.group(1).replace(",", "")) * SIZE_UNITS[m.group(2).lower()]


def tidy_number(value: float) -> str:
    """A number's text without binary noise: ``36.447500000000005`` -> ``36.4475``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".12g")


def normalize(text: Any) -> str:
    """The comparable form of a string (or of any scalar's text)."""
    if isinstance(text, float) and math.isfinite(text):
        text = tidy_number(text)
    if not isinstance(text, str):
        text = canonical_json(text) if isinstance(text, (dict, list)) else str(text)
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip(_TRIM)


def to_number(value: Any) -> float | None:
    """A number read from an answer, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(float(value)) else None
    if not isinstance(value, str):
        return None
    text = value.strip().strip("$€£%").replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        pass
    found = _NUMBER.findall(value)
    if len(found) == 1:
        try:
            return float(found[0].replace(",", ""))
        except ValueError:
            return None
    return None


def parse_json(value: Any) -> Any:
    """A string that is JSON or a Python literal, parsed; anything else unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or text[0] not in "[{\"0123456789-tfnTFN":
        return value
    try:
        return json.loads(text)
    except ValueError:
        pass
    if text[0] in "[{":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    return value


def as_items(value: Any) -> list[Any] | None:
    """An answer as a list of items (for the ``set`` rule), or None."""
    value = parse_json(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        parts = [p for p in (s.strip(_TRIM) for s in _SPLIT.split(value)) if p]
        return parts
    if value is None:
        return None
    return [value]


def _same_size(expected: Any, got: Any) -> bool | None:
    """Whether two sizes agree (None when ``expected`` is no size with a unit)."""
    want = size_in_bytes(expected)
    if want is None:
        return None
    have = size_in_bytes(got)
    if have is None:
        have = to_number(got) if not isinstance(got, str) or _NUMBER.fullmatch(got.strip()) else None
    return have is not None and abs(have - want) <= SIZE_TOLERANCE * max(1.0, abs(want))


def _scalar_equal(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got or normalize(expected) == normalize(got)
    size = _same_size(expected, got)
    if size is not None:
        return size
    if isinstance(expected, (int, float)):
        n = to_number(got)
        return n is not None and abs(n - expected) <= DEFAULT_TOLERANCE * max(1.0, abs(expected))
    return normalize(expected) == normalize(got)


def _subset(expected: Any, got: Any) -> bool:
    if isinstance(expected, str) and isinstance(got, str):
        return normalize(expected) in normalize(got) if normalize(expected) else True
    got = parse_json(got)
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(k in got and _subset(v, got[k]) for k, v in expected.items())
    if isinstance(expected, list):
        if not isinstance(got, list):
            return False
        used: set[int] = set()
        for item in expected:
            hit = next((i for i, g in enumerate(got) if i not in used and _subset(item, g)), None)
            if hit is None:
                return False
            used.add(hit)
        return True
    return _scalar_equal(expected, got)


def matches(match: dict[str, Any], expected: Any, got: Any) -> bool:
    """Whether ``got`` matches the label ``expected`` under the rule ``match``."""
    rule = match.get("rule") if isinstance(match, dict) else None
    if rule == "exact":
        return canonical_json(parse_json(got)) == canonical_json(expected)
    if rule == "normalized":
        if isinstance(expected, list):
            items = as_items(got)
            return items is not None and len(items) == len(expected) and all(
                normalize(e) == normalize(g) for e, g in zip(expected, items))
        if isinstance(got, (list, dict)):
            return False
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            return _scalar_equal(expected, got)
        size = _same_size(expected, got)
        if size is not None:
            return size
        return normalize(expected) == normalize(got)
    if rule == "number":
        tolerance = match.get("tolerance", DEFAULT_TOLERANCE)
        if not isinstance(tolerance, (int, float)) or tolerance < 0:
            raise MatchRuleError(f"number rule needs a non-negative tolerance, got {tolerance!r}")
        want, have = to_number(expected), to_number(got)
        return want is not None and have is not None and abs(have - want) <= tolerance * max(1.0, abs(want))
    if rule == "set":
        want_items = as_items(expected) or []
        have_items = as_items(got)
        if have_items is None:
            return False
        return sorted({normalize(x) for x in want_items}) == sorted({normalize(x) for x in have_items})
    if rule == "json-subset":
        return _subset(expected, got)
    if rule == "fields":
        scores = field_scores(match, expected, got)
        return bool(scores) and all(scores.values())
    if rule == "called":
        return called(expected, got)
    raise MatchRuleError(f"unknown match rule {rule!r}; known: {', '.join(RULES)}")


def _same_argument(expected: Any, got: Any) -> bool:
    if isinstance(expected, str) and isinstance(got, str):
        return normalize(expected) == normalize(got)
    return canonical_json(expected) == canonical_json(got)


def called(expected: Any, got: Any) -> bool:
    """For a ``called`` rule: whether one of the calls ``got`` is the call ``expected``."""
    if not isinstance(expected, dict) or not isinstance(expected.get("arguments", {}), dict) \
            or not expected.get("server") or not expected.get("tool"):
        raise MatchRuleError("a called rule needs a label {server, tool, arguments}")
    calls = got if isinstance(got, list) else [got]
    want = expected.get("arguments") or {}
    for call in calls:
        if not isinstance(call, dict) or call.get("server") != expected["server"] or call.get("tool") != expected["tool"]:
            continue
        args = call.get("arguments") if isinstance(call.get("arguments"), dict) else {}
        if all(k in args and _same_argument(v, args[k]) for k, v in want.items()):
            return True
    return False


def answer_object(got: Any) -> dict[str, Any] | None:
    """The JSON object an answer holds: itself, its JSON text, or the first JSON object found
    in prose or a code fence; None when there is none."""
    got = parse_json(got)
    if isinstance(got, dict):
        return got
    if not isinstance(got, str):
        return None
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", got):
        try:
            found, _ = decoder.raw_decode(got, m.start())
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def field_scores(match: dict[str, Any], expected: Any, got: Any) -> dict[str, bool]:
    """For a ``fields`` rule: each expected field and whether the answer has it right."""
    rules = match.get("fields")
    if not isinstance(rules, dict) or not isinstance(expected, dict) or not rules:
        raise MatchRuleError("a fields rule needs an object label and a rule per field")
    if match.get("reward", "share") not in FIELD_REWARDS:
        raise MatchRuleError(f"fields reward must be one of {', '.join(FIELD_REWARDS)}, got {match.get('reward')!r}")
    answer = answer_object(got) or {}
    by_key = {normalize(k): v for k, v in answer.items()}
    out = {}
    for name, rule in rules.items():
        if name not in expected:
            raise MatchRuleError(f"the fields rule names {name!r}, which the label does not have")
        value = answer[name] if name in answer else by_key.get(normalize(name))
        out[name] = value is not None and matches(rule, expected[name], value)
    return out


def score(match: dict[str, Any], expected: Any, got: Any) -> float:
    """The reward of an answer: 1.0 or 0.0, or for a ``fields`` rule with ``reward: share``
    the share of fields right."""
    if isinstance(match, dict) and match.get("rule") == "fields":
        scores = field_scores(match, expected, got)
        if match.get("reward", "share") == "all":
            return float(all(scores.values()))
        return sum(scores.values()) / len(scores)
    return float(matches(match, expected, got))


def result_value(content: list[dict[str, Any]] | None, structured: Any = None) -> Any:
    """What a probe's result is compared with (see the module docstring)."""
    if structured is not None:
        return structured
    texts = [b.get("text") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"]
    text = "\n".join(t for t in texts if isinstance(t, str))
    return parse_json(text)


def probe_passes(probe: dict[str, Any], match: dict[str, Any], content: list[dict[str, Any]] | None,
                 structured: Any = None, is_error: bool = False) -> bool:
    """Whether a probe call's result shows the expected end state."""
    return not is_error and matches(match, probe.get("expected"), result_value(content, structured))
