"""``firefly eval`` and ``firefly export``: evaluate agents against the simulator, export
training files.

Registered on the main app by :func:`register`; the work is in :mod:`firefly.evaluation`
and :mod:`firefly.export`. Answers and task text come from models and tools: they are escaped.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import (
    DbOption, RayOption, WaitOption, cluster_of, console, err_console, handle_errors, open_store, progress_bar, sharded_run,
)
from .env import DEFAULT_MAX_TURNS
from .errors import FireflyError, ReadOnlyDatabase
from .store import check_database, default_db_path, writable

SplitOption = Annotated[Literal["train", "test", "all"], typer.Option(help="The split: train, test, or all (every verified task).")]
ModeOption = Annotated[Literal["strict", "nearest", "llm"], typer.Option("--simulator", help="Simulator mode: strict (exact replay), nearest, or llm.")]


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
    app.command("export")(export_command)


def _split(split: str) -> str | None:
    return None if split == "all" else split


@handle_errors
def eval_command(
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL; its key, if it needs one: $FIREFLY_LLM_API_KEY).")] = None,
    model: Annotated[Optional[str], typer.Option(help="The tool-calling model (default: $FIREFLY_LLM_MODEL).")] = None,
    agent: Annotated[Literal["openai", "oracle", "null"], typer.Option(help="openai (the model at --base-url), oracle (replays the reference trajectory, answers the label) or null (answers nothing).")] = "openai",
    split: SplitOption = "test",
    concurrency: Annotated[int, typer.Option(help="Episodes played at once.")] = 4,
    max_turns: Annotated[int, typer.Option(help="Assistant turns an episode may take; reaching it without an answer scores 0.")] = DEFAULT_MAX_TURNS,
    samples: Annotated[int, typer.Option(help="Episodes per task (k of pass@k).")] = 1,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature sent to the model (default: the endpoint's).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds allowed for each model request.")] = 120.0,
    max_tokens: Annotated[Optional[int], typer.Option(min=1, help="Tokens the model may write per turn (default: the endpoint's; bounds a model that rambles on a slow endpoint).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N tasks of the split (by id).")] = None,
    mode: ModeOption = "strict",
    record_to: Annotated[Optional[Path], typer.Option(help="Record the evaluation in this firefly database (created if missing) and only read --db: for a dataset on read-only media (default: --db itself; ./<name>-eval.db when --db cannot be written).")] = None,
    ray: RayOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Run an agent on every task of a split against the simulator and report pass@1 / pass@k.

    Every episode is recorded (messages, tool calls, reward, tokens, latency) in the
    episodes table; the report gives pass@1 (and pass@k with --samples k) overall, per task
    kind, per server and per number of hops. Running the same evaluation again continues it.
    An episode the endpoint could not serve (unreachable, timeout, 5xx, credentials refused)
    is not scored and is played again by the next run; when the endpoint is down the command
    stops after a few such failures and exits non-zero, as it does when episodes are left
    unscored.

    With --record-to (or when --db cannot be written, as on read-only media) the episodes go
    to another firefly database, which names the dataset (its path and, for a packed file,
    its content hash); run the same command again to continue or report that evaluation.
    """
    from .evaluation import EvalSettings, eval_report, evaluate, make_agent, tasks_to_evaluate

    cluster = cluster_of(ray, per_server=concurrency)
    agent_spec = {"kind": agent, "base_url": base_url, "model": model, "timeout": timeout, "temperature": temperature,
                  "max_tokens": max_tokens}
    player = make_agent(**agent_spec)
    settings = EvalSettings(split=_split(split), samples=samples, max_turns=max_turns, mode=mode, limit=limit)
    options = {"agent": player.name, "split": split, "samples": samples, "max_turns": max_turns, "mode": mode,
               "concurrency": concurrency, "limit": limit, "max_tokens": max_tokens}
    path = db or default_db_path()
    record_to = _results_path(path, record_to)

    def run(store: Any, results: Any) -> Any:
        tasks_to_evaluate(store, settings)  # an empty split fails here, before a bar is drawn
        if cluster is not None:
            from .distributed import eval_on

            summary = sharded_run(results, "eval", {**options, "ray": cluster.address}, lambda on_shard: eval_on(
                store, cluster, agent_spec, settings, concurrency=concurrency, on_shard=on_shard,
                record_to=None if results is store else results))
            return eval_report(results, summary["eval_id"], tasks=store)
        with results.run("eval", options) as summary, progress_bar() as bar:
            task = bar.add_task("eval", total=None, note="")

            def done(event: Any, finished: int, total: int) -> None:
                result = f"{event.reward:g}" if hasattr(event, "reward") else "not scored (endpoint failed)"
                bar.update(task, completed=finished, total=total, note=f"{event.task_id}: {result}")

            eval_id = evaluate(store, player, settings, concurrency=concurrency, on_episode=done, record_to=results)
            report = eval_report(results, eval_id, tasks=store)
            summary.update({"eval_id": eval_id, "episodes": report.episodes, "pass@1": round(report.pass_at_1, 4),
                            "not_scored": report.not_scored})
        return report

    if record_to is None:
        with open_store(path, writer="eval", wait=wait, create=False) as store:
            report = run(store, store)
    else:
        options["dataset"] = str(path.resolve())
        with open_store(path, reading=True) as store, open_store(record_to, writer="eval", wait=wait) as results:
            report = run(store, results)
    _print_report(report)
    if report.not_scored:
        err_console.print(f"[red]Error:[/red] {report.not_scored} episode(s) not scored: the model's endpoint failed on"
                          " them; run the same command again to play them")
        raise typer.Exit(1)


