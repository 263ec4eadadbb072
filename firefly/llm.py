"""OpenAI-compatible chat and embeddings, with every exchange recorded in the log.

    config = LLMConfig.from_env(model="qwen3")        # options win over FIREFLY_LLM_* variables
    llm = LLM(config)
    result = llm.chat(store, "judge-edges", [{"role": "user", "content": "..."}])
    if result.ok:
        print(result.reply.content)

* Every reply is an ``llm-replied`` event keyed by the purpose, the hash of the canonical
  request (model, messages, parameters) and an attempt number. Asking again with the same
  request reuses the recorded reply and does not call the endpoint: re-runs are resumable
  and, given recorded replies, reproducible.
* Every failure (an HTTP error, a timeout, an unreachable endpoint, a reply that is not a
  valid completion) is an ``llm-failed`` event with a clear message; :meth:`LLM.chat`
  returns it instead of raising, so the caller's run goes on. A failure of the endpoint is not
  reused (asked again next time); a request the endpoint refused, or answered with no completion, is.
* The API key comes from the options or ``FIREFLY_LLM_API_KEY`` and never enters the log:
  it is not part of the request that is hashed and recorded.

``fetch_*`` methods talk to the endpoint and record nothing; :meth:`LLM.chat` is
``fetch_chat`` plus reuse and recording. Embeddings are recorded by :mod:`firefly.embed`,
one ``embedded`` event per subject.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec
import numpy as np

from .errors import FireflyError
from .events import LlmFailed, LlmReplied, decode
from .ids import canonical_json, content_hash
from .store import Store

ENV_BASE_URL = "FIREFLY_LLM_BASE_URL"
ENV_MODEL = "FIREFLY_LLM_MODEL"
ENV_API_KEY = "FIREFLY_LLM_API_KEY"
ENV_EMBED_MODEL = "FIREFLY_EMBED_MODEL"


class LLMNotConfigured(FireflyError):
    """An LLM feature was asked for but no endpoint or model is configured."""


#: HTTP statuses that say the endpoint (not this request) is unusable: credentials refused,
#: no such model or path, a request timeout, rate limited; every 5xx is too
ENDPOINT_STATUSES = frozenset({401, 403, 404, 408, 429})


#: statuses a request is sent again for (with every 5xx)
RETRY_STATUSES = frozenset({408, 409, 429})


class LLMCallError(FireflyError):
    """One request failed. ``error_class`` is one of llm-failed's classes."""

    def __init__(self, error_class: str, message: str, status: int | None = None):
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.status = status

    @property
    def endpoint_down(self) -> bool:
        """Whether the endpoint failed rather than this request: unreachable, timed out, a
        server error, credentials or model refused, rate limited. The same request may well
        succeed later. A request the endpoint rejects (HTTP 400, 413, 422: a conversation too
        long ...) or a reply that is not a completion is this request's failure."""
        if self.error_class in ("connection-error", "timeout"):
            return True
        if self.error_class != "http-error":
            return False
        return self.status is None or self.status >= 500 or self.status in ENDPOINT_STATUSES


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to reach an OpenAI-compatible endpoint."""

    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    embed_model: str | None = None
    timeout: float = 120.0
    max_retries: int = 2

    @classmethod
    def from_env(
        cls,
        *,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        embed_model: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> LLMConfig:
        """Options win; unset ones come from ``FIREFLY_LLM_BASE_URL``, ``FIREFLY_LLM_MODEL``,
        ``FIREFLY_LLM_API_KEY`` and ``FIREFLY_EMBED_MODEL``."""
        env = os.environ
        return cls(
            base_url=base_url or env.get(ENV_BASE_URL) or None,
            model=model or env.get(ENV_MODEL) or None,
            api_key=api_key or env.get(ENV_API_KEY) or None,
            embed_model=embed_model or env.get(ENV_EMBED_MODEL) or None,
            timeout=timeout,
            max_retries=max_retries,
        )

    @property
    def configured(self) -> bool:
        """Whether chat requests can be made (a base URL and a model are known)."""
        return bool(self.base_url and self.model)

    def require(self, what: str = "chat", *, embeddings: bool = False) -> LLMConfig:
        model_setting = (ENV_EMBED_MODEL, "--embed-model") if embeddings else (ENV_MODEL, "--llm-model")
        wanted = [((ENV_BASE_URL, "--llm-base-url"), self.base_url), (model_setting, self.embed_model if embeddings else self.model)]
        missing = [setting for setting, value in wanted if not value]
        if missing:
            raise LLMNotConfigured(
                f"{what} needs an OpenAI-compatible endpoint: set {' and '.join(env for env, _ in missing)}"
                f" (or pass {' and '.join(option for _, option in missing)})"
            )
        return self

    @property
    def public_base_url(self) -> str:
        """The base URL without credentials, query or fragment (what the log may keep)."""
        if not self.base_url:
            return ""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- replies as the endpoint sends them (validated, so a malformed reply is caught) --------


class _Function(msgspec.Struct):
    name: str
    arguments: str | None = None


class _ToolCall(msgspec.Struct):
    function: _Function
    id: str | None = None


class _Message(msgspec.Struct):
    content: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice]
    model: str | None = None
    usage: dict[str, Any] | None = None


class _EmbeddingItem(msgspec.Struct):
    embedding: list[float] | str
    index: int = 0


class _Embeddings(msgspec.Struct):
    data: list[_EmbeddingItem]
    model: str | None = None


_completion_decoder = msgspec.json.Decoder(_Completion)
_embeddings_decoder = msgspec.json.Decoder(_Embeddings)


@dataclass(frozen=True)
class ChatReply:
    """What the model answered."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    model: str | None
    usage: dict[str, int]


