"""The synthesize stage: tasks written backward from every finished exploration.

Resumable and idempotent: an exploration's tasks and its ``synthesis-finished`` marker are
appended in one transaction, so a re-run skips explorations already done and, if it is
killed, redoes at most the one it was writing (whose task ids, and so idempotency keys, are
the same). The result depends only on the explorations and the seed, not on the order they
are visited in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..events import SynthesisFinished, TaskSynthesized
from ..adapters import Adapter
from ..store import Store
from .model import Candidate, Exploration, load_exploration, task_id

BATCH = 64  # explorations loaded at once when the synthesizer asks a model about several


class Synthesizer(Protocol):
    """What the stage needs from a synthesizer (offline templates or an LLM)."""

    name: str

    def tasks_for(self, store: Store, x: Exploration, context: dict[str, Any]) -> tuple[list[Candidate], Counter, list[Any]]:
        """The candidates to keep, what was skipped (reason -> count) and extra events
        (failures) to record with them."""
        ...


@dataclass
class SynthesisReport:
    explorations: int = 0
    tasks: int = 0
    kinds: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    failures: int = 0

    def summary(self) -> dict[str, Any]:
        return {"explorations": self.explorations, "tasks": self.tasks, "kinds": dict(self.kinds),
                "failures": self.failures}


def pending_explorations(store: Store, synthesizer: str, limit: int | None = None,
                         only: Collection[str] | None = None) -> list[str]:
    """Finished explorations this synthesizer has not done yet, in id order (of ``only``,
    when given: the explorations of one shard)."""
    from ..explore.survey import SURVEY_PREFIX

    store.catch_up()
    rows = store.conn.execute(
        "SELECT exploration_id FROM explorations WHERE status = 'finished' AND exploration_id NOT IN"
        " (SELECT exploration_id FROM syntheses WHERE synthesizer = ?)"
        # a survey's calls (argument-free reads in the initial world) are an exploration too
        " UNION SELECT DISTINCT exploration_id FROM calls WHERE exploration_id LIKE ? || '%' AND exploration_id NOT IN"
        " (SELECT exploration_id FROM syntheses WHERE synthesizer = ?) ORDER BY exploration_id",
        (synthesizer, SURVEY_PREFIX, synthesizer)
    ).fetchall()
    todo = [r[0] for r in rows if only is None or r[0] in only]
    return todo[:limit] if limit is not None else todo


def to_event(x: Exploration, synthesizer: str, c: Candidate) -> TaskSynthesized:
    steps = x.by_step()
    traj_steps = c.trajectory_steps if c.trajectory_steps is not None else {s.step for s in x.trajectory_for(c.label_steps)}
    trajectory = [steps[k].call() for k in sorted(traj_steps)]
    servers = {t["server"] for t in trajectory} | ({c.probe["server"]} if c.probe else set())
    return TaskSynthesized(
        task_id=task_id(x.exploration_id, synthesizer, c), exploration_id=x.exploration_id, dag_id=x.dag_id,
        kind=c.kind, question=c.question, answer=c.answer, match=c.match, trajectory=trajectory, probe=c.probe,
        provenance=c.provenance, derivation=c.derivation, answer_schema=c.answer_schema, calls=len(trajectory), servers=len(servers), hops=c.hops,
        synthesizer=synthesizer, template=c.template, request_hash=c.extra.get("request_hash"),
    )


def synthesize(
    store: Store,
    synthesizer: Synthesizer | None = None,
    *,
    explorations: int | None = None,
    seed: int = 0,
    max_tasks: int | None = None,
    on_exploration: Callable[[str, int, int], None] | None = None,
    only: Collection[str] | None = None,
) -> SynthesisReport:
    """Write tasks for every finished exploration not yet synthesized by ``synthesizer``
    (the offline one by default)."""
    from .offline import OfflineSynthesizer, initial_results, probed_tools, result_variants, said_anyway

    if synthesizer is None:
        synthesizer = OfflineSynthesizer(seed=seed, **({"max_tasks": max_tasks} if max_tasks else {}))
    report = SynthesisReport()
    todo = pending_explorations(store, synthesizer.name, explorations, only)
    if not todo:
        return report
    from ..simulator import Simulator
    from .necessity import SetupNeeds, initial_texts

    context = {"initial_results": initial_results(store), "variants": result_variants(store),
               "said": said_anyway(store), "probed": probed_tools(store),
               "needs": SetupNeeds(Simulator.open(store, mode="strict"), initial_texts(store))}
    adapters: dict[str, Adapter] = {}  # server -> its adapter, chosen once per run
    records: dict[str, Any] = {}  # server -> what discovery recorded of it
    done = 0

    def finish(x: Exploration, chosen: list[Candidate], skipped: Counter, extra: list[Any]) -> None:
        nonlocal done
        events: list[Any] = [to_event(x, synthesizer.name, c) for c in chosen]
        events += extra
        retry = skipped.pop("_retry", 0)
        candidates = int(skipped.pop("_candidates", len(chosen)))
        if not retry:
            events.append(SynthesisFinished(exploration_id=x.exploration_id, synthesizer=synthesizer.name,
                                            tasks=len(chosen), candidates=candidates, skipped=dict(skipped)))
        store.append_many(events)
        report.explorations += 1
        report.tasks += len(chosen)
        report.kinds.update(c.kind for c in chosen)
        report.skipped.update(skipped)
        report.failures += sum(1 for e in extra if type(e).__name__ == "SynthesisFailed")
        done += 1
        if on_exploration:
            on_exploration(x.exploration_id, done, len(todo))

    many = getattr(synthesizer, "tasks_for_many", None)
    # a synthesizer that asks a model sends a chunk's requests at once (its own concurrency)
    chunk = BATCH if many is not None else 1
    for start in range(0, len(todo), chunk):
        loaded = [x for x in (load_exploration(store, xid, adapters, records) for xid in todo[start : start + chunk])
                  if x is not None]
        if many is not None:
            many(store, loaded, context, finish)
            continue
        for x in loaded:
            finish(x, *synthesizer.tasks_for(store, x, context))
    store.catch_up()
    return report
