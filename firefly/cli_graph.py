"""``firefly graph ...`` and ``firefly sample``: the tool graph and sub-DAG sampling.

Registered on the main app by :func:`register`; the work is in :mod:`firefly.graph` and
:mod:`firefly.sample`. Tool names and reasons come from servers and models: they are escaped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .cli_common import DbOption, LlmConcurrencyOption, WaitOption, console, err_console, handle_errors, open_store, progress_bar
from .errors import FireflyError
from .store import Store

graph_app = typer.Typer(help="Build the tool graph (candidates, judged edges) and look at it.", no_args_is_help=True)

CatalogOption = Annotated[
    bool, typer.Option("--include-catalog", help="Use every live tool, catalog (not callable) ones too; default: callable tools only.")
]


def register(app: typer.Typer) -> None:
    app.add_typer(graph_app, name="graph")
    app.command("embed")(embed)
    app.command("sample")(sample)


EmbedderOption = Annotated[Literal["hashed", "remote"], typer.Option(help="Tool embeddings: hashed (built in, no download) or remote (an OpenAI-compatible embeddings model).")]
DimOption = Annotated[int, typer.Option(help="Dimensions of the hashed embedder.")]
BaseUrlOption = Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (default: $FIREFLY_LLM_BASE_URL).")]
EmbedModelOption = Annotated[Optional[str], typer.Option(help="Embeddings model (default: $FIREFLY_EMBED_MODEL).")]
TimeoutOption = Annotated[float, typer.Option(help="Seconds allowed for each LLM request.")]


def _config(options: dict[str, Any], timeout: float) -> Any:
    from .llm import LLMConfig

    return LLMConfig.from_env(
        base_url=options.get("llm_base_url"), model=options.get("llm_model"), embed_model=options.get("embed_model"), timeout=timeout
    )


def _embedder(options: dict[str, Any], timeout: float) -> Any:
    from .embed import HashedEmbedder, RemoteEmbedder
    from .llm import LLM

    name = options.get("embedder", "hashed")
    if name == "hashed":
        return HashedEmbedder(options.get("dim", 512))
    if name == "remote":
        return RemoteEmbedder(LLM(_config(options, timeout)))
    raise FireflyError(f"unknown embedder {name!r}; use hashed or remote")


# -- embedding -------------------------------------------------------------------------------


@handle_errors
def embed(
    include_catalog: CatalogOption = False,
    embedder: EmbedderOption = "hashed",
    dim: DimOption = 512,
    llm_base_url: BaseUrlOption = None,
    embed_model: EmbedModelOption = None,
    llm_timeout: TimeoutOption = 120.0,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Embed every tool (name, description, parameters) and refresh the vector index.

    Tools that already have a vector for their current schema keep it; a remote batch that
    fails is recorded as an error and its tools are tried again on the next run.
    """
    from .embed import embed_tools
    from .vectors import ToolIndex

    options = {"include_catalog": include_catalog, "embedder": embedder, "dim": dim, "llm_base_url": llm_base_url, "embed_model": embed_model}
    chosen = _embedder(options, llm_timeout)
    with open_store(db, writer="embed", wait=wait) as store, store.run("embed", options) as summary, progress_bar() as bar:
        task = bar.add_task("embed", total=None, note="")
        report = embed_tools(store, chosen, include_catalog=include_catalog,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
        index = ToolIndex.open(store, chosen.name)
        summary.update({**report.summary(), "indexed": len(index)})
    console.print(f"embedded {report.embedded} tool(s) with {escape(report.model)} ({report.reused} reused, {report.failed} failed);"
                  f" vector index: {len(index)} tools{' (rebuilt)' if index.rebuilt else ''} in {escape(str(index.path))}")
    for message in report.errors[:5]:
        err_console.print(f"  [red]embedding failed:[/red] {escape(message)}")


# -- building --------------------------------------------------------------------------------


@graph_app.command("build")
@handle_errors
def build(
    include_catalog: CatalogOption = False,
    judge: Annotated[Literal["rules", "llm"], typer.Option(help="Who decides edges: rules (deterministic, no LLM) or llm (an OpenAI-compatible model).")] = "rules",
    embedder: EmbedderOption = "hashed",
    dim: DimOption = 512,
    k: Annotated[int, typer.Option("-k", "--neighbours", help="Vector neighbours per tool proposed as candidates.")] = 10,
    per_server: Annotated[int, typer.Option(help="Nearest tools of the same server proposed as candidates.")] = 8,
    threshold: Annotated[float, typer.Option(help="Rules judge: the score an edge needs.")] = 0.6,
    batch_size: Annotated[int, typer.Option(help="LLM judge: candidate pairs per request.")] = 20,
    retries: Annotated[int, typer.Option(help="LLM judge: asks again after a reply it cannot use.")] = 1,
    llm_concurrency: LlmConcurrencyOption = 4,
    llm_base_url: BaseUrlOption = None,
    llm_model: Annotated[Optional[str], typer.Option(help="Chat model for the LLM judge (default: $FIREFLY_LLM_MODEL).")] = None,
    embed_model: EmbedModelOption = None,
    llm_timeout: TimeoutOption = 120.0,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Embed the tools, find candidate pairs and judge them into edges.

    Resumable: vectors, candidates and verdicts already in the log are reused, so a second
    run only does what is new. The API key comes from $FIREFLY_LLM_API_KEY and is never recorded.
    """
    options = {
        "include_catalog": include_catalog, "judge": judge, "embedder": embedder, "dim": dim, "k": k,
        "per_server": per_server, "threshold": threshold, "batch_size": batch_size, "retries": retries,
        "llm_concurrency": llm_concurrency, "llm_base_url": llm_base_url, "llm_model": llm_model, "embed_model": embed_model,
    }
    with open_store(db, writer="graph build", wait=wait) as store:
        report = build_stage(store, options, llm_timeout=llm_timeout)
    _print_graph_report(report)


def build_stage(store: Store, options: dict[str, Any], *, llm_timeout: float = 120.0) -> Any:
    """The graph stage with progress bars (``firefly run`` can call this with defaults)."""
    from .graph import LLMJudge, RulesJudge, build_graph
    from .llm import LLM

    judge_name = options.get("judge", "rules")
    if judge_name == "rules":
        judge: Any = RulesJudge(threshold=options.get("threshold", 0.6))
    elif judge_name == "llm":
        judge = LLMJudge(LLM(_config(options, llm_timeout)), batch_size=options.get("batch_size", 20), retries=options.get("retries", 1),
                         concurrency=options.get("llm_concurrency", 4))
    else:
        raise FireflyError(f"unknown judge {judge_name!r}; use rules or llm")
    embedder = _embedder(options, llm_timeout)
    with store.run("graph build", options) as summary, progress_bar() as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total, note="")
            bar.update(tasks[step], completed=done, total=total)

        report = build_graph(
            store, include_catalog=options.get("include_catalog", False), embedder=embedder, judge=judge,
            k=options.get("k", 10), per_server=options.get("per_server", 8), progress=progress,
        )
        summary.update(report.summary())
    return report


def _print_graph_report(report: Any) -> None:
    e, c, j = report.embed, report.candidates, report.judge
    console.print(f"embedded {e.embedded} tool(s) with {escape(e.model)} ({e.reused} reused, {e.failed} failed)")
    for message in e.errors[:5]:
        err_console.print(f"  [red]embedding failed:[/red] {escape(message)}")
    console.print(f"vector index: {report.indexed} tools" + (" (rebuilt)" if report.index_rebuilt else ""))
    console.print(f"candidates: {c.pairs} pair(s) ({c.events} tool(s) with new candidates)")
    console.print(f"judged {j.judged} pair(s) with {escape(j.judge)}: {j.accepted} accepted; {j.failed} left unjudged")
    if j.stopped:
        err_console.print(f"  [yellow]stopped:[/yellow] {escape(j.stopped)}")
    _print_stats(report.stats)


def _print_stats(stats: dict[str, Any]) -> None:
    table = Table(title="graph", title_justify="left", show_header=False, box=None, padding=(0, 2))
    for key, value in stats.items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


# -- looking -----------------------------------------------------------------------------------


@graph_app.command("edges")
@handle_errors
def edges(
    tool: Annotated[Optional[str], typer.Option(help="Only edges touching this tool (name or server/name).")] = None,
    limit: Annotated[int, typer.Option(help="Show at most this many edges.")] = 50,
    include_catalog: CatalogOption = False,
    db: DbOption = None,
) -> None:
    """List accepted edges, best first, with the judge's reason."""
    from .graph import edge_rows

    with open_store(db, reading=True) as store:
        rows = edge_rows(store, tool=tool, include_catalog=include_catalog, limit=limit)
    if not rows:
        console.print("No edges. Build the graph first: firefly graph build")
        return
    table = Table("source", "target", "score", "judge", "reason")
    for source, target, score, judge, reason in rows:
        table.add_row(escape(source), escape(target), f"{score:.2f}", escape(judge), escape(reason[:160]))
    console.print(table)


@graph_app.command("stats")
@handle_errors
def stats(include_catalog: CatalogOption = False, db: DbOption = None) -> None:
    """Counts of the graph: tools, edges, isolated tools, components, cross-server edges."""
    from .graph import graph_stats, load_graph

    with open_store(db, reading=True) as store:
        _print_stats(graph_stats(load_graph(store, include_catalog=include_catalog)))


@graph_app.command("dags")
@handle_errors
def dags(
    limit: Annotated[int, typer.Option(help="Show at most this many DAGs.")] = 20,
    include_catalog: CatalogOption = False,
    db: DbOption = None,
) -> None:
    """List sampled sub-DAGs: their tools in order and their edges."""
    import json

    scope = "all" if include_catalog else "callable"
    with open_store(db, reading=True) as store:
        store.catch_up()
        rows = store.conn.execute(
            "SELECT dag_id, seed, idx, tools, edges FROM dags WHERE scope = ? ORDER BY position LIMIT ?", (scope, limit)
        ).fetchall()
    if not rows:
        console.print(f"No {scope} DAGs. Sample some: firefly sample --count 100")
        return
    table = Table("dag", "seed:index", "tools (in order)", "edges")
    for dag_id, seed, idx, tools, edge_list in rows:
        names = [f"{i}. {s}/{n}" for i, (s, n) in enumerate(json.loads(tools))]
        arrows = ", ".join(f"{a}->{b}" for a, b in json.loads(edge_list))
        table.add_row(escape(dag_id), f"{seed}:{idx}", escape("\n".join(names)), arrows)
    console.print(table)


# -- sampling ----------------------------------------------------------------------------------


@handle_errors
def sample(
    count: Annotated[int, typer.Option(help="DAGs wanted for this seed (those already sampled count).")] = 100,
    seed: Annotated[int, typer.Option(help="Sampling seed; a new seed samples new DAGs.")] = 0,
    min_size: Annotated[int, typer.Option(help="Fewest tools in a DAG.")] = 2,
    max_size: Annotated[int, typer.Option(help="Most tools in a DAG.")] = 6,
    include_catalog: CatalogOption = False,
    single_rounds: Annotated[int, typer.Option(
        min=1, help="One-tool DAGs for each tool no sampled DAG holds (a tool with no edge, the tool of a"
                    " one-tool server): each is another exploration, with other arguments.")] = 2,
    wait: WaitOption = False,
    db: DbOption = None,
) -> None:
    """Sample small sub-DAGs of the tool graph for exploration, spreading coverage over tools.

    Resumable: DAGs already sampled for the seed are kept, only the missing ones are drawn.
    """
    options = {"count": count, "seed": seed, "min_size": min_size, "max_size": max_size, "include_catalog": include_catalog,
               "single_rounds": single_rounds}
    with open_store(db, writer="sample", wait=wait) as store:
        sample_stage(store, options)


def sample_stage(store: Store, options: dict[str, Any]) -> Any:
    """Sampling with a progress bar and a summary line (``firefly run`` can call this)."""
    from .sample import SINGLE_ROUNDS, sample_dags

    count = options.get("count", 100)
    with store.run("sample", options) as summary, progress_bar() as bar:
        task = bar.add_task("sample", total=count, note="")
        report = sample_dags(
            store, count, seed=options.get("seed", 0), min_size=options.get("min_size", 2), max_size=options.get("max_size", 6),
            include_catalog=options.get("include_catalog", False),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            single_rounds=options.get("single_rounds", SINGLE_ROUNDS),
        )
        summary.update(report.summary())
    if not report.tools_with_edges:
        console.print("The graph has no edges to sample from. Build it first: firefly graph build")
        return report
    sizes = ", ".join(f"{size} tools: {n}" for size, n in sorted(report.sizes.items()))
    console.print(
        f"sampled {report.sampled} new {report.scope} DAG(s) ({report.existing} already there){f' — {sizes}' if sizes else ''};"
        f" {report.tools_covered} of {report.tools_with_edges} tools with edges are in a DAG"
    )
    if report.exhausted:
        err_console.print(f"[yellow]stopped early:[/yellow] {escape(report.exhausted)}")
    return report


def pipeline_stage(store: Store, *, dags: int = 100, seed: int = 0) -> None:
    """The graph and sampling stages of ``firefly run``: the default graph over callable tools,
    then ``dags`` sub-DAGs of it. Both are resumable."""
    _print_graph_report(build_stage(store, {}))
    sample_stage(store, {"count": dags, "seed": seed})
