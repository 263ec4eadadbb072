"""Backward task synthesis, verification and splits (the stages after exploration).

    from firefly.synth import synthesize, verify, assign_splits
    synthesize(store)                       # tasks from every finished exploration
    verify(store)                           # one verdict per verifier and task
    assign_splits(store, test_fraction=0.2, seed=0)

Each stage is incremental and resumable: a re-run writes nothing twice and gives the same
tasks, verdicts and splits.
"""

from __future__ import annotations

from .split import SplitReport, assign_splits
from .stage import SynthesisReport, synthesize
from .verify import VerifyReport, replay_verified, verify

__all__ = ["SplitReport", "SynthesisReport", "VerifyReport", "assign_splits", "replay_verified", "synthesize", "verify"]
