"""What a recorded result says, as tables of items whose every value knows where it sat.

A synthesizer writes questions about *facts*: the commits a ``git_log`` listed, the entries
of a folder, the rows a query returned, the entities of a knowledge graph. :func:`read_call`
turns one recorded call into :class:`Table` s. Every :class:`Cell` keeps the locator of its
value in the call's result (``$.structured_content.entities[2].name``,
``$.content[0].text#line=7``, ``$.content[0].text#json=$[0].row_count``), so that every
label can be traced back to, and checked against, what the real tool returned
(:func:`firefly.explore.values.resolve_locator` follows a locator).

Readers know the bundled servers' result shapes (git, filesystem, sqlite, memory) and fall
back to walking any JSON result: every list of objects is a table. Values that depend on
the wall clock (file times, the current time) are not facts: a question about them has no
stable answer.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from ..explore.policy import VIRTUAL_ROOT
from ..match import parse_json

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
    """A JSON or Python-literal (mcp-server-sqlite's rows) object or list, else None."""
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


def _num(text: str) -> int | float | None:
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
              structured: Any) -> Reading:
    """The tables one successful call's result holds. Never raises."""
    try:
        reader = _READERS.get(tool)
        if reader is not None:
            out = reader(step, arguments, content, structured)
            if out is not None:
                return out
        return _generic(step, tool, content, structured)
    except Exception:  # noqa: BLE001 - a result the readers do not understand has no facts
        return Reading()


