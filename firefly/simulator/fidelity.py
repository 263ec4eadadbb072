"""How close the simulator comes to the real tools: hold some recorded calls out and ask.

A seeded random share of the recorded results (``holdout``) is left out of the lookup (and of
the nearest index, built in memory without them). Each held-out call is then made in an
episode whose world is the one it was recorded in (the effects before it in its
exploration), in each mode, and the simulated result is compared with the real one:

* **exact**: the same content blocks, structured content and ``isError``. A held-out call can
  still hit exactly when the same call was recorded elsewhere in the same world (that is the
  lookup working, not a leak).
* **similarity** of the rest: ``difflib``'s ratio between the texts of the two results
  (text blocks, then the structured content as canonical JSON), from 0 to 1; a miss (the
  strict mode's error, or a nearest result below the threshold) counts 0.
* **answered**: share of calls that got a result rather than a miss.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ..ids import canonical_json
from ..store import Store
from .core import SimResult, Simulator

MAX_COMPARED = 4000  # characters of each result compared for similarity
_decoder = msgspec.json.Decoder()


@dataclass
class Score:
    held_out: int = 0
    exact: int = 0
    answered: int = 0
    similarity_rest: float = 0.0  # summed over the calls that were not exact

    @property
    def exact_rate(self) -> float:
        return self.exact / self.held_out if self.held_out else 0.0

    @property
    def answered_rate(self) -> float:
        return self.answered / self.held_out if self.held_out else 0.0

    @property
    def mean_similarity(self) -> float | None:
        rest = self.held_out - self.exact
        return self.similarity_rest / rest if rest else None


@dataclass
class FidelityReport:
    holdout: float
    seed: int
    recorded: int = 0
    held_out: int = 0
    scores: dict[tuple[str, str], Score] = field(default_factory=dict)  # (mode, server) -> score

    def total(self, mode: str) -> Score:
        out = Score()
        for (m, _), s in self.scores.items():
            if m == mode:
                out.held_out += s.held_out
                out.exact += s.exact
                out.answered += s.answered
                out.similarity_rest += s.similarity_rest
        return out

    def summary(self) -> dict[str, Any]:
        modes = sorted({m for m, _ in self.scores})
        return {"recorded": self.recorded, "held_out": self.held_out, **{
            f"{m}_exact_rate": round(self.total(m).exact_rate, 4) for m in modes}}


def result_text(content: list[dict[str, Any]], structured: Any) -> str:
    text = "\n".join(b["text"] for b in content if b.get("type") == "text" and isinstance(b.get("text"), str))
    if structured is not None:
        text += "\n" + canonical_json(structured)
    return text[:MAX_COMPARED]


def similarity(simulated: SimResult, content: list[dict[str, Any]], structured: Any) -> float:
    if simulated.meta.get("miss"):
        return 0.0
    a, b = result_text(simulated.content, simulated.structured_content), result_text(content, structured)
    return round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def fidelity(
    store: Store,
    *,
    holdout: float = 0.2,
    seed: int = 0,
    modes: tuple[str, ...] = ("strict", "nearest"),
    threshold: float | None = None,
    llm: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> FidelityReport:
    """Hold out ``holdout`` of the recorded results and score each mode on them."""
    if not 0 < holdout < 1:
        raise ValueError("the hold-out fraction must be between 0 and 1")
    store.catch_up()
    rows = store.conn.execute(
        "SELECT position, server, tool, arguments, content, structured_content, is_error, exploration_id, step"
        " FROM sim_calls ORDER BY position").fetchall()
    report = FidelityReport(holdout, seed, recorded=len(rows))
    if not rows:
        return report
    rng = random.Random(seed)
    held = sorted(rng.sample(rows, max(1, round(holdout * len(rows)))))
    report.held_out = len(held)
    exclude = frozenset(r[0] for r in held)
    worlds = {r[0]: store.conn.execute(
        "SELECT server, tool, arguments_hash FROM sim_calls WHERE exploration_id = ? AND step < ? AND effect = 1"
        " ORDER BY step, attempt", (r[7], r[8])).fetchall() for r in held}
    total, done = len(held) * len(modes), 0
    for mode in modes:
        options: dict[str, Any] = {"exclude": exclude, "llm": llm}
        if threshold is not None:
            options["threshold"] = threshold
        sim = Simulator.open(store, mode=mode, **options)
        for position, server, tool, arguments, content, structured, is_error, _, _ in held:
            real_content = _decoder.decode(content)
            real_structured = _decoder.decode(structured) if structured else None
            got = sim.episode(worlds[position]).call_sync(server, tool, _decoder.decode(arguments))
            score = report.scores.setdefault((mode, server), Score())
            score.held_out += 1
            score.answered += not got.meta.get("miss")
            if got.content == real_content and got.structured_content == real_structured and got.is_error == bool(is_error):
                score.exact += 1
            else:
                score.similarity_rest += similarity(got, real_content, real_structured)
            done += 1
            if progress is not None:
                progress(done, total)
    return report
