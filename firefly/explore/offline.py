"""The offline explorer policy: no LLM, deterministic, schema- and observation-driven.

For each tool of a sampled DAG (in topological order) :class:`OfflinePolicy` fills the
arguments from the tool's input schema and from values seen in earlier results of the same
exploration (:mod:`firefly.explore.values`):

- required parameters first; optional ones now and then (never on a retry);
- ``const`` / ``enum`` / ``default`` / ``examples``, quoted examples in descriptions
  (``e.g., 'America/New_York'``) and formats (date-time, date, time, email, uri);
- semantic roles recognised from parameter names, titles, descriptions and the tool's own
  name and description: paths inside the sandbox (existing file, directory, or a new path),
  git repositories, revisions, branches, IANA time zones, ``HH:MM`` times, SQL (SELECT /
  INSERT-UPDATE-DELETE / CREATE TABLE over the seed tables and tables seen or created
  earlier), table names, memory-graph entities, observations and relations, arithmetic
  expressions, glob patterns, search terms, free text and file content;
- a call the tool's description writes out (:mod:`firefly.explore.examples`) on a retry and
  on most first calls whose filled arguments chain nothing; the values a parameter's own
  description lists ("Supports: 'add', 'subtract'") as an enum;
- wherever a parameter matches a value observed earlier (by role, kind, or the name of the
  field the value sat under), that value is preferred over schema defaults, and every use
  is recorded as an :class:`~firefly.explore.policy.ArgSource` (argument JSON pointer, step,
  locator, value).

Every choice is drawn from the ``rng`` the caller passes, so (tool, history, workspace,
seed) always gives the same proposal. ``attempt`` > 0 means the previous attempt failed:
optional parameters are left out, and the values of failed calls of this tool found in the
history (``is_error``, or an in-band ``Database error: ...`` text) are not proposed again;
when the history does not show the failure, the retry plays safe instead (files, folders,
tables and entities the workspace is known to hold; the simplest SQL). Values removed by an
earlier delete (or the source of a move, or text an edit replaced) are not proposed.

Proposals are validated against the input schema (``jsonschema``, draft per ``$schema``);
optional fields that fail are dropped, required ones regenerated. ``propose`` returns None
only when a required argument has no sensible value (an edit with no known file content, a
path with no known file); it never raises.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import posixpath
import random
import re
import shlex
import sqlite3
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jsonschema.validators import Draft202012Validator, validator_for

from ..adapters import Adapter
from ..adapters.generic import GenericAdapter
from ..adapters.verbs import clock_parameter, command_parameter, reads_by_name
from ..jsonvalues import at_pointer, inline_refs, json_document
from .policy import VIRTUAL_ROOT, ArgSource, CallRecord, Proposal, ToolRef, Ungrounded, WorkspaceInfo
from .examples import documented_calls, documented_choices
from .futility import WRONG_KIND, echoes
from .probe import Probe
from .paramdocs import (documented_json, documented_values, is_free_text, json_examples, json_wanted, param_doc,
                        plausible_values, value_kind, closed_form_arguments)
from .values import Value, extract_history, is_timezone, looks_like_error, parse_datetime_hhmm

__all__ = ["OfflinePolicy", "workspace_info"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# the files a command shows whole or counts: text a question can be asked about
_COMMAND_READS = (".csv", ".tsv", ".json", ".md", ".txt", ".yaml", ".yml", ".toml", ".ini", ".log")


class _CannotCall(Exception):
    """A required argument has no sensible value: the tool is skipped (the parameter, if
    known, is named in the reason recorded)."""

    def __init__(self, why: str, parameter: str | None = None):
        super().__init__(why)
        self.parameter = parameter


TIMEZONES = (
    "America/New_York", "Europe/London", "Asia/Tokyo", "Europe/Paris", "America/Los_Angeles",
    "Australia/Sydney", "Asia/Kolkata", "America/Chicago", "Europe/Berlin", "Asia/Singapore",
    "America/Sao_Paulo", "Africa/Nairobi", "America/Toronto", "Pacific/Auckland", "UTC",
)
CLOCK_TIMES = ("09:30", "14:00", "17:45", "08:15", "12:00", "21:30")
UNIQUE_HINTS = ("email", "sku", "code", "slug", "username", "login", "handle", "uuid", "isbn")
NUMERIC_HINTS = ("price", "amount", "total", "quantity", "qty", "stock", "cost", "count", "score",
                 "rating", "balance", "weight", "size", "value", "rate", "discount", "budget")
SQL_WORDS = ("sql", "select", "insert", "update", "create table", "sqlite", "database", "query to execute")
TEXT_EXT = (".md", ".txt", ".json", ".yaml", ".yml", ".csv", ".py", ".toml", ".ini", ".cfg", ".html", ".xml")
# What a file parameter wants, from the words of its name, its description and its tool:
# a word (or an extension written as ".ext") -> the extensions of that kind of file
FILE_KINDS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("pdf", "pdfs"), (".pdf",)),
    (("pptx", "ppt", "powerpoint", "presentation", "presentations", "slides", "deck"), (".pptx", ".ppt")),
    (("xlsx", "xls", "excel", "spreadsheet", "spreadsheets", "workbook", "worksheet"), (".xlsx", ".xlsm", ".xls")),
    (("docx",), (".docx", ".doc")),
    (("csv", "tsv"), (".csv", ".tsv")),
    (("dataset", "datasets", "dataframe", "tabular"), (".csv", ".tsv", ".xlsx", ".json")),
    (("ipynb", "notebook", "notebooks", "jupyter"), (".ipynb",)),
    (("image", "images", "png", "jpg", "jpeg", "photo", "picture", "gif", "webp"), (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")),
    (("html", "htm", "webpage"), (".html", ".htm")),
    (("markdown",), (".md", ".markdown")),
    (("duckdb",), (".duckdb",)),
    (("sqlite", "sqlite3"), (".sqlite", ".sqlite3", ".db")),
    (("python",), (".py",)),
    (("javascript",), (".js", ".mjs")),
    (("yaml", "yml"), (".yaml", ".yml")),
)
DOT_EXTENSION = re.compile(r"(?<![\w/])\.([a-z][a-z0-9]{1,7})\b")
MAX_SEED_TEXT = 16_000
MAX_WORKSPACE_FILES = 5_000  # files of the workspace the explorer knows by name
SKIPPED_DIRS = ("__pycache__", "node_modules", ".git")  # bytes of a seed text file an edit may draw its old text from
_YES_NO = frozenset({"true", "false", "yes", "no", "none", "null", "on", "off"})
SALIENT_KEYS_SKIP = ("cid", "pk", "notnull", "dflt_value", "is_dst", "permissions")

# "Formula must start with '='": the parameter (in the words before) and what it must begin with
_START_TOLD = re.compile(r"(?i)\b((?:\w+[ _-]){0,2}\w+)\s+(?:must|should|has to|needs to)\s+(?:start|begin)\s+with\s+"
                         r"['\"`]([^'\"`\s]{1,4})['\"`]")
# a failure saying two lists must be as long as each other ("Number of groups (5) does not
# match number of expected matches (0)", "x and y must have the same length")
_SAME_LENGTH_TOLD = re.compile(r"(?i)\bnumber of [\w ]{1,40}?(?:\(\d+\) )?(?:does not|doesn't|must) match (?:the )?number of"
                               r"|\b(?:same|equal) (?:length|number of (?:items|elements))|\blengths? (?:do not|don't|must) match")
# a parameter holding parts of another argument's text ("substrings that should be matched")
_PART_OF_TEXT = re.compile(r"(?i)\bsub-?strings?\b|\bparts? of the (?:input|text|string)\b")
# a tool about a graph: its "rel" is the kind of a link
_GRAPH_WORDS = re.compile(r"(?i)\b(?:graph|relations?|relationships?|nodes?|edges?)\b")

_INTENTS = {
    "create": ("create", "write", "add", "insert", "new", "make", "append", "save", "put", "upload", "commit",
               "record", "store", "set", "push", "prepend", "enqueue"),
    "delete": ("delete", "remove", "drop", "unlink", "clear", "purge", "destroy"),
    "move": ("move", "rename", "mv"),
    "edit": ("edit", "update", "modify", "replace", "patch", "change"),
    "list": ("list", "tree", "ls", "directory", "directories", "dir", "folder", "search", "find", "glob"),
    "read": ("read", "get", "show", "open", "describe", "view", "fetch", "cat", "info", "log", "status", "diff"),
}


# verbs that end a session or a handle (its id no longer works after them)
_ENDS = ("close", "disconnect", "unsubscribe", "terminate", "kill", "stop", "logout", "shutdown", "detach", "end")


def _ident_param(name: str) -> bool:
    """A parameter naming a handle: ``session_id``, ``sessionId``, ``handle``, ``uuid``."""
    words = _words(name)
    return bool(words) and words[-1] in ("id", "uuid", "handle", "token")


def _words(name: str) -> list[str]:
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", s.lower()) if w]


def _norm(name: str) -> str:
    return "".join(_words(name))


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _slug(text: str, limit: int = 32) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return (s[:limit].strip("-")) or "notes"


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_]\w*", name) else '"' + name.replace('"', '""') + '"'


def _sql_lit(v: Any) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def _fmt_num(v: Any) -> str:
    if isinstance(v, float):
        return repr(round(v, 6)) if v != int(v) or abs(v) >= 1e15 else str(v)
    return str(v)


def _pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# --------------------------------------------------------------------------- schemas


def _branch(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema to fill: for anyOf / oneOf, the first non-null branch (with the outer
    annotations), a branch of bytes (``"format": "binary"``) only when no other is left: a
    value that may be text or bytes (a Redis value) is sent as text."""
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            non_null = [o for o in non_null if o.get("format") != "binary"] or non_null
            chosen = non_null[0] if non_null else options[0]
            merged = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            if isinstance(chosen, dict):
                merged.update({k: v for k, v in chosen.items() if k not in merged or k == "type"})
            return merged
    if isinstance(schema.get("allOf"), list):
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                for k, v in part.items():
                    merged.setdefault(k, v)
        return merged
    return schema


def _type(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), t[0] if t else None)
    if t:
        return str(t)
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if schema.get("enum"):
        v = schema["enum"][0]
        return "string" if isinstance(v, str) else "number" if isinstance(v, (int, float)) else "string"
    return "string"


def _nullable(schema: dict[str, Any]) -> bool:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and any(isinstance(o, dict) and o.get("type") == "null" for o in schema[key]):
            return True
    t = schema.get("type")
    return isinstance(t, list) and "null" in t


_PLACEHOLDER = re.compile(
    r"(?i)path/to\b|/path/|\byour[-_ ]|\byour\b|\bexample\b|example\.(?:com|org|net)|\bxxx|\bfoo\b|\bfoobar\b"
    r"|<[^<>]{1,40}>|\{\{?[^{}]{1,40}\}\}?|\.\.\.|\bplaceholder\b|\blorem ipsum\b")


# a value a soft enum lists: a word or a short phrase ("round_half_up", "upper right")
_CHOICE = re.compile(r"[A-Za-z0-9_][\w.+-]{0,39}(?: [\w.+-]{1,20}){0,2}")
# the chance a first call takes a call the documentation writes out rather than filled arguments
DOCUMENTED_CALL_RATE = 0.6
_RELATIVE_ASKED = re.compile(r"(?i)(must|should|use|only)\b[^.\n]{0,40}\brelative\b|absolute[^.\n]{0,40}not allowed")


# "supported operations: ['area', 'volume']", "must be one of: csv, json", "Valid options are a | b"
_CHOICES_TOLD = re.compile(
    r"(?i)\b(?:supported|valid|allowed|available|possible|accepted|expected|one of|choose from)\b[^:\[\n]{0,40}?"
    r"(?::\s*|\s)\[([^\]\n]{1,600})\]"
    r"|\b(?:one of|choose from|supported \w+|valid \w+|allowed \w+|available \w+|options)(?: are| is)?\s*:\s*([^.\n]{1,300})")
# a parameter required unless another is given: "(required if input_file not provided)"
_REQUIRED_UNLESS = re.compile(r"(?i)\brequired\s+(?:if|when|unless)\b([^.;)]{1,80})")
# a failed write told the database takes only reads
_READ_ONLY_TOLD = re.compile(r"(?i)\bread[- ]?only\b")
# the noun of a list an error gave: "available columns", "supported operations"
_CHOICE_NOUN = re.compile(r"(?i)\b(?:supported|valid|allowed|available|possible|accepted|expected)\s+([a-z]+)")
# "between 1 and 2", "Available slides: 0-1", "valid range is 0 to 9", "must be 1..5"
_RANGE_TOLD = re.compile(r"(?i)\bbetween (-?\d+) and (-?\d+)\b"
                         r"|\b(?:available|valid|allowed|range|ranges?|indices|indexes)\b[^\n\d]{0,24}?"
                         r"(-?\d+) ?(?:-|to|\.\.|–) ?(-?\d+)\b")
_PATTERN_EXTENSIONS = re.compile(r"\\\.\(?((?:[A-Za-z0-9]{1,6}\|)*[A-Za-z0-9]{1,6})\)?\$?\)?$")
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "single": 1}
# "Two numbers in a list", "A number to find the square root of": how many items a list
# parameter's own description says it holds (never "a list of numbers": no count)
_COUNT_DOCUMENTED = re.compile(r"(?i)^\s*(?:the\s+)?(a|an|one|two|three|four|five|single|\d)\s+(?:\w+\s+)?"
                               r"(?:inputs?|numbers?|values?|integers?|floats?|operands?)\b(?!\s+of\b)")
_COUNT_ASKED = re.compile(r"(?i)\b(?:requires?|needs?|expects?|takes?)\s+(?:exactly\s+|at least\s+)?"
                          r"(one|two|three|four|five|single|\d)\s+(?:\w+\s+)?(?:inputs?|numbers?|values?|items?"
                          r"|arguments?|elements?|operands?)\b")


def _placeholder(value: Any) -> bool:
    """A documentation stand-in, not a value: ``/path/to/your/project``, ``<file>``,
    ``{name}``, ``https://example.com``, or a path of the documentation author's machine
    (``/tmp/part1.pdf``, ``C:\\Users\\me``: anything absolute outside the sandbox). Such
    examples are never sent to a server."""
    if not isinstance(value, str):
        return False
    if _PLACEHOLDER.search(value):
        return True
    host_path = (value.startswith("/") and not value.startswith(VIRTUAL_ROOT)) or bool(re.match(r"[A-Za-z]:\\", value))
    return host_path and len(value) > 1


