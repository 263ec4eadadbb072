"""``firefly run``: every stage in order under one progress display.

Each stage is resumable on its own (its facts carry idempotency keys, and a stage only does
what the log does not already hold), so the pipeline is resumable at any point: killing it
and running it again with the same options ends with the same data as one uninterrupted run.

Stages, in order: register (only when no server is registered), discover, graph (embed,
index, candidates, judge), sample, explore, synthesize (tasks written backward from the
recorded calls), verify, split. Every stage runs inside ``store.run(...)`` so the log records what ran with which
options and how it ended (``firefly run`` itself is not a run: its stages are).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .errors import FireflyError
from .store import Store


@dataclass
class RunOptions:
    """What ``firefly run`` was asked to do; each stage records the options it uses in its run."""

    registry: Path | None = None
    dags: int = 200
    seed: int = 0
    concurrency: int = 4
    connect_timeout: float = 300.0
    call_timeout: float = 30.0
    max_result_bytes: int = 64_000
    test_fraction: float = 0.2
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_timeout: float = 120.0
    llm_concurrency: int = 4
    explorations: int | None = None  # explore only the first N DAGs (sample order): a budget for a slow model
    cluster: Any = None  # a firefly.distributed.Cluster: discover, explore, synthesize and verify run as Ray shards

    @property
    def uses_llm(self) -> bool:
        return bool(self.llm_base_url or self.llm_model)


@dataclass
class StageResult:
    name: str
    summary: dict[str, Any] = field(default_factory=dict)
    line: str = ""


class Display:
    """One progress display for the whole pipeline: a row per stage, messages above."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description:<11}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=console, transient=False,
        )
        self.rows: dict[str, TaskID] = {}

    def __enter__(self) -> Display:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def row(self, name: str, total: int | None = None) -> TaskID:
        if name not in self.rows:
            self.rows[name] = self.progress.add_task(name, total=total, note="", start=False)
        return self.rows[name]

    def _start(self, name: str) -> TaskID:
        task = self.row(name)
        if self.progress.tasks[task].start_time is None:
            self.progress.start_task(task)
        return task

    def update(self, name: str, done: int, total: int | None = None, note: str | None = None) -> None:
        fields: dict[str, Any] = {"completed": done}
        if total is not None:
            fields["total"] = total
        if note is not None:
            fields["note"] = escape(note)
        self.row(name, total)
        self.progress.update(self._start(name), **fields)

    def finish(self, name: str, note: str) -> None:
        task = self._start(name)
        total = self.progress.tasks[task].total
        if total is None:
            self.progress.update(task, total=1, completed=1)
        else:
            self.progress.update(task, completed=total)
        self.progress.update(task, note=escape(note))

    def say(self, text: str) -> None:
        self.progress.console.print(text)


Stage = Callable[[Store, RunOptions, Display], StageResult]


# -- stages ------------------------------------------------------------------------------------


