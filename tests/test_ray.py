"""``--ray``: stages as shards on a local Ray cluster (loopback, 2 CPUs) give the data of one
process; a worker killed mid-shard loses only that shard, and the next run completes the
same dataset; rollouts from many actors reading the file; and without Ray, one line.

The servers are the deterministic bundled ones of test_pipeline (calculator, memory,
sqlite), so runs with the same seed record the same data.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from firefly.cli import app
from firefly.distributed import Cluster, RolloutWorker, start_local
from firefly.pipeline import STAGES, RunOptions, run_pipeline
from firefly.store import Store

from .test_pipeline import outcome, registry  # noqa: F401 - the module fixture of the three servers

pytestmark = pytest.mark.real_servers

DAGS = 4
SEED = 3


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local cluster on loopback for this module; stopped (with every process it started) at the end."""
    import ray

    start_local(ray, 2)
    # the test module's functions (the fault below) travel to the workers by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def sampled(registry, tmp_path_factory) -> Path:  # noqa: F811
    """A database whose servers are discovered, graph built and DAGs sampled (one process)."""
    db = tmp_path_factory.mktemp("sampled") / "sampled.db"
    with Store.open(db) as store:
        run_pipeline(store, RunOptions(registry=registry, dags=DAGS, seed=SEED), Console(quiet=True),
                     stages=[s for s in STAGES if s[0] in ("register", "discover", "graph", "sample")])
    return db


def copy_of(db: Path, to: Path) -> Path:
    shutil.copyfile(db, to)
    return to


