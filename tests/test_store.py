"""The event log: append-only, validated, idempotent; projections rebuild to the same content."""

from __future__ import annotations

import sqlite3

import msgspec
import pytest

from firefly.errors import EventValidationError, UnreadableEvent
from firefly.events import (
    EVENT_TYPES,
    RunStarted,
    ServerConnected,
    ServerRegistered,
    ToolDiscovered,
    ToolRemoved,
    decode,
    from_dict,
)
from firefly.ids import canonical_json, content_hash, new_id
from firefly.migrations import migration_files
from firefly.store import Store

from .conftest import projection_dumps


def tool(server: str, name: str, h: str, prev: str | None = None, v: int = 0, **kw) -> ToolDiscovered:
    return ToolDiscovered(server=server, name=name, schema_hash=h, previous_hash=prev, version=v,
                          input_schema={"type": "object", "properties": {"x": {"type": "string"}}}, **kw)


def test_wal_and_migrations_recorded(store, db_path):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[0] for r in store.conn.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names == [p.stem for p in migration_files()]
    store.close()
    again = Store.open(db_path)  # reopening applies nothing twice
    assert [r[0] for r in again.conn.execute("SELECT name FROM _migrations ORDER BY name")] == names
    again.close()


def test_migrations_from_blank_file_match_every_table(tmp_path):
    """A blank file gets every table; a file at an older migration gets the rest on open."""
    first = migration_files()[0]
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.executescript(first.read_text())
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO _migrations VALUES (?, 'x')", (first.stem,))
    conn.close()
    old = Store.open(tmp_path / "old.db")
    new = Store.open(tmp_path / "new.db")
    schema = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
    assert old.conn.execute(schema).fetchall() == new.conn.execute(schema).fetchall()


def test_log_rejects_update_and_delete(store, db_path):
    store.append(tool("s", "t", "h1"))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE events SET stream = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM events")
    # also from a plain connection that knows nothing of firefly
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET payload = '{}'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events WHERE position = 1")
    raw.close()
    assert store.count() == 1


def test_idempotent_append_returns_existing(store):
    first = store.append(tool("s", "t", "h1"))
    again = store.append(tool("s", "t", "h1"))
    assert again.position == first.position and again.id == first.id
    assert store.count() == 1
    # an explicit key works the same way, and duplicates inside one batch are written once
    recs = store.append_many([ServerConnected(server="s")] * 3, keys=["k"] * 3)
    assert len({r.position for r in recs}) == 1
    assert store.count() == 2
    # events without a key are new facts every time
    store.append(ServerConnected(server="s"))
    store.append(ServerConnected(server="s"))
    assert store.count() == 4
    # a batch mixing new events, a key already in the log and one repeated in the batch
    batch = [tool("s", "u", "h2"), tool("s", "t", "h1"), ServerConnected(server="s"), tool("s", "u", "h2")]
    recs = store.append_many(batch)
    assert [r.position for r in recs] == [5, first.position, 6, 5]
    assert [r.event for r in recs] == batch and recs[1].id == first.id
    assert [r.position for r in store.read()] == [1, 2, 3, 4, 5, 6]
    assert store.append_many([ServerConnected(server="s")])[0].position == 7  # positions go on without gaps


def test_positions_and_ids_are_ordered(store):
    recs = store.append_many([tool("s", f"t{i}", f"h{i}") for i in range(50)])
    assert [r.position for r in recs] == list(range(1, 51))
    assert [r.id for r in recs] == sorted(r.id for r in recs)
    assert len({r.id for r in recs}) == 50
    assert [r.position for r in store.read(after=10, limit=3)] == [11, 12, 13]


def test_wrong_type_is_rejected_with_path(store):
    bad = ToolDiscovered(server="s", name=3, schema_hash="h")  # type: ignore[arg-type]
    with pytest.raises(EventValidationError, match=r"\$\.name"):
        store.append(bad)
    with pytest.raises(EventValidationError, match=r"\$\.type"):
        decode(b'{"type": "no-such-event"}')
    with pytest.raises(EventValidationError, match=r"\$\.input_schema"):
        from_dict({"type": "tool-discovered", "server": "s", "name": "t", "schema_hash": "h", "input_schema": [1]})
    with pytest.raises(EventValidationError, match=r"\$\.labels\[1\]"):
        from_dict({"type": "server-registered", "name": "s", "transport": "stdio", "labels": ["a", 2]})
    with pytest.raises(EventValidationError, match="not JSON"):
        decode(b"{nope")
    assert store.count() == 0


