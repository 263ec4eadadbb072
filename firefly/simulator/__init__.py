"""The retrieval-augmented simulator: recorded tool calls replayed offline.

    from firefly.simulator import Simulator
    sim = Simulator.open("firefly.db", mode="strict")   # "strict" | "nearest" | "llm"
    r = sim.episode().call_sync("git", "git_log", {"repo_path": "/workspace/repo"})

See :mod:`firefly.simulator.core` for the lookup rules, :mod:`.canonical` for what makes two
calls the same, :mod:`.nearest` and :mod:`.generate` for misses, :mod:`.serve` for serving
the recorded servers over MCP and :mod:`.fidelity` for measuring how close it comes.
"""

from .core import DEFAULT_THRESHOLD, MISS_TEXT, MODES, Episode, SimResult, SimTool, Simulator, SimulatorError

__all__ = ["DEFAULT_THRESHOLD", "MISS_TEXT", "MODES", "Episode", "SimResult", "SimTool", "Simulator", "SimulatorError"]
