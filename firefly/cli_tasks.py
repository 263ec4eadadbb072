"""``firefly synthesize``, ``firefly verify`` and ``firefly split``: tasks from explorations.

Registered on the main app by :func:`register`; the work is in :mod:`firefly.synth`.
Questions may come from a model: they are escaped when printed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import typer
from rich.markup import escape

from .cli_common import (
    DbOption, LlmConcurrencyOption, RayOption, WaitOption, cluster_of, console, err_console, handle_errors, open_store, progress_bar, sharded_run,
)
from .store import Store

BaseUrlOption = Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL).")]
ModelOption = Annotated[Optional[str], typer.Option(help="Chat model (default: $FIREFLY_LLM_MODEL).")]
TimeoutOption = Annotated[float, typer.Option(help="Seconds allowed for each LLM request.")]


def register(app: typer.Typer) -> None:
    app.command("synthesize")(synthesize)
    app.command("verify")(verify)
    app.command("split")(split)


@handle_errors
def synthesize(
    synthesizer: Annotated[Literal["offline", "llm"], typer.Option(help="offline (templates over the recorded calls, no LLM) or llm (a model writes the questions; labels still come from the recorded values).")] = "offline",
    explorations: Annotated[Optional[int], typer.Option(help="Synthesize from at most this many pending explorations (default: all).")] = None,
    max_tasks: Annotated[Optional[int], typer.Option(help="Tasks kept per exploration (default: 12 offline, besides state changes; 4 llm).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the template and phrasing choices.")] = 0,
    llm_base_url: BaseUrlOption = None,
    llm_model: ModelOption = None,
    timeout: TimeoutOption = 120.0,
    llm_concurrency: LlmConcurrencyOption = 4,
    ray: RayOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Write tasks backward from every finished exploration (lookup, multi-hop, aggregate,
    state change), each with its label, match rule, reference trajectory and provenance.

    Resumable: explorations already synthesized are skipped.
    """
    cluster = cluster_of(ray)
    with open_store(db, writer="synthesize", wait=wait) as store:
        run_synthesize(store, synthesizer, explorations, max_tasks, seed, llm_base_url, llm_model, timeout, cluster,
                       llm_concurrency)


def run_synthesize(store: Store, synthesizer: str = "offline", explorations: int | None = None, max_tasks: int | None = None,
                   seed: int = 0, llm_base_url: str | None = None, llm_model: str | None = None,
                   timeout: float = 120.0, cluster: Any = None, llm_concurrency: int = 1) -> dict[str, Any]:
    from .distributed import make_synthesizer
    from .synth.stage import pending_explorations
    from .synth.stage import synthesize as run

    spec = {"name": synthesizer, "seed": seed, "max_tasks": max_tasks, "base_url": llm_base_url, "model": llm_model,
            "timeout": timeout, "concurrency": llm_concurrency}
    synth = make_synthesizer(**spec)
    todo = len(pending_explorations(store, synth.name, explorations))
    if not todo:
        console.print("No finished explorations left to synthesize from. Explore some first: firefly explore")
        return {}
    options = {"synthesizer": synth.name, "explorations": explorations, "max_tasks": max_tasks, "seed": seed}
    if cluster is not None:
        from .distributed import synthesize_on

        return sharded_run(store, "synthesize", {**options, "ray": cluster.address}, lambda on_shard: synthesize_on(
            store, cluster, spec, synth.name, seed=seed, explorations=explorations, on_shard=on_shard))
    with store.run("synthesize", options) as summary, progress_bar() as bar:
        task = bar.add_task("synthesize", total=todo, note="")
        report = run(store, synth, explorations=explorations, seed=seed,
                     on_exploration=lambda xid, done, total: bar.update(task, completed=done))
        summary.update(report.summary())
    kinds = ", ".join(f"{k}: {n}" for k, n in sorted(report.kinds.items()))
    console.print(f"synthesized {report.tasks} task(s) from {report.explorations} exploration(s) ({kinds or 'none'});"
                  f" {report.failures} failure(s)")
    return report.summary()