def test_every_event_type_round_trips():
    for cls in EVENT_TYPES:
        tag = cls.__struct_config__.tag
        assert tag and tag == tag.lower() and " " not in tag
        assert cls.__doc__ and "Fields:" in cls.__doc__, f"{tag} documents its fields"


def test_ids_and_canonical_json():
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000 and all(len(i) == 26 for i in ids)
    assert canonical_json({"b": 1.0, "a": [2.0, 2.5]}) == '{"a":[2,2.5],"b":1}'
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2.0, "a": 1})
    assert content_hash({"a": 1}).startswith("sha256:")


def test_projection_checkpoint_moves_with_ignored_events(store):
    store.append(RunStarted(run_id="r1", command="x"))
    store.catch_up()
    assert set(store.checkpoints().values()) == {1}


def test_failed_batch_leaves_projection_and_checkpoint_unchanged(store, monkeypatch):
    store.append(ServerRegistered(name="s", transport="stdio", command="x", config_hash="c1"))
    from firefly.projections.discovery import ToolsProjection

    def boom(self, db, rec):
        raise RuntimeError("crash in the middle of a batch")

    store.append(tool("s", "t", "h1"))
    monkeypatch.setattr(ToolsProjection, "apply", boom)
    with pytest.raises(RuntimeError):
        store.catch_up()
    assert store.conn.execute("SELECT count(*) FROM servers").fetchone()[0] == 0
    assert set(store.checkpoints().values()) == {0}
    monkeypatch.undo()
    store.catch_up()
    assert store.conn.execute("SELECT count(*) FROM tools").fetchone()[0] == 1


def history(store: Store, step: int) -> None:
    """A small but varied history: registrations, schema drift, removal, failures."""
    events = [
        ServerRegistered(name="a", transport="stdio", command="uvx", args=["a"], config_hash="c1"),
        ServerRegistered(name="b", transport="catalog", config_hash="c2", labels=["x"]),
        tool("a", "t1", "h1"),
        tool("a", "t2", "h2"),
        ServerConnected(server="a", tool_hashes={"t1": "h1", "t2": "h2"}),
        tool("b", "u1", "h3", callable=False, source="catalog:x"),
        tool("a", "t1", "h1b", prev="h1", v=1),
        ToolRemoved(server="a", name="t2", last_hash="h2", version=1),
        ServerRegistered(name="a", transport="stdio", command="uvx", args=["a", "-v"], config_hash="c3",
                         previous_hash="c1", version=1),
        tool("a", "t2", "h2", prev=None, v=2),
        ServerConnected(server="a", tool_hashes={"t1": "h1b", "t2": "h2"}),
        tool("a", "t3", "h4"),  # discovered and removed (in one batch when step > 1)
        tool("a", "t3", "h4b", prev="h4", v=1),
        ToolRemoved(server="a", name="t3", last_hash="h4b", version=2),
        ToolRemoved(server="c", name="never", last_hash="h5", version=0),  # a tool the table never had
    ]
    for i in range(0, len(events), step):
        with store.run("test"):
            store.append_many(events[i : i + step])
        store.catch_up()


@pytest.mark.parametrize("step", [1, 3, 100])
def test_rebuild_equals_incremental(store, step):
    history(store, step)
    incremental = projection_dumps(store)
    assert incremental["tools"] and incremental["tool_versions"] and incremental["servers"]
    store.rebuild()
    assert projection_dumps(store) == incremental
    tools = {(r[0], r[1]): r for r in store.conn.execute("SELECT server, name, schema_hash, removed, versions FROM tools")}
    assert tools[("a", "t1")][2:] == ("h1b", 0, 2)
    assert tools[("a", "t2")][2:] == ("h2", 0, 2)
    assert tools[("a", "t3")][2:] == ("h4b", 1, 2)
    assert ("c", "never") not in tools
    assert store.conn.execute("SELECT stream_version FROM tools WHERE name = 't3'").fetchone() == (3,)
    assert store.conn.execute("SELECT tools, status FROM servers WHERE name = 'a'").fetchone() == (2, "connected")
    changes = [r[0] for r in store.conn.execute("SELECT change FROM tool_versions WHERE name = 't2' ORDER BY position")]
    assert changes == ["added", "removed", "added"]


def test_runs_are_recorded(store):
    with store.run("first", {"x": 1}) as summary:
        summary["n"] = 3
    with pytest.raises(ValueError):
        with store.run("second"):
            raise ValueError("boom")
    rows = store.conn.execute("SELECT command, status, summary, message FROM runs ORDER BY started_at").fetchall()
    assert rows[0][:3] == ("first", "ok", '{"n":3}')
    assert rows[1][1] == "failed" and "boom" in rows[1][3]


