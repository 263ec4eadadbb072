"""Candidate values mined from the results of earlier calls of one exploration.

An explorer policy chains calls by feeding values it saw in earlier results into later
arguments. This module turns one :class:`~firefly.explore.policy.CallRecord` into a flat
list of typed :class:`Value` s, each with the place it came from (a JSON-path locator), so
that every argument filled from one can be recorded as an
:class:`~firefly.explore.policy.ArgSource`.

Where values are looked for:

- ``structured`` (structured content) is walked as JSON: ``$.structured_content.a[0].b``.
- each text content block is parsed as JSON when it is JSON (many servers answer with JSON
  text) or as a Python literal (some servers answer ``[{'name': 'customers'}]``), and
  walked: ``$.content[0].text#json=$[0].name``;
- otherwise, and for long strings inside JSON, the text is mined line by line:
  ``$.content[0].text#line=3`` (lines count from 1). :func:`resolve_locator` follows a
  locator back to what it points at. Lines give listing entries
  (``[FILE] name`` / ``[DIR] name`` resolved against the listed directory), absolute paths,
  git commits, authors, branches and changed files, ``key: value`` pairs, CSV rows, time
  zones, ISO dates and times, e-mail addresses, numbers and quoted names.

Kinds (:data:`KINDS`) name what a value is. ``key`` is the field name it sat under (a JSON
key, a ``key:`` label or a CSV header) and ``context`` carries what else is known: the table
of a column or row, the entity of an observation, the file a line came from, the whole
record (``record``) an entity, relation or row belongs to.

Extraction never raises: huge text is cut, binary blocks are skipped, invalid JSON falls
back to line mining, and an unexpected failure just ends extraction for that block.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import functools
import io
import json
import math
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import locator
from ..adapters.judge import error_reason
from .policy import VIRTUAL_ROOT, CallRecord

__all__ = [
    "KINDS", "Value", "extract", "extract_history", "is_timezone", "looks_like_error", "parse_datetime_hhmm",
    "resolve_locator",
]

KINDS = (
    "file", "dir", "path", "repo_file",           # filesystem / repository paths
    "commit", "branch", "message", "person",       # git
    "table", "column", "row",                      # SQL
    "entity", "entity_type", "relation_type", "observation", "relation",  # memory graph
    "timezone", "datetime", "date", "time",        # time
    "number", "email", "url", "quoted", "text", "line",
)

MAX_TEXT = 1_000_000        # characters of one text looked at
MAX_PARSE = 2_000_000       # characters of one text parsed as JSON
MAX_LITERAL = 200_000       # characters of one text parsed as a Python literal
MAX_LINES = 20_000
MAX_LINE_CHARS = 2_000
MAX_VALUES = 5_000          # values kept per record
MAX_NUMBERS = 400           # inline numbers kept per record
MAX_LINE_VALUES = 400       # "line" values kept per record
MAX_DEPTH = 60


@dataclass(frozen=True)
class Value:
    """One value seen in a result.

    kind: what it is (one of :data:`KINDS`).
    value: the value (a string, number, or for ``row`` / ``relation`` a dict).
    path: where in the record's result (``$.structured_content...`` or ``$.content[i].text#...``).
    step: the step of the record it came from.
    key: the field name it sat under, if any.
    context: more about it (``table``, ``column``, ``entity``, ``file``, ``dir``, ``record``).
    """

    kind: str
    value: Any
    path: str
    step: int = -1
    key: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> tuple[str, str]:
        return self.kind, _canon(self.value)


def _canon(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except Exception:  # noqa: BLE001
        return repr(value)


# --------------------------------------------------------------------------- recognisers

HEX40 = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")
COMMIT_LINE = re.compile(r"^\s*(?:commit|Commit:)\s*([0-9a-f]{7,40})\b")
ONELINE_LOG = re.compile(r"^([0-9a-f]{7,12})\s+\S")
AUTHOR_LINE = re.compile(r"^\s*Author:\s*(.+?)\s*(?:<([^>\s]+@[^>\s]+)>)?\s*$")
DATE_LINE = re.compile(r"^\s*(?:Date|AuthorDate|CommitDate):\s*(.+?)\s*$")
MESSAGE_LINE = re.compile(r"^\s*Message:\s*(.+?)\s*$")
DIFF_FILE = re.compile(r"^(?:\+\+\+ b/|--- a/)(.+?)\s*$")
DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)")
STATUS_FILE = re.compile(r"^\s+(?:modified|new file|deleted|renamed|typechange|both modified):\s+(.+?)\s*$")
ON_BRANCH = re.compile(r"^\s*On branch (\S+)")
BRANCH_QUOTED = re.compile(r"(?:[Bb]ranch|from) '([^'\s]+)'")
BRANCH_LIST_LINE = re.compile(r"^([* ]) (\S+)$")
LISTING = re.compile(r"^\s*\[(FILE|DIR)\]\s+(.+?)(?:\s{2,}\S.*)?\s*$")
ABS_PATH_LINE = re.compile(r"^\s*(/[^\s:*?\"<>|]*[^\s:*?\"<>|/]/?)\s*:?\s*$")
VPATH = re.compile(re.escape(VIRTUAL_ROOT) + r"(?:/[\w.\-@+%~,]+)*/?")
KEY_VALUE = re.compile(r"^\s*[-*]?\s*\"?([A-Za-z][\w .\-]{0,40}?)\"?\s*[:=]\s+(.+?)\s*,?\s*$")
TZ_TOKEN = re.compile(r"\b(?:[A-Z][A-Za-z_\-]+/)+[A-Z][A-Za-z0-9_\-+]+\b")
DATETIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s?(?:Z|[+-]\d{2}:?\d{2}))?(?![\d:])"
)
DATE = re.compile(r"(?<![\d\-])\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\d\-:T])")
CLOCK = re.compile(r"(?<![\d:.\-])(?:[01]\d|2[0-3]):[0-5]\d(?![\d:])")
EMAIL = re.compile(r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b")
URL = re.compile(r"\bhttps?://[^\s'\"<>)\]]+")
NUMBER = re.compile(r"(?<![\w.\-/:#@])-?\d{1,15}(?:,\d{3})*(?:\.\d+)?(?![\w\-/:@]|\.\d)")
# an id a sentence states ("Saved document with ID: 01a2-... to database: db"): one token with a digit
SAID_ID = re.compile(r"(?<![\w-])(?:ID|Id|id)\s*[:=#]\s*(?=[\w.\-]*\d)([A-Za-z0-9][\w.\-]*[A-Za-z0-9])(?![\w.\-])")
QUOTED = re.compile(r"'([^'\n]{1,80})'|\"([^\"\n]{1,80})\"|`([^`\n]{1,80})`")

_PY_LITERAL_HINT = re.compile(r"'\s*:|\bNone\b|\bTrue\b|\bFalse\b")


@functools.cache
def _timezones() -> frozenset[str]:
    try:
        import zoneinfo

        names = set(zoneinfo.available_timezones())
    except Exception:  # noqa: BLE001
        names = set()
    names.update(_COMMON_TZ)
    return frozenset(names)


_COMMON_TZ = (
    "UTC", "Etc/UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Toronto", "America/Sao_Paulo", "America/Mexico_City", "Europe/London", "Europe/Paris",
    "Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw",
    "Europe/Istanbul", "Africa/Cairo", "Africa/Nairobi", "Africa/Lagos", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul",
    "Australia/Sydney", "Pacific/Auckland",
)


def is_timezone(text: Any) -> bool:
    """True for an IANA time zone name (``Europe/Paris``, ``UTC``)."""
    return isinstance(text, str) and len(text) < 64 and text in _timezones()


def parse_datetime_hhmm(text: str) -> str | None:
    """``HH:MM`` of an ISO-like date-time or time string, None if it has none."""
    m = re.search(r"(?:T|\s|^)([01]\d|2[0-3]):([0-5]\d)", text or "")
    return f"{m.group(1)}:{m.group(2)}" if m else None


def _num(text: str) -> int | float | None:
    t = text.replace(",", "")
    try:
        if re.fullmatch(r"-?\d+", t):
            return int(t)
        v = float(t)
        return v if math.isfinite(v) else None
    except ValueError:
        return None


def _classify_string(s: str, key: str | None) -> str:
    """The kind of a short string, from its shape and the key it sat under."""
    k = (key or "").lower()
    st = s.strip()
    if not st:
        return "text"
    if HEX40.fullmatch(st) or (re.fullmatch(r"[0-9a-f]{7,39}", st) and any(w in k for w in ("hash", "sha", "commit", "rev"))
                              and re.search(r"\d", st) and re.search(r"[a-f]", st)):
        return "commit"
    if is_timezone(st) and ("zone" in k or "tz" in k or "/" in st or k in ("", "name")):
        return "timezone"
    if DATETIME.fullmatch(st):
        return "datetime"
    if DATE.fullmatch(st):
        return "date"
    if CLOCK.fullmatch(st):
        return "time"
    if EMAIL.fullmatch(st):
        return "email"
    if URL.fullmatch(st):
        return "url"
    if st.startswith(VIRTUAL_ROOT + "/") or st == VIRTUAL_ROOT:
        return _guess_path_kind(st)
    if "branch" in k and re.fullmatch(r"[\w./\-]+", st):
        return "branch"
    if any(w in k for w in ("table",)) and re.fullmatch(r"[A-Za-z_]\w*", st):
        return "table"
    if _num(st) is not None and re.fullmatch(r"-?[\d,]+(?:\.\d+)?", st):
        return "number"
    return "text"


def _guess_path_kind(p: str) -> str:
    if p.endswith("/"):
        return "dir"
    base = posixpath.basename(p)
    return "file" if "." in base.strip(".") else "dir"


# --------------------------------------------------------------------------- the collector


class _Out:
    """Collects values of one record, deduplicated by (kind, value), under the caps."""

    def __init__(self, step: int, limit: int):
        self.step = step
        self.limit = limit
        self.items: list[Value] = []
        self.seen: set[tuple[str, str]] = set()
        self.numbers = 0
        self.lines = 0

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def add(self, kind: str, value: Any, path: str, key: str | None = None, **context: Any) -> None:
        if self.full or value is None or value == "":
            return
        if (kind == "number" and self.numbers >= MAX_NUMBERS) or (kind == "line" and self.lines >= MAX_LINE_VALUES):
            return
        ident = (kind, _canon(value) + ("|" + _canon(context.get("table")) if kind == "column" else "")
                 + ("|" + _canon(context.get("entity")) if kind == "observation" else "")
                 + ("|" + _canon(context.get("file")) if kind == "line" else ""))
        if ident in self.seen:
            return
        self.seen.add(ident)
        if kind == "number":
            self.numbers += 1
        if kind == "line":
            self.lines += 1
        ctx = {k: v for k, v in context.items() if v is not None}
        self.items.append(Value(kind, value, path, self.step, key, ctx))


# --------------------------------------------------------------------------- public API


def extract(record: CallRecord, *, limit: int = MAX_VALUES) -> list[Value]:
    """Every candidate value in one record's result (empty for an error result). Never raises."""
    try:
        if record.is_error or looks_like_error(record):
            return []
        out = _Out(record.step, limit)
        ctx = _record_context(record)
        if isinstance(record.structured, dict):
            with contextlib.suppress(Exception):  # a malformed part ends extraction of that part only
                _walk(record.structured, "$.structured_content", ctx, out, 0)
        for i, block in enumerate(record.content or []):
            if out.full:
                break
            with contextlib.suppress(Exception):
                _block(block, i, ctx, out)
        return out.items
    except Exception:  # noqa: BLE001
        return []


