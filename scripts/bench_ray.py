"""The same exploration in one process and on a local Ray cluster: what scales with workers.

    python scripts/bench_ray.py --dags 8 --workers 2 [--registry default] [--out DIR]

Builds one database over the bundled servers (register, discover, graph, sample N DAGs; not
timed), then explores its N DAGs twice from copies of it: in one process (one exploration
at a time) and as shards on a local Ray cluster of ``--workers`` workers (loopback, one
exploration per worker at a time). Prints wall time and tool calls per second side by side,
the cluster's start-up, and what merging costs: the driver appending the shards' events
(per event) and ``firefly merge`` of the whole file (per event).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

from firefly.distributed import Cluster, explore_on, import_ray, start_local
from firefly.explore.stage import explore, make_policy
from firefly.merge import merge
from firefly.pipeline import STAGES, RunOptions, run_pipeline
from firefly.resources import find_registry
from firefly.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ray = import_ray()  # before the pipeline loads usearch: Ray's runtime aborts when it comes second
    parser.add_argument("--dags", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--registry", default="default")
    parser.add_argument("--out", type=Path, default=None, help="Folder for the databases (default: a temporary one).")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="firefly-bench-ray-"))
    out.mkdir(parents=True, exist_ok=True)
    base = out / "sampled.db"
    if not base.exists():
        with Store.open(base) as store:
            run_pipeline(store, RunOptions(registry=find_registry(args.registry), dags=args.dags, seed=args.seed),
                         Console(stderr=True), stages=[s for s in STAGES if s[0] in ("register", "discover", "graph", "sample")])

    one = out / "one.db"
    shutil.copyfile(base, one)
    with Store.open(one) as store, store.run("explore", {"bench": "one process"}):
        started = time.perf_counter()
        report = explore(store, make_policy("offline"), seed=args.seed, concurrency=1)
        one_wall = time.perf_counter() - started
    one_calls = report.calls

    started = time.perf_counter()
    start_local(ray, args.workers)
    startup = time.perf_counter() - started
    try:
        sharded = out / "ray.db"
        shutil.copyfile(base, sharded)
        cluster = Cluster(workers=args.workers, local_cpus=args.workers)
        with Store.open(sharded) as store, store.run("explore", {"bench": "ray"}):
            started = time.perf_counter()
            shards = explore_on(store, cluster, {"name": "offline"}, make_policy("offline").name, seed=args.seed,
                                dags=None, call_timeout=30.0, connect_timeout=300.0, max_result_bytes=64_000)
            ray_wall = time.perf_counter() - started
    finally:
        ray.shutdown()
    ray_calls = shards.totals.get("calls", 0)

    merged = out / "merged.db"
    started = time.perf_counter()
    report_merge = merge([sharded], merged, force=True)
    merge_wall = time.perf_counter() - started
    events = sum(report_merge.inputs.values())

    print(f"{args.dags} DAGs over the bundled servers ({args.registry}); seed {args.seed}; databases in {out}")
    print(f"{'':24}{'wall s':>10}{'calls':>8}{'calls/s':>10}")
    print(f"{'one process':24}{one_wall:>10.1f}{one_calls:>8}{one_calls / one_wall:>10.2f}")
    print(f"{f'Ray, {args.workers} workers':24}{ray_wall:>10.1f}{ray_calls:>8}{ray_calls / ray_wall:>10.2f}"
          f"   (+{startup:.1f} s to start the cluster)")
    print(f"speed-up: {one_wall / ray_wall:.2f}x; {shards.shards} shard(s), {len(shards.failed)} failed")
    per_absorb = shards.merge_seconds / shards.read * 1e6 if shards.read else 0.0
    print(f"driver's merge of shard events: {shards.read} events in {shards.merge_seconds:.2f} s"
          f" ({per_absorb:.0f} µs per event, projections included)")
    print(f"firefly merge of the whole file: {events} events in {merge_wall:.2f} s"
          f" ({merge_wall / max(events, 1) * 1e6:.0f} µs per event, projections rebuilt)")


if __name__ == "__main__":
    main()
