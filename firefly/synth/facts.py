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
from collections import Counter
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..adapters.generic import GenericAdapter
from ..locator import STRUCTURED, content_text, embedded_json, in_json, jpath, key_of, resolve
from ..explore.policy import VIRTUAL_ROOT
from ..jsonvalues import leaves, strings
from ..match import parse_json
from ..secrets import MASK

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
        text = self.labels.get(name, name.replace("_", " "))
        if text.split(" ", 1)[0].lower() in _ASKING:  # a column headed "What is in it"
            return f'"{text}" field'
        return text


_ASKING = frozenset({"what", "which", "who", "whom", "whose", "how", "when", "where", "why"})


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


def rel(path: str) -> str:
    """A workspace path as a question writes it (``notes/todo.md``; the folder root as ``the
    workspace folder``)."""
    if path.rstrip("/") == FILES_ROOT:
        return FILES_ROOT
    if path.startswith(FILES_ROOT + "/"):
        return path[len(FILES_ROOT) + 1:]
    return path


def singular(word: str) -> str:
    """``categories`` -> ``category``, ``boxes`` -> ``box``; ``status``, ``analysis`` stay."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zzes")) or re.search(r"[^aeiou]uses$", word):
        return word[:-2]  # "boxes" -> "box", "statuses" -> "status" (but "warehouses" -> "warehouse")
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s") and len(word) > 3:
        return word[:-1]
    return word


def item_noun(key: str, listed: bool = False) -> tuple[str, str]:
    """What one item under ``key`` is, singular and plural: ``orders`` -> order / orders;
    ``columns_affected`` -> column affected / columns affected; a key that names no plural
    thing, for a list (``data_analysis``: a category), names its entries (``data analysis
    entry`` / ``data analysis entries``)."""
    words = words_of(key).split()
    if not words:
        return "item", "items"
    if singular(words[-1]) != words[-1] or words[-1] in _UNCOUNTED or not listed:
        noun = " ".join(words[:-1] + [singular(words[-1])])
        return noun, plural_of(noun)
    for i, w in enumerate(words[:-1]):
        if singular(w) != w:  # "columns affected": the plural word is not the last
            return " ".join(words[:i] + [singular(w)] + words[i + 1:]), " ".join(words)
    noun = " ".join(words) + " entry"
    return noun, noun[:-1] + "ies"


def is_clock_value(key: str, value: Any) -> bool:
    """Wall-clock values: file times, now, and ages counted back from now (``days_ago``,
    ``uptime``: what a file made at the run's start reads as 0 today and 3 next week)."""
    k = key.lower()
    if isinstance(value, str) and value.strip().lower() in _RELATIVE_DAYS:
        return True  # "end": "now": a time counted from the run
    if isinstance(value, str) and value.strip().lower() in _OPEN_ENDS and _OPEN_TIME_KEYS & set(words_of(key).split()):
        return True  # "period.start": "beginning": no time was given, the default of every call
    return k in ("created", "modified", "accessed", "birthtime", "mtime", "ctime", "atime", "datetime", "now") or (
        isinstance(value, str) and "GMT" in value and re.search(r"\d{2}:\d{2}:\d{2}", value) is not None) or (
        bool({"ago", "uptime"} & set(words_of(key).split())))


# a statistic of a column of ids (statistics.id.sum, order_id.mean): a number about no thing
_ID_STATISTIC = re.compile(r"(?:^|[.\[\]'\"=$])(?:id|\w+_id|\w+Id)['\"\]]*\.\[?['\"]?(?:sum|mean|std|var|variance|min|max|"
                           r"median|25%|50%|75%|iqr|skewness|kurtosis|mode)(?!\w)", re.IGNORECASE)
_RELATIVE_DAYS = frozenset({"now", "today", "yesterday", "tomorrow", "tonight", "just now"})
# a time left open: "since the beginning", "until the end", "all time"
_OPEN_ENDS = frozenset({"beginning", "start", "end", "all time", "all", "earliest", "latest", "forever", "never",
                        "unbounded", "open"})
_OPEN_TIME_KEYS = frozenset({"start", "end", "since", "until", "from", "to", "begin", "period", "after", "before"})
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
              structured: Any, adapter: Adapter | None = None, ref: Any = None) -> Reading:
    """The tables one successful call's result holds, as the server's adapter reads them (the
    generic adapter: :func:`read_result`). ``ref``: the tool as discovery recorded it (its
    title, description and output schema name the values). Never raises."""
    try:
        return (adapter or GenericAdapter()).read_facts(step, tool, arguments, content, structured, ref)
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


# -- names: how a result's values are called


_HOW_WORDS = frozenset({"by", "in", "from", "with", "for", "on", "at", "using", "via", "into"})
_NOUN_SKIP = frozenset({"all", "the", "a", "an", "of", "by", "for", "in", "on", "to", "from", "with", "and", "or",
                        "info", "details", "data", "current", "given", "specific", "new", "available", "my", "tool"})


def words_of(name: str) -> str:
    """A key or a tool name in words (``orderId`` -> ``order id``, ``ship_date`` -> ``ship date``)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return " ".join(w for w in re.split(r"[^A-Za-z0-9]+", s) if w).lower() or str(name)


# what a tool named for the thing it runs gives back: the rows of a query, the lines (entries) of a command's output
_RUN_THINGS = {"query": ("row", "rows"), "sql": ("row", "rows"), "command": ("entry", "entries"),
               "cmd": ("entry", "entries"), "script": ("entry", "entries"), "shell": ("entry", "entries"),
               "bash": ("entry", "entries")}


_UNCOUNTED = frozenset({"data", "information", "weather", "news", "people", "software", "equipment", "staff", "metadata",
                        "media", "feedback", "content", "research", "music", "traffic"})


def plural_of(noun: str) -> str:
    last = noun.rsplit(" ", 1)[-1]
    if len(last) == 1 and last.isalpha():  # a coordinate's name: "the x values", never "the xes"
        return noun + " values"
    if last.endswith(("ss", "us")):  # status, address, class: never already plural
        return noun + "es"
    if last.endswith("s") or last in _UNCOUNTED:
        return noun
    if last.endswith("y") and len(last) > 2 and last[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if last.endswith(("sh", "ch", "x", "z")):
        return noun + "es"
    return noun + "s"


@dataclass(frozen=True)
class Names:
    """Names for a result's values: from the tool's ``outputSchema`` (titles, descriptions),
    the keys the values sit under, and the tool's own name, title and description."""

    tool: str = ""
    title: str | None = None
    description: str | None = None
    output_schema: dict[str, Any] | None = None

    @classmethod
    def of(cls, ref: Any, tool: str = "") -> Names:
        if ref is None:
            return cls(tool)
        schema = ref.output_schema if isinstance(getattr(ref, "output_schema", None), dict) else None
        return cls(ref.name, getattr(ref, "title", None), ref.description, schema)

    def noun(self) -> tuple[str, str]:
        """What one item the tool returns is (``list_orders`` -> ``order`` / ``orders``)."""
        from ..adapters.verbs import READ_VERBS, WRITE_VERBS

        words = words_of(self.title or self.tool).split()
        # what follows "by", "in", "with" says how or where, not what comes back: search_by_date
        # returns notes, not dates; list_files_in_dir files, not dirs
        cut = next((i for i, w in enumerate(words) if w in _HOW_WORDS), len(words))
        words = [w for w in words[:cut] if w not in _NOUN_SKIP]
        verbs = [i for i, w in enumerate(words) if w in READ_VERBS or w in WRITE_VERBS]
        if verbs and verbs[-1] + 1 < len(words):  # what the last verb acts on ("mcp howtocook get recipes": recipes)
            words = words[verbs[-1] + 1:]
        while words and (words[0] in READ_VERBS or words[0] in WRITE_VERBS):
            words = words[1:]
        if not words:
            return "item", "items"
        last = singular(words[-1])
        if last in _RUN_THINGS:  # run_command, mysql_query: what comes back is not commands or queries
            return _RUN_THINGS[last]
        noun = " ".join(words[-2:-1] + [last]) if len(words) >= 2 and len(words[-2]) > 2 else last
        return noun, plural_of(noun)

    def schema_at(self, schema: Any, key: Any) -> Any:
        """The sub-schema for ``key`` (a property name, or an int for a list's items)."""
        schema = self._deref(schema)
        if not isinstance(schema, dict):
            return None
        if isinstance(key, int):
            return self._deref(schema.get("items"))
        props = schema.get("properties")
        return self._deref(props.get(key)) if isinstance(props, dict) else None

    def _deref(self, schema: Any) -> Any:
        for _ in range(5):
            if not isinstance(schema, dict):
                return None
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and isinstance(self.output_schema, dict):
                target: Any = self.output_schema
                for part in ref[2:].split("/"):
                    target = target.get(part) if isinstance(target, dict) else None
                schema = target
                continue
            options = schema.get("anyOf") or schema.get("oneOf")
            if isinstance(options, list) and "properties" not in schema and "items" not in schema:
                schema = next((o for o in options if isinstance(o, dict) and o.get("type") != "null"), None)
                continue
            return schema
        return None

    def label(self, key: str, schema: Any = None, parent: str | None = None) -> str:
        """How a question names the field ``key`` (its schema's title, else its description
        when the key says little, else the key in words)."""
        schema = self._deref(schema) if schema is not None else None
        title = schema.get("title") if isinstance(schema, dict) else None
        desc = schema.get("description") if isinstance(schema, dict) else None
        words = words_of(key)
        if isinstance(title, str) and 0 < len(title) <= 40 and title.lower() != words:
            text = title if title.isupper() else title[:1].lower() + title[1:]
        elif isinstance(desc, str) and (len(key) <= 3 or not re.search(r"[a-z]{3}", key.lower())) \
                and len(desc.split()) <= 6:
            text = desc.strip().rstrip(".")
            text = text[:1].lower() + text[1:]
        elif "%" in key and len(key) <= 12 or key.isupper() and key.isalpha() and len(key) <= 8:
            text = key  # "1%" is no "1"; an upper-case name (PWD, HOME) is written as it is
        else:
            text = spelled_out(words)
        if parent:
            text = f"{words_of(parent)} {text}"
        return text


_SHORT_WORDS = {
    "iter": "iterations", "iters": "iterations", "obs": "observations", "pct": "percent", "avg": "average", "qty": "quantity", "cnt": "count", "num": "number",
    "nums": "numbers", "msg": "message", "dir": "directory", "temp": "temperature", "expr": "expression",
    "exprs": "expressions", "eq": "equation", "eqs": "equations", "args": "arguments", "arg": "argument",
    "params": "parameters", "param": "parameter", "src": "source", "dst": "destination", "dest": "destination",
    "repo": "repository", "img": "image", "desc": "description", "db": "database", "amt": "amount", "idx": "index",
    "col": "column", "cols": "columns", "var": "variable", "vars": "variables", "func": "function", "fn": "function",
    "lhs": "left-hand side", "rhs": "right-hand side", "tz": "time zone", "lang": "language", "ext": "extension",
    "attr": "attribute", "attrs": "attributes", "val": "value", "vals": "values", "len": "length",
    "dims": "dimensions"}


def spelled_out(words: str, alone: bool = False) -> str:
    """A key's words with its abbreviations written out: ``n obs`` -> ``number of
    observations``, ``num rows`` -> ``number of rows``, ``avg price`` -> ``average price``.
    A word alone is written out only when ``alone`` (a parameter ``expr``; a key ``temp``
    may be what it says)."""
    parts = words.split()
    if len(parts) >= 2 and parts[0] in ("n", "num", "no", "nb"):
        parts = ["number", "of"] + parts[1:]
    if len(parts) >= 2 and parts[-1] in _UNITS and parts[-2] in _MEASURES:
        parts = parts[:-1] + ["in", parts[-1]]  # "output size bytes" -> "output size in bytes"
    return " ".join(_ACRONYMS.get(w) or (_SHORT_WORDS.get(w, w) if i or len(parts) > 1 or alone else w)
                    for i, w in enumerate(parts))


