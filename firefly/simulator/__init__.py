"""The retrieval-augmented simulator: recorded tool calls replayed offline.

    from firefly.simulator import Simulator
    sim = Simulator.open("firefly.db", mode="strict")   # "strict" | "nearest" | "llm"
    r = sim.episode().call_sync("notes", "read_note", {"path": "/workspace/files/todo.md"})

See :mod:`firefly.simulator.core` for the lookup rules, :mod:`.canonical` for what makes two
calls the same, :mod:`.nearest` and :mod:`.generate` for misses, :mod:`.serve` for serving
the recorded servers over MCP and :mod:`.fidelity` for measuring how close it comes.
Names are imported on first use, so the CLI can read the settings without loading it all.
"""

from __future__ import annotations

from typing import Any

from .settings import DEFAULT_K, DEFAULT_THRESHOLD, MISS_TEXT, MODES

_LAZY = {"Episode", "SimResult", "SimTool", "Simulator", "SimulatorError"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import core

        return getattr(core, name)
    raise AttributeError(f"module 'firefly.simulator' has no attribute {name!r}")


__all__ = ["DEFAULT_K", "DEFAULT_THRESHOLD", "MISS_TEXT", "MODES", *sorted(_LAZY)]
