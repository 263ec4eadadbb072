"""Benchmark the event log: how fast events are appended, and how fast projections rebuild.

Measures, in one run, on real SQLite files (WAL, synchronous=NORMAL) in a temp dir:

a) Append rate. The same realistic events (tool-discovered with real-looking schemas,
   server-connected, server-registered, run-started ...) are written in batches of 1,000:
   * ``Store.append_many`` inside ``store.transaction()`` (ids, validation, idempotency
     keys, the ``events`` table with its indexes);
   * raw ``executemany`` into a bare table (the same columns; no indexes, triggers or
     constraints), each batch's rows built from the same events in the timed loop the
     fastest way there is: msgspec's encoder, no validation, bulk ULIDs. This is the
     baseline of the goal (store >= 50% of raw): both start from events in memory and end
     with them in SQLite;
   * for reference, where the time goes: the same raw ``executemany`` with the rows built
     before the clock starts (SQLite alone, nothing else), and those prebuilt rows into the
     real ``events`` table without its JSON check (what its unique id and key and its
     stream and type indexes cost) and with it (what ``CHECK (json_valid(payload))`` of
     ``0015_json_check.sql`` costs);
   * single-event ``Store.append``, each in its own transaction (for information).
   The ways take turns batch by batch (rotating who goes first), so a busy moment of the
   machine falls on all of them alike; the goal is the median over ``--rounds`` rounds of
   each round's store / raw ratio, the rates printed are each way's best round.

   Why the goal is not measured against SQLite alone: turning an event into a row (its
   JSON, an id) takes longer than SQLite takes to store the row, so no writer of events,
   however bare, reaches half that rate; the report prints both.

b) Projections. A log of ``--events`` events (default 1,000,000) in the mix today's
   projections handle (catalog imports and refreshes, discovery rounds with schema drift,
   removed and returning tools, failed servers, registry edits, runs; ~7,500 servers and
   ~90,000 tools) is built with ``append_many``, ``catch_up()`` running after each batch
   (the incremental path, timed); then ``rebuild()`` replays it from scratch (timed; goal:
   under 60 s). A content hash of every projection table after each path shows they agree.

Every goal is printed next to its figure with PASS or MISS. The exit status is 1 only
when rebuild and incremental contents differ (a bug), not for a missed goal.

Run from the repository root:

    python scripts/bench_log.py                        # with the dev venv: .venv/bin/python
    python scripts/bench_log.py --events 200000 --keep /tmp/firefly-bench
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from firefly import __version__
from firefly.events import (
    Event,
    RunFinished,
    RunStarted,
    ServerConnected,
    ServerFailed,
    ServerRegistered,
    ServerRemoved,
    ToolDiscovered,
    ToolRemoved,
    tag_of,
)
from firefly.ids import new_id, new_ids, utc_now
from firefly.store import Store

APPEND_GOAL = 0.50  # store rate / raw rate
REBUILD_GOAL = 60.0  # seconds for --events events

# The simulated world: about 8x the 870-server Smithery catalog, plus callable servers.
CATALOG_SERVERS = 6_000
CALLABLE_SERVERS = 1_500

COLUMNS = "id, type, stream, time, run, idempotency_key, payload"
BARE_TABLE = (
    "CREATE TABLE events (id TEXT, type TEXT, stream TEXT, time TEXT, run TEXT, idempotency_key TEXT, payload TEXT)"
)

# -- realistic events ----------------------------------------------------------------------

VERBS = ["get", "list", "search", "create", "update", "delete", "fetch", "run", "query", "send", "read",
         "write", "analyze", "summarize", "convert", "translate", "download", "upload", "resolve", "validate"]
NOUNS = ["issue", "pull_request", "file", "directory", "commit", "branch", "user", "repository", "page",
         "document", "table", "row", "message", "channel", "calendar_event", "ticket", "invoice", "customer",
         "order", "product", "image", "transcript", "weather_forecast", "stock_quote", "news_article", "paper",
         "url", "note", "task", "project", "dataset", "embedding", "log_entry", "metric", "alert", "deployment"]
PARAMS = ["query", "id", "path", "url", "limit", "offset", "owner", "repo", "branch", "title", "body",
          "labels", "state", "sort", "direction", "since", "until", "format", "language", "timezone",
          "city", "symbol", "page", "per_page", "include_archived", "recursive", "content", "encoding",
          "message", "channel_id", "user_id", "email", "start_date", "end_date", "fields", "filter"]
WORDS = ("the a of to and for with from by on in results matching returns optional required default "
         "maximum number items identifier name string value list filter search page token account "
         "workspace project resource request response format date time zone user owner repository").split()


def sentence(rng: random.Random, low: int, high: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))
    return text[0].upper() + text[1:] + "."


def property_schema(rng: random.Random, name: str) -> dict[str, Any]:
    kind = rng.random()
    desc = sentence(rng, 4, 18)
    if kind < 0.40:
        return {"type": "string", "description": desc}
    if kind < 0.50:
        return {"type": "string", "enum": rng.sample(["asc", "desc", "open", "closed", "all", "json", "markdown",
                                                     "text", "html", "csv", "daily", "weekly"], rng.randint(2, 5)),
                "description": desc}
    if kind < 0.65:
        low = rng.choice([0, 1])
        return {"type": "integer", "minimum": low, "maximum": rng.choice([10, 100, 1000]),
                "default": low + 9, "description": desc}
    if kind < 0.72:
        return {"type": "number", "description": desc}
    if kind < 0.80:
        return {"type": "boolean", "default": rng.random() < 0.5, "description": desc}
    if kind < 0.88:
        return {"type": "array", "items": {"type": "string"}, "maxItems": 50, "description": desc}
    if kind < 0.94:
        return {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "description": desc}
    return {"type": "object", "description": desc,
            "properties": {p: {"type": "string", "description": sentence(rng, 3, 8)} for p in rng.sample(PARAMS, 2)},
            "required": []}


class ToolSpec(msgspec.Struct, frozen=True):
    name: str
    description: str
    input_schema: dict[str, Any]
    annotations: dict[str, Any]


def tool_specs(rng: random.Random, count: int) -> list[ToolSpec]:
    specs = []
    for _ in range(count):
        names = rng.sample(PARAMS, rng.choice([0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 8]))
        schema: dict[str, Any] = {"type": "object", "properties": {n: property_schema(rng, n) for n in names}}
        if names:
            schema["required"] = names[: rng.randint(0, len(names))]
        if rng.random() < 0.5:
            schema["additionalProperties"] = False
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        annotations = {} if rng.random() < 0.7 else {"readOnlyHint": rng.random() < 0.6, "openWorldHint": True}
        specs.append(ToolSpec(f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}", sentence(rng, 8, 40), schema, annotations))
    return specs


class SimServer:
    __slots__ = ("name", "transport", "config_hash", "version", "live", "gone", "tool_versions", "connected", "removed")

    def __init__(self, name: str, transport: str, config_hash: str):
        self.name = name
        self.transport = transport
        self.config_hash = config_hash
        self.version = 0  # registry changes so far (the next event's stream version)
        self.tool_versions: dict[str, int] = {}  # tool -> schema changes and removals so far
        self.live: dict[str, tuple[int, int, str]] = {}  # tool -> (spec index, revision, hash)
        self.gone: dict[str, tuple[int, int, str]] = {}  # removed tools, which may come back
        self.connected = False
        self.removed = False


def fake_hash(*parts: object) -> str:
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


class LogSimulation:
    """An endless, deterministic history of catalog imports, registry edits and discovery runs."""

    def __init__(self, seed: int = 7):
        self.rng = random.Random(seed)
        self.specs = tool_specs(self.rng, 3000)
        self.servers: list[SimServer] = []
        self.callable: list[SimServer] = []
        self.catalog_file = "catalog:smithery-870-servers.jsonl"

    def tool_count(self) -> int:
        return min(60, max(1, int(self.rng.lognormvariate(1.6, 0.9))))

    def new_tools(self, server: SimServer) -> None:
        for _ in range(self.tool_count()):
            i = self.rng.randrange(len(self.specs))
            name = self.specs[i].name
            while name in server.live:
                name += "_v2"
            server.live[name] = (i, 0, fake_hash(server.name, name, 0))

    def discovered(self, server: SimServer, name: str, previous: str | None, *, callable_: bool) -> ToolDiscovered:
        i, revision, h = server.live[name]
        spec = self.specs[i]
        invalid = (i % 53) == 0
        version = server.tool_versions.get(name, 0)
        server.tool_versions[name] = version + 1
        return ToolDiscovered(
            server=server.name,
            name=name,
            description=spec.description if revision == 0 else f"{spec.description} (revision {revision})",
            input_schema=spec.input_schema,
            annotations=spec.annotations,
            schema_hash=h,
            previous_hash=previous,
            version=version,
            schema_valid=not invalid,
            schema_errors=["inputSchema at properties: 'strng' is not valid under any of the given schemas"] if invalid else [],
            callable=callable_,
            source="discovery" if callable_ else self.catalog_file,
        )

    def register(self, server: SimServer, previous: str | None = None) -> ServerRegistered:
        rng = self.rng
        name, transport, version = server.name, server.transport, server.version
        config = fake_hash(name, transport, rng.random())
        if transport == "catalog":
            event = ServerRegistered(name=name, transport="catalog", source=self.catalog_file, config_hash=config,
                                     previous_hash=previous, version=version, title=name.split("/")[-1].replace("-", " ").title(),
                                     overview=sentence(rng, 6, 20), labels=["Developer Tools", "Web Search & Research"])
        elif transport == "http":
            event = ServerRegistered(name=name, transport="http", url=f"https://mcp.example.com/{name}/mcp",
                                     headers={"Authorization": None}, source="cli", config_hash=config,
                                     previous_hash=previous, version=version)
        else:
            event = ServerRegistered(name=name, transport="stdio", command=rng.choice(["uvx", "npx"]),
                                     args=[f"mcp-server-{name}", "--root", "${FIREFLY_WORKSPACE}"],
                                     env={"API_TOKEN": None, "HOME": "${HOME}"}, source="data/servers.json",
                                     config_hash=config, previous_hash=previous, version=version)
        server.config_hash = config
        server.version += 1
        return event

    def runs(self) -> Iterator[Event]:
        rng = self.rng
        while True:
            run_id = new_id()
            roll = rng.random()
            if roll < 0.25:
                command, body = "catalog import", self.catalog_import()
            elif roll < 0.35 or len(self.callable) < 50:
                command, body = "servers add", self.servers_add()
            else:
                command, body = "discover", self.discover(rng.randint(60, 250))
            yield RunStarted(run_id=run_id, command=command, options={"concurrency": 8, "timeout": 60}, version=__version__)
            counts: Counter[str] = Counter()
            for event in body:
                counts[tag_of(event)] += 1
                yield event
            status = "ok" if rng.random() < 0.96 else rng.choice(["failed", "interrupted"])
            yield RunFinished(run_id=run_id, status=status, summary=dict(counts),  # type: ignore[arg-type]
                              message=None if status == "ok" else "RuntimeError: connection reset by peer")

    def catalog_import(self) -> Iterator[Event]:
        """New catalog servers until there are CATALOG_SERVERS, then refreshes of known ones."""
        rng = self.rng
        catalog = [s for s in self.servers if s.transport == "catalog"] if len(self.servers) > len(self.callable) else []
        if len(catalog) < CATALOG_SERVERS:
            for _ in range(rng.randint(150, 300)):
                server = SimServer(f"@{rng.choice(NOUNS)}-labs/{rng.choice(NOUNS)}-mcp-{len(self.servers)}", "catalog", "")
                self.servers.append(server)
                yield self.register(server)
                self.new_tools(server)
                for name in server.live:
                    yield self.discovered(server, name, None, callable_=False)
            return
        for server in rng.sample(catalog, 300):
            if rng.random() < 0.02:
                yield self.register(server, previous=server.config_hash)
            yield from self.listing_changes(server, callable_=False, drift=0.06)

    def servers_add(self) -> Iterator[Event]:
        rng = self.rng
        for _ in range(rng.randint(5, 25) if len(self.callable) < CALLABLE_SERVERS else 0):
            name = f"{rng.choice(NOUNS).replace('_', '-')}-{len(self.servers)}"
            transport = "http" if rng.random() < 0.3 else "stdio"
            server = SimServer(name, transport, "")
            self.servers.append(server)
            self.callable.append(server)
            yield self.register(server)
        for server in rng.sample(self.callable, min(5, len(self.callable))):
            if not server.removed:
                yield self.register(server, previous=server.config_hash)
        if rng.random() < 0.2 and self.callable:
            server = rng.choice(self.callable)
            if not server.removed:
                server.removed = True
                server.version += 1
                yield ServerRemoved(name=server.name, reason="removed by user", version=server.version - 1)

    def listing_changes(self, server: SimServer, *, callable_: bool, drift: float) -> Iterator[Event]:
        """What a new listing of a known server records: schema drift, removed, returning and new tools."""
        rng = self.rng
        for name, (i, revision, old) in list(server.live.items()):
            roll = rng.random()
            if roll < drift:
                server.live[name] = (i, revision + 1, fake_hash(server.name, name, revision + 1))
                yield self.discovered(server, name, old, callable_=callable_)
            elif roll < drift + 0.01:
                server.gone[name] = server.live.pop(name)
                version = server.tool_versions[name]
                server.tool_versions[name] = version + 1
                yield ToolRemoved(server=server.name, name=name, last_hash=old, version=version)
        if server.gone and rng.random() < 0.1:  # a removed tool comes back (as new)
            name = next(iter(server.gone))
            i, revision, _ = server.gone.pop(name)
            server.live[name] = (i, revision + 1, fake_hash(server.name, name, revision + 1))
            yield self.discovered(server, name, None, callable_=callable_)
        if rng.random() < 0.05:  # a new tool
            i = rng.randrange(len(self.specs))
            name = f"{self.specs[i].name}_{len(server.live) + len(server.gone)}"
            if name not in server.live and name not in server.gone:
                server.live[name] = (i, 0, fake_hash(server.name, name, 0))
                yield self.discovered(server, name, None, callable_=callable_)

    def discover(self, count: int) -> Iterator[Event]:
        rng = self.rng
        for server in rng.sample(self.callable, min(count, len(self.callable))):
            if server.removed:
                continue
            if rng.random() < 0.08:
                cls = rng.choice(["command-not-found", "exited", "timeout", "protocol-error", "http-error"])
                yield ServerFailed(server=server.name, phase=rng.choice(["start", "initialize", "list-tools"]),
                                   error_class=cls,  # type: ignore[arg-type]
                                   message=f"server {server.name!r} failed: {cls}; check its command and try again",
                                   stderr_tail="Traceback (most recent call last):\n  ...\nConnectionError: refused"
                                   if rng.random() < 0.5 else None)
                continue
            if not server.connected:
                server.connected = True
                self.new_tools(server)
                for name in server.live:
                    yield self.discovered(server, name, None, callable_=True)
            else:
                yield from self.listing_changes(server, callable_=True, drift=0.04)
            yield ServerConnected(
                server=server.name, server_name=f"mcp-{server.name}", server_version="1.4.2",
                protocol_version="2025-06-18", capabilities={"tools": {"listChanged": True}, "logging": {}},
                tool_hashes={name: h for name, (_, _, h) in server.live.items()},
                latency_ms=round(rng.uniform(20, 900), 1),
            )

    def take(self, count: int) -> list[Event]:
        out: list[Event] = []
        for event in self.runs():
            out.append(event)
            if len(out) >= count:
                return out
        return out


def batches(events: Iterator[Event], total: int, size: int) -> Iterator[list[Event]]:
    batch: list[Event] = []
    for n, event in enumerate(events):
        if n >= total:
            break
        batch.append(event)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def mix(counts: Counter[str]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{tag} {n / total:.1%}" for tag, n in counts.most_common())


# -- measuring ------------------------------------------------------------------------------


def bare_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


_raw_encode = msgspec.json.Encoder().encode


def raw_rows(events: list[Event], run: str) -> list[tuple[Any, ...]]:
    """The rows a hand-written writer makes of events: msgspec JSON (not validated), ULIDs."""
    now = utc_now()
    return [
        (id_, type(e).__struct_config__.tag, e.stream, now, run, e.key(), _raw_encode(e).decode())
        for id_, e in zip(new_ids(len(events)), events)
    ]


INSERT = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


def write_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")


def append_round(root: Path, n: int, events: list[Event], rows: list[tuple[Any, ...]], size: int) -> dict[str, float]:
    """Seconds each way of appending took for all the events, on fresh files. The ways take
    turns batch by batch (in a rotating order), so a busy moment of the machine falls on
    all of them alike and their ratios hold even when the absolute rates move."""
    raw = bare_connection(root / f"raw-bare-{n}.db")
    raw.execute(BARE_TABLE)
    sqlite_alone = bare_connection(root / f"raw-bare-prebuilt-{n}.db")
    sqlite_alone.execute(BARE_TABLE)
    schema = Store.open(root / f"raw-events-schema-{n}.db")
    unchecked = Store.open(root / f"raw-events-unchecked-{n}.db")
    without_json_check(unchecked.conn)
    store = Store.open(root / f"append-{n}.db")
    run = new_id()

    def store_batch(batch: list[Event], _: list[tuple[Any, ...]]) -> None:
        with store.transaction():
            store.append_many(batch)

    ways: dict[str, Any] = {
        "raw": lambda batch, _: write_rows(raw, raw_rows(batch, run)),  # rows built from the events here
        "sqlite": lambda _, prebuilt: write_rows(sqlite_alone, prebuilt),
        "schema": lambda _, prebuilt: write_rows(schema.conn, prebuilt),
        "unchecked": lambda _, prebuilt: write_rows(unchecked.conn, prebuilt),
        "store": store_batch,
    }
    spent = dict.fromkeys(ways, 0.0)
    names = list(ways)
    for k, start in enumerate(range(0, len(events), size)):
        batch, prebuilt = events[start : start + size], rows[start : start + size]
        for name in names[k % len(names) :] + names[: k % len(names)]:
            started = time.perf_counter()
            ways[name](batch, prebuilt)
            spent[name] += time.perf_counter() - started
    assert store.count() == len(events), "append_many lost or duplicated events"
    for conn in (raw, sqlite_alone):
        conn.close()
    schema.close()
    unchecked.close()
    store.close()
    return spent


def without_json_check(conn: sqlite3.Connection) -> None:
    """Take the JSON CHECK out of a new file's events table (as 0007 to 0013 had it), the way
    0015_json_check.sql put it in: to measure what the check costs."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("UPDATE sqlite_schema SET sql = replace(sql, ' CHECK (json_valid(payload))', '')"
                 " WHERE type = 'table' AND name = 'events'")
    conn.execute("PRAGMA writable_schema=RESET")
    conn.execute("COMMIT")
    assert "json_valid" not in conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'events'").fetchone()[0]


