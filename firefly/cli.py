"""The ``firefly`` command line: parses options, calls the library, prints results.

Library errors (:mod:`firefly.errors`) become one clear line and exit status 1; so do a full
disk and a port in use. The conventions every command follows (flags show no value type,
fixed choices are listed and checked, a docstring's line breaks are not kept in help) are
applied in one place, :class:`FireflyGroup`.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from typer.core import TyperGroup
from rich.markup import escape
from rich.table import Table

from . import installed_version
from .distributed import LOCAL
from .errors import FireflyError
from .store import Store


def unwrap(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines: the terminal wraps them, at its own width.
    Lines that start a list item (``- `` or ``* ``) keep their line break."""
    if not text:
        return text
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b"):  # click's marker: keep this paragraph as written
            paragraphs.append(paragraph)
            continue
        paragraphs.append(re.sub(r"\n(?!\s*[-*] )\s*", " ", paragraph))
    return "\n\n".join(paragraphs)


def _apply_conventions(command: Any) -> None:
    """Help without a docstring's line breaks, and no value type shown for a flag (a flag
    takes no value: ``--force``, not ``--force <bool>``), on a command and all below it."""
    command.help = unwrap(command.help)
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _apply_conventions(sub)


class FireflyGroup(TyperGroup):
    """The ``firefly`` group: typer builds it with every command below it, and the CLI
    conventions are applied to all of them here, once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _apply_conventions(self)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """``--ray`` may come without its value (a cluster on this machine): it gets ``local``."""
        args = list(args)
        end = args.index("--") if "--" in args else len(args)  # after it: a server's own command line
        for i in range(end - 1, -1, -1):
            if args[i] == RAY_OPTION and (i + 1 == end or args[i + 1].startswith("-")):
                args.insert(i + 1, LOCAL)
        return super().parse_args(ctx, args)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:  # with the options typer adds after building the group (completion)
            if getattr(param, "is_flag", False):
                param.metavar = ""
        return params


app = typer.Typer(
    cls=FireflyGroup,
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


def _print_version(value: bool) -> None:
    if value:
        console.print(f"firefly {installed_version()}")
        raise typer.Exit()


@app.callback()
def _firefly(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print firefly's version and exit.")] = False,
) -> None:
    """firefly: turn real MCP servers into verified tool-calling training data.

    Everything is recorded in one SQLite event log (--db, default ./firefly.db or
    $FIREFLY_DB); tables are projections of it that `firefly rebuild` can replay.
    """

from .cli_common import (  # noqa: E402 - shared by every command module
    RAY_OPTION, DbOption, LlmConcurrencyOption, LlmTimeoutOption, RayOption, WaitOption, cluster_of, console, err_console,
    handle_errors, open_store, progress_bar, sharded_run,
)


# -- servers -------------------------------------------------------------------------------


def no_servers_hint() -> str:
    """What to run when no server is registered: the bundled registry, by its real path."""
    from .resources import bundled_registry

    return (f"Try: firefly servers import --bundled (the servers bundled with firefly, {bundled_registry()})"
            " or firefly servers import FILE")


@servers_app.command("import")
@handle_errors
def servers_import(
    file: Annotated[Optional[str], typer.Argument(help="A registry file in the mcpServers JSON format (Claude Desktop, Cursor), or a bundled registry's name (default, offline).", show_default=False)] = None,
    bundled: Annotated[bool, typer.Option("--bundled", help="Import the registry bundled with firefly (servers that run offline) instead of a file.")] = False,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Register every server of an mcpServers JSON file (or, with --bundled, firefly's own).

    Env values and headers are secrets: the log keeps their names; literal values are kept
    in <db>.secrets.json beside the database, ${VAR} templates are resolved when connecting.
    Nothing is written if any entry is malformed.
    """
    from .registry import load_registry, register
    from .resources import bundled_registry, find_registry

    if bundled == (file is not None):
        raise FireflyError("name a registry (a file, or a bundled one: default, offline) or pass --bundled (one of them)")
    path = bundled_registry() if file is None else find_registry(file)
    specs = load_registry(path)
    with open_store(db, writer="servers import", wait=wait) as store, store.run("servers import", {"file": str(path)}) as summary:
        outcome = register(store, specs, source=str(path))
        summary.update({k: sum(1 for v in outcome.values() if v == k) for k in ("added", "changed", "unchanged")})
    for name, what in outcome.items():
        console.print(f"  {escape(name)}: {what}")
    console.print(f"{len(outcome)} server(s) in {escape(str(path))}: {summary}")


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
        console.print(f"No servers registered. {no_servers_hint()}")
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
    registry: Annotated[Optional[str], typer.Option(help="Import this registry first: a file, or a bundled registry's name (default, offline).")] = None,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start a server and finish the MCP handshake.")] = 120.0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each request (tools/list).")] = 30.0,
    concurrency: Annotated[int, typer.Option(help="Servers connected at once.")] = 6,
    ray: RayOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Connect to registered servers, list their tools, and record what changed.

    A server that cannot be started, exits, hangs or speaks something other than MCP
    becomes one server-failed event with the reason; the others are discovered all the same.
    """
    cluster = cluster_of(ray)
    with open_store(db, writer="discover", wait=wait) as store:
        if registry is not None:
            from .registry import load_registry, register

            from .resources import find_registry

            path = find_registry(registry)
            with store.run("servers import", {"file": str(path)}):
                register(store, load_registry(path), source=str(path))
        _discover(store, server, connect_timeout, call_timeout, concurrency, cluster)


def _discover(store: Store, server: list[str] | None, connect_timeout: float, call_timeout: float, concurrency: int,
              cluster: Any = None) -> dict[str, Any]:
    from .discovery import discover as run_discovery
    from .discovery import registered

    regs = registered(store, server)
    if not regs:
        console.print(f"No callable servers registered. {no_servers_hint()}")
        return {}
    options = {"servers": server or "all", "connect_timeout": connect_timeout, "call_timeout": call_timeout}
    if cluster is not None:
        from .distributed import discover_on

        return sharded_run(store, "discover", {**options, "ray": cluster.address}, lambda on_shard: discover_on(
            store, cluster, server, connect_timeout=connect_timeout, call_timeout=call_timeout, on_shard=on_shard))
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
def survey(
    server: Annotated[Optional[list[str]], typer.Option("--server", help="Survey only this server (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option(help="Servers surveyed at once.")] = 4,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each call.")] = 30.0,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start a server.")] = 120.0,
    db: DbOption = None,
) -> None:
    """Learn each server's world before exploring: call its read-only tools that need no
    arguments, read its resources, list its prompts; their values become the server's pool
    of grounded values. Resumable: a server already surveyed with its current tools is skipped.
    """
    from .explore.survey import survey as run_survey

    with open_store(db) as store, store.run("survey", {"servers": server or "all"}) as summary:
        report = run_survey(store, servers=server, concurrency=concurrency, call_timeout=call_timeout,
                            connect_timeout=connect_timeout)
        summary.update(report.summary())
    console.print(f"surveyed {report.surveyed} of {report.servers} server(s): {report.successes}/{report.calls} calls ok,"
                  f" {report.resources} resource(s), {report.prompts} prompt(s)")


@app.command()
@handle_errors
def explore(
    dags: Annotated[Optional[int], typer.Option(help="Explore at most this many pending DAGs (default: all).")] = None,
    policy: Annotated[Literal["offline", "llm"], typer.Option(help="Explorer policy: offline (no LLM, deterministic) or llm (an OpenAI-compatible chat model with function calling).")] = "offline",
    concurrency: Annotated[int, typer.Option(help="Explorations at once (each on its own sandbox).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the policy's choices.")] = 0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each tool call.")] = 30.0,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start a server.")] = 120.0,
    max_result_bytes: Annotated[int, typer.Option(help="Results larger than this are cut (the full size is recorded).")] = 64_000,
    llm_base_url: Annotated[Optional[str], typer.Option(help="LLM policy: OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL).")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="LLM policy: chat model (default: $FIREFLY_LLM_MODEL).")] = None,
    llm_timeout: Annotated[float, typer.Option(help="LLM policy: seconds allowed for each LLM request.")] = 120.0,
    max_turns: Annotated[Optional[int], typer.Option(help="LLM policy: model turns per exploration (default: twice the DAG's tools, plus 2).")] = None,
    ray: RayOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Call the real tools along sampled DAGs and record every call and result.

    Resumable: finished explorations are never repeated; unfinished ones continue. With
    --policy llm every request and reply is recorded and reused on a re-run; the API key
    comes from $FIREFLY_LLM_API_KEY and is never recorded.
    """
    llm = {"llm_base_url": llm_base_url, "llm_model": llm_model, "llm_timeout": llm_timeout, "max_turns": max_turns}
    cluster = cluster_of(ray, per_server=concurrency)
    with open_store(db, writer="explore", wait=wait) as store:
        _explore(store, dags, policy, concurrency, seed, call_timeout, connect_timeout, max_result_bytes, llm, cluster)