def looks_like_error(record: CallRecord) -> bool:
    """True for a result that reports a failure although ``is_error`` is false: error text in
    its content, or error fields inside its structured content (see
    :func:`firefly.adapters.judge.error_reason`, the one judgement every stage uses)."""
    return error_reason(record.content, record.structured) is not None


def extract_history(history: Iterable[CallRecord], *, limit: int = MAX_VALUES) -> list[Value]:
    """Values of every successful record, oldest step first."""
    out: list[Value] = []
    try:
        records = sorted((r for r in history if not r.is_error), key=lambda r: r.step)
    except Exception:  # noqa: BLE001
        return out
    for r in records:
        out.extend(extract(r, limit=limit))
    return out


# --------------------------------------------------------------------------- context


def _record_context(record: CallRecord) -> dict[str, Any]:
    """What the arguments say about the result: the listed directory, the table, the file."""
    ctx: dict[str, Any] = {"tool": (record.tool or "").lower(), "args": record.arguments or {}}
    args = record.arguments if isinstance(record.arguments, dict) else {}
    for k, v in args.items():
        kl = str(k).lower()
        if isinstance(v, str):
            if v.startswith(VIRTUAL_ROOT) and "base" not in ctx and "repo" not in kl:
                ctx["base"] = v.rstrip("/") or "/"
            if "table" in kl and re.fullmatch(r"[A-Za-z_]\w*", v):
                ctx["table"] = v
            if kl in ("query", "sql", "statement"):
                # rows belong to a table only for a plain single-table SELECT of its columns
                m = re.match(r"\s*SELECT\s+(\*|[A-Za-z_][\w\s,]*?)\s+FROM\s+[\"`\[]?([A-Za-z_]\w*)[\"`\]]?"
                             r"(?:\s+(?:WHERE|ORDER|LIMIT|GROUP)\b.*|\s*;?\s*)$", v, re.IGNORECASE | re.DOTALL)
                if m and not re.search(r"\b(?:JOIN|AS|GROUP)\b|\(", v, re.IGNORECASE):
                    ctx["table"] = m.group(2)
            if any(w in kl for w in ("revision", "rev", "ref", "object")) and ":" in v:
                ctx["tree"] = v.split(":", 1)[1].strip("/")
    return ctx


