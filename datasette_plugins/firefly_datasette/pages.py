"""firefly's pages in Datasette (``register_routes``):

* ``/<db>/-/firefly/exploration/<id>``: an exploration, its DAG and its calls in order with
  arguments and results (long results folded);
* ``/<db>/-/firefly/task/<id>``: a task, its label, its reference trajectory as readable
  calls with their recorded results, the provenance of the label highlighted, its verdicts;
* ``/<db>/-/firefly/dag/<id>.svg`` (``?exploration=<id>`` colours the steps by outcome) and
  ``/<db>/-/firefly/tool/<server>/<name>.svg`` (``?radius=1|2``): pictures.

Ids in paths are tilde-encoded (Datasette's encoding). Every value that came from a tool or
an LLM reaches the page through Jinja's autoescaping or :func:`markupsafe.escape`; the only
markup added around it is firefly's own (``<mark>`` for provenance).
"""

from __future__ import annotations

import json
import re
from typing import Any

from datasette import hookimpl
from datasette.utils import tilde_decode, tilde_encode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup, escape

from .metadata import firefly_databases
from .pictures import dag_svg, neighbourhood_svg

FOLD_CHARS = 600
FOLD_LINES = 12
SVG_HEADERS = {"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'", "x-content-type-options": "nosniff"}


# -- urls ----------------------------------------------------------------------------------------


def page_url(datasette: Any, database: str, *parts: str, suffix: str = "") -> str:
    """The path of a firefly page: ``/<db>/-/firefly/<part>/<part>...``, each part tilde-encoded."""
    encoded = "/".join(tilde_encode(p) for p in parts)
    return datasette.urls.path(f"{datasette.urls.database(database)}/-/firefly/{encoded}{suffix}")


def exploration_url(datasette: Any, database: str, exploration_id: str) -> str:
    return page_url(datasette, database, "exploration", exploration_id)


def task_url(datasette: Any, database: str, task_id: str) -> str:
    return page_url(datasette, database, "task", task_id)


def dag_url(datasette: Any, database: str, dag_id: str, exploration_id: str | None = None) -> str:
    url = page_url(datasette, database, "dag", dag_id, suffix=".svg")
    return url + (f"?exploration={tilde_encode(exploration_id)}" if exploration_id else "")


def tool_url(datasette: Any, database: str, server: str, name: str) -> str:
    return page_url(datasette, database, "tool", server, name, suffix=".svg")


# -- reading -------------------------------------------------------------------------------------


async def _database(datasette: Any, request: Any, tables: tuple[str, ...]) -> tuple[str, Any]:
    """The firefly database named in the path, after checking the actor may read ``tables``."""
    name = tilde_decode(request.url_vars["database"])
    if name not in firefly_databases(datasette):
        raise NotFound(f"Database not found: {name}")
    await datasette.ensure_permissions(
        request.actor, [*(("view-table", (name, t)) for t in tables), ("view-database", name), "view-instance"]
    )
    return name, datasette.get_database(name)


async def _has_tables(db: Any, *names: str) -> bool:
    return set(names) <= set(await db.table_names())


def _json(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def pretty(value: Any) -> str:
    """JSON as indented text (for a <pre>); text as itself."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def folded(body: str) -> dict[str, Any]:
    """How to show a long text: a preview line and whether to fold it."""
    lines = body.splitlines()
    fold = len(body) > FOLD_CHARS or len(lines) > FOLD_LINES
    first = lines[0] if lines else ""
    preview = first if len(first) <= 120 else first[:119] + "…"
    return {"fold": fold, "preview": preview, "chars": len(body), "lines": len(lines)}


def needles(value: Any) -> list[str]:
    """The texts that show a provenance value inside a result."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, bool):
        return [json.dumps(value)]
    if isinstance(value, (int, float)):
        out = [json.dumps(value)]
        if isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        return out
    return [json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)]


def highlight(body: str, marks: list[str]) -> Markup:
    """``body`` escaped, with every occurrence of a ``marks`` text wrapped in <mark>."""
    marks = sorted({m for m in marks if m}, key=len, reverse=True)
    if not marks:
        return escape(body)
    # a value that starts or ends with a word character matches only as a whole word ("id"
    # is not marked inside "cid", "42" not inside "142")
    pattern = re.compile("|".join(
        ("(?<!\\w)" if re.match(r"\w", m) else "") + re.escape(m) + ("(?!\\w)" if re.search(r"\w$", m) else "") for m in marks))
    out: list[Markup] = []
    last = 0
    for match in pattern.finditer(body):
        out.append(escape(body[last:match.start()]))
        out.append(Markup('<mark class="provenance">') + escape(match.group()) + Markup("</mark>"))
        last = match.end()
    out.append(escape(body[last:]))
    return Markup("").join(out)