# a short name said letter by letter is written in capitals: "the BIC", "the RMSE", "the MIME type"
_ACRONYMS = {w: w.upper() for w in (
    "aic", "bic", "hqic", "rmse", "mse", "mae", "mape", "ols", "vif", "adf", "kpss", "acf", "pacf", "arima", "garch",
    "sql", "csv", "json", "html", "pdf", "url", "uri", "api", "utc", "cpu", "dpi", "mime", "sku", "http", "uuid",
    "ip", "ssr", "sse", "gdp", "roi", "npv", "irr", "vat", "iso", "ascii", "utf", "png", "jpeg", "svg", "xml", "yaml",
    "mcp", "abc")}


_UNITS = frozenset({"bytes", "kb", "mb", "gb", "seconds", "secs", "ms", "milliseconds", "minutes", "hours", "days",
                    "pixels", "px", "percent", "pct", "meters", "km", "miles", "degrees"})
_MEASURES = frozenset({"size", "length", "time", "duration", "width", "height", "elapsed", "latency", "memory", "usage",
                       "reduction", "delay", "timeout", "age", "distance", "depth", "weight", "uptime", "runtime",
                       "interval", "angle"})


# -- facts of any result: JSON at any depth, and text


MAX_TABLES = 8
_TEXTLIKE = re.compile(r"\S")


def read_result(step: int, arguments: dict[str, Any], content: Any, structured: Any, ref: Any = None,
                tool: str = "") -> Reading:
    """Every fact a result holds, whatever its shape: structured content, JSON (or YAML,
    CSV, TSV, a markdown table, ``key: value`` lines, a list) inside text. Each value keeps
    its locator (:mod:`firefly.locator`); names come from :class:`Names`."""
    names = Names.of(ref, tool)
    out: list[Table] = []
    if isinstance(structured, (dict, list)) and structured:
        out = _wrapped_line(step, structured, names, arguments) \
            or walk_json(step, structured, STRUCTURED, names, names.output_schema, arguments)
    if not out:
        for i, text in text_blocks(content or []):
            base = content_text(i)
            doc = embedded_json(text)
            if doc is not None:
                out += walk_json(step, doc, in_json(base), names, None, arguments)
            else:
                out += read_text(step, base, text, names, arguments)
    out += blob_tables(step, content or [], names)
    out += link_tables(step, content or [])
    return Reading([t for t in out if t.items][:MAX_TABLES])


def _wrapped_line(step: int, structured: Any, names: Names, arguments: dict[str, Any]) -> list[Table]:
    """A one-line text wrapped as the structured content's only field (``{"result": "Wrote
    /workspace/a.png (2709 bytes)"}``): what the text readers find in it, located inside the
    field; nothing when they find nothing or only the line as one value (the field is then
    that value, as any field)."""
    if not isinstance(structured, dict) or len(structured) != 1:
        return []
    ((key, value),) = structured.items()
    if not isinstance(value, str) or "\n" in value.strip() or words_of(str(key)) not in _BARE_KEYS:
        return []
    found = read_text(step, jpath(STRUCTURED, str(key)), value, names, arguments)
    if all(len(t.items) == 1 and list(t.items[0].cells) == ["result"] for t in found):
        return []  # the line is one value: the field is that value, as it is written
    return found


_LINK_FIELDS = ("name", "title", "uri", "mimeType", "description")


def link_tables(step: int, content: list[Any]) -> list[Table]:
    """The resource links a result lists (MCP ``resource_link`` blocks: a name, a URI, a MIME
    type, a description each), as one table of links named by their names; and the text
    resources it embeds (``resource`` blocks with a ``text``: their URI, MIME type, name), as
    one table of resources (their texts are no values: a resource's text is read where a
    reader of resources reads it)."""
    out: list[Table] = []
    for kind, noun in (("resource_link", "resource link"), ("resource", "resource")):
        items: list[Item] = []
        for i, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != kind:
                continue
            base, inner = f"$.content[{i}]", block
            if kind == "resource":
                inner, base = block.get("resource"), f"$.content[{i}].resource"
                if not isinstance(inner, dict) or not isinstance(inner.get("text"), str):
                    continue  # a blob says what it is through blob_tables
            cells = {f: Cell(inner[f], jpath(base, f)) for f in _LINK_FIELDS if _leaf_ok(inner.get(f))}
            if cells:
                items.append(Item(cells, len(items)))
        if not items:
            continue
        order = [f for f in _LINK_FIELDS if any(f in it.cells for it in items)]
        labels = {"mimeType": "MIME type", "uri": "URI"}
        out.append(Table(step, noun, plural_of(noun), _key_of(items, order, ()), items[:MAX_ITEMS],
                         labels={f: labels.get(f, f) for f in order}, total=len(items), whole="$.content"))
    return out


_BLOB_NOUNS = {"image": "image", "audio": "audio clip", "video": "video"}


def _is_blob(obj: dict[str, Any]) -> bool:
    """A content block (or a copy of one) that carries base64 data: an image, audio, a blob."""
    return isinstance(obj.get("mimeType"), str) and any(isinstance(obj.get(k), str) for k in ("data", "blob"))


def blob_tables(step: int, content: list[Any], names: Names) -> list[Table]:
    """What a binary block says about itself (an image, an audio clip, a resource's ``blob``):
    its MIME type, its size in bytes and, for an image, its width and height in pixels
    (:func:`firefly.locator.image_size`): one record per block, each value located by a
    fragment of the block's data (``#bytes``, ``#image=width``)."""
    out: list[Table] = []
    for i, block in enumerate(content):
        if not isinstance(block, dict):
            continue
        base, inner = f"$.content[{i}]", block
        if block.get("type") == "resource" and isinstance(block.get("resource"), dict):
            base, inner = f"$.content[{i}].resource", block["resource"]
        key = "data" if isinstance(inner.get("data"), str) else "blob" if isinstance(inner.get("blob"), str) else None
        mime = inner.get("mimeType")
        if key is None or not isinstance(mime, str):
            continue
        data = jpath(base, key)
        cells: dict[str, Cell] = {"MIME type": Cell(mime, jpath(base, "mimeType"))}
        size = resolve(content, None, f"{data}#bytes")
        if not isinstance(size, int) or size == 0:
            continue
        cells["size in bytes"] = Cell(size, f"{data}#bytes")
        for side in ("width", "height"):
            pixels = resolve(content, None, f"{data}#image={side}")
            if isinstance(pixels, int) and pixels > 0:
                cells[f"{side} in pixels"] = Cell(pixels, f"{data}#image={side}")
        noun = _BLOB_NOUNS.get(mime.split("/")[0], "file")
        out.append(Table(step, noun, plural_of(noun), "", [Item(cells)], labels={f: f for f in cells},
                         numeric=tuple(f for f in cells if f != "MIME type"), whole=data))
    return out


def _leaf_ok(v: Any) -> bool:
    if v is None or isinstance(v, bool):
        return False
    if isinstance(v, float):
        return v == v and abs(v) != float("inf")
    if isinstance(v, int):
        return True
    return isinstance(v, str) and 0 < len(v.strip()) and "\n" not in v and v.strip() not in ("[]", "{}")


def walk_json(step: int, doc: Any, base: str, names: Names, schema: Any = None,
              arguments: dict[str, Any] | None = None) -> list[Table]:
    """Tables of a JSON value at any depth: a list of objects is a table of records (their
    nested objects' fields flattened one level, a nested list counted); a list of scalars a
    table of values; an object's own scalar fields one record."""
    out: list[Table] = []
    tool_noun = names.noun()

    def noun_for(key: str | None, listed: bool = False) -> tuple[str, str]:
        if key and not re.fullmatch(r"(?i)(result|results|data|items|content|value|values|output|response|records|rows)",
                                    key):
            return item_noun(key, listed)
        if key and listed and re.fullmatch(r"(?i)rows|records", key):
            return item_noun(key, listed)  # the rows of a query: rows, whatever the tool (never "every sql")
        return tool_noun

    def walk(obj: Any, path: str, key: str | None, sch: Any, depth: int) -> None:
        if depth > 8 or len(out) >= MAX_TABLES:
            return
        if isinstance(obj, list):
            dicts = [x for x in obj if isinstance(x, dict) and not _is_blob(x)]
            if dicts and len(dicts) == len(obj):
                table = _records(step, obj, path, *noun_for(key, True), names.schema_at(sch, 0), names)
                if table is not None:
                    out.append(table)
                return
            if obj and all(_leaf_ok(x) for x in obj):
                noun, plural = noun_for(key, True)
                items = [Item({"value": Cell(x, jpath(path, i))}, i) for i, x in enumerate(obj[:MAX_ITEMS])]
                numeric = ("value",) if all(isinstance(x, (int, float)) for x in obj) else ()
                out.append(Table(step, noun, plural, "value", items, labels={"value": noun}, numeric=numeric,
                                 total=len(obj), whole=path))
                return
            for i, x in enumerate(obj[:MAX_ITEMS]):
                walk(x, jpath(path, i), key, names.schema_at(sch, i), depth + 1)
            return
        if not isinstance(obj, dict) or _is_blob(obj):
            return  # a binary block says what it is through blob_tables, not as a record
        if (square := _square_matrix(step, obj, path, key)) is not None:
            out.append(square)
            return
        if _keyed_records(obj):  # {"Threads": {"type": "spin", ...}, "Hash": {...}}: one table, a row per key
            table = _records(step, list(obj.values()), path, *noun_for(key, True),
                             names.schema_at(sch, next(iter(obj))), names, keys=[str(k) for k in obj])
            if table is not None:
                out.append(table)
            return
        cells: dict[str, Cell] = {}
        labels: dict[str, str] = {}
        later: list[tuple[Any, str, str, Any]] = []
        for k, v in obj.items():
            k = str(k)
            if _EXAMPLE_KEY.search(k):
                continue  # how to call the tool ("usage_examples"): documentation, no fact of the world
            kp, ks = jpath(path, k), names.schema_at(sch, k)
            inner = _document_in(v)
            if inner is not None:  # '{"size": 5164, ...}' as a string: its fields, each located inside it
                out.extend(walk_json(step, inner, in_json(kp), names, None, arguments))
            elif _leaf_ok(v):
                cells[k], labels[k] = Cell(v, kp), names.label(k, ks)
            elif isinstance(v, str) and "\n" in v and _TEXTLIKE.search(v):
                later.append((v, kp, k, ks))
            elif isinstance(v, dict) and v and all(_leaf_ok(x) or x is None or isinstance(x, bool) for x in v.values()):
                for k2, v2 in v.items():
                    if _leaf_ok(v2):
                        f = f"{k}.{k2}"
                        cells[f], labels[f] = Cell(v2, jpath(kp, str(k2))), names.label(str(k2), names.schema_at(ks, str(k2)),
                                                                                        parent=k)
            else:
                later.append((v, kp, k, ks))
        if cells:
            noun, plural = noun_for(key)
            out.append(Table(step, noun, plural, "", [Item(cells)], labels=labels, whole=path))
        for v, kp, k, ks in later:
            if isinstance(v, str):
                # a summary of the record's own numbers, in prose, says them again (in whatever language)
                if "\n" in v and not (len(cells) >= 3 and words_of(k) in _RENDERINGS):
                    out.extend(read_text(step, kp, v, names, arguments or {}))
                continue
            walk(v, kp, k, ks, depth + 1)

    walk(doc, base, None, schema, 0)
    for t in out:
        _shorten(t)
    _qualify(out, base)
    return out


_RENDERINGS = frozenset({"summary", "report", "interpretation", "explanation", "description", "text summary"})
# a field holding examples of the tool's use ("usage_examples", "example_call"), not a value of the world
_EXAMPLE_KEY = re.compile(r"(?:^|[_\W])[Ee]xamples?(?=$|[A-Z_\W])|(?<=[a-z])Examples?(?=$|[A-Z_\W])")