def _block(block: Any, i: int, ctx: dict[str, Any], out: _Out) -> None:
    if not isinstance(block, dict):
        return
    btype = block.get("type")
    if btype == "text" and isinstance(block.get("text"), str):
        _text(block["text"], f"$.content[{i}].text", ctx, out)
    elif btype == "resource" and isinstance(block.get("resource"), dict):
        res = block["resource"]
        if isinstance(res.get("uri"), str) and res["uri"].startswith("file://"):
            p = res["uri"][len("file://"):]
            if p.startswith(VIRTUAL_ROOT):
                out.add(_guess_path_kind(p), p, f"$.content[{i}].resource.uri", "uri")
        if isinstance(res.get("text"), str):
            _text(res["text"], f"$.content[{i}].resource.text", ctx, out)
    elif btype == "resource_link" and isinstance(block.get("uri"), str):
        out.add("url", block["uri"], f"$.content[{i}].uri", "uri")
    # image / audio / blobs: nothing to mine


# --------------------------------------------------------------------------- JSON walk


def _jkey(path: str, key: Any) -> str:
    return locator.jpath(path, str(key))


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _walk(obj: Any, path: str, ctx: dict[str, Any], out: _Out, depth: int, key: str | None = None,
          parent: dict[str, Any] | None = None) -> None:
    if out.full or depth > MAX_DEPTH:
        return
    if isinstance(obj, dict):
        _walk_dict(obj, path, ctx, out, depth)
    elif isinstance(obj, (list, tuple)):
        _walk_list(list(obj), path, ctx, out, depth, key)
    else:
        _leaf(obj, path, ctx, out, key, parent)


