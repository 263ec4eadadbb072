"""``firefly run``: the whole pipeline on real servers, and its resumability under SIGKILL.

The servers here (calculator, memory, sqlite from the bundled registry) give the same
results on every run, so two runs with the same seed must record the same data.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firefly.resources import bundled_registry

pytestmark = pytest.mark.real_servers

DETERMINISTIC = ("calculator", "memory", "sqlite")
DAGS = 10


def firefly(*args: str) -> list[str]:
    return [sys.executable, "-m", "firefly", *args]


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    servers = json.loads(bundled_registry().read_text())["mcpServers"]
    path = tmp_path_factory.mktemp("registry") / "servers.json"
    path.write_text(json.dumps({"mcpServers": {name: servers[name] for name in DETERMINISTIC}}))
    return path


def run_args(registry: Path, db: Path) -> list[str]:
    return firefly("run", "--registry", str(registry), "--dags", str(DAGS), "--seed", "3", "--db", str(db))


def outcome(db: Path) -> dict[str, list[tuple]]:
    """What a run produced, without what differs between runs (ids, times, latencies)."""
    conn = sqlite3.connect(db)
    try:
        return {
            "tools": conn.execute("SELECT server, name, input_schema FROM tools ORDER BY server, name").fetchall(),
            "edges": conn.execute("SELECT source_server, source_name, target_server, target_name, score FROM edges ORDER BY 1, 2, 3, 4").fetchall(),
            "dags": conn.execute("SELECT dag_id, tools FROM dags ORDER BY dag_id").fetchall(),
            "explorations": conn.execute(
                "SELECT exploration_id, dag_id, status, calls, successes, errors, chained FROM explorations ORDER BY 1"
            ).fetchall(),
            "calls": conn.execute(
                "SELECT exploration_id, step, attempt, server, tool, arguments, content, structured_content, is_error,"
                " error_class, state FROM calls ORDER BY exploration_id, step, attempt"
            ).fetchall(),
            "tasks": conn.execute(
                "SELECT task_id, kind, question, answer, match, trajectory, probe, provenance, verified, split"
                " FROM tasks ORDER BY task_id"
            ).fetchall(),
            "verdicts": conn.execute("SELECT task_id, verifier, passed, reasons FROM verdicts ORDER BY 1, 2").fetchall(),
        }
    finally:
        conn.close()


def head(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def test_run_killed_at_random_points_ends_like_one_uninterrupted_run(registry, tmp_path):
    whole = tmp_path / "whole.db"
    done = subprocess.run(run_args(registry, whole), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = outcome(whole)
    # one exploration per DAG (--dags sampled ones, plus one-tool DAGs for tools no edge reaches),
    # and one survey per server (an exploration of its world, "survey-...")
    assert len(expected["dags"]) >= DAGS
    assert len([row for row in expected["explorations"] if not row[0].startswith("survey-")]) == len(expected["dags"])
    assert all(row[2] == "finished" for row in expected["explorations"])
    verified = [row for row in expected["tasks"] if row[8] == 1]
    assert len(verified) >= DAGS, "the run should verify tasks"
    assert {row[9] for row in verified} <= {"train", "test"}
    total_events = head(whole)

    killed = tmp_path / "killed.db"
    rng = random.Random(11)
    kills = 0
    for _ in range(5):
        point = head(killed) + rng.randint(10, max(11, total_events // 7))
        proc = subprocess.Popen(run_args(registry, killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 600
        while proc.poll() is None and head(killed) < point and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole group: firefly and the servers it started
            kills += 1
        proc.wait()
    assert kills >= 5, f"only {kills} of the kill points were reached before the run ended"
    final = subprocess.run(run_args(registry, killed), capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, final.stderr[-3000:]
    assert outcome(killed) == expected
    # the killed database is consistent: a rebuild from its log gives the same projections
    rebuilt = subprocess.run(firefly("rebuild", "--db", str(killed)), capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert outcome(killed) == expected
