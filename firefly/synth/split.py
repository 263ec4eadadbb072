"""The split stage: a deterministic train / test assignment of verified tasks, by DAG.

A DAG goes to test when the hash of ``[seed, dag_id]``, read as a number in [0, 1), is
below ``test_fraction``; every task of that DAG follows it. No test task shares a DAG with a
train task, and a re-run writes nothing.

Both sides get a DAG whenever they can: when ``test_fraction`` is strictly between 0 and 1,
at least two DAGs have verified tasks, and the hash puts every one of them on the same side,
the one DAG whose hash lies nearest the threshold crosses to the empty side (the lowest hash
to test, or the highest to train). On a run of more than a handful of DAGs the hash almost
never leaves a side empty, so this changes nothing there; otherwise the side of a DAG
depends only on the seed and the DAG, and adding explorations later never moves a task that
was already split (with the same seed and fraction). A DAG that crossed returns to its
hashed side once another DAG fills the side it was lent to. With fewer than two DAGs the
split cannot have both sides; the report says why (:attr:`SplitPlan.note`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import FireflyError
from ..events import TaskSplit
from ..ids import short_hash
from ..store import Store


@dataclass(frozen=True)
class SplitPlan:
    """The side of every DAG, the DAG moved to fill an empty side (if any), and why a side
    stays empty (if one does)."""

    sides: dict[str, str]
    moved: str | None = None
    note: str | None = None

    @property
    def moved_to(self) -> str | None:
        return None if self.moved is None else self.sides[self.moved]


@dataclass
class SplitReport:
    assigned: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)
    moved: str | None = None
    moved_to: str | None = None
    note: str | None = None

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"assigned": dict(self.assigned), "train": self.totals["train"], "test": self.totals["test"]}
        if self.moved is not None:
            out["moved"] = {"dag_id": self.moved, "to": self.moved_to}
        if self.note is not None:
            out["note"] = self.note
        return out


def position_of(dag_id: str, seed: int) -> float:
    """The hash of ``[seed, dag_id]`` as a number in [0, 1)."""
    return int(short_hash([seed, dag_id], 15), 16) / 16**15


def side_of(dag_id: str, seed: int, test_fraction: float) -> str:
    """``test`` or ``train`` for a DAG, by its hash alone."""
    return "test" if position_of(dag_id, seed) < test_fraction else "train"


def plan_sides(dag_ids: Iterable[str], seed: int, test_fraction: float) -> SplitPlan:
    """The side of each DAG: by its hash, except that when the hash leaves one side empty
    and it need not (0 < ``test_fraction`` < 1, two DAGs or more), the DAG nearest the
    threshold crosses to it."""
    positions = {d: position_of(d, seed) for d in set(dag_ids)}
    sides = {d: "test" if p < test_fraction else "train" for d, p in positions.items()}
    if not 0.0 < test_fraction < 1.0:
        return SplitPlan(sides)
    if len(sides) < 2:
        what = "no DAG has verified tasks" if not sides else "only one DAG has verified tasks"
        return SplitPlan(sides, note=f"{what}: the split keeps each DAG's tasks on one side, so it cannot have both"
                                     " train and test tasks; sample and explore more DAGs (firefly run --dags N)")
    counts = Counter(sides.values())
    if counts["test"] and counts["train"]:
        return SplitPlan(sides)
    by_position = sorted(positions, key=lambda d: (positions[d], d))
    moved = by_position[0] if not counts["test"] else by_position[-1]
    sides[moved] = "test" if not counts["test"] else "train"
    return SplitPlan(sides, moved=moved)


def assign_splits(store: Store, test_fraction: float = 0.2, seed: int = 0) -> SplitReport:
    """Give every verified task its side (a new ``task-split`` only where it changes)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise FireflyError(f"--test-fraction must be between 0 and 1, got {test_fraction}")
    store.catch_up()
    rows = store.conn.execute(
        "SELECT task_id, dag_id, split FROM tasks WHERE verified = 1 ORDER BY task_id").fetchall()
    plan = plan_sides((dag_id for _, dag_id, _ in rows), seed, test_fraction)
    report = SplitReport(moved=plan.moved, moved_to=plan.moved_to, note=plan.note)
    events = []
    for task_id, dag_id, split in rows:
        side = plan.sides[dag_id]
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
