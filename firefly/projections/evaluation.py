"""``evals``, ``episodes`` and ``episode_aborts``: evaluations of agents against the simulator,
episode by episode, and the episodes the model's endpoint being down kept from being played."""

from __future__ import annotations

import sqlite3

from ..events import EpisodeAborted, EpisodeRecorded, EvalStarted
from .base import Projection, dumps


class EvaluationProjection(Projection):
    name = "evaluation"
    tables = ("evals", "episodes", "episode_aborts")
    deferred_indexes = ("episodes_task",)
    handles = frozenset({"eval-started", "episode-recorded", "episode-aborted"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, EvalStarted):
            db.execute(
                "INSERT OR IGNORE INTO evals (eval_id, agent, model, base_url, split, max_turns, samples, simulator,"
                " tasks, params, started_at, run, dataset, dataset_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (e.eval_id, e.agent, e.model, e.base_url, e.split, e.max_turns, e.samples, e.simulator, e.tasks,
                 dumps(e.params), rec.time, rec.run, e.dataset, e.dataset_hash),
            )
        elif isinstance(e, EpisodeRecorded):
            bad = sum(1 for c in e.calls if c.get("server") is None)
            errors = sum(1 for c in e.calls if not c.get("ok"))
            cur = db.execute(
                "INSERT OR IGNORE INTO episodes (position, eval_id, task_id, sample, reward, outcome, answer, turns,"
                " calls, bad_calls, tool_errors, prompt_tokens, completion_tokens, latency_ms, env_ms, error,"
                " messages, tool_calls, time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.position, e.eval_id, e.task_id, e.sample, e.reward, e.outcome, e.answer, e.turns, len(e.calls),
                 bad, errors, e.prompt_tokens, e.completion_tokens, e.latency_ms, e.env_ms, e.error,
                 dumps(e.messages), dumps(e.calls), rec.time),
            )
            if cur.rowcount:
                db.execute(
                    "UPDATE evals SET episodes = episodes + 1, solved = solved + ?, last_episode_at = ?"
                    " WHERE eval_id = ?",
                    (int(e.reward >= 1.0), rec.time, e.eval_id),
                )
        elif isinstance(e, EpisodeAborted):
            db.execute(
                "INSERT OR IGNORE INTO episode_aborts (position, eval_id, task_id, sample, error_class, status, error,"
                " turns, time, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.position, e.eval_id, e.task_id, e.sample, e.error_class, e.status, e.error, e.turns, rec.time,
                 rec.run),
            )
