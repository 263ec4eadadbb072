"""What ``firefly status`` prints: counts per stage, computed from the projections."""

from __future__ import annotations

from .quality import quality, quality_rows
from .store import Store

Section = tuple[str, list[tuple[str, object]]]


def status_report(store: Store) -> list[Section]:
    store.catch_up()
    q = store.conn.execute

    def one(sql: str, *params: object) -> object:
        return q(sql, params).fetchone()[0]

    sections: list[Section] = []
    sections.append(
        (
            "log",
            [
                ("database", store.path),
                ("events", store.count()),
                ("runs", one("SELECT count(*) FROM runs")),
                ("errors recorded", one("SELECT count(*) FROM errors")),
            ],
        )
    )
    servers: list[tuple[str, object]] = [
        (f"servers {status}", n)
        for status, n in q("SELECT status, count(*) FROM servers GROUP BY status ORDER BY status")
    ]
    per_server = [
        (f"  {name}", f"{tools} tools" + (f"  ({status}: {error})" if status == "failed" else f"  ({status})"))
        for name, tools, status, error in q(
            "SELECT name, tools, status, coalesce(last_error, '') FROM servers WHERE callable = 1 AND status != 'removed' ORDER BY name"
        )
    ]
    sections.append(("servers", servers + per_server or [("servers", 0)]))
    sections.append(
        (
            "tools",
            [
                ("callable", one("SELECT count(*) FROM tools WHERE callable = 1 AND removed = 0")),
                ("catalog (not callable)", one("SELECT count(*) FROM tools WHERE callable = 0 AND removed = 0")),
                ("removed", one("SELECT count(*) FROM tools WHERE removed = 1")),
                ("invalid schema (kept, flagged)", one("SELECT count(*) FROM tools WHERE schema_valid = 0 AND removed = 0")),
                ("schema changes recorded", one("SELECT count(*) FROM tool_versions WHERE change = 'changed'")),
            ],
        )
    )
    sections.append(
        (
            "graph",
            [
                ("embeddings", one("SELECT count(*) FROM embeddings")),
                ("candidate pairs", one("SELECT count(*) FROM edge_candidates")),
                ("judged pairs", one("SELECT count(*) FROM (SELECT DISTINCT a_server, a_name, b_server, b_name FROM edge_verdicts)")),
                ("edges", one("SELECT count(*) FROM edges")),
                ("dags (callable / with catalog tools)", " / ".join(
                    str(one("SELECT count(*) FROM dags WHERE scope = ?", scope)) for scope in ("callable", "all"))),
                ("llm requests failed", one("SELECT count(*) FROM llm_exchanges WHERE status = 'failed'")),
            ],
        )
    )
    explored = q(
        "SELECT count(*), coalesce(sum(calls), 0), coalesce(sum(successes), 0),"
        " coalesce(sum(successes >= 2 AND chained > 0), 0), coalesce(sum(status = 'failed'), 0),"
        " coalesce(sum(status = 'running'), 0) FROM explorations"
    ).fetchone()
    n, calls, successes, chained, failed, running = explored
    rows: list[tuple[str, object]] = [
        ("explorations", n),
        ("  finished / failed / unfinished", f"{n - failed - running} / {failed} / {running}"),
        ("calls recorded", one("SELECT count(*) FROM calls")),
        ("calls succeeded", f"{successes} of {calls} ({successes / calls:.0%})" if calls else "0"),
        ("explorations with a chained multi-step call", f"{chained} of {n} ({chained / n:.0%})" if n else "0"),
        ("probe calls (ok / made)", " / ".join(str(one(f"SELECT count(*) FROM calls WHERE probe_of IS NOT NULL{w}"))
                                             for w in (" AND ok = 1", ""))),
    ]
    rows += [(f"  {cls}", count) for cls, count in q(
        "SELECT error_class, count(*) FROM calls WHERE error_class IS NOT NULL GROUP BY error_class ORDER BY 2 DESC")]
    sections.append(("exploration", rows))
    sections.append(("per server", server_rows(store)))
    sections.append(("tasks", task_rows(store)))
    sections.append(("quality", quality_rows(store)))
    sections.append(("evaluation", eval_rows(store)))
    return sections


