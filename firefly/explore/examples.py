"""Calls and choices a tool's documentation writes out.

Authors often show a whole call in a tool's description::

    Examples:
        financial_calculator(operation='npv', cash_flows=[-1000, 300, 400], rate=0.1)

and list the values a bare string parameter takes in its own description ("Operation type.
Supports: 'add', 'subtract', 'multiply'", "one of: csv, json", "a | b | c"). A call written
out by the author is a call the server accepts, with its parameters shaped and combined as the
server wants (a box plot with its data, an operation with the inputs it needs), which a
schema alone does not say. :func:`documented_calls` reads those calls (Python keyword syntax,
literals only); :func:`documented_choices` reads a parameter's listed values, which the
explorer treats as a soft enum: an observed value of the same name outside them (an
``operation`` of another tool, ``"Addition"``) is not sent.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import jsonschema

from .paramdocs import balanced_end, documented_values

__all__ = ["documented_calls", "documented_choices"]

# the words that introduce the values a parameter may take
_CHOICE_WORDS = re.compile(
    r"(?i)\b(?:supports?|supported|one of|options?|valid (?:values?|options?)|allowed(?: values?)?"
    r"|possible values?|choices?|choose from|available|accepts?|either)\b\s*(?:are|is)?\s*[:(]?")
_PIPES = re.compile(r"[\w.-]+(?:\s*\|\s*[\w.-]+){1,}")


def documented_choices(description: str) -> list[str]:
    """The values a parameter's own description lists as the ones it takes (after
    ``Supports:``, ``one of``, ``Options:``, or as ``a | b | c``), at least two; ``[]``
    when it lists none (an ``e.g.`` example or a default alone is no list of choices)."""
    text = description or ""
    m = _CHOICE_WORDS.search(text)
    if m:
        values = documented_values("", "", text[m.start():])
    elif _PIPES.search(text):
        values = documented_values("", "", text)
    else:
        return []
    values = [v for v in values if v.lower() not in ("etc", "etc.") and len(v) <= 60]
    return values if len(values) >= 2 else []


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def documented_calls(tool_name: str, description: str, schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The calls of ``tool_name`` its description writes out (``name(a=1, b='x')``), as
    arguments: keyword arguments with literal values only, every name a parameter of the
    schema, the whole valid against it. A call with positional arguments, an expression
    (``time.now()``) or a name the schema lacks is left out."""
    text = description or ""
    props = (schema or {}).get("properties")
    if not tool_name or not isinstance(props, dict):
        return []
    out: list[dict[str, Any]] = []
    for m in re.finditer(rf"(?<![\w.]){re.escape(tool_name)}\s*\(", text):
        end = balanced_end(text, m.end() - 1)
        if end is None:
            continue
        try:
            node = ast.parse(f"f{text[m.end() - 1:end]}", mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call) or node.args or not node.keywords:
            continue
        try:
            args = {kw.arg: _jsonable(ast.literal_eval(kw.value)) for kw in node.keywords if kw.arg}
        except (ValueError, SyntaxError, TypeError):
            continue
        if len(args) != len(node.keywords) or not set(args) <= set(props):
            continue
        try:
            jsonschema.validate(args, schema or {})
        except (jsonschema.ValidationError, jsonschema.SchemaError):
            continue
        if args not in out:
            out.append(args)
    return out
