"""Benchmark importing an offline tool catalog into a fresh database.

Measures, on the 870-server / 6,044-tool Smithery catalog by default:

* the first ``firefly.catalog.import_catalog`` into a fresh database (parse, check every
  schema, hash, append the events, bring the projections up to date); goal: a few seconds;
* a second import of the same file, which must write no event (idempotent, a no-op);
* as a baseline, only parsing the JSONL and inserting one row per tool with ``executemany``
  into a bare SQLite table (WAL, synchronous=NORMAL): the floor of any import.

Run from the repository root:

    python scripts/bench_catalog.py                    # with the dev venv: .venv/bin/python
    python scripts/bench_catalog.py --catalog path/to/catalog.jsonl --keep /tmp/firefly-catalog
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from firefly.catalog import import_catalog
from firefly.store import Store

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = REPO.parent / "shared" / "catalogs" / "smithery-870-servers.jsonl"
IMPORT_GOAL = 5.0  # seconds for the first import


def raw_baseline(catalog: Path, db: Path) -> tuple[float, int]:
    """Parse the JSONL and insert every tool as a row of a bare table; (seconds, rows)."""
    started = time.perf_counter()
    rows = []
    for line in catalog.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        server = entry.get("qualified_name") or entry.get("name")
        for tool in entry.get("tools") or []:
            if isinstance(tool, dict):
                rows.append((server, tool.get("name"), tool.get("description"), json.dumps(tool.get("inputSchema")),
                             json.dumps(tool.get("annotations"))))
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE tools (server TEXT, name TEXT, description TEXT, input_schema TEXT, annotations TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO tools VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started, len(rows)


def say(text: str = "") -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time importing an offline tool catalog (firefly.catalog.import_catalog).")
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG, help=f"JSONL catalog (default {DEFAULT_CATALOG})")
    parser.add_argument("--keep", type=Path, help="write the databases into this folder and keep them")
    args = parser.parse_args(argv)
    if not args.catalog.is_file():
        print(f"error: catalog {args.catalog} not found (use --catalog PATH)", file=sys.stderr)
        return 2

    say(f"firefly catalog import benchmark: {args.catalog} ({args.catalog.stat().st_size / 1e6:.1f} MB;"
        f" {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    with tempfile.TemporaryDirectory(prefix="firefly-bench-catalog-") as tmp:
        root = Path(tmp)
        if args.keep:
            root = args.keep
            root.mkdir(parents=True, exist_ok=True)
            for old in root.glob("*.db*"):
                old.unlink()
        say(f"databases in {root}{'' if args.keep else ' (removed at the end)'}")
        say()

        raw_s, raw_rows = raw_baseline(args.catalog, root / "raw.db")

        with Store.open(root / "catalog.db") as store:
            started, cpu = time.perf_counter(), time.process_time()
            first = import_catalog(store, args.catalog)
            first_s, first_cpu = time.perf_counter() - started, time.process_time() - cpu
            events_first = store.count()

            started = time.perf_counter()
            second = import_catalog(store, args.catalog)
            second_s = time.perf_counter() - started
            events_second = store.count() - events_first

            servers = store.conn.execute("SELECT count(*) FROM servers").fetchone()[0]
            tools = store.conn.execute("SELECT count(*) FROM tools").fetchone()[0]
            invalid = store.conn.execute("SELECT count(*) FROM tools WHERE schema_valid = 0").fetchone()[0]

    width = 58
    ok_first = first_s <= IMPORT_GOAL
    ok_second = events_second == 0
    say(f"{'baseline: parse JSONL + raw executemany of tool rows':<{width}}{raw_s:>7.2f} s  ({raw_rows:,} rows)")
    say(f"{'import_catalog, fresh database':<{width}}{first_s:>7.2f} s  goal <= {IMPORT_GOAL:.0f} s"
        f"  {'PASS' if ok_first else 'MISS'}")
    say(f"{'':<{width}}         {first_cpu:.2f} s of CPU; {first_s / raw_s:,.0f}x the baseline;"
        f" {events_first:,} events written")
    say(f"{'import_catalog again (idempotent)':<{width}}{second_s:>7.2f} s  {events_second:,} events written"
        f" (goal 0)  {'PASS' if ok_second else 'MISS'}")
    say()
    say(f"catalog: {first.servers:,} servers, {first.tools:,} tools ({first.tools_invalid:,} with an invalid schema),"
        f" {len(first.skipped):,} entries skipped")
    say(f"projections: servers {servers:,}, tools {tools:,} ({invalid:,} flagged invalid)")
    for reason in first.skipped[:5]:
        say(f"  skipped: {reason}")
    second_counts = second.summary()
    if second_counts["servers_added"] or second_counts["tools_added"] or second_counts["tools_changed"]:
        say(f"second import reported changes: {second_counts}")
    return 0 if ok_second else 1


if __name__ == "__main__":
    sys.exit(main())