def _by_lines(read: Any) -> Any:
    """A reader of the first text block's lines (and its locator base)."""

    def reader(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
        found = first_text(content)
        if found is None:
            return None
        base, text = found
        return read(step, args, base, text.splitlines())

    return reader


# -- git


_COMMIT = re.compile(r"^Commit: ([0-9a-f]{7,40})\s*$")
_FIELD = re.compile(r"^(Author|Date|Message): (.*)$")


@_by_lines
def _git_log(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items: list[Item] = []
    current: dict[str, Cell] | None = None
    for n, line in enumerate(lines, start=1):
        m = _COMMIT.match(line)
        if m:
            current = {"hash": Cell(m.group(1), f"{base}#line={n}")}
            items.append(Item(current, len(items)))
            continue
        m = _FIELD.match(line)
        if m and current is not None:
            name = m.group(1).lower()
            value = m.group(2).strip()
            if name == "date":
                current["day"] = Cell(value[:10], f"{base}#line={n}")
            elif value and name not in current:
                current[name] = Cell(value, f"{base}#line={n}")
    if not items:
        return None
    limit = args.get("max_count", 10)
    complete = not (isinstance(limit, int) and len(items) >= limit)
    table = Table(step, "commit", "commits", "message", items[:MAX_ITEMS],
                  labels={"hash": "hash", "author": "author", "day": "date", "message": "message"},
                  complete=complete, order="newest first", total=len(items), whole=base)
    return Reading([table])


_SHOW_HEAD = re.compile(r"^commit ([0-9a-f]{40})")
_SHOW_AUTHOR = re.compile(r"^Author:\s*(.+?)\s*<([^>]+)>\s*$")
_SHOW_DATE = re.compile(r"^Date:\s*(\d{4}-\d{2}-\d{2})")
_DIFF_FILE = re.compile(r"^\+\+\+ b/(.+?)\s*$|^--- a/(.+?)\s*$")
_DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)")


def _changed_files(base: str, lines: list[str], start: int = 0) -> list[tuple[str, str]]:
    files: dict[str, str] = {}
    for n, line in enumerate(lines[start:], start=start + 1):
        m = _DIFF_GIT.match(line)
        if m:
            files.setdefault(m.group(2), f"{base}#line={n}")
            continue
        m = _DIFF_FILE.match(line)
        if m:
            name = m.group(1) or m.group(2)
            if name and name != "/dev/null":
                files.setdefault(name, f"{base}#line={n}")
    return list(files.items())


@_by_lines
def _git_show(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    if not lines or not _SHOW_HEAD.match(lines[0]):
        return None
    cells = {"hash": Cell(_SHOW_HEAD.match(lines[0]).group(1), f"{base}#line=1")}
    message_at = None
    for n, line in enumerate(lines[:12], start=1):
        m = _SHOW_AUTHOR.match(line)
        if m:
            cells["author"] = Cell(m.group(1), f"{base}#line={n}")
            cells["email"] = Cell(m.group(2), f"{base}#line={n}")
        m = _SHOW_DATE.match(line)
        if m:
            cells["day"] = Cell(m.group(1), f"{base}#line={n}")
        if line.startswith("    ") and line.strip() and message_at is None:
            message_at = n
            cells["message"] = Cell(line.strip(), f"{base}#line={n}")
    commit = Table(step, "commit", "commits", "hash", [Item(cells)],
                   labels={"email": "author's e-mail address", "day": "date"}, whole=base)
    files = [Item({"file": Cell(name, loc)}, i) for i, (name, loc) in enumerate(_changed_files(base, lines))]
    out = [commit]
    if files:
        out.append(Table(step, "file changed", "files changed", "file", files, labels={"file": "path"}, whole=base))
    return Reading(out)


@_by_lines
def _git_diff(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    files = [Item({"file": Cell(name, loc)}, i) for i, (name, loc) in enumerate(_changed_files(base, lines))]
    if not files:
        return Reading()
    return Reading([Table(step, "file that differs", "files that differ", "file", files, labels={"file": "path"},
                          whole=base)])


_BRANCH = re.compile(r"^([* ]) (\S+)$")


@_by_lines
def _git_branch(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = []
    for n, line in enumerate(lines, start=1):
        m = _BRANCH.match(line)
        if m:
            items.append(Item({"name": Cell(m.group(2), f"{base}#line={n}"),
                               "current": Cell("yes" if m.group(1) == "*" else "no", f"{base}#line={n}")}, len(items)))
    if not items:
        return None
    return Reading([Table(step, "branch", "branches", "name", items, labels={"name": "name"}, whole=base)])


@_by_lines
def _git_status(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    for n, line in enumerate(lines, start=1):
        m = re.match(r"^On branch (\S+)", line)
        if m:
            item = Item({"branch": Cell(m.group(1), f"{base}#line={n}")})
            return Reading([Table(step, "working tree", "working trees", "branch", [item],
                                  labels={"branch": "checked-out branch"}, whole=base)])
    return Reading()


# -- filesystem


_LISTING = re.compile(r"^\[(FILE|DIR)\]\s+(.+?)(?:\s{2,}([\d.]+\s*(?:B|KB|MB|GB)))?\s*$")


@_by_lines
def _list_directory(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = []
    for n, line in enumerate(lines, start=1):
        m = _LISTING.match(line)
        if not m:
            continue
        cells = {"name": Cell(m.group(2), f"{base}#line={n}"), "type": Cell(m.group(1), f"{base}#line={n}")}
        if m.group(3):
            size = size_bytes(m.group(3))
            if size is not None:
                cells["size"] = Cell(m.group(3), f"{base}#line={n}")
        items.append(Item(cells, len(items)))
    if not items:
        return Reading()
    numeric = ("size",) if any("size" in it.cells for it in items) else ()
    return Reading([Table(step, "entry", "entries", "name", items[:MAX_ITEMS],
                          labels={"name": "name", "type": "kind", "size": "size"}, numeric=numeric,
                          total=len(items), whole=base)])


@_by_lines
def _search_files(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = [Item({"path": Cell(line.strip(), f"{base}#line={n}")}, n - 1)
             for n, line in enumerate(lines, start=1) if line.strip().startswith(VIRTUAL_ROOT)]
    if not items:
        return Reading()
    for i, it in enumerate(items):
        it.index = i
        it.cells["path"] = Cell(rel(it.get("path")), it.cells["path"].path)
    return Reading([Table(step, "match", "matches", "path", items[:MAX_ITEMS], labels={"path": "path"},
                          total=len(items), whole=base)])


def _directory_tree(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    tree = parse_structured_text(text)
    if not isinstance(tree, list):
        return None
    items: list[Item] = []

    def walk(nodes: list[Any], parent: Cell | None, path: str) -> None:
        for i, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("name"), str):
                continue
            here = Cell(node["name"], f"{base}#json=${path}[{i}].name")
            cells = {"name": here}
            if isinstance(node.get("type"), str):
                cells["type"] = Cell(node["type"], f"{base}#json=${path}[{i}].type")
            if parent is not None:
                cells["folder"] = parent
            items.append(Item(cells, len(items)))
            if isinstance(node.get("children"), list):
                walk(node["children"], here, f"{path}[{i}].children")

    walk(tree, None, "")
    if not items:
        return Reading()
    return Reading([Table(step, "entry", "entries", "name", items[:MAX_ITEMS],
                          labels={"name": "name", "type": "kind", "folder": "parent folder"},
                          total=len(items), whole=base)])


@_by_lines
def _file_info(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    cells = {}
    for n, line in enumerate(lines, start=1):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not value or is_clock_value(key, value):
            continue
        if key == "size":
            number = _num(value)
            if number is not None:
                cells["size"] = Cell(number, f"{base}#line={n}")
        elif key == "permissions":
            cells["permissions"] = Cell(value, f"{base}#line={n}")
    if not cells:
        return Reading()
    return Reading([Table(step, "file", "files", "size", [Item(cells)], labels={"size": "size in bytes"}, whole=base)])


def _read_file(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    path = args.get("path")
    if not isinstance(path, str):
        return None
    return Reading(file_tables(step, base, text, 0, path))


def _read_multiple(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    lines = text.splitlines()
    paths = [p for p in args.get("paths") or [] if isinstance(p, str)]
    starts = [(n, line[:-1]) for n, line in enumerate(lines) if line.endswith(":") and line[:-1] in paths]
    out: list[Table] = []
    for k, (n, path) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = lines[n + 1:end]
        while body and body[-1].strip() in ("", "---"):
            body = body[:-1]
        others = [rel(p) for p in paths if p != path]
        for t in file_tables(step, base, "\n".join(body), n + 1, path):
            t.where = f"the file {rel(path)}" + (
                f" (read together with {', '.join(others)})" if others else "")
            out.append(t)
    return Reading(out)


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
            number = _num(v)
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
    number = _num(text)
    return number if number is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text


# -- sqlite


def _sqlite_rows(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    rows = parse_structured_text(text)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return Reading()
    return Reading([_rows_table(step, base, rows, "row", "rows")])


def _rows_table(step: int, base: str, rows: list[dict[str, Any]], noun: str, plural: str) -> Table:
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


def _list_tables(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    out = _sqlite_rows(step, args, content, structured)
    if out and out.tables:
        t = out.tables[0]
        t.noun, t.plural, t.key = "table", "tables", "name"
    return out


def _describe_table(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    out = _sqlite_rows(step, args, content, structured)
    if out and out.tables:
        t = out.tables[0]
        t.noun, t.plural, t.key = "column", "columns", "name"
        t.numeric = ()
        for it in t.items:
            for flag in ("pk", "notnull"):
                if flag in it.cells:
                    c = it.cells[flag]
                    it.cells[flag] = Cell(c.value, c.path)
            it.cells.pop("cid", None)
            it.cells.pop("dflt_value", None)
        t.labels = {"type": "declared type", "pk": "primary-key flag", "notnull": "not-null flag"}
    return out


# -- memory


def _graph(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    if not isinstance(structured, dict):
        found = first_text(content)
        structured = parse_structured_text(found[1]) if found else None
        base = f"{found[0]}#json=$" if found else ""
    else:
        base = "$.structured_content"
    if not isinstance(structured, dict):
        return None
    out = []
    entities = structured.get("entities")
    if isinstance(entities, list):
        items = []
        obs_items = []
        for i, e in enumerate(entities):
            if not isinstance(e, dict) or not isinstance(e.get("name"), str):
                continue
            p = f"{base}.entities[{i}]"
            cells = {"name": Cell(e["name"], f"{p}.name")}
            if isinstance(e.get("entityType"), str):
                cells["entityType"] = Cell(e["entityType"], f"{p}.entityType")
            obs = e.get("observations")
            if isinstance(obs, list):
                cells["observations"] = Cell(len(obs), f"{p}.observations")
                for j, o in enumerate(obs):
                    if isinstance(o, str):
                        obs_items.append(Item({"entity": Cell(e["name"], f"{p}.name"),
                                               "text": Cell(o, f"{p}.observations[{j}]")}, len(obs_items)))
            items.append(Item(cells, len(items)))
        if items:
            out.append(Table(step, "entity", "entities", "name", items[:MAX_ITEMS],
                             labels={"entityType": "type", "observations": "number of observations"},
                             numeric=("observations",), total=len(items), whole=f"{base}.entities"))
        if obs_items:
            out.append(Table(step, "observation", "observations", "text", obs_items[:MAX_ITEMS],
                             total=len(obs_items), whole=f"{base}.entities"))
    relations = structured.get("relations")
    if isinstance(relations, list):
        items = []
        for i, r in enumerate(relations):
            if isinstance(r, dict) and all(isinstance(r.get(k), str) for k in ("from", "to", "relationType")):
                p = f"{base}.relations[{i}]"
                items.append(Item({k: Cell(r[k], f"{p}.{k}") for k in ("from", "relationType", "to")}, len(items)))
        if items:
            out.append(Table(step, "relation", "relations", "relationType", items[:MAX_ITEMS],
                             labels={"relationType": "relation type", "from": "source entity", "to": "target entity"},
                             total=len(items), whole=f"{base}.relations"))
    return Reading(out)


# -- anything else: every list of objects in a JSON result is a table


NO_FACTS = {"read_media_file", "list_allowed_directories", "get_current_time"}  # blobs, configuration, the clock


def _generic(step: int, tool: str, content: list[dict[str, Any]], structured: Any) -> Reading:
    if tool in NO_FACTS:
        return Reading()
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
            table = _rows_table(step, "", obj, singular(name) if name else "item", name or "items")
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


_READERS = {
    "git_log": _git_log,
    "git_show": _git_show,
    "git_diff": _git_diff,
    "git_diff_staged": _git_diff,
    "git_diff_unstaged": _git_diff,
    "git_branch": _git_branch,
    "git_status": _git_status,
    "list_directory": _list_directory,
    "list_directory_with_sizes": _list_directory,
    "search_files": _search_files,
    "directory_tree": _directory_tree,
    "get_file_info": _file_info,
    "read_text_file": _read_file,
    "read_file": _read_file,
    "read_multiple_files": _read_multiple,
    "read_query": _sqlite_rows,
    "list_tables": _list_tables,
    "describe_table": _describe_table,
    "read_graph": _graph,
    "search_nodes": _graph,
    "open_nodes": _graph,
}


def leaves(value: Any) -> list[Any]:
    """Every scalar inside a JSON value, in order."""
    if isinstance(value, dict):
        return [x for v in value.values() for x in leaves(v)]
    if isinstance(value, list):
        return [x for v in value for x in leaves(v)]
    return [value]


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))
