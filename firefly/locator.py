"""Locators: where a value sat in a recorded tool result, as one readable string.

Every value firefly takes out of a result (an argument fed forward, a fact behind a label)
keeps a locator, and every check follows it back (:func:`resolve`). The format:

- ``$.structured_content.entities[2].name``: a path into the structured content;
- ``$.content[0].text``: a content block's text, optionally followed by a fragment:
  - ``#line=7``: its 7th line (lines count from 1);
  - ``#json=$[0].row_count``: a path into the text parsed as JSON (or a Python literal; a
    JSON document inside prose or a fenced code block counts, see :func:`embedded_json`);
  - fragments chain, each applied to what the one before points at:
    ``#json=$.context#line=4`` is the 4th line of the string at ``$.context``.
- ``$.content[0].data``: a binary block's base64 data (an image, an audio clip, a resource's
  ``blob``), optionally followed by a fragment:
  - ``#bytes``: the size of the decoded data, in bytes;
  - ``#image=width`` / ``#image=height``: an image's size in pixels, read from its header
    (PNG, GIF, JPEG, BMP, WebP; see :func:`image_size`).

Paths use ``.name`` for identifier keys, ``["any key"]`` (JSON-quoted) for others and ``[3]``
for list positions; a path ending in ``~`` is the key itself, not its value
(``$.structured_content.options.Threads~`` is ``"Threads"``: the name of a record in a map of
records keyed by name). This module is the only place that builds or follows them.
"""

from __future__ import annotations

import ast
import base64
import binascii
import json
import re
import struct
from typing import Any