def _walk_list(items: list[Any], path: str, ctx: dict[str, Any], out: _Out, depth: int, key: str | None) -> None:
    dicts = [x for x in items if isinstance(x, dict)]
    # rows of a table (a SQL query's results, or any list of flat records)
    flat = bool(dicts) and len(dicts) == len(items) and all(all(_is_scalar(v) for v in d.values()) for d in dicts)
    tool = ctx.get("tool", "")
    if flat and all(set(d) == {"name"} for d in dicts) and "table" in tool:
        for j, d in enumerate(dicts):
            out.add("table", d["name"], f"{path}[{j}].name", "name")
        return
    if flat and all({"name", "type"} <= set(d) and ("cid" in d or "notnull" in d or "pk" in d) for d in dicts):
        for j, d in enumerate(dicts):
            out.add("column", d["name"], f"{path}[{j}].name", "name", table=ctx.get("table"), type=d.get("type"))
        return
    for j, item in enumerate(items):
        if out.full:
            return
        if flat and isinstance(item, dict) and not _special_dict(item):
            _row(item, f"{path}[{j}]", ctx, out)
        else:
            _walk(item, f"{path}[{j}]", ctx, out, depth + 1, key)


def _special_dict(d: dict[str, Any]) -> bool:
    keys = set(d)
    return ({"name", "entityType"} <= keys or {"from", "to", "relationType"} <= keys
            or ({"name", "type"} <= keys and d.get("type") in ("file", "directory")))


