"""What a recorded result says, as tables of items whose every value knows where it sat.

A synthesizer writes questions about *facts*: the commits a log listed, the entries of a
folder, the rows a query returned, the entities of a knowledge graph. :func:`read_call`
turns one recorded call into :class:`Table` s, through the server's adapter
(:meth:`firefly.adapters.Adapter.read_facts`: an adapter of a server family knows its
result shapes; the generic one walks any JSON result, where every list of objects is a
table). Every :class:`Cell` keeps the locator of its value in the call's result
(``$.structured_content.entities[2].name``, ``$.content[0].text#line=7``,
``$.content[0].text#json=$[0].row_count``), so that every label can be traced back to, and
checked against, what the real tool returned (:func:`firefly.explore.values.resolve_locator`
follows a locator).

This module holds the tables and the readers any adapter may use (a file's text as CSV,
JSON, YAML or labelled lines; rows of objects; JSON walked). Values that depend on the wall
clock (file times, the current time) are not facts: a question about them has no stable
answer.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..adapters.generic import GenericAdapter
from ..explore.policy import VIRTUAL_ROOT
from ..match import parse_json

if TYPE_CHECKING:
    from ..adapters import Adapter

FILES_ROOT = f"{VIRTUAL_ROOT}/files"
REPO_ROOT = f"{VIRTUAL_ROOT}/repo"
MAX_ITEMS = 60  # items of one table considered (tables longer than this are still counted)
MAX_TEXT = 200_000


@dataclass(frozen=True)
class Cell:
    value: Any
    path: str


@dataclass
class Item:
    cells: dict[str, Cell]
    index: int = 0

    def get(self, name: str) -> Any:
        cell = self.cells.get(name)
        return None if cell is None else cell.value


@dataclass
class Table:
    """Items of one kind in one result.

    noun / plural: what an item is (``commit`` / ``commits``).
    key: the field that names an item (``message``, ``name``).
    labels: field -> how a question names it (``author`` -> ``author``).
    numeric: fields that hold numbers (aggregates: max, min, sum).
    complete: whether the result lists every item of the scope (a count is meaningful).
    order: how items are ordered, in words (``newest first``), or None.
    whole: the locator of the whole listing (a count's provenance).
    """

    step: int
    noun: str
    plural: str
    key: str
    items: list[Item]
    labels: dict[str, str] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    complete: bool = True
    order: str | None = None
    total: int | None = None
    whole: str = ""
    where: str | None = None  # the table's own scope (one file of several read at once)

    def label(self, name: str) -> str:
        if self.noun == "setting":
            return self.labels.get(name, f"setting {name}")
        return self.labels.get(name, name.replace("_", " "))


@dataclass
class Reading:
    """Everything read from one call: its tables and its single facts (a one-item table)."""

    tables: list[Table] = field(default_factory=list)


# ---------------------------------------------------------------------------- helpers


def text_blocks(content: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(i, b["text"][:MAX_TEXT]) for i, b in enumerate(content or [])
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]


def first_text(content: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(locator base, text) of the first text block."""
    blocks = text_blocks(content)
    if not blocks:
        return None
    i, text = blocks[0]
    return f"$.content[{i}].text", text


def parse_structured_text(text: str) -> Any:
    """A JSON or Python-literal (rows as a Python list of dicts) object or list, else None."""
    value = parse_json(text)
    return value if isinstance(value, (dict, list)) else None


def jpath(base: str, key: Any) -> str:
    k = str(key)
    if isinstance(key, int):
        return f"{base}[{key}]"
    if re.fullmatch(r"[A-Za-z_]\w*", k):
        return f"{base}.{k}"
    return f"{base}[{json.dumps(k, ensure_ascii=False)}]"


def rel(path: str) -> str:
    """A workspace path as a question writes it (``notes/todo.md``; the folder root as ``the
    workspace folder``)."""
    if path.rstrip("/") == FILES_ROOT:
        return FILES_ROOT
    if path.startswith(FILES_ROOT + "/"):
        return path[len(FILES_ROOT) + 1:]
    return path


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def is_clock_value(key: str, value: Any) -> bool:
    """Wall-clock values: file times, now."""
    k = key.lower()
    return k in ("created", "modified", "accessed", "birthtime", "mtime", "ctime", "atime", "datetime", "now") or (
        isinstance(value, str) and "GMT" in value and re.search(r"\d{2}:\d{2}:\d{2}", value) is not None)


_SIZE = re.compile(r"^([\d.]+)\s*(B|KB|MB|GB)$")


def size_bytes(text: str) -> float | None:
    m = _SIZE.match(text.strip())
    if not m:
        return None
    return float(m.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[m.group(2)]


def to_number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return value if value == value and abs(value) != float("inf") else None


# ---------------------------------------------------------------------------- readers


def read_call(step: int, server: str, tool: str, arguments: dict[str, Any], content: list[dict[str, Any]],
              structured: Any, adapter: Adapter | None = None) -> Reading:
    """The tables one successful call's result holds, as the server's adapter reads them (the
    generic adapter: every list of objects in a JSON result). Never raises."""
    try:
        return (adapter or GenericAdapter()).read_facts(step, tool, arguments, content, structured)
    except Exception:  # noqa: BLE001 - a result the readers do not understand has no facts
        return Reading()


def by_lines(read: Any) -> Any:
    """A reader of the first text block's lines (and its locator base)."""

    def reader(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
        found = first_text(content)
        if found is None:
            return None
        base, text = found
        return read(step, args, base, text.splitlines())

    return reader


# -- a file's text


def file_tables(step: int, base: str, text: str, offset: int, path: str) -> list[Table]:
    """Facts in a file's text: a CSV's rows, a JSON document's settings, ``key: value`` lines
    and YAML lists of records. ``offset``: lines before the file's first line in the result."""
    name = rel(path)
    lines = text.splitlines()
    if path.endswith(".csv"):
        return _csv_table(step, base, lines, offset, name)
    if path.endswith(".json"):
        doc = parse_structured_text(text)
        if isinstance(doc, dict) and offset == 0:
            return _json_settings(step, base, doc, name)
        return []
    if path.endswith((".yaml", ".yml")):
        return _yaml_tables(step, base, lines, offset, name)
    if path.endswith((".md", ".txt")):
        return _labelled_lines(step, base, lines, offset)
    return []


_LABELLED = re.compile(r"^\s*(?:[-*]\s+)?\**([A-Z][\w /()'-]{1,40}?)\**\s*:\**\s+(.{1,100}?)\s*$")


def _whole(value: str) -> bool:
    """Not a fragment of a sentence that goes on on the next line."""
    return value.count("(") == value.count(")") and value.count("`") % 2 == 0 and not re.search(
        r"(?:,|\b(?:and|or|then|see|the|a|of|to|with))$", value, re.IGNORECASE)


def _labelled_lines(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """``Owner: Tomás Herrera`` lines of a text or Markdown file (labels seen once)."""
    found: dict[str, Cell] = {}
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        m = _LABELLED.match(line)
        if not m or "http" in m.group(1):
            continue
        label, value = m.group(1).strip(), m.group(2).strip().strip("*").strip()
        if label in seen:
            found.pop(label, None)
            continue
        seen.add(label)
        if value and not is_clock_value(label, value) and _whole(value):
            found[label] = Cell(_scalar(value), f"{base}#line={n + offset}")
    if not found:
        return []
    return [Table(step, "labelled line", "labelled lines", "", [Item(found)],
                  labels={k: f"\"{k}\" entry" for k in found}, whole=base)]


def _csv_table(step: int, base: str, lines: list[str], offset: int, name: str) -> list[Table]:
    if len(lines) < 2:
        return []
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = rows[0]
    if len(header) < 2 or len(set(header)) != len(header):
        return []
    items = []
    for n, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            continue
        cells = {}
        for h, v in zip(header, row):
            v = v.strip()
            if not v:
                continue
            number = to_number(v)
            cells[h] = Cell(number if number is not None else v, f"{base}#line={n + offset}")
        items.append(Item(cells, len(items)))
    if not items:
        return []
    numeric = tuple(h for h in header if all(isinstance(it.get(h), (int, float)) for it in items if h in it.cells))
    key = next((h for h in header if h not in numeric and len({it.get(h) for it in items}) == len(items)), header[0])
    return [Table(step, "row", "rows", key, items[:MAX_ITEMS], numeric=numeric,
                  total=len(items), whole=f"{base}#line={1 + offset}")]


def _json_settings(step: int, base: str, doc: dict[str, Any], name: str) -> list[Table]:
    cells: dict[str, Cell] = {}

    def walk(obj: Any, dotted: str, path: str, depth: int) -> None:
        if depth > 4 or len(cells) > 80:
            return
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{dotted}.{k}" if dotted else str(k), jpath(path, k), depth + 1)
        elif isinstance(obj, (str, int, float)) and not isinstance(obj, bool) and dotted:
            if isinstance(obj, str) and (len(obj) > 80 or not obj.strip()):
                return
            cells[dotted] = Cell(obj, f"{base}#json={path}")

    walk(doc, "", "$", 0)
    if not cells:
        return []
    return [Table(step, "setting", "settings", "", [Item(cells)], whole=base)]


_YAML_ITEM = re.compile(r"^(\s*)- (\w[\w ]*):\s*(.+?)\s*$")
_YAML_FIELD = re.compile(r"^(\s+)(\w[\w ]*):\s*(.+?)\s*$")


def _yaml_tables(step: int, base: str, lines: list[str], offset: int, name: str) -> list[Table]:
    items: list[Item] = []
    current: dict[str, Cell] | None = None
    indent = None
    for n, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        m = _YAML_ITEM.match(line)
        if m:
            current = {m.group(2): Cell(_scalar(m.group(3)), f"{base}#line={n + offset}")}
            indent = len(m.group(1)) + 2
            items.append(Item(current, len(items)))
            continue
        m = _YAML_FIELD.match(line)
        if m and current is not None and len(m.group(1)) == indent and not m.group(3).startswith("["):
            current[m.group(2)] = Cell(_scalar(m.group(3)), f"{base}#line={n + offset}")
        elif not line.startswith(" "):
            current = None
    items = [it for it in items if len(it.cells) >= 2]
    if len(items) < 2:
        return []
    first = next(iter(items[0].cells))
    numeric = tuple(k for k in items[0].cells if all(isinstance(it.get(k), (int, float)) for it in items))
    return [Table(step, "entry", "entries", first, items[:MAX_ITEMS], numeric=numeric,
                  total=len(items), whole=base)]


def _scalar(text: str) -> Any:
    text = text.strip().strip("\"'")
    number = to_number(text)
    return number if number is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text


# -- rows


def rows_table(step: int, base: str, rows: list[dict[str, Any]], noun: str, plural: str) -> Table:
    items = []
    for i, row in enumerate(rows[:MAX_ITEMS]):
        cells = {str(k): Cell(v, f"{base}#json=$[{i}]{jpath('', k)}") for k, v in row.items()
                 if v is not None and not isinstance(v, bool) and isinstance(v, (str, int, float))}
        items.append(Item(cells, i))
    cols = list(rows[0])
    numeric = tuple(c for c in cols if all(isinstance(it.get(c), (int, float)) for it in items if c in it.cells)
                    and any(c in it.cells for it in items))
    key = "name" if "name" in cols else next(
        (c for c in cols if c not in numeric and len({it.get(c) for it in items}) == len(items)), cols[0])
    return Table(step, noun, plural, str(key), items, numeric=numeric, total=len(rows), whole=base)


# -- anything: every list of objects in a JSON result is a table


def read_json(step: int, content: list[dict[str, Any]], structured: Any) -> Reading:
    """Every list of objects in a JSON result (structured content, or JSON text) as a table."""
    docs: list[tuple[str, Any]] = []
    if isinstance(structured, dict):
        docs.append(("$.structured_content", structured))
    else:
        for i, text in text_blocks(content):
            parsed = parse_structured_text(text)
            if parsed is not None:
                docs.append((f"$.content[{i}].text#json=$", parsed))
    out: list[Table] = []

    def walk(obj: Any, path: str, name: str, depth: int) -> None:
        if depth > 4 or len(out) > 6:
            return
        if isinstance(obj, list) and obj and all(isinstance(x, dict) for x in obj):
            table = rows_table(step, "", obj, singular(name) if name else "item", name or "items")
            for it in table.items:  # re-root the locators under this list
                it.cells = {k: Cell(c.value, c.path.replace("#json=$", path, 1)) for k, c in it.cells.items()}
            table.whole = path
            out.append(table)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, jpath(path, k), str(k), depth + 1)

    for path, doc in docs:
        walk(doc, path, "", 0)
    return Reading(out)


def leaves(value: Any) -> list[Any]:
    """Every scalar inside a JSON value, in order."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [value]


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))
