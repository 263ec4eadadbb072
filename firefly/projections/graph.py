"""``llm_exchanges``, ``embeddings``, the tool graph (``edge_candidates``, ``edge_verdicts``,
``edges``) and sampled sub-DAGs (``dags``, ``dag_tools``); graph-stage errors in ``errors``.

The usearch vector index is derived from ``embeddings`` by :mod:`firefly.vectors`.
"""

from __future__ import annotations

import sqlite3

from ..embed import decode_vector
from ..events import DagSampled, EdgeCandidates, EdgeJudged, Embedded, JudgeFailed, LlmFailed, LlmReplied
from .base import Projection, dumps


class LlmExchangesProjection(Projection):
    name = "llm_exchanges"
    tables = ("llm_exchanges",)
    deferred_indexes = ("llm_exchanges_purpose",)
    handles = frozenset({"llm-replied", "llm-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, LlmReplied):
            db.execute(
                "INSERT INTO llm_exchanges (position, time, run, purpose, operation, request_hash, attempt, model,"
                " status, finish_reason, prompt_tokens, completion_tokens, latency_ms)"
                " VALUES (?, ?, ?, ?, 'chat', ?, ?, ?, 'ok', ?, ?, ?, ?)",
                (
                    rec.position, rec.time, rec.run, e.purpose, e.request_hash, e.attempt,
                    e.model or e.request.get("model"), e.finish_reason, e.usage.get("prompt_tokens"),
                    e.usage.get("completion_tokens"), e.latency_ms,
                ),
            )
        elif isinstance(e, LlmFailed):
            db.execute(
                "INSERT INTO llm_exchanges (position, time, run, purpose, operation, request_hash, attempt, model,"
                " status, error_class, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'failed', ?, ?)",
                (rec.position, rec.time, rec.run, e.purpose, e.operation, e.request_hash, e.attempt, e.model,
                 e.error_class, e.message),
            )


class EmbeddingsProjection(Projection):
    name = "embeddings"
    tables = ("embeddings",)
    handles = frozenset({"embedded"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, Embedded):
            raw = decode_vector(e.vector, e.dtype).astype("<f2" if e.dtype == "float16" else "<f4").tobytes()
            db.execute(
                "INSERT OR IGNORE INTO embeddings (position, subject, version, model, dim, dtype, vector, text_hash, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.position, e.subject, e.version, e.model, e.dim, e.dtype, raw, e.text_hash, rec.time),
            )


class GraphProjection(Projection):
    """Candidates accumulate; each judge's latest verdict per pair is kept; ``edges`` holds the
    accepted directions of the latest verdict on each pair, whichever judge gave it."""

    name = "graph"
    tables = ("edge_candidates", "edge_verdicts", "edges")
    deferred_indexes = ("edges_target",)
    handles = frozenset({"edge-candidates", "edge-judged"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, EdgeCandidates):
            rows = []
            for n in e.neighbours:
                a, b = sorted([(e.server, e.name), (n.server, n.name)])
                rows.append((*a, *b, n.similarity, dumps(sorted(n.via)), rec.position))
            # a pair proposed again keeps its first position; similarity and sources merge
            db.executemany(
                "INSERT INTO edge_candidates (a_server, a_name, b_server, b_name, similarity, via, position)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " similarity = max(similarity, excluded.similarity),"
                " via = (SELECT json_group_array(value) FROM (SELECT DISTINCT value FROM"
                " (SELECT value FROM json_each(edge_candidates.via) UNION SELECT value FROM json_each(excluded.via))"
                " ORDER BY value))",
                rows,
            )
        elif isinstance(e, EdgeJudged):
            pair = (e.a_server, e.a_name, e.b_server, e.b_name)
            db.execute(
                "INSERT OR REPLACE INTO edge_verdicts (a_server, a_name, b_server, b_name, judge, a_hash, b_hash,"
                " direction, score_ab, score_ba, reason, request_hash, position, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*pair, e.judge, e.a_hash, e.b_hash, e.direction, e.score_ab, e.score_ba, e.reason, e.request_hash,
                 rec.position, rec.time),
            )
            a, b = pair[:2], pair[2:]
            db.executemany(
                "DELETE FROM edges WHERE source_server = ? AND source_name = ? AND target_server = ? AND target_name = ?",
                [(*a, *b), (*b, *a)],
            )
            forward = [(a, b, e.score_ab)] if e.direction in ("a->b", "both") else []
            backward = [(b, a, e.score_ba)] if e.direction in ("b->a", "both") else []
            db.executemany(
                "INSERT INTO edges (source_server, source_name, target_server, target_name, judge, score, reason, position)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(*s, *t, e.judge, score, e.reason, rec.position) for s, t, score in forward + backward],
            )


class DagsProjection(Projection):
    name = "dags"
    tables = ("dags", "dag_tools")
    deferred_indexes = ("dags_scope", "dag_tools_tool")
    handles = frozenset({"dag-sampled"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, DagSampled):
            cur = db.execute(
                "INSERT OR IGNORE INTO dags (dag_id, position, size, edge_count, scope, seed, idx, sampler, tools, edges, time, run)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    e.dag_id, rec.position, len(e.tools), len(e.edges), e.scope, e.seed, e.index, e.sampler,
                    dumps([[t.server, t.name] for t in e.tools]), dumps([list(x) for x in e.edges]), rec.time, rec.run,
                ),
            )
            if cur.rowcount:
                db.executemany(
                    "INSERT INTO dag_tools (dag_id, step, server, name, schema_hash) VALUES (?, ?, ?, ?, ?)",
                    [(e.dag_id, i, t.server, t.name, t.schema_hash) for i, t in enumerate(e.tools)],
                )


class GraphErrorsProjection(Projection):
    """Adds the graph stage's error events to the shared ``errors`` table (owned, and emptied
    on rebuild, by :class:`~firefly.projections.runs.ErrorsProjection`)."""

    name = "graph_errors"
    tables = ()
    handles = frozenset({"llm-failed", "judge-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, LlmFailed):
            row = (f"llm:{e.purpose}", e.error_class, e.message)
        elif isinstance(e, JudgeFailed):
            row = ("judge", "malformed-reply", f"{e.judge}: {e.message}")
        else:
            return
        db.execute(
            "INSERT INTO errors (position, time, run, stage, server, tool, error_class, message)"
            " VALUES (?, ?, ?, ?, NULL, NULL, ?, ?)",
            (rec.position, rec.time, rec.run, *row),
        )