def time_single(store: Store, events: list[Event]) -> float:
    started = time.perf_counter()
    for event in events:
        store.append(event)
    return time.perf_counter() - started


def table_hashes(store: Store) -> dict[str, tuple[int, str]]:
    """Row count and sha256 of every projection table's rows, in primary-key order."""
    out = {}
    for p in store.projections:
        for table in p.tables:
            info = store.conn.execute(f"PRAGMA table_info([{table}])").fetchall()
            keys = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]] or [row[1] for row in info]
            digest = hashlib.sha256()
            rows = 0
            for row in store.conn.execute(f"SELECT * FROM [{table}] ORDER BY {', '.join(f'[{k}]' for k in keys)}"):
                digest.update(repr(row).encode())
                digest.update(b"\n")
                rows += 1
            out[table] = (rows, "sha256:" + digest.hexdigest()[:16])
    return out


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def say(text: str = "") -> None:
    print(text, flush=True)


def bench_append(root: Path, count: int, size: int, singles: int, rounds: int) -> bool:
    events = LogSimulation(seed=11).take(count + singles)
    events, single_events = events[:count], events[count:]
    counts = Counter(tag_of(e) for e in events)
    say(f"a) append rate: {count:,} events in batches of {size:,}; {rounds} rounds on fresh files, the ways taking"
        f" turns batch by batch; best rate of each")
    say(f"   mix: {mix(counts)}")

    rows = raw_rows(events, new_id())
    payload = sum(len(r[6]) for r in rows) / len(rows)
    say(f"   average payload: {payload:,.0f} bytes of JSON")

    best: dict[str, float] = {}  # each way's best rate over the rounds
    ratios: list[float] = []  # store / raw of each round
    for n in range(rounds):
        spent = append_round(root, n, events, rows, size)
        for name, seconds in spent.items():
            best[name] = max(best.get(name, 0.0), count / seconds)
        ratios.append(spent["raw"] / spent["store"])
        with Store.open(root / f"append-single-{n}.db") as store:
            best["single"] = max(best.get("single", 0.0), singles / time_single(store, single_events))

    raw, rate, sqlite_alone = best["raw"], best["store"], best["sqlite"]
    ratio = statistics.median(ratios)
    width = 62
    say(f"   {'raw executemany, bare table, rows built from the events (baseline)':<{width}}{raw:>10,.0f} events/s")
    say(f"   {'Store.append_many in store.transaction()':<{width}}{rate:>10,.0f} events/s")
    say(f"   {'store / raw baseline (median of the rounds)':<{width}}{ratio:>10.0%}            goal >= {APPEND_GOAL:.0%}"
        f"  {verdict(ratio >= APPEND_GOAL)}")
    say(f"   {'  each round':<{width}}{'  '.join(f'{r:.0%}' for r in ratios):>10}")
    say("   where the time goes (rows prebuilt before the clock starts: SQLite alone):")
    say(f"   {'  raw executemany, bare table, rows prebuilt':<{width}}{sqlite_alone:>10,.0f} events/s"
        f"  (store {rate / sqlite_alone:.0%}, raw baseline {raw / sqlite_alone:.0%} of it)")
    say(f"   {'  raw executemany, events table without JSON check, prebuilt':<{width}}{best['unchecked']:>10,.0f} events/s"
        f"  ({best['unchecked'] / sqlite_alone:.0%}: the log's unique id and key, stream and type indexes)")
    say(f"   {'  raw executemany, events table schema, rows prebuilt':<{width}}{best['schema']:>10,.0f} events/s"
        f"  ({best['schema'] / sqlite_alone:.0%}: and its CHECK (json_valid(payload)))")
    per_event = {name: 1e6 / best[name] for name in ("raw", "store", "sqlite", "schema", "unchecked")}
    say(f"   {'  per event: SQLite alone':<{width}}{per_event['sqlite']:>10.1f} us")
    say(f"   {'  + building the row (JSON, id) in the raw baseline':<{width}}{per_event['raw'] - per_event['sqlite']:>10.1f} us")
    say(f"   {'  + the indexes of the events table':<{width}}{per_event['unchecked'] - per_event['sqlite']:>10.1f} us")
    say(f"   {'  + its JSON check':<{width}}{per_event['schema'] - per_event['unchecked']:>10.1f} us")
    say(f"   {'  + the store (validation, JSON, ids, idempotency check)':<{width}}"
        f"{per_event['store'] - per_event['schema']:>10.1f} us")
    say(f"   {f'Store.append, one transaction per event ({singles:,} events)':<{width}}{best['single']:>10,.0f}"
        f" events/s  (information)")
    return ratio >= APPEND_GOAL


