"""Benchmark the graph stage and sub-DAG sampling on the 6,041-tool Smithery catalog.

Into a fresh database, it imports the catalog, then times each step of the graph stage with
every tool in scope (``include_catalog``):

* embedding every tool with the built-in hashed embedder (and the size of the recorded vectors);
* building the usearch index, saving it beside the database and reopening it memory-mapped;
* recall@10 of the usearch neighbours against exact numpy brute force (every tool a query);
  goal: at least 0.95;
* finding candidate pairs, judging them with the rules judge, loading the networkx graph;
* sampling 1,000 sub-DAGs over the catalog graph (sizes, coverage, all acyclic);
* running the whole stage again, which must write no event (idempotent);
* rebuilding the graph projections from the log, which must give the same tables.

Run from the repository root:

    .venv/bin/python scripts/bench_graph.py
    .venv/bin/python scripts/bench_graph.py --catalog path/to/catalog.jsonl --dags 500 --keep /tmp/firefly-graph
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np

from firefly.catalog import import_catalog
from firefly.embed import HashedEmbedder, embed_tools
from firefly.graph import RulesJudge, build_graph, find_candidates, graph_stats, judge_candidates, load_graph
from firefly.sample import sample_dags
from firefly.store import Store
from firefly.vectors import ToolIndex

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = REPO.parent / "shared" / "catalogs" / "smithery-870-servers.jsonl"
RECALL_GOAL = 0.95
K = 10


def say(text: str = "") -> None:
    print(text, flush=True)


class Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self) -> float:
        now = time.perf_counter()
        took, self.started = now - self.started, now
        return took


def recall_at_k(index: ToolIndex, k: int) -> tuple[float, float, float, float]:
    """(strict recall, tie-aware recall, usearch seconds, brute-force seconds) with every
    indexed tool as a query. Tie-aware counts a neighbour as right when its exact similarity
    reaches the k-th best exact similarity (copies of one tool on many servers tie)."""
    keys = [e.key for e in index.entries]
    clock = Clock()
    approx = index.neighbours(keys, k)
    t_usearch = clock()
    vectors = index.vectors
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    top = np.argpartition(-sims, k, axis=1)[:, :k]
    t_brute = clock()
    strict = tie = 0
    for i, key in enumerate(keys):
        exact_keys = {keys[j] for j in top[i]}
        kth = sims[i][top[i]].min()
        found = approx[key]
        strict += len({other for other, _ in found} & exact_keys)
        tie += sum(1 for other, _ in found if sims[i][index.row_of[other]] >= kth - 1e-3)
    total = k * len(keys)
    return strict / total, tie / total, t_usearch, t_brute


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the graph stage and sub-DAG sampling on an offline catalog.")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help=f"JSONL catalog (default {DEFAULT_CATALOG})")
    parser.add_argument("--dags", type=int, default=1000, help="sub-DAGs to sample (default 1000)")
    parser.add_argument("--keep", type=Path, help="write the database into this folder and keep it")
    args = parser.parse_args(argv)
    if not args.catalog.is_file():
        print(f"error: catalog {args.catalog} not found (use --catalog PATH)", file=sys.stderr)
        return 2
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="firefly-bench-graph-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for old in root.glob("graph.db*"):
            old.unlink()
        db = root / "graph.db"
        say(f"firefly graph benchmark: {args.catalog.name}, database {db}{'' if args.keep else ' (removed at the end)'}")
        clock = Clock()
        with Store.open(db) as store:
            report = import_catalog(store, args.catalog)
            say(f"  catalog import            {clock():7.2f} s   {report.tools} tools of {report.servers} servers")

            embedder = HashedEmbedder()
            embedded = embed_tools(store, embedder, include_catalog=True)
            t = clock()
            vector_bytes = store.conn.execute("SELECT sum(length(payload)) FROM events WHERE type = 'embedded'").fetchone()[0]
            say(f"  embed (hashed, 512 x f16) {t:7.2f} s   {embedded.embedded} tools, {embedded.embedded / t:,.0f} tools/s,"
                f" {vector_bytes / 1e6:.1f} MB of events ({vector_bytes / max(embedded.embedded, 1):,.0f} B each)")

            index = ToolIndex.open(store, embedder.name)
            t = clock()
            say(f"  usearch build + save      {t:7.2f} s   {len(index)} vectors, file {index.path.stat().st_size / 1e6:.1f} MB")
            index = ToolIndex.open(store, embedder.name)
            t = clock()
            say(f"  reopen (memory-mapped)    {t:7.2f} s   rebuilt: {index.rebuilt}")

            strict, tie, t_usearch, t_brute = recall_at_k(index, K)
            clock()
            say(f"  recall@{K} vs brute force   {tie:.4f}      (strict set overlap {strict:.4f}; usearch {t_usearch:.2f} s,"
                f" numpy {t_brute:.2f} s for {len(index)} queries)")
            if tie < RECALL_GOAL:
                problems.append(f"recall@{K} {tie:.4f} is below {RECALL_GOAL}")

            candidates = find_candidates(store, index, include_catalog=True)
            t = clock()
            say(f"  candidates                {t:7.2f} s   {candidates.pairs:,} pairs ({candidates.pairs / len(index):.1f} per tool)")

            judged = judge_candidates(store, RulesJudge(), include_catalog=True)
            t = clock()
            say(f"  rules judge               {t:7.2f} s   {judged.judged:,} pairs, {judged.judged / t:,.0f} pairs/s,"
                f" {judged.accepted:,} with an edge")

            graph = load_graph(store, include_catalog=True)
            stats = graph_stats(graph)
            t = clock()
            say(f"  load graph (networkx)     {t:7.2f} s   " + ", ".join(f"{k.replace('_', ' ')} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in stats.items()))

            sampled = sample_dags(store, args.dags, seed=0, include_catalog=True)
            t = clock()
            sizes = ", ".join(f"{n}: {c}" for n, c in sorted(sampled.sizes.items()))
            say(f"  sample {args.dags} DAGs          {t:7.2f} s   sizes {{{sizes}}}; {sampled.tools_covered:,} of"
                f" {sampled.tools_with_edges:,} tools with edges covered ({sampled.tools_covered / max(sampled.tools_with_edges, 1):.0%})")
            if sampled.sampled != args.dags:
                problems.append(f"sampled {sampled.sampled} DAGs, wanted {args.dags}: {sampled.exhausted}")
            dags = [r.event for r in store.read(types=["dag-sampled"])]
            cyclic = sum(
                1 for d in dags
                if not nx.is_directed_acyclic_graph(nx.DiGraph([(d.tools[i].name + d.tools[i].server, d.tools[j].name + d.tools[j].server) for i, j in d.edges]))
            )
            servers = Counter(len({t.server for t in d.tools}) for d in dags)
            say(f"                                        {len({d.dag_id for d in dags})} distinct, {cyclic} with a cycle;"
                f" servers per DAG {dict(sorted(servers.items()))}")
            if cyclic:
                problems.append(f"{cyclic} sampled DAGs have a cycle")

            head = store.head()
            again = build_graph(store, include_catalog=True, embedder=embedder)
            t = clock()
            written = store.head() - head
            say(f"  whole stage again         {t:7.2f} s   {written} events written (embedded {again.embed.embedded},"
                f" judged {again.judge.judged})")
            if written:
                problems.append(f"re-running the graph stage wrote {written} events")

            tables = ("embeddings", "edge_candidates", "edge_verdicts", "edges", "dags", "dag_tools")

            def dump() -> dict[str, list[tuple]]:
                return {t: store.conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2, 3").fetchall() for t in tables}

            before = dump()
            clock()
            store.rebuild()
            t = clock()
            same = dump() == before
            say(f"  rebuild all projections   {t:7.2f} s   {store.head():,} events; graph tables identical: {same}")
            if not same:
                problems.append("rebuilding the projections changed the graph tables")
    for problem in problems:
        say(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
