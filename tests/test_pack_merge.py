"""``firefly pack`` (one self-contained file, secrets refused) and ``firefly merge`` (the union
of workers' logs), over databases explored with the toy server over stdio."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.embed import HashedEmbedder, embed_tools
from firefly.events import LlmReplied, ToolCalled, encode
from firefly.ids import new_id
from firefly.merge import MergeError, merge
from firefly.pack import PackError, SecretFound, content_hash, is_packed, pack
from firefly.registry import parse_registry, register
from firefly.store import Store
from firefly.vectors import ToolIndex

from .browse_fixtures import STEADY_DAGS, build_explored
from .conftest import file_bytes, projection_dumps

runner = CliRunner()
PLANTED = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"  # a GitHub-token-shaped value
PLAIN = "hunter2-correct-horse-battery"  # a secret with no recognisable shape


@pytest.fixture(scope="module")
def source(tmp_path_factory, toy_explored):
    """An explored database with a literal secret in a server's env, and a vector index."""
    path = tmp_path_factory.mktemp("pack") / "work.db"
    shutil.copy(toy_explored, path)
    with Store.open(path) as store:
        entry = {"command": "python3", "args": ["-c", "pass"], "env": {"API_TOKEN": PLANTED, "OTHER": PLAIN}}
        register(store, parse_registry(json.dumps({"mcpServers": {"vault": entry}})), source="test")
        store.append(LlmReplied(purpose="judge-edges", request_hash="r1", request={"messages": [{"role": "user", "content": "secret plan"}]},
                                content="a raw model reply"))
        model = embed_tools(store, HashedEmbedder()).model
        assert len(ToolIndex.open(store, model)) == 4
    # a folder of per-tool indexes, as the simulator keeps them
    (path.parent / "work.db.calls.usearch").mkdir()
    (path.parent / "work.db.calls.usearch" / "toy-read_note.usearch").write_bytes(b"index bytes")
    return path, model


