"""The OpenAI-compatible client: every exchange is an event, replies are reused, failures are
recorded and do not raise. Driven against the scripted server in tests/openai_stub.py."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from firefly.events import LlmFailed, LlmReplied
from firefly.llm import LLM, LLMCallError, LLMConfig, LLMNotConfigured
from firefly.store import Store
from tests.openai_stub import Hang, ScriptedOpenAI, deterministic_embedding

from .conftest import file_bytes, projection_dumps

KEY = "sk-never-in-the-log-4242"
MESSAGES = [{"role": "user", "content": "name one prime"}]


def make_llm(srv: ScriptedOpenAI, **kwargs) -> LLM:
    options = {"timeout": 5.0, "max_retries": 0, **kwargs}
    return LLM(LLMConfig(base_url=srv.base_url, model="judge-1", api_key=KEY, embed_model="embed-1", **options))


def chat_posts(srv: ScriptedOpenAI) -> int:
    return sum(1 for r in srv.requests if r["path"] == "/v1/chat/completions")


def test_reply_is_recorded_and_reused(store):
    with ScriptedOpenAI(lambda path, body: "seven") as srv:
        llm = make_llm(srv)
        first = llm.chat(store, "test", MESSAGES, temperature=0)
        again = llm.chat(store, "test", MESSAGES, temperature=0)
        assert chat_posts(srv) == 1
        assert srv.requests[0]["json"]["model"] == "judge-1"
        assert srv.requests[0]["json"]["temperature"] == 0
    assert first.ok and first.reply.content == "seven" and not first.reused
    assert again.ok and again.reused and again.reply == first.reply and again.request_hash == first.request_hash
    [rec] = list(store.read(types=["llm-replied"]))
    event = rec.event
    assert isinstance(event, LlmReplied)
    assert event.request == {"messages": MESSAGES, "model": "judge-1", "temperature": 0}
    assert event.purpose == "test" and event.content == "seven" and event.finish_reason == "stop"
    assert event.usage["prompt_tokens"] == 3 and event.base_url.startswith("http://127.0.0.1:")
    store.catch_up()
    assert store.conn.execute("SELECT status, purpose, model FROM llm_exchanges").fetchall() == [("ok", "test", "judge-1")]


def test_another_purpose_attempt_or_request_asks_again(store):
    with ScriptedOpenAI(lambda path, body: "ok") as srv:
        llm = make_llm(srv)
        llm.chat(store, "test", MESSAGES)
        llm.chat(store, "other", MESSAGES)
        llm.chat(store, "test", MESSAGES, attempt=1)
        llm.chat(store, "test", [{"role": "user", "content": "name two primes"}])
        llm.chat(store, "test", MESSAGES)
        assert chat_posts(srv) == 4
    assert store.count("llm-replied") == 4


def test_tool_calls_are_recorded_verbatim(store):
    reply = {"content": None, "tool_calls": [{"name": "read_file", "arguments": {"path": "a.txt"}}, {"name": "bad", "arguments": "{not json"}]}
    with ScriptedOpenAI([reply]) as srv:
        result = make_llm(srv).chat(store, "explore", MESSAGES, tools=[{"type": "function", "function": {"name": "read_file"}}])
    assert result.reply.finish_reason == "tool_calls"
    assert [(c["name"], c["arguments"]) for c in result.reply.tool_calls] == [("read_file", '{"path": "a.txt"}'), ("bad", "{not json")]
    assert result.reply.tool_calls[0]["id"] == "call_0"


@pytest.mark.parametrize(
    ("reply", "error_class", "words"),
    [
        (503, "http-error", "HTTP 503"),
        (400, "http-error", "scripted HTTP 400 error"),
        ({"raw": {"id": "x", "object": "chat.completion"}}, "malformed-reply", "not a chat completion"),
        ({"raw": "just a string"}, "malformed-reply", "not a chat completion"),
        ({"raw": {"choices": []}}, "malformed-reply", "no choices"),
        ({"raw": {"choices": [{"message": None}]}}, "malformed-reply", "not a chat completion"),
    ],
)
def test_failures_are_error_events_and_the_run_goes_on(store, reply, error_class, words):
    with ScriptedOpenAI([reply, "recovered"]) as srv:
        llm = make_llm(srv)
        failed = llm.chat(store, "test", MESSAGES)
        assert not failed.ok and failed.reply is None
        assert failed.failure.error_class == error_class and words in failed.failure.message
        again = llm.chat(store, "test", MESSAGES)
        if reply == 503:  # the endpoint failed, not the request: asked again
            assert again.ok and again.reply.content == "recovered" and chat_posts(srv) == 2
        else:  # the request's own failure (refused, no completion): the same request gets the same
            assert again.reused and not again.ok and again.failure == failed.failure and chat_posts(srv) == 1
            assert llm.chat(store, "test", MESSAGES, attempt=1).ok  # a new attempt is asked
    [rec] = list(store.read(types=["llm-failed"]))
    assert isinstance(rec.event, LlmFailed) and rec.event.operation == "chat"
    assert rec.event.status == (reply if isinstance(reply, int) else None)
    store.catch_up()
    assert store.conn.execute("SELECT stage, error_class FROM errors").fetchall() == [("llm:test", error_class)]


def test_timeout_is_recorded(store):
    with ScriptedOpenAI([Hang(10, then="late")]) as srv:
        result = make_llm(srv, timeout=0.3).chat(store, "test", MESSAGES)
    assert result.failure.error_class == "timeout" and "within 0.3s" in result.failure.message


def test_unreachable_endpoint_is_recorded(store):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    llm = LLM(LLMConfig(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=2, max_retries=0))
    result = llm.chat(store, "test", MESSAGES)
    assert result.failure.error_class == "connection-error" and f"127.0.0.1:{port}" in result.failure.message


def test_the_api_key_never_reaches_the_database(store, db_path):
    with ScriptedOpenAI([500, "fine"]) as srv:
        llm = make_llm(srv)
        llm.chat(store, "test", MESSAGES)
        llm.chat(store, "test", MESSAGES)
        assert {k.lower(): v for k, v in srv.requests[0]["headers"].items()}["authorization"] == "[REDACTED]"  # it was sent
    store.catch_up()
    assert store.count("llm-replied") == 1 and store.count("llm-failed") == 1
    store.conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert KEY.encode() not in file_bytes(db_path)


def test_config_from_options_and_environment(monkeypatch):
    monkeypatch.setenv("FIREFLY_LLM_BASE_URL", "http://env-host:9000/v1")
    monkeypatch.setenv("FIREFLY_LLM_MODEL", "env-model")
    monkeypatch.setenv("FIREFLY_LLM_API_KEY", "env-key")
    monkeypatch.setenv("FIREFLY_EMBED_MODEL", "env-embed")
    config = LLMConfig.from_env(model="option-model")
    assert (config.base_url, config.model, config.api_key, config.embed_model) == (
        "http://env-host:9000/v1", "option-model", "env-key", "env-embed")
    assert config.configured and "env-key" not in repr(config)
    assert LLMConfig(base_url="https://user:pw@host:8000/v1?token=abc#x").public_base_url == "https://host:8000/v1"


def test_missing_configuration_is_a_clear_error():
    with pytest.raises(LLMNotConfigured, match="FIREFLY_LLM_BASE_URL and FIREFLY_LLM_MODEL"):
        LLMConfig.from_env().require("the LLM judge")
    assert not LLMConfig.from_env().configured
    with pytest.raises(LLMNotConfigured, match="FIREFLY_EMBED_MODEL"):
        LLMConfig(base_url="http://x/v1", model="m").require("embeddings", embeddings=True)


def test_fetch_embeddings_decodes_base64_and_float_replies():
    with ScriptedOpenAI([], embedding_dim=8) as srv:
        vectors = make_llm(srv).fetch_embeddings(["alpha", "beta"])
        assert srv.requests[0]["json"]["model"] == "embed-1"
    assert vectors.dtype == np.float32 and vectors.shape == (2, 8)
    assert np.allclose(vectors[1], deterministic_embedding("beta", 8))
    floats = {"raw": {"data": [{"index": 0, "embedding": [0.6, 0.8]}], "model": "m"}}
    with ScriptedOpenAI(lambda path, body: floats) as srv:
        assert make_llm(srv).fetch_embeddings(["x"]).tolist() == [[pytest.approx(0.6), pytest.approx(0.8)]]


@pytest.mark.parametrize(
    "raw",
    [{"data": []}, {"data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": [1.0, 2.0]}]}, {"nothing": 1}],
)
def test_malformed_embeddings_raise_a_call_error(raw):
    with ScriptedOpenAI(lambda path, body: {"raw": raw}) as srv, pytest.raises(LLMCallError) as err:
        make_llm(srv).fetch_embeddings(["a", "b"])
    assert err.value.error_class == "malformed-reply"


def test_rebuild_gives_the_same_llm_tables(store):
    with ScriptedOpenAI(["a", 500, "c"]) as srv:
        llm = make_llm(srv)
        for text in ("one", "two", "three"):
            llm.chat(store, "test", [{"role": "user", "content": text}])
    store.catch_up()
    before = projection_dumps(store)
    store.rebuild()
    assert projection_dumps(store) == before
    assert len(before["llm_exchanges"]) == 3


def test_a_timed_out_request_is_not_sent_again_but_a_server_error_is(db_path):
    with Store.open(db_path) as store, ScriptedOpenAI([Hang(30), 503, "fine"]) as srv:
        llm = LLM(LLMConfig(base_url=srv.base_url, model="m", timeout=0.5, max_retries=2))
        slow = llm.chat(store, "t", [{"role": "user", "content": "slow"}])
        assert slow.failure.error_class == "timeout" and len(srv.requests) == 1
        retried = llm.chat(store, "t", [{"role": "user", "content": "again"}])
        assert retried.ok and retried.reply.content == "fine" and len(srv.requests) == 3