@handle_errors
def verify(
    threshold: Annotated[float, typer.Option(help="Cosine similarity of question embeddings at or above which a task is a near-duplicate of an earlier one.")] = 0.98,
    solvable: Annotated[bool, typer.Option("--solvable/--no-solvable", help="Also ask a model to solve each task as firefly eval would (the tools of its servers, answered by the simulator; off by default).")] = False,
    max_turns: Annotated[int, typer.Option(help="Turns the solver model gets.")] = 8,
    judge: Annotated[bool, typer.Option("--judge/--no-judge", help="Also ask a model to judge each task's quality on the rubric of firefly.synth.judge (natural, self-contained, unambiguous, answerable, not trivial; off by default).")] = False,
    per_template: Annotated[int, typer.Option(help="Verified tasks kept at most per masked question template.")] = 12,
    per_tool_answer: Annotated[int, typer.Option(help="Verified tasks kept at most per (tool, answer) pair.")] = 3,
    llm_base_url: BaseUrlOption = None,
    llm_model: ModelOption = None,
    timeout: TimeoutOption = 120.0,
    ray: RayOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Check every task not yet verified: grounded, replayable in the simulator (strict),
    no leakage, self-contained, not a near-duplicate, no error, no padding, fails before its
    change, no folder called a file, diverse; optionally judged and solvable by a model.

    Each verdict is a task-verdict event with its reasons; a task is verified when all pass.
    """
    cluster = cluster_of(ray)
    with open_store(db, writer="verify", wait=wait) as store:
        run_verify(store, threshold, solvable, max_turns, llm_base_url, llm_model, timeout, cluster, judge=judge,
                   per_template=per_template, per_tool_answer=per_tool_answer)


def run_verify(store: Store, threshold: float = 0.98, solvable: bool = False, max_turns: int = 8,
               llm_base_url: str | None = None, llm_model: str | None = None, timeout: float = 120.0,
               cluster: Any = None, *, judge: bool = False, per_template: int = 12,
               per_tool_answer: int = 3) -> dict[str, Any]:
    from .distributed import make_solver
    from .synth.verify import lacking
    from .synth.verify import verify as run

    task_judge = None
    if judge:
        from .synth.judge import TaskJudge

        from .llm import LLM

        task_judge = TaskJudge(LLM.for_purpose("the task judge", base_url=llm_base_url, model=llm_model, timeout=timeout))
    solver_spec = {"base_url": llm_base_url, "model": llm_model, "timeout": timeout, "max_turns": max_turns}
    solver = make_solver(**solver_spec) if solvable else None
    store.catch_up()
    pending = len(lacking(store))
    if not pending and not solvable and not judge:
        console.print("No tasks left to verify. Synthesize some first: firefly synthesize")
        return {}
    options = {"threshold": threshold, "solvable": solvable, "judge": judge, "per_template": per_template,
               "per_tool_answer": per_tool_answer}
    if cluster is not None:
        from .distributed import verify_on

        return sharded_run(store, "verify", {**options, "ray": cluster.address}, lambda on_shard: verify_on(
            store, cluster, threshold=threshold, solver=solver_spec if solvable else None, on_shard=on_shard,
            judge=task_judge, per_template=per_template, per_tool_answer=per_tool_answer))
    with store.run("verify", options) as summary, progress_bar() as bar:
        task = bar.add_task("verify", total=pending or None, note="")
        report = run(store, threshold=threshold, solver=solver, judge=task_judge, per_template=per_template,
                     per_tool_answer=per_tool_answer,
                     on_task=lambda tid, done, total: bar.update(task, completed=done, total=total))
        summary.update(report.summary())
    rejected = ", ".join(f"{k}: {n}" for k, n in report.rejected.most_common())
    console.print(f"verified {report.verified} of {report.tasks} task(s); failed checks: {rejected or 'none'}")
    return report.summary()


@handle_errors
def split(
    test_fraction: Annotated[float, typer.Option(help="Share of DAGs whose tasks go to test (grouped: a DAG's tasks are all on one side).")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the assignment.")] = 0,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Assign every verified task to train or test, deterministically, grouped by DAG."""
    with open_store(db, writer="split", wait=wait) as store:
        run_split(store, test_fraction, seed)


def run_split(store: Store, test_fraction: float = 0.2, seed: int = 0) -> dict[str, Any]:
    from .synth.split import assign_splits

    with store.run("split", {"test_fraction": test_fraction, "seed": seed}) as summary, progress_bar() as bar:
        task = bar.add_task("split", total=None, note="")
        report = assign_splits(store, test_fraction=test_fraction, seed=seed)
        bar.update(task, total=1, completed=1)
        summary.update(report.summary())
    console.print(f"split: {report.totals['train']} train, {report.totals['test']} test"
                  f" ({sum(report.assigned.values())} assignment(s) written)")
    if report.moved is not None:
        console.print(f"  DAG {escape(report.moved)} crossed to {report.moved_to}: the hash had put every DAG on one side")
    if report.note is not None:
        err_console.print(f"[yellow]warning[/yellow]: {report.note}")
    return report.summary()

