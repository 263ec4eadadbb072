"""Measure the offline explorer policy against the six bundled real MCP servers.

Builds a seed workspace, starts the servers of ``data/servers.json`` on it (``uvx`` / ``npx``,
``${FIREFLY_WORKSPACE}`` substituted), lists their tools, and runs hand-written plus randomly
generated coherent tool sequences (2-6 tools, within and across servers) through
:class:`firefly.explore.offline.OfflinePolicy`, calling the real tools and feeding each
result into the history of the next proposal. Arguments and results are mapped between the
virtual root ``/workspace`` and the real root by plain string replacement.

The workspace is rebuilt in place (same path, so running servers keep working: every bundled
server re-reads its files on each call) before each sequence, and the servers are restarted
every ``--restart-every`` sequences and whenever one of them dies.

Prints the call success rate (every attempt counts), the tool success rate after one retry,
and the share of sequences with two or more successful calls where a later call used a value
from an earlier result (an ArgSource pointing at a successful step).

    .venv/bin/python scripts/explore_offline_check.py --random 120 --seed 7
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from firefly.connect import Endpoint, open_client
from firefly.explore.offline import OfflinePolicy, workspace_info
from firefly.explore.policy import VIRTUAL_ROOT, CallRecord, ToolRef
from firefly.explore.values import looks_like_error, resolve_locator
from firefly.resources import bundled_registry
from firefly.seeds import WORKSPACE_VAR, build_workspace

# Hand-written coherent sequences (server/tool), from the examples and beyond.
HAND: list[list[str]] = [
    ["git/git_log", "git/git_show"],
    ["git/git_log", "git/git_show", "git/git_diff"],
    ["git/git_branch", "git/git_checkout", "git/git_log"],
    ["git/git_log", "git/git_branch"],
    ["git/git_status", "git/git_diff_unstaged"],
    ["git/git_show", "git/git_add", "git/git_diff_staged"],
    ["git/git_branch", "git/git_create_branch", "git/git_checkout", "git/git_log"],
    ["filesystem/list_directory", "filesystem/read_text_file"],
    ["filesystem/list_allowed_directories", "filesystem/list_directory", "filesystem/read_text_file"],
    ["filesystem/search_files", "filesystem/read_multiple_files"],
    ["filesystem/directory_tree", "filesystem/read_text_file", "filesystem/edit_file"],
    ["filesystem/list_directory", "filesystem/move_file", "filesystem/list_directory"],
    ["filesystem/create_directory", "filesystem/write_file", "filesystem/read_text_file"],
    ["filesystem/list_directory_with_sizes", "filesystem/get_file_info"],
    ["sqlite/list_tables", "sqlite/describe_table", "sqlite/read_query"],
    ["sqlite/list_tables", "sqlite/read_query", "sqlite/write_query", "sqlite/read_query"],
    ["sqlite/list_tables", "sqlite/create_table", "sqlite/write_query"],
    ["sqlite/read_query", "calculator/calculate"],
    ["sqlite/read_query", "sqlite/append_insight"],
    ["memory/read_graph", "memory/open_nodes"],
    ["memory/search_nodes", "memory/open_nodes", "memory/add_observations"],
    ["memory/read_graph", "memory/create_relations"],
    ["memory/open_nodes", "memory/delete_observations", "memory/open_nodes"],
    ["memory/create_entities", "memory/create_relations", "memory/open_nodes"],
    ["time/get_current_time", "time/convert_time"],
    ["filesystem/read_text_file", "time/get_current_time", "time/convert_time"],
    ["git/git_log", "memory/search_nodes", "memory/open_nodes"],
    ["sqlite/read_query", "memory/create_entities", "memory/open_nodes"],
    ["git/git_log", "git/git_show", "filesystem/write_file"],
    ["memory/read_graph", "filesystem/write_file", "filesystem/read_text_file"],
    ["sqlite/describe_table", "sqlite/read_query", "calculator/calculate", "filesystem/write_file"],
    ["filesystem/get_file_info", "calculator/calculate"],
]

# Coherent flows: A -> B where B can use what A returns (for random sequences).
FLOWS: dict[str, list[str]] = {
    "time/get_current_time": ["time/convert_time", "filesystem/write_file", "memory/add_observations"],
    "time/convert_time": ["filesystem/write_file", "time/get_current_time"],
    "git/git_log": ["git/git_show", "git/git_diff", "git/git_branch", "memory/search_nodes", "memory/open_nodes",
                    "memory/create_entities", "filesystem/write_file"],
    "git/git_show": ["git/git_add", "git/git_show", "git/git_diff", "filesystem/write_file", "memory/search_nodes"],
    "git/git_diff": ["git/git_add", "git/git_show", "calculator/calculate"],
    "git/git_branch": ["git/git_checkout", "git/git_diff", "git/git_create_branch", "git/git_log"],
    "git/git_status": ["git/git_diff_unstaged", "git/git_diff_staged", "git/git_branch"],
    "git/git_add": ["git/git_diff_staged", "git/git_status", "git/git_reset", "git/git_commit"],
    "git/git_checkout": ["git/git_log", "git/git_status"],
    "git/git_create_branch": ["git/git_checkout", "git/git_branch"],
    "git/git_diff_staged": ["git/git_reset"],
    "sqlite/list_tables": ["sqlite/describe_table", "sqlite/read_query", "sqlite/create_table"],
    "sqlite/describe_table": ["sqlite/read_query", "sqlite/write_query"],
    "sqlite/read_query": ["sqlite/read_query", "sqlite/write_query", "calculator/calculate", "memory/create_entities",
                          "sqlite/append_insight", "filesystem/write_file", "memory/search_nodes"],
    "sqlite/write_query": ["sqlite/read_query"],
    "sqlite/create_table": ["sqlite/write_query", "sqlite/describe_table", "sqlite/list_tables"],
    "calculator/calculate": ["calculator/calculate", "filesystem/write_file", "sqlite/append_insight"],
    "filesystem/list_allowed_directories": ["filesystem/list_directory", "filesystem/directory_tree",
                                            "filesystem/search_files"],
    "filesystem/list_directory": ["filesystem/read_text_file", "filesystem/get_file_info", "filesystem/list_directory",
                                  "filesystem/read_media_file", "filesystem/read_file",
                                  "filesystem/move_file", "filesystem/search_files", "filesystem/write_file",
                                  "filesystem/read_multiple_files"],
    "filesystem/list_directory_with_sizes": ["filesystem/read_text_file", "filesystem/get_file_info"],
    "filesystem/directory_tree": ["filesystem/read_text_file", "filesystem/get_file_info"],
    "filesystem/search_files": ["filesystem/read_multiple_files", "filesystem/read_text_file", "filesystem/get_file_info"],
    "filesystem/read_text_file": ["filesystem/edit_file", "time/get_current_time", "calculator/calculate",
                                  "filesystem/write_file", "memory/search_nodes"],
    "filesystem/read_multiple_files": ["filesystem/edit_file", "calculator/calculate", "memory/search_nodes"],
    "filesystem/write_file": ["filesystem/read_text_file", "filesystem/get_file_info", "filesystem/move_file"],
    "filesystem/create_directory": ["filesystem/write_file", "filesystem/list_directory"],
    "filesystem/move_file": ["filesystem/list_directory", "filesystem/get_file_info"],
    "filesystem/get_file_info": ["calculator/calculate", "filesystem/read_text_file"],
    "filesystem/edit_file": ["filesystem/read_text_file"],
    "memory/read_graph": ["memory/open_nodes", "memory/search_nodes", "memory/create_relations",
                          "memory/add_observations", "filesystem/write_file"],
    "memory/search_nodes": ["memory/open_nodes", "memory/add_observations", "memory/delete_entities"],
    "memory/open_nodes": ["memory/add_observations", "memory/delete_observations", "memory/delete_relations",
                          "memory/create_relations"],
    "memory/create_entities": ["memory/create_relations", "memory/open_nodes", "memory/add_observations"],
    "memory/create_relations": ["memory/open_nodes", "memory/read_graph"],
    "memory/add_observations": ["memory/open_nodes"],
}


@dataclass
class StepResult:
    step: int
    tool: str
    attempt: int
    arguments: dict[str, Any] | None
    ok: bool
    skipped: bool = False
    error: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    pos: int = 0  # the tool's position in the sequence


@dataclass
class SequenceResult:
    tools: list[str]
    steps: list[StepResult] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chained(self) -> bool:
        ok_steps = {s.step for s in self.steps if s.ok}
        if len(ok_steps) < 2:
            return False
        return any(s.ok and any(src["step"] in ok_steps and src["step"] < s.step for src in s.sources)
                   for s in self.steps)


def random_sequences(n: int, rng: random.Random, tools: set[str], *, coherent: bool = True) -> list[list[str]]:
    """Coherent DAGs in topological order: each new tool follows some tool already chosen.

    With ``coherent`` False: any 2-6 listed tools in any order (a stress test, not a workflow).
    """
    out: list[list[str]] = []
    if not coherent:
        pool = sorted(tools)
        return [[rng.choice(pool) for _ in range(rng.randint(2, 6))] for _ in range(n)]
    starts = [t for t in FLOWS if t in tools]
    while len(out) < n:
        length = rng.randint(2, 6)
        seq = [rng.choice(starts)]
        tries = 0
        while len(seq) < length and tries < 20:
            tries += 1
            parent = seq[-1] if rng.random() < 0.7 else rng.choice(seq)
            nxt = [t for t in FLOWS.get(parent, []) if t in tools]
            if not nxt:
                continue
            seq.append(rng.choice(nxt))
        if len(seq) >= 2:
            out.append(seq)
    return out


class Servers:
    """The bundled servers running on one workspace root."""

    def __init__(self, root: Path, only: set[str] | None = None):
        self.root = root
        self.only = only
        self.stack: AsyncExitStack | None = None
        self.clients: dict[str, Any] = {}
        self.tools: dict[str, ToolRef] = {}

    def endpoints(self) -> list[Endpoint]:
        reg = json.loads(bundled_registry().read_text(encoding="utf-8"))["mcpServers"]
        real = str(self.root)

        def sub(s: str) -> str:
            return s.replace("${" + WORKSPACE_VAR + "}", real)

        out = []
        for name, spec in reg.items():
            if self.only and name not in self.only:
                continue
            out.append(Endpoint(name=name, transport="stdio", command=spec["command"],
                                args=[sub(a) for a in spec.get("args", [])],
                                env={k: sub(v) for k, v in spec.get("env", {}).items()}))
        return out

    async def start(self) -> None:
        await self.stop()
        self.stack = AsyncExitStack()
        await self.stack.__aenter__()
        for ep in self.endpoints():
            client = await self.stack.enter_async_context(open_client(ep, connect_timeout=300, call_timeout=60))
            self.clients[ep.name] = client
            page = await client.list_tools()
            for t in page.tools:
                d = t.model_dump(mode="json", by_alias=True, exclude_none=True)
                ref = ToolRef(server=ep.name, name=d["name"], description=d.get("description"),
                              input_schema=d.get("inputSchema") or {}, annotations=d.get("annotations") or {},
                              output_schema=d.get("outputSchema"))
                self.tools[ref.key] = ref

    async def stop(self) -> None:
        if self.stack is not None:
            with contextlib.suppress(Exception):  # a server that died on the way out
                await self.stack.aclose()
        self.stack = None
        self.clients = {}


def reset_workspace(root: Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    build_workspace(root)


def in_band_error(content: list[dict[str, Any]], structured: Any) -> bool:
    """A failure reported as ordinary text (mcp-server-sqlite: ``Database error: ...``)."""
    return looks_like_error(CallRecord(step=0, server="", tool="", arguments={}, content=content,
                                       structured=structured, is_error=False))


def to_real(value: Any, root: str) -> Any:
    return json.loads(json.dumps(value).replace(VIRTUAL_ROOT, root)) if value is not None else None


def to_virtual(value: Any, roots: list[str]) -> Any:
    text = json.dumps(value, ensure_ascii=False)
    for r in roots:
        text = text.replace(r, VIRTUAL_ROOT)
    return json.loads(text)


async def run_sequence(seq: list[str], servers: Servers, policy: OfflinePolicy, seed: str, *,
                       retries: int = 1, failed_in_history: bool = False) -> SequenceResult:
    """Explore one sequence as the exploration stage does.

    Like the stage, a step is the tool's position in the sequence, a failed call is retried
    once (``attempt`` 1), and only successful calls enter the history the policy sees, unless
    ``failed_in_history`` (then failed attempts are in it too, with ``is_error`` set).
    """
    root = str(servers.root)
    roots = sorted({root, str(servers.root.resolve())}, key=len, reverse=True)
    ws = workspace_info(servers.root)
    res = SequenceResult(tools=list(seq))
    history: list[CallRecord] = []
    for i, key in enumerate(seq):
        tool = servers.tools.get(key)
        if tool is None:
            res.steps.append(StepResult(i, key, 0, None, ok=False, skipped=True, error="tool not listed", pos=i))
            continue
        for attempt in range(retries + 1):
            rng = random.Random(f"{seed}:{i}:{key}:{attempt}")
            proposal = policy.propose(tool, history, ws, rng, attempt)
            step = i
            if proposal is None:
                res.steps.append(StepResult(step, key, attempt, None, ok=False, skipped=True, error="policy skipped",
                                            pos=i))
                break
            client = servers.clients[tool.server]
            error = None
            try:
                with anyio.fail_after(60):
                    result = await client.call_tool(tool.name, to_real(proposal.arguments, root))
                content = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in result.content]
                structured = result.structured_content
                is_error = bool(result.is_error)
            except Exception as exc:  # noqa: BLE001 - a protocol error is a failed call
                content = [{"type": "text", "text": f"{type(exc).__name__}: {exc}"}]
                structured = None
                is_error = True
                if "closed" in str(exc).lower() or isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError)):
                    error = "server connection lost"
            if not is_error and in_band_error(content, structured):
                is_error = True  # the server reported a failure as an ordinary text result
            content = to_virtual(content, roots)
            structured = to_virtual(structured, roots) if structured is not None else None
            record = CallRecord(step=step, server=tool.server, tool=tool.name, arguments=proposal.arguments,
                                content=content, structured=structured, is_error=is_error)
            if not is_error or failed_in_history:
                history.append(record)
            text = " ".join(str(c.get("text", "")) for c in content)[:300]
            res.steps.append(StepResult(step, key, attempt, proposal.arguments, ok=not is_error,
                                        error=(error or text) if is_error else None,
                                        sources=[asdict(s) for s in proposal.sources], pos=i))
            res.records.append(asdict(record))
            if error == "server connection lost":
                raise ConnectionError(f"{tool.server}: {error}")
            if not is_error:
                break
    return res


async def run_check(*, n_random: int = 100, seed: int = 0, hand: bool = True, restart_every: int = 40,
                    coherent: bool = True,
                    verbose: bool = False, sequences: list[list[str]] | None = None,
                    workdir: Path | None = None, failed_in_history: bool = False) -> dict[str, Any]:
    """Run the sequences against real servers and return the figures (and every step)."""
    base = Path(workdir or tempfile.mkdtemp(prefix="firefly-offline-check-"))
    root = base / "ws"
    reset_workspace(root)
    servers = Servers(root)
    started = time.perf_counter()
    await servers.start()
    try:
        tool_keys = set(servers.tools)
        rng = random.Random(seed)
        seqs = list(sequences) if sequences is not None else []
        if sequences is None:
            if hand:
                seqs += [s for s in HAND if all(t in tool_keys for t in s)]
            seqs += random_sequences(n_random, rng, tool_keys, coherent=coherent)
        results: list[SequenceResult] = []
        for n, seq in enumerate(seqs):
            if n and restart_every and n % restart_every == 0:
                await servers.start()
            reset_workspace(root)
            try:
                r = await run_sequence(seq, servers, OfflinePolicy(), f"{seed}:{n}",
                                       failed_in_history=failed_in_history)
            except ConnectionError as exc:
                print(f"  restarting servers: {exc}", file=sys.stderr)
                await servers.start()
                reset_workspace(root)
                r = await run_sequence(seq, servers, OfflinePolicy(), f"{seed}:{n}",
                                       failed_in_history=failed_in_history)
            results.append(r)
            if verbose:
                _print_sequence(n, r)
    finally:
        await servers.stop()
        shutil.rmtree(base, ignore_errors=True)
    return summarize(results, time.perf_counter() - started)


def summarize(results: list[SequenceResult], seconds: float = 0.0) -> dict[str, Any]:
    calls = [s for r in results for s in r.steps if not s.skipped]
    ok = [s for s in calls if s.ok]
    tool_runs = [(r, t) for r in results for t in range(len(r.tools))]
    tools_ok = 0
    skipped = 0
    per_tool: dict[str, Counter[str]] = defaultdict(Counter)
    errors: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        by_tool: dict[int, list[StepResult]] = defaultdict(list)
        for s in r.steps:
            by_tool[s.pos].append(s)
        for steps in by_tool.values():
            name = steps[0].tool
            if any(s.ok for s in steps):
                tools_ok += 1
                per_tool[name]["ok"] += 1
            elif any(s.skipped for s in steps):
                skipped += 1
                per_tool[name]["skipped"] += 1
            else:
                per_tool[name]["failed"] += 1
            for s in steps:
                per_tool[name]["calls"] += 0 if s.skipped else 1
                per_tool[name]["call_ok"] += 1 if s.ok else 0
                if not s.ok and s.error:
                    errors[name][s.error[:140]] += 1
    chained = sum(1 for r in results if r.chained)
    with_sources = sum(1 for s in ok if s.sources)
    all_sources = [(r, src) for r in results for s in r.steps if s.ok for src in s.sources]
    holding = sum(source_holds(r.records, src) for r, src in all_sources)
    report = {
        "sequences": len(results),
        "calls": len(calls),
        "calls_ok": len(ok),
        "call_success_rate": round(len(ok) / len(calls), 4) if calls else 0.0,
        "tools": len(tool_runs),
        "tools_ok_after_retry": tools_ok,
        "tool_success_rate": round(tools_ok / len(tool_runs), 4) if tool_runs else 0.0,
        "skipped": skipped,
        "chained_sequences": chained,
        "chaining_rate": round(chained / len(results), 4) if results else 0.0,
        "ok_calls_using_earlier_values": with_sources,
        "sources": len(all_sources),
        "sources_verified": holding,
        "seconds": round(seconds, 1),
        "per_tool": {k: dict(v) for k, v in sorted(per_tool.items())},
        "errors": {k: dict(v.most_common(4)) for k, v in sorted(errors.items())},
        "results": results,
    }
    return report


def source_holds(records: list[dict[str, Any]], src: dict[str, Any]) -> bool:
    """Whether an ArgSource's locator resolves in the recorded result and holds its value."""
    rec = next((r for r in records if r["step"] == src["step"] and not r["is_error"]), None)
    if rec is None:
        return False
    located = resolve_locator(CallRecord(**rec), src["path"])
    if located is None:
        return False
    text = located if isinstance(located, str) else json.dumps(located, ensure_ascii=False, default=str)
    value = src["value"]
    if isinstance(value, dict):
        return all(str(v) in text or json.dumps(v, ensure_ascii=False) in text for v in value.values())
    s = str(value)
    if s in text or (isinstance(value, (int, float)) and s in text.replace(",", "")):
        return True
    # a listing entry resolved against the listed directory
    return isinstance(value, str) and value.startswith(VIRTUAL_ROOT) and value.rsplit("/", 1)[-1] in text


