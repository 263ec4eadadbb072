"""Probe calls: after a successful effectful call, a read-only call that observes its effect.

A state-change task later asks for an end state ("the file now says ...", "the last commit
is ...") and checks it with a probe. The explorer makes that probe right away, on the same
server, so that the observation is a real recorded result (``tool-called`` with
``probe_of`` set to the step of the effectful call).

:func:`pick_probe` chooses the probe from the effectful call's tool and arguments and the
read-only tools the same server offers, with rules for the usual shapes of effects:

- a file written, edited or created (a ``path`` inside the sandbox): read it back
  (``read_text_file`` / ``read_file``), a directory created: list it, a file moved: list
  the folder it went to (``get_file_info`` when there is no lister);
- git: a commit -> ``git_log`` (newest first), an add -> ``git_diff_staged``, a new branch
  -> ``git_branch`` (local), a checkout or reset (or any other effect on a repository) ->
  ``git_status``;
- a memory graph: the entities created, observed, related or deleted -> ``open_nodes`` of
  their names;
- SQL: ``INSERT INTO t`` -> the newest rows of ``t``; ``UPDATE t ... WHERE c`` -> the rows
  matching ``c``; ``DELETE FROM t WHERE c`` -> how many rows still match ``c``; ``CREATE
  TABLE t`` -> ``describe_table`` of ``t``;
- otherwise a read-only tool of the same server whose required parameters all appear, by
  name, in the effectful call's arguments, called with those values (``delete_note(title)``
  -> ``read_note(title)``).

No rule fits (an effect no read-only tool can observe, such as mcp-server-sqlite's
``append_insight`` memo): no probe. The probe's arguments are validated against the probe
tool's input schema; a probe that would not validate is not made.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema.validators import validator_for

from .policy import VIRTUAL_ROOT, CallRecord, ToolRef

__all__ = ["Probe", "pick_probe"]


@dataclass(frozen=True)
class Probe:
    """A read-only call to make after an effectful one: the tool, its arguments, and why."""

    tool: ToolRef
    arguments: dict[str, Any]
    note: str = ""


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()) if w]


def _props(tool: ToolRef) -> dict[str, Any]:
    props = tool.input_schema.get("properties") if isinstance(tool.input_schema, dict) else None
    return props if isinstance(props, dict) else {}


def _required(tool: ToolRef) -> list[str]:
    req = tool.input_schema.get("required") if isinstance(tool.input_schema, dict) else None
    return [r for r in req if isinstance(r, str)] if isinstance(req, list) else []


def _valid(tool: ToolRef, arguments: dict[str, Any]) -> bool:
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    try:
        cls = validator_for(schema)
        return not any(True for _ in cls(schema).iter_errors(arguments))
    except Exception:  # noqa: BLE001 - a schema the validator cannot use: let the server judge
        return True


class _Readers:
    """The read-only tools of one server, found by name."""

    def __init__(self, tools: Sequence[ToolRef]):
        self.by_name = {t.name: t for t in tools}

    def first(self, *names: str) -> ToolRef | None:
        for name in names:
            if name in self.by_name:
                return self.by_name[name]
        return None


# --------------------------------------------------------------------------- rules


def _fs_probe(call: CallRecord, words: list[str], readers: _Readers) -> Probe | None:
    args = call.arguments
    paths = {k: v for k, v in args.items() if isinstance(v, str) and v.startswith(VIRTUAL_ROOT)}
    if not paths:
        return None
    if any(w in words for w in ("move", "rename", "mv", "copy")):
        dest = next((v for k, v in paths.items() if _words(k)[:1] in (["destination"], ["dest"], ["target"], ["to"],
                                                                        ["new"])), None)
        if dest is None:
            return None
        lister = readers.first("list_directory", "list_dir", "ls")
        if lister is not None and "path" in _props(lister):
            return Probe(lister, {"path": posixpath.dirname(dest.rstrip("/")) or VIRTUAL_ROOT},
                         "list the folder the file was moved to")
        info = readers.first("get_file_info", "stat")
        return Probe(info, {"path": dest}, "the moved file at its new place") if info else None
    path = args.get("path") if isinstance(args.get("path"), str) else next(iter(paths.values()))
    if any(w in words for w in ("directory", "dir", "folder", "mkdir")):
        lister = readers.first("list_directory", "list_dir", "ls", "get_file_info")
        return Probe(lister, {"path": path}, "list the created folder") if lister else None
    if any(w in words for w in ("delete", "remove", "unlink")):
        lister = readers.first("list_directory", "list_dir", "ls")
        parent = posixpath.dirname(path.rstrip("/")) or VIRTUAL_ROOT
        return Probe(lister, {"path": parent}, "list the folder the file was removed from") if lister else None
    reader = readers.first("read_text_file", "read_file", "get_file_contents", "cat")
    if reader is not None and "path" in _props(reader):
        return Probe(reader, {"path": path}, "read the file back")
    return None


def _git_probe(call: CallRecord, words: list[str], readers: _Readers) -> Probe | None:
    repo = call.arguments.get("repo_path")
    if not isinstance(repo, str):
        return None
    base = {"repo_path": repo}
    if "commit" in words:
        log = readers.first("git_log")
        if log is not None:
            return Probe(log, {**base, "max_count": 3} if "max_count" in _props(log) else base, "the newest commits")
    if "add" in words:
        staged = readers.first("git_diff_staged")
        if staged is not None:
            return Probe(staged, base, "what is staged now")
    if "branch" in words and "create" in words:
        lister = readers.first("git_branch")
        if lister is not None:
            extra = {"branch_type": "local"} if "branch_type" in _props(lister) else {}
            return Probe(lister, {**base, **extra}, "the local branches")
    status = readers.first("git_status")
    return Probe(status, base, "the repository's status") if status else None


def _entity_names(value: Any, key: str = "") -> list[str]:
    """Entity names in memory-graph arguments: name, entityName, from, to, entityNames[]."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_entity_names(v, k))
    elif isinstance(value, list):
        for v in value:
            out.extend(_entity_names(v, key))
    elif isinstance(value, str) and _words(key) in (["name"], ["entity", "name"], ["from"], ["to"],
                                                    ["entity", "names"], ["names"]):
        out.append(value)
    return out


