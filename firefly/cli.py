"""The ``firefly`` command line: parses options, calls the library, prints results.

Library errors (:mod:`firefly.errors`) become one clear line and exit status 1.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .errors import FireflyError
from .lease import WriterLease, describe
from .store import Store, default_db_path

app = typer.Typer(
    help=(
        "firefly: turn real MCP servers into verified tool-calling training data.\n\n"
        "Everything is recorded in one SQLite event log (--db, default ./firefly.db or"
        " $FIREFLY_DB); tables are projections of it that `firefly rebuild` can replay."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
servers_app = typer.Typer(help="Manage the server registry (mcpServers JSON format).", no_args_is_help=True)
catalog_app = typer.Typer(help="Import offline tool catalogs (schemas of servers that cannot be called).", no_args_is_help=True)
app.add_typer(servers_app, name="servers")
app.add_typer(catalog_app, name="catalog")


@catalog_app.callback()
def _catalog() -> None:
    """Import offline tool catalogs (schemas of servers that cannot be called)."""

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DbOption = Annotated[
    Optional[Path],
    typer.Option("--db", help="The firefly database (default: $FIREFLY_DB or ./firefly.db).", show_default=False),
]

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FireflyError as exc:
            err_console.print(f"[red]Error:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]Interrupted.[/yellow] Committed work is kept; run the command again to continue.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


WaitOption = Annotated[
    bool,
    typer.Option("--wait", help="If another firefly process is writing to the database, wait until it ends instead of stopping."),
]


def open_store(db: Path | None, *, writer: str | None = None, wait: bool = False) -> Store:
    """Open the database. A command that writes names itself as ``writer`` and takes the
    database's writer lease (:mod:`firefly.lease`) for as long as the store is open."""
    path = db or default_db_path()
    return Store.open(path, writer=writer, wait=wait, on_wait=_waiting(path))


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


# -- servers -------------------------------------------------------------------------------


