"""LLM cost of the pipeline: requests and tokens per verified task, per stage.

Runs ``firefly run --dags N`` on bundled servers with a model, then reads the log: per stage
(the run that wrote each exchange), the requests sent, the malformed replies and how they were
recorded, the prompt and completion tokens the endpoint reported, the stage's wall time, and
each divided by the verified tasks. A second run is made to show it sends no request.

    python scripts/bench_llm.py                       # against the scripted test server
    python scripts/bench_llm.py --llm-base-url http://127.0.0.1:8765/v1 --llm-model smollm2
    python scripts/bench_llm.py --report DB           # only report a database already run

The scripted server answers like a cooperative model (verdicts for every pair, each offered
tool called once, a lookup proposed per result), so its figures are the floor of requests per stage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAILURES = {  # how a reply that was not what was asked is recorded, by purpose
    "judge-edges": "judge-failed",
    "synthesize-tasks": "synthesis-failed",
}


def stub_script(path: str, body: dict) -> object:
    """A cooperative scripted model for every purpose firefly asks about."""
    if path != "/v1/chat/completions":
        return None
    messages = body.get("messages") or []
    tools = [t["function"]["name"] for t in body.get("tools") or []]
    if tools:  # the explorer / solver / eval agent: each tool once, in order, then an answer
        made = sum(len(m.get("tool_calls") or []) for m in messages if m.get("role") == "assistant")
        if made < len(tools):
            return {"tool_calls": [{"name": tools[made], "arguments": {}}]}
        return "Done."
    text = messages[-1].get("content") or "" if messages else ""
    pairs = re.findall(r"^Pair (\d+)$", text, re.M)
    if pairs:
        return json.dumps({"verdicts": [{"id": int(i), "direction": "a->b", "reason": "scripted"} for i in pairs]})
    tasks = []  # the synthesizer: one lookup per step, its answer the result's first line
    for step, result in re.findall(r"^## step (\d+) .*?\nresult:\n(.*?)(?=\n\n## step |\Z)", text, re.M | re.S):
        first = result.strip().splitlines()[0].strip() if result.strip() else ""
        if first and len(first) <= 80:
            tasks.append({"question": f"What does the record of step {step} say first?", "answer": first,
                          "kind": "lookup", "steps": [int(step)]})
    return json.dumps({"tasks": tasks})


def registry(servers: list[str] | None, folder: Path) -> Path:
    from firefly.resources import bundled_registry

    path = bundled_registry()
    if not servers:
        return path
    entries = json.loads(path.read_text())["mcpServers"]
    out = folder / "servers.json"
    out.write_text(json.dumps({"mcpServers": {name: entries[name] for name in servers}}))
    return out


def run(db: Path, base_url: str, model: str, args: argparse.Namespace, folder: Path) -> float:
    command = [sys.executable, "-m", "firefly", "run", "--registry", str(registry(args.servers, folder)),
               "--dags", str(args.dags), "--seed", str(args.seed), "--llm-base-url", base_url, "--llm-model", model,
               "--llm-concurrency", str(args.llm_concurrency), "--llm-timeout", str(args.llm_timeout), "--db", str(db),
               "--concurrency", str(args.concurrency)]
    if args.explorations is not None:
        command += ["--explorations", str(args.explorations)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"firefly run failed with exit code {done.returncode}")
    return time.perf_counter() - started


def _seconds(start: str, end: str | None) -> float:
    if not end:
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def report(db: Path) -> dict:
    conn = sqlite3.connect(db)
    try:
        runs = {r[0]: (r[1], _seconds(r[2], r[3])) for r in conn.execute("SELECT run_id, command, started_at, finished_at FROM runs")}
        verified = conn.execute("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0]
        stages: dict[str, dict] = {}

        def row(stage: str) -> dict:
            return stages.setdefault(stage, {"requests": 0, "reused": 0, "failed": 0, "malformed": {}, "prompt_tokens": 0,
                                             "completion_tokens": 0, "wall_s": 0.0, "purposes": set()})

        for run_id, (command, seconds) in runs.items():
            row(command)["wall_s"] += seconds
        for kind in ("llm-replied", "llm-failed"):
            for run_id, payload in conn.execute("SELECT run, payload FROM events WHERE type = ?", (kind,)):
                event = json.loads(payload)
                stage = row(runs.get(run_id, ("?", 0))[0])
                stage["requests"] += 1
                stage["purposes"].add(event["purpose"])
                if kind == "llm-failed":
                    stage["failed"] += 1
                    stage["malformed"][f"llm-failed:{event['error_class']}"] = stage["malformed"].get(f"llm-failed:{event['error_class']}", 0) + 1
                usage = event.get("usage") or {}
                stage["prompt_tokens"] += usage.get("prompt_tokens", 0)
                stage["completion_tokens"] += usage.get("completion_tokens", 0)
        for run_id, kind, payload in conn.execute(
                "SELECT run, type, payload FROM events WHERE type IN ('judge-failed', 'synthesis-failed', 'tool-called')"):
            event = json.loads(payload)
            if kind == "tool-called" and event.get("error_class") != "malformed-call":
                continue
            stage = row(runs.get(run_id, ("?", 0))[0])
            label = "tool-called:malformed-call" if kind == "tool-called" else kind
            stage["malformed"][label] = stage["malformed"].get(label, 0) + 1
        for stage in stages.values():
            stage["purposes"] = sorted(stage["purposes"])
        return {"verified_tasks": verified, "stages": {k: v for k, v in stages.items() if v["requests"] or v["malformed"]},
                "wall_s": {k: round(v["wall_s"], 1) for k, v in stages.items()}}
    finally:
        conn.close()


def show(title: str, figures: dict, requests_second_run: int | None = None) -> None:
    verified = figures["verified_tasks"]
    print(f"\n{title}: {verified} verified task(s)")
    print(f"{'stage':<22}{'requests':>9}{'failed':>7}{'prompt tok':>11}{'compl tok':>10}{'req/task':>9}{'tok/task':>10}{'wall s':>8}  malformed replies recorded as")
    for name, s in sorted(figures["stages"].items()):
        per = (lambda n: f"{n / verified:.1f}") if verified else (lambda n: "n/a")
        tokens = s["prompt_tokens"] + s["completion_tokens"]
        print(f"{name:<22}{s['requests']:>9}{s['failed']:>7}{s['prompt_tokens']:>11}{s['completion_tokens']:>10}"
              f"{per(s['requests']):>9}{per(tokens):>10}{figures['wall_s'].get(name, 0):>8}  "
              f"{', '.join(f'{k} x{v}' for k, v in sorted(s['malformed'].items())) or '-'}")
    if requests_second_run is not None:
        print(f"second run: {requests_second_run} request(s) sent")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-base-url")
    parser.add_argument("--llm-model", default="bench-model")
    parser.add_argument("--dags", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--servers", nargs="*", help="bundled servers to use (default: all of data/servers.json)")
    parser.add_argument("--llm-concurrency", type=int, default=4)
    parser.add_argument("--llm-timeout", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=4, help="explorations at once")
    parser.add_argument("--explorations", type=int, help="explore only the first N DAGs (firefly run --explorations)")
    parser.add_argument("--report", type=Path, help="only report this database")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if args.report:
        figures = report(args.report)
        show(f"{args.report}", figures)
        if args.json:
            print(json.dumps(figures, indent=1))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-llm-", dir=os.environ.get("FIREFLY_SCRATCH")) as tmp:
        folder = Path(tmp)
        db = folder / "firefly.db"
        if args.llm_base_url:
            run(db, args.llm_base_url, args.llm_model, args, folder)
            before = _requests(db)
            run(db, args.llm_base_url, args.llm_model, args, folder)
            figures = report(db)
            show(f"{args.llm_model} at {args.llm_base_url}", figures, _requests(db) - before)
        else:
            from tests.openai_stub import ScriptedOpenAI

            with ScriptedOpenAI(stub_script) as srv:
                run(db, srv.base_url, args.llm_model, args, folder)
                sent = len(srv.requests)
                run(db, srv.base_url, args.llm_model, args, folder)
                figures = report(db)
                show("scripted server", figures, len(srv.requests) - sent)
        if args.json:
            print(json.dumps(figures, indent=1))
    return 0


def _requests(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM events WHERE type IN ('llm-replied', 'llm-failed')").fetchone()[0]
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
