"""The llm mode's miss path: a model writes the result of a call that was never recorded.

As StableToolBench's virtual API server does, the model sees the tool's description and
schemas and the k recorded calls of the same tool nearest to the call (arguments and real
results), and answers with one JSON object::

    {"text": "...", "is_error": false}
    {"content": [<MCP content blocks>], "structured_content": {...} | null, "is_error": false}

The exchange is recorded (``llm-replied``, :mod:`firefly.llm`) and the result becomes a
``tool-simulated`` event keyed by the call's key and the server's state: the same call in
the same state gets that result again, without asking, however the log grows. A reply that
is not such an object (or a failed request) becomes a tool error result; it is not kept as
a simulated result, and the recorded reply is reused on the next identical request.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import msgspec

from ..events import ToolSimulated
from ..ids import canonical_json

if TYPE_CHECKING:
    from .core import Call, Episode, SimResult, Simulator

PURPOSE = "simulate-tool"
MAX_REPLY_TOKENS = 1024  # of one generated result (bounds a model that rambles)
MAX_EXAMPLE_CHARS = 2000
SYSTEM = (
    "You simulate one tool of an MCP server. Given the tool's description and schemas, and real"
    " recorded calls of it with their results, write the result the real tool would most"
    " plausibly return for the new arguments, in the same style and format as the recorded"
    " results. If the arguments are invalid for the tool, return the error it would give with"
    ' "is_error": true. Answer with one JSON object and nothing else: {"text": "<the result'
    ' text>", "is_error": false}, or {"content": [<MCP content blocks>], "structured_content":'
    ' <object or null>, "is_error": <bool>}.'
)
_decoder = msgspec.json.Decoder()
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
CONTENT_TYPES = {"text", "image", "audio", "resource", "resource_link"}


class MalformedReply(ValueError):
    """The model's reply is not a tool result."""


def _clip(value: Any) -> Any:
    text = canonical_json(value)
    return value if len(text) <= MAX_EXAMPLE_CHARS else text[:MAX_EXAMPLE_CHARS] + "…"


def messages(sim: Simulator, call: Call, neighbours: list[int]) -> list[dict[str, Any]]:
    """The chat request: the tool, its nearest recorded calls, the new call."""
    examples = []
    for position in neighbours:
        arguments, content, structured, is_error = sim.store.conn.execute(
            "SELECT arguments, content, structured_content, is_error FROM sim_calls WHERE position = ?", (position,)).fetchone()
        example: dict[str, Any] = {"arguments": _decoder.decode(arguments), "result": {"content": _clip(_decoder.decode(content)), "is_error": bool(is_error)}}
        if structured:
            example["result"]["structured_content"] = _clip(_decoder.decode(structured))
        examples.append(example)
    info = call.info
    tool = {"server": info.server, "name": info.name, "description": info.description or "", "input_schema": info.input_schema}
    if info.output_schema:
        tool["output_schema"] = info.output_schema
    user = {"tool": tool, "recorded_calls": examples, "call": {"arguments": call.arguments}}
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": json.dumps(user, ensure_ascii=False, indent=1)}]


def parse_reply(text: str | None) -> tuple[list[dict[str, Any]], dict[str, Any] | None, bool]:
    """(content, structured_content, is_error) from the model's reply. Raises MalformedReply."""
    if not text or not text.strip():
        raise MalformedReply("the reply is empty")
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        raise MalformedReply(f"the reply is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedReply("the reply is not a JSON object")
    is_error = value.get("is_error", False)
    if not isinstance(is_error, bool):
        raise MalformedReply('"is_error" is not a boolean')
    structured = value.get("structured_content")
    if structured is not None and not isinstance(structured, dict):
        raise MalformedReply('"structured_content" is not an object')
    if isinstance(value.get("text"), str) and "content" not in value:
        return [{"type": "text", "text": value["text"]}], structured, is_error
    content = value.get("content")
    if not isinstance(content, list) or not content:
        raise MalformedReply('the reply has neither "text" nor a list of "content" blocks')
    for block in content:
        if not isinstance(block, dict) or block.get("type") not in CONTENT_TYPES:
            raise MalformedReply("a content block is not an MCP content block")
        if block["type"] == "text" and not isinstance(block.get("text"), str):
            raise MalformedReply("a text block has no text")
    return content, structured, is_error


def generate(sim: Simulator, call: Call, episode: Episode) -> SimResult:
    """The generated result of a call (reused if this call in this state has one)."""
    from .core import SimResult, error_result

    server_state = episode.server_state(call.server)
    row = sim.store.conn.execute(
        "SELECT position, content, structured_content, is_error, model FROM sim_generated WHERE key = ? AND server_state = ?",
        (call.key, server_state)).fetchone()
    if row is not None:
        return SimResult(_decoder.decode(row[1]), _decoder.decode(row[2]) if row[2] else None, bool(row[3]),
                         {"source": "generated", "approximate": True, "position": row[0], "model": row[4], "reused": True})
    neighbours = [position for _, position, _ in sim.neighbours(call, sim.k)]
    result = sim.llm.chat(sim.store, PURPOSE, messages(sim, call, neighbours), temperature=0,
                          max_tokens=MAX_REPLY_TOKENS)
    meta: dict[str, Any] = {"source": "generated", "neighbours": neighbours}
    if not result.ok:
        return error_result(f"the simulator could not generate a result for {call.server}/{call.tool}:"
                            f" {result.failure.message}", **meta, failed=True, miss="generation")
    try:
        content, structured, is_error = parse_reply(result.reply.content)
    except MalformedReply as exc:
        return error_result(f"the simulator's model gave no usable result for {call.server}/{call.tool}: {exc}",
                            **meta, malformed=True, miss="generation", request_hash=result.request_hash)
    model = result.reply.model or str(sim.llm.config.model or "")
    rec = sim.store.append(ToolSimulated(
        server=call.server, tool=call.tool, arguments=call.arguments, call_key=call.key, server_state=server_state,
        model=model, request_hash=result.request_hash, neighbours=neighbours, content=content,
        structured_content=structured, is_error=is_error,
    ))
    sim.store.catch_up()
    return SimResult(content, structured, is_error, {**meta, "approximate": True, "position": rec.position, "model": model,
                                                     "request_hash": result.request_hash})