@servers_app.command("import")
@handle_errors
def servers_import(
    file: Annotated[Path, typer.Argument(help="A registry file in the mcpServers JSON format (Claude Desktop, Cursor).")],
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Register every server of an mcpServers JSON file.

    Env values and headers are secrets: the log keeps their names; literal values are kept
    in <db>.secrets.json beside the database, ${VAR} templates are resolved when connecting.
    Nothing is written if any entry is malformed.
    """
    from .registry import load_registry, register

    specs = load_registry(file)
    with open_store(db, writer="servers import", wait=wait) as store, store.run("servers import", {"file": str(file)}) as summary:
        outcome = register(store, specs, source=str(file))
        summary.update({k: sum(1 for v in outcome.values() if v == k) for k in ("added", "changed", "unchanged")})
    for name, what in outcome.items():
        console.print(f"  {escape(name)}: {what}")
    console.print(f"{len(outcome)} server(s) in {escape(str(file))}: {summary}")


@servers_app.command("add", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@handle_errors
def servers_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The server's registry name.")],
    env: Annotated[Optional[list[str]], typer.Option("--env", "-e", help="NAME=VALUE for the server's environment (repeatable).")] = None,
    cwd: Annotated[Optional[str], typer.Option(help="Working directory of the server process.")] = None,
    url: Annotated[Optional[str], typer.Option(help="A streamable HTTP endpoint instead of a command.")] = None,
    header: Annotated[Optional[list[str]], typer.Option("--header", "-H", help="NAME=VALUE HTTP header (repeatable).")] = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Register one server: `firefly servers add NAME -- COMMAND ARGS...` or `--url URL`."""
    from .registry import parse_entry, register

    command = list(ctx.args)
    entry: dict[str, Any] = {}
    if command:
        entry.update(command=command[0], args=command[1:])
    if url:
        entry["url"] = url
    if cwd:
        entry["cwd"] = cwd
    entry["env"] = _pairs(env or [], "--env")
    entry["headers"] = _pairs(header or [], "--header")
    spec = parse_entry(name, entry, origin="command line")
    assert spec is not None
    with open_store(db, writer="servers add", wait=wait) as store, store.run("servers add", {"name": name}):
        outcome = register(store, [spec], source="cli")
    console.print(f"{escape(name)}: {outcome[name]}")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        if "=" not in value:
            raise FireflyError(f"{option} expects NAME=VALUE, got {value!r}")
        k, v = value.split("=", 1)
        out[k.strip()] = v
    return out


@servers_app.command("list")
@handle_errors
def servers_list(
    db: DbOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Include catalog (not callable) and removed servers.")] = False,
) -> None:
    """List registered servers with their status and tool counts."""
    with open_store(db) as store:
        store.catch_up()
        where = "" if all_ else "WHERE callable = 1 AND status != 'removed'"
        rows = store.conn.execute(
            f"SELECT name, transport, status, tools, coalesce(command, url, ''), coalesce(server_version, ''),"
            f" coalesce(last_error, '') FROM servers {where} ORDER BY callable DESC, name"
        ).fetchall()
    if not rows:
        console.print("No servers registered. Try: firefly servers import data/servers.json")
        return
    table = Table("name", "transport", "status", "tools", "command / url", "version", "last error")
    for row in rows[:500]:
        table.add_row(*(escape(str(v)) for v in row))
    console.print(table)
    if len(rows) > 500:
        console.print(f"... and {len(rows) - 500} more")


@servers_app.command("remove")
@handle_errors
def servers_remove(
    name: Annotated[str, typer.Argument(help="The server's registry name.")],
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Remove a server from the registry (its recorded tools and calls stay in the log)."""
    from .registry import unregister

    with open_store(db, writer="servers remove", wait=wait) as store, store.run("servers remove", {"name": name}):
        unregister(store, name)
    console.print(f"removed {escape(name)}")


# -- discovery -------------------------------------------------------------------------------


@app.command()
@handle_errors
def discover(
    server: Annotated[Optional[list[str]], typer.Option("--server", "-s", help="Only this server (repeatable).")] = None,
    registry: Annotated[Optional[Path], typer.Option(help="Import this registry file first.")] = None,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start a server and finish the MCP handshake.")] = 120.0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each request (tools/list).")] = 30.0,
    concurrency: Annotated[int, typer.Option(help="Servers connected at once.")] = 6,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Connect to registered servers, list their tools, and record what changed.

    A server that cannot be started, exits, hangs or speaks something other than MCP
    becomes one server-failed event with the reason; the others are discovered all the same.
    """
    with open_store(db, writer="discover", wait=wait) as store:
        if registry is not None:
            from .registry import load_registry, register

            with store.run("servers import", {"file": str(registry)}):
                register(store, load_registry(registry), source=str(registry))
        _discover(store, server, connect_timeout, call_timeout, concurrency)


def _discover(store: Store, server: list[str] | None, connect_timeout: float, call_timeout: float, concurrency: int) -> dict[str, Any]:
    from .discovery import discover as run_discovery
    from .discovery import registered

    regs = registered(store, server)
    if not regs:
        console.print("No callable servers registered. Try: firefly servers import data/servers.json")
        return {}
    options = {"servers": server or "all", "connect_timeout": connect_timeout, "call_timeout": call_timeout}
    with store.run("discover", options) as summary, progress_bar() as bar:
        task = bar.add_task("discover", total=len(regs), note="")

        def done(listing: Any) -> None:
            if listing.error:
                bar.console.print(f"  [red]✗[/red] {escape(listing.server)}: {escape(listing.error.message)}")
            else:
                bar.console.print(f"  [green]✓[/green] {escape(listing.server)}: {len(listing.tools)} tools")
            bar.advance(task)

        report = run_discovery(store, server, connect_timeout=connect_timeout, call_timeout=call_timeout, concurrency=concurrency, on_server=done)
        summary.update(report.summary())
    console.print(
        f"discovered {len(report.connected)} server(s), {report.tools_listed} tools"
        f" ({report.tools_added} new, {report.tools_changed} changed, {report.tools_removed} removed);"
        f" {len(report.failed)} failed"
    )
    return report.summary()


# -- catalog -------------------------------------------------------------------------------


@catalog_app.command("import")
@handle_errors
def catalog_import(
    file: Annotated[Path, typer.Argument(help="A JSONL catalog (one server with its tools per line).")],
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Load an offline catalog of tool schemas as tools that are known but not callable."""
    from .catalog import import_catalog

    with open_store(db, writer="catalog import", wait=wait) as store, store.run("catalog import", {"file": str(file)}) as summary, progress_bar() as bar:
        task = bar.add_task("catalog", total=None, note="")
        report = import_catalog(store, file, progress=lambda done, total: bar.update(task, completed=done, total=total))
        summary.update(report.summary())
    for reason in report.skipped[:10]:
        err_console.print(f"  [yellow]skipped[/yellow] {escape(reason)}")
    if len(report.skipped) > 10:
        err_console.print(f"  ... {len(report.skipped) - 10} more skipped")
    console.print(
        f"{report.servers} catalog server(s), {report.tools} tools ({report.tools_added} new,"
        f" {report.tools_changed} changed, {report.tools_invalid} with invalid schemas)"
    )


# -- exploration ---------------------------------------------------------------------------


@app.command()
@handle_errors
def explore(
    dags: Annotated[Optional[int], typer.Option(help="Explore at most this many pending DAGs (default: all).")] = None,
    policy: Annotated[str, typer.Option(help="Explorer policy: offline (no LLM, deterministic) or llm (an OpenAI-compatible chat model with function calling).")] = "offline",
    concurrency: Annotated[int, typer.Option(help="Explorations at once (each on its own sandbox).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the policy's choices.")] = 0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each tool call.")] = 30.0,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start a server.")] = 120.0,
    max_result_bytes: Annotated[int, typer.Option(help="Results larger than this are cut (the full size is recorded).")] = 64_000,
    llm_base_url: Annotated[Optional[str], typer.Option(help="LLM policy: OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL).")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="LLM policy: chat model (default: $FIREFLY_LLM_MODEL).")] = None,
    llm_timeout: Annotated[float, typer.Option(help="LLM policy: seconds allowed for each LLM request.")] = 120.0,
    max_turns: Annotated[Optional[int], typer.Option(help="LLM policy: model turns per exploration (default: twice the DAG's tools, plus 2).")] = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Call the real tools along sampled DAGs and record every call and result.

    Resumable: finished explorations are never repeated; unfinished ones continue. With
    --policy llm every request and reply is recorded and reused on a re-run; the API key
    comes from $FIREFLY_LLM_API_KEY and is never recorded.
    """
    llm = {"llm_base_url": llm_base_url, "llm_model": llm_model, "llm_timeout": llm_timeout, "max_turns": max_turns}
    with open_store(db, writer="explore", wait=wait) as store:
        _explore(store, dags, policy, concurrency, seed, call_timeout, connect_timeout, max_result_bytes, llm)


def _explore(store: Store, dags: int | None, policy: str, concurrency: int, seed: int, call_timeout: float,
             connect_timeout: float, max_result_bytes: int, llm: dict[str, Any] | None = None) -> dict[str, Any]:
    from .explore.stage import explore as run_explore
    from .explore.stage import pending_dags

    from .explore.stage import make_policy

    llm = llm or {}
    explorer = make_policy(policy, base_url=llm.get("llm_base_url"), model=llm.get("llm_model"),
                           timeout=llm.get("llm_timeout") or 120.0, max_turns=llm.get("max_turns"))
    todo = len(pending_dags(store, explorer.name, seed, dags))
    if not todo:
        console.print("No DAGs left to explore. Sample some first: firefly sample --count 100")
        return {}
    options = {"dags": dags, "policy": explorer.name, "concurrency": concurrency, "seed": seed}
    with store.run("explore", options) as summary, progress_bar() as bar:
        task = bar.add_task("explore", total=todo, note="")
        report = run_explore(
            store, explorer, dags=dags, seed=seed, concurrency=concurrency, call_timeout=call_timeout,
            connect_timeout=connect_timeout, max_result_bytes=max_result_bytes,
            on_exploration=lambda dag, done, total: bar.update(task, completed=done),
        )
        summary.update(report.summary())
    rate = report.successes / report.calls if report.calls else 0
    console.print(f"explored {report.finished} DAG(s) ({report.failed} failed): {report.calls} calls, {rate:.0%} succeeded")
    return report.summary()


# -- the pipeline ----------------------------------------------------------------------------


@app.command()
@handle_errors
def run(
    registry: Annotated[Optional[Path], typer.Option(help="Registry to import first (default: the bundled offline servers, when none is registered).")] = None,
    dags: Annotated[int, typer.Option(help="Sub-DAGs to sample and explore.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of sampling, exploration and synthesis: the same seed gives the same data.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Explorations at once (each on its own sandbox).")] = 4,
    test_fraction: Annotated[float, typer.Option(help="Share of DAGs whose tasks go to the test split.")] = 0.2,
    llm_base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint; with it every stage that can uses the model (default: $FIREFLY_LLM_BASE_URL, else none: offline).")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="Chat model for the LLM stages (default: $FIREFLY_LLM_MODEL).")] = None,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start each server (first use installs it).")] = 300.0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each request.")] = 30.0,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Run every stage in order on the registered servers (the bundled ones by default):
    discover, graph, sample, explore, and the stages that turn explorations into tasks.

    Resumable at any point: running it again (even after kill -9) continues where it
    stopped, never redoes finished work, and ends with the same data. Without an LLM every
    stage runs offline; the API key comes from $FIREFLY_LLM_API_KEY and is never recorded.
    """
    import os

    from .pipeline import RunOptions, run_pipeline

    opts = RunOptions(
        registry=registry, dags=dags, seed=seed, concurrency=concurrency, test_fraction=test_fraction,
        llm_base_url=llm_base_url or os.environ.get("FIREFLY_LLM_BASE_URL"),
        llm_model=llm_model or (os.environ.get("FIREFLY_LLM_MODEL") if llm_base_url or os.environ.get("FIREFLY_LLM_BASE_URL") else None),
        connect_timeout=connect_timeout, call_timeout=call_timeout,
    )
    if not 0.0 <= test_fraction < 1.0:
        raise FireflyError(f"--test-fraction must be at least 0 and below 1 (got {test_fraction})")
    with open_store(db, writer="run", wait=wait) as store:
        run_pipeline(store, opts, err_console)
        _print_status(store)


# -- status and maintenance ------------------------------------------------------------------


@app.command()
@handle_errors
def status(db: DbOption = None) -> None:
    """Print counts for every stage of the pipeline."""
    with open_store(db) as store:
        _print_status(store)


def _print_status(store: Store) -> None:
    from .report import status_report

    for title, rows in status_report(store):
        table = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
        for label, value in rows:
            table.add_row(escape(str(label)), escape(str(value)))
        console.print(table)


@app.command()
@handle_errors
def rebuild(wait: WaitOption = False, db: DbOption = None) -> None:
    """Empty every projection table and replay the whole log into it, in one transaction:
    if it fails (an event it cannot read, Ctrl-C), every table stays as it was."""
    with open_store(db, writer="rebuild", wait=wait) as store, progress_bar() as bar:
        task = bar.add_task("rebuild", total=store.head(), note="")
        applied = store.rebuild(progress=lambda done, total: bar.update(
            task, completed=done, total=total, note="building indexes" if done >= total else ""))
    console.print(f"rebuilt {len(store.projections)} projections from {applied} events")


@app.command()
def version() -> None:
    """Print firefly's version."""
    console.print(__version__)


from .cli_graph import register as _register_graph  # noqa: E402

_register_graph(app)

from .cli_tasks import register as _register_tasks  # noqa: E402

_register_tasks(app)

from .cli_eval import register as _register_eval  # noqa: E402

_register_eval(app)

from .cli_simulate import register as _register_simulate  # noqa: E402

_register_simulate(app)

from .cli_dataset import register as _register_dataset  # noqa: E402

_register_dataset(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