def run_cli(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def one_process(sampled, tmp_path_factory) -> dict:
    db = copy_of(sampled, tmp_path_factory.mktemp("one") / "one.db")
    run_cli("run", "--dags", str(DAGS), "--seed", str(SEED), "--db", str(db))
    return outcome(db)


def test_run_on_ray_gives_the_one_process_dataset(ray_cluster, sampled, one_process, tmp_path):
    db = copy_of(sampled, tmp_path / "ray.db")
    run_cli("run", "--ray", "--dags", str(DAGS), "--seed", str(SEED), "--db", str(db))
    got = outcome(db)
    assert got["explorations"] and any(row[-2] == 1 for row in got["tasks"]), "the run verified no task"
    assert got == one_process
    conn = sqlite3.connect(db)
    summaries = [row[0] for row in conn.execute(
        "SELECT json_extract(payload, '$.summary.shards') FROM events WHERE type = 'run-finished'"
        " AND json_extract(payload, '$.summary.shards') IS NOT NULL")]
    assert conn.execute("SELECT count(*) FROM events WHERE type = 'shard-failed'").fetchone()[0] == 0
    assert len(summaries) >= 3 and sum(summaries) >= DAGS  # discover, explore, synthesize, verify ran as shards


def kill_in(victim: str):
    """A fault: the worker exploring ``victim`` (a DAG) dies (SIGKILL) right after its first
    batch of events is committed to its shard database."""

    def work(stage_work, store, args):
        if "policy" in args and args["only"] == [victim]:
            append_many = store.append_many

            def append_then_die(events, **kw):
                append_many(events, **kw)
                os.kill(os.getpid(), signal.SIGKILL)

            store.append_many = append_then_die
        return stage_work(store, args)

    return work


def test_a_worker_killed_mid_shard_loses_only_that_shard(ray_cluster, sampled, one_process, tmp_path):
    from firefly.explore.stage import pending_dags

    db = copy_of(sampled, tmp_path / "killed.db")
    with Store.open(db) as store:
        victim = pending_dags(store, "offline", SEED, None)[0][0]
        cluster = Cluster(work=kill_in(victim))
        run_pipeline(store, RunOptions(dags=DAGS, seed=SEED, cluster=cluster), Console(quiet=True))
        failed = store.conn.execute(
            "SELECT json_extract(payload, '$.stage'), json_extract(payload, '$.shard'), json_extract(payload, '$.worker'),"
            " json_extract(payload, '$.error') FROM events WHERE type = 'shard-failed'").fetchall()
        assert [(stage, shard) for stage, shard, _, _ in failed] == [("explore", f"dag:{victim}")]
        assert ":" in failed[0][2] and failed[0][3]  # the worker (host:pid) and what happened
        explored = {r[0] for r in store.conn.execute("SELECT dag_id FROM explorations WHERE status = 'finished'")}
        assert victim not in explored and len(explored) >= 1  # the others went on
    run_cli("run", "--ray", "--dags", str(DAGS), "--seed", str(SEED), "--db", str(db))  # the rerun
    assert outcome(db) == one_process  # the same tasks, verified flags and verdicts (with their reasons)
    # the killed worker's shard folder was removed by the rerun; the others by their workers
    assert not list(Path(tempfile.gettempdir()).glob("firefly-shards-*"))


def test_eval_on_ray_and_rollouts_from_many_actors_reading_one_file(ray_cluster, sampled, one_process, tmp_path):
    db = copy_of(sampled, tmp_path / "dataset.db")
    run_cli("run", "--dags", str(DAGS), "--seed", str(SEED), "--db", str(db))
    run_cli("eval", "--agent", "oracle", "--split", "all", "--ray", "--db", str(db))  # episodes played by task shards
    conn = sqlite3.connect(db)
    verified = conn.execute("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0]
    assert conn.execute("SELECT count(*), min(reward) FROM episodes").fetchone() == (verified, 1.0)
    assert conn.execute("SELECT count(*) FROM events WHERE type = 'eval-started'").fetchone()[0] == 1
    conn.close()
    os.chmod(db, 0o444)  # the shipped file: nobody writes it
    recorded = {}
    for name, ray in (("one", []), ("ray", ["--ray"])):  # --record-to: the episodes go elsewhere, on Ray too
        results = tmp_path / f"{name}-eval.db"
        run_cli("eval", "--agent", "oracle", "--split", "all", *ray, "--db", str(db), "--record-to", str(results))
        with sqlite3.connect(results) as conn:
            recorded[name] = (
                conn.execute("SELECT eval_id, tasks, episodes, solved, dataset FROM evals").fetchall(),
                conn.execute("SELECT eval_id, task_id, sample, reward, outcome FROM episodes ORDER BY 1, 2, 3").fetchall())
    assert recorded["ray"] == recorded["one"]
    assert recorded["ray"][0][0][1:] == (verified, verified, verified, str(db.resolve()))
    Worker = ray_cluster.remote(num_cpus=0.5)(RolloutWorker)
    workers = [Worker.remote(str(db)) for _ in range(3)]
    ids = ray_cluster.get(workers[0].task_ids.remote())
    assert ids
    batches = ray_cluster.get([w.rollout.remote(ids[i::3], {"kind": "oracle"}) for i, w in enumerate(workers)])
    rewards = dict(pair for batch in batches for pair in batch)
    assert sorted(rewards) == sorted(ids) and set(rewards.values()) == {1.0}
    for w in workers:
        ray_cluster.get(w.close.remote())
        ray_cluster.kill(w)


def test_without_ray_the_option_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    for command in ("run", "discover", "explore", "synthesize", "verify", "eval"):
        result = CliRunner().invoke(app, [command, "--ray", "--db", str(tmp_path / "x.db")])
        assert result.exit_code == 1, (command, result.output)
        assert result.output.strip().splitlines() == ["Error: --ray needs Ray, which is not installed: pip install"
                                                      " 'firefly-mcp[ray]'"], command


def test_no_server_is_used_by_more_shards_than_the_limit():
    from firefly.distributed import Shard, chunks, startable

    shards = chunks([("d1", frozenset({"a"})), ("d2", frozenset({"a", "b"})), ("d3", frozenset({"b"})),
                     ("d4", frozenset({"c"}))], 1, "dag")
    assert shards[1] == Shard("dag:d2", ("d2",), frozenset({"a", "b"}))
    pending, busy = list(shards), {}
    first = startable(pending, busy, free=4, per_server=1)
    assert [s.key for s in first] == ["dag:d1", "dag:d3", "dag:d4"]  # d2 waits: a and b are taken
    assert [s.key for s in pending] == ["dag:d2"] and busy == {"a": 1, "b": 1, "c": 1}
    busy["a"] -= 1  # d1 finished; b is still busy
    assert startable(pending, busy, free=3, per_server=1) == []
    busy["b"] -= 1
    assert [s.key for s in startable(pending, busy, free=1, per_server=1)] == ["dag:d2"]
    assert startable([*shards], {}, free=1, per_server=2) == [shards[0]]  # no more than the free workers


def test_ray_after_usearch_is_one_clear_error_not_an_aborted_process(tmp_path):
    """Ray's runtime aborts the process (std::regex_error) when it starts after usearch's
    extension was loaded; firefly says so instead, and importing Ray first works."""
    code = ("import usearch.index\nimport ray\nfrom firefly.distributed import ClusterUnavailable, start_local\n"
            "try:\n    start_local(ray, 1)\nexcept ClusterUnavailable as exc:\n    print('refused:', exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0 and "refused: usearch was loaded before Ray" in done.stdout, done.stderr[-2000:]