def _stand_in(value: Any) -> bool:
    """:func:`_placeholder`, reading a JSON text by its values (its braces are not a
    ``{name}`` template): ``{"title": "Sales"}`` is a value, ``{"path": "/path/to/x"}`` is not."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return _placeholder(value)
        return any(_placeholder(leaf) or (isinstance(leaf, str) and _placeholder(leaf.lower()))
                   for leaf in _leaves(parsed))
    return _placeholder(value)


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _desc_examples(text: str) -> list[str]:
    """Quoted examples in a description (``e.g., 'America/New_York'``), placeholders left out."""
    found = [a or b for a, b in re.findall(r"'([^'\n]{1,60})'|\"([^\"\n]{1,60})\"", text or "")]
    return [e for e in found if not _placeholder(e)]


# --------------------------------------------------------------------------- workspace


def workspace_info(root: Path) -> WorkspaceInfo:
    """What the explorer knows of a built workspace (see :func:`firefly.seeds.build_workspace`).

    Files and directories under every folder at the root (``files/``, and the folders a
    registry's fixtures add: ``data/``, ``notes/`` ...), git repositories (folders holding ``.git``), the
    tables and columns of every SQLite database file, and the entities of every memory graph
    (``*.jsonl``) at the root, all with virtual paths under :data:`VIRTUAL_ROOT`.
    """
    root = Path(root)

    def virtual(p: Path) -> str:
        rel = p.relative_to(root).as_posix()
        return VIRTUAL_ROOT if rel in ("", ".") else f"{VIRTUAL_ROOT}/{rel}"

    files: list[str] = []
    dirs: list[str] = []
    texts: dict[str, str] = {}
    # every folder at the root (``files/`` first: the seed workspace's own), and what is in it
    tops = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                   and not p.name.startswith(".") and p.name not in SKIPPED_DIRS),
                  key=lambda p: (p.name != "files", p.name)) if root.is_dir() else []
    for top in tops:
        dirs.append(virtual(top))
        for p in sorted(top.rglob("*")):
            if any(part.startswith(".") or part in SKIPPED_DIRS for part in p.relative_to(top).parts):
                continue
            if p.is_symlink():
                continue
            if p.is_dir():
                dirs.append(virtual(p))
            elif p.is_file():
                files.append(virtual(p))
                if p.suffix.lower() in TEXT_EXT and p.stat().st_size <= MAX_SEED_TEXT:
                    with contextlib.suppress(OSError, UnicodeDecodeError):
                        texts[virtual(p)] = p.read_text(encoding="utf-8")
            if len(files) >= MAX_WORKSPACE_FILES:
                break
    repos: list[str] = []
    if root.is_dir():
        candidates = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
        for p in candidates:
            if (p / ".git").exists():
                repos.append(virtual(p))
    tables: dict[str, tuple[str, ...]] = {}
    memory: dict[str, str] = {}
    if root.is_dir():
        for p in sorted(root.iterdir()):
            if not p.is_file():
                continue
            if p.suffix in (".db", ".sqlite", ".sqlite3"):
                tables.update(_sqlite_tables(p))
            elif p.suffix == ".jsonl":
                memory.update(_memory_entities(p))
    return WorkspaceInfo(
        root=VIRTUAL_ROOT, files=tuple(files), directories=tuple(dirs), git_repos=tuple(repos),
        sqlite_tables=tables, memory_entities=memory, texts=texts,
    )


def _sqlite_tables(path: Path) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        for name in names:
            cols = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({_ident(name)})"))
            out[name] = cols
    except sqlite3.Error:
        pass
    finally:
        conn.close()
    return out


def _memory_entities(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and item.get("type") == "entity" and isinstance(item.get("name"), str):
                    out[item["name"]] = str(item.get("entityType", ""))
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------- the policy


class OfflinePolicy:
    """Fill arguments from the schema and from earlier results; no LLM.

    optional_rate: the chance an optional parameter without a strong reason is included.
    """

    name = "offline"

    def __init__(self, optional_rate: float = 0.25):
        self.optional_rate = optional_rate

    def propose(
        self,
        tool: ToolRef,
        history: list[CallRecord],
        workspace: WorkspaceInfo,
        rng: random.Random,
        attempt: int = 0,
    ) -> Proposal | None:
        try:
            return _Run(self, tool, list(history or []), workspace, rng, attempt).propose()
        except _CannotCall as err:
            raise Ungrounded(err.parameter or "", str(err)) from None
        except Exception as exc:  # noqa: BLE001 - a policy bug must not stop the exploration
            try:
                return _Run(self, tool, [], workspace, rng, attempt, observe=False).propose(
                    note=f"fallback after {type(exc).__name__}: {exc}"[:200])
            except _CannotCall as err:
                raise Ungrounded(err.parameter or "", str(err)) from None
            except Exception:  # noqa: BLE001
                return None

    def probe(self, call: CallRecord, tool: ToolRef, readers: list[ToolRef], workspace: WorkspaceInfo,
              adapter: Adapter | None = None) -> Probe | None:
        """The read-only call that observes what a successful effectful call did: the server's
        adapter chooses it (see :mod:`firefly.explore.probe`)."""
        return (adapter or GenericAdapter()).probe(call, tool, readers)


class _Run:
    """One proposal: the state shared by the fillers."""

    def __init__(self, policy: OfflinePolicy, tool: ToolRef, history: list[CallRecord], ws: WorkspaceInfo,
                 rng: random.Random, attempt: int, *, observe: bool = True):
        self.policy = policy
        self.tool = tool
        self.history = history
        self.ws = ws
        self.rng = rng
        self.attempt = max(0, int(attempt or 0))
        if learned := _declared_by_errors(tool, history):
            # a schema exported without the parameters the server validates (a bare "$schema"):
            # what its validation error listed as missing, with the type it expected
            base = tool.input_schema if isinstance(tool.input_schema, dict) else {}
            props = base.get("properties") if isinstance(base.get("properties"), dict) else {}
            tool = self.tool = dataclasses.replace(tool, input_schema={
                **base, "type": "object", "properties": {**props, **learned},
                "required": sorted(set(base.get("required") or []) | set(learned))})
        raw = tool.input_schema if isinstance(tool.input_schema, dict) else {}
        self.raw_schema = raw
        self.schema = _branch(inline_refs(raw, raw)) if raw else {"type": "object", "properties": {}}
        vals = extract_history(history) if observe else []
        # newest results first; within one result, in document order; then the server's pool
        # of grounded values (its survey), preferred to schema guesses
        ranked = sorted(enumerate(vals), key=lambda iv: (-iv[1].step, iv[0]))
        pool = list(ws.grounded.get(tool.server, ())) if observe else []
        self.values: list[Value] = [v for _, v in ranked] + pool
        self.why_missing: dict[str, str] = {}
        self.avoid: dict[str, set[str]] = {}  # pointer -> values not to choose there (JSON)
        self.sources: list[ArgSource] = []
        self.notes: list[str] = []
        self.used: list[tuple[str, str]] = []
        self.tool_words = _words(tool.name)
        self.tool_text = f"{tool.name} {tool.description or ''}".lower()
        self.intent = self._intent()
        same = [r for r in history if r.server == tool.server and r.tool == tool.name]
        self.asked_for = _asked_for(self.schema_props(tool), [r for r in same if r.is_error or looks_like_error(r)])
        failed = [r for r in same if (r.is_error or looks_like_error(r)) and isinstance(r.arguments, dict)]
        self.failed_args = [r.arguments for r in failed]
        self.failed_steps = [r.step for r in failed]
        # a retry that cannot see what failed plays safe: values the workspace is known to hold
        self.safe = self.attempt > 0 and not self.failed_args
        # a retry keeps what the error did not blame, and changes or adds what it did
        last = same[-1] if same and (same[-1].is_error or looks_like_error(same[-1])) else None
        self.keep = _unblamed(self.schema_props(tool), last, self.asked_for) if self.attempt else {}
        self.last_failed = last
        if last is not None and set(self.asked_for) - set(last.arguments or {}):
            # "X_data and y_data must be provided" after a file was given: the file was the
            # alternative the tool did not take, and given again it would win again
            self.keep = {k: v for k, v in self.keep.items() if not _input_file(k)}
        self.top_props: dict[str, Any] = {}
        self.series_len: int | None = None  # the length of the call's first top-level list of numbers
        self.subjects: dict[str, Value] = {}  # object pointer -> the value a new entity is named after
        self.gone = self._gone()
        self.fs_roots = self._fs_roots()
        props = self.schema.get("properties") if isinstance(self.schema.get("properties"), dict) else {}
        self.has_repo_param = any("repo" in _words(k) or "repository" in _words(k) for k in props)
        self.has_path_param = any(k.lower() in ("path", "file", "filepath", "file_path", "filename") for k in props)

    # ----------------------------------------------------------------------- helpers

    def _intent(self) -> str:
        words = self.tool_words
        for intent in ("delete", "move", "edit", "create"):
            if any(w in _INTENTS[intent] for w in words):
                return intent
        if any(w in _INTENTS["list"] for w in words):
            return "list"
        if any(w in _INTENTS["read"] for w in words):
            return "read"
        first = (self.tool.description or "").lower().split(".")[0]
        fw = _words(first)[:4]
        for intent in ("delete", "move", "edit", "create", "list", "read"):
            if any(w in _INTENTS[intent] for w in fw):
                return intent
        return "read"

    def _gone(self) -> set[str]:
        """Names an earlier successful delete (or move: its source) removed from the world."""
        gone: set[str] = set()
        for r in self.history:
            if r.is_error or looks_like_error(r) or not isinstance(r.arguments, dict):
                continue
            words = _words(r.tool)
            if any(w in _INTENTS["delete"] for w in words):
                if any(w in ("observation", "observations", "relation", "relations") for w in words):
                    continue  # deleting observations or relations leaves the entities
                gone.update(_strings(r.arguments))
            elif words and words[0] in _ENDS:
                # close_session(session_id), disconnect(connection_id): the handle it ended is no
                # longer one to use ("Invalid session ID"); a thing of that kind is made again first
                gone.update(v for k, v in r.arguments.items() if isinstance(v, str) and _ident_param(k))
            elif any(w in _INTENTS["edit"] for w in words):
                # the text an edit replaced is no longer there
                for item in _dicts(r.arguments):
                    for k, v in item.items():
                        if isinstance(v, str) and _norm(k).startswith("old"):
                            gone.add(v)
            elif any(w in _INTENTS["move"] for w in words):
                for k, v in r.arguments.items():
                    if isinstance(v, str) and "_".join(_words(k)) in ("source", "src", "from", "old_path"):
                        gone.add(v)
        return gone

    def _fs_roots(self) -> list[str]:
        given = self.ws.roots.get(self.tool.server)
        if given:  # the folders the server's registry entry hands it
            return list(given)
        dirs = sorted(self.ws.directories, key=len)
        roots: list[str] = []
        for d in dirs:
            if not any(d == r or d.startswith(r.rstrip("/") + "/") for r in roots):
                roots.append(d)
        return roots

    def in_fs(self, p: str) -> bool:
        if not isinstance(p, str) or not p.startswith("/"):
            return False
        if not self.fs_roots:
            return p.startswith(VIRTUAL_ROOT)
        return any(p == r or p.startswith(r.rstrip("/") + "/") for r in self.fs_roots)

    def failure_texts(self) -> list[str]:
        """The texts of this tool's failed calls in this exploration."""
        out = []
        for r in self.history:
            if r.server == self.tool.server and r.tool == self.tool.name and (r.is_error or looks_like_error(r)):
                text = " ".join(str(b.get("text", "")) for b in r.content if isinstance(b, dict))
                out.append(text + " " + json.dumps(r.structured or {}, default=str))
        return out

    def count_asked(self) -> int | None:
        """How many inputs a failed call of this tool said it needs ("requires two inputs")."""
        for text in self.failure_texts():
            m = _COUNT_ASKED.search(text)
            if m:
                word = m.group(1).lower()
                return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
        return None

    def told_relative(self) -> bool:
        """A failed call of this tool in this exploration was told to use relative paths."""
        return any(_RELATIVE_ASKED.search(text) for text in self.failure_texts())

    def relative_forms(self, p: str) -> list[str]:
        """A sandbox path relative to each root that holds it, deepest root first."""
        roots = sorted({*self.fs_roots, VIRTUAL_ROOT}, key=len, reverse=True)
        return [p[len(r.rstrip("/")) + 1:] for r in roots if p.startswith(r.rstrip("/") + "/")]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def other_end(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any],
                  parent_role: str | None, same: str) -> Any:
        """The value of one end of a move or a copy (``destination_folder``, ``target_start``)
        filled again without the value its other end got: a folder moved onto itself, a
        range copied onto itself, changes nothing ("Source and destination folders are the
        same"). The same value again when nothing else fits."""
        self.avoid.setdefault(pointer, set()).add(json.dumps(same, sort_keys=True, default=str))
        other = self.fill(name, schema, pointer, siblings, parent_role)
        if other is not MISSING and other != same:
            self.notes.append(f"{name}: another value than its other end's")
            return other
        return same

    def failed_at(self, pointer: str, since: int | None = None) -> list[str]:
        """The values sent at ``pointer`` by failed calls of this tool (with ``since``: by
        those made at that step or later; a value a later result showed may work now), and
        those this tool rejected earlier in the run."""
        out = []
        for args, step in zip(self.failed_args, self.failed_steps):
            v = at_pointer(args, pointer, MISSING)
            if v is not MISSING and (since is None or step >= since):
                out.append(json.dumps(v, sort_keys=True, default=str))
        out.extend(sorted(self.avoid.get(pointer, ())))  # the value the other end of a move got
        if self.ws.rejected is not None and pointer:
            # rejected by this tool in earlier explorations (it named the value, or it was
            # sent empty): not offered again, whenever a result showed it
            out.extend(sorted(self.ws.rejected(self.tool.server, self.tool.name, pointer)))
        return out

    def obs(self, kinds: Iterable[str], pred: Callable[[Value], bool] | None = None) -> list[Value]:
        ks = tuple(kinds)
        return [v for v in self.values if v.kind in ks and (pred is None or pred(v))]

    def pick(self, cands: list[Value], pointer: str, *, value_of: Callable[[Value], Any] | None = None,
             recent: float = 0.75, record: bool = True) -> Value | None:
        """Choose one observed value (newest result preferred); record it as a source."""
        if not cands:
            return None
        conv = value_of or (lambda v: v.value)
        failed = set(self.failed_at(pointer))
        seen: set[str] = set()
        pool: list[Value] = []
        for v in cands:
            cv = conv(v)
            key = json.dumps(cv, sort_keys=True, default=str)
            if key in failed and v.step >= 0 and key not in self.failed_at(pointer, since=v.step):
                failed.discard(key)  # shown again after the failure (a slide made since): worth another try
            if key in seen or key in failed or (v.kind, key) in self.used:
                continue
            if (isinstance(cv, str) and cv in self.gone) or (isinstance(v.value, str) and v.value in self.gone):
                continue
            seen.add(key)
            pool.append(v)
        if not pool:
            pool = [v for v in cands if json.dumps(conv(v), sort_keys=True, default=str) not in failed
                    and not (isinstance(v.value, str) and v.value in self.gone)]
            if not pool:
                return None
        if self.ws.fitting is not None and pointer and (fit := self.ws.fitting(self.tool.server, self.tool.name, pointer)):
            # a server whose things come in kinds (a hash, a set): one known to be of the kind wanted
            pool = [v for v in pool if json.dumps(conv(v), sort_keys=True, default=str) in fit] or pool
        if self.attempt == 0 and self.chance(recent):
            top = max(v.step for v in pool)
            group = [v for v in pool if v.step == top]
        else:
            group = pool
        group = group[:40]
        idx = self.rng.randrange(len(group))
        if self.attempt:
            idx = (idx + self.attempt) % len(group)
        chosen = group[idx]
        if record:
            self.use(pointer, chosen, conv(chosen))
        return chosen

    def use(self, pointer: str, v: Value, value: Any = None) -> None:
        val = v.value if value is None else value
        self.sources.append(ArgSource(argument=pointer, step=v.step, path=v.path, value=val,
                                      event=v.context.get("event") if v.step < 0 else None))
        self.used.append((v.kind, json.dumps(val, sort_keys=True, default=str)))

    def choose(self, options: list[Any], pointer: str | None = None) -> Any:
        if not options:
            return MISSING
        failed = set(self.failed_at(pointer)) if pointer else set()
        pool = [o for o in options if json.dumps(o, sort_keys=True, default=str) not in failed] or list(options)
        idx = self.rng.randrange(len(pool))
        if self.attempt:
            idx = (idx + self.attempt) % len(pool)
        return pool[idx]

    # ----------------------------------------------------------------------- main

    def propose(self, note: str = "") -> Proposal | None:
        """The arguments of one call: filled from the schema and the world; or a call the
        tool's documentation writes out (see :meth:`documented_call`) when the filled ones
        chain nothing from an earlier step, on a retry, or when nothing grounds them."""
        try:
            filled = self.propose_filled(note)
        except _CannotCall:
            if (written := self.documented_call()) is None:
                raise
            return self.documented_proposal(written, note)
        chains = any(s.step >= 0 for s in filled.sources)
        if self.attempt == 0 and chains:
            return filled
        written = self.documented_call()
        if written is not None and (self.attempt or self.chance(DOCUMENTED_CALL_RATE)):
            return self.documented_proposal(written, note)
        return filled

    def documented_call(self) -> dict[str, Any] | None:
        """A call of this tool its description writes out (``npv(cash_flows=[...], rate=0.1)``)
        that has not failed in this exploration, whose values this tool has not rejected in
        the run and hold no placeholder; ``None`` if there is none."""
        calls = documented_calls(self.tool.name, self.tool.description or "", self.raw_schema)
        tried = {json.dumps(a, sort_keys=True, default=str) for a in self.failed_args}
        left = []
        for call in calls:
            if json.dumps(call, sort_keys=True) in tried or any(_placeholder(v) for v in _leaves(call)):
                continue
            if self.ws.rejected is not None and any(
                    json.dumps(v, sort_keys=True) in self.ws.rejected(self.tool.server, self.tool.name, f"/{k}")
                    for k, v in call.items()):
                continue
            left.append(call)
        if not left:
            return None
        return copy.deepcopy(left[(self.rng.randrange(len(left)) + self.attempt) % len(left)])

    def documented_proposal(self, arguments: dict[str, Any], note: str) -> Proposal:
        notes = [n for n in (note, "a call the tool's documentation writes out") if n]
        return Proposal(arguments=arguments, sources=(), note="; ".join(notes)[:500])

    def propose_filled(self, note: str = "") -> Proposal:
        schema = self.schema
        args = self.fill_object(schema, "", top=True)
        if not isinstance(args, dict):
            args = {}
        args = self.validate(schema, args)
        args = self.with_listed_choices(args)
        if self.told_relative():
            args = {k: (self.relative_forms(v) or [v])[0] if isinstance(v, str) and self.in_fs(v) else v
                    for k, v in args.items()}
            self.notes.append("paths made relative, as the failed call was told")
        keep = []
        for s in self.sources:
            if at_pointer(args, s.argument, MISSING) is not MISSING:
                keep.append(s)
        notes = [n for n in ([note] if note else []) + self.notes if n]
        return Proposal(arguments=args, sources=tuple(keep), note="; ".join(dict.fromkeys(notes))[:500])

    def with_listed_choices(self, args: dict[str, Any]) -> dict[str, Any]:
        """On a retry, a JSON text argument with the values the failed call's validation error
        named as wrong inside it replaced by the first choice the error listed (zod's
        ``{"code": "invalid_enum_value", "options": ["TO_MODIFY", ...], "path": [0, "relatedFiles",
        0, "type"]}`` for a task list sent as text): the rest of the text as it was."""
        last = self.last_failed
        if not self.attempt or last is None:
            return args
        issues = [i for b in last.content or [] if isinstance(b, dict) and isinstance(b.get("text"), str)
                  and re.search(r'"(?:options|values)"\s*:', b["text"]) for i in _issue_list(b["text"])
                  if isinstance(i, dict)]
        out = dict(args)
        for name, value in args.items():
            doc = json_document(value)
            if doc is None:
                continue
            changed = False
            dropped: set[int] = set()
            for issue in issues:
                path, choices = issue.get("path"), issue.get("options") or issue.get("values")
                if not isinstance(path, list) or not path:
                    continue
                path = path[1:] if path[0] == name else path
                if issue.get("code") not in ("invalid_enum_value", "invalid_value") or not isinstance(choices, list) \
                        or not choices:
                    if isinstance(doc, list) and path and isinstance(path[0], int) and 0 <= path[0] < len(doc):
                        dropped.add(path[0])  # an item the validator rejected for what cannot be chosen: left out
                    continue
                parent: Any = doc
                for step in path[:-1]:
                    parent = parent[step] if isinstance(parent, dict) and step in parent or isinstance(parent, list) \
                        and isinstance(step, int) and 0 <= step < len(parent) else None
                key = path[-1] if path else None
                if isinstance(parent, dict) and key in parent or isinstance(parent, list) and isinstance(key, int) \
                        and 0 <= key < len(parent):
                    parent[key] = choices[0]
                    changed = True
            if isinstance(doc, list) and dropped and len(dropped) < len(doc):
                doc = [item for i, item in enumerate(doc) if i not in dropped]
                changed = True
            if changed:
                out[name] = json.dumps(doc, ensure_ascii=False)
                self.notes.append(f"{name}: what the failed call was told is wrong in it replaced by a listed choice "
                                  "or left out")
        return out

    def fill_object(self, schema: dict[str, Any], pointer: str, *, top: bool = False,
                    parent_role: str | None = None) -> dict[str, Any]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)] if isinstance(schema.get("required"), list) else []
        out: dict[str, Any] = {}
        if top:
            self.top_props = out
        order = [k for k in props if k in required] + [k for k in required if k not in props]
        # where comes before what: an edit's old text is drawn from the file it edits
        # and the labels of a data set's rows (groups, time_periods) after the series they label
        # and a move's or copy's destination after its source, whose name and extension it keeps
        # (the stored schema lists properties sorted: "destination" before "source")
        order.sort(key=lambda k: (_made_from_sibling(k) or _part_of_text(props.get(k)),
                                  k.lower() not in ("path", "file", "filepath", "file_path", "filename", "repo_path"),
                                  _panel_axis(k) is not None and isinstance(props.get(k), dict)
                                  and _type(_branch(props[k])) == "array"))  # entityName names, labels nothing
        if any(_draws_on_records(k, props.get(k)) for k in order):
            # a column or a free-form record drawn from what the handle (session_id) loaded:
            # the handle first, so the record comes from the same result
            order.sort(key=lambda k: not _ident_param(k))
        optional = [k for k in props if k not in required]
        count_included = False
        for name in order:
            sub = props.get(name, {})
            sub = sub if isinstance(sub, dict) else {}
            if top and name in self.keep:
                out[name] = copy.deepcopy(self.keep[name])
                continue
            value = self.fill(name, sub, pointer + _pointer(name), out, parent_role)
            if isinstance(value, str) and value == _counterpart_value(name, out):
                value = self.other_end(name, sub, pointer + _pointer(name), out, parent_role, value)
            if value is MISSING:
                if not top and parent_role:
                    continue
                raise _CannotCall(self.why_missing.get(pointer + _pointer(name), "nothing observed, in the schema"
                                  " or in the workspace fits it"), pointer + _pointer(name))
            out[name] = value
        if top and not required and not self.keep and not self.asked_for:
            self.fill_inputs(props, out)
        elif top and not required and self.asked_data(props):
            # "Must provide either file_path or (y_data, x_data, entity_ids)" after the file
            # failed: the data, whole, as the tool's inputs are passed on a retry
            self.fill_inputs(props, out)
        for name in optional:
            sub = props.get(name, {})
            sub = sub if isinstance(sub, dict) else {}
            if name in out:
                continue
            if top and name in self.keep:
                out[name] = copy.deepcopy(self.keep[name])
                continue
            if not self.want_optional(name, sub, out, count_included):
                continue
            mark = len(self.sources)
            value = MISSING
            if top and self.made_here(name, _branch(sub)):
                value = self.made_value(name, _branch(sub), pointer + _pointer(name))
            if value is MISSING:
                value = self.fill(name, sub, pointer + _pointer(name), out, parent_role)
            if value is MISSING:
                del self.sources[mark:]
                continue
            if self.role(name, _branch(sub), out) == "count":
                count_included = True
            out[name] = value
        if top and any(_SAME_LENGTH_TOLD.search(t) for t in self.failure_texts()):
            self.notes.append("every list as long as the first: a failed call said their lengths must match")
            _same_lengths(out, order)
        return out

    def fill_inputs(self, props: dict[str, Any], out: dict[str, Any]) -> None:
        """A tool that must be given nothing may still need something to work on: a model
        fitted to ``file_path`` or to ``data`` (``Must provide either file_path or data``).
        When every input such a tool takes is optional and empty by default, the first call
        passes one: a file of the world when one fits, else its series of data. A retry
        after the file failed passes the series (on a retry, any series of numbers the tool
        takes: ``outcome``, ``treatment``), and so does the first call of a tool that worked
        earlier in the run when given its data, never its file."""
        if self.intent == "list":
            return
        tried = {k for args in self.failed_args for k in args}
        files, data, series = [], [], []
        for name, raw in props.items():
            sub = _branch(raw) if isinstance(raw, dict) else {}
            if sub.get("default") is not None or sub.get("deprecated"):
                continue
            words = set(_words(name))
            t = _type(sub)
            if t == "string" and _input_file(name):
                if name not in tried:
                    files.append(name)
            elif t != "array" or words & _OUTPUT_WORDS:
                continue
            elif words & _DATA_WORDS:
                data.append(name)
            elif _type(_branch(sub.get("items") or {})) in ("number", "integer", "array"):
                series.append(name)
        shapes = self.ws.worked_with(self.tool.server, self.tool.name) if self.ws.worked_with else set()
        if shapes and files and not any(shape & set(files) for shape in shapes):
            # it worked in this run when given its data, never its file: its data first, as
            # whole as it worked (the entity_ids and time_periods beside x_data and y_data)
            files = []
            self.notes.append("the data the tool worked with earlier in the run, not a file")
            shape = max(shapes, key=lambda s: (len(s), sorted(s)))
            arrays = [n for n in props if n in shape and _type(_branch(props[n]) if isinstance(props[n], dict) else {})
                      == "array"]
            data = [n for n in data + series if n in shape] or data or series
            data += [n for n in arrays if n not in data]
            if self.series_len is None and any(n in data for n in self.companions(props)):
                self.series_len = 6
        if self.attempt and not data:
            data = series
        if self.attempt and data:
            # a retry passes the data whole: the other series (weights, instruments) and the
            # labels that make the rows a panel (entity_ids, time_periods)
            data += [n for n in series + self.companions(props) if n not in data]
            if self.series_len is None and any(n in data for n in self.companions(props)):
                self.series_len = 6  # a balanced panel: two entities over three periods
        for name in files:
            mark = len(self.sources)
            # beside a series of data, a file is the same data: a table
            wanted = self.wanted_extensions(name, _branch(props[name])) or (_TABLE_EXT if data else ())
            try:
                value = (self.existing_file_of(_pointer(name), wanted) if wanted
                         else self.fill(name, _branch(props[name]), _pointer(name), out))
            except _CannotCall:
                value = MISSING
            if value is not MISSING and value is not None:
                out[name] = value
                self.notes.append(f"{name}: the input a tool with no required parameter works on")
                return
            del self.sources[mark:]
        for name in data:
            mark = len(self.sources)
            try:
                value = self.fill(name, _branch(props[name]), _pointer(name), out)
            except _CannotCall:
                value = MISSING
            if value is MISSING or value in (None, []):
                del self.sources[mark:]
                continue
            out[name] = value
        if data and any(name in out for name in data):
            self.notes.append("the data series a tool with no required parameter works on")

    def asked_data(self, props: dict[str, Any]) -> bool:
        """A failed call of this tool asked for inputs it may be given as data (arrays), and
        none of them is a file: the retry passes the data whole (see :meth:`fill_inputs`)."""
        asked = [props.get(n) for n in self.asked_for if n in props]
        return bool(self.attempt and asked) and all(
            isinstance(s, dict) and _type(_branch(s)) == "array" for s in asked)

    @staticmethod
    def companions(props: dict[str, Any]) -> list[str]:
        """Optional arrays that label a data set's rows (``entity_ids``, ``groups``,
        ``time_periods``): passed beside the data series on a retry, as a panel."""
        out = []
        for name, raw in props.items():
            sub = _branch(raw) if isinstance(raw, dict) else {}
            if _type(sub) != "array" or sub.get("default") is not None or set(_words(name)) & _OUTPUT_WORDS:
                continue
            if _panel_axis(name) and _type(_branch(sub.get("items") or {})) in ("string", "integer", "number"):
                out.append(name)
        return out

    @staticmethod
    def schema_props(tool: ToolRef) -> list[str]:
        schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
        props = schema.get("properties")
        return [str(k) for k in props] if isinstance(props, dict) else []

    def want_optional(self, name: str, schema: dict[str, Any], siblings: dict[str, Any], count_included: bool) -> bool:
        if name in self.asked_for:  # a failed call of this tool said it needs this one
            return True
        if self.made_here(name, _branch(schema)):  # the session, presentation or batch made first
            return True
        if clock_parameter(name, schema, self.tool.description):
            return True  # left out, the tool answers for the day the call ran: no task could hold
        if (unless := _REQUIRED_UNLESS.search(str(_branch(schema).get("description") or ""))) and not any(
                other in unless.group(1) for other in siblings):
            return True  # "required if input_file not provided", and no input_file was given
        if self.attempt:
            return False
        sub = _branch(schema)
        desc = f"{sub.get('description', '')}".lower()
        if "deprecated" in desc or sub.get("deprecated"):
            return False
        role = self.role(name, sub, siblings)
        t = _type(sub)
        if role == "count":
            return (not count_included) and self.chance(0.4 if "default" in schema else 0.3)
        if t == "boolean":
            return bool(set(_words(name)) & _CONFIRM_WORDS) or self.chance(0.1)
        if t == "array" and "default" in schema and schema.get("default") in ([], None):
            return False
        if _nullable(schema) and schema.get("default", MISSING) is None:
            # "leave empty unless you have one": only with an observed match
            if role in ("revision",) and self.obs(("commit",)):
                return self.chance(0.3)
            if role == "branch" and self.obs(("branch",)):
                return self.chance(0.3)
            if role == "date_filter" and self.obs(("date", "datetime")):
                return self.chance(0.15)
            return False
        if "enum" in sub:
            return self.chance(0.3)
        if role in ("generic", "number") and self.key_candidates(name, sub):
            return self.chance(0.6)  # a field of that name was seen: worth passing on
        return self.chance(self.policy.optional_rate)

    # ----------------------------------------------------------------------- roles

    def role(self, name: str, schema: dict[str, Any], siblings: dict[str, Any], parent_role: str | None = None) -> str:
        nw = _words(name)
        joined = "_".join(nw)
        desc = f"{schema.get('description', '')} {schema.get('title', '')}".lower()
        t = _type(schema)
        fmt = str(schema.get("format", "")).lower()
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        item_t = _type(_branch(items)) if items else None
        memoryish = "entit" in desc or "node" in desc or "knowledge graph" in self.tool_text or "entit" in self.tool_text
        if parent_role is None and command_parameter(name, schema, f"{self.tool.name} {self.tool_text}"):
            return "command" if t == "string" else "command_argv"
        if t == "string":
            if fmt == "date-time":
                return "datetime"
            if fmt == "date":
                return "date"
            if fmt == "time":
                return "clock"
            if fmt == "email" or nw[-1:] == ["email"]:
                return "email"
            if fmt in ("uri", "url", "iri") or joined in ("url", "uri", "link"):
                return "url"
            if "timezone" in joined or "tz" in nw or ("zone" in nw and "time" in nw) or "time zone" in desc or "iana" in desc:
                return "timezone"
            if "repo" in nw or "repository" in nw:
                return "repo"
            if joined == "time" or "hh:mm" in desc:
                return "clock"
            if any(w in nw for w in ("timestamp", "since", "until", "after", "before")) or (
                    "date" in nw and "update" not in nw):
                return "date_filter"
            if nw and (nw[-1] in ("revision", "rev", "commit", "sha", "ref", "refspec", "treeish")
                       or (nw[-1] == "hash" and (self.has_repo_param or re.search(r"\b(?:git|commits?)\b", self.tool_text)))
                       or (joined in ("target", "contains", "not_contains", "base", "head") and self.has_repo_param)
                       or "commit sha" in desc):
                return "revision"
            if "branch" in nw and "type" not in nw:
                return "branch"
            if joined in ("query", "sql", "statement", "sql_query", "sql_statement") and (
                    any(w in desc for w in SQL_WORDS) or any(w in self.tool_text for w in SQL_WORDS)):
                return "sql"
            if "table" in nw:
                return "table"
            if joined in ("expression", "expr", "formula", "equation", "calculation", "math"):
                return "expression"
            if "pattern" in nw or "glob" in nw or "regex" in nw:
                return "pattern"
            # relationType, rel ("Relationship type"), predicate: the kind of a link, of a graph's
            if (memoryish or _GRAPH_WORDS.search(self.tool_text)) and (
                    ("relation" in nw and "type" in nw) or joined in ("rel", "relation", "relationship", "predicate")
                    or (re.search(r"\b(?:relation|relationship|edge|link) type\b", desc) and "name" not in nw)):
                return "relation_type"
            if memoryish:
                if "type" in nw and ("entity" in nw or "entity" in desc or joined == "type"):
                    return "entity_type"
                if joined in ("from", "to", "entity_name", "source", "target") or (
                        "name" in nw and ("entity" in desc or "node" in desc)):
                    if joined == "name" and self.intent == "create" and parent_role == "new_entities":
                        return "new_entity_name"
                    return "entity_name"
            if "path" in nw or joined in ("file", "filename", "filepath", "source", "destination", "src", "dst",
                                          "dest", "dir", "directory", "folder", "location", "target_path") or (
                    len(nw) > 1 and nw[-1] in ("dir", "directory", "folder", "file")
                    and not {"id", "name", "content", "contents", "type", "format"} & set(nw)):
                return "path"
            if joined in ("query", "q", "search", "keyword", "keywords", "term", "search_term", "search_query"):
                return "search"
            if (nw[:1] == ["old"] and not set(nw[1:]) & set(_ID_WORDS)) or joined in (
                    "old_text", "old_string", "search_text", "find"):  # old_key: a key, not text to replace
                return "old_text"
            if nw[:1] == ["new"] and ("text" in nw or "string" in nw or "content" in nw):
                return "new_text"
            if joined in ("content", "contents", "data", "body", "text") and self.has_path_param and parent_role is None:
                return "file_content"
            if joined in ("message", "msg", "commit_message", "comment", "insight", "note", "notes", "summary",
                          "text", "body", "content", "contents", "description", "title", "observation", "reason"):
                return "text"
            if joined in ("name",) and parent_role == "new_entities":
                return "new_entity_name"
            return "generic"
        if t == "array":
            if item_t == "string":
                if memoryish and ("name" in joined or "names" in nw):
                    return "entity_names"
                if memoryish and ("observation" in joined or "contents" in nw):
                    return "observations_existing" if self.intent == "delete" else "observations_new"
                if joined in ("files", "paths", "file_paths", "filepaths", "pathspec"):
                    return "repo_files" if self.has_repo_param and "path" not in nw else "paths"
                if "pattern" in nw or "exclude" in nw:
                    return "patterns"
                return "string_list"
            if item_t == "object":
                return "objects"
            return "generic"
        if t in ("integer", "number"):
            if t == "integer" and (nw[-1:] in (["index"], ["idx"]) or joined == "position"):
                return "index"
            if joined in ("max_count", "limit", "count", "n", "head", "tail", "top", "depth", "lines",
                          "context_lines", "page_size", "max_results", "num_results", "max", "k", "size",
                          "per_page", "max_lines") or nw[:1] == ["max"] or "number of" in desc:
                return "count"
            return "number"
        if t == "boolean":
            return "boolean"
        if t == "object":
            return "object"
        return "generic"

    # ----------------------------------------------------------------------- fill

    def fill(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any],
             parent_role: str | None = None) -> Any:
        if "const" in schema:
            return schema["const"]
        sub = _branch(schema)
        if "const" in sub:
            return sub["const"]
        enum = sub.get("enum") if isinstance(sub.get("enum"), list) else None
        if enum:
            # to_unit after from_unit: another value, or the conversion gives back what it was given
            paired = _counterpart_value(name, siblings)
            choices = [e for e in enum if e != paired] if paired is not MISSING and len(enum) > 1 else enum
            return self.fill_enum(name, choices, sub, pointer)
        if _type(sub) == "string" and json_wanted(name, str(sub.get("description") or ""), self.failure_texts()):
            return self.json_text(name, sub, pointer)
        if _type(sub) == "string" and (listed := self.told_choices(pointer)):
            self.notes.append(f"{name} from the choices a failed call was told")
            return self.choose(listed, pointer)
        if _type(sub) == "string" and (choices := self.soft_choices(sub)):
            return self.fill_enum(name, choices, sub, pointer)
        if _type(sub) in ("integer", "number") and (told := self.told_range(pointer)) is not None:
            if told[1] < told[0]:  # none to point at: the thing must be made first
                self.why_missing[pointer] = f"a failed call was told there are none ({told[0]}-{told[1]})"
                return MISSING
            self.notes.append(f"{name} within the range a failed call was told ({told[0]}-{told[1]})")
            return self.choose([v for v in (told[0], told[0] + 1, told[1]) if told[0] <= v <= told[1]], pointer)
        if _type(sub) == "string" and self.intent == "create" and self.told_wrong_kind(pointer):
            # "WRONGTYPE ... 'user:1'": a thing of another kind holds that name; a new one does not
            fresh = [v for v in plausible_values(name, str(sub.get("description") or ""), self.tool_text, makes=True)
                     if not _placeholder(v) and json.dumps(v) not in self.failed_at(pointer)]
            if fresh:
                self.notes.append(f"{name}: a new name, as the one given held another kind of thing")
                return self.choose(fresh, pointer)
        role = self.role(name, sub, siblings, parent_role)
        handler = getattr(self, f"r_{role}", None)
        value = MISSING
        if handler is not None:
            value = handler(name, sub, pointer, siblings)
        if value is MISSING and not (_names_new(name) and _type(sub) == "string"):
            value = self.by_key(name, sub, pointer)  # not for new_key: an existing key would be no new one
        if value is MISSING:
            value = self.generic(name, sub, pointer, siblings, parent_role)
        if isinstance(value, (dict, list)) and not value and json.dumps(value) in self.failed_at(pointer):
            # sent empty, it failed: nothing grounded fills it, and empty again would fail again
            self.why_missing[pointer] = "an empty value failed before and nothing grounded fills it"
            return MISSING
        if isinstance(value, str) and (start := self.told_start(name)) and not value.startswith(start):
            self.notes.append(f"{name} begins with {start!r}, as a failed call was told")
            value = start + value
        return value

    def told_start(self, name: str) -> str | None:
        """What a value of ``name`` must begin with, as a failure of this tool said ("Formula
        must start with '='", "the path should begin with '/'"), or None."""
        for text in self.told_in_run():
            for m in _START_TOLD.finditer(text):
                if _named(name, m.group(1)):
                    return m.group(2)
        return None

    def fill_enum(self, name: str, enum: list[Any], schema: dict[str, Any], pointer: str) -> Any:
        """An allowed value: one observed under the parameter's name wins; but a call that
        edits a thing (``update_task_status(status)``) is given another value than the newest
        one observed, its current value: set to what it is, the thing would not change, and
        no read after the call could show that it did."""
        allowed = {json.dumps(e, sort_keys=True): e for e in enum}
        for v in self.values:  # newest first
            if v.key and _norm(v.key) == _norm(name):
                k = json.dumps(v.value, sort_keys=True)
                if k in allowed and self.intent == "edit":
                    others = [e for e in enum if json.dumps(e, sort_keys=True) != k]
                    if others:
                        self.notes.append(f"{name}: another value than the current {v.value!r}")
                        return self.choose(others, pointer)
                if k in allowed and k not in self.failed_at(pointer):
                    self.use(pointer, v)
                    return allowed[k]
        if "default" in schema and schema["default"] in enum and self.attempt == 0 and self.chance(0.5):
            return schema["default"]
        return self.choose(list(enum), pointer)

    def by_key(self, name: str, schema: dict[str, Any], pointer: str) -> Any:
        """An observed value that sat under a field of the same name, of a compatible type;
        else under the identifying word its documentation names (``name``: "The Redis hash
        key" -> a value listed as a key)."""
        cands = self.key_candidates(name, schema)
        doc = (str(schema.get("description") or "") or param_doc(self.tool.description or "", name)
               or self.ws.param_docs.get(self.tool.server, {}).get(name, ""))
        first = re.split(r"[.;(\n]", doc, maxsplit=1)[0]
        aliases = list(dict.fromkeys(w for w in _words(first) if w in _ID_WORDS and w != _norm(name)))
        if aliases and _norm(name) in _ID_WORDS and _norm(name) not in _words(first):
            # name: "The Redis hash key": a key listed, before any value that sat under a field
            # called "name" (a field of a hash the world showed)
            cands = next((c for a in aliases if (c := self.key_candidates(a, schema))), cands)
        elif not cands:
            cands = next((c for a in aliases if (c := self.key_candidates(a, schema))), cands)
        if not cands:
            # source_sheet <- a sheet listed; sourceSessionId <- a session id; depends_on_task_id
            # <- a task id: the thing named after the part it plays
            words = _words(name)
            rest = list(words)
            while len(rest) > 1 and rest[0] in _ROLE_WORDS:
                rest.pop(0)
            if len(rest) < len(words):
                cands = self.key_candidates("_".join(rest), schema)
        # epic_id is not given "story-abb8ff0b": an id that names the thing it identifies
        # names another thing ("Epic not found: story-abb8ff0b")
        cands = [v for v in cands if not _names_other_thing(name, v.value)]
        chosen = self.pick(cands, pointer)
        return chosen.value if chosen else MISSING

    def key_candidates(self, name: str, schema: dict[str, Any]) -> list[Value]:
        n = _norm(name)
        if len(n) < 2:
            return []
        t = _type(schema)

        def ok(v: Value) -> bool:
            if not v.key or _norm(v.key) != n:
                return False
            if t == "string":
                return isinstance(v.value, str) and 0 < len(v.value) <= 500
            if t == "integer":
                return isinstance(v.value, int) and not isinstance(v.value, bool)
            if t == "number":
                return isinstance(v.value, (int, float)) and not isinstance(v.value, bool)
            return False

        cands = [v for v in self.values if ok(v) and v.kind not in ("line", "quoted", "row", "relation")]
        if not cands and t in ("integer", "string") and n.endswith("id") and len(n) > 2:
            # customer_id <- the id of a row of the customers table
            owner = n[:-2]

            def fk(v: Value) -> bool:
                # the id of a row of the customers table, or of an item of a "customers" list
                owners = {str(v.context.get("table") or ""), _collection(v.path)}
                return (v.key == "id" and any(o and _norm(_singular(o)) == owner for o in owners)
                        and isinstance(v.value, int if t == "integer" else str))
            cands = [v for v in self.values if fk(v)]
            if not cands:
                # element_id <- the id a tool named after elements (create_element,
                # query_elements) answered with, at the top of its result or of its list
                tools = {r.step: r.tool for r in self.history}

                def made_by(v: Value) -> bool:
                    tool_words = {_norm(_singular(w)) for w in _words(str(tools.get(v.step, "") if v.step >= 0 else ""))}
                    return (v.key == "id" and owner in tool_words and not _collection(v.path)
                            and isinstance(v.value, int if t == "integer" else str)
                            and not isinstance(v.value, bool))
                cands = [v for v in self.values if made_by(v)]
        if not cands and t in ("integer", "string"):
            # key <- an item of a "keys" list; sheet_name <- of "sheets" / "sheet_names";
            # task_id <- the id (or name) of an item of a "tasks" list
            owner = next((n[: -len(s)] for s in _ID_WORDS if n.endswith(s) and len(n) > len(s)), n)
            wanted_type = int if t == "integer" else str

            def item(v: Value) -> bool:
                if not isinstance(v.value, wanted_type) or isinstance(v.value, bool) or v.kind in ("line", "row"):
                    return False
                if isinstance(v.value, str) and not 0 < len(v.value) <= 200:
                    return False
                listed = _list_of(v.path)
                if listed and _norm(_singular(listed)) in (n, owner):
                    return True  # a plain item of the list
                within = _collection(v.path)
                return bool(within) and _norm(_singular(within)) == owner and _norm(v.key or "") in _ID_WORDS
            cands = [v for v in self.values if item(v)]
        return cands

    def generic(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any],
                parent_role: str | None = None) -> Any:
        t = _type(schema)
        if "default" in schema and schema["default"] is not None and self.attempt == 0:
            return copy.deepcopy(schema["default"])
        examples = [e for e in schema.get("examples") or [] if not _placeholder(e)] \
            if isinstance(schema.get("examples"), list) else []
        if examples:
            return copy.deepcopy(self.choose(examples, pointer))
        if "example" in schema and not _placeholder(schema["example"]):
            return copy.deepcopy(schema["example"])
        if t == "string":
            desc = str(schema.get("description", ""))
            earlier = self.earlier_argument(name, pointer)
            if earlier is not MISSING:
                return earlier
            if (cell := self.cell_reference(name, desc, pointer)) is not MISSING:
                return cell
            written = json_examples(desc)
            # JSON wanted: only JSON written out, never a string quoted inside it
            ex = [e for e in written if not _stand_in(e)] if written or re.search(r"\bJSON\b", desc) \
                else _desc_examples(desc)
            if ex:
                return self.choose(ex, pointer)
            documented = [v for v in documented_values(self.tool.description or "", name, desc) if not _stand_in(v)]
            if documented:
                self.notes.append(f"{name} from the tool's documentation")
                return self.choose(documented, pointer)
            topic = " mathematics" if self.tool.server in self.ws.math else ""
            kind = value_kind(name, f"{self.tool_text} {desc} {' '.join(self.schema_props(self.tool))}{topic}")
            if kind:
                return self.typed_value(kind, name, f"{self.tool_text} {desc}", pointer, siblings)
            if is_free_text(name, desc, self.tool_text):
                return self.free_text(name, schema, pointer, siblings)
            plausible = [v for v in plausible_values(name, desc or param_doc(self.tool.description or "", name),
                                                     self.tool_text, makes=self.intent == "create" or _names_new(name))
                         if not _placeholder(v)]
            if plausible:
                self.notes.append(f"{name}: a value of the kind its name and documentation describe")
                return self.choose(plausible, pointer)
            if (field := self.field_name(name, pointer, siblings)) is not MISSING:
                return field
            if _nullable(schema):
                return None  # the schema allows null: a grounded value, unlike a placeholder
            self.why_missing[pointer] = "a string with no enum, default, examples or format, and no value of that name seen"
            return MISSING
        if t in ("integer", "number"):
            return self.num_in_range(schema, t)
        if t == "boolean":
            return bool(schema.get("default", False))
        if t == "array":
            item_t = _type(_branch(schema.get("items") or {}))
            if item_t == "string":
                return self.r_string_list(name, schema, pointer, siblings)
            if item_t in ("integer", "number", "array"):
                return self.number_list(schema, pointer)
            return self.r_objects(name, schema, pointer, siblings)
        if t == "object":
            return self.fill_object(schema, pointer, parent_role=parent_role or "object")
        if t == "null":
            return None
        return MISSING

    def same_result(self, records: list[Value]) -> list[Value]:
        """Records from a result another argument of this call came from (the rows the
        session it names loaded), when there are any; else all of them."""
        steps = {s.step for s in self.sources if s.step >= 0}
        return [v for v in records if v.step in steps] or records

    def field_name(self, name: str, pointer: str, siblings: dict[str, Any] | None = None) -> Any:
        """A column or field name (``column``, ``group_by``, ``columns/0``, ``sort_field``,
        the ``target`` of a tool about a table's columns): a field of a record (a row) the
        world showed, newest first; else a column a result listed (:meth:`listed_field`)."""
        words = set(_words(name))
        if not (_field_param(name) or ("target" in words and words <= {"target", "name", "column", "variable"}
                                        and _ABOUT_COLUMNS.search(self.tool_text))):
            return MISSING
        records = self.same_result(self.obs(("row",), lambda v: isinstance(v.value, dict) and any(
            isinstance(k, str) and k for k in v.value)))
        chosen = self.pick(records, pointer, record=False)
        if chosen is None:
            return self.listed_field(name, pointer, siblings or {})
        keys = [k for k in chosen.value if isinstance(k, str) and k and k not in self.gone]
        key = self.choose(keys, pointer)
        if key is MISSING:
            return MISSING
        self.use(pointer, chosen, key)
        self.notes.append(f"{name}: a field of a record seen")
        return key

    def listed_field(self, name: str, pointer: str, siblings: dict[str, Any]) -> Any:
        """A column a result listed (``{"features": ["id", "price"]}``, ``numerical_columns``),
        of a result of a call given the same file or handle as this one when there is one: the
        columns of the dataset this call reads."""
        def listed(v: Value) -> bool:
            within = _list_of(v.path)
            return (isinstance(v.value, str) and 0 < len(v.value) <= 100 and v.kind not in ("line", "row")
                    and bool(within) and bool({_singular(w) for w in _words(within)} & _COLUMN_LISTS))
        cands = [v for v in self.values if listed(v)]
        if not cands:
            return MISSING
        given = {json.dumps(v, sort_keys=True) for v in siblings.values() if isinstance(v, (str, int))}
        called = {r.step: {json.dumps(v, sort_keys=True) for v in (r.arguments or {}).values()
                           if isinstance(v, (str, int))} for r in self.history}
        same = [v for v in cands if given and given <= called.get(v.step, set())]
        if given and not same:
            # the columns of another file would not be this file's ("Column 'sku' was not found")
            self.why_missing[pointer] = "no result listed the columns of what the call reads"
            return MISSING
        chosen = self.pick(same or cands, pointer)
        if chosen is None:
            return MISSING
        self.notes.append(f"{name}: a column a result listed")
        return chosen.value

    def cell_reference(self, name: str, desc: str, pointer: str) -> Any:
        """A spreadsheet cell (``B3``) or range (``A1:F7``) for a parameter that takes one, as
        the world showed them: ``end_cell`` the last cell of a range a result gave, ``start``
        its first, ``data_range`` the range, ``cell`` a cell a result named. A parameter takes
        one when its name says ``cell`` or ``range`` (a range then), or says start or end in a
        tool about cells."""
        words = set(_words(name))
        about_cells = bool(re.search(r"(?i)\bcells?\b", f"{self.tool_text} {desc}"))
        if not (words & {"cell", "cells", "range"} or (about_cells and words & (_LOWER_WORDS | _UPPER_WORDS))):
            return MISSING
        found: list[tuple[Value, str, str | None]] = []  # value, the range or cell, its end
        for v in self.values:
            if not isinstance(v.value, str) or len(v.value) > 400:
                continue
            whole = _CELL_RANGE.fullmatch(v.value.strip())
            for m in [whole] if whole else _CELL_RANGE.finditer(v.value):
                if m.group(2) or whole:  # in a sentence, only a range is surely cells ("UTF8" is not)
                    found.append((v, m.group(0), m.group(2)))
        if not found:
            return MISSING
        ranges = [(v, r, end) for v, r, end in found if end]
        if "range" in words and not words & (_LOWER_WORDS | _UPPER_WORDS | {"cell", "cells"}):
            pool = [(v, r) for v, r, _ in ranges]
        elif words & _UPPER_WORDS:
            pool = [(v, end) for v, _, end in ranges]
        else:
            pool = [(v, r.split(":")[0]) for v, r, _ in found]
        failed = set(self.failed_at(pointer))
        pool = [(v, c) for v, c in pool if json.dumps(c) not in failed]
        if not pool:
            return MISSING
        v, chosen = pool[0] if self.attempt == 0 else pool[self.attempt % len(pool)]
        self.use(pointer, v, chosen)
        self.notes.append(f"{name}: a cell reference a result showed")
        return chosen

    def json_text(self, name: str, schema: dict[str, Any], pointer: str) -> Any:
        """A JSON text for a parameter that takes one (its description says so, or a failed
        call was told its JSON was invalid): a JSON value its documentation writes out, else
        an empty array or object as the documentation names; never a word observed elsewhere."""
        desc = str(schema.get("description") or "")
        documented = documented_json(self.tool.description or "", name, desc)
        written = [e for e in documented if not _stand_in(e)]
        if written:
            self.notes.append(f"{name}: JSON its documentation writes out")
            return self.choose(written, pointer)
        if documented:  # only stand-ins ({"path": "/path/to/file"}): their shape is no value
            self.why_missing[pointer] = "a JSON text whose documented examples are all placeholders"
            return MISSING
        if "default" in schema and isinstance(schema["default"], str) and self.attempt == 0:
            return schema["default"]
        doc = f"{desc} {param_doc(self.tool.description or '', name)}".lower()
        return "[]" if re.search(r"\b(array|list)\b", doc) or (not re.search(r"\bobject\b", doc)
                                                              and name.lower().endswith("s")) else "{}"

    def made_here(self, name: str, schema: dict[str, Any]) -> bool:
        """An optional id (``presentation_id``, ``sessionId``) that a result of this exploration
        returned under the same name: the thing made or opened first, which a server may
        otherwise not see as current. Passed on, on a retry too."""
        n = _norm(name)
        if len(n) <= 2 or not n.endswith("id") or _type(schema) not in ("string", "integer"):
            return False
        return any(v.step >= 0 for v in self.key_candidates(name, schema))

    def made_value(self, name: str, schema: dict[str, Any], pointer: str) -> Any:
        """The id made or opened last in this exploration under ``name``: passed on even if a
        failed call carried it, unless its error named it (the call failed for another reason:
        a slide index past the end)."""
        texts = self.failure_texts()
        for v in sorted((v for v in self.key_candidates(name, schema) if v.step >= 0), key=lambda v: -v.step):
            if v.value in self.gone or any(echoes(t, v.value, numbers=True) for t in texts):
                continue
            self.use(pointer, v)
            return v.value
        return MISSING

    def told_choices(self, pointer: str) -> list[str]:
        """The values a failed call of this tool was told a string it sent may take
        ("Invalid operation type: sum, supported operations: ['area', 'volume']", "must be one
        of: csv, json"): only when the error names the value sent at ``pointer``."""
        for args, text in zip(self.failed_args, self.failure_texts()):
            sent = at_pointer(args, pointer, MISSING)
            if not isinstance(sent, str) or not sent or sent not in text:
                continue
            m = _CHOICES_TOLD.search(text)
            if not m or not self.choices_of(pointer, m.group(0)):
                continue
            # a list after a colon runs to the end of the text: not into the JSON dump after it
            listed = m.group(1) or re.sub(r"\s+[{\[].*$", "", m.group(2) or "")
            quoted = [a or b for a, b in re.findall(r"'([^'\n]{1,60})'|\"([^\"\n]{1,60})\"", listed)]
            words = quoted or [w.strip(" .`'\"") for w in re.split(r",|\|| or ", listed)]
            words = [w for w in dict.fromkeys(words) if w and w != sent and len(w) <= 60 and not _placeholder(w)]
            if len(words) >= 2 or (words and quoted):
                return words
        return []

    def choices_of(self, pointer: str, told: str) -> bool:
        """Whether a list an error gave ("Available columns: id, qty") is of the values the
        parameter at ``pointer`` takes: its noun is the parameter's, or no other parameter's
        (``table_name`` was named in "not found in table orders", the columns are not its)."""
        said = _CHOICE_NOUN.search(told)
        if not said:
            return True
        noun = _singular(said.group(1).lower())
        if noun in {_singular(w) for w in _words(pointer.rsplit("/", 1)[-1])}:
            return True
        return not any(noun in {_singular(w) for w in _words(p)} for p in self.schema_props(self.tool))

    @staticmethod
    def soft_choices(schema: dict[str, Any]) -> list[str]:
        """The values a string parameter's own description lists as those it takes
        ("Operation type. Supports: 'add', 'subtract'"): an enum the schema did not write,
        so that an observed value of another tool's field of the same name ("Addition") is not
        sent. A description of a JSON text lists shapes, not choices."""
        desc = str(schema.get("description") or "")
        if re.search(r"\bJSON\b|[\[{]", desc):
            return []
        choices = documented_choices(desc)
        if not all(_CHOICE.fullmatch(c) for c in choices):
            return []
        return [c for c in choices if not _placeholder(c)]

    def told_range(self, pointer: str) -> tuple[int, int] | None:
        """The range of integers a failed call of this tool was told a number it sent must lie
        in ("Invalid slide index: 5. Available slides: 0-1", "Pages must be between 1 and 2"):
        only when the error names the number sent at ``pointer``."""
        for args, step, text in zip(self.failed_args, self.failed_steps, self.failure_texts()):
            sent = at_pointer(args, pointer, MISSING)
            if isinstance(sent, bool) or not isinstance(sent, (int, float)):
                continue
            if not re.search(rf"(?<![\d.]){re.escape(_fmt_num(sent))}(?!\.?\d)", text):
                continue
            if self.changed_since(step):
                continue  # "Available slides: 0--1", then a slide was added: the range is another now
            m = _RANGE_TOLD.search(text)
            if m:
                lo, hi = (int(g) for g in m.groups() if g is not None)
                return lo, hi  # hi < lo: "Available slides: 0--1", there are none
        return None

    def changed_since(self, step: int) -> bool:
        """Whether a call of this tool's server that is no reader (by its name) worked after
        ``step``: what a failure then said of the world (how many things there are) may no
        longer hold."""
        return any(r.step > step and r.server == self.tool.server and not r.is_error and not looks_like_error(r)
                   and not reads_by_name(r.tool, r.server) for r in self.history)

    def earlier_argument(self, name: str, pointer: str) -> Any:
        """The value an earlier successful call of the same server gave a parameter of the
        same name (``get(key)`` after ``set(key=...)``, ``write(sheet_name)`` after
        ``add_sheet(sheet_name)``); never for a tool that makes a new named thing, which
        would then make the same one twice."""
        if self.tool_words[:1] and self.tool_words[0] in ("create", "new", "make", "register"):
            return MISSING
        n = _norm(name)
        failed = set(self.failed_at(pointer))
        for r in reversed(self.history):
            if r.server != self.tool.server or r.is_error or looks_like_error(r) or not isinstance(r.arguments, dict):
                continue
            for k, v in r.arguments.items():
                if (_norm(str(k)) == n and isinstance(v, str) and 0 < len(v) <= 200 and v not in self.gone
                        and json.dumps(v) not in failed):
                    self.notes.append(f"{name} as an earlier call of the server gave it (step {r.step})")
                    return v
        return MISSING

    def number_list(self, schema: dict[str, Any], pointer: str, length: int | None = None) -> list[Any]:
        """A non-empty list of numbers (of rows of numbers, for a list of lists): numbers the
        exploration observed first, within the schema's bounds and item counts. The lists of
        one call are series of one sample: every top-level list has the length of the first
        (``x_data`` and ``y_data`` pair up), and the rows of a list of lists share one width
        and differ from each other (a table, not a ragged or singular one)."""
        items = _branch(schema.get("items") or {})
        lo = max(1, int(schema.get("minItems", 1) or 1))
        top = pointer.count("/") == 1
        told = self.told_length(pointer) if top and length is None else None
        hi = int(schema.get("maxItems", 0) or 0) or max(lo, 6, told or 0)
        wanted = (length or self.count_asked() or told or (_documented_count(schema) if top else None)
                  or (self.series_len if top else None)
                  or self.choose([3, 4, 5, 6]))
        n = max(lo, min(hi, wanted))
        if top and self.series_len is None:
            self.series_len = n
        if _type(items) == "array":
            width = self.choose([2, 3])
            return [self.number_list(items, f"{pointer}/{i}", length=width) for i in range(n)]
        t = _type(items)
        if top and (axis := _panel_axis(pointer.lstrip("/"))):
            self.notes.append(f"{pointer.lstrip('/')}: the {axis} labels of the rows, as a panel")
            return _panel_labels(axis, n, t)
        if top and self.binary_wanted(pointer.lstrip("/")):
            self.notes.append(f"{pointer.lstrip('/')}: a binary outcome (0 or 1)")
            return [(i + i // 2) % 2 for i in range(n)]  # 0, 1, 1, 0, 0, 1: both, unordered
        seen = [v.value for v in self.numbers() if isinstance(v.value, (int, float))
                and (t != "integer" or isinstance(v.value, int))]
        pool = list(dict.fromkeys(seen))[:n] if len(set(seen)) >= n and length is None else []
        if not pool:
            start = self.rng.randint(2, 9)
            pool = [start + 3 * i + self.rng.randint(0, 2) for i in range(n)]
        return [int(x) if t == "integer" else x for x in pool]

    def told_length(self, pointer: str) -> int | None:
        """A longer series after a failed call's error cited the length of the list it sent
        beside a larger number ("数据点数(4)应至少为季节周期(12)的2倍", "need at least 10
        observations, got 4"): twice the largest number cited, so that a minimum stated as a
        multiple is met too (at most 60)."""
        for args, text in zip(self.failed_args, self.failure_texts()):
            sent = at_pointer(args, pointer, MISSING)
            if not isinstance(sent, list) or not sent:
                continue
            cited = [int(n) for n in re.findall(r"(?<![\w.])(\d{1,3})(?![\w.])", text)]
            if len(sent) not in cited:
                continue
            larger = [n for n in cited if n > len(sent)]
            if larger:
                return min(60, 2 * max(larger))
        return None

    def binary_wanted(self, name: str) -> bool:
        """A series that must hold 0s and 1s: an outcome or treatment (``y_data``,
        ``treatment``) of a tool that models a binary choice (logit, probit, logistic), or
        after a failure of this tool said so ("endog must be in the unit interval")."""
        if not set(_words(name)) & _BINARY_SERIES:
            return False
        return bool(_BINARY_TOOL.search(self.tool_text)) or any(_BINARY_TOLD.search(t) for t in self.failure_texts())

    def typed_value(self, kind: str, name: str, text: str, pointer: str,
                    siblings: dict[str, Any] | None = None) -> str:
        """A value of the kind a mathematical parameter takes (see
        :func:`~firefly.explore.paramdocs.value_kind`); a comma-separated one when the
        documentation says so. Beside a sibling of the same kind it differs from it (``lhs``
        and ``rhs``), and an upper bound lies above the lower one given."""
        listed = "comma-separated" in text.lower() or "comma separated" in text.lower()
        digit = next((int(c) for c in name if c.isdigit()), 1)
        given = {v for v in (siblings or {}).values() if isinstance(v, str)}
        if kind == "number":
            if listed:
                return "1, 2, 3"
            below = [int(v) for k, v in (siblings or {}).items() if isinstance(v, str) and v.isdigit()
                     and set(_words(k)) & _LOWER_WORDS]
            if below and set(_words(name)) & _UPPER_WORDS:
                return str(max(below) + self.choose([3, 4, 5], pointer))
            return self.choose([v for v in ["6", "10", "12", "7"] if v not in given] or ["6"], pointer)
        if kind == "symbol":
            own = name.lower() if name.lower() in ("x", "y", "z", "t") else "x"
            return "x, y" if listed else own
        if kind == "matrix":
            return self.matrix_text(digit, pointer)
        if kind == "point":
            return ["(0, 0)", "(4, 0)", "(0, 3)"][(digit - 1) % 3]
        if kind == "set":
            return ["{1, 2, 3}", "{2, 3, 5}"][(digit - 1) % 2]
        if _ODE.search(text):
            # an ordinary differential equation is in an unknown function: f(x), not an expression of x
            words = set(_words(name))
            if words & {"func", "function", "f", "unknown"}:
                return "f(x)"
            if words & {"sol", "solution"}:
                return "Eq(f(x), C1*exp(x))"
            return "Derivative(f(x), x) - f(x)"
        if listed:
            return self.choose(["x > 0, y > 0", "x, y"], pointer)
        return self.choose([e for e in ["x**2 + 3*x + 2", "x**3 - 2*x", "sin(x) + x**2"] if e not in given], pointer)

    def matrix_text(self, digit: int, pointer: str) -> str:
        """A matrix written as text: as nested lists first; after that failed here, written
        as a constructor call (``Matrix([[2, 1], [1, 3]])``: the server read the lists as a
        plain list, "'list' object has no attribute 'det'"), or as rows of numbers (``2, 1; 1,
        3``) when the failure says it parses the numbers itself ("invalid literal for int()")."""
        rows = [[2, 1], [1, 3]] if digit == 1 else [[1, 0], [2, 1]]
        forms = {"lists": str(rows), "call": f"Matrix({rows})",
                 "rows": "; ".join(", ".join(str(x) for x in row) for row in rows)}
        failed = set(self.failed_at(pointer))
        left = [k for k, text in forms.items() if json.dumps(text) not in failed]
        if not left:
            return forms["lists"]
        worked = self.matrix_form_worked()
        if worked in left:  # the form another tool of this server took: first
            return forms[worked]
        if "lists" not in left and "rows" in left and any(_PARSES_NUMBERS.search(t) for t in self.failure_texts()):
            return forms["rows"]
        return forms[left[0]]

    def matrix_form_worked(self) -> str | None:
        """``call`` when a call of this server that worked in this exploration was given a
        matrix written as a constructor call (``Matrix([[2, 1], [1, 3]])``), or one given
        nested lists failed reading them as a plain list: the server reads matrix texts as
        expressions. (Rows of numbers one tool parsed itself, ``2, 1; 1, 3``
        for a constructor's ``rows``, say nothing of how its other tools read a matrix.)"""
        for r in reversed(self.history):
            if r.server != self.tool.server or not isinstance(r.arguments, dict):
                continue
            texts = [v.strip() for v in r.arguments.values() if isinstance(v, str)]
            if not (r.is_error or looks_like_error(r)):
                if any(_MATRIX_CALL.fullmatch(t) for t in texts):
                    return "call"
                continue
            said = " ".join(str(b.get("text", "")) for b in r.content if isinstance(b, dict))
            if _READ_AS_LIST.search(said) and any(t.startswith("[[") for t in texts):
                return "call"  # another tool read nested lists as a plain list: so will this one
        return None

    def free_text(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> str:
        """Human text for a parameter that takes any (see
        :func:`~firefly.explore.paramdocs.is_free_text`): a passage of a seed text file the
        world holds, else a sentence of what the exploration observed."""
        limit = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else 400
        prose = sorted(self.seed_texts().items(), key=lambda pt: (not pt[0].endswith((".md", ".txt")), pt[0]))
        used = {v for v in siblings.values() if isinstance(v, str)}
        if set(_words(name)) & _SHORT_TEXT_WORDS:  # a topic or a title is a line, not a document
            # typed as a user types one: "Spring Sale 2025 - planning meeting", no em dash (a tool
            # taking ASCII only rejected the heading's; another exploration forgot it was told)
            texts = [_first_line(t, min(limit, 80)).translate(_TYPOGRAPHY) for _, t in prose if t.strip()]
        else:
            texts = [t.strip()[: min(limit, 400)] for _, t in prose if t.strip()]
        texts = [t for t in texts if t and t not in used and not _placeholder(t)]
        texts = texts[:3]  # prose first: notes, not data files
        text = self.choose(texts, pointer) if texts else str(self.r_text(name, schema, pointer, siblings))[:limit]
        if any(_ASCII_TOLD.search(t) for t in self.told_in_run()):  # "topic must contain ASCII only"
            text = unicodedata.normalize("NFKD", text.replace("\u2014", "-").replace("\u2013", "-"))
            text = text.encode("ascii", "ignore").decode()
        return text

    def num_in_range(self, schema: dict[str, Any], t: str, options: Iterable[Any] = (1, 2, 3, 5, 10)) -> Any:
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        pool = []
        for o in options:
            if lo is not None and (o < lo or ("exclusiveMinimum" in schema and o <= lo)):
                continue
            if hi is not None and (o > hi or ("exclusiveMaximum" in schema and o >= hi)):
                continue
            pool.append(o)
        if not pool:
            base = lo if lo is not None else (hi if hi is not None else 1)
            pool = [base + (1 if "exclusiveMinimum" in schema else 0)]
        v = self.choose(pool)
        return int(v) if t == "integer" else v

    # ----------------------------------------------------------------------- role fillers

    def r_repo(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        if self.ws.git_repos:
            return self.ws.git_repos[0] if self.attempt == 0 or len(self.ws.git_repos) == 1 else self.choose(list(self.ws.git_repos))
        seen = [r.arguments.get(name) for r in self.history if isinstance(r.arguments, dict) and isinstance(r.arguments.get(name), str)]
        return seen[-1] if seen else f"{VIRTUAL_ROOT}/repo"

    # paths ------------------------------------------------------------------

    def path_mode(self, name: str) -> str:
        j = "_".join(_words(name))
        tool = self.tool_words
        if j in _DESTINATIONS:
            return "new"
        if j in ("source", "src", "from", "old_path"):
            return "existing"
        nw = _words(name)
        if nw[-1:] and nw[-1] in ("dir", "directory", "folder", "dirname") and "new" not in nw:
            return "dir"  # an output folder too: outputs go into a folder that exists
        if any(w in nw for w in ("input", "source", "src")) or nw[:1] == ["in"]:
            return "existing"  # what a tool reads, whatever it makes of it
        if any(w in nw for w in ("output", "save", "destination", "dest")) or nw[:1] == ["out"]:
            return "new"
        if self.intent == "create":
            if any(w in tool for w in ("directory", "dir", "folder", "mkdir")):
                return "new_dir"
            return "new_file"
        if self.intent == "edit":
            return "known_file"
        if set(nw) & {"file", "filename", "filepath"} or any(set(nw) & set(names) for names, _ in FILE_KINDS):
            return "file"  # pdf_path of a tool that lists a PDF's links: a file, not a folder
        if self.intent == "list" or any(w in tool for w in ("directory", "dir", "folder", "tree", "search", "find", "glob", "ls")):
            return "dir"
        if "info" in tool or "stat" in tool or "exists" in tool:
            return "any"
        return "file"

    def r_path(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        mode = self.path_mode(name)
        if mode in ("new", "new_file") and self.told_absent(pointer):
            mode = "file"  # the new file it was given does not exist: it works in one that does
        if mode == "dir":
            return self.existing_dir(pointer)
        wanted = self.wanted_extensions(name, schema)
        if mode in ("file", "existing", "any"):
            return self.existing_file(pointer, any_kind=mode == "any", wanted=wanted)
        if mode == "known_file":
            return self.known_file(pointer)
        if mode == "new_dir":
            parent = self.existing_dir(pointer, record=True)
            return posixpath.join(parent, f"{self.new_stem()}-{self.rng.randint(1, 999)}")
        # a new file
        source = next((v for k, v in siblings.items() if isinstance(v, str) and self.in_fs(v) and k != name), None)
        if mode == "new" and source:
            d, base = posixpath.split(source)
            stem, ext = posixpath.splitext(base)
            if self.obs(("dir",), lambda v: self.in_fs(v.value) and v.value != d) and self.chance(0.5):
                d = self.existing_dir(pointer)
            moves = set(self.tool_words) & {"move", "rename", "mv"}
            copies = set(self.tool_words) & {"copy", "cp", "duplicate", "clone"}
            made = "moved" if moves else "copy" if copies else "out"  # an output file is no move
            return posixpath.join(d, f"{stem}-{made}-{self.rng.randint(1, 999)}{ext}")
        d = self.existing_dir(pointer)
        ext = wanted[0] if wanted else ".md"
        made = f"{self.new_stem()}-{self.rng.randint(1, 999)}{ext}"
        return made if self.told_bare_name() else posixpath.join(d, made)

    def new_stem(self) -> str:
        """The stem of a new file's name, from a telling value of the newest results
        (``customer-feedback-notes``); never a yes or no (``true-notes`` names nothing)."""
        v = self.salient(1)
        if v:
            val = v[0].value
            if v[0].kind == "file":
                return _slug(posixpath.splitext(posixpath.basename(val))[0]) + "-notes"
            if isinstance(val, str) and len(val) <= 40 and val.strip().lower() not in _YES_NO:
                return _slug(val) + "-notes"
        return "exploration-notes"

    def existing_dir(self, pointer: str, record: bool = True) -> str:
        cands = self.obs(("dir",), lambda v: self.in_fs(v.value))
        if not self.safe and (self.attempt == 0 or len(cands) > 1):
            chosen = self.pick(cands, pointer, record=record) if (cands and self.chance(0.85)) else None
            if chosen:
                return chosen.value
        # the directory of an observed file
        files = self.obs(("file",), lambda v: self.in_fs(v.value))
        if files and self.chance(0.5) and self.attempt == 0:
            f = self.pick(files, pointer, value_of=lambda v: posixpath.dirname(v.value), record=False)
            if f:
                if record and not f.context.get("name"):
                    # a full path in the result holds its directory (a listing entry does not:
                    # there the directory came from the arguments)
                    self.use(pointer, f, posixpath.dirname(f.value))
                return posixpath.dirname(f.value)
        dirs = [d for d in self.ws.directories if self.in_fs(d)] or list(self.fs_roots) or [VIRTUAL_ROOT]
        if self.chance(0.4) and json.dumps(dirs[0]) not in self.avoid.get(pointer, ()):
            return dirs[0]
        return self.choose(dirs, pointer)

    def told_extensions(self) -> tuple[str, ...]:
        """The file extensions a failed call of this tool was told it supports."""
        for text in self.told_in_run():
            m = _EXTENSIONS_TOLD.search(text) or _EXTENSION_TOLD.search(text)
            if m:
                exts = tuple(dict.fromkeys("." + e.lower() for e in re.findall(r"\.([A-Za-z0-9]{1,6})\b", m.group(1))))
                if exts:
                    return exts
        return ()

    def told_bare_name(self) -> bool:
        """A failed call of this tool was told a file is named, not given by its path ("file
        must be a simple .mmp name", "must not contain slashes")."""
        return any(_BARE_NAME_TOLD.search(text) for text in self.told_in_run())

    def told_in_run(self) -> list[str]:
        """The texts of this tool's failures in this exploration, then earlier in the run: how a
        value must be written (a bare name, an extension, ASCII only) holds in every exploration."""
        earlier = self.ws.told(self.tool.server, self.tool.name) if self.ws.told is not None else []
        return self.failure_texts() + list(earlier)

    def told_wrong_kind(self, pointer: str) -> bool:
        """A failed call of this tool was told the value it sent at ``pointer`` names a thing of
        another kind ("WRONGTYPE Operation against a key holding the wrong kind of value")."""
        for args, text in zip(self.failed_args, self.failure_texts()):
            sent = at_pointer(args, pointer, MISSING)
            if isinstance(sent, str) and len(sent) >= 2 and sent in text and _WRONG_KIND_TOLD.search(text):
                return True
        return False

    def told_absent(self, pointer: str) -> bool:
        """A failed call of this tool was told the path it sent at ``pointer`` does not exist."""
        for args, text in zip(self.failed_args, self.failure_texts()):
            sent = at_pointer(args, pointer, MISSING)
            if isinstance(sent, str) and sent and (sent in text or posixpath.basename(sent) in text) \
                    and _ABSENT_TOLD.search(text):
                return True
        return False

    def wanted_extensions(self, name: str, schema: dict[str, Any] | None = None) -> tuple[str, ...]:
        """The file extensions a path parameter wants (empty: any file): from the words of
        the parameter's name and description first, else of the tool's name and description
        (``pdf_path``, "Path to the .xlsx file", a tool ``extract_slide_text``)."""

        def kinds_in(text: str) -> list[tuple[str, ...]]:
            words = set(re.findall(r"[a-z0-9]+", text.lower().replace("_", " ")))
            found = [exts for names, exts in FILE_KINDS if words & set(names)]
            known = {e for exts in found for e in exts}
            found += [("." + ext,) for ext in DOT_EXTENSION.findall(text.lower())
                      if ext not in ("com", "org", "net", "io", "g", "e") and "." + ext not in known]
            return found

        told = self.told_extensions()
        if told:  # "Unsupported format '.md'. Supported formats: .csv, .tsv, .xlsx"
            return told
        pattern = str((schema or {}).get("pattern", ""))
        m = _PATTERN_EXTENSIONS.search(pattern)
        if m:  # the schema's pattern names the extensions: ^[^/].*\.md$
            return tuple("." + e.lower() for e in m.group(1).split("|") if e)
        own = kinds_in(" ".join([*_words(name), str((schema or {}).get("description", ""))]))
        if own:
            return tuple(dict.fromkeys(e for exts in own for e in exts))
        tool = kinds_in(self.tool_text)  # a tool about one kind of file only (several: any file)
        if len(tool) == 1:
            return tool[0]
        return () if tool else self.ws.file_kinds.get(self.tool.server, ())

    def existing_file(self, pointer: str, any_kind: bool = False, wanted: tuple[str, ...] = ()) -> Any:
        if wanted:
            return self.existing_file_of(pointer, wanted)
        kinds = ("file", "dir") if any_kind else ("file",)
        text_tool = "text" in self.tool_words

        def good(v: Value) -> bool:
            if not self.in_fs(v.value):
                return False
            if v.kind == "file" and text_tool and posixpath.splitext(v.value)[1].lower() not in TEXT_EXT:
                return posixpath.splitext(v.value)[1] == ""
            return True

        cands = self.obs(kinds, good)
        if cands and not self.safe and (self.attempt == 0 or len(cands) > 1) and self.chance(0.95):
            chosen = self.pick(cands, pointer)
            if chosen:
                return chosen.value
        earlier = [p for p in self.argument_paths() if p in self.ws.files or not any_kind]
        earlier = [p for p in earlier if posixpath.splitext(p)[1] and p not in self.gone and p not in self.failed_at(pointer)]
        if earlier and self.attempt == 0 and self.chance(0.6):
            return earlier[-1]
        inside = [f for f in self.ws.files if self.in_fs(f)]
        files = [f for f in inside if (not text_tool or posixpath.splitext(f)[1].lower() in TEXT_EXT)
                 and f not in self.gone] or inside
        if not files:
            raise _CannotCall("no file is known", pointer)
        return self.choose(files, pointer)

    def existing_file_of(self, pointer: str, wanted: tuple[str, ...]) -> Any:
        """An existing file with one of the ``wanted`` extensions: one seen in a result first,
        else one of the workspace's. None of that kind anywhere: the tool cannot be grounded."""

        def fits(path: Any) -> bool:
            return (isinstance(path, str) and posixpath.splitext(path)[1].lower() in wanted
                    and path not in self.gone)

        cands = self.obs(("file",), lambda v: self.in_fs(v.value) and fits(v.value))
        if cands and (self.attempt == 0 or len(cands) > 1) and self.chance(0.9):
            chosen = self.pick(cands, pointer)
            if chosen:
                return chosen.value
        inside = [f for f in self.ws.files if fits(f) and self.in_fs(f)]
        files = [f for f in inside if f not in self.failed_at(pointer)] or inside
        if not files:
            raise _CannotCall(f"no {'/'.join(wanted)} file is known", pointer)
        return self.choose(files, pointer)

    def argument_paths(self) -> list[str]:
        """Paths inside the sandbox named by the arguments of earlier successful calls, oldest first."""
        out: list[str] = []
        for r in self.history:
            if r.is_error or not isinstance(r.arguments, dict):
                continue
            for v in _strings(r.arguments):
                if self.in_fs(v) and v not in out:
                    out.append(v)
        return out

    def known_file(self, pointer: str) -> Any:
        """A file whose lines were seen (to edit it), else one written earlier."""
        lines = self.obs(("line",), lambda v: isinstance(v.context.get("file"), str) and self.in_fs(v.context["file"])
                         and v.context["file"] not in self.gone and v.value not in self.gone)
        files = list(dict.fromkeys(v.context["file"] for v in lines))
        if files:
            f = self.choose(files, pointer)
            match = next((v for v in self.obs(("file",)) if v.value == f), None)
            if match:
                self.use(pointer, match)
            return f
        for r in reversed(self.history):
            if r.is_error or not isinstance(r.arguments, dict):
                continue
            p = next((v for v in r.arguments.values() if isinstance(v, str) and self.in_fs(v)), None)
            c = next((v for k, v in r.arguments.items() if isinstance(v, str) and "\n" in v), None)
            if p and c and p not in self.gone:
                return p
        seeded = sorted(self.seed_texts())
        prose = [p for p in seeded if posixpath.splitext(p)[1].lower() in (".md", ".txt")]  # edits keep them valid
        if prose or seeded:
            return self.choose(prose or seeded, pointer)
        raise _CannotCall("no file content is known to edit", pointer)

    def seed_texts(self) -> dict[str, str]:
        """Seed text files no earlier call of this exploration may have changed."""
        touched = set()
        for r in self.history:
            if isinstance(r.arguments, dict) and not any(w in _INTENTS["read"] + _INTENTS["list"] for w in _words(r.tool)):
                touched.update(v for v in _strings(r.arguments) if self.in_fs(v))
        return {p: t for p, t in self.ws.texts.items() if p not in touched and p not in self.gone}

    def r_paths(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        lo = max(1, int(schema.get("minItems", 1) or 1))
        hi = int(schema.get("maxItems", 3) or 3)
        n = min(max(lo, self.rng.choice((1, 2, 2, 3))), max(lo, hi))
        mode = self.path_mode(name)
        out: list[str] = []
        for i in range(n):
            p = self.existing_dir(f"{pointer}/{i}") if mode == "dir" else self.existing_file(f"{pointer}/{i}")
            if p in out:
                continue
            out.append(p)
        return out if len(out) >= lo else MISSING

    def r_repo_files(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        cands = self.obs(("repo_file",), lambda v: not v.context.get("dir") and not v.context.get("deleted"))
        chosen = self.pick(cands, f"{pointer}/0") if cands and self.attempt == 0 else None
        return [chosen.value] if chosen else ["."]

    # git --------------------------------------------------------------------

    def r_revision(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        desc = str(schema.get("description", "")).lower() + " " + (self.tool.description or "").lower()
        commits = self.obs(("commit",))
        j = "_".join(_words(name))
        if (j == "target" or "branch" in desc) and not self.safe:
            branches = self.obs(("branch",), lambda v: not v.context.get("current"))
            if branches and self.chance(0.4):
                b = self.pick(branches, pointer)
                if b:
                    return b.value
        if "<revision>:<path>" in desc or "revision:path" in desc:
            files = self.obs(("repo_file",), lambda v: not v.context.get("dir") and not v.context.get("deleted"))
            if files and self.chance(0.25 if commits else 0.5) and self.attempt == 0:
                f = self.pick(files, pointer, value_of=lambda v: f"HEAD:{v.value}", record=False)
                if f:
                    self.use(pointer, f, f.value)
                    return f"HEAD:{f.value}"
        if commits:
            full = [c for c in commits if len(c.value) == 40] or commits
            c = self.pick(full, pointer)
            if c:
                return c.value
        return self.choose(["HEAD~1", "HEAD", "HEAD~2"] if j != "contains" else ["HEAD"], pointer)

    def r_branch(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        j = "_".join(_words(name))
        new = self.intent == "create" and not any(w in j for w in ("base", "from", "source", "start"))
        if new:
            stem = self.new_stem().replace("-notes", "")
            return f"explore/{stem}-{self.rng.randint(1, 9999)}"
        current = {v.value for v in self.obs(("branch",), lambda v: v.context.get("current"))}
        others = self.obs(("branch",), lambda v: not v.context.get("current") and v.value not in current)
        chosen = self.pick(others or self.obs(("branch",)), pointer)
        if chosen:
            return chosen.value
        fallback = ["main", "master"]
        return fallback[min(self.attempt, len(fallback) - 1)]

    # time -------------------------------------------------------------------

    def r_timezone(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        """A time zone: one the world showed, or one the documentation or a list of common
        zones names; one that keeps its hours from UTC all year first (``Asia/Tokyo``, not
        ``Australia/Sydney``): a time of day converted into a zone with summer time gives
        another answer in another season, and no question can ask it."""
        from ..synth.facts import offsets_change

        def steady(zones: list[Any]) -> list[Any]:
            kept = [z for z in zones if not offsets_change({"zone": getattr(z, "value", z)})]
            return kept or zones

        taken = {v for v in siblings.values() if isinstance(v, str) and is_timezone(v)}
        cands = steady(self.obs(("timezone",), lambda v: is_timezone(v.value) and v.value not in taken))
        j = "_".join(_words(name))
        # a conversion's target: usually somewhere else than everything seen so far
        is_target = any(w in j for w in ("target", "to", "dest", "destination"))
        shifting = all(offsets_change({"zone": v.value}) for v in cands)
        if cands and not self.safe and (not is_target or self.chance(0.35)) and not (shifting and self.attempt == 0):
            chosen = self.pick(cands, pointer)
            if chosen:
                return chosen.value
        examples = [e for e in _desc_examples(str(schema.get("description", ""))) if is_timezone(e)]
        seen = {v.value for v in self.obs(("timezone",))}
        pool = [z for z in dict.fromkeys([*examples, *TIMEZONES]) if z not in taken and (z not in seen or not is_target)]
        return self.choose(steady(pool) or list(TIMEZONES), pointer)

    def r_clock(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        # prefer a date-time seen in the same result as a time zone used as a sibling
        tz_steps = {s.step for s in self.sources if s.argument.rsplit("/", 1)[0] == pointer.rsplit("/", 1)[0]}

        from ..synth.facts import is_volatile

        def hhmm(v: Value) -> str | None:
            return parse_datetime_hhmm(str(v.value))

        # a reading of this run's clock is no time to pass on: a task about it is another task tomorrow
        cands = self.obs(("datetime", "time"), lambda v: hhmm(v) is not None and not is_volatile("", str(v.value)))
        if tz_steps:
            same = [v for v in cands if v.step in tz_steps]
            cands = same or cands
        chosen = self.pick(cands, pointer, value_of=hhmm) if cands else None
        at = hhmm(chosen) if chosen else self.choose(list(CLOCK_TIMES), pointer)
        return _in_layout(at, str(schema.get("description", "")))

    def r_datetime(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        cands = self.obs(("datetime",), lambda v: "T" in str(v.value))
        chosen = self.pick(cands, pointer)
        return chosen.value if chosen else "2025-03-01T09:00:00Z"

    def r_date(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        def day(v: Value) -> str:
            return str(v.value)[:10]

        cands = self.obs(("date", "datetime"), _dated)
        chosen = self.pick(cands, pointer, value_of=day)
        return day(chosen) if chosen else "2025-03-01"

    def r_date_filter(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        cands = self.obs(("date", "datetime"), _dated)
        chosen = self.pick(cands, pointer, value_of=lambda v: str(v.value)[:10]) if cands else None
        if chosen:
            return str(chosen.value)[:10]
        examples = _desc_examples(str(schema.get("description", "")))
        iso = [e for e in examples if re.match(r"\d{4}-\d{2}-\d{2}", e)]
        if iso:
            return self.choose(iso, pointer)
        return "2025-01-01T00:00:00" if "timestamp" in _words(name) else "2025-01-01"

    # SQL --------------------------------------------------------------------

    def tables(self) -> list[tuple[str, Value | None]]:
        out: list[tuple[str, Value | None]] = []
        seen: set[str] = set()
        for v in self.obs(("table",), lambda v: isinstance(v.value, str) and re.fullmatch(r"[A-Za-z_]\w*", v.value) is not None):
            if v.value not in seen and not v.value.startswith("sqlite_"):
                seen.add(v.value)
                out.append((v.value, v))
        for t in self.ws.sqlite_tables:
            if t not in seen:
                seen.add(t)
                out.append((t, None))
        for t in self.created_tables():
            if t not in seen:
                seen.add(t)
                out.append((t, None))
        return out

    def created_tables(self) -> dict[str, list[tuple[str, str]]]:
        """Tables created by earlier successful calls of this exploration: name -> [(column, type)]."""
        out: dict[str, list[tuple[str, str]]] = {}
        for r in self.history:
            if r.is_error or not isinstance(r.arguments, dict):
                continue
            for v in r.arguments.values():
                if isinstance(v, str):
                    m = re.match(r"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)[\"`\]]?\s*\((.*)\)\s*;?\s*$", v, re.IGNORECASE | re.DOTALL)
                    if m:
                        cols = []
                        for part in re.split(r",(?![^()]*\))", m.group(2)):
                            w = part.strip().split()
                            if len(w) >= 1 and w[0].upper() not in ("PRIMARY", "FOREIGN", "UNIQUE", "CHECK", "CONSTRAINT"):
                                cols.append((w[0].strip('"`[]'), w[1].upper() if len(w) > 1 else "TEXT"))
                        out[m.group(1)] = cols
        return out

    def columns(self, table: str) -> list[tuple[str, Value | None]]:
        out: list[tuple[str, Value | None]] = []
        seen: set[str] = set()
        for v in self.obs(("column",), lambda v: v.context.get("table") == table and isinstance(v.value, str)):
            if v.value not in seen:
                seen.add(v.value)
                out.append((v.value, v))
        for c in self.ws.sqlite_tables.get(table, ()):
            if c not in seen:
                seen.add(c)
                out.append((c, None))
        for c, _ in self.created_tables().get(table, []):
            if c not in seen:
                seen.add(c)
                out.append((c, None))
        return out

    def numeric(self, table: str, col: str) -> bool:
        for v in self.obs(("column",), lambda v: v.context.get("table") == table and v.value == col):
            typ = str(v.context.get("type", "")).upper()
            if typ:
                return any(w in typ for w in ("INT", "REAL", "NUM", "FLOA", "DOUB", "DEC"))
        for c, typ in self.created_tables().get(table, []):
            if c == col:
                return any(w in typ for w in ("INT", "REAL", "NUM", "FLOA", "DOUB", "DEC"))
        for v in self.obs(("number", "text"), lambda v: v.context.get("table") == table and v.key == col):
            return v.kind == "number"
        return any(w in NUMERIC_HINTS or _singular(w) in NUMERIC_HINTS for w in _words(col))  # "country" is no count

    def pick_table(self, pointer: str, *, exclude: Iterable[str] = ()) -> tuple[str, Value | None]:
        ex = set(exclude)
        tables = [t for t in self.tables() if t[0] not in ex] or self.tables()
        if not tables:
            raise _CannotCall("no table is known", pointer)
        observed = [v for _, v in tables if v is not None]
        # tables whose columns were described earlier come first: the query can use them
        described = [v for v in self.obs(("column",), lambda v: v.context.get("table") in dict(tables))]
        if self.safe:
            known = [t for t, _ in tables if t in self.ws.sqlite_tables]
            if known:
                return self.choose(known, pointer), None
        if described and (self.attempt == 0 or len(described) > 1) and self.chance(0.95):
            newest = max(v.step for v in described)
            names = list(dict.fromkeys(v.context["table"] for v in described if v.step == newest))
            name = self.choose(names, pointer)
            return name, dict(tables).get(name)
        if observed and (self.attempt == 0 or len(observed) > 1) and self.chance(0.85):
            v = self.pick(observed, pointer, record=False)
            if v:
                return v.value, v
        name = self.choose([t for t, _ in tables], pointer)
        return name, None

    def r_table(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        t, v = self.pick_table(pointer)
        if v:
            self.use(pointer, v)
        return t

    def sql_mode(self, schema: dict[str, Any]) -> str:
        if any(_READ_ONLY_TOLD.search(t) for t in self.failure_texts()):
            return "select"  # "Only read-only queries are allowed", "attempt to write a readonly database"
        text = f"{schema.get('description', '')} {self.tool.name} {self.tool.description or ''}".lower()
        if "create table" in text or ("create" in self.tool_words and "table" in self.tool_words):
            return "create"
        if re.search(r"\bselect\b", str(schema.get("description", "")).lower()) or "read" in self.tool_words:
            return "select"
        if any(w in text for w in ("insert", "update", "delete", "write")):
            return "write"
        return "select"

    # shell -------------------------------------------------------------------

    def command_lines(self) -> list[list[str]]:
        """Command lines (as argv) that read the workspace: a small text file shown whole, a
        table's first lines, a file's line count, a folder's listing. What they print is the
        world as it is, so a question can be asked about it."""
        texts = [f for f in sorted(self.ws.texts) if self.in_fs(f) and f not in self.gone
                 and posixpath.splitext(f)[1].lower() in _COMMAND_READS]
        out: list[list[str]] = []
        for f in texts:
            out.append(["cat", f])
            out.append(["wc", "-l", f])
            if posixpath.splitext(f)[1].lower() in (".csv", ".tsv", ".log", ".txt", ".md"):
                out.append(["head", "-n", "5", f])
        dirs = [d for d in sorted(self.ws.directories) if self.in_fs(d) and d not in self.gone]
        out.extend(["ls", d] for d in dirs)
        return out

    def r_command(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        """A command line for a tool that runs commands: one that reads the workspace (see
        :meth:`command_lines`), never a placeholder."""
        lines = self.command_lines()
        if not lines:
            return MISSING  # nothing of the workspace known: what the documentation gives, or a harmless one
        self.notes.append(f"{name}: a command that reads the workspace")
        return self.choose([shlex.join(argv) for argv in lines], pointer)

    def r_command_argv(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        lines = self.command_lines()
        if not lines:
            return MISSING
        self.notes.append(f"{name}: a command (argv) that reads the workspace")
        return self.choose(lines, pointer)

    def r_sql(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        mode = self.sql_mode(schema)
        if mode == "create":
            return self.sql_create(pointer)
        if mode == "write":
            return self.sql_write(pointer)
        return self.sql_select(pointer)

    def cite_table(self, pointer: str, tv: Value | None) -> None:
        if tv is not None:
            self.use(pointer, tv)

    def row_values(self, pred: Callable[[Value], bool] | None = None) -> list[Value]:
        """Scalar values of observed rows / records, with a column key."""
        def ok(v: Value) -> bool:
            if v.kind in ("line", "quoted", "row", "relation", "column", "table"):
                return False
            if not v.key or str(v.key).lower() in SALIENT_KEYS_SKIP:
                return False
            if isinstance(v.value, str) and (len(v.value) > 80 or "\n" in v.value or not v.value.strip()):
                return False
            if not isinstance(v.value, (str, int, float)) or isinstance(v.value, bool):
                return False
            return pred(v) if pred else True
        return [v for v in self.values if ok(v)]

    def filter_options(self) -> list[tuple[str, str, Value, bool]]:
        """(table, column, value, is_fk) pairs an observed value can filter on."""
        out: list[tuple[str, str, Value, bool]] = []
        tables = self.tables()
        for v in self.row_values():
            key = str(v.key)
            vt = v.context.get("table")
            for t, _ in tables:
                cols = [c for c, _ in self.columns(t)]
                if key in cols and (vt == t or (key not in ("id", "name", "rowid") and not key.endswith("_id"))):
                    out.append((t, key, v, False))
                elif key == "id" and vt and vt != t:
                    fk = f"{_singular(vt)}_id"
                    if fk in cols:
                        out.append((t, fk, v, True))
        return out

    def sql_select(self, pointer: str) -> str:
        strategies: list[tuple[float, Callable[[], str | None]]] = []
        filters = self.filter_options()
        observed_cols = self.obs(("column",), lambda v: v.context.get("table") is not None)
        if self.attempt:
            return self.sql_plain(pointer)
        if filters:
            strategies.append((4.0, lambda: self.sql_filter(pointer, filters)))
        if observed_cols:
            strategies.append((6.0, lambda: self.sql_columns(pointer)))
        strategies.append((1.0, lambda: self.sql_group(pointer)))
        strategies.append((1.0, lambda: self.sql_aggregate(pointer)))
        strategies.append((0.8, lambda: self.sql_join(pointer)))
        strategies.append((1.0, lambda: self.sql_plain(pointer)))
        return self.run_strategies(strategies) or self.sql_plain(pointer)

    def run_strategies(self, strategies: list[tuple[float, Callable[[], str | None]]]) -> str | None:
        """Try weighted strategies in a random order until one gives a statement."""
        strategies = list(strategies)
        while strategies:
            r = self.rng.random() * sum(w for w, _ in strategies)
            acc = 0.0
            i = len(strategies) - 1
            for j, (w, _) in enumerate(strategies):
                acc += w
                if r <= acc:
                    i = j
                    break
            mark = len(self.sources)
            q = strategies[i][1]()
            if q:
                return q
            del self.sources[mark:]
            strategies.pop(i)
        return None

    def sql_plain(self, pointer: str) -> str:
        t, tv = self.pick_table(pointer)
        self.cite_table(pointer, tv)
        return f"SELECT * FROM {_ident(t)} LIMIT {self.choose([5, 10, 20])}"

    def sql_filter(self, pointer: str, filters: list[tuple[str, str, Value, bool]]) -> str | None:
        newest = max(f[2].step for f in filters)
        pool = [f for f in filters if f[2].step == newest] if self.chance(0.8) else filters
        t, col, v, _fk = self.choose(pool)
        self.use(pointer, v)
        tv = next((tv for name, tv in self.tables() if name == t and tv is not None), None)
        if tv is not None and tv.step != v.step:
            self.use(pointer, tv)
        cols = [c for c, _ in self.columns(t)]
        shown = "*"
        if len(cols) > 4 and self.chance(0.5):
            shown = ", ".join(_ident(c) for c in cols[: self.rng.randint(3, min(6, len(cols)))])
        return f"SELECT {shown} FROM {_ident(t)} WHERE {_ident(col)} = {_sql_lit(v.value)} LIMIT 20"

    def sql_columns(self, pointer: str) -> str | None:
        t, tv = self.pick_table(pointer)
        cols = self.columns(t)
        observed = [(c, v) for c, v in cols if v is not None]
        if not observed:
            return None
        k = min(len(observed), self.rng.randint(2, 4))
        chosen = observed[:1] + self.rng.sample(observed[1:], k - 1) if len(observed) > 1 else observed
        chosen = sorted(chosen, key=lambda cv: [c for c, _ in cols].index(cv[0]))
        for _, v in chosen:
            self.use(pointer, v)
        self.cite_table(pointer, tv)
        order = chosen[-1][0]
        return (f"SELECT {', '.join(_ident(c) for c, _ in chosen)} FROM {_ident(t)} "
                f"ORDER BY {_ident(order)} {self.choose(['ASC', 'DESC'])} LIMIT {self.choose([5, 10, 15])}")

    def sql_group(self, pointer: str) -> str | None:
        t, tv = self.pick_table(pointer)
        cols = self.columns(t)
        cats = [(c, v) for c, v in cols if not self.numeric(t, c) and not c.lower().endswith(("id", "email", "name", "sku"))
                and not any(h in c.lower() for h in ("date", "_at", "_on", "time"))]
        if not cats:
            return None
        c, cv = self.choose(cats)
        self.cite_table(pointer, tv)
        if cv is not None:
            self.use(pointer, cv)
        return f"SELECT {_ident(c)}, COUNT(*) AS n FROM {_ident(t)} GROUP BY {_ident(c)} ORDER BY n DESC"

    def sql_aggregate(self, pointer: str) -> str | None:
        t, tv = self.pick_table(pointer)
        cols = self.columns(t)
        nums = [(c, v) for c, v in cols if self.numeric(t, c) and c.lower() != "id" and not c.lower().endswith("_id")]
        if not nums:
            return None
        c, cv = self.choose(nums)
        self.cite_table(pointer, tv)
        if cv is not None:
            self.use(pointer, cv)
        return (f"SELECT COUNT(*) AS row_count, SUM({_ident(c)}) AS total_{c}, AVG({_ident(c)}) AS avg_{c}, "
                f"MIN({_ident(c)}) AS min_{c}, MAX({_ident(c)}) AS max_{c} FROM {_ident(t)}")

    def sql_join(self, pointer: str) -> str | None:
        tables = [t for t, _ in self.tables()]
        pairs = []
        for t in tables:
            cols = [c for c, _ in self.columns(t)]
            for other in tables:
                if other != t and f"{_singular(other)}_id" in cols and "id" in [c for c, _ in self.columns(other)]:
                    pairs.append((t, other))
        if not pairs:
            return None
        t, other = self.choose(pairs)
        for name, tv in self.tables():
            if name in (t, other) and tv is not None:
                self.use(pointer, tv)
        ocols = [c for c, _ in self.columns(other) if c != "id"]
        extra = ", ".join(f"b.{_ident(c)}" for c in ocols[:2])
        return (f"SELECT a.*{', ' + extra if extra else ''} FROM {_ident(t)} AS a JOIN {_ident(other)} AS b "
                f"ON a.{_ident(_singular(other) + '_id')} = b.id LIMIT 10")

    def sql_write(self, pointer: str) -> str:
        rows = self.obs(("row",), lambda v: isinstance(v.value, dict) and v.context.get("table") in dict(self.tables()))
        created = self.created_tables()
        strategies: list[tuple[float, Callable[[], str | None]]] = []
        if created:
            strategies.append((3.0, lambda: self.sql_insert_new(pointer, created)))
        if rows and self.attempt == 0:
            strategies.append((3.0, lambda: self.sql_update_row(pointer, rows)))
            strategies.append((2.0, lambda: self.sql_insert_copy(pointer, rows)))
            strategies.append((0.5, lambda: self.sql_delete_row(pointer, rows)))
        strategies.append((1.0, lambda: self.sql_update_blind(pointer)))
        q = self.run_strategies(strategies)
        if q:
            return q
        t, _ = self.pick_table(pointer)
        return f"UPDATE {_ident(t)} SET rowid = rowid WHERE rowid = 1"

    def _pk(self, row: dict[str, Any]) -> str | None:
        for k in ("id", "rowid"):
            if k in row and isinstance(row[k], (int, str)):
                return k
        return None

    def sql_update_row(self, pointer: str, rows: list[Value]) -> str | None:
        row_v = self.pick([r for r in rows if self._pk(r.value)], pointer, record=False)
        if row_v is None:
            return None
        row, t = row_v.value, row_v.context["table"]
        pk = self._pk(row)
        nums = [c for c, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                and c != pk and not c.endswith("_id")]
        self.use(pointer, row_v, row[pk])
        if nums:
            c = self.choose(nums)
            delta = self.choose([1, 2, 5, 10]) if isinstance(row[c], int) else self.choose([0.5, 1.0])
            return f"UPDATE {_ident(t)} SET {_ident(c)} = {_ident(c)} + {delta} WHERE {_ident(pk)} = {_sql_lit(row[pk])}"
        texts = [c for c, v in row.items() if isinstance(v, str) and c != pk]
        if not texts:
            return None
        c = self.choose(texts)
        return f"UPDATE {_ident(t)} SET {_ident(c)} = {_sql_lit(row[c])} WHERE {_ident(pk)} = {_sql_lit(row[pk])}"

    def sql_insert_copy(self, pointer: str, rows: list[Value]) -> str | None:
        row_v = self.pick(rows, pointer, record=False)
        if row_v is None:
            return None
        row, t = dict(row_v.value), row_v.context["table"]
        known = [c for c, _ in self.columns(t)]
        pk = self._pk(row)
        cols = [c for c in row if c != pk and (not known or c in known)]
        if not cols or any(c not in row for c in known if c != pk and c != "id"):
            return None  # a partial row: the missing columns may be NOT NULL
        n = self.rng.randint(2, 999)
        vals = []
        for c in cols:
            v = row[c]
            if isinstance(v, str) and any(h in c.lower() for h in UNIQUE_HINTS):
                v = v.replace("@", f"+copy{n}@", 1) if "@" in v else f"{v}-C{n}"
            elif isinstance(v, str) and c.lower() in ("name", "title"):
                v = f"{v} (copy {n})"
            vals.append(v)
        self.use(pointer, row_v, {c: row[c] for c in cols})
        return (f"INSERT INTO {_ident(t)} ({', '.join(_ident(c) for c in cols)}) "
                f"VALUES ({', '.join(_sql_lit(v) for v in vals)})")

    def sql_delete_row(self, pointer: str, rows: list[Value]) -> str | None:
        row_v = self.pick([r for r in rows if self._pk(r.value)], pointer, record=False)
        if row_v is None:
            return None
        pk = self._pk(row_v.value)
        self.use(pointer, row_v, row_v.value[pk])
        return f"DELETE FROM {_ident(row_v.context['table'])} WHERE {_ident(pk)} = {_sql_lit(row_v.value[pk])}"

    def sql_insert_new(self, pointer: str, created: dict[str, list[tuple[str, str]]]) -> str | None:
        t = self.choose(sorted(created))
        cols = [(c, typ) for c, typ in created[t] if not (c.lower() == "id" and "INT" in typ)]
        if not cols:
            return None
        vals = []
        salient = self.salient(len(cols))
        for i, (c, typ) in enumerate(cols):
            if any(w in typ for w in ("INT", "REAL", "NUM", "FLOA", "DOUB", "DEC")):
                nums = [v for v in salient if v.kind == "number"]
                if nums:
                    vals.append(nums[0].value)
                    self.use(pointer, nums[0])
                    salient.remove(nums[0])
                else:
                    vals.append(self.rng.randint(1, 50))
            else:
                strs = [v for v in salient if isinstance(v.value, str)]
                named = set(_words(c))
                if named & {"date", "day", "time", "timestamp"} or len(named) > 1 and named & {"on", "at"}:
                    # a date the world showed, else one of its season: never a name put where a date goes
                    dates = [v for v in salient if isinstance(v.value, str) and _ISO_DATE.match(v.value)]
                    vals.append(dates[0].value[:10] if dates else "2025-03-01")
                elif named & (_SHORT_TEXT_WORDS | {"note", "notes", "comment", "description", "message", "reason",
                                                   "summary", "text"}):
                    vals.append(self.r_text(c, {}, pointer, {}))  # a line a person writes, about a thing seen
                elif strs:
                    vals.append(strs[0].value)
                    self.use(pointer, strs[0])
                    salient.remove(strs[0])
                else:
                    vals.append(f"{c} {self.rng.randint(1, 99)}")
        return (f"INSERT INTO {_ident(t)} ({', '.join(_ident(c) for c, _ in cols)}) "
                f"VALUES ({', '.join(_sql_lit(v) for v in vals)})")

    def sql_update_blind(self, pointer: str) -> str | None:
        t, tv = self.pick_table(pointer, exclude=())
        cols = [c for c, _ in self.columns(t)]
        if not cols:
            return None
        self.cite_table(pointer, tv)
        nums = [c for c in cols if self.numeric(t, c) and c != "id" and not c.endswith("_id")]
        key = "id" if "id" in cols else "rowid"
        k = self.rng.randint(1, 5)
        if nums:
            c = self.choose(nums)
            return f"UPDATE {_ident(t)} SET {_ident(c)} = {_ident(c)} + 1 WHERE {key} = {k}"
        c = self.choose([c for c in cols if c != "id"] or cols)
        return f"UPDATE {_ident(t)} SET {_ident(c)} = {_ident(c)} WHERE {key} = {k}"

    def sql_create(self, pointer: str) -> str:
        t, tv = self.pick_table(pointer)
        self.cite_table(pointer, tv)
        base = _singular(t) if tv is not None or self.chance(0.7) else "exploration"
        suffix = self.choose(["notes", "reviews", "followups", "audit"])
        name = f"{base}_{suffix}"
        return (f"CREATE TABLE IF NOT EXISTS {_ident(name)} (id INTEGER PRIMARY KEY, {_ident(base + '_id')} INTEGER, "
                f"note TEXT NOT NULL, created_on TEXT)")

    # memory graph ------------------------------------------------------------

    def entity_names(self) -> list[Value]:
        return self.obs(("entity",), lambda v: isinstance(v.value, str) and 0 < len(v.value) <= 120)

    def r_entity_name(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        taken = {v for v in siblings.values() if isinstance(v, str)}
        j = "_".join(_words(name))
        if self.safe:
            pool = [n for n in self.ws.memory_entities if n not in taken and n not in self.gone]
            if pool:
                return self.choose(pool, pointer)
        cands = [v for v in self.entity_names() if v.value not in taken]
        # a relation's "from" end: prefer an entity created in this exploration
        if j in ("from", "source") and cands:
            created = [v for v in cands if v.context.get("record") and self._created_here(v)]
            cands = created or cands
        if self.intent == "delete" or "observation" in self.tool_text:
            with_obs = {v.context.get("entity") for v in self.obs(("observation",))}
            if "delete" in self.tool_words and with_obs:
                cands = [v for v in cands if v.value in with_obs] or cands
        chosen = self.pick(cands, pointer)
        if chosen:
            return chosen.value
        # a person or name seen elsewhere that the graph knows
        known = self.ws.memory_entities
        other = self.obs(("person", "text", "quoted"), lambda v: v.value in known and v.value not in taken)
        chosen = self.pick(other, pointer)
        if chosen:
            return chosen.value
        pool = [n for n in known if n not in taken]
        if pool:
            return self.choose(pool, pointer)
        if self.intent == "create" and re.search(r"(?i)\b(?:auto-?created|created if|if (?:they|it) (?:does|do)n[o']t exist)",
                                                 self.tool.description or ""):
            # "Nodes are auto-created if they don't exist": a thing the world showed becomes one
            known = set(self.ws.memory_entities) | taken | {v.value for v in self.entity_names()}
            made = self.subject(pointer, known)
            if made is not None:
                return made
            # nothing seen yet in this exploration: a person or thing another server's survey showed
            others = sorted({v.value for server, pool in self.ws.grounded.items() if server != self.tool.server
                             for v in pool if v.kind in ("person", "entity") and isinstance(v.value, str)
                             and 2 <= len(v.value) <= 60 and v.value not in known})
            if others:
                return self.choose(others, pointer)
        return MISSING

    def _created_here(self, v: Value) -> bool:
        rec = next((r for r in self.history if r.step == v.step), None)
        return bool(rec and any(w in _INTENTS["create"] for w in _words(rec.tool)))

    def r_new_entity_name(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        known = set(self.ws.memory_entities) | {v.value for v in self.entity_names()}
        subject = self.subject(pointer, known)
        if subject is not None:
            return subject
        return f"Exploration note {self.rng.randint(1, 9999)}"

    def subject(self, pointer: str, known: set[str]) -> str | None:
        """A name for something seen earlier that could become a new entity."""
        kinds_pref = ("person", "file", "table", "commit", "branch", "timezone", "email")

        def nameish(v: Value) -> bool:
            if not isinstance(v.value, str) or v.value in known or not (2 <= len(v.value) <= 60):
                return False
            if v.kind in kinds_pref:
                return True
            return v.kind == "text" and str(v.key or "").lower() in ("name", "title", "first_name", "last_name",
                                                                     "full_name", "supplier", "city", "author")
        cands = [v for v in self.values if nameish(v)]
        chosen = self.pick(cands, pointer, value_of=self._entity_label, record=False)
        if chosen is None:
            return None
        # the source holds the part of the label that is literally in the result
        core = posixpath.basename(chosen.value) if chosen.kind == "file" else (
            chosen.value[:10] if chosen.kind == "commit" else chosen.value)
        self.use(pointer, chosen, core)
        self.subjects[pointer.rsplit("/", 1)[0]] = chosen
        return self._entity_label(chosen)

    def _entity_label(self, v: Value) -> str:
        if v.kind == "file":
            return posixpath.basename(v.value)
        if v.kind == "commit":
            return f"commit {v.value[:10]}"
        return str(v.value)

    def _entity_type_for(self, v: Value | None) -> str:
        if v is None:
            return "note"
        mapping = {"person": "person", "file": "file", "table": "table", "commit": "commit", "branch": "branch",
                   "timezone": "timezone", "email": "contact"}
        if v.kind in mapping:
            return mapping[v.kind]
        t = v.context.get("table")
        if t:
            return _singular(str(t))
        return str(v.key or "note").lower()

    def r_entity_type(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        subject = self.subjects.get(pointer.rsplit("/", 1)[0])
        if subject is not None:
            return self._entity_type_for(subject)
        cands = self.obs(("entity_type",))
        chosen = self.pick(cands, pointer)
        if chosen:
            return chosen.value
        types = sorted(set(self.ws.memory_entities.values()))
        return self.choose(types, pointer) if types else "note"

    def r_relation_type(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        cands = self.obs(("relation_type",))
        if cands and self.chance(0.5):
            chosen = self.pick(cands, pointer)
            if chosen:
                return chosen.value
        return self.choose(["related_to", "mentions", "works_with", "depends_on"], pointer)

    def r_entity_names(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        lo = max(1, int(schema.get("minItems", 1) or 1))
        n = max(lo, self.choose([1, 1, 2, 3]))
        out: list[str] = []
        for i in range(n):
            v = self.r_entity_name(name, {}, f"{pointer}/{i}", {str(k): x for k, x in enumerate(out)})
            if v is MISSING:
                break
            if v not in out:
                out.append(v)
        return out if len(out) >= lo else MISSING

    def r_observations_new(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        facts = self.facts(2, pointer, exclude=("observation", "entity"))
        return facts or [f"Noted during exploration {self.rng.randint(1, 999)}"]

    def r_observations_existing(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        entity = next((v for k, v in siblings.items() if isinstance(v, str) and "name" in _norm(k)), None)
        cands = self.obs(("observation",), lambda v: entity is None or v.context.get("entity") == entity)
        chosen = self.pick(cands, f"{pointer}/0")
        return [chosen.value] if chosen else MISSING

    def facts(self, n: int, pointer: str, exclude: tuple[str, ...] = ()) -> list[str]:
        """Short statements built from salient observed values (each recorded as a source)."""
        out: list[str] = []
        for i, v in enumerate(self.salient(n, exclude=exclude)):
            label = " ".join(_words(str(v.key or v.kind)))
            val = v.value if not isinstance(v.value, float) else _fmt_num(v.value)
            where = v.context.get("table")
            fact = f"{label}: {val}" + (f" (from {where})" if where else "")
            self.use(f"{pointer}/{i}", v, v.value)
            out.append(fact)
        return out

    def echoes(self) -> tuple[set[str], set[str]]:
        """The strings this exploration sent as arguments, whole and as words: a result that
        repeats them ("addedObservations": ["Noted during exploration 444"]) tells nothing new."""
        whole = {x.strip() for r in self.history for x in _strings(r.arguments) if x.strip()}
        return whole, {w for x in whole for w in re.findall(r"[\w.@/-]+", x)}

    def salient(self, n: int, exclude: tuple[str, ...] = ()) -> list[Value]:
        """The most telling values of the newest results (keyed fields first), distinct, none
        an echo of what the exploration itself sent, none a reading of this run's clock or a
        temporary path (a title "Observed created at 2026-...T18:25:50Z" written by an effect
        would make every question about that effect run-dependent)."""
        from ..synth.facts import is_volatile

        whole, sent_words = self.echoes()
        pref = {"person": 0, "commit": 1, "message": 1, "entity": 2, "file": 2, "table": 2, "timezone": 2,
                "datetime": 3, "email": 3, "number": 3, "text": 3, "observation": 4, "branch": 2, "date": 4}

        def ok(v: Value) -> bool:
            if v.kind not in pref or v.kind in exclude or (v.kind in ("number", "text") and not v.key):
                return False
            if "observation" in exclude and v.context.get("entity"):
                return False  # mined from an observation: restating it adds nothing
            if str(v.key or "").lower() in SALIENT_KEYS_SKIP:
                return False
            if v.kind == "text" and str(v.key or "").lower() in ("content", "text", "result", "output", "status",
                                                                  "message", "error", "detail"):
                return False  # a whole status message, not a fact
            if isinstance(v.value, str) and (len(v.value) > 100 or "\n" in v.value or not v.value.strip()):
                return False
            if is_volatile(str(v.key or ""), v.value):
                return False  # a time of this run, a temporary path: a text holding it is a new text each run
            if v.kind == "text" and _PROSE.search(str(v.value).strip()):
                return False  # several sentences ("Label: it did not. Try ..."): a server's remark, not a fact
            shown = str(v.value).strip()
            if shown in whole or (not isinstance(v.value, str) and shown in sent_words):
                return False  # our own argument read back
            return (v.kind, json.dumps(v.value, sort_keys=True, default=str)) not in self.used
        cands = [v for v in self.values if ok(v)]
        if not cands:
            return []
        newest = max(v.step for v in cands)
        group = [v for v in cands if v.step == newest] if self.chance(0.8) else cands
        group = sorted(group[:60], key=lambda v: pref[v.kind])
        out: list[Value] = []
        seen: set[str] = set()
        start = self.rng.randrange(max(1, min(len(group), 4)))
        for v in group[start:] + group[:start]:
            k = json.dumps(v.value, sort_keys=True, default=str)
            if k in seen:
                continue
            seen.add(k)
            out.append(v)
            if len(out) >= n:
                break
        return out

    # objects / arrays -------------------------------------------------------

    def r_objects(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        items = _branch(schema.get("items") or {})
        props = items.get("properties") if isinstance(items.get("properties"), dict) else {}
        required = [r for r in items.get("required", []) if isinstance(r, str)]
        lo = max(int(schema.get("minItems", 1) or 1), 1)
        # deleting: reuse whole records seen earlier (relations, rows) that fit the item shape
        if self.intent == "delete" and required:
            recs = self.obs(("relation", "row"), lambda v: isinstance(v.value, dict) and set(required) <= set(v.value))
            chosen = self.pick(recs, f"{pointer}/0")
            if chosen:
                return [{k: chosen.value[k] for k in chosen.value if k in props or not props}]
        # editing text: old/new pairs from a file's observed lines
        keys = [_norm(k) for k in props]
        if any(k.startswith("old") for k in keys) and any(k.startswith("new") for k in keys):
            edit = self.edit_item(props, f"{pointer}/0")
            return [edit] if edit is not None else MISSING
        n = lo
        if self.intent == "create" and self.attempt == 0 and self.chance(0.25):
            n = max(lo, 2)
        out = []
        parent = "new_entities" if (self.intent == "create" and "entit" in _norm(name)) else "object_item"
        listed = [] if props else _listed_fields(name, str(schema.get("description") or ""),
                                                   self.tool.description or "")
        for i in range(n):
            mark = len(self.sources)
            if listed:
                # "Required entry fields: summary (...), tags (array ...), status (F/C/H)"
                item = self.listed_item(listed, f"{pointer}/{i}", parent)
            else:
                item = self.fill_object(items, f"{pointer}/{i}", parent_role=parent)
            if not props and not item and (item := self.free_object(_singular(name), items, f"{pointer}/{i}")) is MISSING:
                # an item with no fields named, none listed and no record to draw them from:
                # sent empty it does nothing or fails
                self.why_missing[pointer] = self.why_missing.get(
                    f"{pointer}/{i}", "an item object whose fields nothing names or grounds")
                del self.sources[mark:]
                return MISSING
            if item is MISSING or not all(r in item for r in required):
                del self.sources[mark:]
                if f"{pointer}/{i}" in self.why_missing:
                    self.why_missing.setdefault(pointer, self.why_missing[f"{pointer}/{i}"])
                if i < lo:
                    return MISSING
                break
            out.append(item)
        return out

    def listed_item(self, listed: list[tuple[str, dict[str, Any]]], pointer: str, parent: str) -> Any:
        """An item object whose fields the documentation lists as required, each filled as a
        parameter of that name and kind; ``MISSING`` if one cannot be."""
        out: dict[str, Any] = {}
        for field, sub in listed:
            value = self.fill(field, sub, pointer + _pointer(field), out, parent)
            if value is MISSING or value in ([], {}, ""):
                self.why_missing.setdefault(pointer, f"nothing grounded fills the listed field {field}")
                return MISSING
            out[field] = value
        self.notes.append("item fields its documentation lists as required")
        return out

    def edit_item(self, props: dict[str, Any], pointer: str) -> dict[str, Any] | None:
        path = next((v for k, v in self.top_props.items() if isinstance(v, str) and self.in_fs(v)), None)
        old_key = next(k for k in props if _norm(k).startswith("old"))
        new_key = next(k for k in props if _norm(k).startswith("new"))
        lines = self.obs(("line",), lambda v: v.context.get("file") == path and len(v.value.strip()) >= 3
                         and v.value not in self.gone) if path else []
        chosen = self.pick(lines, pointer + _pointer(old_key))
        if chosen:
            old = chosen.value
        else:
            old = None
            for r in reversed(self.history):
                if r.is_error or not isinstance(r.arguments, dict) or path not in r.arguments.values():
                    continue
                content = next((v for v in r.arguments.values() if isinstance(v, str) and "\n" in v), None)
                if content:
                    cand = [ln for ln in content.splitlines() if len(ln.strip()) >= 3]
                    if cand:
                        old = self.choose(cand)
                        break
            if old is None and path in self.seed_texts():
                cand = [ln for ln in self.seed_texts()[path].splitlines() if len(ln.strip()) >= 3]
                old = self.choose(cand) if cand else None
            if old is None:
                return None
        new = old.rstrip() + self.choose([" (reviewed)", " (updated)", " - checked"])
        return {old_key: old, new_key: new}

    def r_string_list(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        lo = max(0, int(schema.get("minItems", 0) or 0))
        if pointer.count("/") == 1 and (axis := _panel_axis(name)) and self.series_len:
            # entity_ids beside the data series: the rows' labels, as a panel
            self.notes.append(f"{name}: the {axis} labels of the rows, as a panel")
            return _panel_labels(axis, self.series_len, "string")
        if lo == 0 and "default" in schema:
            return copy.deepcopy(schema["default"])
        if _part_of_text(schema) and (word := self.part_of(siblings, pointer)) is not None:
            return [word]
        items = _branch(schema.get("items") or {})
        n = max(lo, 1)
        out = []
        for i in range(n):
            v = self.fill(_singular(name), items, f"{pointer}/{i}", {})
            if v is MISSING:
                break
            out.append(v)
        return out if len(out) >= lo else MISSING

    def part_of(self, siblings: dict[str, Any], pointer: str) -> str | None:
        """A word of the longest text another argument of the call holds (the input a
        regular expression's expected matches are found in), or None when none holds one."""
        texts = sorted((v for v in siblings.values() if isinstance(v, str)), key=len, reverse=True)
        for text in texts:
            found = list(dict.fromkeys(w for w in re.findall(r"[^\W\d_]{4,}", text)))
            if found:
                self.notes.append("a part of the text another argument gives")
                return self.choose(found, pointer)
        return None

    def r_patterns(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        return [self.r_pattern(name, schema, f"{pointer}/0", siblings)]

    def r_pattern(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        desc = f"{schema.get('description', '')} {self.tool.description or ''}".lower()
        own = str(schema.get("description") or "").lower()
        if _CONTENT_PATTERN.search(own) and not _NAME_PATTERN.search(own) and (word := self.shared_word(pointer, siblings)):
            # "The search pattern (regex by default)": text inside the files, not their names
            return word
        glob = "glob" in desc or "*" in desc or "wildcard" in desc
        files = self.obs(("file",), lambda v: self.in_fs(v.value))
        if files and self.attempt == 0 and self.chance(0.85):
            if self.chance(0.5):
                f = self.pick(files, pointer, value_of=lambda v: posixpath.splitext(v.value)[1] or v.value)
                if f:
                    ext = posixpath.splitext(f.value)[1]
                    if ext:
                        return f"**/*{ext}" if glob else ext
            f = self.pick(files, pointer, value_of=lambda v: posixpath.basename(v.value))
            if f:
                base = posixpath.basename(f.value)
                stem = posixpath.splitext(base)[0]
                word = max(re.split(r"[^A-Za-z]+", stem), key=len) or stem
                return f"**/*{word}*" if glob else word
        exts = sorted({posixpath.splitext(f)[1] for f in self.ws.files if posixpath.splitext(f)[1]})
        if exts:
            ext = self.choose(exts, pointer)
            return f"**/*{ext}" if glob else ext.lstrip(".")
        return "**/*" if glob else "a"

    def shared_word(self, pointer: str, siblings: dict[str, Any] | None = None) -> str | None:
        """A word to search the contents of files for: when the call already names where to
        search (a folder or a file), one the texts there hold, seeded or read in this
        exploration; else one that several of the workspace's seed texts hold (``Harbor``),
        so that a search for it finds something wherever it looks. None when no word is."""
        where = [v.rstrip("/") for v in (siblings or {}).values() if isinstance(v, str) and v.startswith(VIRTUAL_ROOT)]
        if where:
            texts = [t for p, t in self.ws.texts.items() if any(p == w or p.startswith(w + "/") for w in where)]
            texts += [str(v.value) for v in self.obs(("line",), lambda v: any(
                str(v.context.get("file") or "") == w or str(v.context.get("file") or "").startswith(w + "/")
                for w in where))]
            words = sorted({w for t in texts for w in _search_words(t)})
            if words:
                return self.choose(words, pointer)
        held: dict[str, int] = {}
        for text in self.ws.texts.values():
            for w in _search_words(text):
                held[w] = held.get(w, 0) + 1
        best = sorted((w for w, n in held.items() if n >= 2), key=lambda w: (-held[w], w))[:12]
        return self.choose(best, pointer) if best else None

    # math / text ------------------------------------------------------------

    def numbers(self) -> list[Value]:
        def ok(v: Value) -> bool:
            if v.kind != "number" or isinstance(v.value, bool):
                return False
            key = str(v.key or "").lower()
            if key in SALIENT_KEYS_SKIP or key == "id" or key.endswith("_id") or key in ("cid", "step"):
                return False
            return abs(v.value) < 1e12
        nums = [v for v in self.values if ok(v)]
        keyed = [v for v in nums if v.key]
        return keyed or nums

    def r_expression(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        closed = closed_form_arguments(self.tool.name)
        if closed and self.tool.server in self.ws.math:
            return self.choose(list(closed), pointer)  # cos(pi/3) is 1/2; cos(290) comes back as asked
        said = re.sub(r"[_\-]+", " ", self.tool_text)
        if _SYMBOLIC.search(said) or _ODE.search(said):
            # factoring, solving or differentiating arithmetic gives back a number: an expression in x
            return self.typed_value("expression", name, self.tool_text, pointer, siblings)
        nums = self.numbers()
        if nums and self.attempt < 2:
            newest = max(v.step for v in nums)
            pool = [v for v in nums if v.step == newest] if self.chance(0.8) else nums
            k = min(len(pool), self.choose([1, 2, 2, 3]))
            first = self.pick(pool, pointer)
            chosen = [first] if first else []
            rest = [v for v in pool if v is not first and v.value != (first.value if first else None)]
            while len(chosen) < k and rest:
                v = self.pick(rest, pointer)
                if v is None:
                    break
                chosen.append(v)
                rest = [x for x in rest if x is not v and x.value != v.value]
            terms = [_fmt_num(v.value) for v in chosen]
            terms = [f"({t})" if t.startswith("-") else t for t in terms]
            if len(terms) == 1:
                op = self.choose(["* 2", "* 1.055", "/ 4", "+ 10", "* 12", "** 2"])
                return f"{terms[0]} {op}"
            if len(terms) == 2:
                return self.choose([f"{terms[0]} + {terms[1]}", f"{terms[0]} * {terms[1]}", f"{terms[0]} - {terms[1]}",
                                    f"({terms[0]} + {terms[1]}) / 2"])
            return self.choose([" + ".join(terms), f"({' + '.join(terms)}) / {len(terms)}",
                                f"{terms[0]} * {terms[1]} + {terms[2]}"])
        a, b, c = self.rng.randint(2, 60), self.rng.randint(2, 40), self.rng.randint(1, 9)
        return self.choose([f"{a} * {b} + {c}", f"({a} + {b}) / {c}", f"{a} ** 2 - {b}", f"sqrt({a * a})"], pointer)

    def r_search(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        def ok(v: Value) -> bool:
            return isinstance(v.value, str) and 2 <= len(v.value) <= 40 and "\n" not in v.value and \
                not v.value.startswith("/")
        kinds = ("entity", "entity_type", "person", "table", "branch", "timezone")
        cands = self.obs(kinds, ok) + self.obs(("text",), lambda v: ok(v) and str(v.key or "").lower() in (
            "name", "city", "supplier", "category", "author", "title", "first_name", "last_name", "maintainer"))
        if not cands:
            cands = self.obs(("email",), ok)
        if cands and (self.attempt == 0 or len(cands) > 1):
            newest = max(v.step for v in cands)
            chosen = self.pick(cands, pointer, value_of=self._search_term, recent=0.8 if newest >= 0 else 0)
            if chosen:
                return self._search_term(chosen)
        known = list(self.ws.memory_entities) + sorted(set(self.ws.memory_entities.values()))
        if known:
            return self.choose([k.split()[-1] if " " in k and self.chance(0.5) else k for k in known], pointer)
        return self.choose(["report", "notes", "config"], pointer)

    def _search_term(self, v: Value) -> str:
        s = str(v.value)
        if v.kind == "email":
            return s.split("@")[0].split(".")[0]
        return s

    def r_text(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        """A title, a description, a reason, a message: a line a person would write, about a
        thing the world showed (a supplier, a file, a person), in words new to the world, so
        what the call wrote is told apart from what was there: "Follow up on Green Coast
        Importers", "Waiting on the reply about suppliers.csv". Never a bare reading read
        back ("Observed total tasks 0.")."""
        words = set(_words(name))
        if words & {"observation", "observations", "insight", "finding", "findings", "note", "notes"}:
            facts = self.salient(2)  # what was observed, as an observation records it
            for v in facts:
                self.use(pointer, v)
            if facts:
                return f"Observed {' and '.join(_render_fact(v) for v in facts)}."
        thing = self.text_subject(pointer, {v for v in siblings.values() if isinstance(v, str)})
        if words & {"reason", "blocker", "cause"}:
            forms = ["Waiting on {x}", "Blocked until {x} is confirmed", "Needs an answer about {x} first"]
        elif words & {"message", "msg", "commit"}:
            forms = ["Update the notes on {x}", "Record the review of {x}", "Add follow-up for {x}"]
        elif words & (_SHORT_TEXT_WORDS | {"name", "summary"}):
            forms = ["Follow up on {x}", "Review {x}", "Check the details of {x}", "Plan next steps for {x}"]
        else:
            forms = ["Review {x} and note what changed.", "Check {x} again before the next order.",
                     "Follow up on {x} at the weekly review.", "Confirm the details of {x} with the team."]
        return self.choose(forms, pointer).format(x=thing)

    def text_subject(self, pointer: str, taken: set[str]) -> str:
        """A thing to write about: a name the newest results showed (a person, an entity, a
        file, a table, a named row), else one of the world's (an entity of its graph, a seed
        file), else the workspace."""
        def named(v: Value) -> bool:
            return isinstance(v.value, str) and 3 <= len(v.value) <= 40 and v.value not in taken \
                and re.search(r"[A-Za-z]{3}", v.value) is not None and "\n" not in v.value
        names = [v for v in self.salient(4) if named(v) and (
            v.kind in ("person", "entity", "file", "table", "branch")
            or str(v.key or "").lower() in ("name", "title", "supplier", "city", "category", "author", "customer"))]
        if names:
            v = names[0]
            self.use(pointer, v)
            return posixpath.basename(v.value) if v.kind == "file" else v.value
        known = sorted(self.ws.memory_entities) or sorted({posixpath.basename(f) for f in self.ws.files})
        return self.choose(known, pointer) if known else "the shared workspace"

    def r_file_content(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        facts = self.salient(self.choose([2, 3, 4]))
        title = self.choose(["Exploration notes", "Findings", "Summary", "Follow-up"])
        lines = [f"# {title}", ""]
        for v in facts:
            self.use(pointer, v)
            label = str(v.key or v.kind).replace("_", " ")
            val = _fmt_num(v.value) if isinstance(v.value, (int, float)) else str(v.value)
            lines.append(f"- {label}: {val}")
        if not facts:
            lines.append("- nothing observed yet")
        return "\n".join(lines) + "\n"

    def r_old_text(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        lines = self.obs(("line",))
        chosen = self.pick(lines, pointer)
        return chosen.value if chosen else MISSING

    def r_new_text(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        old = next((v for k, v in siblings.items() if _norm(k).startswith("old") and isinstance(v, str)), None)
        return (old or "").rstrip() + " (updated)"

    def r_email(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        chosen = self.pick(self.obs(("email",)), pointer)
        if chosen:
            return chosen.value
        self.why_missing[pointer] = "no e-mail address seen"
        return MISSING

    def r_url(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        chosen = self.pick(self.obs(("url",)), pointer)
        if chosen:
            return chosen.value
        if self.ws.urls:  # a page the local web service serves from the sandbox
            pages = [u for u in self.ws.urls if not u.endswith("/")] or list(self.ws.urls)
            return self.choose(pages, pointer)
        self.why_missing[pointer] = "no URL seen"
        return MISSING

    def r_count(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        t = _type(schema)
        if "default" in schema and isinstance(schema["default"], (int, float)) and self.chance(0.3) \
                and not self.default_failed(name, schema, pointer):
            return schema["default"]
        j = "_".join(_words(name))
        opts = (3, 5, 10) if j not in ("head", "tail", "lines", "max_lines") else (5, 10, 20)
        return self.num_in_range(schema, "integer" if t == "integer" else "number", opts)

    def r_index(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        """An index (``slide_index``, ``placeholder_idx``): one seen under that name, else the
        first item (0, or 1 when the documentation counts from 1 or the schema's minimum says
        so), the second on a retry: a random index points past the end of a small collection."""
        got = self.by_key(name, schema, pointer)
        if got is not MISSING:
            return got
        doc = f"{schema.get('description', '')} {param_doc(self.tool.description or '', name)}"
        lo = schema.get("minimum")
        if not isinstance(lo, int) or isinstance(lo, bool):
            lo = 1 if _ONE_BASED.search(doc) else 0
        failed = set(self.failed_at(pointer))
        options = [lo, lo + 1]
        if self.attempt:
            options.reverse()
        return next((o for o in options if json.dumps(o) not in failed), options[0])

    def r_number(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        got = self.by_key(name, schema, pointer)
        if got is not MISSING:
            return got
        if "default" in schema and schema["default"] is not None and not self.default_failed(name, schema, pointer):
            return schema["default"]
        return self.num_in_range(schema, _type(schema))

    def default_failed(self, name: str, schema: dict[str, Any], pointer: str) -> bool:
        """Whether a failed call of this tool asked for ``name`` after it was sent at its
        default ("Provide width, height, or scale" after ``width=0``, the default): the
        default is what the tool takes as not given, and sent again it fails again."""
        return name in self.asked_for and json.dumps(schema.get("default"), sort_keys=True, default=str) \
            in self.failed_at(pointer)

    def r_boolean(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        if set(_words(name)) & _CONFIRM_WORDS:
            return True  # "Deletion must be confirmed": the sandbox is there to be changed
        return bool(schema.get("default", False))

    def r_object(self, name: str, schema: dict[str, Any], pointer: str, siblings: dict[str, Any]) -> Any:
        value = self.fill_object(schema, pointer, parent_role="object")
        if not value:  # a free-form object: the shapes its schema shows, rather than nothing
            shown = [e for e in schema.get("examples") or [] if isinstance(e, dict) and e
                     and not _stand_in(json.dumps(e))] if isinstance(schema.get("examples"), list) else []
            if shown:
                return copy.deepcopy(self.choose(shown, pointer))
            if not schema.get("properties") and (free := self.free_object(name, schema, pointer)) is not MISSING:
                return free
        return value

    def free_object(self, name: str, schema: dict[str, Any], pointer: str) -> Any:
        """A free-form object (no properties named, ``additionalProperties`` allowed) from a
        record the world showed: a renaming tool's mapping names a field of the record and
        a new name for it (``{"price": "price_renamed"}``); a tool that writes or sets data
        is given one of the record's fields with the value seen under it
        (``{"product": "Widget"}``). ``MISSING`` when no record was seen, or when the tool
        neither renames nor writes (a guessed key would fail)."""
        extra = schema.get("additionalProperties", True)
        if extra is False:
            return MISSING
        value_t = _type(_branch(extra)) if isinstance(extra, dict) and extra else ""
        renames = any(w.startswith("rename") for w in [*self.tool_words, *_words(name)])
        if not renames and self.intent not in ("create", "edit"):
            self.why_missing[pointer] = "a free-form object the tool names no field of, and it writes no data"
            return MISSING
        if renames and value_t not in ("", "string"):
            return MISSING

        def fields(v: Value) -> list[str]:
            return [k for k, x in v.value.items() if isinstance(k, str) and k and k not in self.gone
                    and isinstance(x, (str, int, float)) and not isinstance(x, bool)
                    and (renames or not value_t or value_t == _value_type(x)
                         or (value_t == "number" and _value_type(x) == "integer"))]
        records = self.same_result(self.obs(("row",), lambda v: isinstance(v.value, dict) and bool(fields(v))))
        chosen = self.pick(records, pointer, record=False)
        if chosen is None:
            self.why_missing[pointer] = "a free-form object, and no record seen whose fields could fill it"
            return MISSING
        key = self.choose(fields(chosen), pointer)
        out = {key: f"{key}_renamed" if renames else chosen.value[key]}
        self.use(pointer, chosen, out)
        self.notes.append(f"{name}: a field of a record seen" + (" and a new name for it" if renames else ""))
        return out

    # ----------------------------------------------------------------------- validation

    def validate(self, schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
        raw = self.raw_schema or {"type": "object"}
        try:
            cls = validator_for(raw, default=Draft202012Validator)
            validator = cls(raw)
        except Exception:  # noqa: BLE001 - an invalid schema: nothing to check against
            return args
        required = set(raw.get("required", []) if isinstance(raw.get("required"), list) else [])
        props = self.schema.get("properties") if isinstance(self.schema.get("properties"), dict) else {}
        for _round in range(4):
            try:
                errors = list(validator.iter_errors(args))
            except Exception:  # noqa: BLE001
                return args
            if not errors:
                return args
            changed = False
            for err in errors:
                path = list(err.absolute_path)
                if path:
                    top = str(path[0])
                    if top in args and top not in required:
                        del args[top]
                        self.notes.append(f"dropped {top}: {err.message[:80]}")
                        changed = True
                    elif top in args:
                        fixed = self.repair(top, props.get(top, {}), args)
                        if fixed is not MISSING and fixed != args[top]:
                            args[top] = fixed
                            changed = True
                elif err.validator == "required":
                    m = re.search(r"'([^']+)' is a required property", err.message)
                    if m and m.group(1) not in args:
                        v = self.generic(m.group(1), _branch(props.get(m.group(1), {})), _pointer(m.group(1)), args)
                        if v is not MISSING:
                            args[m.group(1)] = v
                            changed = True
                elif err.validator == "additionalProperties":
                    extra = [k for k in args if k not in props]
                    for k in extra:
                        if k not in required:
                            del args[k]
                            changed = True
            if not changed:
                break
        return args

    def repair(self, name: str, schema: dict[str, Any], args: dict[str, Any]) -> Any:
        sub = _branch(schema if isinstance(schema, dict) else {})
        self.sources = [s for s in self.sources if not s.argument.startswith(_pointer(name))]
        if "default" in sub and sub["default"] is not None:
            return copy.deepcopy(sub["default"])
        if isinstance(sub.get("enum"), list) and sub["enum"]:
            return self.choose(list(sub["enum"]))
        t = _type(sub)
        current = args.get(name)
        if t == "string" and isinstance(current, str) and isinstance(sub.get("pattern"), str):
            for form in self.relative_forms(current):
                with contextlib.suppress(re.error):
                    if re.search(sub["pattern"], form):
                        return form  # a path the schema wants relative to the server's root
        if t == "string":
            return MISSING  # no placeholder: the caller skips the tool if the parameter is required
        if t == "integer":
            return int(self.num_in_range(sub, "integer"))
        if t == "number":
            return self.num_in_range(sub, "number")
        if t == "boolean":
            return False
        if t == "array":
            item = _branch(sub.get("items") or {})
            if _type(item) in ("integer", "number", "array"):
                return self.number_list(sub, _pointer(name))
            lo = max(1, int(sub.get("minItems", 0) or 0))
            out = [self.repair(f"{name}_item", item, {}) for _ in range(lo)]
            return MISSING if any(x is MISSING for x in out) else out
        if t == "object":
            return {}
        return MISSING


_PROSE = re.compile(r"[a-z]{3,}[.!?] +[A-Za-z]")  # a sentence ends and another begins (not "St. Louis")


_COLLECTION = re.compile(r"(?:\.([A-Za-z_]\w*)|\[\"([^\"]+)\"\])\[\d+\]\.\w+$")


_ID_WORDS = ("id", "name", "key", "uuid", "slug", "handle", "ref", "title")
_NEW_WORDS = frozenset({"new", "dst", "dest", "destination"})
# a pattern matched against what files hold, and one matched against their names
_CONTENT_PATTERN = re.compile(r"\bregex|regular expression|search pattern|text to (?:search|find)|\bcontents?\b")
_NAME_PATTERN = re.compile(r"\bglob|file ?names?|wildcard|\bpaths?\b")
_COMMON_WORDS = frozenset({"about", "after", "again", "their", "there", "these", "those", "which", "while", "where",
                           "would", "should", "could", "other", "every", "first", "shall", "being", "under", "above"})
# a parameter naming where a result goes, not what the tool works on
_OUTPUT_WORDS = frozenset({"save", "output", "out", "dest", "destination", "target", "export", "backup", "result"})
# "Supported formats: .csv, .tsv, .xlsx", "allowed extensions are .png or .jpg"
_EXTENSIONS_TOLD = re.compile(r"(?i)\b(?:supported|allowed|valid|accepted|expected)\b[^.\n]{0,30}?"
                              r"\b(?:formats?|extensions?|file ?types?|types?)\b(?: are| is)?\s*:?\s*"
                              r"((?:\.[a-z0-9]{1,6}\b[\s,;|/]*(?:or |and )?){1,16})")
# the layout a time parameter documents, by example ("e.g. 2025-03-23 12:30:00") or by pattern
# ("Format: YYYY-MM-DD HH:mm:ss.SSS"): a date, a separator, a time, optional seconds and fraction
_DATETIME_EXAMPLE = re.compile(r"\b(\d{4}-\d{2}-\d{2})([ T])\d{2}:\d{2}(:\d{2}(?:\.\d{1,6})?)?(?![\d:])")
_DATETIME_PATTERN = re.compile(r"\bYYYY-MM-DD([ T])HH:mm(:ss(?:\.S{1,6})?)?")


def _in_layout(hhmm: str, description: str) -> str:
    """``HH:MM`` written as the parameter's description shows a time: on the day of its
    example ("e.g. 2025-03-23 12:30:00" -> "2025-03-23 09:30:00"), or in its pattern ("Format:
    YYYY-MM-DD HH:mm:ss.SSS" -> "2025-03-01 09:30:00.000"); else as it is. A tool asked for a date
    and a time reads a bare time as no date at all ("Invalid Date")."""
    if m := _DATETIME_EXAMPLE.search(description):
        seconds = re.sub(r"\d", "0", m.group(3) or "")
        return f"{m.group(1)}{m.group(2)}{hhmm}{seconds}"
    if m := _DATETIME_PATTERN.search(description):
        seconds = (m.group(2) or "").replace("ss", "00").replace("S", "0")
        return f"2025-03-01{m.group(1)}{hhmm}{seconds}"
    return hhmm


def _dated(v: Value) -> bool:
    """An observed date to pass on: one written out, never a reading of this run's clock (a
    task about today's date is another task tomorrow)."""
    from ..synth.facts import is_volatile

    day = str(v.value)[:10]
    return re.match(r"\d{4}-\d{2}-\d{2}$", day) is not None and not is_volatile("", day)


# typographic punctuation as a keyboard writes it
_TYPOGRAPHY = str.maketrans({"\u2014": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
                             "\u201d": '"', "\u2026": "...", "\u00a0": " "})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\d])")
_SHORT_TEXT_WORDS = frozenset({"topic", "title", "subject", "caption", "heading", "headline", "phrase", "label"})
_ASCII_TOLD = re.compile(r"(?i)\bASCII\b|\bnon-ASCII\b|\bunicode (?:characters? )?(?:is |are )?not (?:allowed|supported)")


def _first_line(text: str, limit: int) -> str:
    """A text's first line with words in it, its markdown marks left out, cut at a word
    within ``limit`` characters: what a topic or a title is given."""
    line = next((ln.strip().lstrip("#*->").strip() for ln in text.splitlines() if re.search(r"\w", ln)), "")
    if len(line) > limit:
        line = line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return line


# "file must be a simple .mmp name", "path must end with .json"
_EXTENSION_TOLD = re.compile(r"(?i)\b(?:must|should|has to|needs to)\s+(?:be|end (?:in|with)|have)\b[^.\n]{0,24}?"
                             r"((?:\.[a-z0-9]{1,6}\b[\s,;|/]*(?:or |and )?){1,4})")
_BARE_NAME_TOLD = re.compile(r"(?i)\b(?:simple|plain|bare|base)\s+(?:\.[a-z0-9]{1,6}\s+)?(?:file\s*)?name\b"
                             r"|\bmust not contain (?:a )?(?:slash|slashes|path separators?|directories)\b"
                             r"|\bnot (?:a|an absolute) path\b")
_WRONG_KIND_TOLD = WRONG_KIND
_ABSENT_TOLD = re.compile(r"(?i)\bno such file\b|\bENOENT\b|\bdoes not exist\b|\bnot found\b|\bcannot find\b")
_ONE_BASED = re.compile(r"(?i)\b(?:1|one)-based\b|\bstart(?:s|ing)? (?:at|from|with) 1\b|\bfirst (?:\w+ )?is 1\b")
_CONFIRM_WORDS = frozenset({"confirm", "confirmed", "confirmation", "acknowledge", "acknowledged", "approve", "approved"})
_TABLE_EXT = (".csv", ".tsv", ".xlsx", ".json")
# an array parameter holding what a tool computes on
_DATA_WORDS = frozenset({"data", "values", "series", "signal", "input", "inputs", "sample", "samples", "observations"})
_LIST_ITEM = re.compile(r"(?:\.([A-Za-z_]\w*)|\[\"([^\"]+)\"\])\[\d+\]$")


def _list_of(path: str) -> str:
    """The list a plain item sat in: ``keys`` for ``$.structured_content.keys[3]``."""
    m = _LIST_ITEM.search(path.split("#json=")[-1])
    return (m.group(1) or m.group(2)) if m else ""


_THING_ID = re.compile(r"([A-Za-z]{3,})[-_:](?=[0-9a-fA-F]*\d)[0-9a-fA-F]{1,40}")


def _names_other_thing(name: str, value: Any) -> bool:
    """True when ``value`` is an id whose prefix names a thing and ``name`` (``epic_id``,
    ``parentTaskId``) is the id of another thing: ``story-abb8ff0b`` for ``epic_id``, not
    ``task-7e3d`` for ``depends_on_task_id``, ``acct-7f3`` for ``account_id``, nor any value
    for ``key`` or ``id``."""
    if not isinstance(value, str):
        return False
    m = _THING_ID.fullmatch(value.strip())
    words = _words(name)
    if not m or len(words) < 2 or words[-1] not in ("id", "uuid"):
        return False
    owner = {_singular(w) for w in words[:-1] if w not in _ROLE_WORDS}
    thing = _singular(m.group(1).lower())
    return bool(owner) and not any(_abbreviates(thing, o) or _abbreviates(o, thing) for o in owner)


def _abbreviates(short: str, word: str) -> bool:
    """``acct`` for ``account``, ``req`` for ``request``: the same first letter, and the
    short word's letters in the long one, in order."""
    if not short or not word or short[0] != word[0]:
        return False
    rest = iter(word)
    return all(c in rest for c in short)


# "Required entry fields: summary (3-15 English words), tags (array of strings), status (F/C/H)"
_LISTED_FIELDS = re.compile(r"(?i)\brequired(?: (\w+))? (?:fields|keys|properties)\s*(?:are|:)\s*"
                            r"((?:[A-Za-z_]\w*(?:\s*\([^()]{0,80}\))?(?:\s*,\s*|\s*,?\s*and\s+|\s*(?=[.;\n]|$)))+)")
_LISTED_FIELD = re.compile(r"([A-Za-z_]\w*)(?:\s*\(([^()]{0,80})\))?")


def _listed_fields(name: str, desc: str, tool_desc: str) -> list[tuple[str, dict[str, Any]]]:
    """The fields an array's items must have, as its description (or the tool's, when it
    names the items: "Required entry fields" for ``entries``) lists them, each with a
    schema its note implies: ``(array ...)`` a list of strings, ``(F/C/H)`` those choices,
    ``(number ...)`` a number, else a string."""
    own = _singular(_norm(name))
    for text, own_text in ((desc, True), (tool_desc, False)):
        for m in _LISTED_FIELDS.finditer(text or ""):
            word = m.group(1)
            if word and _norm(_singular(word)) != own and word.lower() not in ("item", "object", "element"):
                continue
            if not own_text and not word:
                continue  # the tool's own required fields, not its items'
            out = []
            for fm in _LISTED_FIELD.finditer(m.group(2)):
                field, note = fm.group(1), (fm.group(2) or "").strip()
                if field.lower() in ("and", "or"):
                    continue
                if re.match(r"(?i)(?:an? )?(?:array|list)\b", note):
                    sub: dict[str, Any] = {"type": "array", "items": {"type": "string"}, "minItems": 1}
                elif re.fullmatch(r"[A-Za-z0-9]{1,12}(?:\s*/\s*[A-Za-z0-9]{1,12})+", note):
                    sub = {"type": "string", "enum": [c.strip() for c in note.split("/")]}
                elif re.match(r"(?i)(?:an? )?(?:number|integer)\b", note):
                    sub = {"type": "number"}
                else:
                    sub = {"type": "string", "description": note}
                out.append((field, sub))
            if out:
                return out
    return []


_FIELD_WORDS = frozenset({"column", "columns", "col", "cols", "field", "fields"})
_FIELD_NAMES = frozenset({"group_by", "sort_by", "order_by", "groupby", "sortby", "orderby"})
# a list of a table's columns: "features", "numerical_columns", "fields", "headers"
_COLUMN_LISTS = frozenset({"column", "col", "feature", "field", "header", "variable"})
_ABOUT_COLUMNS = re.compile(r"\b(?:columns?|features?|categorical|numerical)\b")


def _names_new(name: str) -> bool:
    """A parameter naming a thing the call makes, whatever the tool does: ``dstSheetName``,
    ``new_key``, ``destination_name``."""
    words = _words(name)
    return bool(set(words) & _NEW_WORDS) and words[-1:] in ([w] for w in _ID_WORDS)


def _field_param(name: str) -> bool:
    """A parameter naming a field of a record: ``column``, ``group_by``, ``sort_fields``."""
    return bool(set(_words(name)) & _FIELD_WORDS) or "_".join(_words(name)) in _FIELD_NAMES


_DESTINATIONS = frozenset({"destination", "dst", "dest", "target", "target_path", "new_path", "to", "output",
                           "output_path"})


def _documented_count(schema: dict[str, Any]) -> int | None:
    """How many items a list parameter's description says it takes (:data:`_COUNT_DOCUMENTED`)."""
    desc = schema.get("description")
    m = _COUNT_DOCUMENTED.search(desc) if isinstance(desc, str) else None
    if m is None:
        return None
    word = m.group(1).lower()
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word, 1)


def _made_from_sibling(name: str) -> bool:
    """A parameter naming where a tool puts what it makes from another argument (a move's
    ``destination``, an ``output_path``): filled after that argument, so the new name is drawn
    from it (``sales_summary-moved-12.py``)."""
    words = _words(name)
    return "_".join(words) in _DESTINATIONS or any(w in words for w in ("output", "destination", "dest"))


def _part_of_text(raw: Any) -> bool:
    """A parameter its description says holds parts of another argument's text
    (``expected_matches``: "Array of substrings that should be matched"): filled after it."""
    return isinstance(raw, dict) and bool(_PART_OF_TEXT.search(str(raw.get("description") or "")))


def _same_lengths(out: dict[str, Any], order: list[str]) -> None:
    """Every list of ``out`` cut or stretched (its last item again) to the length of the first
    non-empty one in ``order``: lists a tool pairs item by item (matches and their groups)."""
    lists = [k for k in order if isinstance(out.get(k), list)]
    n = next((len(out[k]) for k in lists if out[k]), 0)
    if not n:
        return
    for k in lists:
        items = out[k]
        if items:
            out[k] = items[:n] + [copy.deepcopy(items[-1]) for _ in range(n - len(items))]


def _draws_on_records(name: str, raw: Any) -> bool:
    """A parameter filled from a record the world showed: a field name, or a free-form
    object (alone or as the items of a list)."""
    sub = _branch(raw) if isinstance(raw, dict) else {}
    if _field_param(name):
        return True
    if _type(sub) == "array":
        sub = _branch(sub.get("items") or {}) if isinstance(sub.get("items"), dict) else {}
    return _type(sub) == "object" and not sub.get("properties")


def _value_type(x: Any) -> str:
    """The JSON Schema type of a scalar."""
    if isinstance(x, bool):
        return "boolean"
    if isinstance(x, int):
        return "integer"
    return "number" if isinstance(x, float) else "string"


def _collection(path: str) -> str:
    """The list a value's record sat in: ``accounts`` for ``$.structured_content.accounts[0].id``."""
    m = _COLLECTION.search(path.split("#json=")[-1])
    return (m.group(1) or m.group(2)) if m else ""


_BINARY_SERIES = {"y", "outcome", "outcomes", "treatment", "treated", "label", "labels", "target", "endog",
                  "dependent", "response", "d", "w", "s", "selection", "binary"}
_BINARY_TOOL = re.compile(r"(?i)\b(?:logit|probit|logistic|binary (?:outcome|choice|response|dependent))\b")
_BINARY_TOLD = re.compile(r"(?i)unit interval|\bbinary\b|\b0 (?:and|or) 1\b|\b0/1\b|between 0 and 1|two classes"
                          r"|multiclass")
_CELL_RANGE = re.compile(r"(?<![\w$])([A-Z]{1,3}[1-9]\d{0,6})(?::([A-Z]{1,3}[1-9]\d{0,6}))?(?![\w(])")
# a parameter's first words naming the part an existing thing plays (not a new thing's name)
_ROLE_WORDS = {"source", "src", "from", "depends", "on", "parent", "focus", "other", "base", "existing", "current",
               "old", "input", "reference", "ref"}
_LOWER_WORDS = {"lower", "start", "low", "min", "from", "begin", "a"}
_UPPER_WORDS = {"upper", "end", "stop", "high", "max", "to", "b"}
_READ_AS_LIST = re.compile(r"'list' object has no attribute|can't multiply sequence")
_MATRIX_CALL = re.compile(r"[A-Za-z_]\w*\(\s*\[\s*\[.*\]\s*\]\s*\)", re.S)
# what a tool does to an expression that needs a variable in it (done to arithmetic it gives back a number)
_SYMBOLIC = re.compile(r"(?i)\b(?:symbols?|symbolic|variables?|polynomials?|factor\w*|expand\w*|simplif\w*|solve\w*|roots?"
                       r"|derivatives?|differentiat\w*|integra\w*|limits?|series|apart|together|cancel|collect|coefficients?"
                       r"|degree|substitut\w*|subs|groebner|diophantine|partial fractions?|free)\b")
_ODE = re.compile(r"(?i)\bODEs?\b|\bdifferential equations?\b|\bdsolve\b")
_PARSES_NUMBERS = re.compile(r"(?i)invalid literal for|could not convert string|not a valid (?:number|integer|float)")


_GROUP_WORDS = {"entity", "entities", "group", "groups", "unit", "units", "cluster", "clusters", "panel", "individual",
                "individuals", "firm", "firms", "subject", "subjects"}
_TIME_WORDS = {"time", "times", "period", "periods", "year", "years", "wave", "waves"}


def _panel_axis(name: str) -> str | None:
    """``entity`` for an array labelling each row's group (``entity_ids``, ``groups``),
    ``time`` for one labelling its period (``time_periods``), else None."""
    words = set(_words(name))
    if words & _GROUP_WORDS:
        return "entity"
    if words & _TIME_WORDS and not words & {"series", "data", "values", "value"}:
        return "time"
    return None


def _panel_labels(axis: str, n: int, item_type: str) -> list[Any]:
    """The labels of ``n`` rows of a balanced panel: entities in runs (1, 1, 1, 2, 2, 2),
    periods cycling within each (1, 2, 3, 1, 2, 3); as text for a string array."""
    periods = 3 if n % 3 == 0 and n >= 6 else 2
    labels = [i // periods + 1 if axis == "entity" else i % periods + 1 for i in range(n)]
    if item_type == "string":
        return [f"unit_{x}" if axis == "entity" else str(2020 + x) for x in labels]
    return labels


_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object"})


def _declared_by_errors(tool: ToolRef, history: list[CallRecord]) -> dict[str, dict[str, Any]]:
    """Parameters the tool's schema does not declare that a failed call of it was told it
    lacks, each with the type the error expected: a validation error listing its issues as
    JSON (zod's ``[{"expected": "array", "code": "invalid_type", "path": ["paths"], ...}]``)."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    declared = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    out: dict[str, dict[str, Any]] = {}
    for r in history:
        if (r.server, r.tool) != (tool.server, tool.name) or not (r.is_error or looks_like_error(r)):
            continue
        for block in r.content or []:
            text = block.get("text") if isinstance(block, dict) else None
            issues = _issue_list(text) if isinstance(text, str) and "expected" in text else []
            for issue in issues:
                path, expected = (issue.get("path"), issue.get("expected")) if isinstance(issue, dict) else (None, None)
                if isinstance(path, list) and len(path) == 1 and isinstance(path[0], str) and path[0] not in declared \
                        and expected in _JSON_TYPES:
                    out[path[0]] = {"type": expected, **({"items": {"type": "string"}} if expected == "array" else {})}
    return out


def _issue_list(text: str) -> list[Any]:
    """The list of issues a validation error gives as JSON after its message, or its one issue."""
    from ..locator import embedded_json

    start = text.find("[")
    if start >= 0:
        with contextlib.suppress(ValueError):
            found = json.loads(text[start:])
            if isinstance(found, list):
                return found
    found = embedded_json(text)
    return found if isinstance(found, list) else [found] if isinstance(found, dict) else []


def _asked_for(names: Iterable[str], failed: list[CallRecord]) -> set[str]:
    """Parameters a failed call's error names (``X_data and y_data must be provided``): the
    next attempt passes them although they are optional; of "either A or B", A alone."""
    text = " ".join(
        str(b.get("text", "")) for r in failed for b in (r.content or []) if isinstance(b, dict)
    ) + " ".join(json.dumps(r.structured, default=str) for r in failed if r.structured is not None)
    if not text.strip():
        return set()
    # ASCII bounds: a name beside CJK text ("y_data、x_data和weights") is still named
    at = {n: m.start() for n in names if len(n) > 2
          and (m := re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", text))}
    if re.search(r"(?i)\beither\b|\bone of\b|或", text) and at:  # "either file_path or data": the first
        first = min(at, key=at.get)
        rest = set(at) - {first}
        sent = {k for r in failed if isinstance(r.arguments, dict) for k in r.arguments}
        # the first was given and failed, or the other alternative was begun ("or (y_data,
        # x_data, weights)" after y_data and x_data): the other alternative, whole
        return rest if rest and (first in sent or rest & sent) else {first}
    return set(at)


def _search_words(text: str) -> set[str]:
    """The words of a text worth searching file contents for: five to fifteen letters, none
    of the commonest."""
    return {w for w in re.findall(r"\b[A-Za-z][a-z]{4,14}\b", text) if w.lower() not in _COMMON_WORDS}


# the two ends of a conversion or a copy: a parameter named with one, its counterpart with the other
_TWO_ENDS = (("from", "to"), ("source", "target"), ("source", "destination"), ("src", "dst"), ("input", "output"),
             ("in", "out"))


def _counterpart_value(name: str, siblings: dict[str, Any]) -> Any:
    """The value already given to the other end of ``name`` (``from_unit`` for ``to_unit``,
    ``sourceTimezone`` for ``targetTimezone``), or MISSING."""
    words = _words(name)
    for key, value in siblings.items():
        other = _words(str(key))
        if len(other) != len(words) or other == words:
            continue
        diff = [(a, b) for a, b in zip(words, other) if a != b]
        if len(diff) == 1 and (diff[0] in _TWO_ENDS or diff[0][::-1] in _TWO_ENDS):
            return value
    return MISSING


def _named(name: str, text: str) -> bool:
    """The error names a parameter: ``slide_index`` as itself or as words (``slide index``)."""
    forms = {name, " ".join(_words(name))}
    return any(len(f) > 2 and re.search(rf"(?i)(?<![A-Za-z0-9_]){re.escape(f)}(?![A-Za-z0-9_])", text) for f in forms)


def _input_file(name: str) -> bool:
    """A parameter naming a file a tool reads (``file_path``), not one it writes (``save_path``)."""
    words = set(_words(name))
    return bool(words & {"file", "path", "filepath", "filename"}) and not words & _OUTPUT_WORDS


def _unblamed(names: list[str], failed: CallRecord | None, asked_for: set[str]) -> dict[str, Any]:
    """What a retry keeps of the call that just failed: the values its error does not blame.

    An error that names a parameter the call did not send ("Operation collatz requires
    parameter 'number'") blames none of those it did: they stay as they were (the operation
    asked about is the one to complete) and the missing one is added. An error that names or repeats some
    of the values sent ("Invalid slide index: 10", "Template file not found: /a.pptx") blames
    those: the rest (the presentation made first) stays. An error that blames nothing ("'NoneType'
    object is not iterable") keeps nothing: the retry tries other values throughout."""
    if failed is None or not isinstance(failed.arguments, dict) or not failed.arguments:
        return {}
    text = " ".join(str(b.get("text", "")) for b in failed.content or [] if isinstance(b, dict))
    text += " " + json.dumps(failed.structured, default=str) if failed.structured is not None else ""
    sent = {k: v for k, v in failed.arguments.items() if k in names}
    if not text.strip() or not sent:
        return {}
    if set(asked_for) - set(sent):  # something missing: complete the call
        return {k: v for k, v in sent.items() if k not in asked_for}
    blamed = {k for k, v in sent.items() if _named(k, text) or echoes(text, v, numbers=True)}
    if not blamed:
        return {}
    return {k: v for k, v in sent.items() if k not in blamed}


def _render_fact(v: Value) -> str:
    """``key value``, or for a value from a small record (a row), the whole record."""
    rec = v.context.get("record")
    if isinstance(rec, dict) and 1 < len(rec) <= 4 and v.key in rec and all(
            isinstance(x, (str, int, float)) and len(str(x)) <= 60 for x in rec.values()):
        return ", ".join(f"{str(k).replace('_', ' ')} {_fmt_num(x) if isinstance(x, (int, float)) else x}"
                         for k, x in rec.items())
    label = str(v.key or v.kind).replace("_", " ")
    return f"{label} {_fmt_num(v.value) if isinstance(v.value, (int, float)) else v.value}"


def _dicts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(d for v in value.values() for d in _dicts(v))]
    if isinstance(value, list):
        return [d for v in value for d in _dicts(v)]
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []



