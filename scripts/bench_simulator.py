"""Benchmark the simulator: an exact hit in process against the same call on the real server.

Measures, in one run, in a temp dir:

1. The real server (the baseline). ``mcp-server-time`` is started with ``uvx`` and driven by a
   bare ``mcp`` ``ClientSession`` over stdio. Its tool listing is recorded
   (``tool-discovered``) and ``--real`` calls of ``convert_time`` and ``get_current_time``
   with varied arguments are made and recorded (``tool-called``), each timed.
2. A realistic log of ``--calls`` recorded calls (default 100,000): the real ones plus
   synthesized explorations of 3-8 calls over five tools of four servers (time, calculator,
   filesystem with effectful writes, git), with varied arguments and results, appended with
   ``append_many``; the simulator's projection is brought up to date (timed).
3. Exact hits (strict mode, in process): ``--samples`` recorded calls drawn at random from the
   whole log, each made in an episode whose world is the one it was recorded in (p50 and
   p99 of ``Episode.call_sync``; goal: p50 under 0.5 ms). Then the real server's calls again,
   ``--rounds`` times, in alternating blocks (all on the real server, then all on the
   simulator), so both figures are measured under the same load; goal: the simulator at
   least 100 times faster (p50 / p50).
4. The retrieval path (nearest mode): calls whose arguments were never recorded (a time, an
   expression or a path changed), answered from the most similar recorded arguments; the
   first use of each tool's index (built or opened) is timed apart. And the strict miss.

Run from the repository root:

    .venv/bin/python scripts/bench_simulator.py                 # 100,000 calls
    .venv/bin/python scripts/bench_simulator.py --calls 20000 --keep /tmp/simbench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from rich.console import Console
from rich.table import Table

from firefly.events import ToolCalled, ToolDiscovered
from firefly.ids import canonical_json, content_hash, short_hash
from firefly.simulator import Simulator
from firefly.store import Store

TIME_SERVER = ["mcp-server-time==2026.10.19", "--local-timezone", "UTC"]
ZONES = ["UTC", "Europe/Paris", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney",
         "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin", "America/Sao_Paulo", "Africa/Cairo", "Asia/Singapore"]
console = Console(highlight=False, width=120)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- 1. the real server --------------------------------------------------------------------


async def record_real(session: Any, count: int, seed: int) -> tuple[list[ToolDiscovered], list[tuple[str, dict[str, Any], dict[str, Any], float]]]:
    """The time server's listing, and ``count`` real calls: (tool, arguments, result, ms)."""
    rng = random.Random(seed)
    listing = await session.list_tools()
    tools = []
    for t in listing.tools:
        wire = t.model_dump(mode="json", by_alias=True, exclude_none=True)
        tools.append(ToolDiscovered(server="time", name=t.name, description=t.description,
                                    input_schema=wire["inputSchema"], output_schema=wire.get("outputSchema"),
                                    annotations=wire.get("annotations", {}), schema_hash="sha256:" + short_hash(wire, 64)))
    for _ in range(3):  # warm up
        await session.call_tool("get_current_time", {"timezone": "UTC"})
    out = []
    for i in range(count):
        if i % 4 == 0:
            name, args = "get_current_time", {"timezone": rng.choice(ZONES)}
        else:
            name, args = "convert_time", {"source_timezone": rng.choice(ZONES), "target_timezone": rng.choice(ZONES),
                                          "time": f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"}
        started = time.perf_counter()
        result = await session.call_tool(name, args)
        ms = (time.perf_counter() - started) * 1000
        out.append((name, args, result.model_dump(mode="json", by_alias=True, exclude_none=True), ms))
    return tools, out


async def alternating(session: Any, sim: Simulator, calls: list[tuple[str, dict[str, Any]]], rounds: int) -> tuple[list[float], list[list[float]], int]:
    """The same calls against the real server and the simulator, in alternating blocks
    (all of them on the real server, then all of them on the simulator, ``rounds`` times), so
    that both figures see the same load on a busy machine: ms of each real call, ms of each
    simulated call per round (the first round reads SQLite, later ones the simulator's row
    cache), and exact hits."""
    real: list[float] = []
    simulated: list[list[float]] = []
    hits = 0
    for _ in range(rounds):
        for name, args in calls:
            started = time.perf_counter()
            await session.call_tool(name, args)
            real.append((time.perf_counter() - started) * 1000)
        simulated.append([])
        for name, args in calls:
            ep = sim.episode()
            started = time.perf_counter()
            r = ep.call_sync("time", name, args)
            simulated[-1].append((time.perf_counter() - started) * 1000)
            hits += r.meta.get("match") == "exact"
    return real, simulated, hits


# -- 2. a realistic log -------------------------------------------------------------------------


def synthetic_tools() -> list[ToolDiscovered]:
    def tool(server: str, name: str, props: dict[str, Any], required: list[str], read_only: bool) -> ToolDiscovered:
        schema = {"type": "object", "properties": props, "required": required}
        return ToolDiscovered(server=server, name=name, description=f"{name} ({server})", input_schema=schema,
                              annotations={"readOnlyHint": read_only}, schema_hash="sha256:" + short_hash([server, name, schema], 64))

    return [
        tool("calculator", "calculate", {"expression": {"type": "string"}}, ["expression"], True),
        tool("filesystem", "read_text_file", {"path": {"type": "string"}, "head": {"type": "integer"}}, ["path"], True),
        tool("filesystem", "write_file", {"path": {"type": "string"}, "content": {"type": "string"}}, ["path", "content"], False),
        tool("git", "git_log", {"repo_path": {"type": "string"}, "max_count": {"type": "integer", "default": 10}}, ["repo_path"], True),
    ]


WORDS = "alpha beta gamma delta report notes budget plan draft final summary invoice order stock price".split()


def synthetic_call(rng: random.Random) -> tuple[str, str, dict[str, Any], str]:
    kind = rng.random()
    if kind < 0.3:
        a, b, op = rng.randint(0, 9999), rng.randint(1, 999), rng.choice("+-*/")
        expr = f"{a} {op} {b}"
        return "calculator", "calculate", {"expression": expr}, str(eval(expr))  # noqa: S307 - digits and one operator
    if kind < 0.55:
        path = f"/workspace/files/{rng.choice(WORDS)}/{rng.choice(WORDS)}-{rng.randrange(500)}.md"
        return "filesystem", "read_text_file", {"path": path}, " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
    if kind < 0.7:
        path = f"/workspace/files/{rng.choice(WORDS)}/{rng.choice(WORDS)}-{rng.randrange(500)}.md"
        return "filesystem", "write_file", {"path": path, "content": " ".join(rng.choice(WORDS) for _ in range(8))}, f"Successfully wrote to {path}"
    if kind < 0.85:
        n = rng.randint(1, 30)
        log = "\n".join(f"Commit: {short_hash([n, i], 40)}\nMessage: {rng.choice(WORDS)} {rng.choice(WORDS)}" for i in range(min(n, 5)))
        return "git", "git_log", {"repo_path": "/workspace/repo", "max_count": n}, log
    src, dst = rng.choice(ZONES), rng.choice(ZONES)
    hhmm = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
    return "time", "convert_time", {"source_timezone": src, "target_timezone": dst, "time": hhmm}, canonical_json(
        {"source": {"timezone": src, "datetime": f"2026-01-01T{hhmm}:00"}, "target": {"timezone": dst}})


def build_log(store: Store, total: int, real: list[tuple[str, dict[str, Any], dict[str, Any], float]], seed: int) -> None:
    rng = random.Random(seed)
    read_only = {("filesystem", "write_file"): False}
    events: list[ToolCalled] = []
    for i, (name, args, wire, ms) in enumerate(real):
        events.append(ToolCalled(exploration_id=f"real{i}", step=0, server="time", tool=name, arguments=args,
                                 arguments_hash=content_hash(args), content=wire.get("content", []),
                                 structured_content=wire.get("structuredContent"), is_error=bool(wire.get("isError")),
                                 latency_ms=round(ms, 3), read_only=True, state=content_hash([])))
    x = 0
    while len(events) < total:
        effects: list[str] = []
        for step in range(rng.randint(3, 8)):
            if len(events) >= total:
                break
            server, tool, args, text = synthetic_call(rng)
            ro = read_only.get((server, tool), True)
            h = content_hash(args)
            events.append(ToolCalled(exploration_id=f"syn{x}", step=step, server=server, tool=tool, arguments=args,
                                     arguments_hash=h, content=[{"type": "text", "text": text}], read_only=ro,
                                     state=content_hash(effects)))
            if not ro:
                effects.append(canonical_json([server, tool, h]))
        x += 1
    for start in range(0, len(events), 5000):
        with store.transaction():
            store.append_many(events[start : start + 5000])


# -- 3. and 4. the simulator ----------------------------------------------------------------------


def sample_worlds(store: Store, positions: list[int]) -> list[tuple[str, str, dict[str, Any], list[tuple[str, str, str]]]]:
    import json

    out = []
    for p in positions:
        server, tool, args, xid, step = store.conn.execute(
            "SELECT server, tool, arguments, exploration_id, step FROM sim_calls WHERE position = ?", (p,)).fetchone()
        effects = store.conn.execute("SELECT server, tool, arguments_hash FROM sim_calls WHERE exploration_id = ? AND step < ?"
                                     " AND effect = 1 ORDER BY step", (xid, step)).fetchall()
        out.append((server, tool, json.loads(args), effects))
    return out


def time_calls(sim: Simulator, calls: list[tuple[str, str, dict[str, Any], list[tuple[str, str, str]]]]) -> tuple[list[float], int]:
    """ms per call_sync (each in an episode of its recorded world), and how many were exact hits."""
    times, hits = [], 0
    for server, tool, args, effects in calls:
        ep = sim.episode(effects)
        started = time.perf_counter()
        r = ep.call_sync(server, tool, args)
        times.append((time.perf_counter() - started) * 1000)
        hits += r.meta.get("match") == "exact"
    return times, hits


def perturb(rng: random.Random, server: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    args = dict(args)
    if tool == "calculate":
        args["expression"] = args["expression"] + " + 0"
    elif tool in ("read_text_file", "write_file"):
        args["path"] = args["path"].replace(".md", ".txt")
    elif tool == "git_log":
        args["max_count"] = 1000 + rng.randrange(1000)
    elif tool == "convert_time":
        args["time"] = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:30"
    else:
        args["timezone"] = args.get("timezone", "UTC") + "/Nowhere"
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000, help="recorded calls in the log")
    parser.add_argument("--real", type=int, default=200, help="calls recorded from the real server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating blocks of the real calls (real server, then simulator)")
    parser.add_argument("--samples", type=int, default=20_000, help="exact hits timed over the whole log")
    parser.add_argument("--misses", type=int, default=2_000, help="retrieval-path calls timed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the database in this folder and keep it")
    args = parser.parse_args(argv)
    return anyio.run(bench, args)


async def bench(args: argparse.Namespace) -> int:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from firefly.connect import child_environment

    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="firefly-simbench-"))
    root.mkdir(parents=True, exist_ok=True)
    db = root / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    console.print(f"[bold]simulator benchmark[/bold]: {args.calls:,} recorded calls in {db}")
    params = StdioServerParameters(command="uvx", args=TIME_SERVER, env=child_environment({}))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        console.print(f"1. recording {args.real} calls of the real server: uvx {' '.join(TIME_SERVER)} (a bare mcp ClientSession) ...")
        tools, real = await record_real(session, args.real, args.seed)

        store = Store.open(db)
        with store.transaction():
            store.append_many([*tools, *synthetic_tools()])
        console.print(f"2. synthesizing {args.calls - len(real):,} more recorded calls ...")
        started = time.perf_counter()
        build_log(store, args.calls, real, args.seed)
        append_s = time.perf_counter() - started
        started = time.perf_counter()
        store.catch_up()
        project_s = time.perf_counter() - started
        recorded = store.conn.execute("SELECT count(*), count(DISTINCT key) FROM sim_calls").fetchone()

        console.print("3. exact hits in process, and the same calls against the real server, in alternating blocks ...")
        positions = [p for (p,) in store.conn.execute("SELECT position FROM sim_calls")]
        drawn = rng.sample(positions, min(args.samples + 500, len(positions)))
        time_calls(Simulator.open(store, mode="strict"), sample_worlds(store, drawn[args.samples:]))  # warm up: page cache, code
        sampled = sample_worlds(store, drawn[: args.samples])
        sim = Simulator.open(store, mode="strict")
        hit_ms, hits = time_calls(sim, sampled)
        real_ms, rounds_ms, same_hits = await alternating(session, sim, [(name, a) for name, a, _, _ in real], args.rounds)
        same_ms = [ms for block in rounds_ms for ms in block]

    console.print("4. the retrieval path (nearest mode) ...")
    near = Simulator.open(store, mode="nearest")
    missing = [(s, t, perturb(rng, s, t, a), e) for s, t, a, e in sampled[: args.misses]]
    started = time.perf_counter()
    indexed = near.index.build_all()
    index_s = time.perf_counter() - started
    near_ms, near_exact = time_calls(near, missing)
    approximate = sum(1 for s, t, a, e in missing[:200] if near.episode(e).call_sync(s, t, a).meta.get("approximate"))
    miss_ms, _ = time_calls(sim, missing)

    hit50, hit99 = percentile(hit_ms, 0.5), percentile(hit_ms, 0.99)
    cold, warm = rounds_ms[0], [ms for block in rounds_ms[1:] for ms in block] or rounds_ms[0]
    real50, real99 = percentile(real_ms, 0.5), percentile(real_ms, 0.99)
    all50, all99 = percentile(same_ms, 0.5), percentile(same_ms, 0.99)
    cold50, cold99 = percentile(cold, 0.5), percentile(cold, 0.99)
    ratio = real50 / all50 if all50 else float("inf")
    recorded_real = [r[3] for r in real]

    def ms(values: list[float]) -> tuple[str, str, str]:
        return f"{len(values):,}", f"{percentile(values, 0.5):.3f}", f"{percentile(values, 0.99):.3f}"

    table = Table(title=f"simulator vs real server ({recorded[0]:,} recorded calls, {recorded[1]:,} distinct keys)", title_justify="left")
    for col in ("measure", "calls", "p50 ms", "p99 ms", "goal", ""):
        table.add_column(col, justify="right" if col in ("calls", "p50 ms", "p99 ms") else "left")
    table.add_row("exact hit: random recorded calls, each made once", *ms(hit_ms), "p50 < 0.5 ms", "PASS" if hit50 < 0.5 else "MISS")
    table.add_row("exact hit: the real server's calls, first round", *ms(cold), "", "")
    table.add_row("exact hit: the same, later rounds (row cache)", *ms(warm), "", "")
    table.add_row("real server: the same calls (alternating blocks)", *ms(real_ms), "baseline", "")
    table.add_row("ratio real / simulator, first round: p50 (p99)", "", f"{real50 / cold50:,.0f}x", f"({real99 / cold99:,.0f}x)", "", "")
    table.add_row("ratio real / simulator, all rounds: p50 (p99)", "", f"{ratio:,.0f}x", f"({real99 / all99:,.0f}x)",
                  ">= 100x", "PASS" if ratio >= 100 else "MISS")
    table.add_row("retrieval path: nearest on a miss", *ms(near_ms), "", "")
    table.add_row("strict miss", *ms(miss_ms), "", "")
    console.print(table)
    console.print(
        f"exact hits found: {hits:,} of {len(hit_ms):,} random, {same_hits:,} of {len(same_ms):,} real calls;"
        f" nearest answered {approximate} of 200 unrecorded calls approximately ({near_exact} exact)\n"
        f"log: {len(real)} real + {args.calls - len(real):,} synthesized calls appended in {append_s:.1f} s, projected in"
        f" {project_s:.1f} s; argument indexes of {indexed} tools built in {index_s:.1f} s;"
        f" real calls while recording: p50 {percentile(recorded_real, 0.5):.2f} ms, mean {statistics.mean(recorded_real):.2f} ms"
    )
    ok = hits == len(hit_ms) and same_hits == len(same_ms)
    if not ok:
        console.print("[red]some recorded calls did not hit exactly: a bug[/red]")
    store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
