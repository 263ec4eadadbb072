"""The sqlite family: mcp-server-sqlite (``serverInfo`` ``sqlite-manager``) and servers
shaped like it.

Its world: the shop database of the seed workspace (``shop.db`` of :mod:`firefly.seeds`,
built from ``data/seeds/shop.sql``), shared with no other server. What firefly knows:

- probes, from the SQL of the effect: ``INSERT INTO t`` -> the newest rows of ``t``;
  ``UPDATE t ... WHERE c`` -> the rows matching ``c``; ``DELETE FROM t WHERE c`` -> how
  many rows still match ``c``; ``CREATE TABLE t`` -> ``describe_table`` of ``t``; the
  insight memo (``append_insight``) has no reader, so no probe;
- facts: the rows a query returned (the server answers with a Python literal), the tables,
  a table's columns;
- words: "the shop database", and SQL statements quoted as they were run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..explore.policy import CallRecord
from ..explore.probe import Probe, Readers, props
from ..explore.probe import words as name_words
from ..synth.facts import Cell, Reading, first_text, parse_structured_text, rows_table
from ..synth.phrasing import quote
from .family import FactReader, FamilyAdapter

__all__ = ["ADAPTER", "SqliteAdapter"]

TOOLS = {
    "append_insight": frozenset(["insight"]),
    "create_table": frozenset(["query"]),
    "describe_table": frozenset(["table_name"]),
    "list_tables": frozenset(),
    "read_query": frozenset(["query"]),
    "write_query": frozenset(["query"]),
}


# --------------------------------------------------------------------------- probes


_SQL_INSERT = re.compile(r"^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\"`\[]?(\w+)[\"`\]]?", re.IGNORECASE)
_SQL_UPDATE = re.compile(r"^\s*UPDATE\s+(?:OR\s+\w+\s+)?[\"`\[]?(\w+)[\"`\]]?\s+SET\s+.+?(?:\s+WHERE\s+(.+?))?\s*;?\s*$",
                         re.IGNORECASE | re.DOTALL)
_SQL_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+[\"`\[]?(\w+)[\"`\]]?(?:\s+WHERE\s+(.+?))?\s*;?\s*$",
                         re.IGNORECASE | re.DOTALL)
_SQL_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?(\w+)[\"`\]]?", re.IGNORECASE)
_VALUES_ROWS = re.compile(r"\)\s*,\s*\(")


def _sql_probe(call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
    sql = next((v for k, v in call.arguments.items() if isinstance(v, str) and name_words(k)[-1:] in (["query"], ["sql"],
                                                                                                  ["statement"])), None)
    if sql is None or ";" in sql.strip().rstrip(";"):
        return None  # several statements: no single observation
    select = readers.first("read_query", "query", "execute_query", "run_query")
    select_param = next((k for k in props(select)), None) if select is not None else None
    if (m := _SQL_CREATE.match(sql)) is not None:
        describe = readers.first("describe_table", "describe", "table_info")
        if describe is not None and len(props(describe)) == 1:
            return Probe(describe, {next(iter(props(describe))): m.group(1)}, "describe the created table")
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


# --------------------------------------------------------------------------- facts


def _sqlite_rows(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    rows = parse_structured_text(text)
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return Reading()
    return Reading([rows_table(step, base, rows, "row", "rows")])


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


READERS: dict[str, FactReader] = {
    "read_query": _sqlite_rows,
    "list_tables": _list_tables,
    "describe_table": _describe_table,
}


# --------------------------------------------------------------------------- words


def _scope(tool: str, args: dict[str, Any], subst: dict[str, str]) -> str | None:
    if tool == "list_tables":
        return "the shop database"
    if tool == "describe_table":
        name = subst.get("table_name", args.get("table_name"))
        return f"{name}" if "table_name" in subst else f"the table {name} of the shop database"
    if tool == "read_query":
        return f"the result of the query `{args.get('query')}` on the shop database"
    return None


def _effect(tool: str, args: dict[str, Any]) -> str | None:
    if tool in ("create_table", "write_query"):
        return f"run this SQL statement on the shop database: {args['query']}"
    if tool == "append_insight":
        return f"add this business insight to the memo: {quote(args['insight'])}"
    return None


# --------------------------------------------------------------------------- the adapter


class SqliteAdapter(FamilyAdapter):
    name = "sqlite"
    server_names = frozenset({"sqlite-manager", "sqlite", "mcp-server-sqlite"})
    tools = TOOLS
    workspace = ("shop.db", "shop.sql")

    def build_workspace_part(self, seed: Path, dest: Path) -> None:
        from ..seeds import build_database

        build_database(seed, dest)

    def probe_rule(self, call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
        return _sql_probe(call, words, readers)

    def fact_readers(self) -> Mapping[str, FactReader]:
        return READERS

    def family_scope(self, tool: str, arguments: dict[str, Any], subst: dict[str, str]) -> str | None:
        return _scope(tool, arguments, subst)

    def described(self) -> frozenset[str]:
        return frozenset({"create_table", "write_query", "append_insight"})

    def family_effect(self, tool: str, arguments: dict[str, Any]) -> str | None:
        return _effect(tool, arguments)


ADAPTER = SqliteAdapter()
