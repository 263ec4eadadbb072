"""The split stage: a deterministic train / test assignment of verified tasks, by DAG.

A DAG goes to test when the hash of ``[seed, dag_id]``, read as a number in [0, 1), is
below ``test_fraction``; every task of that DAG follows it. The side of a DAG depends only
on the seed and the DAG, never on the other DAGs or the order tasks arrived in: no test task
shares a DAG with a train task, a re-run writes nothing, and adding explorations later
never moves a task that was already split (with the same seed and fraction).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import FireflyError
from ..events import TaskSplit
from ..ids import short_hash
from ..store import Store


@dataclass
class SplitReport:
    assigned: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {"assigned": dict(self.assigned), "train": self.totals["train"], "test": self.totals["test"]}


def side_of(dag_id: str, seed: int, test_fraction: float) -> str:
    """``test`` or ``train`` for a DAG."""
    position = int(short_hash([seed, dag_id], 15), 16) / 16**15
    return "test" if position < test_fraction else "train"


def assign_splits(store: Store, test_fraction: float = 0.2, seed: int = 0) -> SplitReport:
    """Give every verified task its side (a new ``task-split`` only where it changes)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise FireflyError(f"--test-fraction must be between 0 and 1, got {test_fraction}")
    store.catch_up()
    report = SplitReport()
    events = []
    for task_id, dag_id, split in store.conn.execute(
        "SELECT task_id, dag_id, split FROM tasks WHERE verified = 1 ORDER BY task_id"
    ).fetchall():
        side = side_of(dag_id, seed, test_fraction)
        report.totals[side] += 1
        if split == side:
            continue
        version = store.conn.execute(
            "SELECT count(*) FROM events WHERE stream = ? AND +type = 'task-split'", (f"task:{task_id}",)).fetchone()[0]
        events.append(TaskSplit(task_id=task_id, dag_id=dag_id, split=side, seed=seed,  # type: ignore[arg-type]
                                test_fraction=test_fraction, version=version))
    for start in range(0, len(events), 1000):
        store.append_many(events[start:start + 1000])
    report.assigned.update(e.split for e in events)
    store.catch_up()
    return report