def _square_matrix(step: int, obj: dict[str, Any], path: str, key: str | None) -> Table | None:
    """A square matrix written as an object of objects with the same keys, rows and columns
    alike (a correlation matrix: ``{"price": {"price": 1.0, "qty": -0.38}, "qty": {...}}``):
    one record whose fields are its pairs, ``price and qty``, labelled by what the matrix
    holds ("the correlation of price and qty"). The diagonal (a column with itself, 1.0) is
    no fact; of a symmetric matrix each pair once. None for any other object."""
    names = [str(k) for k in obj]
    if len(names) < 2 or len(names) > 30 or not all(
            isinstance(v, dict) and [str(k) for k in v] == names and all(_leaf_ok(x) for x in v.values())
            for v in obj.values()):
        return None
    symmetric = all(obj[a][b] == obj[b][a] for a in names for b in names)
    measure = " ".join(w for w in words_of(key or "").split() if w not in ("matrix", "matrices")) or "value"
    cells: dict[str, Cell] = {}
    labels: dict[str, str] = {}
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i == j or (symmetric and j < i):
                continue
            field = f"{a} and {b}"
            cells[field] = Cell(obj[a][b], jpath(jpath(path, a), b))
            labels[field] = f"{measure} of {a} and {b}" if symmetric else f"{measure} of {a} to {b}"
    noun, plural = item_noun(key) if key else ("matrix", "matrices")
    numeric = tuple(f for f, c in cells.items() if isinstance(c.value, (int, float)))
    return Table(step, noun, plural, "", [Item(cells)], labels=labels, numeric=numeric, whole=path)


def _document_in(value: Any) -> Any:
    """The JSON (or Python-literal) record a string value is, whole (an object whose keys are
    names, or a list of such objects), or None: ``{2: 1, 3: 1}`` (a factorization) is one
    value, not a record of fields named 2 and 3."""
    if not isinstance(value, str) or value.strip()[:1] not in ("{", "["):
        return None
    doc = parse_structured_text(value.strip())
    records = [doc] if isinstance(doc, dict) else doc if isinstance(doc, list) else []
    if not records or not all(isinstance(r, dict) and r and all(isinstance(k, str) and re.match(r"[A-Za-z_]", k)
                                                                for k in r) for r in records):
        return None
    return doc


# a field's own name that says too little without the object it sat in ("dtypes id", "config mode")
_BARE_LABELS = frozenset({"id", "name", "value", "values", "count", "total", "min", "max", "mean", "type", "mode",
                          "result", "status", "key", "code", "size", "length", "index", "data", "text", "title"})


def _shorten(t: Table) -> None:
    """A field of a nested object named without the object's name in front when no other field
    of the table has that name: by its own name when it says enough, two words or more or a
    schema's title (``query.context_length`` -> ``context length``; ``summary.arr`` -> ``arr`` no, nor
    ``database.path`` -> ``path``: "the path of the file" is another thing), or, in an object of named
    entries (a plural key), as the entry named then what it is (``dtypes.date`` -> ``date
    dtype``, ``critical_values.1%`` -> ``1% critical value``)."""
    short: dict[str, str] = {}
    for f, label in t.labels.items():
        parent = f.split(".")[0] if "." in f and "#" not in f else None
        if parent and label.startswith(words_of(parent) + " "):
            short[f] = label[len(words_of(parent)) + 1:]
    taken = Counter(short.get(f, label) for f, label in t.labels.items())
    for f, name in short.items():
        parent = words_of(f.split(".")[0])
        head, _, last = parent.rpartition(" ")
        if taken[name] != 1 and singular(last) == last:
            continue
        if singular(last) != last:
            # an object of named entries ("dtypes": {"date": "str"}; "critical_values": {"1%": 3.9}):
            # the entry named, then what it is ("date dtype", "1% critical value", "unit price data type")
            t.labels[f] = f"{name} {(head + ' ' if head else '')}{singular(last)}"
        elif (" " in name or name != words_of(f.split(".")[-1])) and name not in _BARE_LABELS and not name[:1].isdigit():
            # two words, or a schema's title ("Place"); one key word alone says too little:
            # the database's "path" is no file's path
            t.labels[f] = name


def _qualify(tables: list[Table], base: str) -> None:
    """Fields of one-record tables named alike (``rmse`` in the train results and in the test
    results) named with their record: ``rmse of the test results``; the record at the root of
    the reply keeps its plain names."""
    records = [t for t in tables if len(t.items) == 1 and not t.key]
    seen: dict[str, int] = {}
    for t in records:
        for f in t.items[0].cells:
            seen[t.label(f)] = seen.get(t.label(f), 0) + 1
    for t in records:
        if t.whole == base:
            continue
        for f in t.items[0].cells:
            label = t.label(f)
            if seen[label] > 1:
                t.labels[f] = f"{label} of the {t.plural}"


_KEY_WORDS = ("name", "title", "label", "filename", "path", "key", "slug", "symbol", "code", "id")


def _keyed_records(obj: dict[str, Any]) -> bool:
    """Whether an object is a map of records keyed by their names: two or more values, every
    one an object of plain fields (values, flat objects, lists of values: what a row holds),
    all sharing at least half of their fields (a record whose fields are unlike objects, an
    address and a company, is not), some of them text.
    Numbers only under each key (``{"price": {"mean": 2.5}, "qty": {"mean": 1}}``) are
    measures of the keys, read as fields of one record ("the price mean")."""
    values = list(obj.values())
    if len(values) < 2 or not all(isinstance(v, dict) and v and not _is_blob(v) for v in values):
        return False

    def scalar(x: Any) -> bool:
        return not isinstance(x, (dict, list))

    def plain(x: Any) -> bool:  # what a table's row holds: a value, a flat object, a list of values
        return scalar(x) or isinstance(x, (dict, list)) and all(scalar(y) for y in (x.values() if isinstance(x, dict) else x))

    if not all(plain(x) for v in values for x in v.values()):
        return False
    if not any(isinstance(y, str) and y for v in values for x in v.values()
               for y in (x.values() if isinstance(x, dict) else [x])):
        return False
    shared = set.intersection(*(set(v) for v in values))
    return len(shared) * 2 >= max(len(v) for v in values)


def _records(step: int, rows: list[dict[str, Any]], path: str, noun: str, plural: str, schema: Any,
             names: Names, keys: list[str] | None = None) -> Table | None:
    """A list of objects as a table (fields of nested objects flattened one level; a nested
    list of scalars counted as ``number of ...``). With ``keys``, the rows are the values of
    a map under those keys, and each key is the row's ``name`` (``key`` when a row has its
    own ``name``), located as the key itself (:func:`firefly.locator.key_of`)."""
    items: list[Item] = []
    labels: dict[str, str] = {}
    order: list[str] = []
    key_field = "key" if keys and any("name" in row for row in rows) else "name"
    for i, row in enumerate(rows[:MAX_ITEMS]):
        cells: dict[str, Cell] = {}
        p = jpath(path, i if keys is None else keys[i])
        if keys is not None:
            cells[key_field] = Cell(keys[i], key_of(p))
            labels.setdefault(key_field, key_field)
        for k, v in row.items():
            k = str(k)
            kp, ks = jpath(p, k), names.schema_at(schema, k)
            if _leaf_ok(v):
                cells[k] = Cell(v, kp)
                labels.setdefault(k, names.label(k, ks))
            elif isinstance(v, dict):
                for k2, v2 in v.items():
                    if _leaf_ok(v2):
                        f = f"{k}.{k2}"
                        cells[f] = Cell(v2, jpath(kp, str(k2)))
                        labels.setdefault(f, names.label(str(k2), names.schema_at(ks, str(k2)), parent=k))
            elif isinstance(v, list) and all(_leaf_ok(x) for x in v):
                f = f"{k}#count"
                cells[f] = Cell(len(v), kp)
                labels.setdefault(f, f"number of {names.label(k, ks)}")
        for f in cells:
            if f not in order:
                order.append(f)
        items.append(Item(cells, i))
    if not any(it.cells for it in items):
        return None
    numeric = tuple(f for f in order if all(isinstance(it.get(f), (int, float)) for it in items if f in it.cells))
    return Table(step, noun, plural, _key_of(items, order, numeric), items, labels=labels, numeric=numeric,
                 total=len(rows), whole=path)


def _key_of(items: list[Item], order: list[str], numeric: tuple[str, ...]) -> str:
    """The field that names an item: unique over the items, short text, a name-like key first."""
    def unique(f: str) -> bool:
        values = [it.get(f) for it in items]
        return None not in values and len({json.dumps(v, sort_keys=True) for v in values}) == len(values)

    texts = [f for f in order if f not in numeric and unique(f)
             and all(isinstance(it.get(f), str) and len(it.get(f)) <= 100 for it in items)]
    for word in _KEY_WORDS:
        for f in texts:
            if word in words_of(f.split("#")[0]).split():
                return f
    if texts:
        return texts[0]
    ids = [f for f in order if unique(f) and any(w in words_of(f).split() for w in ("id", "number", "no"))]
    return ids[0] if ids else (order[0] if order else "")


# -- text


def read_text(step: int, base: str, text: str, names: Names, arguments: dict[str, Any] | None = None,
              offset: int = 0, kind: str | None = None) -> list[Table]:
    """Facts in a text: YAML, CSV or TSV, markdown tables, ``key: value`` lines, numbered
    and bulleted lists (each value located by its line). ``offset``: lines before the
    text's first line in the located text; ``kind``: what the text is known to be (a file's
    extension: ``csv``, ``yaml``, ``md`` ...) or None to try every reader."""
    text = text[:MAX_TEXT]
    lines = text.splitlines()
    if kind in ("json",):
        return []
    out: list[Table] = []
    if kind is None and looks_like_diff(lines):
        return out  # "- Attendees: ..." in a diff is a line taken away, not a labelled value
    if kind is None and (found := _line_matches(step, base, lines, offset) or _found_count(step, base, lines, offset)
                         or _long_listing(step, base, lines, offset) or _html_page(step, base, text, offset)):
        return found
    if kind in (None, "csv", "tsv"):
        out += _delimited(step, base, lines, offset, names, arguments or {}, "\t" if kind == "tsv" else None)
        if kind or out:
            return out
    if kind in (None, "yaml", "yml"):
        out += _yaml(step, base, text, offset, names)
        if kind or out:
            return out
    out += _markdown_tables(step, base, lines, offset, names)
    if looks_like_code(lines):  # `path = Path(sys.argv[1])` is a statement, not a labelled value
        return out
    out += _labelled_lines(step, base, lines, offset, names)
    out += _lists(step, base, lines, offset, names)
    return out or _headed_values(step, base, lines, offset) or _headed_sections(step, base, lines, offset, names) \
        or _bare_values(step, base, lines, offset, names) or _stated_value(step, base, lines, offset, names) \
        or _sized_file(step, base, lines, offset)


_PLAIN_VALUE = re.compile(r"^\S{1,100}$")


_ONE_VALUE = re.compile(r"^(?:\S{1,60}|[-+$€£¥]?\d[\d.,]*\s?[A-Za-z%°$€£]{0,5})$")
_PLACE = re.compile(r"^(?:/|[a-z][a-z0-9+.-]*://)\S*$")