def _row(d: dict[str, Any], path: str, ctx: dict[str, Any], out: _Out) -> None:
    table = ctx.get("table")
    if table or len(d) >= 2:
        out.add("row", dict(d), path, None, table=table)
    for col in d:
        if table:
            out.add("column", str(col), path, str(col), table=table)
    for col, v in d.items():
        _leaf(v, _jkey(path, col), ctx, out, str(col), d)


def _walk_dict(d: dict[str, Any], path: str, ctx: dict[str, Any], out: _Out, depth: int) -> None:
    keys = set(d)
    if {"name", "entityType"} <= keys and isinstance(d.get("name"), str):
        name = d["name"]
        out.add("entity", name, _jkey(path, "name"), "name", record=_clip_record(d))
        if isinstance(d.get("entityType"), str):
            out.add("entity_type", d["entityType"], _jkey(path, "entityType"), "entityType", entity=name)
        obs = d.get("observations")
        if isinstance(obs, list):
            for j, o in enumerate(obs):
                if isinstance(o, str):
                    p = f"{_jkey(path, 'observations')}[{j}]"
                    out.add("observation", o, p, "observations", entity=name)
                    _inline(o, p, out, None, entity=name)
        for k, v in d.items():
            if k not in ("name", "entityType", "observations"):
                _walk(v, _jkey(path, k), ctx, out, depth + 1, str(k), d)
        return
    if {"from", "to", "relationType"} <= keys:
        rec = {k: d[k] for k in ("from", "to", "relationType")}
        out.add("relation", rec, path, None)
        for k in ("from", "to"):
            if isinstance(d.get(k), str):
                out.add("entity", d[k], _jkey(path, k), k)
        if isinstance(d.get("relationType"), str):
            out.add("relation_type", d["relationType"], _jkey(path, "relationType"), "relationType")
        return
    if {"name", "type"} <= keys and d.get("type") in ("file", "directory") and isinstance(d.get("name"), str):
        base = ctx.get("fs_base") or ctx.get("base")
        full = posixpath.join(base, d["name"]) if base else d["name"]
        kind = "dir" if d["type"] == "directory" else "file"
        if full.startswith(VIRTUAL_ROOT):
            out.add(kind, full, _jkey(path, "name"), "name", dir=base)
        else:
            out.add("text", d["name"], _jkey(path, "name"), "name")
        children = d.get("children")
        if isinstance(children, list):
            sub = dict(ctx, fs_base=full)
            _walk_list(children, _jkey(path, "children"), sub, out, depth + 1, "children")
        return
    for k, v in d.items():
        if out.full:
            return
        _walk(v, _jkey(path, k), ctx, out, depth + 1, str(k), d)


def _clip_record(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if isinstance(k, str)}


