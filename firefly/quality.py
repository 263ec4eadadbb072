"""The quality report: which tools the verified tasks need, their templates, why tasks fell.

The SQL lives here once; ``firefly status`` (:mod:`firefly.report`) and the Datasette canned
queries (``datasette_plugins/firefly_datasette``) both run it.

* A tool is **needed** by a verified task when the task's reference trajectory calls it:
  the ``no-padding`` verifier kept only tasks whose every call changes the label when it is
  left out (a setup preamble that is not needed does not make a task verified), so a call
  in a verified trajectory is one the answer needs.
* **Templates** are the masked questions the ``diverse`` verifier recorded for the tasks it
  kept (:mod:`firefly.synth.diversity`).
* **Rejections** count tasks per verifier that failed them.
"""

from __future__ import annotations

import json
from typing import Any

from .store import Store

TOOLS_NEEDED = """
-- every callable tool: the verified tasks that need it for their answer (their trajectory calls it)
WITH needed AS (
  SELECT DISTINCT t.task_id, json_extract(s.value, '$.server') AS server, json_extract(s.value, '$.tool') AS tool
  FROM tasks t, json_each(t.trajectory) AS s WHERE t.verified = 1
)
SELECT tl.server, tl.name AS tool, count(n.task_id) AS verified_tasks
FROM tools tl LEFT JOIN needed n ON n.server = tl.server AND n.tool = tl.name
WHERE tl.callable = 1 AND tl.removed = 0
GROUP BY tl.server, tl.name ORDER BY verified_tasks, tl.server, tl.name
"""

TEMPLATES = """
-- the masked question templates of the verified tasks, most used first
SELECT json_extract(v.params, '$.template') AS masked_question, count(*) AS verified_tasks
FROM verdicts v JOIN tasks t USING (task_id)
WHERE v.verifier = 'diverse' AND v.passed = 1 AND t.verified = 1
GROUP BY masked_question ORDER BY verified_tasks DESC, masked_question
"""

REJECTIONS = """
-- tasks rejected, by the verifier that failed them (a task can fail several; a verifier not tried
-- because the task failed another is not counted)
SELECT verifier, count(*) AS tasks FROM verdicts WHERE passed = 0 AND reasons NOT LIKE '["not tried%'
GROUP BY verifier ORDER BY tasks DESC, verifier
"""


def quality(store: Store, *, top: int = 20) -> dict[str, Any]:
    """The report as plain data (``firefly status --json`` key ``quality``)."""
    store.catch_up()
    q = store.conn.execute
    tools = [{"server": s, "tool": t, "verified_tasks": n} for s, t, n in q(TOOLS_NEEDED)]
    needed = sum(1 for t in tools if t["verified_tasks"])
    templates = [(t, n) for t, n in q(TEMPLATES) if t is not None]
    verified = q("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0]
    return {
        "callable_tools": len(tools),
        "tools_needed": needed,
        "tools_needed_share": round(needed / len(tools), 4) if tools else 0.0,
        "tools_not_needed": [f"{t['server']}/{t['tool']}" for t in tools if not t["verified_tasks"]],
        "per_tool": tools,
        "verified_tasks": verified,
        "templates": len(templates),
        "top_templates": [{"template": t, "verified_tasks": n} for t, n in templates[:top]],
        "rejections": dict(q(REJECTIONS).fetchall()),
    }


def quality_rows(store: Store) -> list[tuple[str, object]]:
    """The report as ``firefly status`` prints it."""
    r = quality(store, top=10)
    rows: list[tuple[str, object]] = [
        ("callable tools needed by a verified task",
         f"{r['tools_needed']} of {r['callable_tools']} ({r['tools_needed_share']:.0%})"),
    ]
    rows += [(f"  {t['server']}/{t['tool']}", f"{t['verified_tasks']} verified task(s)") for t in r["per_tool"]]
    rows.append(("masked question templates", f"{r['templates']} over {r['verified_tasks']} verified task(s)"))
    rows += [(f"  {json.dumps(t['template'], ensure_ascii=False)[:100]}", t["verified_tasks"]) for t in r["top_templates"]]
    rows += [(f"rejected by {v}", n) for v, n in r["rejections"].items()]
    return rows