def _bare_values(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    """A text that is one value and nothing else (``405``, ``$5.00``, ``/home/user``), or one
    path or URL a line (``/workspace/a.md`` ...): the tool's result, named by the tool."""
    body = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    noun, plural = names.noun() if names.tool else ("result", "results")
    if len(body) == 1 and _ONE_VALUE.match(body[0][1]):
        n, v = body[0]
        value = v if "_" in v else _scalar(v)  # 20261206_053306 is no number
        return [Table(step, noun, plural, "", [Item({"result": Cell(value, f"{base}#line={n + offset}")})],
                      labels={"result": "result"}, whole=base)]
    if len(body) >= 2 and all(_PLACE.match(v) for _, v in body) and len({v for _, v in body}) == len(body):
        items = [Item({"value": Cell(v, f"{base}#line={n + offset}")}, i) for i, (n, v) in enumerate(body)]
        return [Table(step, noun, plural, "value", items[:MAX_ITEMS], labels={"value": noun}, total=len(items),
                      whole=base)]
    if len(body) >= 2 and all(_FILE_NAME.match(v) for _, v in body) and len({v for _, v in body}) == len(body):
        # a folder's listing, a name a line (``ls``: ``todo.md``, ``reports/``): its files
        noun, plural = ("entry", "entries") if any(v.endswith("/") for _, v in body) else ("file", "files")
        items = [Item({"name": Cell(v, f"{base}#line={n + offset}")}, i) for i, (n, v) in enumerate(body)]
        return [Table(step, noun, plural, "name", items[:MAX_ITEMS], labels={"name": "name"}, total=len(items),
                      whole=base)]
    return []


# a file's name alone, as a folder's listing prints it: a name with an extension, or a folder's with "/"
_FILE_NAME = re.compile(r"^(?=[^\s/]*[A-Za-z])[\w@+-][\w.@+-]*(?:\.[A-Za-z0-9]{1,8}|/)$")


# "The sum of 1 and 3 is 4.", "The derivative of x**2 is 2*x": one sentence that says what one value is
# a date and time as a value or a word of a sentence: "2025-03-23 12:30:00", "2025-03-01 12:00:00.000"
_DATE_TIME_WORD = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
# "The timestamp of 2025-03-01 12:00:00.000 (parsed as UTC) is 1740830400000 ms.": its unit after it
_STATED = re.compile(rf"^(?:{_DATE_TIME_WORD} |[\w'(),*/^+-]+ ){{1,12}}?(?:is|equals|=)\s+"
                     r"(?P<value>[^\s,;:]+(?: ?[-+*/^] ?[^\s,;:]+)*)(?: (?:ms|s|seconds|milliseconds|bytes|days))?\.?$")


def _stated_value(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    """A text that is one sentence stating one computed value (``The sum of 1 and 3 is 4.``):
    that value, a number or an expression with a digit in it, as the tool's result."""
    body = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    if len(body) != 1:
        return []
    n, sentence = body[0]
    if found := _stated_clauses(step, base, n + offset, sentence, names):
        return found
    m = _STATED.match(sentence)
    if m is None or not re.search(r"\d", m.group("value")) or _PLACE.match(m.group("value")) \
            or len(re.findall(r"\b(?:is|equals)\b|=", sentence)) != 1:
        return []
    value = m.group("value").rstrip(".")
    noun, plural = names.noun() if names.tool else ("result", "results")
    return [Table(step, noun, plural, "", [Item({"result": Cell(_scalar(value), f"{base}#line={n + offset}")})],
                  labels={"result": "result"}, whole=base)]


# "the week of the year is 1": one clause that names a value and says it
# "the time in Africa/Nairobi is 2025-03-23 21:00:00", "the time difference is 7 hours": a place's
# name in the subject, a date and time or a number of some unit as the value
_CLAUSE = re.compile(rf"^(?:the\s+)?(?P<subject>[A-Za-z][\w'/ ]{{0,60}}?)\s+(?:is|equals|=)\s+"
                     rf"(?P<value>{_DATE_TIME_WORD}|[^\s,;]+(?: [a-z]{{1,12}})?)$", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r",\s*(?:and\s+)?|;\s*|\.\s+|\s+and\s+(?=the\s)", re.IGNORECASE)


def _stated_clauses(step: int, base: str, line: int, sentence: str, names: Names) -> list[Table]:
    """A sentence of two or more clauses that each say what one named value is (``The week of
    the year is 1, and the isoWeek of the year is 1.``): one record, each value named by its
    clause's subject (``week of the year``, ``iso week of the year``). Every clause must hold
    a number: a clause that says something else (``Invalid Date``, ``NaN``) is no value, and
    a sentence with one is no record."""
    clauses = [c.strip() for c in _CLAUSE_BREAK.split(sentence.strip().rstrip(".")) if c.strip()]
    if len(clauses) < 2:
        return []
    cells: dict[str, Cell] = {}
    for clause in clauses:
        m = _CLAUSE.match(clause)
        if m is None:
            return []
        # a place's name keeps its case ("time in America/Toronto", not "time in america toronto")
        value = _scalar(m.group("value").rstrip("."))
        subject = " ".join(w if "/" in w else words_of(w) for w in m.group("subject").split())
        said = value if isinstance(value, (int, float)) else (
            m.group("value") if re.fullmatch(_DATE_TIME_WORD, str(value)) else to_number(str(value).split(" ")[0]))
        if said is None or not re.search(r"\d", str(value)) or subject in cells or len(subject.split()) > 8:
            return []
        cells[subject] = Cell(value, f"{base}#line={line}")
    noun, plural = names.noun() if names.tool else ("result", "results")
    return [Table(step, noun, plural, "", [Item(cells)], labels={k: k for k in cells},
                  numeric=tuple(k for k, c in cells.items() if isinstance(c.value, (int, float))), whole=base)]


# "Wrote /workspace/a.png (2709 bytes)": a file a call wrote or read, and its size
_SIZED_FILE = re.compile(r"^(?:[A-Z][a-z]+ ){1,3}(?P<path>/\S+|[\w.-]+\.[A-Za-z0-9]{1,8}) \((?P<n>\d[\d,]*) bytes\)\.?$")


def _sized_file(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """A text that is one sentence naming one file and its size in bytes (``Wrote
    /workspace/a.png (2709 bytes)``): that file, with its size in bytes."""
    body = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    m = _SIZED_FILE.match(body[0][1]) if len(body) == 1 else None
    if m is None:
        return []
    where = f"{base}#line={body[0][0] + offset}"
    cells = {"path": Cell(m.group("path"), where), "size": Cell(int(m.group("n").replace(",", "")), where)}
    return [Table(step, "file", "files", "path", [Item(cells)], labels={"path": "path", "size": "size in bytes"},
                  numeric=("size",), whole=base)]


def _headed_values(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """A text that is only a short heading and one bare value per line (``Allowed
    directories:`` then a path a line): a table of those values named by the heading."""
    body = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    if len(body) < 2 or not body[0][1].endswith(":"):
        return []
    head = body[0][1].rstrip(":").strip("#* ").strip()
    values = [(n, v) for n, v in body[1:]]
    if not head or len(head.split()) > 4 or not all(_PLAIN_VALUE.match(v) and not v.endswith(":") for _, v in values) \
            or len({v for _, v in values}) != len(values):
        return []
    noun = singular(words_of(head))
    items = [Item({"value": Cell(_scalar(v), f"{base}#line={n + offset}")}, i) for i, (n, v) in enumerate(values)]
    return [Table(step, noun, plural_of(noun), "value", items[:MAX_ITEMS], labels={"value": noun}, total=len(items),
                  whole=base)]


# "--- Output ---", "=== Result ===": a heading set off by rules
_RULED_HEAD = re.compile(r"^(-{3,}|={3,})\s*(?P<head>[A-Za-z][\w ()'-]{0,40}?)\s*\1$")
# "(No output)", "(none)": a placeholder where a value would be
_PLACEHOLDER = re.compile(r"^[(\[<]\s*(?:no|none|nothing|empty)\b.*[)\]>]$", re.IGNORECASE)


def _headed_sections(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    """A text of sections, each a heading and its value on the lines below, up to a blank
    line: two or more short headings ending in ``:`` (``Execution result:`` / ``undefined``
    then ``Console output:`` / ``[log] 9``), or headings set off by rules (``--- Output ---``
    / ``45``), maybe after one line that introduces them (``Execution in session 'default':``).
    One record, each one-line section a value named by its heading; a section of several
    lines, a placeholder (``(No output)``), or a text that is anything else, is no value."""
    sections: list[tuple[str, list[tuple[int, str]]]] = []
    ruled = False
    body = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    if len(body) >= 2 and body[0][1].endswith(":") and len(body[0][1].split()) > 4 and body[1][0] > body[0][0] + 1:
        body = body[1:]  # a line that introduces the sections, then a blank line
    for n, text in body:
        after_blank = n == 1 or not lines[n - 2].strip()
        head = text.rstrip(":").strip("#* ").strip()
        rule = _RULED_HEAD.match(text)
        if rule or text.endswith(":") and (after_blank or not sections):
            head = rule.group("head").strip() if rule else head
            ruled = ruled or rule is not None
            if not head or len(head.split()) > 4 or not re.fullmatch(r"[A-Za-z][\w ()'-]*", head):
                return []
            sections.append((head, []))
        elif sections and (not sections[-1][1] or not after_blank):
            sections[-1][1].append((n, text))
        else:
            return []
    if len(sections) < (1 if ruled else 2) or len({h.lower() for h, _ in sections}) != len(sections):
        return []
    cells: dict[str, Cell] = {}
    for head, values in sections:
        if len(values) == 1 and len(values[0][1]) <= 100 and not _PLACEHOLDER.match(values[0][1]):
            value = _LOG_LEVEL.sub("", values[0][1])  # "[log] 9": what was printed is 9
            cells[head] = Cell(_scalar(value), f"{base}#line={values[0][0] + offset}")
    if not cells:
        return []
    noun, plural = names.noun() if names.tool else ("result", "results")
    return [Table(step, noun, plural, "", [Item(cells)], labels={k: _line_label(k) for k in cells}, whole=base)]


# the level a console or a log prints before a message: "[log] ", "[warn] "
_LOG_LEVEL = re.compile(r"^\[(?:log|info|debug|warn|warning|error|trace)\]\s+(?=\S)", re.IGNORECASE)


_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from [\w.]+ import |return\b|raise |elif |else:|try:|except\b|with .*:$|for .*:$"
    r"|while .*:$|if .*:$|@\w|#include|#!|function\b|const |let |var |public |private |package |func |fn |use "
    r"|\}|.*[;{]$"
    # a bare call (``main()``, ``print(f"...")``), an assignment of a call (``rows = low_stock(path)``)
    r"|[A-Za-z_][\w.]*\(.*\)\s*$|[A-Za-z_][\w.\[\]\"']*\s*[-+*/]?=\s*[^=\s].*[\w\]]\(.*\)\s*$)")


# "src/app.py:12:import os": a search's match, as grep -n and ripgrep print it
_CONTEXT_LINE = re.compile(r"^(?P<file>[^\s:]{0,200}[./][^\s:]*?)-(?P<line>\d+)-(?P<text>.*)$")
_MATCH_LINE = re.compile(r"^(?P<file>[^\s:]{0,200}[./][^\s:]*):(?P<line>\d+):(?:\d+:)?(?P<text>.*)$")
# "Found 3 matches", "Found 12 files matching 'x'": how many things a search found, said in one sentence
_FOUND = re.compile(r"^(?:found|matched)\s+(?P<n>\d+)\s+(?P<noun>[a-z]+(?: [a-z]+)?)\b(?P<rest>[^\d]*)$", re.IGNORECASE)


def _line_matches(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """A search's matches a line each (``path:line:text``, maybe under one heading line such
    as ``Found 3 matches:``): a table of matches with their file, line number and text. Lines
    of context around them (``path-19-text``, as ``grep -C`` and ripgrep print them, of a file
    a match names) are no matches; with them, one match is a search's result too."""
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and line.strip() != "--"]
    if body and not _MATCH_LINE.match(body[0][1]) and body[0][1].rstrip().endswith(":"):
        body = body[1:]
    matched = {m.group("file") for _, line in body if (m := _MATCH_LINE.match(line))}
    context = [(n, line) for n, line in body if not _MATCH_LINE.match(line)
               and (c := _CONTEXT_LINE.match(line)) and c.group("file") in matched]
    body = [b for b in body if b not in context]
    found = [(n, _MATCH_LINE.match(line)) for n, line in body]
    if len(found) < (1 if context else 2) or not all(m for _, m in found):
        return []
    items = [Item({"file": Cell(m.group("file"), f"{base}#line={n + offset}"),
                   "line": Cell(int(m.group("line")), f"{base}#line={n + offset}"),
                   "text": Cell(m.group("text").strip(), f"{base}#line={n + offset}")}, i)
             for i, (n, m) in enumerate(found) if m is not None]
    for it in items:
        if not it.cells["text"].value:
            del it.cells["text"]
    return [Table(step, "match", "matches", "file", items[:MAX_ITEMS], labels={"file": "file", "line": "line number",
                                                                                "text": "matched text"},
                  numeric=("line",), total=len(items), whole=base)]


# "-rw-r--r-- 1 user user 55 Dec  6 18:25 notes.md": a folder's entry as ``ls -l`` prints it
_LONG_ENTRY = re.compile(r"^(?P<kind>[-dl])[rwxsStT-]{9}[@+.]?\s+\d+\s+\S+\s+\S+\s+(?P<size>\d+)\s+"
                         r"(?:[A-Z][a-z]{2}\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2})\s+(?:\d{1,2}:\d{2}|\d{4})\s+"
                         r"(?P<name>.+?)(?: -> .+)?\s*$")
_LONG_TOTAL = re.compile(r"^total\s+\d+\s*$")


def _long_listing(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """A folder's long listing (``ls -l``: a ``total`` line, then permissions, links, owner,
    group, size, time and name on each line): its entries with their names, kinds and, for
    a file, its size in bytes (a listing of files only is one of files, else of entries). Owners and times are the machine's and the clock's, no facts;
    ``.`` and ``..`` are no entries. An empty folder (``total 0`` alone) lists nothing."""
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not _LONG_TOTAL.match(line)]
    found = [(n, _LONG_ENTRY.match(line)) for n, line in body]
    if not found or not all(m for _, m in found):
        return []
    items: list[Item] = []
    kinds: set[str] = set()
    for n, m in found:
        if m is None or m.group("name") in (".", ".."):
            continue
        where = f"{base}#line={n + offset}"
        kind = {"d": "folder", "l": "link"}.get(m.group("kind"), "file")
        cells = {"name": Cell(m.group("name"), where)}
        if kind == "file":  # a folder's size is its entry's block, not what it holds
            cells["size"] = Cell(int(m.group("size")), where)
        kinds.add(kind)
        items.append(Item(cells, len(items)))
    if not items:
        return []
    noun, plural = ("file", "files") if kinds == {"file"} else ("entry", "entries")
    return [Table(step, noun, plural, "name", items[:MAX_ITEMS], labels={"name": "name", "size": "size in bytes"},
                  numeric=("size",),
                  total=len(items), whole=base)]


_HTML_TEXT = re.compile(r"^\s*(?:<!doctype html|<html[\s>]|<head[\s>])", re.IGNORECASE)


def _html_page(step: int, base: str, text: str, offset: int = 0) -> list[Table]:
    """An HTML page: its title, as the page's title, and its headings (``h1`` to ``h3``), as
    the page's headings, each located by the line it is on (its text, entities decoded, as it
    stands there; a heading that reads otherwise in the source is left out). The rest of the
    page (scripts, markup) is no fact of it."""
    if not _HTML_TEXT.match(text):
        return []
    from html.parser import HTMLParser

    found: list[tuple[str, int, str]] = []  # (tag, line, text)

    class Reader(HTMLParser):
        current: tuple[str, int, list[str]] | None = None

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag in ("title", "h1", "h2", "h3"):
                self.current = (tag, self.getpos()[0], [])

        def handle_endtag(self, tag: str) -> None:
            if self.current is not None and tag == self.current[0]:
                found.append((tag, self.current[1], " ".join("".join(self.current[2]).split())))
                self.current = None

        def handle_data(self, data: str) -> None:
            if self.current is not None:
                self.current[2].append(data)

    Reader(convert_charrefs=True).feed(text)
    lines = text.splitlines()
    located = [(tag, n, value) for tag, n, value in found
               if value and len(value) <= 100 and n <= len(lines) and value in " ".join(lines[n - 1].split())]
    out: list[Table] = []
    title = next(((n, v) for tag, n, v in located if tag == "title"), None)
    if title is not None:
        cell = Cell(title[1], f"{base}#line={title[0] + offset}")
        out.append(Table(step, "page", "pages", "", [Item({"title": cell})], labels={"title": "title"}, whole=base))
    heads = [(n, v) for tag, n, v in located if tag != "title"]
    if heads and len({v for _, v in heads}) == len(heads):
        items = [Item({"value": Cell(v, f"{base}#line={n + offset}")}, i) for i, (n, v) in enumerate(heads)]
        out.append(Table(step, "heading", "headings", "value", items[:MAX_ITEMS], labels={"value": "heading"},
                         total=len(items), whole=base))
    return out


def _found_count(step: int, base: str, lines: list[str], offset: int) -> list[Table]:
    """A text that is one sentence saying how many things were found (``Found 3 matches``):
    that number, named for what was counted (``number of matches``)."""
    body = [(n, line.strip().rstrip(".:")) for n, line in enumerate(lines, start=1) if line.strip()]
    if len(body) != 1:
        return []
    # after what the call did, in a sentence of its own: "Project re-indexed. Found 4 files."
    *done, said = re.split(r"(?<=[.!])\s+", body[0][1])
    m = _FOUND.match(said) if all(_DONE.match(d) for d in done) else None
    if m is None:
        return []
    noun = m.group("noun").lower()
    label = f"number of {noun}" if singular(noun) != noun else f"number of {plural_of(noun)}"
    return [Table(step, singular(noun), plural_of(singular(noun)), "",
                  [Item({"found": Cell(int(m.group("n")), f"{base}#line={body[0][0] + offset}")})],
                  labels={"found": label}, whole=base)]


_DIFF_HEAD = re.compile(r"^(?:--- |\+\+\+ |@@ )")
_DIFF_LINE = re.compile(r"^(?:[-+?] |  |[-+ ]$)")


def looks_like_diff(lines: list[str]) -> bool:
    """True when a text is a diff: a unified diff's ``---``/``+++``/``@@`` header lines, or
    lines that all start with a change mark (``- ``, ``+ ``, two spaces), some taken away and
    some added (its lines are the texts compared, not facts of the result)."""
    body = [line for line in lines if line.strip()]
    if sum(1 for line in body[:10] if _DIFF_HEAD.match(line)) >= 2:
        return True
    return len(body) >= 2 and all(_DIFF_LINE.match(line) for line in body) \
        and any(line.startswith("- ") for line in body) and any(line.startswith("+ ") for line in body)


def looks_like_code(lines: list[str]) -> bool:
    """True when a text is source code: at least three lines, and a fifth of its lines, are
    statements of a programming language."""
    body = [line for line in lines if line.strip()]
    code = sum(1 for line in body if _CODE_LINE.match(line))
    return code >= 3 and code * 5 >= len(body)


def _cell_value(text: str) -> Any:
    text = text.strip()
    number = to_number(text.replace(",", "")) if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text) else to_number(text)
    if number is not None and not re.fullmatch(r"0\d+", text):
        return number
    return text


def _table_from_rows(step: int, base: str, header: list[str], rows: list[tuple[int, list[str]]], offset: int,
                     names: Names, header_line: int) -> Table | None:
    items = []
    for n, row in rows:
        cells = {h: Cell(_cell_value(v), f"{base}#line={n + offset}") for h, v in zip(header, row) if v.strip()}
        items.append(Item(cells, len(items)))
    if len(items) < 1:
        return None
    noun, plural = "row", "rows"
    numeric = tuple(h for h in header if all(isinstance(it.get(h), (int, float)) for it in items if h in it.cells)
                    and any(h in it.cells for it in items))
    labels = {h: names.label(h) for h in header}
    return Table(step, noun, plural, _key_of(items, header, numeric), items[:MAX_ITEMS], labels=labels,
                 numeric=numeric, total=len(items), whole=f"{base}#line={header_line + offset}")


_NOT_FROM_START = frozenset({"tail", "offset", "skip", "start", "from", "last", "page", "cursor", "after"})


def _starts_mid_file(arguments: dict[str, Any]) -> bool:
    """An argument that makes a read begin after the text's first line (``tail``, ``offset``...)."""
    for k, v in arguments.items():
        if isinstance(v, int) and not isinstance(v, bool) and v > 0 and set(words_of(k).split()) & _NOT_FROM_START:
            return True
    return False


def _names_no_row(header: list[str], rows: list[tuple[int, list[str]]]) -> bool:
    """A first row of column names although no column holds numbers: every cell a name
    (``TABLE_NAME``, ``data type``) that no later row repeats (a first row of data shares
    its values with the rows below: ``orders,id,int`` then ``orders,qty,int``)."""
    values = {c.strip().lower() for _, r in rows for c in r}
    return all(re.fullmatch(r"[A-Za-z_][\w ]{0,39}", h) and h.lower() not in values for h in header)


def _header_ok(header: list[str]) -> bool:
    cells = [h.strip() for h in header]
    return (len(cells) >= 2 and all(cells) and len(set(cells)) == len(cells)
            and all(to_number(c) is None and len(c) <= 40 and "@" not in c for c in cells)
            and not any(re.match(r"\d{4}-\d{2}-\d{2}", c) for c in cells))


def _delimited(step: int, base: str, lines: list[str], offset: int, names: Names, arguments: dict[str, Any],
               delimiter: str | None) -> list[Table]:
    """CSV or TSV with a header row (never a read that starts mid-file: its first row is data);
    a rule of dashes under the header is no row. A table after a short preamble (``Query
    executed successfully.`` then a blank line) is read from the line after the blank."""
    found = _delimited_from(step, base, lines, offset, names, arguments, delimiter)
    if found or delimiter is not None:
        return found
    blank = next((i for i, line in enumerate(lines[:4]) if not line.strip()), None)
    if blank is None or not any(line.strip() for line in lines[:blank]):
        return []
    return _delimited_from(step, base, lines[blank + 1:], offset + blank + 1, names, arguments, None)


_RULE = re.compile(r"^\s*[-=+|]{3,}[-=+| ]*$")


def _delimited_from(step: int, base: str, lines: list[str], offset: int, names: Names, arguments: dict[str, Any],
                    delimiter: str | None) -> list[Table]:
    body = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not _RULE.match(line)]
    if len(body) < 3 or _starts_mid_file(arguments):
        return []
    sample = "\n".join(line for _, line in body[:20])
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
        except csv.Error:
            return []
    parsed = [(n, next(csv.reader([line], delimiter=delimiter))) for n, line in body]
    header_line, header = parsed[0]
    header = [h.strip() for h in header]
    width = len(header)
    rows = [(n, r) for n, r in parsed[1:] if len(r) == width]
    if not _header_ok(header) or len(rows) < 2 or len(rows) < 0.8 * (len(parsed) - 1):
        return []
    typed = any(all(to_number(r[i].strip()) is not None for _, r in rows if r[i].strip()) for i in range(width))
    if not typed and not _names_no_row(header, rows):
        try:
            if not csv.Sniffer().has_header(sample):
                return []
        except csv.Error:
            return []
    table = _table_from_rows(step, base, header, rows, offset, names, header_line)
    return [table] if table else []


_MD_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_MD_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _markdown_tables(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    out = []
    i = 0
    while i + 2 < len(lines) and len(out) < MAX_TABLES:
        head = _MD_ROW.match(lines[i])
        if not head or not _MD_RULE.match(lines[i + 1]):
            i += 1
            continue
        header = [plain_text(c) for c in head.group(1).split("|")]
        rows = []
        j = i + 2
        while j < len(lines) and (m := _MD_ROW.match(lines[j])):
            cells = [plain_text(c) for c in m.group(1).split("|")]
            if len(cells) == len(header):
                rows.append((j + 1, cells))
            j += 1
        if _header_ok(header) and rows:
            table = _table_from_rows(step, base, header, rows, offset, names, i + 1)
            if table:
                out.append(table)
        i = j
    return out


def plain_text(text: str) -> str:
    """A cell or a value without markdown emphasis or code marks."""
    return re.sub(r"(\*\*|__|`)", "", text).strip()


_LABELLED = re.compile(r"^\s*(?:[-*•]\s+|\d+[.)]\s+)?(?:\*\*|__)?([A-Za-z][\w /()'.-]{0,40}?)(?:\*\*|__)?\s*[:=]"
                       r"(?:\*\*|__)?\s+(.+?)\s*$")
_SENTENCE_END = re.compile(r"(?<=[^\s.]{2})[.;!?](?:\*\*|__)?\s+(?=[\"'*_(]*[A-Z0-9])")


def _whole(value: str) -> bool:
    """Not a fragment of a sentence that goes on on the next line."""
    return value.count("(") == value.count(")") and value.count("`") % 2 == 0 and not re.search(
        r"(?:,|\b(?:and|or|then|see|the|a|of|to|with))$", value, re.IGNORECASE)


def labelled_value(line: str) -> tuple[str, str] | None:
    """(label, value) of a ``Label: value`` line: the value ends where its sentence ends (the
    rest of the line is not part of it); None when the line is no such line."""
    m = _LABELLED.match(line)
    if not m or "http" in m.group(1) or m.group(1).strip().lower() in ("note", "warning", "tip", "example", "e.g") \
            or re.search(r"\w\. +\w", m.group(1)) \
            or re.search(r"(?i)\b(?:in|of|for|to|from|at|by|with|on|into)\s*$", m.group(1)) \
            or re.fullmatch(r"[A-Za-z]*(?:Error|Exception)", m.group(1).strip()):
        # "Search tools refreshed. Available": a sentence, then a label; "Python files in: /w": a
        # sentence the value ends, no name for it; "SyntaxError: invalid syntax": an error, no field
        return None
    value = m.group(2)
    cut = _SENTENCE_END.search(value)
    if cut:
        value = value[:cut.start()]
    value = plain_text(value).strip().rstrip(".").strip()
    if not value or len(value) > 100 or re.search(r"\w:\s", value) or not _whole(value) \
            or len(re.findall(r"\b\w+=\S", value)) >= 2 \
            or re.search(r"[^\s|]\s{2,}[A-Za-z]", value):  # "enabled=False, debounce=6.0s": settings, not a value;
        return None  # "Depreciation $ 1.00  Book Value $ 0.00": columns laid out on one line, not one value
    return m.group(1).strip(), value


def _labelled_lines(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    """``Owner: Tomás Herrera`` lines: blocks of them that repeat the same labels (separated
    by blank lines or by their first label coming back) as a table of records; otherwise the
    labels seen once, as one record."""
    found: dict[str, Cell] = {}
    seen: set[str] = set()
    labelled = [(n, got) for n, line in enumerate(lines, start=1)
                if not _MD_ROW.match(line) and (got := labelled_value(line)) is not None]
    records = _record_blocks(step, base, lines, labelled, offset, names)
    if records is not None:
        return [records]
    for n, (label, value) in labelled:
        if label in seen:
            found.pop(label, None)
            continue
        seen.add(label)
        if not is_clock_value(label, value):
            found[label] = Cell(_scalar(value), f"{base}#line={n + offset}")
    if not found:
        return []
    noun, plural = names.noun() if names.tool else ("record", "records")
    text = "\n".join(lines)
    return [Table(step, noun, plural, "", [Item(found)], labels={k: _line_label(k, text) for k in found}, whole=base)]


def _line_label(label: str, text: str = "") -> str:
    """How a question names the value of a ``Label: value`` line: the label in words when it
    is words (``Monthly Payment`` -> ``monthly payment``), else quoted (``the "asm" entry``).
    A label that is a person's first name (``Daniel:`` in notes whose ``text`` names "Daniel
    Brandt") is no kind of value: the line is the entry for Daniel."""
    if re.fullmatch(r"[A-Z][a-z]+", label) and re.search(  # "Attendees: Maya Okafor, Daniel Brandt, ..."
            r"(?:[,:(]\s*|\band\s+)" + label + r" [A-Z][a-z]+\b|\b" + label + r" [A-Z][a-z]+\s*[,)]", text):
        return f"entry for {label}"
    if re.fullmatch(r"[A-Za-z][A-Za-z ]*[A-Za-z]", label) and (" " in label or re.fullmatch(r"[A-Z][a-z]{3,}", label)):
        return " ".join(w if sum(ch.isupper() for ch in w) >= 2 else w.lower() for w in label.split())
    return f"\"{label}\" entry"


def _record_blocks(step: int, base: str, lines: list[str], labelled: list[tuple[int, tuple[str, str]]], offset: int,
                   names: Names) -> Table | None:
    """Records of ``label: value`` lines, when the same first label opens two blocks or more."""
    if len(labelled) < 4:
        return None
    first = labelled[0][1][0]
    blocks: list[dict[str, Cell]] = []
    for n, (label, value) in labelled:
        if label == first or not blocks:
            blocks.append({})
        if label not in blocks[-1] and not is_clock_value(label, value):
            blocks[-1][label] = Cell(_scalar(value), f"{base}#line={n + offset}")
    blocks = [b for b in blocks if len(b) >= 2]
    if len(blocks) < 2:
        return None
    items = [Item(b, i) for i, b in enumerate(blocks)]
    order = list(dict.fromkeys(f for b in blocks for f in b))
    numeric = tuple(f for f in order if all(isinstance(it.get(f), (int, float)) for it in items if f in it.cells))
    noun, plural = names.noun()
    return Table(step, noun, plural, _key_of(items, order, numeric), items[:MAX_ITEMS],
                 labels={f: names.label(f) for f in order}, numeric=numeric, total=len(items), whole=base)


_HEAD_PREPOSITIONS = frozenset({"in", "of", "for", "from", "on", "at", "with", "under", "by"})
_MD_LINK = re.compile(r"(!?)\[([^\]]*)\]\([^)\s]+\)")
_LIST_ITEM = re.compile(r"^(\s*)(?:[-*•+]|\d+[.)])\s+(.+?)\s*$")


def _lists(step: int, base: str, lines: list[str], offset: int, names: Names) -> list[Table]:
    """Runs of two or more numbered or bulleted items (not ``label: value`` ones), each a table
    named by the line that introduces it (``Tables:``) or by the tool."""
    out: list[Table] = []
    run: list[tuple[int, str]] = []
    intro: str | None = None

    def close() -> None:
        nonlocal run
        if spoiled:
            return
        links = [_MD_LINK.fullmatch(v) for _, v in run]
        if run and all(links):  # a page's menu of links ("[About](/about.html)"): the links, by their texts
            if any(m.group(1) or not m.group(2).strip() for m in links):
                return  # images, or links without words: nothing a user would name them by
            run = [(n, m.group(2).strip()) for (n, _), m in zip(run, links)]
        values = [v for _, v in run]
        # one item is a list too when a heading introduces it ("Available schemas:" then "- main")
        if run and (len(run) >= 2 or intro) and len(set(values)) == len(values) and len(out) < MAX_TABLES:
            head, *rest = words_of(intro).split() if intro else [""]
            if intro and rest and rest[0] in _HEAD_PREPOSITIONS and singular(head) != head:
                # "Tables in schema 'main':": tables, in that schema ("the tables in schema main")
                noun, plural = " ".join([singular(head)] + rest), words_of(intro)
            elif intro and len(run) >= 2 and singular(words_of(intro)) == words_of(intro):
                # a singular heading names the list, not its items ("Team": five people, not
                # five teams): its items are the list's items
                noun, plural = f"item of the {words_of(intro)} list", f"items of the {words_of(intro)} list"
            elif intro:
                noun = singular(words_of(intro))
                noun, plural = noun, plural_of(noun)
            elif all(links):
                noun, plural = "link", "links"
            else:
                noun, plural = names.noun()
            # an item wrapped onto the next line keeps its place in the list, but its first line is no value
            items = [Item({} if n in wrapped else {"value": Cell(_scalar(v), f"{base}#line={n + offset}")}, i)
                     for i, (n, v) in enumerate(run)]
            out.append(Table(step, noun, plural, "value", items[:MAX_ITEMS], labels={"value": noun},
                             total=len(items), whole=base))

    previous, previous_n, spoiled = "", 0, False
    indent = None
    wrapped: set[int] = set()  # items whose text goes on, indented, on the lines below
    fenced = False
    for n, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced  # a code block: its lists are an example's, not the text's
            close()
            run, indent, previous, previous_n = [], None, "", 0
            continue
        if fenced:
            continue
        m = _LIST_ITEM.match(line)
        if run and not m and line.strip() and line[:1] in " \t" and indent is not None \
                and len(line) - len(line.lstrip()) > indent:
            wrapped.add(run[-1][0])  # "- Sale runs 2025-04-07 to 2025-04-20 (two weeks, ends the" / "  warehouse move)."
            continue
        if m and labelled_value(line) is None and (indent is None or len(m.group(1)) == indent):
            value = plain_text(m.group(2))
            if 0 < len(value) <= 100:
                if not run:
                    head = previous.strip().rstrip(":").strip("#* ").strip()
                    intro = head if previous.strip().endswith(":") or previous.lstrip().startswith("#") else None
                    if intro is None and previous_n == n - 1 and head and not re.search(r"[.,;!?)]$", head) \
                            and len(m.group(1)) > len(previous) - len(previous.lstrip()):
                        intro = head  # a bare heading the items are indented under ("Agreed" then "  - Price ...")
                    if intro and (len(intro.split()) > 4 or not intro):
                        intro = None
                    indent = len(m.group(1))
                run.append((n, value))
                continue
        if m and indent is not None and len(m.group(1)) > indent:
            continue  # a nested item: not one of this list's
        if m and labelled_value(line) is not None:
            # a list that mixes "label: value" items with plain ones: its plain items are no whole list
            run, indent, spoiled = [], None, True
            previous, previous_n = line, n
            continue
        close()
        run, indent = [], None
        if line.strip():
            previous, previous_n, spoiled = line, n, False
    close()
    # two lists named alike (no heading tells them apart): "every item in the file" would be either
    named = Counter(t.noun for t in out)
    return [t for t in out if named[t.noun] == 1]


_YAML_LINE = re.compile(r"^\s*(?:- )?[\w][\w .-]*:(?: |$)")


def _yaml(step: int, base: str, text: str, offset: int, names: Names) -> list[Table]:
    """A YAML document's records and lists, each value located by the line it is on."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) < 2 or sum(1 for line in lines if _YAML_LINE.match(line)) < max(2, len(lines) // 2):
        return []
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return []
    if node is None or not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return []
    where: dict[int, int] = {}

    def tree(n: Any) -> Any:
        if isinstance(n, yaml.MappingNode):
            keys = [str(k.value) for k, _ in n.value if isinstance(k, yaml.ScalarNode)]
            if len(set(keys)) != len(keys):
                raise yaml.YAMLError("a key repeats: not YAML, but labelled lines")
            return {str(k.value): tree(v) for k, v in n.value if isinstance(k, yaml.ScalarNode)}
        if isinstance(n, yaml.SequenceNode):
            return [tree(v) for v in n.value]
        if isinstance(n, yaml.ScalarNode) and n.value != "" and n.tag.endswith((":str", ":int", ":float", ":timestamp")):
            value = _scalar(n.value) if n.style is None else n.value
            leaf = _Leaf(value)
            where[id(leaf)] = n.start_mark.line + 1
            return leaf
        return None

    try:
        doc = tree(node)
    except yaml.YAMLError:
        return []
    tables = walk_json(step, _unleaf(doc), "$", names)
    # re-point every cell at its line
    flat = _leaf_paths(doc, "$")
    for t in tables:
        for it in t.items:
            it.cells = {f: Cell(c.value, f"{base}#line={where[id(flat[c.path])] + offset}") if c.path in flat
                        else c for f, c in it.cells.items()}
            it.cells = {f: c for f, c in it.cells.items() if "#line=" in c.path}
        t.whole = base
    return [t for t in tables if any(it.cells for it in t.items)]


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _unleaf(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _unleaf(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unleaf(v) for v in obj]
    return obj.value if isinstance(obj, _Leaf) else obj


def _leaf_paths(obj: Any, path: str) -> dict[str, _Leaf]:
    out: dict[str, _Leaf] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_leaf_paths(v, jpath(path, k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_leaf_paths(v, jpath(path, i)))
    elif isinstance(obj, _Leaf):
        out[path] = obj
    return out


def _scalar(text: str) -> Any:
    """A text as the number it is, else the text (a day stays a text; so does a whole number
    of more than 15 digits, which no float holds: 50! is checked as it is written)."""
    text = text.strip().strip("\"'")
    number = to_number(text)
    if isinstance(number, int) and abs(number) >= 10**15:
        return text
    return number if number is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else text


# -- a file's text


def file_tables(step: int, base: str, text: str, offset: int, path: str) -> list[Table]:
    """Facts in a file's text, read by what its extension says it is (a CSV's rows, a JSON
    document's settings, YAML, ``key: value`` lines of a text or Markdown file).
    ``offset``: lines before the file's first line in the result."""
    ext = posixpath.splitext(path)[1].lstrip(".").lower()
    names = Names(tool="")
    if ext == "json":
        doc = parse_structured_text(text)
        if isinstance(doc, dict) and offset == 0:
            return _json_settings(step, base, doc)
        return []
    if ext in ("csv", "tsv", "yaml", "yml"):
        return read_text(step, base, text, names, {}, offset, ext)
    if ext in ("md", "txt", "markdown", "rst"):
        return read_text(step, base, text, names, {}, offset, "md")
    return []


def _json_settings(step: int, base: str, doc: dict[str, Any]) -> list[Table]:
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


# -- rows


def rows_table(step: int, base: str, rows: list[dict[str, Any]], noun: str, plural: str) -> Table:
    """Rows of objects in a text parsed as JSON (``base``: the text's locator)."""
    table = _records(step, rows, in_json(base), noun, plural, None, Names())
    if table is None:
        return Table(step, noun, plural, "", [], total=len(rows), whole=base)
    table.labels = {}
    table.whole = base
    if any(w == "name" for w in (f for it in table.items for f in it.cells)):
        table.key = "name"
    return table


# -- values no question may ask about


_TEMP_PATH = re.compile(r"(?:^|[\s\"'(=])(?:/tmp/|/var/tmp/|/var/folders/|/private/var/|/dev/shm/|[A-Za-z]:\\\\[^\s]*\\\\Temp\\\\)"
                        r"|(?:^|/)(?:tmp|temp)[-_.]?[a-z0-9_]{6,}(?:/|$)|pytest-of-|firefly-server-tmp-", re.IGNORECASE)
_DAY = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt _](\d{2})[:-](\d{2})")
_BARE_KEYS = frozenset({"result", "value", "output", "data"})
_COMPACT_DATETIME = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})\d{2}(?!\d)")
_TIME_WORDS = frozenset({"time", "timestamp", "date", "datetime", "now", "created", "modified", "updated", "accessed",
                         "mtime", "ctime", "atime", "at", "when", "started", "finished", "elapsed", "duration", "uptime"})


def is_volatile(key: str, value: Any, now: float | None = None) -> bool:
    """A value a second run would not see again: the wall clock (a time-stamp within two days
    of ``now``, a file time), a per-run temporary path. A question about it has no stable
    answer."""
    import time as _time

    now = _time.time() if now is None else now
    if is_clock_value(key, value):
        return True
    if isinstance(value, str):
        if _TEMP_PATH.search(value):
            return True
        day = _DAY.search(value)
        if day and not (_DATETIME.search(value) or _COMPACT_DATETIME.search(value)):
            import calendar

            try:  # a day alone ("2026/12/06", "2026-12-06"): today's is a clock reading
                stamp = calendar.timegm((int(day.group(1)), int(day.group(2)), int(day.group(3)), 12, 0, 0))
            except (ValueError, OverflowError):
                return False
            return abs(stamp - now) < 2 * 86400
        m = _DATETIME.search(value) or _COMPACT_DATETIME.search(value)
        if m:
            import calendar

            try:
                stamp = calendar.timegm((int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4)),
                                         int(m.group(5)), 0))
            except (ValueError, OverflowError):
                return False
            return abs(stamp - now) < 2 * 86400
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e16:  # no clock is longer
        words = set(words_of(key).split())
        # a time-stamp of now, in seconds or milliseconds: under a time-like key, or under a key
        # that says nothing of what the number is (a bare result), the clock
        for scale in (1, 1000):
            if abs(value / scale - now) < 2 * 86400 and (words & _TIME_WORDS or words <= _BARE_KEYS):
                return True
    return False