def bench_rebuild(root: Path, total: int, size: int) -> tuple[bool, bool]:
    say(f"b) projections over {total:,} events")
    sim = LogSimulation(seed=23)
    counts: Counter[str] = Counter()
    append_s = catch_up_s = 0.0
    started = time.perf_counter()
    with Store.open(root / "log.db") as store:
        for batch in batches(sim.runs(), total, size):
            counts.update(tag_of(e) for e in batch)
            t0 = time.perf_counter()
            with store.transaction():
                store.append_many(batch)
            t1 = time.perf_counter()
            store.catch_up()
            catch_up_s += time.perf_counter() - t1
            append_s += t1 - t0
        wall = time.perf_counter() - started
        servers = store.conn.execute("SELECT count(*) FROM servers").fetchone()[0]
        tools = store.conn.execute("SELECT count(*) FROM tools").fetchone()[0]
        say(f"   mix: {mix(counts)}")
        say(f"   {servers:,} servers, {tools:,} tools; database {(root / 'log.db').stat().st_size / 1e6:,.0f} MB")
        say(f"   built in {wall:.1f} s: append_many (batches of {size:,}) {append_s:.1f} s"
            f" = {store.count() / append_s:,.0f} events/s; generating events {wall - append_s - catch_up_s:.1f} s")
        incremental = table_hashes(store)

        t0, c0 = time.perf_counter(), time.process_time()
        applied = store.rebuild()
        rebuild_s, rebuild_cpu = time.perf_counter() - t0, time.process_time() - c0
        rebuilt = table_hashes(store)

    width = 62
    say(f"   {f'incremental: catch_up() after each batch ({-(-total // size):,} calls)':<{width}}{catch_up_s:>8.1f} s"
        f"  = {total / catch_up_s:>9,.0f} events/s")
    say(f"   {f'rebuild(): {applied:,} events replayed':<{width}}{rebuild_s:>8.1f} s  = {applied / rebuild_s:>9,.0f}"
        f" events/s   goal < {REBUILD_GOAL:.0f} s  {verdict(rebuild_s < REBUILD_GOAL)}")
    say(f"   {'':<{width}}{rebuild_cpu:>8.1f} s of CPU in this process")
    say(f"   {'table':<16}{'rows':>10}  {'incremental':<26}{'rebuild':<26}")
    same = True
    empty = []
    for table in incremental:
        a, b = incremental[table], rebuilt[table]
        same &= a == b
        if a == b and a[0] == 0:
            empty.append(table)
            continue
        say(f"   {table:<16}{a[0]:>10,}  {a[1]:<26}{b[1]:<26}{'same' if a == b else 'DIFFERENT'}")
    if empty:
        say(f"   (empty after both: {', '.join(empty)})")
    say(f"   rebuild and incremental contents identical: {verdict(same)}")
    return rebuild_s < REBUILD_GOAL, same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the rebuild log (default 1,000,000)")
    parser.add_argument("--append-events", type=int, default=100_000, help="events for the append rates (default 100,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="append batch size for a) (default 1,000)")
    parser.add_argument("--build-batch", type=int, default=10_000, help="append/catch_up batch size for b) (default 10,000)")
    parser.add_argument("--single", type=int, default=3_000, help="events for the single-append rate (default 3,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of a) (default 5)")
    parser.add_argument("--keep", type=Path, help="write the databases into this folder and keep them")
    args = parser.parse_args(argv)

    say(f"firefly event log benchmark (Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version},"
        f" msgspec {msgspec.__version__}; {os.cpu_count()} CPUs, load average {load()})")
    with tempfile.TemporaryDirectory(prefix="firefly-bench-log-") as tmp:
        root = Path(tmp)
        if args.keep:
            root = args.keep
            root.mkdir(parents=True, exist_ok=True)
            for old in root.glob("*.db*"):
                old.unlink()
        say(f"databases in {root}{'' if args.keep else ' (removed at the end)'}")
        say()
        ok_a = bench_append(root, args.append_events, args.batch, args.single, args.rounds)
        say()
        ok_b, same = bench_rebuild(root, args.events, args.build_batch)
    say()
    say(f"goals: append {verdict(ok_a)}, rebuild {verdict(ok_b)}; load average {load()}")
    return 0 if same else 1  # a missed goal is a number to read; different contents are a bug


if __name__ == "__main__":
    sys.exit(main())