def call_view(row: dict[str, Any], marks: list[str] | None = None) -> dict[str, Any]:
    """What a page shows of one recorded call."""
    content = _json(row.get("content")) or []
    text = row.get("result_text") or ""
    body = text if text else (pretty(content) if content else "")
    structured = _json(row.get("structured_content"))
    if row.get("error_class"):
        status, outcome = f"no result: {row['error_class']}", "error"
        body = row.get("error") or body
    elif row.get("is_error"):
        status, outcome = "tool error", "error"
    else:
        status, outcome = "ok", "ok"
    marks = marks or []
    shown = highlight(body, marks)
    return {
        "step": row["step"], "attempt": row["attempt"], "server": row["server"], "tool": row["tool"],
        "arguments": pretty(_json(row.get("arguments")) or {}), "sources": _json(row.get("sources")) or [],
        "status": status, "outcome": outcome, "result": shown, "result_fold": folded(body),
        "has_marks": bool(marks) and "<mark" in str(shown),
        "structured": pretty(structured) if structured is not None else None,
        "structured_fold": folded(pretty(structured)) if structured is not None else None,
        "read_only": bool(row.get("read_only")), "truncated": bool(row.get("truncated")),
        "latency_ms": row.get("latency_ms"), "result_bytes": row.get("result_bytes"), "state": row.get("state"),
        "probe_of": row.get("probe_of"),
    }


def _derivation(value: Any) -> str | None:
    """``op`` and its parameters, e.g. ``count`` or ``argmax (key: price)``; none for a plain value."""
    if not isinstance(value, dict) or value.get("op") in (None, "value"):
        return None
    rest = ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(value.items()) if k != "op")
    return f"{value['op']} ({rest})" if rest else str(value["op"])


def readable_call(server: str, tool: str, arguments: Any) -> str:
    """``server.tool(name=value, ...)`` with JSON values: a call as a person reads it."""
    if isinstance(arguments, dict):
        args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
    else:
        args = json.dumps(arguments, ensure_ascii=False)
    return f"{server}.{tool}({args})"