def reads_the_clock(arguments: dict[str, Any], ref: Any) -> bool:
    """A call that left out the date or time its tool then takes from the clock: the tool's
    description speaks of now (``If no date is provided, get the number of days in the
    current month``) and an argument named for a date or a time, without a default, was not
    given; or the tool computes a calendar quantity (its name says so: ``get_week_year``) and
    its optional date argument was left out. What it returns depends on the day the call ran."""
    from ..adapters.verbs import CLOCK_WORDS, clock_parameter, name_words

    desc = getattr(ref, "description", None) if ref is not None else None
    schema = getattr(ref, "input_schema", None) if ref is not None else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return False
    left = [(k, v) for k, v in props.items() if k not in (arguments or {})]
    if any(clock_parameter(k, v, desc) for k, v in left):
        return True
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    calendar = set(name_words(getattr(ref, "name", "") or "")) & CLOCK_WORDS
    return bool(calendar) and any(k not in required and set(name_words(k)) & _DAY_WORDS
                                  and not (isinstance(v, dict) and "default" in v) for k, v in left)


_DAY_WORDS = frozenset({"date", "datetime", "timestamp", "day"})
_TIME_OF_DAY = re.compile(r"^\s*\d{1,2}:\d{2}(?::\d{2})?\s*$")
_A_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")