__all__ = [
    "STRUCTURED", "TRUNCATION_MARKER", "at_line", "blob_bytes", "content_text", "embedded_json", "follow", "image_size",
    "in_json", "item_at", "key_of", "salvaged",
    "jpath",
    "moved", "resolve", "split",
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


def key_of(path: str) -> str:
    """The key the value at ``path`` sits under, as a locator (``path~``)."""
    return f"{path}~"


def content_text(i: int) -> str:
    """The locator of content block ``i``'s text."""
    return f"$.content[{i}].text"


def at_line(base: str, n: int) -> str:
    """Line ``n`` (from 1) of the text at ``base``."""
    return f"{base}#line={n}"


def in_json(base: str, path: str = "$") -> str:
    """``path`` (``$...``) inside the text at ``base`` parsed as JSON."""
    return f"{base}#json={path}"


_POSITION = re.compile(r"\[(\d+)\]")


def moved(locator: str, delta: int) -> str | None:
    """The same locator with the item it points into moved ``delta`` places: the line of a
    ``#line`` fragment, else the first list position inside the value (a ``#json`` path's,
    else the structured content's; never the content block's own). None when it has no such
    position or the move goes below the first."""
    base, kind, rest = split(locator)
    if kind == "line":
        n = int(rest) + delta if rest.isdigit() else 0
        return at_line(base, n) if n >= 1 else None
    if kind == "json":
        m = _POSITION.search(rest)
        if m is None or int(m.group(1)) + delta < 0:
            return None
        return f"{base}#json={rest[:m.start()]}[{int(m.group(1)) + delta}]{rest[m.end():]}"
    if kind or not base.startswith(STRUCTURED):
        return None
    m = _POSITION.search(base, len(STRUCTURED))
    if m is None or int(m.group(1)) + delta < 0:
        return None
    return f"{base[:m.start()]}[{int(m.group(1)) + delta}]{base[m.end():]}"


def item_at(locator: str, position: int) -> tuple[str, str] | None:
    """For the list the locator points into (the position :func:`moved` moves): the locator
    of its item at ``position`` and that of the same field of it, or None when the locator
    has no such position (a ``#line``, a content block's own)."""
    if position < 0:
        return None
    base, kind, rest = split(locator)
    if kind == "json":
        m = _POSITION.search(rest)
        if m is None:
            return None
        head = f"{base}#json={rest[:m.start()]}[{position}]"
        return head, head + rest[m.end():]
    if kind or not base.startswith(STRUCTURED):
        return None
    m = _POSITION.search(base, len(STRUCTURED))
    if m is None:
        return None
    head = f"{base[:m.start()]}[{position}]"
    return head, head + base[m.end():]


def split(locator: str) -> tuple[str, str, str]:
    """(base, fragment kind, fragment value): ``("$.content[0].text", "line", "7")``."""
    base, _, frag = locator.partition("#")
    kind, _, rest = frag.partition("=")
    return base, kind, rest


def embedded_json(text: str) -> Any:
    """The JSON (or Python-literal) object or list a text holds: the whole text, else the
    first fenced code block that is one, else the first ``{...}`` / ``[...]`` that parses
    to the end of its line; for a result the recorder cut short (:data:`TRUNCATION_MARKER`)
    that starts as JSON, what it holds whole before the cut (:func:`salvaged`). None when
    there is none."""
    stripped = text.strip()
    whole = _parse(stripped)
    if whole is not None:
        return whole
    cut = _TRUNCATED.search(text)
    if cut is not None and stripped[:1] in ("[", "{"):
        kept = salvaged(text[: cut.start()].strip())
        if kept:
            return kept
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


# what the recorder appends to a result it cut to the size cap (firefly.explore.executor)
TRUNCATION_MARKER = "\n…[firefly: result truncated, {omitted} more bytes]"
_TRUNCATED = re.compile(re.escape(TRUNCATION_MARKER.split("{")[0]) + r"\d+ more bytes\]\s*$")


def salvaged(text: str) -> Any:
    """What a JSON document cut short holds whole: the elements of a list that end before the
    cut, the members of an object that do (a member whose value is a list or an object cut
    short keeps what that holds whole), every container open at the cut closed there. A
    record cut in the middle is left out of its list: a question about it could not see
    the fields that were cut."""
    decoder = json.JSONDecoder()
    end = len(text)

    def skip(i: int) -> int:
        while i < end and text[i] in " \t\r\n":
            i += 1
        return i

    def value(i: int, depth: int) -> tuple[Any, int, bool]:
        i = skip(i)
        if i >= end or depth > 64:
            return None, i, False
        opener = text[i]
        if opener not in "[{":
            try:
                found, j = decoder.raw_decode(text, i)
            except ValueError:
                return None, i, False
            # a number the cut ends may have lost digits: 12 of 123
            return found, j, not (j >= end and isinstance(found, (int, float)) and not isinstance(found, bool))
        closer, out = ("]", []) if opener == "[" else ("}", {})
        i += 1
        while True:
            i = skip(i)
            if i < end and text[i] == closer:
                return out, i + 1, True
            if opener == "{":
                try:
                    key, i = decoder.raw_decode(text, i)
                except ValueError:
                    return out, i, False
                i = skip(i)
                if not isinstance(key, str) or i >= end or text[i] != ":":
                    return out, i, False
                i += 1
            item, i, whole = value(i, depth + 1)
            if not whole:
                if opener == "{" and isinstance(item, (dict, list)) and item:
                    out[key] = item  # type: ignore[index]
                return out, i, False
            if opener == "[":
                out.append(item)  # type: ignore[union-attr]
            else:
                out[key] = item  # type: ignore[index]
            i = skip(i)
            if i < end and text[i] == ",":
                i += 1
            elif not (i < end and text[i] == closer):
                return out, i, False

    found, _, _ = value(0, 0)
    return found if isinstance(found, (dict, list)) else None


def _parse(text: str) -> Any:
    if not text or text[0] not in "[{":
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        try:
            value = ast.literal_eval(_unwrapped(ast.parse(text, mode="eval").body))
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    return value if isinstance(value, (dict, list, tuple)) else None


class _Unwrap(ast.NodeTransformer):
    """A Python repr's wrappers as the value they wrap: ``RealDictRow({...})`` -> ``{...}``,
    ``Decimal('999.00')`` -> ``999.00`` (a wrapped number written as a string is a number)."""

    def visit_Call(self, node: ast.Call) -> Any:
        when = _date_call(node)
        if when is not None:
            return ast.Constant(when)
        if len(node.args) != 1 or node.keywords or not isinstance(node.func, (ast.Name, ast.Attribute)):
            return node  # date(2025, 1, 2), f(x=1): not one value; literal_eval refuses it
        inner = self.visit(node.args[0])
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            try:
                number = float(inner.value)
            except ValueError:
                return inner
            if number == number and abs(number) != float("inf"):
                return ast.Constant(int(number) if number.is_integer() and "." not in inner.value else number)
        return inner


def _date_call(node: ast.Call) -> str | None:
    """``datetime.date(2024, 1, 5)`` (a database row's date, as Python prints it) as the ISO text
    it stands for, ``2024-01-05``; a ``datetime`` or ``time`` likewise. None for any other call."""
    import datetime as dt

    name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id if isinstance(node.func, ast.Name) \
        else None
    kinds = {"date": dt.date, "datetime": dt.datetime, "time": dt.time}
    if name not in kinds or node.keywords or not node.args or not all(
            isinstance(a, ast.Constant) and type(a.value) is int for a in node.args):
        return None
    try:
        return kinds[name](*(a.value for a in node.args)).isoformat()
    except (ValueError, TypeError, OverflowError):
        return None


def _unwrapped(node: ast.AST) -> ast.AST:
    return _Unwrap().visit(node)


def follow(obj: Any, path: str) -> Any:
    """What ``path`` (``.a[0]["b c"]``, no leading ``$``) points at in ``obj`` (None if nothing);
    with a trailing ``~``, the object key the path ends in, when there is a value under it."""
    if path.endswith("~"):
        m = list(_TOKEN.finditer(path, 0, len(path) - 1))
        last = m[-1] if m else None
        if last is None or last.end() != len(path) - 1 or last.group(2) is not None \
                or follow(obj, path[:-1]) is None:
            return None
        return last.group(1) if last.group(1) is not None else json.loads(last.group(3))
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


_FRAGMENT = re.compile(r"#(?=(?:line|json|image)=|bytes(?:#|$))")


def resolve(content: Any, structured: Any, locator: str) -> Any:
    """What ``locator`` points at in a result (its content blocks and structured content),
    or None when it points at nothing. Fragments apply in turn: ``#json=$.context#line=4``
    is the 4th line of the string at ``$.context`` in the text parsed as JSON."""
    base, *fragments = _FRAGMENT.split(locator)
    if base.startswith(STRUCTURED):
        cur: Any = follow(structured, base[len(STRUCTURED):])
    elif base.startswith("$.content"):
        cur = follow(content, base[len("$.content"):])
    else:
        return None
    for fragment in fragments:
        kind, _, rest = fragment.partition("=")
        cur = _fragment(cur, kind, rest)
        if cur is None:
            return None
    return cur


def _fragment(cur: Any, kind: str, rest: str) -> Any:
    """What one fragment (``line=7``, ``json=$.a``, ``bytes``, ``image=width``) points at in
    the string ``cur``."""
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
    if kind in ("bytes", "image"):
        data = blob_bytes(cur)
        if data is None:
            return None
        if kind == "bytes":
            return len(data)
        size = image_size(data)
        return None if size is None or rest not in ("width", "height") else size[rest == "height"]
    return None


def blob_bytes(data: str) -> bytes | None:
    """The bytes of base64 ``data`` (None when it is not base64)."""
    try:
        return base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) in pixels from an image's header (PNG, GIF, JPEG, BMP, WebP), or None."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", data[6:10])
        if data[:2] == b"BM":
            w, h = struct.unpack("<ii", data[18:26])
            return w, abs(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            if data[12:16] == b"VP8X":
                return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
            if data[12:16] == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if data[12:16] == b"VP8L":
                b = int.from_bytes(data[21:25], "little")
                return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
            return None
        if data[:2] == b"\xff\xd8":
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                length = struct.unpack(">H", data[i + 2:i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                    h, w = struct.unpack(">HH", data[i + 5:i + 9])
                    return w, h
                i += 2 + length
    except struct.error:
        return None
    return None