def eval_rows(store: Store) -> list[tuple[str, object]]:
    """Evaluations recorded: each one's agent, split and share of episodes solved."""
    q = store.conn.execute
    rows: list[tuple[str, object]] = [("evaluations", q("SELECT count(*) FROM evals").fetchone()[0]),
                                      ("episodes", q("SELECT count(*) FROM episodes").fetchone()[0])]
    # a read-only file is not migrated: one older than 0016 has no dataset column
    dataset = "dataset" if any(r[1] == "dataset" for r in q("PRAGMA table_info(evals)")) else "''"
    for eval_id, agent, split, episodes, solved, samples, source in q(
        f"SELECT eval_id, agent, coalesce(split, 'all'), episodes, solved, samples, {dataset} FROM evals"
        " ORDER BY started_at DESC LIMIT 10"
    ):
        share = f"{solved / episodes:.3f}" if episodes else "-"
        where = f"; tasks from {source}" if source else ""
        rows.append((f"  {eval_id} {agent} on {split}",
                     f"{solved} of {episodes} episodes solved ({share}), {samples} per task{where}"))
    return rows


def task_rows(store: Store) -> list[tuple[str, object]]:
    """Synthesized and verified tasks: the mix of kinds, the yield per exploration, the
    rejection reasons and the split."""
    q = store.conn.execute
    total, verified, rejected = q(
        "SELECT count(*), coalesce(sum(verified = 1), 0), coalesce(sum(verified = 0), 0) FROM tasks").fetchone()
    rows: list[tuple[str, object]] = [("tasks synthesized / verified / rejected", f"{total} / {verified} / {rejected}")]
    if not total:
        return rows
    for kind, n, ok in q("SELECT kind, count(*), coalesce(sum(verified = 1), 0) FROM tasks GROUP BY kind ORDER BY kind"):
        share = f" ({ok / verified:.0%} of verified)" if verified else ""
        rows.append((f"  {kind}", f"{ok} verified of {n}{share}"))
    explored = q("SELECT count(*) FROM explorations WHERE status = 'finished'").fetchone()[0]
    per = [r[0] for r in q(
        "SELECT coalesce(sum(t.verified = 1), 0) FROM explorations x LEFT JOIN tasks t USING (exploration_id)"
        " WHERE x.status = 'finished' GROUP BY x.exploration_id ORDER BY 1")]
    if explored:
        median = per[len(per) // 2]
        rows.append(("verified tasks per exploration", f"{verified / explored:.2f} mean, {median} median, {max(per)} max,"
                                                        f" {sum(1 for n in per if n == 0)} exploration(s) with none"))
    for verifier, n in q(
        "SELECT verifier, count(*) FROM verdicts WHERE passed = 0 GROUP BY verifier ORDER BY 2 DESC, 1"):
        rows.append((f"  rejected by {verifier}", n))
    failed = q("SELECT count(*) FROM errors WHERE stage = 'synthesize'").fetchone()[0]
    if failed:
        rows.append(("synthesis failures", failed))
    splits = dict(q("SELECT coalesce(split, 'none'), count(*) FROM tasks WHERE verified = 1 GROUP BY 1").fetchall())
    rows.append(("split train / test / unassigned", f"{splits.get('train', 0)} / {splits.get('test', 0)} / {splits.get('none', 0)}"))
    return rows


STATUS_FORMAT = 1  # bumped if a key of status_json changes meaning or goes away


def status_json(store: Store) -> dict[str, object]:
    """``firefly status --json``: the counts as plain numbers under stable keys (documented
    in the README). Keys are only ever added; ``format`` changes if one changes meaning."""
    store.catch_up()
    q = store.conn.execute

    def one(sql: str, *params: object) -> int:
        return q(sql, params).fetchone()[0]

    explorations = dict(q("SELECT status, count(*) FROM explorations GROUP BY status").fetchall())
    calls, succeeded = q("SELECT count(*), coalesce(sum(ok = 1), 0) FROM calls").fetchone()
    total, verified, rejected = q(
        "SELECT count(*), coalesce(sum(verified = 1), 0), coalesce(sum(verified = 0), 0) FROM tasks").fetchone()
    splits = dict(q("SELECT coalesce(split, 'none'), count(*) FROM tasks WHERE verified = 1 GROUP BY 1").fetchall())
    return {
        "format": STATUS_FORMAT,
        "database": str(store.path),
        "read_only": store.read_only,
        "behind": store.behind(),
        "events": store.count(),
        "runs": one("SELECT count(*) FROM runs"),
        "errors": one("SELECT count(*) FROM errors"),
        "servers": dict(q("SELECT status, count(*) FROM servers GROUP BY status ORDER BY status").fetchall()),
        "tools": {
            "callable": one("SELECT count(*) FROM tools WHERE callable = 1 AND removed = 0"),
            "catalog": one("SELECT count(*) FROM tools WHERE callable = 0 AND removed = 0"),
            "removed": one("SELECT count(*) FROM tools WHERE removed = 1"),
            "invalid_schema": one("SELECT count(*) FROM tools WHERE schema_valid = 0 AND removed = 0"),
        },
        "graph": {
            "embeddings": one("SELECT count(*) FROM embeddings"),
            "candidate_pairs": one("SELECT count(*) FROM edge_candidates"),
            "edges": one("SELECT count(*) FROM edges"),
            "dags": one("SELECT count(*) FROM dags WHERE scope = 'callable'"),
            "dags_with_catalog": one("SELECT count(*) FROM dags WHERE scope = 'all'"),
        },
        "explorations": {
            "total": sum(explorations.values()),
            "finished": explorations.get("finished", 0),
            "failed": explorations.get("failed", 0),
            "unfinished": explorations.get("running", 0),
            "calls": calls,
            "calls_succeeded": succeeded,
        },
        "tasks": {
            "synthesized": total,
            "verified": verified,
            "rejected": rejected,
            "train": splits.get("train", 0),
            "test": splits.get("test", 0),
            "unassigned": splits.get("none", 0),
        },
        "evaluations": {"evals": one("SELECT count(*) FROM evals"), "episodes": one("SELECT count(*) FROM episodes")},
        "quality": quality(store),
    }


def server_rows(store: Store) -> list[tuple[str, object]]:
    """Per callable server: its tools, the tools explored (called at least once), the calls
    that worked (an in-band error counts as a failure; survey calls included), and the tools
    skipped with the reason (a required parameter nothing grounds, ...)."""
    q = store.conn.execute
    rows: list[tuple[str, object]] = []
    for server, tools in q("SELECT server, count(*) FROM tools WHERE callable = 1 AND removed = 0"
                           " GROUP BY server ORDER BY server").fetchall():
        explored, ok_tools, calls, ok = q(
            "SELECT count(DISTINCT tool), count(DISTINCT CASE WHEN ok = 1 THEN tool END),"
            " coalesce(sum(error_class IS NULL OR error_class NOT IN ('skipped', 'malformed-call')), 0),"
            " coalesce(sum(ok), 0) FROM calls WHERE server = ? AND coalesce(error_class, '') != 'skipped'",
            (server,)).fetchone()
        share = f" ({ok / calls:.0%})" if calls else ""
        rows.append((f"  {server}", f"{tools} tools, {explored} explored ({ok_tools} with a call that worked),"
                                    f" {ok} of {calls} calls worked{share}"))
        for tool, reason, n in q(
            "SELECT tool, coalesce(error, ''), count(*) FROM calls WHERE server = ? AND error_class = 'skipped'"
            " AND tool NOT IN (SELECT tool FROM calls WHERE server = ? AND ok = 1)"
            " GROUP BY tool, error ORDER BY tool, 3 DESC", (server, server)).fetchall():
            rows.append((f"    skipped {tool}", f"{n}x: {reason[:160]}"))
    return rows or [("servers", 0)]