def _explore(store: Store, dags: int | None, policy: str, concurrency: int, seed: int, call_timeout: float,
             connect_timeout: float, max_result_bytes: int, llm: dict[str, Any] | None = None,
             cluster: Any = None) -> dict[str, Any]:
    from .explore.stage import explore as run_explore
    from .explore.stage import pending_dags

    from .explore.stage import make_policy

    llm = llm or {}
    spec = {"name": policy, "base_url": llm.get("llm_base_url"), "model": llm.get("llm_model"),
            "timeout": llm.get("llm_timeout") or 120.0, "max_turns": llm.get("max_turns")}
    explorer = make_policy(**spec)
    todo = len(pending_dags(store, explorer.name, seed, dags))
    if not todo:
        console.print("No DAGs left to explore. Sample some first: firefly sample --count 100")
        return {}
    options = {"dags": dags, "policy": explorer.name, "concurrency": concurrency, "seed": seed}
    if cluster is not None:
        from .distributed import explore_on

        return sharded_run(store, "explore", {**options, "ray": cluster.address}, lambda on_shard: explore_on(
            store, cluster, spec, explorer.name, seed=seed, dags=dags, call_timeout=call_timeout,
            connect_timeout=connect_timeout, max_result_bytes=max_result_bytes, on_shard=on_shard))
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
    registry: Annotated[Optional[str], typer.Option(help="Registry to import first: a file, or a bundled registry's name (default, offline). Without it: the bundled default servers, when none is registered.")] = None,
    dags: Annotated[int, typer.Option(help="Sub-DAGs to sample and explore.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of sampling, exploration and synthesis: the same seed gives the same data.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Explorations at once (each on its own sandbox).")] = 4,
    test_fraction: Annotated[float, typer.Option(help="Share of DAGs whose tasks go to the test split.")] = 0.2,
    llm_base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint; with it every stage that can uses the model (default: $FIREFLY_LLM_BASE_URL, else none: offline).")] = None,
    llm_model: Annotated[Optional[str], typer.Option(help="Chat model for the LLM stages (default: $FIREFLY_LLM_MODEL).")] = None,
    llm_concurrency: LlmConcurrencyOption = 4,
    llm_timeout: LlmTimeoutOption = 120.0,
    explorations: Annotated[Optional[int], typer.Option(min=0, help="Explore only the first N DAGs in the order they were sampled (the sampled ones, then the one-tool DAGs of tools no edge reaches; default: every DAG): a budget for a slow model. A re-run with the same N explores nothing new.")] = None,
    connect_timeout: Annotated[float, typer.Option(help="Seconds allowed to start each server (first use installs it).")] = 300.0,
    call_timeout: Annotated[float, typer.Option(help="Seconds allowed for each request.")] = 30.0,
    ray: RayOption = None,
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

    from .resources import find_registry

    opts = RunOptions(
        registry=find_registry(registry) if registry is not None else None, dags=dags, seed=seed, concurrency=concurrency, test_fraction=test_fraction,
        llm_base_url=llm_base_url or os.environ.get("FIREFLY_LLM_BASE_URL"),
        llm_model=llm_model or (os.environ.get("FIREFLY_LLM_MODEL") if llm_base_url or os.environ.get("FIREFLY_LLM_BASE_URL") else None),
        connect_timeout=connect_timeout, call_timeout=call_timeout, llm_concurrency=llm_concurrency, llm_timeout=llm_timeout,
        explorations=explorations, cluster=cluster_of(ray, per_server=concurrency),
    )
    if not 0.0 <= test_fraction < 1.0:
        raise FireflyError(f"--test-fraction must be at least 0 and below 1 (got {test_fraction})")
    if registry is not None:  # a registry that cannot be used fails now, before any progress bar
        from .registry import load_registry
        from .resources import find_registry

        load_registry(find_registry(registry))
    with open_store(db, writer="run", wait=wait) as store:
        run_pipeline(store, opts, err_console)
        _print_status(store)


# -- status and maintenance ------------------------------------------------------------------


@app.command()
@handle_errors
def status(
    json_: Annotated[bool, typer.Option("--json", help="Print the counts as one JSON object (stable keys, for scripts; see the README).")] = False,
    db: DbOption = None,
) -> None:
    """Print counts for every stage of the pipeline.

    Only reads: a missing file, or one that is not a firefly database, is an error. On
    read-only media the tables are shown as they are (not brought up to date with the log).
    """
    import json

    from .report import status_json

    with open_store(db, reading=True) as store:
        if json_:
            typer.echo(json.dumps(status_json(store), indent=2))
            return
        _print_status(store)
        if store.read_only and store.behind():
            err_console.print(f"[yellow]note:[/yellow] {escape(str(store.path))} is read-only and its tables are behind its log")


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
    """Print firefly's version (as `firefly --version` does)."""
    console.print(installed_version())


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
    from .processes import stop_signals_interrupt

    stop_signals_interrupt()  # a kill stops a run as Ctrl-C does: services and servers close
    app()


if __name__ == "__main__":
    main()