def day_left_to_clock(arguments: dict[str, Any]) -> bool:
    """A call given a time of day and no date (``"time": "08:15"``): the tool takes the day
    it runs on, so a weekday or a date it returns is a reading of the clock."""
    texts = [v for v in strings(arguments) if isinstance(v, str)]
    return any(_TIME_OF_DAY.match(t) for t in texts) and not any(_A_DATE.search(t) for t in texts)


def of_the_day(key: str, value: Any) -> bool:
    """A value about the day a call ran on, when the call gave no date: a weekday, a date."""
    words = set(words_of(key.split(".")[-1].split("#")[0]).split())
    return bool(words & {"day", "date", "week", "weekday", "datetime", "timestamp"}) \
        or isinstance(value, str) and _A_DATE.search(value) is not None


def offsets_change(arguments: dict[str, Any]) -> bool:
    """Whether a time zone the call names (an IANA name: ``Australia/Sydney``) is not the
    same hours from UTC all year (summer time): a time of day converted there on another day
    of the year can give another answer."""
    import datetime as dt
    import zoneinfo

    year = dt.datetime.now(dt.timezone.utc).year
    for text in strings(arguments):
        if not isinstance(text, str) or "/" not in text and text.upper() != "UTC":
            continue
        try:
            zone = zoneinfo.ZoneInfo(text.strip())
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
        if len({dt.datetime(year, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 4, 7, 10)}) > 1:
            return True
    return False


