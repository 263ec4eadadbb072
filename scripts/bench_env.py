"""Benchmark the RL environment: environment steps per second, in one process and with 8
environments in parallel over one database, next to a raw SQL lookup baseline.

A step is what an RL trainer sends the environment: one assistant turn, either a tool call
(run in the simulator, in the episode's own world) or the final answer (scored with the
task's match rule, or its probe for a state-change task). The oracle agent plays every
verified task of the database (reset, its reference trajectory one call per step, the
label), round after round, for ``--seconds``.

Figures, measured in the same run:

* ``env, 1 process``: FireflyEnv steps per second in one process;
* ``env, N processes``: N processes (default 8), each with its own FireflyEnv over the same
  read-only database file, all at once: total steps per second;
* the baseline, ``raw SQL``: the same tool calls answered by the plainest possible lookup
  (``SELECT content FROM calls WHERE server = ? AND tool = ? AND arguments_hash = ?``, with
  the recorded hash given, no world state, no scoring), in one and in N processes.

Printed: the rates, env / raw SQL (the cost of the environment over a bare lookup) and
N processes / 1 process (how it scales over one database; bounded by the machine's cores).

    .venv/bin/python scripts/bench_env.py --db firefly.db            # a database with verified tasks
    .venv/bin/python scripts/bench_env.py --db firefly.db --seconds 5 --processes 8
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import sys
import time
from pathlib import Path

from firefly.env import FireflyEnv
from firefly.evaluation import OracleAgent
from firefly.ids import canonical_json, content_hash


def env_steps(db: str, seconds: float, split: str | None, start: float | None = None, verified_only: bool = True) -> tuple[int, float, float]:
    """Steps taken in ``seconds`` by one environment; returns (steps, elapsed, mean reward)."""
    with FireflyEnv(db, split=split, max_turns=64, verified_only=verified_only) as env:
        ids = env.task_ids
        oracle = OracleAgent()
        env.reset(ids[0])  # open the simulator before the clock starts
        if start is not None:
            while time.time() < start:
                time.sleep(0.001)
        steps = episodes = 0
        rewards = 0.0
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            for task_id in ids:
                observation = env.reset(task_id)
                oracle.play(env, observation)
                assert env.episode is not None
                steps += env.episode.turns
                rewards += env.episode.reward
                episodes += 1
        return steps, time.perf_counter() - began, rewards / max(episodes, 1)


def trajectory_calls(db: str, split: str | None, verified_only: bool = True) -> list[tuple[str, str, str]]:
    """(server, tool, recorded arguments hash) of every reference trajectory step."""
    with FireflyEnv(db, split=split, verified_only=verified_only) as env:
        calls = []
        for task_id in env.task_ids:
            task = env.task(task_id)
            for step in task.trajectory:
                row = env.conn.execute(
                    "SELECT arguments_hash FROM calls WHERE exploration_id = (SELECT exploration_id FROM tasks"
                    " WHERE task_id = ?) AND step = ? ORDER BY attempt DESC LIMIT 1",
                    (task_id, step["step"]),
                ).fetchone()
                if row is None:
                    row = (content_hash(canonical_json(step.get("arguments") or {})),)
                calls.append((step["server"], step["tool"], row[0]))
        return calls


def raw_steps(db: str, seconds: float, split: str | None, start: float | None = None, verified_only: bool = True) -> tuple[int, float, float]:
    """The baseline: the trajectory calls looked up with one SQL query each."""
    calls = trajectory_calls(db, split, verified_only)
    conn = sqlite3.connect(f"{Path(db).resolve().as_uri()}?mode=ro", uri=True)
    sql = "SELECT content FROM calls WHERE server = ? AND tool = ? AND arguments_hash = ? LIMIT 1"
    if start is not None:
        while time.time() < start:
            time.sleep(0.001)
    steps = hits = 0
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        for call in calls:
            hits += conn.execute(sql, call).fetchone() is not None
            steps += 1
    conn.close()
    return steps, time.perf_counter() - began, hits / max(steps, 1)


def _worker(args: tuple[str, str, float, str | None, float, bool]) -> tuple[int, float, float]:
    kind, db, seconds, split, start, verified_only = args
    return (env_steps if kind == "env" else raw_steps)(db, seconds, split, start, verified_only)


def parallel(kind: str, db: str, seconds: float, split: str | None, processes: int, verified_only: bool) -> tuple[float, float]:
    """Total steps per second of ``processes`` processes started together; and mean quality."""
    start = time.time() + 2.0 + 0.2 * processes  # every process is ready before the clock
    with mp.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_worker, [(kind, db, seconds, split, start, verified_only)] * processes)
    steps = sum(r[0] for r in results)
    wall = max(r[1] for r in results)
    return steps / wall, sum(r[2] for r in results) / len(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a firefly database with verified tasks (e.g. the bundled run)")
    parser.add_argument("--split", default=None, help="only this split's tasks (default: every verified task)")
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time of each figure")
    parser.add_argument("--processes", type=int, default=8, help="environments in parallel")
    parser.add_argument("--unverified", action="store_true", help="play unverified tasks too (a database not verified yet)")
    args = parser.parse_args()
    if not Path(args.db).exists():
        print(f"no database at {args.db}: build one first (firefly run)", file=sys.stderr)
        return 1
    verified = not args.unverified
    with FireflyEnv(args.db, split=args.split, verified_only=verified) as env:
        n = len(env.task_ids)
    if not n:
        print(f"{args.db} has no verified tasks{f' in split {args.split}' if args.split else ''}", file=sys.stderr)
        return 1
    print(f"{n} {'verified ' if verified else ''}tasks in {args.db}; {os.cpu_count()} CPU(s); {args.seconds:g}s per figure")
    steps, elapsed, mean_reward = env_steps(args.db, args.seconds, args.split, None, verified)
    env1 = steps / elapsed
    raw_n, raw_elapsed, hit_rate = raw_steps(args.db, args.seconds, args.split, None, verified)
    raw1 = raw_n / raw_elapsed
    envp, mean_reward_p = parallel("env", args.db, args.seconds, args.split, args.processes, verified)
    rawp, _ = parallel("raw", args.db, args.seconds, args.split, args.processes, verified)
    p = args.processes
    print()
    print(f"{'':24}{'1 process':>14}{f'{p} processes':>16}{f'{p} / 1':>10}")
    print(f"{'env steps/s':24}{env1:>14,.0f}{envp:>16,.0f}{envp / env1:>10.2f}")
    print(f"{'raw SQL lookups/s':24}{raw1:>14,.0f}{rawp:>16,.0f}{rawp / raw1:>10.2f}")
    print(f"{'env / raw SQL':24}{env1 / raw1:>14.3f}{envp / rawp:>16.3f}")
    print()
    print(f"oracle mean reward: {mean_reward:.3f} (1 process), {mean_reward_p:.3f} ({p} processes);"
          f" raw SQL hit rate {hit_rate:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