def test_payload_is_plain_json_for_sql(store):
    store.append(tool("s", "t", "h1", description="Reads <b>files</b>"))
    row = store.conn.execute("SELECT json_extract(payload, '$.description'), type FROM events").fetchone()
    assert row == ("Reads <b>files</b>", "tool-discovered")
    assert msgspec.json.decode(store.conn.execute("SELECT payload FROM events").fetchone()[0])["type"] == "tool-discovered"


def test_lean_validation_rejects_what_decode_rejects(store):
    """append validates with lean twins of the event types (raw JSON for ``Any`` values):
    every rule of the full decoder still holds, with the same path in the error."""
    from firefly.events import ArgumentSource, ToolCalled

    bad = [
        (ServerRegistered(name="s", transport="ftp"), r"\$\.transport"),  # type: ignore[arg-type]
        (ServerRegistered(name="s", transport="stdio", labels=["a", 2]), r"\$\.labels\[1\]"),  # type: ignore[list-item]
        (ToolDiscovered(server="s", name="t", schema_hash="h", input_schema=[1]), r"\$\.input_schema"),  # type: ignore[arg-type]
        (ServerConnected(server="s", latency_ms=float("nan")), r"\$\.latency_ms"),  # NaN is written as null
        (ToolCalled(exploration_id="x", step=0, server="s", tool="t",
                    sources=[ArgumentSource(argument="/a", step="one", path="$")]), r"\$\.sources\[0\]\.step"),  # type: ignore[arg-type]
    ]
    for event, path in bad:
        with pytest.raises(EventValidationError, match=path):
            store.append(event)
    assert store.count() == 0
    # Any-typed values of every shape pass and come back as they were
    odd = ToolCalled(exploration_id="x", step=0, server="s", tool="t", arguments={"a": [1, {"b": None}], "c": 1.5},
                     sources=[ArgumentSource(argument="/a", step=0, path="$", value={"deep": ["x"]})])
    rec = store.append(odd)
    assert next(store.read()).event == odd == rec.event


def test_new_ids_are_bulk_ulids():
    from firefly.ids import new_ids

    ids = [new_id()] + new_ids(3000) + [new_id()] + new_ids(1) + new_ids(0)
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 3003 and all(len(i) == 26 for i in ids)