def stage_register(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .registry import load_registry, register
    from .resources import bundled_registry

    store.catch_up()
    has_servers = store.conn.execute(
        "SELECT count(*) FROM servers WHERE callable = 1 AND status != 'removed'"
    ).fetchone()[0]
    if opts.registry is None and has_servers:
        display.finish("register", f"{has_servers} server(s) already registered")
        return StageResult("register", {"servers": has_servers})
    path = opts.registry or bundled_registry()
    with store.run("servers import", {"file": str(path)}):
        report = register(store, load_registry(path), source=str(path))
    added = sum(1 for outcome in report.values() if outcome != "unchanged")
    display.finish("register", f"{len(report)} server(s) from {path.name}")
    return StageResult("register", {"file": str(path), "servers": len(report), "added_or_changed": added})


def stage_discover(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .discovery import discover, registered

    regs = registered(store)
    if not regs:
        raise FireflyError("no callable servers registered; try: firefly servers import data/servers.json")
    display.update("discover", 0, len(regs))
    done = [0]

    def on_server(listing: Any) -> None:
        done[0] += 1
        if listing.error:
            display.say(f"  [red]✗[/red] {escape(listing.server)}: {escape(listing.error.message)}")
        display.update("discover", done[0], note=f"{listing.server}")

    options = {"servers": "all", "connect_timeout": opts.connect_timeout, "call_timeout": opts.call_timeout}
    if opts.cluster is not None:
        from .distributed import discover_on

        return _sharded(store, "discover", {**options, "ray": opts.cluster.address}, display, lambda on_shard: discover_on(
            store, opts.cluster, None, connect_timeout=opts.connect_timeout, call_timeout=opts.call_timeout,
            on_shard=on_shard))
    with store.run("discover", options) as summary:
        report = discover(store, connect_timeout=opts.connect_timeout, call_timeout=opts.call_timeout,
                          concurrency=6, on_server=on_server)
        summary.update(report.summary())
    note = f"{len(report.connected)} server(s), {report.tools_listed} tools; {len(report.failed)} failed"
    display.finish("discover", note)
    return StageResult("discover", report.summary(), note)


def _sharded(store: Store, stage: str, options: dict[str, Any], display: Display, work: Any) -> StageResult:
    """A stage's run on a Ray cluster: its row counts shards; a failed shard is a line above."""
    with store.run(stage, options) as summary:
        report = work(lambda done, total, note: display.update(stage, done, total, note=note))
        summary.update(report.summary())
    for shard, worker, error in report.failed:
        display.say(f"  [red]✗[/red] shard {escape(shard)} on {escape(worker)}: {escape(error)}")
    display.finish(stage, report.note())
    return StageResult(stage, report.summary(), report.note())


def stage_graph(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .embed import HashedEmbedder
    from .graph import LLMJudge, RulesJudge, build_graph

    if opts.uses_llm:
        judge: Any = LLMJudge(llm_client(opts, "the LLM judge"), concurrency=opts.llm_concurrency)
    else:
        judge = RulesJudge()
    options = {"judge": "llm" if opts.uses_llm else "rules", "embedder": "hashed", "llm_concurrency": opts.llm_concurrency}

    def progress(step: str, done: int, total: int) -> None:
        display.update("graph", done, total, note=step)

    with store.run("graph build", options) as summary:
        report = build_graph(store, embedder=HashedEmbedder(), judge=judge, progress=progress)
        summary.update(report.summary())
    stats = report.stats
    note = f"{stats.get('edges', 0)} edges over {stats.get('tools_with_edges', stats.get('nodes', 0))} tools"
    if report.judge.failed:
        note += f"; {report.judge.failed} pair(s) left unjudged"
    display.finish("graph", note)
    return StageResult("graph", report.summary(), note)


def stage_sample(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .sample import sample_dags

    options = {"count": opts.dags, "seed": opts.seed}
    with store.run("sample", options) as summary:
        report = sample_dags(store, opts.dags, seed=opts.seed,
                             progress=lambda done, total: display.update("sample", done, total))
        summary.update(report.summary())
    if not report.tools_with_edges and not report.singles:
        raise FireflyError("the tool graph has no tools to sample from; check `firefly graph stats`")
    note = (f"{report.sampled + report.existing} DAGs; {report.tools_covered}/{report.tools_with_edges} tools covered;"
            f" {report.singles} one-tool DAG(s)")
    if report.exhausted:
        display.say(f"[yellow]sampling stopped early:[/yellow] {escape(report.exhausted)}")
    display.finish("sample", note)
    return StageResult("sample", report.summary(), note)


def llm_client(opts: RunOptions, purpose: str) -> Any:
    from .llm import LLM

    return LLM.for_purpose(purpose, base_url=opts.llm_base_url, model=opts.llm_model, timeout=opts.llm_timeout)


def explorer_spec(opts: RunOptions) -> dict[str, Any]:
    """The arguments of the explorer policy ``firefly run`` uses: the LLM explorer when a model is given."""
    return {"name": "llm" if opts.uses_llm else "offline", "base_url": opts.llm_base_url, "model": opts.llm_model,
            "timeout": opts.llm_timeout}


def explorer_policy(opts: RunOptions) -> Any:
    from .explore.stage import make_policy

    return make_policy(**explorer_spec(opts))


def stage_explore(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .explore.stage import explore, pending_dags

    policy = explorer_policy(opts)
    only = first_dags(store, opts.explorations)
    todo = len(pending_dags(store, policy.name, opts.seed, None, only))
    if not todo:
        display.finish("explore", "nothing left to explore")
        return StageResult("explore", {})
    display.update("explore", 0, todo)
    options = {"policy": policy.name, "concurrency": opts.concurrency, "seed": opts.seed, "explorations": opts.explorations}
    if opts.cluster is not None:
        if only is not None:
            raise FireflyError("--explorations cannot be combined with --ray yet: leave it out to explore every DAG")
        from .distributed import explore_on

        return _sharded(store, "explore", {**options, "ray": opts.cluster.address}, display, lambda on_shard: explore_on(
            store, opts.cluster, explorer_spec(opts), policy.name, seed=opts.seed, dags=None,
            call_timeout=opts.call_timeout, connect_timeout=opts.connect_timeout,
            max_result_bytes=opts.max_result_bytes, on_shard=on_shard))
    with store.run("explore", options) as summary:
        report = explore(
            store, policy, seed=opts.seed, concurrency=opts.concurrency, call_timeout=opts.call_timeout,
            connect_timeout=opts.connect_timeout, max_result_bytes=opts.max_result_bytes,
            on_exploration=lambda dag, done, total: display.update("explore", done, total), only=only,
        )
        summary.update(report.summary())
    rate = report.successes / report.calls if report.calls else 0.0
    note = f"{report.finished} explored ({report.failed} failed); {report.calls} calls, {rate:.0%} ok"
    display.finish("explore", note)
    return StageResult("explore", report.summary(), note)


def first_dags(store: Store, count: int | None) -> set[str] | None:
    """The first ``count`` DAGs of the callable scope in the order they were sampled (the
    sampled ones, then the one-tool ones), or None for every DAG. The same count names the
    same DAGs on a re-run, so a run under this limit is resumable and a re-run has nothing new."""
    if count is None:
        return None
    store.catch_up()
    rows = store.conn.execute(
        "SELECT dag_id FROM dags WHERE scope = 'callable' ORDER BY position LIMIT ?", (max(0, count),)).fetchall()
    return {r[0] for r in rows}


def stage_survey(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .explore.survey import survey

    options = {"concurrency": opts.concurrency}
    with store.run("survey", options) as summary:
        report = survey(store, concurrency=opts.concurrency, call_timeout=opts.call_timeout,
                        connect_timeout=opts.connect_timeout, max_result_bytes=opts.max_result_bytes,
                        on_server=lambda server, done, total: display.update("survey", done, total, note=server))
        summary.update(report.summary())
    if not report.surveyed:
        display.finish("survey", f"{report.servers} server(s) already surveyed")
        return StageResult("survey", report.summary())
    note = (f"{report.surveyed} server(s): {report.successes}/{report.calls} calls ok,"
            f" {report.resources} resource(s), {report.prompts} prompt(s)")
    display.finish("survey", note)
    return StageResult("survey", report.summary(), note)


def stage_synthesize(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .distributed import make_synthesizer
    from .synth.stage import pending_explorations, synthesize

    spec = {"name": "llm" if opts.uses_llm else "offline", "seed": opts.seed, "base_url": opts.llm_base_url,
            "model": opts.llm_model, "timeout": opts.llm_timeout, "concurrency": opts.llm_concurrency}
    synth = make_synthesizer(**spec)
    todo = len(pending_explorations(store, synth.name))
    if not todo:
        display.finish("synthesize", "nothing left to synthesize from")
        return StageResult("synthesize", {})
    display.update("synthesize", 0, todo)
    if opts.cluster is not None:
        from .distributed import synthesize_on

        options = {"synthesizer": synth.name, "seed": opts.seed, "ray": opts.cluster.address}
        return _sharded(store, "synthesize", options, display, lambda on_shard: synthesize_on(
            store, opts.cluster, spec, synth.name, seed=opts.seed, explorations=None, on_shard=on_shard))
    with store.run("synthesize", {"synthesizer": synth.name, "seed": opts.seed, "llm_concurrency": opts.llm_concurrency}) as summary:
        report = synthesize(store, synth, seed=opts.seed,
                            on_exploration=lambda xid, done, total: display.update("synthesize", done, total))
        summary.update(report.summary())
    note = f"{report.tasks} task(s) from {report.explorations} exploration(s)"
    if report.failures:
        note += f"; {report.failures} failure(s)"
    display.finish("synthesize", note)
    return StageResult("synthesize", report.summary(), note)


def stage_verify(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .synth.verify import DEFAULT_THRESHOLD, lacking, verify

    store.catch_up()
    pending = len(lacking(store))
    if not pending:
        display.finish("verify", "nothing left to verify")
        return StageResult("verify", {})
    display.update("verify", 0, pending)
    if opts.cluster is not None:
        from .distributed import verify_on

        return _sharded(store, "verify", {"solvable": False, "ray": opts.cluster.address}, display, lambda on_shard: verify_on(
            store, opts.cluster, threshold=DEFAULT_THRESHOLD, on_shard=on_shard))
    with store.run("verify", {"solvable": False}) as summary:
        report = verify(store, on_task=lambda tid, done, total: display.update("verify", done, total))
        summary.update(report.summary())
    note = f"{report.verified} of {report.tasks} verified"
    display.finish("verify", note)
    return StageResult("verify", report.summary(), note)


def stage_split(store: Store, opts: RunOptions, display: Display) -> StageResult:
    from .synth.split import assign_splits

    with store.run("split", {"test_fraction": opts.test_fraction, "seed": opts.seed}) as summary:
        report = assign_splits(store, test_fraction=opts.test_fraction, seed=opts.seed)
        summary.update(report.summary())
    note = f"{report.totals['train']} train, {report.totals['test']} test"
    if report.note is not None:
        note += f" ({report.note})"
    display.finish("split", note)
    return StageResult("split", report.summary(), note)


STAGES: list[tuple[str, Stage]] = [
    ("register", stage_register),
    ("discover", stage_discover),
    ("graph", stage_graph),
    ("sample", stage_sample),
    ("survey", stage_survey),
    ("explore", stage_explore),
    ("synthesize", stage_synthesize),
    ("verify", stage_verify),
    ("split", stage_split),
]


def run_pipeline(store: Store, opts: RunOptions, console: Console,
                 stages: list[tuple[str, Stage]] | None = None) -> list[StageResult]:
    """Run every stage in order; a stage that raises stops the pipeline (the log stays consistent)."""
    chosen = stages if stages is not None else STAGES
    results: list[StageResult] = []
    with contextlib.ExitStack() as stack, Display(console) as display:
        if opts.cluster is not None:  # one cluster for every stage
            stack.enter_context(opts.cluster.connect())
        for name, _ in chosen:
            display.row(name)
        for name, stage in chosen:
            results.append(stage(store, opts, display))
    return results

