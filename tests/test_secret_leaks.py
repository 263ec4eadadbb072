"""A server that echoes its secret in every field it controls (tests/servers/misbehaving.py
``echo-secret``: serverInfo name and version, instructions, the tool's title, description,
annotations, input-schema property description and default, output schema, the result's
text and a structuredContent key and value, stderr): the secret reaches none of the
database files, the Datasette pages, the export files, the requests ``firefly eval`` sends
a model, or the packed file of a merge. And where a log does hold one (written before the
store scrubbed, or merged from such a log), pack, export and eval refuse."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sqlite3
import sys

import msgspec
import pytest
from datasette.app import Datasette
from typer.testing import CliRunner

from firefly_datasette.settings import SETTINGS
from firefly.cli import app
from firefly.discovery import discover
from firefly.errors import SecretFound
from firefly.events import DagSampled, DagTool, TaskSplit, TaskSynthesized, TaskVerdict, ToolCalled, ToolDiscovered, encode
from firefly.evaluation import EvalSettings, OpenAIAgent, evaluate
from firefly.explore.policy import Proposal
from firefly.explore.stage import explore
from firefly.export import export
from firefly.ids import new_id
from firefly.llm import LLMConfig
from firefly.merge import merge
from firefly.pack import pack
from firefly.registry import parse_registry, register
from firefly.secrets import Redactor, SecretsFile, found
from firefly.store import Store

from .conftest import SERVERS, file_bytes
from .openai_stub import AgentLoop, ScriptedOpenAI

runner = CliRunner()
SECRET = "Zq7-plain-s3cret-x9"  # no credential shape: only knowing the value finds it
QUESTION = "What is the value of the key 'answer'?"


class LookupPolicy:
    name = "scripted"

    def propose(self, tool, history, workspace, rng, attempt=0):  # noqa: ANN001, ANN201
        return Proposal({"key": "answer"})


def leaky_registry() -> str:
    entry = {"command": sys.executable, "args": [str(SERVERS / "misbehaving.py"), "echo-secret"], "env": {"LEAK_TOKEN": SECRET}}
    return json.dumps({"mcpServers": {"leaky": entry}})


def add_task(store: Store, task_id: str, exploration_id: str, question: str = QUESTION) -> None:
    store.append_many([
        TaskSynthesized(task_id=task_id, exploration_id=exploration_id, dag_id="d-leaky", kind="lookup", question=question,
                        answer=42, match={"rule": "number", "tolerance": 1e-6},
                        trajectory=[{"step": 0, "server": "leaky", "tool": "lookup", "arguments": {"key": "answer"}}],
                        calls=1, servers=1, hops=1, synthesizer="test", template="test"),
        TaskVerdict(task_id=task_id, verifier="replayable", passed=True),
        TaskSplit(task_id=task_id, dag_id="d-leaky", split="test"),
    ])
    store.catch_up()


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """A database made from the echoing server: registered with a literal secret in its env,
    discovered and explored over stdio, with one verified task over its recorded call."""
    root = tmp_path_factory.mktemp("leaky")
    path = root / "work.db"
    with Store.open(path) as store:
        register(store, parse_registry(leaky_registry()), source="test")
        report = discover(store, ["leaky"], connect_timeout=30)
        assert report.connected == ["leaky"], report.failed
        store.append(DagSampled(dag_id="d-leaky", tools=[DagTool(server="leaky", name="lookup", schema_hash="h")],
                                edges=[], seed=0, index=0, sampler="test"))
        store.catch_up()
        assert explore(store, LookupPolicy(), connect_timeout=30).finished == 1
        (exploration_id,) = store.conn.execute("SELECT exploration_id FROM explorations").fetchone()
        add_task(store, "t-leaky", exploration_id)
    return path


def test_every_server_controlled_field_is_scrubbed_before_it_is_logged(leaky):
    assert SecretsFile(leaky).get("leaky", "env", "LEAK_TOKEN") == SECRET  # the secret is known, beside the db
    data = file_bytes(leaky)  # the database, its -wal and -shm
    assert SECRET.encode() not in data
    conn = sqlite3.connect(leaky)
    try:
        # each field was received and logged, with the secret replaced
        server = conn.execute("SELECT server_name, server_version FROM servers WHERE name = 'leaky'").fetchone()
        assert server == ("leaky-[secret]", "1.0-[secret]")
        title, description, schema, annotations, output = conn.execute(
            "SELECT title, description, input_schema, annotations, output_schema FROM tools WHERE name = 'lookup'").fetchone()
        assert title == "Lookup ([secret])" and description == "Look a key up. Authenticated with [secret]."
        key = json.loads(schema)["properties"]["key"]
        assert key["description"] == "The key to look up (token [secret])" and key["default"] == "[secret]"
        assert json.loads(annotations)["title"] == "annotated [secret]"
        assert list(json.loads(output)["properties"]) == ["[secret]", "value"]
        call = conn.execute("SELECT content, structured_content, error FROM calls").fetchone()
        assert json.loads(call[0])[0]["text"] == "value of answer: 42 (token [secret])"
        assert json.loads(call[1]) == {"[secret]": "token [secret]", "value": 42}
        assert conn.execute("SELECT count(*) FROM sim_calls WHERE server = 'leaky'").fetchone()[0] >= 1
        connected = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM events WHERE type = 'server-connected'")]
        assert connected[-1]["instructions"] == "Use token [secret]."
    finally:
        conn.close()
    # the schema hash is of what the server said: discovering again finds nothing changed
    with Store.open(leaky) as store:
        again = discover(store, ["leaky"], connect_timeout=30)
    assert again.connected == ["leaky"] and again.tools_added == again.tools_changed == again.tools_removed == 0
    assert SECRET.encode() not in file_bytes(leaky)


def test_datasette_pages_never_show_the_secret(leaky):
    ds = Datasette([str(leaky)], settings=SETTINGS)
    asyncio.run(ds.invoke_startup())
    db = leaky.stem
    conn = sqlite3.connect(leaky)
    exploration_id = conn.execute("SELECT exploration_id FROM explorations").fetchone()[0]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    pages = [f"/{db}", f"/{db}/-/firefly/task/t-leaky", f"/{db}/-/firefly/exploration/{exploration_id}",
             f"/{db}/-/firefly/dag/d-leaky.svg", f"/{db}/-/firefly/tool/leaky/lookup.svg"]
    pages += [f"/{db}/{t}{suffix}" for t in tables for suffix in ("", ".json?_shape=array")]
    seen = ""
    for page in pages:
        response = asyncio.run(ds.client.get(page))
        assert response.status_code == 200, (page, response.status_code)
        assert SECRET not in response.text, page
        seen += response.text
    assert "[secret]" in seen


def test_exports_and_model_requests_never_hold_the_secret(leaky, tmp_path):
    result = runner.invoke(app, ["export", "--db", str(leaky), "--out", str(tmp_path / "out"), "--split", "test"])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["test-chat.jsonl", "test-rl.jsonl"]
    for f in files:
        text = f.read_text()
        assert text and SECRET not in text and "[secret]" in text
    plan = AgentLoop(lambda q, tools: [("leaky__lookup", {"key": "answer"})], lambda q, results: "42")
    with ScriptedOpenAI(plan) as srv:
        result = runner.invoke(app, ["eval", "--db", str(leaky), "--base-url", srv.base_url, "--model", "m", "--split", "test"])
        assert result.exit_code == 0, result.output
    bodies = json.dumps([r["json"] for r in srv.requests])
    assert len(srv.requests) == 2 and SECRET not in bodies and "[secret]" in bodies
    assert "pass@1" in result.output
    assert SECRET.encode() not in file_bytes(leaky)


def test_packed_merge_never_holds_the_secret(leaky, tmp_path):
    other = tmp_path / "other.db"
    with Store.open(other) as store:
        register(store, parse_registry(json.dumps({"mcpServers": {"quiet": {"command": "python3", "env": {"K": "other-secret-456"}}}})),
                 source="test")
    merged = tmp_path / "all.db"
    merge([leaky, other], merged)
    # the inputs' secrets travel beside the merged file, owner-only
    secrets = SecretsFile(merged)
    assert stat.S_IMODE(os.stat(secrets.path).st_mode) == 0o600
    assert secrets.get("leaky", "env", "LEAK_TOKEN") == SECRET and secrets.get("quiet", "env", "K") == "other-secret-456"
    with Store.open(merged) as store:
        assert set(store.secret_values().values()) >= {SECRET, "other-secret-456"}
        pack(store, tmp_path / "dataset.db")
    assert SECRET.encode() not in (tmp_path / "dataset.db").read_bytes()
    assert SECRET.encode() not in file_bytes(merged)


# -- a log that holds a secret: written before the store scrubbed, or merged from one ------------


def plant(path, event) -> None:  # noqa: ANN001
    """Write an event as it is, past the store's redaction."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO events (id, type, stream, time, run, idempotency_key, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (new_id(), event.__struct_config__.tag, event.stream, "2024-01-01T00:00:00Z", "r", event.key(), encode(event).decode()))
    conn.close()


@pytest.fixture
def legacy(leaky, tmp_path):
    """A copy of the leaky database with a task whose question quotes the secret, as a log
    written before the store scrubbed could hold it."""
    path = tmp_path / "legacy.db"
    with Store.open(leaky) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(leaky, path)
    shutil.copy(SecretsFile(leaky).path, SecretsFile(path).path)
    with Store.open(path) as store:
        exploration_id = store.conn.execute("SELECT exploration_id FROM explorations").fetchone()[0]
    for event in (TaskSynthesized(task_id="t-old", exploration_id=exploration_id, dag_id="d-leaky", kind="lookup",
                                  question=f"With token {SECRET}, what is the value of 'answer'?", answer=42,
                                  match={"rule": "number", "tolerance": 1e-6},
                                  trajectory=[{"step": 0, "server": "leaky", "tool": "lookup", "arguments": {"key": "answer"}}],
                                  calls=1, servers=1, hops=1, synthesizer="test", template="test"),
                  TaskVerdict(task_id="t-old", verifier="replayable", passed=True),
                  TaskSplit(task_id="t-old", dag_id="d-leaky", split="test")):
        plant(path, event)
    with Store.open(path) as store:
        store.catch_up()
    return path


def test_export_refuses_a_log_holding_a_secret(legacy, tmp_path):
    chat, rl = tmp_path / "c.jsonl", tmp_path / "r.jsonl"
    with pytest.raises(SecretFound, match="env LEAK_TOKEN of server leaky"):
        export(legacy, chat=chat, rl=rl, split="test")
    assert not chat.exists() and not rl.exists()
    result = runner.invoke(app, ["export", "--db", str(legacy), "--out", str(tmp_path / "out"), "--split", "test"])
    assert result.exit_code == 1 and "refusing to export" in result.output
    assert not list((tmp_path / "out").iterdir())


def test_every_export_format_refuses_a_log_holding_a_secret(legacy, tmp_path):
    out = tmp_path / "out"
    formats = [arg for fmt in ("chat", "rl", "trl", "verl", "hf") for arg in ("--format", fmt)]
    result = runner.invoke(app, ["export", "--db", str(legacy), "--out", str(out), "--split", "test", *formats])
    assert result.exit_code == 1 and "refusing to export" in result.output and "the verl export" in result.output
    assert "the hf export" in result.output and not list(out.iterdir())


def test_every_export_format_writes_the_scrubbed_text(leaky, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "out"
    formats = [arg for fmt in ("trl", "verl", "hf") for arg in ("--format", fmt)]
    result = runner.invoke(app, ["export", "--db", str(leaky), "--out", str(out), "--split", "test", *formats])
    assert result.exit_code == 0, result.output
    texts = [(out / "test-trl.jsonl").read_text(), (out / "test-hf" / "README.md").read_text()]
    texts += [json.dumps(pq.read_table(p).to_pylist(), default=str) for p in out.rglob("*.parquet")]
    assert len(texts) == 4 and all(SECRET not in t for t in texts) and "[secret]" in texts[0] + texts[2]


def test_eval_never_sends_a_secret_to_the_model(legacy):
    plan = AgentLoop(lambda q, tools: [("leaky__lookup", {"key": "answer"})], lambda q, results: "42")
    with ScriptedOpenAI(plan) as srv:
        agent = OpenAIAgent(LLMConfig(base_url=srv.base_url, model="m", max_retries=0))
        with pytest.raises(SecretFound, match="task t-old .* env LEAK_TOKEN of server leaky"):
            with Store.open(legacy) as store:
                evaluate(store, agent, EvalSettings(split="test"), concurrency=1)
    assert all(SECRET not in json.dumps(r["json"]) for r in srv.requests)


def test_packing_a_merge_of_a_log_holding_a_secret_is_refused(legacy, tmp_path):
    merged = tmp_path / "merged.db"
    merge([legacy], merged)
    assert SECRET.encode() in merged.read_bytes()  # the merge copies the log as it is ...
    with Store.open(merged) as store, pytest.raises(SecretFound, match="env LEAK_TOKEN of server leaky"):
        pack(store, tmp_path / "shipped.db")  # ... and its secrets file lets pack see it
    assert not list(tmp_path.glob("shipped.db*"))
    # without the merged secrets file, nothing would have stopped it
    SecretsFile(merged).path.unlink()
    with Store.open(merged) as store:
        pack(store, tmp_path / "shipped.db")
    assert SECRET.encode() in (tmp_path / "shipped.db").read_bytes()


# -- the redactor ------------------------------------------------------------------------------


def test_redactor_covers_keys_nesting_and_json_escapes():
    quoted = 'pa"ss\\word-99'
    r = Redactor(["tok-123456", quoted, "short"])
    assert r.values == [quoted, "tok-123456"]  # longest first; too short to replace safely is left out
    payload = msgspec.json.encode({"type": "x", "a": {"tok-123456": [f"<{quoted}>", {"k": "tok-123456tok-123456"}]}, "n": 7}).decode()
    out = msgspec.json.decode(r.payload(payload))
    assert out == {"type": "x", "a": {"[secret]": ["<[secret]>", {"k": "[secret][secret]"}]}, "n": 7}
    clean = '{"type":"x","a":"nothing here"}'
    assert r.payload(clean) is clean
    # a secret's letters inside an escape sequence are not the secret
    tricky = Redactor(["nabcdef"])
    assert msgspec.json.decode(tricky.payload(msgspec.json.encode({"t": "\nabcdef"}).decode())) == {"t": "\nabcdef"}
    assert found(json.dumps({"x": quoted}), {"q": quoted}) == ["q"]


def test_replaced_secret_values_stay_known(store):
    secrets = SecretsFile(store.path)
    secrets.put("s", {"A": "first-value-1"}, {})
    secrets.put("s", {"A": "second-value-2"}, {})
    secrets.put("t", {"B": "third-value-3"}, {})
    secrets.put("t", {}, {})  # unregistered
    assert secrets.get("s", "env", "A") == "second-value-2" and secrets.get("t", "env", "B") is None
    assert set(store.secret_values().values()) == {"first-value-1", "second-value-2", "third-value-3"}


def test_the_store_follows_secrets_given_while_it_is_open(store, monkeypatch):
    def logged(text: str) -> str:
        rec = store.append(ToolCalled(exploration_id="x", step=store.head(), server="s", tool="t", content=[{"type": "text", "text": text}]))
        assert rec.event.content == json.loads(store.conn.execute("SELECT payload FROM events WHERE position = ?", (rec.position,)).fetchone()[0])["content"]
        return rec.event.content[0]["text"]

    monkeypatch.setenv("FIREFLY_LLM_API_KEY", "llm-key-abcdef")  # the model's key, with no server registered
    assert logged("key llm-key-abcdef") == "key [secret]"
    register(store, parse_registry(json.dumps({"mcpServers": {"s": {"command": "python3", "env": {"K": "${LATER_TOKEN}"}}}})), source="t")
    assert logged("later-token-1") == "later-token-1"  # not set yet: nothing to hide
    monkeypatch.setenv("LATER_TOKEN", "later-token-1")
    assert logged("later-token-1") == "[secret]"
    SecretsFile(store.path).put("s2", {"X": "file-secret-77"}, {})  # a literal value written by another command
    assert logged("file-secret-77!") == "[secret]!"
    # the stream and the key of an event are scrubbed too (a tool named after the secret)
    rec = store.append(ToolDiscovered(server="s", name="t-file-secret-77", input_schema={}, schema_hash="h"))
    assert rec.stream == "tool:s/t-[secret]" and "file-secret-77" not in rec.key and rec.event.name == "t-[secret]"
    store.catch_up()
    assert b"file-secret-77" not in file_bytes(store.path)  # (later-token-1 was logged while it was no secret)
