"""Benchmark the tool-call executor against a bare MCP client call to the same server.

One run measures, on one real stdio server (the toy server of the tests, ``tests/servers/
toy.py``, its ``echo`` tool; or ``--server time`` for ``uvx mcp-server-time``):

a) Per-call overhead. The median latency of ``--calls`` sequential calls made with a bare
   ``mcp.ClientSession`` over ``stdio_client`` (the baseline), and of the same calls made
   with :class:`firefly.explore.executor.Executor` (session lookup, concurrency limits,
   timeout scope, result recording: wire-format JSON, virtual paths in a sandbox, size
   check). Overhead = executor median - bare median (goal: under 2 ms). Rounds alternate
   between the two so that a busy machine hurts both alike; the best round counts.

b) Throughput. Calls per second at concurrency 1, 4 and 16 (that many calls in flight at
   once over the one session), for the executor and, side by side, for the bare session.

Run from the repository root:

    .venv/bin/python scripts/bench_explore.py
    .venv/bin/python scripts/bench_explore.py --server time --calls 300
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from firefly.connect import Endpoint, child_environment
from firefly.explore.executor import Executor
from firefly.explore.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "servers" / "toy.py"


def server_spec(name: str) -> tuple[str, list[str], str, dict[str, Any]]:
    """(command, args, tool, arguments) of the benchmarked server."""
    if name == "toy":
        return sys.executable, [str(TOY)], "echo", {"text": "/workspace/files/README.md"}
    if name == "time":
        uvx = str(Path(sys.executable).with_name("uvx"))
        return uvx, ["mcp-server-time==2026.10.19", "--local-timezone", "UTC"], "get_current_time", {"timezone": "UTC"}
    raise SystemExit(f"unknown server {name!r}: use toy or time")


async def bare_latencies(params: StdioServerParameters, tool: str, arguments: dict[str, Any], n: int) -> list[float]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool(tool, arguments)  # warm up
        out = []
        for _ in range(n):
            started = time.perf_counter()
            await session.call_tool(tool, arguments)
            out.append((time.perf_counter() - started) * 1000)
        return out


async def bare_rate(params: StdioServerParameters, tool: str, arguments: dict[str, Any], n: int, k: int) -> float:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.call_tool(tool, arguments)
        return await _rate(lambda: session.call_tool(tool, arguments), n, k)


async def executor_latencies(endpoint: Endpoint, sandbox: Sandbox, tool: str, arguments: dict[str, Any],
                             n: int) -> list[float]:
    async with Executor(lambda s, sb: endpoint, workspace_bound={"bench"}, connect_timeout=300) as ex:
        first = await ex.call("bench", tool, arguments, sandbox=sandbox)
        if not first.ok:
            raise SystemExit(f"the benchmarked call fails: {first.error or first.content}")
        out = []
        for _ in range(n):
            started = time.perf_counter()
            await ex.call("bench", tool, arguments, sandbox=sandbox)
            out.append((time.perf_counter() - started) * 1000)
        return out


async def executor_rate(endpoint: Endpoint, sandbox: Sandbox, tool: str, arguments: dict[str, Any], n: int,
                        k: int) -> float:
    async with Executor(lambda s, sb: endpoint, workspace_bound={"bench"}, per_server=k, overall=k,
                        connect_timeout=300) as ex:
        await ex.call("bench", tool, arguments, sandbox=sandbox)
        return await _rate(lambda: ex.call("bench", tool, arguments, sandbox=sandbox), n, k)


async def _rate(call: Any, n: int, k: int) -> float:
    remaining = [n]

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await call()

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(k):
            tg.start_soon(worker)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="time", help="time (uvx mcp-server-time, the default) or toy (tests/servers/toy.py)")
    parser.add_argument("--calls", type=int, default=400, help="sequential calls per latency round")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds (alternating bare / executor); the best counts")
    parser.add_argument("--throughput-calls", type=int, default=600, help="calls per throughput figure")
    args = parser.parse_args()

    command, argv, tool, arguments = server_spec(args.server)
    params = StdioServerParameters(command=command, args=argv, env=child_environment({}))  # as firefly starts it
    endpoint = Endpoint(name="bench", transport="stdio", command=command, args=argv)
    with tempfile.TemporaryDirectory(prefix="firefly-bench-") as tmp:
        (Path(tmp) / "ws").mkdir()
        sandbox = Sandbox(Path(tmp) / "ws")
        bare_medians, ex_medians = [], []
        for _ in range(args.rounds):
            bare_medians.append(statistics.median(anyio.run(bare_latencies, params, tool, arguments, args.calls)))
            ex_medians.append(statistics.median(anyio.run(executor_latencies, endpoint, sandbox, tool, arguments,
                                                          args.calls)))
        bare, ex = min(bare_medians), min(ex_medians)
        overhead = ex - bare
        print(f"server: {args.server} ({' '.join([Path(command).name, *argv[-3:]])}), tool {tool}")
        print()
        print("per-call latency (median of sequential calls, best of "
              f"{args.rounds} rounds of {args.calls})")
        print(f"  bare mcp ClientSession   {bare:8.3f} ms")
        print(f"  firefly Executor         {ex:8.3f} ms")
        verdict = "PASS" if overhead < 2.0 else "MISS"
        print(f"  executor overhead        {overhead:8.3f} ms  ({ex / bare:.2f}x bare)   goal < 2 ms: {verdict}")
        print()
        print(f"throughput (calls/s over one session, {args.throughput_calls} calls)")
        print(f"  {'concurrency':>11}  {'bare':>9}  {'executor':>9}  {'ratio':>6}")
        for k in (1, 4, 16):
            b = anyio.run(bare_rate, params, tool, arguments, args.throughput_calls, k)
            e = anyio.run(executor_rate, endpoint, sandbox, tool, arguments, args.throughput_calls, k)
            print(f"  {k:>11}  {b:>9.0f}  {e:>9.0f}  {e / b:>6.2f}")


if __name__ == "__main__":
    main()