def values(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_pack_writes_one_self_contained_file(source, tmp_path):
    path, model = source
    out = tmp_path / "dataset.db"
    with Store.open(path) as store:
        report = pack(store, out)
        expected = projection_dumps(store)
        log = store.conn.execute("SELECT * FROM events ORDER BY position").fetchall()
    assert [p.name for p in tmp_path.iterdir()] == ["dataset.db"]  # no -wal, no sidecar: one file
    assert is_packed(out) and not is_packed(path)
    assert values(out, "PRAGMA journal_mode") == [("delete",)]
    assert values(out, "SELECT * FROM events ORDER BY position") == log
    data = dict(values(out, "SELECT key, value FROM dataset"))
    assert json.loads(data["content_hash"]) == report.content_hash == content_hash(sqlite3.connect(out))
    # the toy DAGs' calls: 7, and the look first at read_note before delete_note
    assert json.loads(data["events"]) == len(log) and json.loads(data["event_types"])["tool-called"] == 8
    assert json.loads(data["tables"])["calls"] == 8 and json.loads(data["raw_llm_exchanges"]) == "kept"
    assert json.loads(data["servers"])["toy"]["version"] == "1.0.0"
    assert set(json.loads(data["files"])) == {"tools.usearch", "tools.usearch.json", "calls.usearch/toy-read_note.usearch"}
    assert json.loads(data["firefly_version"]) and "0009_dataset" in json.loads(data["migrations"])
    # the secrets never reach the shipped bytes (they were never in the log either)
    assert PLANTED.encode() not in out.read_bytes() and PLAIN.encode() not in out.read_bytes()
    # opened with firefly, the projections are those of the working database
    with Store.open(out) as packed:
        assert projection_dumps(packed) == expected


def replay_all(db) -> list[tuple]:
    """Every exploration's calls replayed in order, one simulator episode each (strict)."""
    from firefly.simulator import Simulator

    out = []
    with Simulator.open(db, mode="strict") as sim:
        explorations = sim.store.conn.execute("SELECT exploration_id FROM explorations ORDER BY exploration_id").fetchall()
        for (exploration_id,) in explorations:
            episode = sim.episode()
            for server, tool, arguments in sim.store.conn.execute(
                "SELECT server, tool, arguments FROM calls WHERE exploration_id = ? ORDER BY step, attempt", (exploration_id,)
            ).fetchall():
                r = episode.call_sync(server, tool, json.loads(arguments))
                out.append((exploration_id, server, tool, json.dumps(r.content), r.structured_content, r.is_error, json.dumps(r.meta)))
    return out


def test_packed_copy_elsewhere_answers_the_same(source, tmp_path):
    path, model = source
    out = tmp_path / "a" / "dataset.db"
    out.parent.mkdir()
    with Store.open(path) as store:
        pack(store, out)
        original = ToolIndex.open(store, model)
        keys = [e.key for e in original.entries]
        near = original.neighbours(keys, 3)
    answers = replay_all(path)
    assert sum(1 for a in answers if not a[5]) >= 5  # recorded results, not misses
    copy = tmp_path / "b" / "moved.db"
    copy.parent.mkdir()
    shutil.copy(out, copy)
    assert content_hash(sqlite3.connect(copy)) == content_hash(sqlite3.connect(out))
    # a name that would leave the folder is never written
    with sqlite3.connect(copy) as conn:
        conn.execute("INSERT INTO dataset_files VALUES ('tools.usearch/../../escape.usearch', 1, 'x', x'00')")
    with Store.open(copy) as moved:
        assert (copy.parent / "moved.db.tools.usearch").exists()  # restored beside it on open
        assert (copy.parent / "moved.db.calls.usearch" / "toy-read_note.usearch").read_bytes() == b"index bytes"
        assert not (tmp_path / "escape.usearch").exists() and not (tmp_path.parent / "escape.usearch").exists()
        index = ToolIndex.open(moved, model)
        assert not index.rebuilt and index.neighbours(keys, 3) == near
    assert replay_all(copy) == answers  # the simulator answers the same from the copy


def test_drop_raw_leaves_out_llm_exchanges(source, tmp_path):
    path, _ = source
    with Store.open(path) as store:
        report = pack(store, tmp_path / "lean.db", drop_raw=True)
        total = store.count()
    assert report.dropped == 1 and report.events == total - 1
    assert values(tmp_path / "lean.db", "SELECT count(*) FROM events WHERE type = 'llm-replied'") == [(0,)]
    assert b"secret plan" not in (tmp_path / "lean.db").read_bytes()
    assert json.loads(dict(values(tmp_path / "lean.db", "SELECT key, value FROM dataset"))["raw_llm_exchanges"])["dropped"] == 1


def plant(store: Store, event) -> None:  # noqa: ANN001
    """Write an event as it is, past the store's redaction: a log written before firefly
    scrubbed what servers send (or merged from one)."""
    store.conn.execute("INSERT INTO events (id, type, stream, time, run, idempotency_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (new_id(), event.__struct_config__.tag, event.stream, "2024-01-01T00:00:00Z", "r", event.key(), encode(event).decode()))


def test_pack_refuses_secrets_and_writes_nothing(tmp_path, monkeypatch):
    with Store.open(tmp_path / "leaky.db") as store:
        entry = {"command": "python3", "args": [], "env": {"TOKEN": PLAIN, "KEY": "${VAULT_KEY}"}}
        register(store, parse_registry(json.dumps({"mcpServers": {"leaky": entry}})), source="test")
        # a server echoed its (shapeless) secret in a result: the store never logs it ...
        echo = ToolCalled(exploration_id="x", step=0, server="leaky", tool="env", content=[{"type": "text", "text": f"TOKEN is {PLAIN}"}])
        assert store.append(echo).event.content == [{"type": "text", "text": "TOKEN is [secret]"}]
        pack(store, tmp_path / "clean.db")
        # ... and in a log that holds it, only the byte scan can see it
        plant(store, ToolCalled(exploration_id="x2", step=0, server="leaky", tool="env", content=echo.content))
        with pytest.raises(SecretFound, match="env TOKEN of server leaky"):
            pack(store, tmp_path / "out.db")
        assert not list(tmp_path.glob("out.db*"))
        # a value from the environment that a template refers to is a secret too
        monkeypatch.setenv("VAULT_KEY", "env-secret-value-77")
        store.append(ToolCalled(exploration_id="x", step=1, server="leaky", tool="env", content=[{"type": "text", "text": "env-secret-value-77"}]))
        assert b"env-secret-value-77" not in file_bytes(store.path)
        plant(store, ToolCalled(exploration_id="x3", step=1, server="leaky", tool="env", content=[{"type": "text", "text": "env-secret-value-77"}]))
        with pytest.raises(SecretFound, match="environment variable VAULT_KEY"):
            pack(store, tmp_path / "out.db")
    with Store.open(tmp_path / "shaped.db") as store:
        store.append(ToolCalled(exploration_id="y", step=0, server="s", tool="t", content=[{"type": "text", "text": f"token {PLANTED}"}]))
        with pytest.raises(SecretFound, match=r"event 1 \(tool-called, exploration:y\) holds what looks like a GitHub token"):
            pack(store, tmp_path / "out.db")
    assert not list(tmp_path.glob("out.db*"))


def test_pack_output_rules(source, tmp_path):
    path, _ = source
    out = tmp_path / "d.db"
    with Store.open(path) as store:
        pack(store, out)
        with pytest.raises(PackError, match="already exists; pass --force"):
            pack(store, out)
        pack(store, out, force=True)
        with pytest.raises(PackError, match="is also an input"):
            pack(store, path, force=True)
    result = runner.invoke(app, ["pack", str(tmp_path / "cli.db"), "--db", str(path), "--drop-raw"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "1 raw LLM exchange(s) left out" in said and "content hash sha256:" in said
    result = runner.invoke(app, ["pack", str(tmp_path / "cli.db"), "--db", str(path)])
    assert result.exit_code == 1 and "Error:" in result.output and "--force" in result.output


# -- merge ---------------------------------------------------------------------------------------

ENVELOPE = {"position", "time", "run", "run_id", "started_at", "ended_at", "finished_at", "registered_at",
            "first_connected_at", "last_connected_at", "first_seen", "last_seen", "latency_ms"}


def comparable(store: Store) -> dict[str, list[tuple]]:
    """Every projection without what depends on when and in which run a fact was recorded."""
    out = {}
    for p in store.projections:
        for table in p.tables:
            if table == "runs":
                continue
            columns = [r[1] for r in store.conn.execute(f"PRAGMA table_info([{table}])") if r[1] not in ENVELOPE]
            out[table] = sorted(store.conn.execute(f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM [{table}]").fetchall(), key=repr)
    return out


@pytest.fixture(scope="module")
def worker_logs(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    for name, servers in (("a", ("notes_a",)), ("b", ("notes_b",)), ("both", ("notes_a", "notes_b"))):
        with Store.open(root / f"{name}.db") as store:
            build_explored(store, servers, STEADY_DAGS)
    return root


def test_merge_of_two_runs_equals_one_run_over_both(worker_logs, tmp_path):
    out = tmp_path / "merged.db"
    report = merge([worker_logs / "a.db", worker_logs / "b.db"], out)
    assert report.same_id == 0 and report.written == sum(report.inputs.values())
    assert values(out, "PRAGMA journal_mode") == [("delete",)]
    with Store.open(out) as merged, Store.open(worker_logs / "both.db") as both:
        assert merged.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 6
        assert comparable(merged) == comparable(both)
        before = projection_dumps(merged)
        merged.rebuild()
        assert projection_dumps(merged) == before


def test_merge_writes_each_event_and_each_fact_once(worker_logs, tmp_path):
    copy = tmp_path / "a-copy.db"
    shutil.copy(worker_logs / "a.db", copy)
    out = tmp_path / "m.db"
    report = merge([worker_logs / "a.db", copy, worker_logs / "both.db"], out)
    a = values(worker_logs / "a.db", "SELECT count(*) FROM events")[0][0]
    assert report.same_id == a  # the copy adds nothing
    assert report.same_key > 0  # "both" recorded notes_a's tools and explorations again: kept once
    keys = [k for (k,) in values(out, "SELECT idempotency_key FROM events WHERE idempotency_key IS NOT NULL")]
    assert len(keys) == len(set(keys))
    with Store.open(out) as merged, Store.open(worker_logs / "both.db") as both:
        assert comparable(merged)["calls"] == comparable(both)["calls"]


def test_merge_refuses_conflicts_and_bad_inputs(worker_logs, tmp_path):
    forged = tmp_path / "forged.db"
    shutil.copy(worker_logs / "a.db", forged)
    conn = sqlite3.connect(forged)
    first_id = conn.execute("SELECT id FROM events ORDER BY position LIMIT 1").fetchone()[0]
    conn.close()
    other = tmp_path / "other.db"
    with Store.open(other) as store:
        store.conn.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES (?, 'run-started', 'run:x', '2020', 'x',"
                           " '{\"type\":\"run-started\",\"run_id\":\"x\",\"command\":\"forged\"}')", (first_id,))
    with pytest.raises(MergeError, match="appears in two inputs with different content"):
        merge([forged, other], tmp_path / "out.db")
    assert not list(tmp_path.glob("out.db*"))
    (tmp_path / "plain.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(MergeError, match="is not a usable SQLite database"):
        merge([worker_logs / "a.db", tmp_path / "plain.db"], tmp_path / "out.db")
    sqlite3.connect(tmp_path / "empty.db").execute("CREATE TABLE t (x)")
    with pytest.raises(MergeError, match="not a firefly database"):
        merge([tmp_path / "empty.db"], tmp_path / "out.db")
    result = runner.invoke(app, ["merge", str(worker_logs / "a.db"), str(worker_logs / "b.db"), str(tmp_path / "cli.db")])
    assert result.exit_code == 0 and "duplicate fact(s)" in " ".join(result.output.split())
    result = runner.invoke(app, ["merge", str(worker_logs / "a.db")])
    assert result.exit_code == 1 and "at least one input and the output" in " ".join(result.output.split())


def test_merge_names_an_input_event_that_is_not_json(worker_logs, tmp_path):
    """An event written while the log had no JSON check is not dropped silently by a merge."""
    damaged = tmp_path / "damaged.db"
    shutil.copy(worker_logs / "a.db", damaged)
    conn = sqlite3.connect(damaged)
    conn.execute("PRAGMA ignore_check_constraints=ON")  # as a log between 0007 and 0014 allowed
    with conn:
        conn.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES ('bad1', 'tool-discovered', 's',"
                     " '2020', 'x', 'not json')")
    conn.close()
    with pytest.raises(MergeError, match="event bad1 \\(type 'tool-discovered', stream 's'\\) of an input cannot be merged"):
        merge([damaged], tmp_path / "out.db")
    assert not list(tmp_path.glob("out.db*"))


def test_pack_names_an_event_that_is_not_json(tmp_path):
    """An event of a type no projection reads, written while the log had no JSON check."""
    work = tmp_path / "work.db"
    Store.open(work).close()
    conn = sqlite3.connect(work)
    conn.execute("PRAGMA ignore_check_constraints=ON")  # as a log between 0007 and 0014 allowed
    with conn:
        conn.execute("INSERT INTO events (id, type, stream, time, run, payload) VALUES ('bad1', 'no-such-type', 's',"
                     " '2020', 'x', 'not json')")
    conn.close()
    with Store.open(work) as store, pytest.raises(PackError, match=r"event 1 of the log \(type 'no-such-type', stream 's',"
                                                                    r" id bad1\) cannot be packed: its payload is not JSON"):
        pack(store, tmp_path / "out.db")
    assert not list(tmp_path.glob("out.db*"))