def database_before(path, migration: str) -> sqlite3.Connection:
    """A database file as the migrations before ``migration`` left it (an older firefly's)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for file in migration_files():
        if file.stem < migration:
            conn.executescript(file.read_text())
            conn.execute("INSERT INTO _migrations VALUES (?, 'x')", (file.stem,))
    return conn


def test_migration_0007_keeps_an_existing_log(tmp_path):
    """A database made before the lean events table keeps its events, positions and guard."""
    conn = database_before(tmp_path / "old.db", "0007")
    payload = msgspec.json.encode(tool("s", "t", "h1")).decode()
    conn.execute("INSERT INTO events (position, id, type, stream, time, run, idempotency_key, payload)"
                 " VALUES (7, 'id7', 'tool-discovered', 'tool:s/t', 't', 'r', 'tool:s/t@0', ?)", (payload,))
    conn.close()
    with Store.open(tmp_path / "old.db") as store:
        assert [(r.position, r.id, r.key) for r in store.read()] == [(7, "id7", "tool:s/t@0")]
        assert store.append(tool("s", "t", "h1")).position == 7  # the key is still unique
        assert store.append(tool("s", "u", "h2")).position == 8
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.conn.execute("DELETE FROM events")
        assert store.last("tool:s/t", "tool-discovered").position == 7
        for sql in (  # the stream reads of store.last and store.read (0013_stream_index.sql)
            "SELECT * FROM events WHERE stream = ? AND type = ?",
            "SELECT * FROM events WHERE stream = ? AND +type = ? ORDER BY position DESC LIMIT 1",
            "SELECT * FROM events WHERE position > 0 AND +type IN (?) AND stream = ? ORDER BY position",
        ):
            plan = store.conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("a", "b")).fetchall()
            assert "events_stream" in plan[0][-1], (sql, plan)


def test_migration_0018_leaves_only_verified_tasks_in_a_split(tmp_path):
    """A task an earlier firefly rejected after its split (a verdict added later) loses it."""
    conn = database_before(tmp_path / "old.db", "0018")
    for task_id, verified, split in (("kept", 1, "test"), ("rejected", 0, "train"), ("new", None, None)):
        conn.execute("INSERT INTO tasks (task_id, exploration_id, dag_id, kind, question, match, trajectory, provenance,"
                     " derivation, calls, servers, hops, synthesizer, template, verified, split, position, created_at)"
                     " VALUES (?, 'x', 'd', 'lookup', 'q', '{}', '[]', '[]', '{}', 1, 1, 1, 's', 't', ?, ?, 1, 't')",
                     (task_id, verified, split))
    conn.close()
    with Store.open(tmp_path / "old.db") as store:
        assert store.conn.execute("SELECT task_id, verified, split FROM tasks ORDER BY task_id").fetchall() == [
            ("kept", 1, "test"), ("new", None, None), ("rejected", 0, None)]


def indexes(store: Store) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}


def test_rebuild_builds_deferred_indexes_again_even_when_interrupted(db_path, monkeypatch):
    with Store.open(db_path) as store:
        history(store, 3)
        before = indexes(store)
        deferred = {name for p in store.projections for name in p.deferred_indexes}
        assert deferred <= before, "a deferred index names no index of the schema"
        assert "sim_calls_exploration" not in deferred  # read by the simulator projection's apply
        store.rebuild()
        assert indexes(store) == before
        assert store.conn.execute("SELECT count(*) FROM _rebuild_indexes").fetchone()[0] == 0
        dumps = projection_dumps(store)

        from firefly.projections.discovery import ToolsProjection

        def boom(self, db, rec):
            raise KeyboardInterrupt

        monkeypatch.setattr(ToolsProjection, "apply", boom)
        with pytest.raises(KeyboardInterrupt):
            store.rebuild()
        # the rebuild is one transaction: interrupted, it leaves tables and indexes as they were
        assert indexes(store) == before
        assert projection_dumps(store) == dumps
        monkeypatch.undo()
        # a rebuild an older firefly left half done (its indexes dropped, their definitions
        # waiting in _rebuild_indexes) ...
        with store.transaction() as conn:
            for name in sorted(deferred):
                sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
                conn.execute("INSERT INTO _rebuild_indexes (name, sql) VALUES (?, ?)", (name, sql))
                conn.execute(f"DROP INDEX [{name}]")
        assert not indexes(store) & deferred
    with Store.open(db_path) as store:  # ... gets them back when the file is opened again
        assert indexes(store) == before
        store.catch_up()
        incremental = projection_dumps(store)
        store.rebuild()
        assert projection_dumps(store) == incremental


def test_migration_0011_keeps_the_simulator_schemas(tmp_path):
    """sim_tools rows of an older database become sim_schemas rows; sim_tools is a view."""
    conn = database_before(tmp_path / "old.db", "0011")
    event = tool("s", "t", "h1")
    payload = msgspec.json.encode(event).decode()
    conn.execute("INSERT INTO events (position, id, type, stream, time, run, idempotency_key, payload)"
                 " VALUES (1, 'id1', 'tool-discovered', 'tool:s/t', 't', 'r', 'tool:s/t@0', ?)", (payload,))
    conn.execute("INSERT INTO sim_tools VALUES ('s', 't', '{}', '{}', 1)")
    conn.close()
    with Store.open(tmp_path / "old.db") as store:
        assert store.conn.execute("SELECT server, tool, position FROM sim_schemas").fetchall() == [("s", "t", 1)]
        server, name, schema, annotations, position = store.conn.execute("SELECT * FROM sim_tools").fetchone()
        assert (server, name, position) == ("s", "t", 1)
        assert msgspec.json.decode(schema) == event.input_schema
        assert msgspec.json.decode(annotations) == event.annotations


# -- events the store did not write ------------------------------------------------------------


def raw_insert(db_path, payload, type_="tool-discovered", id_="raw1", stream="tool:s/raw") -> None:
    """An event written by a plain connection that knows nothing of firefly."""
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES (?, ?, ?, 't', 'r', ?)",
                    (id_, type_, stream, payload))
    raw.close()


@pytest.mark.parametrize("payload", ["not json", '{"type": "tool-discovered"', "", "{'a': 1}", b"\xff\xfe"])
def test_log_refuses_a_payload_that_is_not_json(store, db_path, payload):
    store.append(tool("s", "t", "h1"))
    with pytest.raises(sqlite3.IntegrityError, match="json_valid"):
        raw_insert(db_path, payload)
    with pytest.raises(sqlite3.IntegrityError, match="json_valid"):  # the store's own connection too
        store.conn.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES ('x', 't', 's', 't', 'r', ?)",
                           (payload,))
    assert store.count() == 1


def test_json_check_reaches_connections_opened_before_the_migration(tmp_path):
    """A connection that had read the schema before 0015 ran sees the CHECK on its next write."""
    conn = database_before(tmp_path / "old.db", "0015")
    conn.execute("SELECT count(*) FROM events").fetchone()
    Store.open(tmp_path / "old.db").close()
    with pytest.raises(sqlite3.IntegrityError, match="json_valid"):
        conn.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES ('x', 't', 's', 't', 'r', 'no')")
    conn.close()


def old_database_with_a_bad_event(tmp_path):
    path = tmp_path / "old.db"
    conn = database_before(path, "0015")
    for position, payload in ((1, msgspec.json.encode(ServerRegistered(name="s", transport="stdio", command="x",
                                                                       config_hash="c1")).decode()),
                              (2, "not json"),
                              (3, msgspec.json.encode(tool("s", "t", "h1")).decode())):
        type_ = {1: "server-registered", 2: "tool-discovered", 3: "tool-discovered"}[position]
        conn.execute("INSERT INTO events (position, id, type, stream, time, run, payload) VALUES (?, ?, ?, 's', 't', 'r', ?)",
                     (position, f"id{position}", type_, payload))
    conn.close()
    return path


def test_replay_names_an_event_written_before_the_check(tmp_path):
    """The migration keeps an old bad event (the log is append-only); every read of it, and
    every replay that meets it, says which event it is in one error."""
    path = old_database_with_a_bad_event(tmp_path)
    with Store.open(path) as store:  # 0014 applies although the log holds a bad event
        assert store.count() == 3
        with pytest.raises(UnreadableEvent, match=r"event 2 of the log \(type 'tool-discovered', stream 's', id id2\)"
                                                  r" cannot be read: event payload is not JSON"):
            store.catch_up()
        with pytest.raises(UnreadableEvent, match="event 2 of the log"):
            list(store.read())
        assert [r.position for r in store.read(types=["server-registered"])] == [1]


@pytest.mark.parametrize("payload, reason", [
    ('{"type": "tool-discovered", "server": 5}', "invalid event payload: .*server"),  # JSON, not the type's fields
    ('{"type": "tool-discovered", "extra": [1]}', "invalid event payload"),
    ('[1, 2]', "invalid event payload"),
    ('42', "invalid event payload"),
    (None, "its payload is a 'server-connected' event"),  # a valid event of another type than the row says
])
def test_replay_names_a_json_payload_that_is_not_its_event_type(store, db_path, payload, reason):
    history(store, 100)
    if payload is None:
        payload = msgspec.json.encode(ServerConnected(server="s")).decode()
    raw_insert(db_path, payload)
    position = store.head()
    with pytest.raises(UnreadableEvent, match=rf"event {position} of the log \(type 'tool-discovered'.*\) cannot be read: {reason}"):
        store.catch_up()


def test_failed_rebuild_leaves_the_projections_as_they_were(store, db_path):
    history(store, 3)
    before = projection_dumps(store)
    checkpoints = store.checkpoints()
    raw_insert(db_path, '{"type": "tool-discovered", "server": 5}')
    with pytest.raises(UnreadableEvent, match=f"event {store.head()} of the log"):
        store.rebuild()
    assert projection_dumps(store) == before
    assert store.checkpoints() == checkpoints
    assert not store.conn.in_transaction
    # and a reader on its own connection saw the old tables all along
    raw = sqlite3.connect(db_path)
    assert raw.execute("SELECT count(*) FROM tools").fetchone()[0] == len(before["tools"])
    raw.close()


def test_cli_names_the_bad_event_and_rebuild_keeps_the_tables(tmp_path):
    from typer.testing import CliRunner

    from firefly.cli import app

    path = tmp_path / "cli.db"
    with Store.open(path) as store:
        history(store, 3)
        tools = store.conn.execute("SELECT count(*) FROM tools").fetchone()[0]
        assert store.head() == 25
    raw_insert(path, '{"type": "tool-discovered"}', id_="bad1")
    runner = CliRunner()
    for command in ("status", "rebuild"):
        result = runner.invoke(app, [command, "--db", str(path)])
        assert result.exit_code == 1, result.output
        said = " ".join(result.output.split())  # rich wraps long lines
        assert "Traceback" not in said
        assert "event 26 of the log (type 'tool-discovered', stream 'tool:s/raw', id bad1) cannot be read:" in said
    with Store.open(path) as store:
        assert store.conn.execute("SELECT count(*) FROM tools").fetchone()[0] == tools
