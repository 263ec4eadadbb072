"""What every firefly command shares: the consoles, the ``--db`` option, the error handler
that turns named errors into one line, the store opener and the progress bar.

The command modules (:mod:`firefly.cli`, ``cli_graph``, ``cli_tasks`` ...) import these from
here, so each of them imports on its own (``import firefly.cli_graph`` works).
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import FireflyError, ReadOnlyDatabase
from .lease import WriterLease, describe
from .store import Store, check_database, default_db_path, writable

__all__ = ["DbOption", "RayOption", "WaitOption", "cluster_of", "writer_lease", "console", "disk_full", "err_console", "fail", "handle_errors", "open_store", "progress_bar", "sharded_run"]


console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="The firefly database (default: $FIREFLY_DB or ./firefly.db).", show_default=False),
]

RayOption = Annotated[
    Optional[str],
    typer.Option("--ray", metavar="[ADDRESS]", show_default=False,
                 help="Shard the work over a Ray cluster: --ray alone starts one on this machine (loopback), --ray"
                      " ADDRESS joins one (auto, HOST:PORT, ray://HOST:10001). Needs pip install 'firefly-mcp\\[ray]'."),
]
RAY_OPTION = "--ray"  # takes an optional value (FireflyGroup sets it up): alone it means "local"

F = TypeVar("F", bound=Callable[..., Any])


def cluster_of(address: str | None, per_server: int = 2) -> Any:
    """The Ray cluster of ``--ray`` (None without it). Without Ray installed: one line saying
    how to install it (:class:`~firefly.distributed.RayNotInstalled`)."""
    if address is None:
        return None
    from .distributed import Cluster, import_ray

    import_ray()
    return Cluster(address=address, per_server=max(1, per_server))


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FireflyError as exc:
            fail(str(exc))
        except (sqlite3.OperationalError, OSError) as exc:
            if not disk_full(exc):
                raise
            fail(f"the disk is full ({exc}): free some space (or use --db on another disk) and run the command"
                 " again; committed work is kept")
        except BaseExceptionGroup as group:  # from a task group: the first named error it holds
            named = next((e for e in _leaves(group) if isinstance(e, FireflyError)), None)
            full = next((e for e in _leaves(group) if disk_full(e)), None)
            if full is not None:
                fail(f"the disk is full ({full}): free some space and run the command again; committed work is kept")
            if named is None:
                raise
            fail(str(named))
        except KeyboardInterrupt:
            err_console.print("[yellow]Interrupted.[/yellow] Committed work is kept; run the command again to continue.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def fail(message: str) -> None:
    err_console.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(1) from None


def disk_full(exc: BaseException) -> bool:
    """Whether an error says the disk (or the database's size limit) is full."""
    if isinstance(exc, sqlite3.OperationalError):
        return "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out


LlmConcurrencyOption = Annotated[
    int,
    typer.Option(min=1, help="LLM requests in flight at once (independent requests of a stage are sent concurrently)."),
]
LlmTimeoutOption = Annotated[float, typer.Option(help="Seconds allowed for each LLM request.")]
WaitOption = Annotated[
    bool,
    typer.Option("--wait", help="If another firefly process is writing to the database, wait until it ends instead of stopping."),
]


def open_store(db: Path | None, *, reading: bool = False, writer: str | None = None, wait: bool = False,
               create: bool = True) -> Store:
    """The database of a command. ``reading``: the command only reads, so the file must
    already be a firefly database (nothing is created or changed otherwise), and on
    read-only media it is opened read-only. A command that writes names itself as
    ``writer`` and takes the database's writer lease (:mod:`firefly.lease`) for as long as
    the store is open; ``create=False``: it must already be a firefly database (a command
    that only adds to an existing dataset, such as eval), and on read-only media it says
    the file cannot be written."""
    path = db or default_db_path()
    if reading:
        return Store.open(path, create=False, read_only=None)
    if not create:
        check_database(path)
        if not writable(path):
            raise ReadOnlyDatabase(f"{path} cannot be written (read-only media?), and firefly {writer or 'this command'}"
                                   " records what it does in the database: copy it somewhere writable and pass --db")
    return Store.open(path, writer=writer, wait=wait, on_wait=_waiting(path), create=create)


def writer_lease(path: Path, command: str, wait: bool = False) -> WriterLease:
    """The writer lease of a database the command writes without opening it as a store."""
    return WriterLease.acquire(path, command, wait=wait, on_wait=_waiting(path))


def _waiting(path: Path) -> Callable[[dict[str, Any] | None], None]:
    def waiting(note: dict[str, Any] | None) -> None:
        err_console.print(f"waiting: {escape(str(path))} is being written by {escape(describe(note))}")

    return waiting


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=err_console,
        transient=False,
    )


def sharded_run(store: Store, stage: str, options: dict[str, Any], work: Any) -> dict[str, Any]:
    """A stage's run on a Ray cluster under one progress bar counting its shards."""
    with store.run(stage, options) as summary, progress_bar() as bar:
        task = bar.add_task(stage, total=None, note="")

        def on_shard(done: int, total: int, note: str) -> None:
            bar.update(task, completed=done, total=total, note=note)

        report = work(on_shard)
        summary.update(report.summary())
    for shard, worker, error in report.failed:
        err_console.print(f"  [red]✗[/red] shard {escape(shard)} on {escape(worker)}: {escape(error)}")
    console.print(f"{stage}: {escape(report.note())}")
    return report.summary()