def final_attempts(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The last attempt of each step."""
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["step"] not in out or row["attempt"] >= out[row["step"]]["attempt"]:
            out[row["step"]] = row
    return out


# -- pages ---------------------------------------------------------------------------------------


async def exploration_page(datasette: Any, request: Any) -> Response:
    database, db = await _database(datasette, request, ("explorations", "calls"))
    exploration_id = tilde_decode(request.url_vars["id"])
    found = (await db.execute("SELECT * FROM explorations WHERE exploration_id = ?", [exploration_id])).rows
    if not found:
        raise NotFound(f"No exploration {exploration_id}")
    exploration = dict(found[0])
    rows = [dict(r) for r in (await db.execute(
        "SELECT * FROM calls WHERE exploration_id = ? ORDER BY step, attempt", [exploration_id])).rows]
    tasks: list[dict[str, Any]] = []
    if await _has_tables(db, "tasks"):
        tasks = [dict(r, url=task_url(datasette, database, r["task_id"])) for r in (await db.execute(
            "SELECT task_id, kind, question, verified, split FROM tasks WHERE exploration_id = ? ORDER BY task_id",
            [exploration_id])).rows]
    calls = [dict(call_view(r), tool_url=tool_url(datasette, database, r["server"], r["tool"])) for r in rows]
    context = {
        "database": database, "exploration": exploration, "tools": _json(exploration["tools"]) or [],
        "calls": calls, "tasks": tasks,
        "dag_url": dag_url(datasette, database, exploration["dag_id"], exploration_id),
        "dag_plain_url": dag_url(datasette, database, exploration["dag_id"]),
        "calls_table_url": datasette.urls.table(database, "calls") + f"?exploration_id={tilde_encode(exploration_id)}",
    }
    html = await datasette.render_template("firefly_exploration.html", context, request=request)
    return Response.html(html)


async def task_page(datasette: Any, request: Any) -> Response:
    database, db = await _database(datasette, request, ("tasks", "calls"))
    if not await _has_tables(db, "tasks"):
        raise NotFound("This database has no tasks yet")
    task_id = tilde_decode(request.url_vars["id"])
    found = (await db.execute("SELECT * FROM tasks WHERE task_id = ?", [task_id])).rows
    if not found:
        raise NotFound(f"No task {task_id}")
    task = dict(found[0])
    verdicts = []
    if await _has_tables(db, "verdicts"):
        verdicts = [dict(r, reasons=_json(r["reasons"]) or []) for r in (await db.execute(
            "SELECT verifier, passed, reasons FROM verdicts WHERE task_id = ? ORDER BY verifier", [task_id])).rows]
    recorded = final_attempts([dict(r) for r in (await db.execute(
        "SELECT * FROM calls WHERE exploration_id = ? ORDER BY step, attempt", [task["exploration_id"]])).rows])
    provenance = _json(task.get("provenance")) or []
    marks_by_step: dict[Any, list[str]] = {}
    for item in provenance:
        if isinstance(item, dict):
            marks_by_step.setdefault(item.get("step"), []).extend(needles(item.get("value")))
    steps = []
    for i, step in enumerate(_json(task.get("trajectory")) or []):
        if not isinstance(step, dict):
            continue
        number = step.get("step", i)
        call = recorded.get(number) if isinstance(number, int) else None
        steps.append({
            "number": number, "server": step.get("server"), "tool": step.get("tool"),
            "readable": readable_call(str(step.get("server")), str(step.get("tool")), step.get("arguments", {})),
            "arguments": pretty(step.get("arguments", {})),
            "call": call_view(call, marks_by_step.get(number)) if call else None,
            "in_provenance": number in marks_by_step,
        })
    probe = _json(task.get("probe"))
    context = {
        "database": database, "task": task, "answer": pretty(_json(task.get("answer"))),
        "match": _json(task.get("match")), "steps": steps, "derivation": _derivation(_json(task.get("derivation"))),
        "provenance": [dict(p, shown=pretty(p.get("value")),
                            path=p.get("path") or json.dumps(p.get("derive"), ensure_ascii=False))
                       for p in provenance if isinstance(p, dict)],
        "probe": probe if isinstance(probe, dict) else None,
        "probe_call": readable_call(str(probe.get("server")), str(probe.get("tool")), probe.get("arguments", {}))
        if isinstance(probe, dict) else None,
        "probe_expected": pretty(probe.get("expected")) if isinstance(probe, dict) else None,
        "verdicts": verdicts,
        "exploration_url": exploration_url(datasette, database, task["exploration_id"]),
        "dag_url": dag_url(datasette, database, task["dag_id"], task["exploration_id"]) if task.get("dag_id") else None,
    }
    html = await datasette.render_template("firefly_task.html", context, request=request)
    return Response.html(html)


def _svg(body: str) -> Response:
    return Response(body, content_type="image/svg+xml; charset=utf-8", headers=SVG_HEADERS)


async def dag_picture(datasette: Any, request: Any) -> Response:
    database, db = await _database(datasette, request, ("dags",))
    dag_id = tilde_decode(request.url_vars["id"])
    found = (await db.execute("SELECT tools, edges, size FROM dags WHERE dag_id = ?", [dag_id])).rows
    if not found:
        raise NotFound(f"No DAG {dag_id}")
    tools = [tuple(t) for t in json.loads(found[0]["tools"])]
    edges = [tuple(e) for e in json.loads(found[0]["edges"])]
    outcomes = None
    exploration = request.args.get("exploration")
    title = f"DAG {dag_id[:16]} · {len(tools)} tools"
    if exploration:
        exploration = tilde_decode(exploration)
        rows = [dict(r) for r in (await db.execute(
            "SELECT step, attempt, ok FROM calls WHERE exploration_id = ? ORDER BY step, attempt", [exploration])).rows]
        outcomes = {step: ("ok" if row["ok"] else "error") for step, row in final_attempts(rows).items()}
        title += f" · exploration {exploration[:16]}"
    return _svg(dag_svg(tools, edges, title=title, outcomes=outcomes,
                        link=lambda t: tool_url(datasette, database, t[0], t[1])))


async def tool_picture(datasette: Any, request: Any) -> Response:
    database, db = await _database(datasette, request, ("edges",))
    centre = (tilde_decode(request.url_vars["server"]), tilde_decode(request.url_vars["name"]))
    try:
        radius = max(1, min(2, int(request.args.get("radius", "1"))))
    except ValueError:
        radius = 1
    known = (await db.execute("SELECT 1 FROM tools WHERE server = ? AND name = ?", list(centre))).rows
    if not known:
        raise NotFound(f"No tool {centre[0]}/{centre[1]}")
    edges: dict[tuple[Any, ...], float] = {}
    frontier, seen = [centre], {centre}
    for _ in range(radius):
        following = []
        for server, name in frontier[:60]:
            for r in (await db.execute(
                "SELECT source_server, source_name, target_server, target_name, score FROM edges"
                " WHERE (source_server = ? AND source_name = ?) OR (target_server = ? AND target_name = ?)",
                [server, name, server, name])).rows:
                source, target = (r[0], r[1]), (r[2], r[3])
                edges[(source, target)] = r[4]
                for node in (source, target):
                    if node not in seen:
                        seen.add(node)
                        following.append(node)
        frontier = following
    return _svg(neighbourhood_svg(centre, [(s, t, score) for (s, t), score in edges.items()], radius=radius,
                                  link=lambda t: tool_url(datasette, database, t[0], t[1]) + f"?radius={radius}"))


@hookimpl
def register_routes(datasette):  # noqa: ANN001, ANN201
    return [
        (r"^/(?P<database>[^/]+)/-/firefly/exploration/(?P<id>[^/]+)$", exploration_page),
        (r"^/(?P<database>[^/]+)/-/firefly/task/(?P<id>[^/]+)$", task_page),
        (r"^/(?P<database>[^/]+)/-/firefly/dag/(?P<id>[^/]+)\.svg$", dag_picture),
        (r"^/(?P<database>[^/]+)/-/firefly/tool/(?P<server>[^/]+)/(?P<name>[^/]+)\.svg$", tool_picture),
    ]
