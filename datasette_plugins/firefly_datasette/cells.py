"""Links from table cells to firefly's pages (``render_cell``): an exploration id to its
page, a DAG id to its picture, a task id to its page, a tool name to its neighbourhood.
A primary key already links to Datasette's row page, so a task's question links to its page
and an exploration's walk (its tools) to its page. The linked text is the cell's value,
escaped; every other cell is left to Datasette, which escapes it too."""

from __future__ import annotations

import json
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

from .metadata import firefly_databases
from .pages import dag_url, exploration_url, task_url, tool_url

EXPLORATION_COLUMNS = {("explorations", "exploration_id"), ("calls", "exploration_id"), ("tasks", "exploration_id"),
                       ("syntheses", "exploration_id"), ("sim_calls", "exploration_id")}
DAG_COLUMNS = {("dags", "dag_id"), ("dag_tools", "dag_id"), ("explorations", "dag_id"), ("tasks", "dag_id")}
TASK_COLUMNS = {("tasks", "task_id"), ("verdicts", "task_id"), ("episodes", "task_id"), ("episode_aborts", "task_id")}
OWN_PAGE = {("tasks", "question"), ("explorations", "tools")}  # rows whose key is the primary key
LINKED = EXPLORATION_COLUMNS | DAG_COLUMNS | TASK_COLUMNS | OWN_PAGE | {("tools", "name")}


def _link(url: str, value: Any) -> Markup:
    # plain concatenation of escaped parts: Markup.format is several times slower, and this
    # runs for hundreds of cells per page
    return Markup(f'<a href="{escape(url)}">{escape(value)}</a>')


@hookimpl
def render_cell(row, value, column, table, database, datasette):  # noqa: ANN001, ANN201
    if not isinstance(value, str) or not value or table is None:
        return None
    key = (table, column)
    if key not in LINKED:
        return None
    if database not in firefly_databases(datasette):
        return None
    if key == ("tasks", "question"):
        return _link(task_url(datasette, database, row["task_id"]), value)
    if key == ("explorations", "tools"):
        try:
            walk = " → ".join(str(t) for t in json.loads(value))
        except ValueError:
            walk = value
        return _link(exploration_url(datasette, database, row["exploration_id"]), walk)
    if key in EXPLORATION_COLUMNS:
        return _link(exploration_url(datasette, database, value), value)
    if key in DAG_COLUMNS:
        return _link(dag_url(datasette, database, value), value)
    if key in TASK_COLUMNS:
        return _link(task_url(datasette, database, value), value)
    server = row["server"] if "server" in row.keys() else None
    if isinstance(server, str):
        return _link(tool_url(datasette, database, server, value), value)
    return escape(value)