@dataclass(frozen=True)
class ChatResult:
    """The outcome of :meth:`LLM.chat`: a reply (fresh or reused) or the recorded failure."""

    request_hash: str
    attempt: int
    reply: ChatReply | None = None
    failure: LlmFailed | None = None
    reused: bool = False

    @property
    def ok(self) -> bool:
        return self.reply is not None


def request_hash(request: dict[str, Any]) -> str:
    """The content hash of a canonical chat request (what reuse is keyed on)."""
    return content_hash(canonical_json(request))


class LLM:
    """A client for one OpenAI-compatible endpoint (the ``openai`` package underneath)."""

    def __init__(self, config: LLMConfig, *, client: Any = None):
        self.config = config
        self._client = client

    @classmethod
    def for_purpose(cls, what: str, *, base_url: str | None = None, model: str | None = None,
                    timeout: float = 120.0) -> LLM:
        """A chat client for ``what`` (named in the error when no endpoint or model is set):
        options first, then the ``FIREFLY_LLM_*`` variables."""
        return cls(LLMConfig.from_env(base_url=base_url, model=model, timeout=timeout).require(what))

    @property
    def client(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            if not self.config.base_url:
                raise LLMNotConfigured(f"no OpenAI-compatible endpoint: set {ENV_BASE_URL} (or pass --llm-base-url)")
            self._client = OpenAI(
                base_url=self.config.base_url,
                # local servers (vLLM, llama.cpp, Ollama) accept any key; the client needs one
                api_key=self.config.api_key or "no-key",
                timeout=self.config.timeout,
                max_retries=0,  # retried in _call, where a timed-out request is not re-sent
            )
        return self._client

    # -- chat ----------------------------------------------------------------------------

    def chat_request(self, messages: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """The canonical request: the model, the messages and the non-default parameters."""
        model = params.pop("model", None) or self.config.model
        if not model:
            self.config.require()
        request = {"model": model, "messages": wire_messages(messages)}
        request.update({k: v for k, v in params.items() if v is not None})
        return msgspec.json.decode(canonical_json(request))  # plain JSON types, sorted keys

    def fetch_chat(self, request: dict[str, Any]) -> tuple[ChatReply, float]:
        """Send one chat request; returns the reply and the latency in ms.

        Raises :class:`LLMCallError` with the failure's class and a clear message."""
        started = time.perf_counter()
        raw = self._call("chat", lambda: self.client.chat.completions.with_raw_response.create(**request))
        latency = round((time.perf_counter() - started) * 1000, 1)
        try:
            completion = _completion_decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise LLMCallError("malformed-reply", f"the endpoint's reply is not a chat completion: {exc}") from None
        if not completion.choices:
            raise LLMCallError("malformed-reply", "the endpoint's reply has no choices")
        choice = completion.choices[0]
        calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments or ""}
            for c in choice.message.tool_calls or []
        ]
        usage = {k: v for k, v in (completion.usage or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
        return ChatReply(choice.message.content, calls, choice.finish_reason, completion.model, usage), latency

    def chat(
        self,
        store: Store,
        purpose: str,
        messages: list[dict[str, Any]],
        *,
        attempt: int = 0,
        **params: Any,
    ) -> ChatResult:
        """Ask once: reuse the recorded reply to this request if there is one, else call the
        endpoint and record the reply (``llm-replied``) or the failure (``llm-failed``)."""
        request, digest, reused = self._reuse(store, purpose, messages, attempt, params)
        if reused is not None:
            return reused
        try:
            reply, latency = self.fetch_chat(request)
        except LLMCallError as err:
            return self._failed(store, purpose, request, digest, attempt, err)
        return self._replied(store, purpose, request, digest, attempt, reply, latency)

    async def achat(
        self,
        store: Store,
        purpose: str,
        messages: list[dict[str, Any]],
        *,
        attempt: int = 0,
        **params: Any,
    ) -> ChatResult:
        """:meth:`chat` for async callers: the request goes out on a worker thread (the event
        loop keeps running); reuse and recording happen on the caller's thread."""
        import anyio

        request, digest, reused = self._reuse(store, purpose, messages, attempt, params)
        if reused is not None:
            return reused
        self.client  # noqa: B018 - create the client here, not in several threads at once
        try:
            reply, latency = await anyio.to_thread.run_sync(self.fetch_chat, request)
        except LLMCallError as err:
            return self._failed(store, purpose, request, digest, attempt, err)
        return self._replied(store, purpose, request, digest, attempt, reply, latency)

    def chat_many(
        self,
        store: Store,
        purpose: str,
        asks: Sequence[tuple[list[dict[str, Any]], int]],
        *,
        concurrency: int = 1,
        on_result: Callable[[int, ChatResult], bool | None] | None = None,
        **params: Any,
    ) -> list[ChatResult | None]:
        """Ask several independent requests (``(messages, attempt)`` each), at most
        ``concurrency`` in flight: :meth:`chat` for each, the requests sent on worker threads,
        reuse and recording on the caller's thread. ``on_result(index, result)`` is called
        for each as it arrives (reused ones first); returning ``False`` stops sending the
        requests not yet sent (their results stay ``None``; those in flight are recorded)."""
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        results: list[ChatResult | None] = [None] * len(asks)
        todo: list[tuple[int, dict[str, Any], str, int]] = []
        for index, (messages, attempt) in enumerate(asks):
            request, digest, reused = self._reuse(store, purpose, messages, attempt, dict(params))
            if reused is None:
                todo.append((index, request, digest, attempt))
                continue
            results[index] = reused
            if on_result is not None and on_result(index, reused) is False:
                return results
        if not todo:
            return results
        self.client  # noqa: B018 - create the client here, not in several threads at once
        width = max(1, min(concurrency, len(todo)))
        waiting = iter(todo)
        going = True
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="llm") as pool:
            # a request is sent only when a slot is free, so a stop sends nothing more
            flight = {pool.submit(self._fetch_outcome, ask[1]): ask for ask in itertools.islice(waiting, width)}
            while flight:
                finished, _ = wait(flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    index, request, digest, attempt = flight.pop(future)
                    outcome = future.result()
                    if isinstance(outcome, LLMCallError):
                        result = self._failed(store, purpose, request, digest, attempt, outcome)
                    else:
                        result = self._replied(store, purpose, request, digest, attempt, *outcome)
                    results[index] = result
                    if on_result is not None and on_result(index, result) is False:
                        going = False
                    if going:
                        ask = next(waiting, None)
                        if ask is not None:
                            flight[pool.submit(self._fetch_outcome, ask[1])] = ask
        return results

    def _fetch_outcome(self, request: dict[str, Any]) -> tuple[ChatReply, float] | LLMCallError:
        try:
            return self.fetch_chat(request)
        except LLMCallError as err:
            return err

    def _reuse(self, store: Store, purpose: str, messages: list[dict[str, Any]], attempt: int,
               params: dict[str, Any]) -> tuple[dict[str, Any], str, ChatResult | None]:
        request = self.chat_request(messages, **params)
        digest = request_hash(request)
        recorded = recorded_reply(store, purpose, digest, attempt)
        if recorded is not None:
            return request, digest, ChatResult(digest, attempt, reply=_reply_of(recorded), reused=True)
        refused = recorded_refusal(store, purpose, digest, attempt)
        return request, digest, ChatResult(digest, attempt, failure=refused, reused=True) if refused is not None else None

    def _failed(self, store: Store, purpose: str, request: dict[str, Any], digest: str, attempt: int,
                err: LLMCallError) -> ChatResult:
        failure = LlmFailed(
            purpose=purpose,
            operation="chat",
            request_hash=digest,
            attempt=attempt,
            base_url=self.config.public_base_url,
            model=str(request["model"]),
            error_class=err.error_class,  # type: ignore[arg-type]
            status=err.status,
            message=err.message,
        )
        store.append(failure)
        return ChatResult(digest, attempt, failure=failure)

    def _replied(self, store: Store, purpose: str, request: dict[str, Any], digest: str, attempt: int,
                 reply: ChatReply, latency: float) -> ChatResult:
        store.append(
            LlmReplied(
                purpose=purpose,
                request_hash=digest,
                attempt=attempt,
                base_url=self.config.public_base_url,
                request=request,
                content=reply.content,
                tool_calls=reply.tool_calls,
                finish_reason=reply.finish_reason,
                model=reply.model,
                usage=reply.usage,
                latency_ms=latency,
            )
        )
        return ChatResult(digest, attempt, reply=reply)

    # -- embeddings ------------------------------------------------------------------------

    def fetch_embeddings(self, texts: list[str], *, model: str | None = None, dimensions: int | None = None) -> np.ndarray:
        """Embed texts; returns a float32 matrix, one row per text, in order.

        Raises :class:`LLMCallError` with the failure's class and a clear message."""
        model = model or self.config.embed_model
        if not model:
            self.config.require("embeddings", embeddings=True)
        params: dict[str, Any] = {"model": model, "input": texts, "encoding_format": "base64"}
        if dimensions:
            params["dimensions"] = dimensions
        raw = self._call("embeddings", lambda: self.client.embeddings.with_raw_response.create(**params))
        try:
            reply = _embeddings_decoder.decode(raw)
            rows = sorted(reply.data, key=lambda item: item.index)
            vectors = [_vector_of(item.embedding) for item in rows]
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError) as exc:
            raise LLMCallError("malformed-reply", f"the endpoint's reply is not an embeddings list: {exc}") from None
        if len(vectors) != len(texts):
            raise LLMCallError("malformed-reply", f"asked for {len(texts)} embeddings, got {len(vectors)}")
        dims = {len(v) for v in vectors}
        if len(dims) != 1 or 0 in dims:
            raise LLMCallError("malformed-reply", f"embeddings of inconsistent or zero dimension: {sorted(dims)}")
        return np.vstack(vectors).astype(np.float32)

    # -- plumbing --------------------------------------------------------------------------

    def _call(self, operation: str, send: Any) -> bytes:
        """Send, retrying (``max_retries`` times, short backoff) an unreachable endpoint and
        the statuses worth retrying (408, 409, 429, 5xx). A timeout is never re-sent: a slow
        server (llama.cpp serves one request at a time) is still computing the request the
        client gave up on, and a copy would only queue behind it."""
        import openai

        where = self.config.public_base_url or "the endpoint"
        for attempt in range(self.config.max_retries + 1):
            last = attempt == self.config.max_retries
            try:
                return send().http_response.content
            except openai.APITimeoutError:
                raise LLMCallError("timeout", f"{where} did not answer the {operation} request within {self.config.timeout:g}s") from None
            except openai.APIConnectionError as exc:
                if last:
                    raise LLMCallError("connection-error", f"cannot reach {where}: {exc}") from None
            except openai.APIStatusError as exc:
                if last or not (exc.status_code in RETRY_STATUSES or exc.status_code >= 500):
                    detail = _error_detail(exc)
                    raise LLMCallError(
                        "http-error", f"{where} answered HTTP {exc.status_code} to the {operation} request: {detail}", exc.status_code
                    ) from None
            time.sleep(min(8.0, 0.5 * 2**attempt))
        raise AssertionError("unreachable")


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A conversation as strict OpenAI-compatible servers accept it (llama.cpp's server
    refuses ``"content": null``; vLLM wants a string tool result): an assistant turn's or a
    tool result's missing content becomes ``""``; a tool call gets ``type: "function"`` and
    string arguments. Other messages are passed as they are."""
    out = []
    for message in messages:
        role = message.get("role")
        if role in ("assistant", "tool", "system", "user") and message.get("content") is None:
            message = {**message, "content": ""}
        if role == "assistant" and "tool_calls" in message:
            calls = message["tool_calls"] or []
            message = {k: v for k, v in message.items() if k != "tool_calls"}
            if calls:
                message["tool_calls"] = [_wire_call(call, i) for i, call in enumerate(calls)]
        out.append(message)
    return out


def _wire_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    function = call.get("function") if isinstance(call.get("function"), dict) else call
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = canonical_json(arguments if arguments is not None else {})
    return {"id": str(call.get("id") or f"call_{index}"), "type": "function",
            "function": {"name": str(function.get("name") or ""), "arguments": arguments}}


def recorded_reply(store: Store, purpose: str, digest: str, attempt: int = 0) -> LlmReplied | None:
    """The recorded reply to a request, if the log has one."""
    row = store.conn.execute(
        "SELECT payload FROM events WHERE idempotency_key = ?", (f"llm-replied:{purpose}:{digest}:{attempt}",)
    ).fetchone()
    return decode(row[0]) if row else None  # type: ignore[return-value]


def recorded_refusal(store: Store, purpose: str, digest: str, attempt: int = 0) -> LlmFailed | None:
    """The recorded failure of a request when it was the request's own (the endpoint rejected
    it: a conversation longer than the model's context, an invalid body; or it answered with no
    completion): sent again, the same request gets the same, so a re-run reuses it. A failure of
    the endpoint (unreachable, timed out, a server error, rate limited) is not reused."""
    row = store.conn.execute(
        "SELECT payload FROM events WHERE type = 'llm-failed' AND json_extract(payload, '$.purpose') = ?"
        " AND json_extract(payload, '$.request_hash') = ? AND json_extract(payload, '$.attempt') = ?"
        " ORDER BY position DESC LIMIT 1", (purpose, digest, attempt)).fetchone()
    if row is None:
        return None
    event: LlmFailed = decode(row[0])  # type: ignore[assignment]
    if event.operation != "chat" or LLMCallError(event.error_class, event.message, event.status).endpoint_down:
        return None
    return event


def _reply_of(event: LlmReplied) -> ChatReply:
    return ChatReply(event.content, list(event.tool_calls), event.finish_reason, event.model, dict(event.usage))


def _vector_of(embedding: list[float] | str) -> np.ndarray:
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding, validate=True), dtype="<f4")
    return np.asarray(embedding, dtype=np.float32)


def _error_detail(exc: Any) -> str:
    """The endpoint's own error message (the client puts the ``error`` object in ``body``)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return str(exc)[:300]