def _results_path(db: Path, record_to: Path | None) -> Path | None:
    """Where an evaluation of ``db`` is recorded when not in ``db`` itself (None: in it).

    A database that cannot be written (read-only media) records in ``./<name>-eval.db``
    unless ``--record-to`` says otherwise, and the command says so in one line."""
    check_database(db)
    if record_to is None and not writable(db):
        record_to = Path(f"{db.stem}-eval.db")
        err_console.print(f"{escape(str(db))} cannot be written (read-only media?): episodes go to"
                          f" {escape(str(record_to))} (choose another with --record-to)")
    if record_to is None:
        return None
    if record_to.exists() and record_to.resolve() == db.resolve():
        return None
    if record_to.exists():
        check_database(record_to)  # never migrate someone else's SQLite file into a firefly one
        if not writable(record_to):
            raise ReadOnlyDatabase(f"{record_to} cannot be written either: name a writable file with --record-to")
    elif not os.access(record_to.parent if str(record_to.parent) else Path("."), os.W_OK):
        raise ReadOnlyDatabase(f"cannot create {record_to} (its folder cannot be written): name a writable file with --record-to")
    return record_to


def _print_report(report: Any) -> None:
    k = report.samples
    table = Table("group", "value", "tasks", "episodes", "pass@1", *([f"pass@{k}"] if k > 1 else []),
                  title=f"eval {report.eval_id}: {escape(report.agent)} on {report.split or 'all'}", title_justify="left")
    for row in report.rows:
        cells = [row.group, escape(row.value), str(row.tasks), str(row.episodes), f"{row.pass_at_1:.3f}"]
        if k > 1:
            cells.append("-" if row.pass_at_k is None else f"{row.pass_at_k:.3f}")
        table.add_row(*cells)
    console.print(table)
    outcomes = ", ".join(f"{escape(o)} {n}" for o, n in report.outcomes.items())
    unscored = f"; {report.not_scored} not scored (the endpoint failed)" if report.not_scored else ""
    console.print(f"{report.episodes} episodes ({outcomes}){unscored}; tokens {report.prompt_tokens} prompt,"
                  f" {report.completion_tokens} completion; model time {report.latency_ms / 1000:.1f}s")


class ExportFormat(str, Enum):
    chat = "chat"
    rl = "rl"
    trl = "trl"
    verl = "verl"
    hf = "hf"


@handle_errors
def export_command(
    out: Annotated[Path, typer.Option(help="Folder for the files: <split>-<format>.jsonl (verl: .parquet; hf: the folder <split>-hf/).")] = Path("export"),
    split: SplitOption = "train",
    format: Annotated[Optional[list[ExportFormat]], typer.Option("--format", help="A format to write (repeat for several; default chat and rl): chat (OpenAI chat fine-tuning JSONL), rl (RL prompts JSONL), trl (TRL SFT JSONL), verl (verl parquet), hf (Hugging Face Hub folder: parquet and dataset card).")] = None,
    chat: Annotated[bool, typer.Option(help="With the default formats: write the OpenAI chat fine-tuning JSONL.")] = True,
    rl: Annotated[bool, typer.Option(help="With the default formats: write the RL prompt JSONL.")] = True,
    license: Annotated[str, typer.Option("--license", help="The licence the hf dataset card declares (a Hub licence id).")] = "other",
    mode: ModeOption = "strict",
    db: DbOption = None,
) -> None:
    """Export a split's verified tasks as training files.

    chat: OpenAI chat fine-tuning format (messages with tool_calls and tool results, and tools),
    each reference trajectory replayed in the simulator. rl: one prompt per task with its
    tools, label, match rule and probe (as JSON text, so every column has one type). trl:
    TRL's conversational format (tool-call arguments as objects) with the task columns. verl:
    verl's parquet (data_source, prompt, ability, reward_model, extra_info with tools_kwargs).
    hf: a folder ready for the Hugging Face Hub (parquet per split with datasets features, and
    a dataset card). Every row is checked against its JSON Schema (schema/exports/) before it is
    written; trl, verl and hf need the trainers extra (datasets, pyarrow).
    """
    from .export import DEFAULT_FORMATS, export, output_path

    formats = list(dict.fromkeys(f.value for f in format)) if format else [f for f in DEFAULT_FORMATS if {"chat": chat, "rl": rl}[f]]
    if not formats:
        raise FireflyError("nothing to export: every format is turned off")
    paths = {fmt: output_path(out, split, fmt) for fmt in formats}
    with open_store(db, reading=True) as store:
        out.mkdir(parents=True, exist_ok=True)
        store.catch_up()
        with store.run("export", {"split": split, "out": str(out), "formats": formats}) as summary, progress_bar() as bar:
            task = bar.add_task("export", total=None, note="")
            report = export(store.path, **{fmt: str(path) for fmt, path in paths.items()}, split=_split(split), mode=mode,
                            license=license, progress=lambda done, total: bar.update(task, completed=done, total=total))
            summary.update(report.summary())
    for why in report.skipped[:10]:
        err_console.print(f"  [yellow]skipped[/yellow] {escape(why)}")
    if len(report.skipped) > 10:
        err_console.print(f"  ... {len(report.skipped) - 10} more skipped")
    for fmt, path in paths.items():
        console.print(f"{fmt}: {report.lines.get(fmt, 0)} rows in {escape(str(path))}")
