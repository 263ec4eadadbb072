"""Past one machine: a stage's work as shards on a Ray cluster (``--ray [ADDRESS]``).

A stage's work splits into shards: discovery by server, exploration by DAG, synthesis by
exploration, verification and evaluation by task. Each shard runs in a worker, an actor of a
pool (``num_cpus`` each), which holds a snapshot of the database on its node's local disk
(never SQLite over a network filesystem), copies it to a shard database, runs the stage's
own function restricted to the shard (``only=...``) on that copy, and returns the events the
shard appended. The driver appends them to the main log as shards finish, with the same
idempotent rule as ``firefly merge`` (:func:`firefly.merge.absorb`): an event id or an
idempotency key already in the log is the same fact, written once. Stages are idempotent and
every nondeterministic input is recorded, so a Ray run ends with the data of a one-process
run with the same seed.

- One server is never overrun: the driver runs at most ``per_server`` shards that use a
  server at once, across the cluster.
- A failed shard (its worker raised, or died: killed, out of memory) is one ``shard-failed``
  event naming the worker and the shard; the run goes on with the others, and the next run
  does that shard again (what it had not returned is lost, nothing else).
- Verification's not-duplicate and diverse verdicts are decided over every task (the tasks
  of earlier runs too); the shards give the other verdicts and the driver gives those two
  afterwards, so a run whose shard failed, run again, ends with the verdicts of one process.
- A worker's shard databases live in a scratch folder of its node's temporary directory,
  recorded as its own: a worker killed mid-shard leaves it to the next firefly process
  there, which removes it (and stops the servers it had started).
- Secrets: a worker gets the database's secrets file with the snapshot (servers need their
  keys); over a real network, run Ray with TLS. The model's key comes from the workers'
  environment (``FIREFLY_LLM_API_KEY``, e.g. in a Ray ``runtime_env``), never from the log.

Ray is optional (``pip install 'firefly-mcp[ray]'``); without ``--ray`` nothing here runs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FireflyError
from .events import ShardFailed
from .secrets import SecretsFile
from .store import Store

INSTALL_HINT = "--ray needs Ray, which is not installed: pip install 'firefly-mcp[ray]'"
LOCAL = "local"

Work = Callable[[Store, dict[str, Any]], dict[str, Any]]
OnShard = Callable[[int, int, str], None]  # (finished, total, note)


class RayNotInstalled(FireflyError):
    """``--ray`` was given but Ray cannot be imported."""


class ClusterUnavailable(FireflyError):
    """The Ray cluster of ``--ray`` could not be started or reached."""


def import_ray() -> Any:
    """Ray, imported before anything loads usearch (see :func:`check_load_order`): commands
    call this when they parse ``--ray``, before any stage runs."""
    try:
        import ray
    except ImportError:
        raise RayNotInstalled(INSTALL_HINT) from None
    return ray


def check_load_order() -> None:
    """Ray's C++ runtime aborts the whole process (``std::regex_error``, in its GCS client)
    when it starts a cluster or joins one after usearch's extension was loaded: their C++
    runtimes clash. Say so in one line instead of dying."""
    loaded = list(sys.modules)
    if "usearch.index" in loaded and (
            "ray._raylet" not in loaded or loaded.index("usearch.index") < loaded.index("ray._raylet")):
        raise ClusterUnavailable(
            "usearch was loaded before Ray, and Ray's runtime aborts the process when it then starts or joins"
            " a cluster: import ray (firefly.distributed.import_ray) before anything that uses usearch")


@dataclass
class Cluster:
    """Where and how shards run. ``address``: ``local`` (a cluster of this machine, started
    for the command on loopback and stopped after it) or a Ray address (``auto``,
    ``ray://host:10001``, ``127.0.0.1:6379``); a process already connected to Ray keeps its
    connection. ``num_cpus``: what each worker declares; ``workers``: the pool's size
    (default: the cluster's CPUs over ``num_cpus``); ``per_server``: shards that use one
    server at once; ``local_cpus``: the CPUs of a local cluster. ``work``: a function every
    shard's work goes through, ``work(stage_work, store, args)`` (tests inject faults)."""

    address: str = LOCAL
    num_cpus: float = 1.0
    workers: int | None = None
    per_server: int = 2
    local_cpus: int = 2
    work: Callable[[Work, Store, dict[str, Any]], dict[str, Any]] | None = None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        ray = import_ray()
        if ray.is_initialized():
            yield ray
            return
        check_load_order()
        try:
            if self.address == LOCAL:
                start_local(ray, self.local_cpus)
            else:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
        except Exception as exc:  # noqa: BLE001 - Ray raises plain Exception and ConnectionError alike: one line
            ray.shutdown()
            where = "a local Ray cluster could not start" if self.address == LOCAL else f"Ray at {self.address} cannot be reached"
            raise ClusterUnavailable(f"{where}: {' '.join(str(exc).split())}") from None
        try:
            yield ray
        finally:
            ray.shutdown()


def start_local(ray: Any, cpus: int, attempts: int = 3) -> None:
    """Start a Ray cluster of this machine, bound to loopback, without the dashboard. On a
    loaded machine Ray's node agents may start after Ray's own start-up timeout: tried again."""
    check_load_order()
    for attempt in range(attempts):
        try:
            # address "local": always a new cluster, never one a stale /tmp/ray/ray_current_cluster names
            ray.init(address="local", num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                     log_to_driver=False, configure_logging=False)
            return
        except Exception as exc:
            ray.shutdown()
            if "timed out during startup" not in str(exc) or attempt == attempts - 1:
                raise


@dataclass(frozen=True)
class Shard:
    """One unit of a stage's work: ``items`` (server names, DAG, exploration or task ids)
    and the servers they use (the per-server limit counts them)."""

    key: str
    items: tuple[str, ...]
    servers: frozenset[str] = frozenset()


@dataclass
class ShardReport:
    stage: str
    shards: int = 0
    finished: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (shard, worker, error)
    read: int = 0  # events the shards returned
    written: int = 0  # of them, new to the log
    merge_seconds: float = 0.0
    workers: list[str] = field(default_factory=list)
    kept: list[tuple] = field(default_factory=list)  # the shards' events, when the caller appends them itself
    totals: dict[str, Any] = field(default_factory=dict)  # the shards' summaries, added up

    def summary(self) -> dict[str, Any]:
        return {**self.totals, "shards": self.shards, "shards_failed": len(self.failed), "workers": len(self.workers),
                "events_merged": self.written}

    def note(self) -> str:
        per = self.merge_seconds / self.read * 1e6 if self.read else 0.0
        return (f"{self.finished}/{self.shards} shard(s) on {len(self.workers)} Ray worker(s),"
                f" {len(self.failed)} failed; merged {self.written} event(s) ({per:.0f} µs each)")


def add_up(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add a shard's summary to the stage's: numbers add, lists join, dicts add by key."""
    for key, value in part.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, list, dict)):
            total.setdefault(key, value)
        elif isinstance(value, dict):
            add_up(total.setdefault(key, {}), value)
        elif isinstance(value, list):
            total[key] = [*total.get(key, []), *value]
        else:
            total[key] = total.get(key, 0) + value


def chunks(items: Sequence[tuple[str, frozenset[str]]], size: int, prefix: str) -> list[Shard]:
    """Shards of ``size`` items each, in order; an item is (id, the servers it uses)."""
    out = []
    for start in range(0, len(items), max(1, size)):
        part = items[start : start + max(1, size)]
        out.append(Shard(f"{prefix}:{part[0][0]}" + (f"+{len(part) - 1}" if len(part) > 1 else ""),
                         tuple(i for i, _ in part), frozenset().union(*(s for _, s in part))))
    return out


# -- the worker ------------------------------------------------------------------------------


class ShardWorker:
    """A pool's worker (a Ray actor): a snapshot of the database on its node's local disk,
    and each shard's work on a copy of it."""

    def __init__(self, snapshot: bytes, secrets: bytes | None, run_id: str):
        from .processes import scratch_dir

        # recorded as this process's: if the worker is killed, the next firefly on the node removes it
        self.folders = contextlib.ExitStack()
        self.dir = Path(self.folders.enter_context(scratch_dir("firefly-shards-")))
        self.base = self.dir / "snapshot.db"
        self.base.write_bytes(snapshot)
        self.secrets = secrets
        self.run_id = run_id
        self.shards = 0

    def name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def run(self, stage: str, shard: Shard, args: dict[str, Any],
            wrap: Callable[[Work, Store, dict[str, Any]], dict[str, Any]] | None = None) -> tuple[list[tuple], dict[str, Any]]:
        self.shards += 1
        db = self.dir / f"shard{self.shards}.db"
        shutil.copyfile(self.base, db)
        if self.secrets is not None:
            secrets = SecretsFile(db).path
            secrets.write_bytes(self.secrets)
            secrets.chmod(0o600)
        work = STAGE_WORK[stage]
        try:
            with Store.open(db, run_id=self.run_id) as store:
                head = store.head()
                summary = wrap(work, store, {**args, "only": list(shard.items)}) if wrap else \
                    work(store, {**args, "only": list(shard.items)})
                rows = store.conn.execute(
                    "SELECT id, type, stream, time, run, idempotency_key, payload FROM events WHERE position > ?"
                    " ORDER BY position", (head,)).fetchall()
        finally:
            for path in self.dir.glob(f"{db.name}*"):
                path.unlink(missing_ok=True)
        return rows, summary

    def close(self) -> None:
        self.folders.close()


# -- the driver ------------------------------------------------------------------------------


def snapshot(store: Store) -> bytes:
    """The database as one file's bytes (a consistent copy, taken with SQLite's backup)."""
    store.catch_up()
    with tempfile.TemporaryDirectory(prefix="firefly-snapshot-") as tmp:
        path = Path(tmp) / "snapshot.db"
        copy = sqlite3.connect(path)
        try:
            store.conn.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
        return path.read_bytes()


def run_shards(store: Store, cluster: Cluster, stage: str, shards: list[Shard], args: dict[str, Any],
               on_shard: OnShard | None = None, keep: bool = False, into: Store | None = None) -> ShardReport:
    """Run the shards of a stage on the cluster and append their events to ``store`` as each
    finishes (``keep``: collect them in the report's ``kept`` instead; ``into``: append them
    to that database, ``store`` being only read, as ``firefly eval --record-to`` does). The
    database written must be inside its run (``store.run(...)``): the shards' events carry
    that run's id."""
    from .merge import MergeReport, absorb

    report = ShardReport(stage=stage, shards=len(shards))
    if not shards:
        return report
    out = store if into is None else into
    with cluster.connect() as ray:
        from ray.exceptions import RayActorError, RayError

        secrets = SecretsFile(store.path)
        image = ray.put(snapshot(store))
        kept = secrets.path.read_bytes() if secrets.path.exists() else None
        actor_class = ray.remote(num_cpus=cluster.num_cpus, max_restarts=0, max_task_retries=0)(ShardWorker)
        size = cluster.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // max(cluster.num_cpus, 0.001)))
        size = max(1, min(size, len(shards)))

        def start() -> tuple[Any, str]:
            actor = actor_class.remote(image, kept, out.run_id)
            return actor, ray.get(actor.name.remote())

        idle = [start() for _ in range(size)]
        report.workers = [name for _, name in idle]
        pending = list(shards)
        inflight: dict[Any, tuple[Any, str, Shard]] = {}
        busy: dict[str, int] = {}
        merged = MergeReport(path=out.path)
        try:
            while pending or inflight:
                for shard in startable(pending, busy, len(idle), cluster.per_server):
                    actor, name = idle.pop()
                    inflight[actor.run.remote(stage, shard, args, cluster.work)] = (actor, name, shard)
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    actor, name, shard = inflight.pop(ref)
                    for s in shard.servers:
                        busy[s] -= 1
                    try:
                        rows, summary = ray.get(ref)
                    except RayError as exc:
                        message = _one_line(exc)
                        out.append(ShardFailed(stage=stage, shard=shard.key, items=list(shard.items), worker=name,
                                                 error=message))
                        report.failed.append((shard.key, name, message))
                        if isinstance(exc, RayActorError):  # the worker died: a new one takes its place
                            actor, name = start()
                            report.workers.append(name)
                    else:
                        started = time.perf_counter()
                        if keep:
                            report.kept.extend(rows)
                        else:
                            absorb(out, rows, merged)
                            out.catch_up()
                        report.merge_seconds += time.perf_counter() - started
                        report.read += len(rows)
                        add_up(report.totals, summary)
                        report.finished += 1
                    idle.append((actor, name))
                    if on_shard is not None:
                        on_shard(report.finished + len(report.failed), report.shards,
                                 f"{shard.key} on {name}" + (" failed" if report.failed and report.failed[-1][0] == shard.key else ""))
        finally:
            for actor, _ in idle:
                with contextlib.suppress(RayError):
                    ray.get(actor.close.remote())
                ray.kill(actor)
            for actor, _, _ in inflight.values():
                ray.kill(actor)
        report.written = merged.written
    return report


def startable(pending: list[Shard], busy: dict[str, int], free: int, per_server: int) -> list[Shard]:
    """The shards to start now, in order, on ``free`` workers, so that no server is used by
    more than ``per_server`` running shards; they leave ``pending`` and count in ``busy``."""
    chosen: list[Shard] = []
    for shard in list(pending):
        if len(chosen) >= free:
            break
        if any(busy.get(s, 0) >= per_server for s in shard.servers):
            continue
        chosen.append(shard)
        pending.remove(shard)
        for s in shard.servers:
            busy[s] = busy.get(s, 0) + 1
    return chosen


def _one_line(exc: BaseException) -> str:
    """A Ray error as one line: the cause a worker raised, else Ray's own first line."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and not isinstance(cause, type(exc)):
        return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:500]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:500]


# -- the stages' shards ----------------------------------------------------------------------


def _discover(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    from .discovery import discover

    report = discover(store, args["only"], connect_timeout=args["connect_timeout"], call_timeout=args["call_timeout"],
                      concurrency=1)
    return report.summary()


def _explore(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    from .explore.stage import explore, make_policy

    policy = make_policy(**args["policy"])
    return explore(store, policy, seed=args["seed"], concurrency=args["concurrency"], call_timeout=args["call_timeout"],
                   connect_timeout=args["connect_timeout"], max_result_bytes=args["max_result_bytes"],
                   only=set(args["only"])).summary()


def _synthesize(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    from .synth.stage import synthesize

    return synthesize(store, make_synthesizer(**args["synthesizer"]), seed=args["seed"], only=set(args["only"])).summary()


def _verify(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    from .synth.verify import verify

    solver = make_solver(**args["solver"]) if args.get("solver") else None
    report = verify(store, threshold=args["threshold"], solver=solver, only=set(args["only"]), duplicates=False)
    return {"tasks": report.tasks}


def _eval(store: Store, args: dict[str, Any]) -> dict[str, Any]:
    from .evaluation import EvalSettings, evaluate, make_agent

    eval_id = evaluate(store, make_agent(**args["agent"]), EvalSettings(**args["settings"]),
                       concurrency=args["concurrency"], only=set(args["only"]), dataset=tuple(args["dataset"]))
    return {"eval_id": eval_id}


STAGE_WORK: dict[str, Work] = {
    "discover": _discover, "explore": _explore, "synthesize": _synthesize, "verify": _verify, "eval": _eval,
}


def make_synthesizer(name: str, seed: int, max_tasks: int | None = None, base_url: str | None = None,
                     model: str | None = None, timeout: float = 120.0, concurrency: int = 1) -> Any:
    """A synthesizer from its description (what a shard is sent: a model client is not)."""
    from .synth.offline import OfflineSynthesizer

    extra = {"max_tasks": max_tasks} if max_tasks else {}
    if name == "offline":
        return OfflineSynthesizer(seed=seed, **extra)
    if name == "llm":
        from .llm import LLM
        from .synth.llm import LLMSynthesizer

        return LLMSynthesizer(LLM.for_purpose("the llm synthesizer", base_url=base_url, model=model, timeout=timeout),
                              seed=seed, concurrency=concurrency, **extra)
    raise FireflyError(f"unknown synthesizer {name!r}; use offline or llm")


def make_solver(base_url: str | None, model: str | None, timeout: float, max_turns: int) -> Any:
    from .llm import LLM
    from .synth.solve import Solver

    return Solver(LLM.for_purpose("the solvable verifier", base_url=base_url, model=model, timeout=timeout),
                  max_turns=max_turns)


# -- what each stage's shards are --------------------------------------------------------------


def discover_shards(store: Store, names: list[str] | None) -> list[Shard]:
    from .discovery import registered

    return chunks([(r.name, frozenset([r.name])) for r in registered(store, names)], 1, "server")


def explore_shards(store: Store, policy: str, seed: int, limit: int | None, size: int = 1) -> list[Shard]:
    from .explore.stage import pending_dags

    return chunks([(dag_id, frozenset(t["server"] for t in tools))
                   for dag_id, tools in pending_dags(store, policy, seed, limit)], size, "dag")


def synthesize_shards(store: Store, synthesizer: str, limit: int | None, size: int = 1) -> list[Shard]:
    from .synth.stage import pending_explorations

    ids = pending_explorations(store, synthesizer, limit)
    servers = _servers_of(store, "SELECT exploration_id, server FROM calls WHERE exploration_id IN ({})", ids)
    return chunks([(x, servers.get(x, frozenset())) for x in ids], size, "exploration")


def task_shards(store: Store, ids: list[str], size: int) -> list[Shard]:
    """Shards of tasks (verification, evaluation): they use no server (the simulator answers)."""
    return chunks([(t, frozenset()) for t in ids], size, "task")


def unverified_tasks(store: Store) -> list[str]:
    """The tasks verify gives verdicts to next (:func:`~firefly.synth.verify.lacking`)."""
    from .synth.verify import lacking

    store.catch_up()
    return [task_id for (task_id,) in lacking(store)]


def _servers_of(store: Store, sql: str, ids: list[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        for key, server in store.conn.execute(sql.format(",".join("?" * len(part))), part):
            out.setdefault(key, set()).add(server)
    return {k: frozenset(v) for k, v in out.items()}


def per_worker(count: int, cluster: Cluster, target: int = 4) -> int:
    """Items per shard so that each worker gets about ``target`` shards (one item at least)."""
    workers = cluster.workers or max(1, int(cluster.local_cpus // max(cluster.num_cpus, 0.001)))
    return max(1, count // max(1, workers * target))


# -- each stage on the cluster (what the CLI and ``firefly run`` call) ---------------------------


def discover_on(store: Store, cluster: Cluster, names: list[str] | None, *, connect_timeout: float,
                call_timeout: float, on_shard: OnShard | None = None) -> ShardReport:
    args = {"connect_timeout": connect_timeout, "call_timeout": call_timeout}
    return run_shards(store, cluster, "discover", discover_shards(store, names), args, on_shard)


def explore_on(store: Store, cluster: Cluster, policy: dict[str, Any], policy_name: str, *, seed: int,
               dags: int | None, call_timeout: float, connect_timeout: float, max_result_bytes: int,
               on_shard: OnShard | None = None) -> ShardReport:
    """``policy``: :func:`~firefly.explore.stage.make_policy`'s arguments (each worker makes its own)."""
    args = {"policy": policy, "seed": seed, "concurrency": 1, "call_timeout": call_timeout,
            "connect_timeout": connect_timeout, "max_result_bytes": max_result_bytes}
    return run_shards(store, cluster, "explore", explore_shards(store, policy_name, seed, dags), args, on_shard)


def synthesize_on(store: Store, cluster: Cluster, synthesizer: dict[str, Any], synthesizer_name: str, *,
                  seed: int, explorations: int | None, on_shard: OnShard | None = None) -> ShardReport:
    """``synthesizer``: :func:`make_synthesizer`'s arguments."""
    shards = synthesize_shards(store, synthesizer_name, explorations)
    return run_shards(store, cluster, "synthesize", shards, {"synthesizer": synthesizer, "seed": seed}, on_shard)


def verify_on(store: Store, cluster: Cluster, *, threshold: float, solver: dict[str, Any] | None = None,
              on_shard: OnShard | None = None, **final: Any) -> ShardReport:
    """The shards give every verdict but not-duplicate and diverse; then this process gives
    those two over every task (the tasks of earlier runs too, as one process does) and appends
    each task's verdicts together. ``final``: the rest of :func:`~firefly.synth.verify.verify`'s options for that
    pass (``per_template``, ``per_tool_answer``, ``judge``: the LLM judge runs here)."""
    from .events import TaskVerdict, decode
    from .synth.verify import verify

    ids = unverified_tasks(store)
    shards = task_shards(store, ids, per_worker(len(ids), cluster))
    report = run_shards(store, cluster, "verify", shards, {"threshold": threshold, "solver": solver}, on_shard,
                        keep=True)
    given = {}
    for row in report.kept:
        event = decode(row[6])
        if isinstance(event, TaskVerdict):
            given[(event.task_id, event.verifier)] = (event.passed, list(event.reasons))
    failed = {item for shard in shards if shard.key in {f[0] for f in report.failed} for item in shard.items}
    final = verify(store, threshold=threshold, only={t for t in ids if t not in failed}, given=given, **final)
    report.totals.update(final.summary())
    return report


def eval_on(store: Store, cluster: Cluster, agent: dict[str, Any], settings: Any, *, concurrency: int,
            on_shard: OnShard | None = None, record_to: Store | None = None) -> ShardReport:
    """Each worker plays its tasks' episodes against its own copy of the database, read
    through :class:`~firefly.env.FireflyEnv` as a trainer's rollout workers do. ``record_to``:
    the episodes go to that database (the evaluation names ``store`` as its dataset, as
    :func:`~firefly.evaluation.evaluate` does), ``store`` is only read."""
    from .evaluation import dataset_reference, eval_id_of, make_agent, tasks_to_evaluate

    store.catch_up()
    results = store if record_to is None else record_to
    dataset = ("", "") if record_to is None else dataset_reference(store)
    eval_id = eval_id_of(make_agent(**agent), settings, dataset)
    results.catch_up()
    played = {t for (t,) in results.conn.execute(
        "SELECT task_id FROM episodes WHERE eval_id = ? GROUP BY task_id HAVING count(*) >= ?", (eval_id, settings.samples))}
    ids = [t for t in tasks_to_evaluate(store, settings) if t not in played]
    args = {"agent": agent, "settings": dict(settings.__dict__), "concurrency": concurrency, "dataset": list(dataset)}
    report = run_shards(store, cluster, "eval", task_shards(store, ids, per_worker(len(ids), cluster)), args, on_shard,
                        into=record_to)
    report.totals["eval_id"] = eval_id
    return report


# -- rollouts at scale -----------------------------------------------------------------------


class RolloutWorker:
    """The pattern RL trainers (verl, SkyRL) use for rollouts: many Ray actors, each opening
    the shipped ``.db`` read-only through :class:`~firefly.env.FireflyEnv` (the same file on
    a shared disk, or a copy on its node: the simulator only reads it)::

        Worker = ray.remote(num_cpus=1)(RolloutWorker)
        workers = [Worker.remote("dataset.db", split="train") for _ in range(64)]
        batches = ray.get([w.rollout.remote(ids[i::64], {"kind": "oracle"}) for i, w in enumerate(workers)])

    Nothing is written: an episode's reward comes back to the trainer, not to the file."""

    def __init__(self, db: str, split: str | None = None, mode: str = "strict", max_turns: int = 8):
        from .env import FireflyEnv

        self.env = FireflyEnv(db, split=split, mode=mode, max_turns=max_turns)

    def task_ids(self) -> list[str]:
        return list(self.env.task_ids)

    def rollout(self, task_ids: list[str], agent: dict[str, Any]) -> list[tuple[str, float]]:
        """Play each task once with the agent (:func:`~firefly.evaluation.make_agent`'s
        arguments): (task id, reward) in order."""
        from .evaluation import make_agent

        player = make_agent(**agent)
        out = []
        for task_id in task_ids:
            player.play(self.env, self.env.reset(task_id))
            assert self.env.episode is not None
            out.append((task_id, float(self.env.episode.reward)))
        return out

    def close(self) -> None:
        self.env.close()