_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
# a random lower-case id drawn letter by letter ("mxckp0mg5e4zo4th6vv", a nanoid or base-36 stamp)
_RANDOM_ID = re.compile(r"^(?=(?:[a-z]*\d){2})(?=(?:\d*[a-z]){2})[a-z0-9]{10,}$")
_HEX_ID = re.compile(r"^(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{12,}$", re.IGNORECASE)
# "epic-9660608e", and "task-97542894": eight hex digits that drew no letter (never a date, "report-20250318")
_PREFIXED_ID = re.compile(r"\b[A-Za-z]+[-_](?:(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}"
                          r"|(?!(?:19|20)\d\d(?:0[1-9]|1[0-2]))\d{8})\b")


def generated_id_in(text: str) -> bool:
    """A value the server made up for this run in a text (a UUID: a session id, an execution
    id, ``epic-9660608e``), or a masked secret: a question that quotes one cannot be asked again in a fresh
    world (the id will not exist), nor answered (the secret is not in it)."""
    return _UUID.search(text) is not None or _PREFIXED_ID.search(text) is not None or MASK in text


def made_up_id(value: Any) -> bool:
    """Whether a whole value is an id the server made up for this run (a session's UUID,
    ``task-4bfdc920``): :func:`generated_id_in` of a text that is nothing but the id."""
    if not isinstance(value, str):
        return False
    v = value.strip()
    return _UUID.fullmatch(v) is not None or _PREFIXED_ID.fullmatch(v) is not None


def is_opaque_id(key: str, value: Any) -> bool:
    """A made-up identifier as a value: a UUID anywhere, or a hexadecimal string or a random
    lower-case one (``mxckp0mg5e4zo4th6vv``) under a key that says it is an id or a token
    (``run_id``, ``build_id``; a ``hash`` is no made-up id)."""
    if not isinstance(value, str):
        return False
    if _UUID.search(value):
        return True
    words = set(words_of(key.split(".")[-1].split("#")[0]).split())
    return bool(_HEX_ID.match(value.strip()) or _RANDOM_ID.match(value.strip())) and bool(
        words & {"id", "uuid", "token", "guid", "nonce", "key"})


# fields that say how a result is paged or whether the call went through, not what it found
_BOOKKEEPING = frozenset({"cursor", "next cursor", "offset", "limit", "page", "page size", "per page", "has more",
                          "next page", "next offset", "page token", "next page token", "truncated", "output truncated",
                          "success", "ok", "total pages", "has next", "has previous", "has prev", "current page",
                          "page number",
                          # a session's tally of the calls made on it: any call moves it, whatever it did
                          "operations count", "operation count", "operations performed"})
# numbers the machine chose for the run (a process id): never the same twice
_RUN_CHOSEN = frozenset({"pid", "ppid", "process id", "parent process id", "parent pid"})
# the fields of a reply's envelope: a status, a message about the call
_ENVELOPE = frozenset({"status", "message", "msg", "error", "errors", "warning", "warnings", "result status", "state",
                       "detail", "details", "info", "note", "notes", "hint", "operation", "action", "tool", "method"})
# a sentence saying what the call did: "Search tools refreshed.", "File saved to ...", "Index rebuilt"
# ("Session 'default' cleared.", "Range formatted successfully", "Evaluation enabled"), or that
# begins by saying it went well ("Successfully deleted zadd_2")
_DONE = re.compile(r"(?i)^\W*(?:(?:[a-z][\w-]*|'[^'\s]{1,40}'|\"[^\"\s]{1,40}\")\s){0,4}(?:was |were |has been |have been |is now )?"
                   r"(?:refreshed|saved|created|updated|deleted|added|removed|loaded|written|cleared|reset|started|"
                   r"stopped|completed|rebuilt|reloaded|initiali[sz]ed|registered|set|applied|finished|formatted|"
                   r"executed|enabled|disabled|(?:re-?)?indexed|stored|inserted|renamed|moved|copied|imported|"
                   r"exported|connected|disconnected|closed|opened)\b"
                   r"(?:\s+(?:successfully|to|in|at|as|for)\b[^.]*)?(?:[.!:]|\s*$)"
                   r"|^\W*successfully\s+[a-z]+")
# a reply that says the world holds nothing of what was asked: "Set 'group_3' is empty or does not
# exist.", "No active sessions." (a short sentence of "no" and a noun), "None (no dependencies)"
_EMPTY_WORLD = re.compile(r"(?i)\b(?:is|are) (?:now )?empty\b|\bdo(?:es)?(?: not|n't) exist\b"
                          r"|^\W*no\s+(?:[\w-]+\s+){0,3}[\w-]+\W*$|^\W*(?:none|n/a|null)\s*\(.*\)\W*$")
