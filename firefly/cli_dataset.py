"""``firefly pack``, ``firefly merge`` and ``firefly browse``: ship, combine and read datasets.

Registered on the main app by :func:`register`; the work is in :mod:`firefly.pack`,
:mod:`firefly.merge` and the Datasette plugin in ``datasette_plugins/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .cli_common import DbOption, WaitOption, console, err_console, handle_errors, open_store, progress_bar, writer_lease
from .errors import FireflyError
from .store import check_database, default_db_path


def register(app: typer.Typer) -> None:
    app.command("pack")(pack)
    app.command("merge")(merge)
    app.command("browse")(browse)


def _bar_progress(bar):  # noqa: ANN001, ANN202
    tasks: dict[str, object] = {}

    def progress(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total, note="")
        bar.update(tasks[step], completed=done, total=total)

    return progress


@handle_errors
def pack(
    out: Annotated[Path, typer.Argument(help="The dataset file to write (one SQLite file).")],
    drop_raw: Annotated[bool, typer.Option("--drop-raw", help="Leave out the raw LLM exchanges (prompts and replies).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Write the dataset as one self-contained SQLite file to ship.

    OUT holds the log, every projection (rebuilt from it), the vector indexes (embedded;
    written back beside OUT when firefly opens it) and a `dataset` table with counts,
    versions, every run's options and a content hash. Secrets are refused: the log is
    scanned for credentials and OUT's bytes for every secret value firefly knows of; if one
    is found nothing is written. Plain Datasette reads OUT as it is.
    """
    from .pack import pack as run_pack

    with open_store(db, reading=True) as store, progress_bar() as bar:
        report = run_pack(store, out, drop_raw=drop_raw, force=force, progress=_bar_progress(bar))
    dropped = f", {report.dropped} raw LLM exchange(s) left out" if drop_raw else ""
    console.print(
        f"packed {report.events} events{dropped}, {sum(report.tables.values())} projection rows and"
        f" {len(report.files)} embedded file(s) into {escape(str(out))} ({report.size:,} bytes)"
    )
    console.print(f"content hash {report.content_hash}")


@handle_errors
def merge(
    paths: Annotated[list[Path], typer.Argument(help="The databases to merge, then the output file: A.db B.db ... OUT.db", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
    wait: WaitOption = False,
    db: Annotated[Optional[Path], typer.Option("--db", help="Also merge this database (first).", show_default=False)] = None,
) -> None:
    """Merge the logs of separate workers into one database and rebuild its projections.

    The merged log is the union of the inputs' logs: each event once (ids are unique), a
    fact recorded by two workers once (idempotency keys). Vector indexes are rebuilt when
    needed. OUT.secrets.json (owner-only) gets the union of the inputs' secrets files, so
    packing OUT still refuses any secret value an input was given.
    """
    from .merge import merge as run_merge

    inputs = ([db] if db is not None else []) + list(paths[:-1])
    if not inputs:
        raise FireflyError("usage: firefly merge A.db B.db ... OUT.db (at least one input and the output)")
    for path in inputs:  # before any progress bar: an input that is not a firefly database is one line
        check_database(path)
    with writer_lease(paths[-1], "merge", wait), progress_bar() as bar:  # OUT is written
        report = run_merge(inputs, paths[-1], force=force, progress=_bar_progress(bar))
    console.print(
        f"merged {len(report.inputs)} database(s): {report.written} events written, {report.same_id} already there"
        f" (same id), {report.same_key} duplicate fact(s) (same idempotency key) into {escape(str(paths[-1]))}"
    )
    if report.secrets:
        console.print(f"{report.secrets} secret value(s) of the inputs kept beside it, in {escape(str(paths[-1]))}.secrets.json")


@handle_errors
def browse(
    database: Annotated[Optional[Path], typer.Argument(help="The database to browse (default: --db, $FIREFLY_DB or ./firefly.db).", show_default=False)] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8001,
    db: DbOption = None,
) -> None:
    """Browse the dataset in Datasette on loopback (127.0.0.1), with firefly's views.

    Tables get titles, descriptions and default facets; there are pages for tasks and
    explorations, SVG pictures of sampled DAGs and of a tool's neighbourhood, and canned
    queries. A packed dataset is served read-only (immutable).
    """
    path = database or db or default_db_path()
    from .pack import is_packed

    check_database(path)  # only reads: nothing is created, another application's file is left alone
    packed = is_packed(path)
    if not packed:  # a working database: apply migrations, bring projections up to date
        with open_store(path, reading=True) as store:
            store.catch_up()
            packed = store.read_only  # read-only media: serve it as it is (immutable)

    from .browse import datasette_command, pick_port, serve

    port = pick_port(port)
    url = f"http://127.0.0.1:{port}/"
    serve(datasette_command(path, port, immutable=packed), url,
          on_ready=lambda url: console.print(f"serving {escape(str(path))} on {url} (Ctrl-C stops)", soft_wrap=True))
    err_console.print("stopped")
