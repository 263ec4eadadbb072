"""``firefly simulate ...``: serve the recorded servers over MCP, measure the simulator's fidelity.

Registered on the main app by :func:`register`; the work is in :mod:`firefly.simulator`.
Names and text that came from tools are escaped before rich renders them.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import DbOption, WaitOption, console, err_console, handle_errors, open_store, progress_bar
from .errors import FireflyError
from .simulator.settings import DEFAULT_THRESHOLD, MODES

simulate_app = typer.Typer(help="Replay recorded tool calls offline: serve them over MCP, measure fidelity.", no_args_is_help=True)

Mode = Literal["strict", "nearest", "llm"]  # simulator.settings.MODES


class ModeChoice(str, Enum):  # the same choices, for a repeatable option (typer takes no list of Literal)
    strict = "strict"
    nearest = "nearest"
    llm = "llm"


ModeOption = Annotated[Mode, typer.Option(help="On a miss: strict (a 'no recorded result' tool error), nearest (the most similar recorded arguments, marked approximate) or llm (a model writes it, recorded and reused).")]
ThresholdOption = Annotated[float, typer.Option(help="Nearest mode: the cosine similarity a recorded call needs to answer.")]
BaseUrlOption = Annotated[Optional[str], typer.Option(help="llm mode: OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL).")]
ModelOption = Annotated[Optional[str], typer.Option(help="llm mode: chat model (default: $FIREFLY_LLM_MODEL).")]


def register(app: typer.Typer) -> None:
    app.add_typer(simulate_app, name="simulate")


def _llm(mode_names: list[str], base_url: str | None, model: str | None) -> object | None:
    if "llm" not in mode_names:
        return None
    from .llm import LLM

    return LLM.for_purpose("the simulator's llm mode", base_url=base_url, model=model)


def _check_modes(modes: list[str]) -> None:
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise FireflyError(f"unknown simulator mode(s) {', '.join(bad)}; use {', '.join(MODES)}")


@simulate_app.command("serve")
@handle_errors
def serve(
    server: Annotated[Optional[list[str]], typer.Option("--server", "-s", help="Serve this recorded server (repeatable; several are served with prefixed tool names).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Serve every recorded server; tool names become <server>__<tool> (as firefly eval names them; colliding names get a hash suffix).")] = False,
    mode: ModeOption = "strict",
    transport: Annotated[Literal["stdio", "http"], typer.Option(help="stdio (the MCP client starts this command) or http (streamable HTTP on loopback).")] = "stdio",
    host: Annotated[str, typer.Option(help="http: the loopback address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: the port to listen on.")] = 8765,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    reset_tool: Annotated[bool, typer.Option("--reset-tool", help="Also list a tool firefly_reset that returns the caller's world to its initial state.")] = False,
    llm_base_url: BaseUrlOption = None,
    llm_model: ModelOption = None,
    db: DbOption = None,
) -> None:
    """Serve recorded servers as real MCP servers, offline, from the simulator.

    The same tools, schemas and annotations that discovery recorded; every tools/call is
    answered from the recorded calls, in a simulated world per client: the one named by
    _meta["firefly/episode"], else the client's session or connection, else a fresh one (each
    result's _meta["firefly/episode"] names it). _meta["firefly/reset"]: true resets it. Example client
    config: {"command": "firefly", "args": ["simulate", "serve", "--server", "git", "--db", "firefly.db"]}.
    """
    import anyio

    from .simulator import Simulator
    from .simulator.serve import build_server, log, serve_http, serve_stdio

    _check_modes([mode])
    if all_ == bool(server):
        raise FireflyError("choose the servers: --server NAME (repeatable) or --all")
    if transport not in ("stdio", "http"):
        raise FireflyError(f"unknown transport {transport!r}; use stdio or http")
    with open_store(db, reading=True) as store, Simulator.open(store, mode=mode, threshold=threshold, llm=_llm([mode], llm_base_url, llm_model)) as sim:
        mcp_server = build_server(sim, None if all_ else list(server or []), reset_tool=reset_tool)
        served = ", ".join(sim.servers() if all_ else server or [])
        if transport == "stdio":
            log(f"firefly simulate: serving {served} over stdio ({mode} mode)")
            anyio.run(serve_stdio, mcp_server)
        else:
            anyio.run(lambda: serve_http(mcp_server, host, port, ready=lambda url: log(
                f"firefly simulate: serving {served} at {url} ({mode} mode); Ctrl-C stops")))


@simulate_app.command("fidelity")
@handle_errors
def fidelity(
    holdout: Annotated[float, typer.Option(help="Share of the recorded results held out of the lookup and asked for.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the hold-out draw.")] = 0,
    mode: Annotated[Optional[list[ModeChoice]], typer.Option("--mode", help="Modes to score (repeatable; default strict and nearest).")] = None,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    llm_base_url: BaseUrlOption = None,
    llm_model: ModelOption = None,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Hold out recorded calls, rebuild the lookup without them, and compare simulated with real results.

    Per server and mode: exact-match rate, share answered (not a miss) and the mean text
    similarity of the results that were not exact (a miss counts 0).
    """
    from .simulator.fidelity import fidelity as run_fidelity

    modes = [m.value for m in mode] if mode else ["strict", "nearest"]
    _check_modes(modes)
    llm = _llm(modes, llm_base_url, llm_model)
    options = {"holdout": holdout, "seed": seed, "modes": modes, "threshold": threshold}
    with open_store(db, writer="simulate fidelity", wait=wait, create=False) as store, store.run("simulate fidelity", options) as summary, progress_bar() as bar:
        task = bar.add_task("fidelity", total=None, note="")
        try:
            report = run_fidelity(store, holdout=holdout, seed=seed, modes=tuple(modes), threshold=threshold, llm=llm,
                                  progress=lambda done, total: bar.update(task, completed=done, total=total))
        except ValueError as exc:
            raise FireflyError(str(exc)) from None
        summary.update(report.summary())
    if not report.recorded:
        console.print("No recorded results yet. Record some first: firefly explore")
        return
    table = Table("server", "mode", "held out", "exact", "exact rate", "answered", "similarity (rest)",
                  title=f"simulator fidelity: {report.held_out} of {report.recorded} recorded results held out (seed {seed})")
    for m in modes:
        rows = sorted((s, score) for (mm, s), score in report.scores.items() if mm == m)
        for server, score in [*rows, ("all", report.total(m))]:
            sim_rest = score.mean_similarity
            table.add_row(escape(server), m, str(score.held_out), str(score.exact), f"{score.exact_rate:.1%}",
                          f"{score.answered_rate:.1%}", "-" if sim_rest is None else f"{sim_rest:.3f}",
                          end_section=server == "all")
    console.print(table)
    if err_console.is_terminal:
        err_console.print("exact: same content, structured content and isError; similarity: difflib ratio of the result texts")