# a greeting a server says whatever it is asked ("Hello from Chinese NLP MCP")
_GREETING = re.compile(r"(?i)^\W*(?:hello|hi|greetings|welcome)\b")
_CANNOT = re.compile(r"(?i)^\W*(?:cannot|can't|could not|couldn't|unable to|failed to|no |nothing |not )")
def undecoded(text: str) -> bool:
    """Bytes that are no text: a text of replacement characters (a decoding of what was not
    encoded, Base64 "decoded" from a README)."""
    return text.count("\ufffd") > len(text) / 10


def says_it_could_not(text: str) -> bool:
    """A message that a call could not act, or had nothing to act on ("Cannot find paths",
    "No test cases defined. Please add test cases first", "Nothing to clean")."""
    return bool(_CANNOT.match(text))


_STATUS_WORDS = frozenset({"ok", "okay", "success", "succeeded", "successful", "completed", "complete", "done", "true",
                           "false", "error", "failed", "failure", "pending", "planned", "running", "ready", "default",
                           "none", "null", "n/a", "saved", "created", "updated", "deleted", "added"})


def is_float_noise(value: Any) -> bool:
    """A float that is a computed zero (``4.7e-16``, rounding left over by a solver) or a
    ratio blown up by one (a t statistic of ``2.1e15``): its digits differ from one machine
    to the next and say nothing a question could check."""
    return isinstance(value, float) and (value != 0 and abs(value) < 1e-9 or abs(value) >= 1e13)


# the variables a shell or a process sets from the machine it runs on: what they hold is a fact
# of the run's machine (its architecture, its home folder), not of the world a tool reads
MACHINE_VARS = frozenset({"HOME", "PATH", "PWD", "OLDPWD", "OSTYPE", "HOSTTYPE", "MACHTYPE", "SHELL", "USER", "LOGNAME",
                          "HOSTNAME", "SHLVL", "UID", "EUID", "PPID", "TERM", "LANG", "TMPDIR", "IFS", "BASH_VERSION",
                          "BASHPID", "LC_ALL", "OPTIND", "PS1", "PS2", "PS4"})
_ENV_SEGMENT = re.compile(r"(?i)(?:^|[.\[\"'$=])(?:env|environ|environment|env_?vars|environment_?variables)(?:$|[.\]\"'\[])")
# a text that is an empty structure: says nothing a question could check
# a reply saying a search or listing found nothing
_NOTHING_FOUND = re.compile(r"(?i)^\W*(?:no|zero|0)\s+(?:[\w-]+\s+){0,3}?(?:were\s+|was\s+)?(?:found|matched|returned)\b"
                            r"|^\W*(?:nothing|none)\s+(?:was\s+)?found\b|^\W*no\s+(?:results?|matches|match)\b")
_EMPTY_TEXTS = frozenset({"{}", "[]", "()", "null", "none", "nil", "undefined", "set()", "frozenset()", "emptyset", "∅",
                          "unknown", "unspecified", "not specified", "not set", "not available", "n/a", "na", "tbd"})


# what the machine under a server is: Redis INFO's "os: Linux 6.1 x86_64", "arch_bits: 64"
_MACHINE_WORDS = frozenset({"os", "arch", "kernel", "hostname", "gcc", "monotonic", "executable"})
# what a number says of the server's process, not of the world it serves: its memory, its
# process id, how long it has been up, its processor time
_PROCESS_WORDS = frozenset({"memory", "mem", "rss", "heap", "uptime", "pid", "cpu"})
# how long the call took: the machine's speed, not the world's
_RUN_TIMING = frozenset({"elapsed", "latency", "took", "runtime"})
# what a server does while a call runs: "analysis time", "processing_duration", "ocr_time"
# (a cooking time or a lead time is the world's)
_COMPUTING = frozenset({"execution", "exec", "run", "ms", "seconds", "secs", "analysis", "processing", "process", "query",
                        "ocr", "parse", "parsing", "compute", "computation", "load", "loading", "render", "rendering",
                        "response", "request", "indexing", "compile", "compilation", "generation", "extraction",
                        "conversion", "inference", "wall", "scan", "scanning", "evaluation"})
# "0 B", "0.0 KB": an empty thing's size; "0 files, 0 directories": an empty folder's tally
_ZERO_SIZE = re.compile(r"(?i)^\s*0+(?:[.,]0+)?\s*(?:[kmgt]i?b|b|bytes?)\s*$"
                        r"|^\s*0 [a-z]+(?:\s*(?:,|and)\s*0 [a-z]+)*\s*$")
_SIZE_TEXT = re.compile(r"(?i)^\s*[\d.,]+\s*(?:[kmgt]i?b?|b|bytes?|%)?\s*$")  # 1.02M, 200B, 5 bytes


def is_machine_fact(key: str, path: str = "", value: Any = None) -> bool:
    """Whether a value is a fact of the machine the run happened on rather than of the world:
    an environment variable a shell sets from it (``OSTYPE``, ``PWD``, ``HOSTTYPE``), any
    value read from under an environment key (``$.environmentVariables.X``, ``$.env.X``), or a
    number (or size) about the server's own process (``used_memory_peak: 1.02M``,
    ``memory_usage_mb: 0.0018``, ``uptime_in_seconds``, ``process_id``) or how long the call
    took (``execution_time_ms``, ``elapsed``), or what the machine under the server is (its
    ``os``, ``arch_bits``, ``hostname``, kernel, compiler, clock source, executable): another
    machine, another library version or the same server an hour later gives another."""
    name = key.split(".")[-1].split("#")[0]
    if name in MACHINE_VARS or _ENV_SEGMENT.search(path.split("#")[-1]):
        return True
    if set(words_of(name).split()) & _MACHINE_WORDS:
        return True
    measured = (isinstance(value, (int, float)) and not isinstance(value, bool)
                or isinstance(value, str) and bool(_SIZE_TEXT.match(value)) and bool(re.search(r"\d", value)))
    words = set(words_of(name).split())
    return measured and bool(words & _PROCESS_WORDS or {"process", "id"} <= words or words & _RUN_TIMING
                             or words & {"time", "duration"} and words & _COMPUTING)


def pages_of_a_document(key: str, keys: Any) -> bool:
    """A ``total_pages`` that counts a document's pages (a PDF's), not the pages a listing is
    served in: none of the record's other fields (``keys``) pages a listing (a page, a cursor,
    a page size)."""
    return words_of(key.split(".")[-1].split("#")[0]) == "total pages" and not any(
        words_of(k.split(".")[-1].split("#")[0]) in _BOOKKEEPING - {"total pages"} for k in keys)


def is_bookkeeping(key: str) -> bool:
    """A field that keeps account of the calls, not of the world (a cursor, a page size, a
    session's count of operations) or that the machine chose for the run (a pid)."""
    name = words_of(key.split(".")[-1].split("#")[0])
    return name in _BOOKKEEPING or name in _RUN_CHOSEN


def is_dull(key: str, value: Any, echoes: dict[str, set[str]] | None = None, whole: bool = False,
            any_name: bool = False, tool: str = "") -> bool:
    """A value not worth a question: paging bookkeeping (a cursor, a page size); a computed
    zero (:func:`is_float_noise`); in a reply that is one record (``whole``), its status or
    message about the call ("ok",
    "Successfully loaded CSV file"); a made-up id; or an echo of the call's own arguments
    (``echoes``, :func:`echoes_of`): a text equal to an argument or repeating a long one
    ("Saved /workspace/a.png"), a number (or "$10.00") equal to the argument of the same
    name, or of any name with ``any_name`` (a list given back: the numbers one passed); in a
    one-record reply, a zero, or a text made only of the words of ``tool`` (the tool's name and what it
    says it does: ``model_type: negative_binomial`` from a negative binomial regression)."""
    return bool(dull_reason(key, value, echoes, whole, any_name, tool))


def dull_reason(key: str, value: Any, echoes: dict[str, set[str]] | None = None, whole: bool = False,
                any_name: bool = False, tool: str = "") -> str:
    """Why :func:`is_dull` finds a value dull, in a few words ("" when it is not)."""
    from ..match import normalize

    name = words_of(key.split(".")[-1].split("#")[0])
    if is_bookkeeping(key):
        return "bookkeeping or run-chosen field"
    if _ID_STATISTIC.search(key):
        return "a statistic of an id column"  # the sum or the 75% of the row ids counts nothing
    if is_opaque_id(key, value):
        return "made-up id"
    if is_float_noise(value):
        return "computed zero"
    text = normalize(value)
    if isinstance(value, str) and (value.strip().lower() in _EMPTY_TEXTS or not re.search(r"\w", value)):
        return "empty value"  # "{}", "null", "?": an empty structure or no word at all
    if isinstance(value, str) and undecoded(value):
        return "bytes that are no text"
    if isinstance(value, str) and _NOTHING_FOUND.match(value):
        return "nothing found"  # "No matches found for pattern: md": a search that found nothing says so in any world
    if key.split(".")[-1].split("#")[0] in MACHINE_VARS:
        return "machine variable"
    if whole and (name in _ENVELOPE or text in _STATUS_WORDS):
        return "status or message about the call"
    if whole and isinstance(value, str) and (_DONE.match(value) or _GREETING.match(value)):
        return "status or message about the call"  # "Search tools refreshed. Available: [...]": what the call did
    if whole and isinstance(value, str) and _EMPTY_WORLD.search(value):
        return "nothing found"  # "No active sessions.": an empty world says so whatever it is
    if whole and name in ("reason", "why", "explanation") and isinstance(value, str) and _CANNOT.match(value):
        return "status or message about the call"  # "Cannot find paths: graph is empty": why the call found nothing
    if whole and (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0
                  or isinstance(value, str) and bool(_ZERO_SIZE.match(value))):
        return "zero in a one-record reply"  # a count of nothing in a reply about an empty world: guessed without a call
    said = set(words_of(value).split()) if isinstance(value, str) else set()
    if whole and said and not re.search(r"\d", value) and said <= set(words_of(tool).split()):
        return "only the tool's own words"
    called = _CALL_WRITTEN.match(value) if isinstance(value, str) and tool else None
    if called and called.group(1).lower() == (words_of(tool.split()[0]).split() or [""])[-1]:
        return "the call given back unevaluated"  # "cos(290)" from a tool named cos: no answer
    if not echoes:
        return ""
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else (
        to_number(re.sub(r"^[-+]?[$€£¥]|[$€£¥%,\s]", "", value)) if isinstance(value, str) and re.search(r"\d", value)
        else None)
    if number is not None:
        named = [e for e, names in echoes.items() if any_name or any(set(name.split()) <= set(n.split()) for n in names)]
        if any(to_number(e) == number for e in named):
            return "echo of an argument"
        if not isinstance(value, str):
            return ""
    if isinstance(value, str) and (text in echoes or (" " in text and any(len(e) >= 8 and e in text for e in echoes))):
        return "echo of an argument"
    return ""


# a value that is a function applied to arguments, as a whole: "cos(290)", "Eq(x, 2)"
_CALL_WRITTEN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\((.*)\)\s*$", re.DOTALL)


def echoes_of(arguments: dict[str, Any], ref: Any = None) -> dict[str, set[str]]:
    """The normalized values of a call's arguments and of its tool's defaults, each with the
    names (in words) it was given under: what a result that only repeats them would say."""
    from ..match import normalize

    schema = getattr(ref, "input_schema", None) if ref is not None else None
    props = schema.get("properties") if isinstance(schema, dict) else None
    named = [(k, v) for k, v in (arguments or {}).items()]
    if isinstance(props, dict):
        named += [(k, v["default"]) for k, v in props.items() if isinstance(v, dict) and "default" in v]
    out: dict[str, set[str]] = {}
    for k, v in named:
        for x in leaves(v):
            if isinstance(x, (str, int, float)) and not isinstance(x, bool) and str(x).strip():
                out.setdefault(normalize(x), set()).add(words_of(k))
    return out


def basename(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))