def _print_sequence(n: int, r: SequenceResult) -> None:
    mark = "chained" if r.chained else "-"
    print(f"[{n}] {' -> '.join(r.tools)}  ({mark})")
    for s in r.steps:
        status = "ok" if s.ok else ("skip" if s.skipped else "ERR")
        src = ", ".join(f"{x['argument']}<-#{x['step']}" for x in s.sources)
        print(f"    {s.step}:{s.tool}#{s.attempt} {status} {json.dumps(s.arguments, ensure_ascii=False)[:160]}"
              + (f"  [{src}]" if src else "") + (f"\n        {s.error[:160]}" if s.error else ""))


def print_report(rep: dict[str, Any]) -> None:
    print(f"sequences: {rep['sequences']}  ({rep['seconds']}s)")
    print(f"calls: {rep['calls']}  ok: {rep['calls_ok']}  call success rate: {rep['call_success_rate']:.1%}")
    print(f"tools: {rep['tools']}  ok after one retry: {rep['tools_ok_after_retry']}  "
          f"tool success rate: {rep['tool_success_rate']:.1%}  skipped by the policy: {rep['skipped']}")
    print(f"sequences with >=2 ok calls chained by an earlier value: {rep['chained_sequences']}  "
          f"chaining rate: {rep['chaining_rate']:.1%}")
    print(f"ok calls that used an earlier value: {rep['ok_calls_using_earlier_values']}  "
          f"argument sources: {rep['sources']}, verified against the recorded results: {rep['sources_verified']}")
    print("per tool (calls / ok calls / tools ok / failed / skipped):")
    for name, c in rep["per_tool"].items():
        print(f"  {name:40s} {c.get('calls', 0):4d} {c.get('call_ok', 0):4d} {c.get('ok', 0):4d} "
              f"{c.get('failed', 0):4d} {c.get('skipped', 0):4d}")
    if rep["errors"]:
        print("errors:")
        for name, errs in rep["errors"].items():
            for msg, k in errs.items():
                print(f"  {name}: {k}x {msg}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--random", type=int, default=100, help="random coherent sequences (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-hand", action="store_true", help="skip the hand-written sequences")
    ap.add_argument("--restart-every", type=int, default=40, help="restart the servers every N sequences")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every sequence and call")
    ap.add_argument("--incoherent", action="store_true",
                    help="random sequences of any tools in any order (a stress test) instead of coherent flows")
    ap.add_argument("--failed-in-history", action="store_true",
                    help="show failed attempts to the policy too (the stage shows only successful calls)")
    ap.add_argument("--dump", type=Path, help="write every recorded call (virtual paths) to this JSON file")
    args = ap.parse_args(argv)
    rep = anyio.run(lambda: run_check(n_random=args.random, seed=args.seed, hand=not args.no_hand,
                                      restart_every=args.restart_every, verbose=args.verbose,
                                      failed_in_history=args.failed_in_history, coherent=not args.incoherent))
    print_report(rep)
    if args.dump:
        args.dump.write_text(json.dumps([{"tools": r.tools, "records": r.records} for r in rep["results"]],
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
