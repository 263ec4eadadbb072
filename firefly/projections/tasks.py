"""``tasks`` (one row per synthesized task, with whether it is verified and, while it is, its split),
``verdicts`` (one row per verifier and task; the latest verdict wins) and ``syntheses``
(what each synthesizer did per exploration); synthesis failures go to ``errors``."""

from __future__ import annotations

import sqlite3

from ..events import SynthesisFailed, SynthesisFinished, TaskSplit, TaskSynthesized, TaskVerdict
from .base import Projection, dumps


class TasksProjection(Projection):
    name = "tasks"
    tables = ("tasks", "verdicts", "syntheses")
    deferred_indexes = (
        "tasks_exploration", "tasks_dag", "tasks_kind", "tasks_created_at", "tasks_split", "tasks_verified",
        "tasks_synthesizer", "tasks_hops", "verdicts_verifier",
    )
    handles = frozenset({"task-synthesized", "task-verdict", "task-split", "synthesis-finished", "synthesis-failed"})

    def apply(self, db: sqlite3.Connection, rec) -> None:
        e = rec.event
        if isinstance(e, TaskSynthesized):
            db.execute(
                "INSERT OR IGNORE INTO tasks (task_id, exploration_id, dag_id, kind, question, answer, match, trajectory,"
                " probe, provenance, derivation, calls, servers, hops, synthesizer, template, position, created_at,"
                " answer_schema) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    e.task_id, e.exploration_id, e.dag_id, e.kind, e.question, dumps(e.answer), dumps(e.match),
                    dumps(e.trajectory), None if e.probe is None else dumps(e.probe), dumps(e.provenance),
                    dumps(e.derivation), e.calls, e.servers, e.hops, e.synthesizer, e.template, rec.position, rec.time,
                    None if e.answer_schema is None else dumps(e.answer_schema),
                ),
            )
        elif isinstance(e, TaskVerdict):
            db.execute(
                "INSERT OR REPLACE INTO verdicts (task_id, verifier, passed, reasons, params, position, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.task_id, e.verifier, int(e.passed), dumps(e.reasons), dumps(e.params), rec.position, rec.time),
            )
            db.execute(
                "UPDATE tasks SET verified = (SELECT min(passed) FROM verdicts WHERE task_id = ?) WHERE task_id = ?",
                (e.task_id, e.task_id),
            )
            # only a verified task has a side: one a later verdict rejects leaves its split
            db.execute("UPDATE tasks SET split = NULL WHERE task_id = ? AND verified = 0 AND split IS NOT NULL",
                       (e.task_id,))
        elif isinstance(e, TaskSplit):
            db.execute("UPDATE tasks SET split = ? WHERE task_id = ?", (e.split, e.task_id))
        elif isinstance(e, SynthesisFinished):
            db.execute(
                "INSERT OR REPLACE INTO syntheses (exploration_id, synthesizer, tasks, candidates, skipped, position, time)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (e.exploration_id, e.synthesizer, e.tasks, e.candidates, dumps(e.skipped), rec.position, rec.time),
            )
        elif isinstance(e, SynthesisFailed):
            db.execute(
                "INSERT INTO errors (position, time, run, stage, server, tool, error_class, message)"
                " VALUES (?, ?, ?, 'synthesize', NULL, NULL, 'synthesis-failed', ?)",
                (rec.position, rec.time, rec.run, f"{e.synthesizer} on {e.exploration_id}: {e.message}"),
            )
