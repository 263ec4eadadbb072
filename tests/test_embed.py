"""Tool embeddings: the hashed default embedder, the remote one, and their recording."""

from __future__ import annotations

import numpy as np
import pytest

from firefly.embed import (
    HASHED_MODEL,
    HashedEmbedder,
    RemoteEmbedder,
    decode_vector,
    embed_tools,
    encode_vector,
    schema_params,
    tool_doc,
    tool_docs,
    words,
)
from firefly.llm import LLM, LLMConfig
from tests.openai_stub import ScriptedOpenAI, deterministic_embedding

from .conftest import projection_dumps
from .graph_fixtures import add_tools, bundled_servers, bundled_store, catalog_servers, tool_discovered


def test_words_split_identifiers_fold_plurals_and_drop_stop_words():
    assert words("listDirectoryWithSizes") == ["list", "directory", "size"]
    assert words("create_entities") == ["create", "entity"]
    assert words("Read the contents of FILES in a directory.") == ["read", "content", "file", "directory"]
    assert words("HTTPServer status") == ["http", "server", "status"]
    assert words(None) == []


def test_schema_params_walk_messy_schemas():
    schema = {
        "type": "object",
        "required": ["entities", "missing"],
        "properties": {
            "entities": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string", "description": "The name"}}}},
            "mode": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": 7},
            "weird": "not a schema",
        },
        "anyOf": [{"properties": {"extra": {"type": ["string", "null"]}}}],
    }
    params = {p.path: p for p in schema_params(schema)}
    assert set(params) == {"entities", "mode", "weird", "extra", "entities.name"}
    assert params["entities"].required and not params["mode"].required and not params["entities.name"].required
    assert params["entities.name"].description == "The name" and params["mode"].description == ""
    assert params["extra"].type == "string/null"
    for messy in (None, [], {"properties": []}, {"properties": {"a": None}}, {"type": "object", "properties": {}}):
        schema_params(messy)  # never raises


def _docs():
    servers = bundled_servers()
    return {t["name"]: tool_doc(s, t["name"], "h", t.get("title"), t.get("description"), t["inputSchema"], t.get("outputSchema"))
            for s, tools in servers.items() for t in tools}


def test_hashed_vectors_are_deterministic_normalised_and_meaningful():
    docs = _docs()
    corpus = list(docs.values())
    a = HashedEmbedder().fit(corpus).embed(corpus)
    b = HashedEmbedder().fit(list(reversed(corpus))).embed(corpus)
    assert a.dtype == np.float32 and a.shape == (44, 512)
    assert np.array_equal(a, b)  # another instance, another corpus order: the same vectors
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    row = {name: i for i, name in enumerate(docs)}

    def sim(x, y):
        return float(a[row[x]] @ a[row[y]])

    assert sim("read_file", "read_text_file") > 0.5
    assert sim("read_file", "read_text_file") > sim("read_file", "convert_time") + 0.3
    assert sim("create_entities", "delete_entities") > sim("create_entities", "git_commit")
    small = HashedEmbedder(64)
    assert small.name == f"{HASHED_MODEL}-64" and small.embed(corpus[:2]).shape == (2, 64)
    assert HashedEmbedder().embed([tool_doc("s", "of", "h", None, None, {})]).tolist()[0] == [0.0] * 512  # nothing to say
    with pytest.raises(ValueError):
        HashedEmbedder(8)


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_vectors_round_trip_through_base64(dtype):
    v = np.random.default_rng(1).standard_normal(17).astype(np.float32)
    back = decode_vector(encode_vector(v, dtype), dtype)
    assert back.dtype == np.float32 and np.allclose(back, v, atol=1e-2 if dtype == "float16" else 0)


