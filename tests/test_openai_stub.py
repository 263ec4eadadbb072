"""Tests for the scripted OpenAI-compatible stub server, driven by the real ``openai`` client."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.openai_stub import Hang, Reply, ScriptedOpenAI, deterministic_embedding

API_KEY = "sk-test-secret-value"


def _client(srv: ScriptedOpenAI, **kwargs: Any) -> OpenAI:
    return OpenAI(api_key=API_KEY, base_url=srv.base_url, max_retries=0, **kwargs)


def _chat(client: OpenAI, text: str = "hello there", **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model="test-model", messages=[{"role": "user", "content": text}], **kwargs
    )


def test_plain_text_reply() -> None:
    with ScriptedOpenAI(lambda path, body: "hi from the stub") as srv:
        resp = _chat(_client(srv))
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == "hi from the stub"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "test-model"
    assert resp.usage is not None
    assert resp.usage.prompt_tokens == 2
    assert resp.usage.completion_tokens == 4
    assert resp.usage.total_tokens == 6
    assert srv.requests[0]["path"] == "/v1/chat/completions"
    assert srv.requests[0]["json"]["messages"][0]["content"] == "hello there"


def test_tool_call_reply() -> None:
    reply: Reply = {
        "content": None,
        "tool_calls": [
            {"name": "list_files", "arguments": {"path": "/tmp", "recursive": True}},
            {"name": "broken", "arguments": "{not json"},
        ],
    }
    with ScriptedOpenAI([reply, {"tool_calls": [{"name": "again", "arguments": {}}]}]) as srv:
        client = _client(srv)
        first = _chat(client)
        second = _chat(client)
    msg = first.choices[0].message
    assert first.choices[0].finish_reason == "tool_calls"
    assert msg.content is None
    assert msg.tool_calls is not None and len(msg.tool_calls) == 2
    call = msg.tool_calls[0]
    assert call.id == "call_0" and call.type == "function"
    assert call.function.name == "list_files"
    assert isinstance(call.function.arguments, str)
    assert json.loads(call.function.arguments) == {"path": "/tmp", "recursive": True}
    assert msg.tool_calls[1].id == "call_1"
    assert msg.tool_calls[1].function.arguments == "{not json"
    assert second.choices[0].message.tool_calls is not None
    assert second.choices[0].message.tool_calls[0].id == "call_2"


def test_list_script_consumed_in_order_then_exhausted() -> None:
    with ScriptedOpenAI(iter(["first", "second"])) as srv:
        client = _client(srv)
        assert _chat(client).choices[0].message.content == "first"
        assert _chat(client).choices[0].message.content == "second"
        with pytest.raises(openai.APIStatusError) as excinfo:
            _chat(client)
    assert excinfo.value.status_code == 500
    assert "script exhausted" in str(excinfo.value)
    assert len(srv.requests) == 3


@pytest.mark.parametrize("status", [500, 400])
def test_http_errors_surface_as_api_status_error(status: int) -> None:
    with ScriptedOpenAI([status]) as srv:
        with pytest.raises(openai.APIStatusError) as excinfo:
            _chat(_client(srv))
    assert excinfo.value.status_code == status
    assert isinstance(excinfo.value.body, dict) and "message" in excinfo.value.body


def test_stream_true_is_rejected_with_400() -> None:
    with ScriptedOpenAI(["never used"]) as srv:
        with pytest.raises(openai.BadRequestError) as excinfo:
            _chat(_client(srv), stream=True)
    assert excinfo.value.status_code == 400
    assert "stream" in str(excinfo.value)


def test_raw_reply_returned_verbatim() -> None:
    with ScriptedOpenAI([{"raw": {"choices": []}}]) as srv:
        raw = _client(srv).chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert raw.status_code == 200
        assert json.loads(raw.text) == {"choices": []}
        assert raw.parse().choices == []


def test_hang_times_out_and_does_not_block_shutdown() -> None:
    start = time.monotonic()
    with ScriptedOpenAI([Hang(2, then="late")]) as srv:
        with pytest.raises(openai.APITimeoutError):
            _chat(_client(srv, timeout=0.5))
    # Timeout after ~0.5 s; shutdown must interrupt the remaining hang promptly.
    assert time.monotonic() - start < 1.8


def test_hang_then_answers() -> None:
    with ScriptedOpenAI([Hang(0.05, then="eventually")]) as srv:
        assert _chat(_client(srv)).choices[0].message.content == "eventually"


@pytest.mark.parametrize("encoding_format", [None, "float", "base64"])
def test_embeddings_deterministic_and_dimensioned(encoding_format: str | None) -> None:
    extra: dict[str, Any] = {} if encoding_format is None else {"encoding_format": encoding_format}
    with ScriptedOpenAI(lambda path, body: None, embedding_dim=16) as srv:
        client = _client(srv)
        a = client.embeddings.create(model="emb", input=["alpha", "beta"], **extra)
        b = client.embeddings.create(model="emb", input="alpha", **extra)
    assert a.usage.prompt_tokens == 2 and a.usage.total_tokens == 2
    assert [d.index for d in a.data] == [0, 1]
    if encoding_format == "base64":
        assert all(isinstance(d.embedding, str) for d in a.data)  # client leaves it encoded
        return
    va, vb, va2 = a.data[0].embedding, a.data[1].embedding, b.data[0].embedding
    assert len(va) == len(vb) == 16
    assert va == va2 == deterministic_embedding("alpha", 16)
    assert va != vb
    assert math.isclose(math.sqrt(sum(x * x for x in va)), 1.0, rel_tol=1e-5)


def test_list_script_does_not_consume_on_embeddings() -> None:
    with ScriptedOpenAI(["chat answer"]) as srv:
        client = _client(srv)
        emb = client.embeddings.create(model="emb", input="x")
        assert len(emb.data[0].embedding) == 32
        assert _chat(client).choices[0].message.content == "chat answer"


def test_models_endpoint() -> None:
    with ScriptedOpenAI([], model="stub-x") as srv:
        models = list(_client(srv).models.list())
    assert [m.id for m in models] == ["stub-x"]


def test_handler_exception_becomes_500() -> None:
    def handler(path: str, body: dict[str, Any]) -> Reply:
        raise ValueError("boom")

    with ScriptedOpenAI(handler) as srv:
        with pytest.raises(openai.InternalServerError, match="boom"):
            _chat(_client(srv))


def test_recorded_requests_never_contain_api_key() -> None:
    with ScriptedOpenAI(lambda path, body: "ok" if path.endswith("completions") else None) as srv:
        client = _client(srv)
        _chat(client)
        client.embeddings.create(model="emb", input="x")
        list(client.models.list())
    assert [r["path"] for r in srv.requests] == ["/v1/chat/completions", "/v1/embeddings", "/v1/models"]
    assert API_KEY not in json.dumps(srv.requests)
    for req in srv.requests:
        auth = {k: v for k, v in req["headers"].items() if k.lower() == "authorization"}
        assert auth and all(v == "[REDACTED]" for v in auth.values())


# -- strict request validation (what llama.cpp's server and vLLM refuse, the stub refuses) ----

_TOOL_TURN_WITH_NULL = [
    {"role": "system", "content": "explore"},
    {"role": "user", "content": "go"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "ls", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "a.txt"},
]


def test_assistant_turn_with_null_content_is_refused_like_llama_cpp() -> None:
    with ScriptedOpenAI(lambda path, body: "ok") as srv:
        with pytest.raises(openai.BadRequestError) as info:
            _client(srv).chat.completions.create(model="m", messages=_TOOL_TURN_WITH_NULL)
    assert "validation errors" in str(info.value) and "messages.2" in str(info.value)


@pytest.mark.parametrize("bad", [
    {"role": "tool", "content": "x"},  # no tool_call_id
    {"role": "tool", "tool_call_id": "c", "content": None},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "function": {"name": "ls", "arguments": {}}}]},
    {"role": "robot", "content": "hi"},
])
def test_other_invalid_messages_are_refused(bad: dict[str, Any]) -> None:
    from tests.openai_stub import chat_request_errors

    assert chat_request_errors({"model": "m", "messages": [{"role": "user", "content": "q"}, bad]})


def test_wire_messages_makes_a_tool_conversation_valid() -> None:
    from firefly.llm import wire_messages
    from tests.openai_stub import chat_request_errors

    raw = [*_TOOL_TURN_WITH_NULL[:2], {"role": "assistant", "content": None,
                                       "tool_calls": [{"id": "c1", "name": "ls", "arguments": {"path": "."}}]},
           {"role": "tool", "tool_call_id": "c1", "content": None}]
    assert chat_request_errors({"model": "m", "messages": raw})
    assert chat_request_errors({"model": "m", "messages": wire_messages(raw)}) == []