def _memory_probe(call: CallRecord, words: list[str], readers: _Readers) -> Probe | None:
    opener = readers.first("open_nodes")
    if opener is None or "names" not in _props(opener):
        return None
    names = list(dict.fromkeys(_entity_names(call.arguments)))[:6]
    if not names:
        return None
    return Probe(opener, {"names": names}, "open the entities the call touched")


_SQL_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\"`\[]?(\w+)[\"`\]]?", re.IGNORECASE)
_SQL_UPDATE = re.compile(r"^\s*UPDATE\s+(?:OR\s+\w+\s+)?[\"`\[]?(\w+)[\"`\]]?\s+SET\s+.+?(?:\s+WHERE\s+(.+?))?\s*;?\s*$",
                         re.IGNORECASE | re.DOTALL)
_SQL_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+[\"`\[]?(\w+)[\"`\]]?(?:\s+WHERE\s+(.+?))?\s*;?\s*$",
                         re.IGNORECASE | re.DOTALL)
_SQL_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)[\"`\]]?", re.IGNORECASE)
_VALUES_ROWS = re.compile(r"\)\s*,\s*\(")


def _sql_probe(call: CallRecord, words: list[str], readers: _Readers) -> Probe | None:
    sql = next((v for k, v in call.arguments.items() if isinstance(v, str) and _words(k)[-1:] in (["query"], ["sql"],
                                                                                                  ["statement"])), None)
    if sql is None or ";" in sql.strip().rstrip(";"):
        return None  # several statements: no single observation
    select = readers.first("read_query", "query", "execute_query", "run_query")
    select_param = next((k for k in _props(select)), None) if select is not None else None
    if (m := _SQL_CREATE.match(sql)) is not None:
        describe = readers.first("describe_table", "describe", "table_info")
        if describe is not None and len(_props(describe)) == 1:
            return Probe(describe, {next(iter(_props(describe))): m.group(1)}, "describe the created table")
        return None
    if select is None or select_param is None:
        return None
    if (m := _SQL_INSERT.match(sql)) is not None:
        rows = len(_VALUES_ROWS.findall(sql)) + 1 if re.search(r"\bVALUES\b", sql, re.IGNORECASE) else 5
        query = f"SELECT * FROM {m.group(1)} ORDER BY rowid DESC LIMIT {min(max(rows, 1), 10)}"
        return Probe(select, {select_param: query}, "the newest rows of the table")
    if (m := _SQL_UPDATE.match(sql)) is not None:
        where = f" WHERE {m.group(2)}" if m.group(2) else ""
        return Probe(select, {select_param: f"SELECT * FROM {m.group(1)}{where} LIMIT 20"}, "the updated rows")
    if (m := _SQL_DELETE.match(sql)) is not None:
        where = f" WHERE {m.group(2)}" if m.group(2) else ""
        return Probe(select, {select_param: f"SELECT count(*) AS remaining FROM {m.group(1)}{where}"},
                     "how many rows still match")
    return None


def _by_argument_names(call: CallRecord, readers: _Readers) -> Probe | None:
    """A read-only tool whose required parameters are all among the call's arguments."""
    best: tuple[int, str, ToolRef] | None = None
    for name, tool in readers.by_name.items():
        req = _required(tool)
        if req and all(r in call.arguments for r in req):
            score = (len(req), name)
            if best is None or score > best[:2]:
                best = (*score, tool)
    if best is None:
        return None
    tool = best[2]
    return Probe(tool, {r: call.arguments[r] for r in _required(tool)}, "read what the call changed")


def pick_probe(call: CallRecord, tool: ToolRef, readers: Sequence[ToolRef]) -> Probe | None:
    """The probe for one successful effectful call of ``tool``, or None when none of
    ``readers`` (the read-only tools of its server) observes the effect."""
    if not isinstance(call.arguments, dict):
        return None
    readers = _Readers([t for t in readers if t.server == tool.server and t.name != tool.name])
    if not readers.by_name:
        return None
    words = _words(tool.name)
    probe = None
    for rule in (_git_probe, _sql_probe, _memory_probe, _fs_probe):
        probe = rule(call, words, readers)
        if probe is not None:
            break
    if probe is None:
        probe = _by_argument_names(call, readers)
    if probe is None or not _valid(probe.tool, probe.arguments):
        return None
    return probe