def test_embed_tools_records_vectors_once(store):
    add_tools(store, bundled_servers())
    add_tools(store, catalog_servers(), callable_=False)
    report = embed_tools(store)
    assert (report.tools, report.embedded, report.reused) == (44, 44, 0)
    rec = next(store.read(types=["embedded"]))
    assert rec.event.model == HASHED_MODEL and rec.event.dim == 512 and rec.event.dtype == "float16"
    assert rec.event.subject == rec.stream and rec.event.subject.startswith("tool:")
    assert len(rec.event.vector) == 1368  # 512 float16 in base64
    head = store.head()
    again = embed_tools(store)
    assert (again.embedded, again.reused) == (0, 44) and store.head() == head
    everything = embed_tools(store, include_catalog=True)
    assert (everything.tools, everything.embedded, everything.reused) == (44 + 47, 47, 44)
    # a schema change: only that tool gets a new vector
    tool = dict(bundled_servers()["git"][0], description="Stage files for the next commit")
    old = store.conn.execute("SELECT schema_hash FROM tools WHERE server = 'git' AND name = ?", (tool["name"],)).fetchone()[0]
    store.append(tool_discovered("git", tool, previous=old, version=1))
    changed = embed_tools(store, include_catalog=True)
    assert (changed.embedded, changed.reused) == (1, 90)
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before


def test_remote_embedder_records_model_and_dimension(store):
    add_tools(store, {"git": bundled_servers()["git"][:3]})
    with ScriptedOpenAI([], embedding_dim=24) as srv:
        llm = LLM(LLMConfig(base_url=srv.base_url, embed_model="text-embed-x", max_retries=0, timeout=5))
        report = embed_tools(store, RemoteEmbedder(llm))
        assert srv.requests[0]["json"]["input"][0].startswith("name: git_add")
    assert report.embedded == 3
    docs = tool_docs(store)
    for rec, doc in zip(store.read(types=["embedded"]), docs, strict=True):
        assert (rec.event.model, rec.event.dim, rec.event.dtype) == ("text-embed-x", 24, "float32")
        assert np.allclose(decode_vector(rec.event.vector, "float32"), deterministic_embedding(doc.text, 24), atol=1e-6)


def test_a_failed_remote_batch_is_an_error_event_and_the_rest_goes_on(store):
    add_tools(store, {"git": bundled_servers()["git"][:5]})
    calls = []

    def script(path, body):
        calls.append(body["input"])
        return 500 if len(calls) == 2 else None

    with ScriptedOpenAI(script, embedding_dim=8) as srv:
        llm = LLM(LLMConfig(base_url=srv.base_url, embed_model="e", max_retries=0, timeout=5))
        report = embed_tools(store, RemoteEmbedder(llm, batch=2))
        assert (report.embedded, report.failed) == (3, 2) and "HTTP 500" in report.errors[0]
        [failure] = [r.event for r in store.read(types=["llm-failed"])]
        assert failure.operation == "embeddings" and failure.purpose == "embed-tools"
        retry = embed_tools(store, RemoteEmbedder(llm, batch=2))  # the failed tools are asked again
    assert (retry.embedded, retry.reused, retry.failed) == (2, 3, 0)
    assert len(calls) == 4


def test_bundled_store_helper_sees_only_callable_tools_by_default(db_path):
    with bundled_store(db_path) as store:
        add_tools(store, catalog_servers(), callable_=False)
        assert len(tool_docs(store)) == 44 and len(tool_docs(store, include_catalog=True)) == 91


def test_cli_embed_hashed_and_remote(db_path, monkeypatch):
    from typer.testing import CliRunner

    from firefly.cli import app

    bundled_store(db_path).close()
    runner = CliRunner()
    result = runner.invoke(app, ["embed", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "embedded 44 tool(s) with firefly-hashed-v1" in result.output and "(rebuilt)" in result.output
    result = runner.invoke(app, ["embed", "--db", str(db_path)])
    assert "embedded 0 tool(s)" in result.output and "44 reused" in result.output and "(rebuilt)" not in result.output
    result = runner.invoke(app, ["embed", "--embedder", "remote", "--db", str(db_path)])
    assert result.exit_code == 1 and "FIREFLY_EMBED_MODEL" in result.output and "--embed-model" in result.output
    with ScriptedOpenAI([], embedding_dim=16) as srv:
        monkeypatch.setenv("FIREFLY_LLM_BASE_URL", srv.base_url)
        result = runner.invoke(app, ["embed", "--embedder", "remote", "--embed-model", "e-small", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "embedded 44 tool(s) with e-small" in result.output