def _leaf(v: Any, path: str, ctx: dict[str, Any], out: _Out, key: str | None, parent: dict[str, Any] | None = None) -> None:
    table = ctx.get("table") if parent is not None else None
    extra: dict[str, Any] = {}
    if table:
        extra = {"table": table, "column": key, "record": parent}
    elif parent is not None and all(_is_scalar(x) for x in parent.values()):
        extra = {"record": parent}
    if isinstance(v, bool) or v is None:
        return
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return
        out.add("number", v, path, key, **extra)
        return
    if not isinstance(v, str):
        return
    if len(v) > 200 or "\n" in v:
        _text(v, path, ctx, out, key=key)
        return
    kind = _classify_string(v, key)
    if kind == "number":
        n = _num(v.strip())
        if n is not None:
            out.add("number", n, path, key, **extra)
        return
    if kind == "text":
        k = (key or "").lower()
        if k in ("author", "committer", "owner", "maintainer", "assignee", "user", "person"):
            out.add("person", v.strip(), path, key, **extra)
        out.add("text", v, path, key, **extra)
        _inline(v, path, out, key, **extra)
        return
    out.add(kind, v.strip(), path, key, **extra)


# --------------------------------------------------------------------------- text


def _text(text: str, path: str, ctx: dict[str, Any], out: _Out, key: str | None = None) -> None:
    if not text or out.full:
        return
    text = text[:MAX_TEXT]
    stripped = text.strip()
    parsed: Any = _NOPARSE
    if stripped[:1] in ("{", "[") and len(stripped) <= MAX_PARSE:
        try:
            parsed = json.loads(stripped)
        except (ValueError, RecursionError):
            parsed = _NOPARSE
        if parsed is _NOPARSE and len(stripped) <= MAX_LITERAL and _PY_LITERAL_HINT.search(stripped[:2000]):
            try:
                parsed = ast.literal_eval(stripped)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                parsed = _NOPARSE
    if parsed is not _NOPARSE and isinstance(parsed, (dict, list, tuple)):
        _walk(parsed, f"{path}#json=$", ctx, out, 0, key)
        _lines(text, path, ctx, out, structural=False)
        return
    _lines(text, path, ctx, out, structural=True)


_NOPARSE = object()


def _lines(text: str, path: str, ctx: dict[str, Any], out: _Out, *, structural: bool) -> None:
    """Mine text line by line. ``structural`` False: only keep raw lines (the text was JSON)."""
    lines = text.splitlines()[:MAX_LINES]
    file_ctx = _file_of(ctx)
    if not structural:
        for n, line in enumerate(lines, start=1):
            if line.strip() and len(line) <= 300:
                out.add("line", line, f"{path}#line={n}", None, file=file_ctx)
        return
    nonempty = [ln for ln in lines if ln.strip()]
    branch_listing = bool(nonempty) and len(nonempty) <= 500 and all(BRANCH_LIST_LINE.match(ln) for ln in nonempty)
    csv_rows = _csv_rows(lines) if ("," in text[:4000]) else None
    base = ctx.get("base")
    tree = ctx.get("tree")
    deleted: list[str] = []
    last_minus: str | None = None
    if tree is not None and not (nonempty and len(nonempty) <= 2000
                                 and all(re.fullmatch(r"[\w.\-@+]+/?", ln.strip()) for ln in nonempty)):
        tree = None  # "<rev>:<path>" named a file: its content, not a tree listing
    current_file = file_ctx
    for n, raw in enumerate(lines, start=1):
        if out.full:
            return
        line = raw[:MAX_LINE_CHARS]
        loc = f"{path}#line={n}"
        s = line.strip()
        if not s:
            continue
        if branch_listing:
            m = BRANCH_LIST_LINE.match(line)
            if m and not m.group(2).startswith("("):
                out.add("branch", m.group(2), loc, "branch", current=m.group(1) == "*")
            continue
        m = LISTING.match(line)
        if m:
            name = m.group(2).strip()
            full = posixpath.join(base, name) if base else name
            kind = "dir" if m.group(1) == "DIR" else "file"
            if full.startswith(VIRTUAL_ROOT):
                out.add(kind, full, loc, None, dir=base, name=name)
            else:
                out.add("text", name, loc, None)
            continue
        m = ABS_PATH_LINE.match(line)
        if m and (m.group(1).startswith(VIRTUAL_ROOT)):
            p = m.group(1)
            out.add(_guess_path_kind(p), p.rstrip("/") if p != "/" else p, loc, None)
            if s.endswith(":") and _guess_path_kind(p) == "file":
                current_file = p
            continue
        if tree is not None and re.fullmatch(r"[\w.\-@+ ]+/?", s) and len(s) < 200:
            entry = posixpath.join(tree, s) if tree else s
            out.add("repo_file", entry.rstrip("/"), loc, None, dir=s.endswith("/"))
            continue
        if len(s) <= 300:
            out.add("line", line, loc, None, file=current_file)
        _git_line(line, loc, out)
        if s.startswith("--- a/"):
            last_minus = s[len("--- a/"):].strip()
        elif s.startswith("+++ /dev/null") and last_minus:
            deleted.append(last_minus)
        if s.startswith(("@@", "index ", "diff --git", "+++ ", "--- ")):
            continue  # diff bookkeeping: no values worth mining
        if csv_rows is not None and n in csv_rows:
            row = csv_rows[n]
            out.add("row", row, loc, None, table=None)
            for col, v in row.items():
                _leaf(v, loc, {}, out, col)
            continue
        m = KEY_VALUE.match(line)
        if m and not line.lstrip().startswith(("http", "/")):
            k, v = m.group(1).strip(), m.group(2).strip().strip("'\"")
            if v and len(v) <= 200 and not v.endswith(("{", "[")):
                kind = _classify_string(v, k)
                if kind == "number":
                    nv = _num(v)
                    if nv is not None:
                        out.add("number", nv, loc, k)
                elif kind == "text":
                    out.add("text", v, loc, k)
                else:
                    out.add(kind, v, loc, k)
        for said in SAID_ID.finditer(line):
            if line[:said.start()].strip():  # a line "ID: x" is read as its key-value pair
                out.add("text", said.group(1), loc, "id")
        for p in VPATH.findall(line):
            p = p.rstrip(".,;:)")
            if p and p != VIRTUAL_ROOT:
                out.add(_guess_path_kind(p), p.rstrip("/"), loc, None)
        _inline(line, loc, out, None)
    if deleted:
        # a file the diff deletes is no longer in the tree: say so
        for i, v in enumerate(out.items):
            if v.kind == "repo_file" and v.value in deleted:
                out.items[i] = Value(v.kind, v.value, v.path, v.step, v.key, {**v.context, "deleted": True})


_READING = ("read", "cat", "show", "view", "open", "get", "head", "tail", "fetch", "load", "download")
_NOT_READING = ("write", "edit", "create", "move", "rename", "delete", "remove", "info", "stat", "search", "list")


def _file_of(ctx: dict[str, Any]) -> str | None:
    """The file whose content this result is (a read of one file), else None."""
    base = ctx.get("base")
    words = re.split(r"[^a-z]+", str(ctx.get("tool", "")))
    if any(w in _NOT_READING for w in words) or not any(w in _READING for w in words):
        return None
    if isinstance(base, str) and _guess_path_kind(base) == "file":
        return base
    return None


def _csv_rows(lines: list[str]) -> dict[int, dict[str, str]] | None:
    """Line number -> row for text that is a CSV table (header + rows of the same width)."""
    sample = [ln for ln in lines[:2000]]
    if len(sample) < 2:
        return None
    header_idx = next((i for i, ln in enumerate(sample) if ln.strip()), None)
    if header_idx is None:
        return None
    header_line = sample[header_idx]
    if header_line.count(",") < 1 or not re.fullmatch(r"[\w ,\-\"]+", header_line.strip()):
        return None
    try:
        rows = list(csv.reader(io.StringIO("\n".join(sample[header_idx:]))))
    except csv.Error:
        return None
    if not rows:
        return None
    header = [h.strip() for h in rows[0]]
    width = len(header)
    body = [r for r in rows[1:] if r]
    if width < 2 or not body or sum(len(r) == width for r in body) < max(1, int(0.8 * len(body))):
        return None
    out: dict[int, dict[str, str]] = {}
    # csv.reader may join lines for quoted newlines; map rows to lines only when 1:1
    n = header_idx + 2
    for r in rows[1:]:
        if len(r) == width:
            out[n] = {h: c for h, c in zip(header, r)}
        n += 1
    return out


def _git_line(line: str, loc: str, out: _Out) -> None:
    m = COMMIT_LINE.match(line)
    if m:
        out.add("commit", m.group(1), loc, "commit")
    else:
        m = ONELINE_LOG.match(line)
        if m and re.search(r"\d", m.group(1)) and re.search(r"[a-f]", m.group(1)):
            out.add("commit", m.group(1), loc, "commit")
    for h in HEX40.findall(line):
        out.add("commit", h, loc, "commit")
    m = AUTHOR_LINE.match(line)
    if m:
        out.add("person", m.group(1), loc, "author")
        if m.group(2):
            out.add("email", m.group(2), loc, "author")
        return
    m = DATE_LINE.match(line)
    if m:
        v = m.group(1)
        dt = DATETIME.search(v)
        out.add("datetime" if dt else "text", dt.group(0) if dt else v, loc, "date")
        return
    m = MESSAGE_LINE.match(line)
    if m:
        out.add("message", m.group(1), loc, "message")
        return
    m = DIFF_GIT.match(line)
    if m:
        out.add("repo_file", m.group(2), loc, None)
        return
    m = DIFF_FILE.match(line)
    if m and m.group(1) != "/dev/null":
        out.add("repo_file", m.group(1), loc, None)
        return
    m = STATUS_FILE.match(line)
    if m:
        out.add("repo_file", m.group(1), loc, None)
        return
    m = ON_BRANCH.match(line)
    if m:
        out.add("branch", m.group(1), loc, "branch", current=True)
        return
    for b in BRANCH_QUOTED.findall(line):
        out.add("branch", b, loc, "branch")


def _inline(text: str, loc: str, out: _Out, key: str | None, **context: Any) -> None:
    """Typed tokens anywhere in a short text."""
    if out.full:
        return
    text = text[:MAX_LINE_CHARS]
    for tz in TZ_TOKEN.findall(text):
        if is_timezone(tz):
            out.add("timezone", tz, loc, key, **context)
    spans: list[tuple[int, int]] = []
    for m in DATETIME.finditer(text):
        out.add("datetime", m.group(0), loc, key, **context)
        spans.append(m.span())
    for m in DATE.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.add("date", m.group(0), loc, key, **context)
            spans.append(m.span())
    for m in CLOCK.finditer(text):
        if not any(a <= m.start() < b for a, b in spans):
            out.add("time", m.group(0), loc, key, **context)
    for m in EMAIL.finditer(text):
        out.add("email", m.group(0), loc, key, **context)
        spans.append(m.span())
    for m in URL.finditer(text):
        out.add("url", m.group(0).rstrip(".,;"), loc, key, **context)
        spans.append(m.span())
    for m in QUOTED.finditer(text):
        q = next(g for g in m.groups() if g is not None)
        if text[m.end():m.end() + 2].lstrip().startswith(":"):
            continue  # a quoted key ("name": ...), not a value
        if q.strip():
            out.add("quoted", q, loc, key, **context)
    for m in NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in spans):
            continue
        n = _num(m.group(0))
        if n is not None:
            out.add("number", n, loc, key, **context)


def iter_kinds(values: Iterable[Value], *kinds: str) -> Iterator[Value]:
    for v in values:
        if v.kind in kinds:
            yield v


# --------------------------------------------------------------------------- locators


def resolve_locator(record: CallRecord, path: str) -> Any:
    """What a locator made by :func:`extract` points at in ``record`` (None if nothing); the
    format is :mod:`firefly.locator`'s."""
    try:
        return locator.resolve(record.content, record.structured, path)
    except Exception:  # noqa: BLE001 - a locator that points at nothing points at nothing
        return None
