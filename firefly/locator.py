"""Locators: where a value sat in a recorded tool result, as one readable string.

Every value firefly takes out of a result (an argument fed forward, a fact behind a label)
keeps a locator, and every check follows it back (:func:`resolve`). The format:

- ``$.structured_content.entities[2].name``: a path into the structured content;
- ``$.content[0].text``: a content block's text, optionally followed by a fragment:
  - ``#line=7``: its 7th line (lines count from 1);
  - ``#json=$[0].row_count``: a path into the text parsed as JSON (or a Python literal; a
    JSON document inside prose or a fenced code block counts, see :func:`embedded_json`).

Paths use ``.name`` for identifier keys, ``["any key"]`` (JSON-quoted) for others and ``[3]``
for list positions. This module is the only place that builds or follows them.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

__all__ = [
    "STRUCTURED", "at_line", "content_text", "embedded_json", "follow", "in_json", "jpath", "resolve", "split",
]

STRUCTURED = "$.structured_content"
MAX_TEXT = 1_000_000
_IDENT = re.compile(r"[A-Za-z_]\w*")
_TOKEN = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]|\[(\"(?:[^\"\\]|\\.)*\")\]")
_FENCE = re.compile(r"```[ \t]*(?:json|javascript|js)?[ \t]*\n(.*?)\n[ \t]*```", re.DOTALL | re.IGNORECASE)


def jpath(base: str, key: Any) -> str:
    """``base`` one step further: a list position (an int) or an object key."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{base}[{key}]"
    k = str(key)
    if _IDENT.fullmatch(k):
        return f"{base}.{k}"
    return f"{base}[{json.dumps(k, ensure_ascii=False)}]"


def content_text(i: int) -> str:
    """The locator of content block ``i``'s text."""
    return f"$.content[{i}].text"


def at_line(base: str, n: int) -> str:
    """Line ``n`` (from 1) of the text at ``base``."""
    return f"{base}#line={n}"


def in_json(base: str, path: str = "$") -> str:
    """``path`` (``$...``) inside the text at ``base`` parsed as JSON."""
    return f"{base}#json={path}"


def split(locator: str) -> tuple[str, str, str]:
    """(base, fragment kind, fragment value): ``("$.content[0].text", "line", "7")``."""
    base, _, frag = locator.partition("#")
    kind, _, rest = frag.partition("=")
    return base, kind, rest


def embedded_json(text: str) -> Any:
    """The JSON (or Python-literal) object or list a text holds: the whole text, else the
    first fenced code block that is one, else the first ``{...}`` / ``[...]`` that parses
    to the end of its line. None when there is none."""
    stripped = text.strip()
    whole = _parse(stripped)
    if whole is not None:
        return whole
    for m in _FENCE.finditer(text):
        found = _parse(m.group(1).strip())
        if found is not None:
            return found
    decoder = json.JSONDecoder()
    for m in re.finditer(r"(?m)^[ \t]*([\[{])", text):
        try:
            value, end = decoder.raw_decode(text, m.start(1))
        except ValueError:
            continue
        if isinstance(value, (dict, list)) and value and not text[end:].split("\n", 1)[0].strip():
            return value
    return None


def _parse(text: str) -> Any:
    if not text or text[0] not in "[{":
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return value if isinstance(value, (dict, list, tuple)) else None


def follow(obj: Any, path: str) -> Any:
    """What ``path`` (``.a[0]["b c"]``, no leading ``$``) points at in ``obj`` (None if nothing)."""
    pos = 0
    cur = obj
    while pos < len(path):
        m = _TOKEN.match(path, pos)
        if not m:
            return None
        if m.group(1) is not None:
            cur = cur.get(m.group(1)) if isinstance(cur, dict) else None
        elif m.group(2) is not None:
            i = int(m.group(2))
            cur = cur[i] if isinstance(cur, (list, tuple)) and i < len(cur) else None
        else:
            key = json.loads(m.group(3))
            cur = cur.get(key) if isinstance(cur, dict) else None
        if cur is None:
            return None
        pos = m.end()
    return cur


def resolve(content: Any, structured: Any, locator: str) -> Any:
    """What ``locator`` points at in a result (its content blocks and structured content),
    or None when it points at nothing."""
    base, kind, rest = split(locator)
    if base.startswith(STRUCTURED):
        cur: Any = follow(structured, base[len(STRUCTURED):])
    elif base.startswith("$.content"):
        cur = follow(content, base[len("$.content"):])
    else:
        return None
    if not kind:
        return cur
    if not isinstance(cur, str):
        return None
    if kind == "line":
        lines = cur[:MAX_TEXT].splitlines()
        try:
            n = int(rest)
        except ValueError:
            return None
        return lines[n - 1] if 0 < n <= len(lines) else None
    if kind == "json":
        parsed = embedded_json(cur)
        return None if parsed is None else follow(parsed, rest.removeprefix("$"))
    return None
