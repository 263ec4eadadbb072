"""The LLM explorer: a chat model with function calling carries out the DAG's workflow.

The DAG's tools are offered as functions with their real input schemas; the model is asked
to call them in the DAG's order, feeding values from real results into later arguments.
Each tool call it makes is a real call (one ``tool-called`` event of its own step) whose
real result goes back to the model as the tool message. Turns are bounded.

* Every request and reply goes through :meth:`firefly.llm.LLM.achat`: an ``llm-replied``
  event keyed by the request's hash. The conversation is rebuilt from recorded events, so a
  re-run sends the same requests, reuses the recorded replies and the recorded calls, and
  continues where it stopped.
* A tool call that cannot be made (arguments that are not a JSON object, a function that
  was not offered) is recorded as a ``tool-called`` event with ``error_class``
  ``malformed-call`` and a clear message; the model is told so in the tool message and the
  exploration goes on (within the turn bound).
* Chaining is recorded as it happened: an argument value that appeared in an earlier
  result of the exploration (and not in the prompt) becomes an ``ArgumentSource``.
* After a successful effectful call the explorer makes the offline probe
  (:mod:`firefly.explore.probe`), not shown to the model.
* An endpoint failure ends the exploration as failed, with the reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..adapters import Adapter
from ..adapters.generic import GenericAdapter
from ..ids import canonical_json
from ..llm import LLM
from ..toolnames import ToolNames, tool_names
from .policy import ArgSource, CallRecord, Proposal, ToolRef, WorkspaceInfo
from .probe import Probe
from .stage import ExplorationAborted, Walk, ok
from .values import extract_history

__all__ = ["LLMPolicy", "function_names"]

PURPOSE = "explore"
MAX_TOOL_MESSAGE = 6_000  # characters of a result shown to the model
MAX_DESCRIPTION = 1_000
MAX_REPLY_TOKENS = 512  # of one assistant turn

SYSTEM = """You explore real tools to record how they behave. Carry out the workflow below by \
calling the functions, one step after another, in the order given. Use real values from \
earlier results as arguments of later calls wherever they fit (a file listed, a commit \
hash, a table name, an entity name, a time). Do not invent values a tool can tell you. \
When a call fails, read the error and try once more with better arguments, or go on. \
When the workflow is done, answer with one sentence saying what you found, without a call."""


def function_names(tools: list[ToolRef]) -> ToolNames:
    """The function names of the DAG's tools: ``server__tool`` as :mod:`firefly.toolnames`
    gives them (valid, at most 64 long, unique among the DAG's tools)."""
    return tool_names((t.server, t.name) for t in tools)


def _workspace_text(info: WorkspaceInfo) -> str:
    lines = [f"The workspace is {info.root}."]
    if info.directories:
        lines.append(f"Files are under {info.directories[0]} (for instance {', '.join(info.files[:3])}).")
    if info.git_repos:
        lines.append(f"Git repository: {', '.join(info.git_repos)}.")
    if info.sqlite_tables:
        lines.append(f"SQLite tables: {', '.join(info.sqlite_tables)}.")
    if info.memory_entities:
        lines.append(f"The knowledge graph holds entities such as {', '.join(list(info.memory_entities)[:4])}.")
    return " ".join(lines)


class LLMPolicy:
    """Explore with an OpenAI-compatible chat model (see the module docstring)."""

    def __init__(self, llm: LLM, *, max_turns: int | None = None, probes: bool = True,
                 temperature: float | None = 0.0):
        self.llm = llm
        self.max_turns = max_turns
        self.probes = probes
        self.temperature = temperature
        self.name = f"llm:{llm.config.model}"

    # the proposal interface is not used: this policy drives the walk itself
    def propose(self, tool: ToolRef, history: list[CallRecord], workspace: WorkspaceInfo, rng: Any,
                attempt: int = 0) -> Proposal | None:
        return None

    def probe(self, call: CallRecord, tool: ToolRef, readers: list[ToolRef], workspace: WorkspaceInfo,
              adapter: Adapter | None = None) -> Probe | None:
        return (adapter or GenericAdapter()).probe(call, tool, readers) if self.probes else None

    def functions(self, tools: list[ToolRef]) -> tuple[list[dict[str, Any]], dict[str, ToolRef]]:
        offered: dict[str, ToolRef] = {}
        functions = []
        names = function_names(tools)
        for tool in tools:
            name = names.name(tool.server, tool.name)
            if name in offered:
                continue
            offered[name] = tool
            schema = tool.input_schema if isinstance(tool.input_schema, dict) and tool.input_schema else {
                "type": "object", "properties": {}}
            functions.append({"type": "function", "function": {
                "name": name, "description": (tool.description or tool.name)[:MAX_DESCRIPTION], "parameters": schema}})
        return functions, offered

    def prompt(self, tools: list[ToolRef], info: WorkspaceInfo) -> list[dict[str, Any]]:
        names = function_names(tools)
        steps = "\n".join(f"{i}. {names.name(t.server, t.name)}: {(t.description or '').splitlines()[0][:200] if t.description else ''}"
                          for i, t in enumerate(tools, 1))
        return [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{_workspace_text(info)}\n\nWorkflow:\n{steps}"},
        ]

    async def walk(self, walk: Walk, tools: list[ToolRef], info: WorkspaceInfo) -> None:
        functions, offered = self.functions(tools)
        messages = self.prompt(tools, info)
        prompt_text = " ".join(m["content"] for m in messages)
        turns = self.max_turns or 2 * len(tools) + 2
        # a turn is a few tool calls or one sentence; the bound stops a model that rambles
        params: dict[str, Any] = {"tools": functions, "tool_choice": "auto", "max_tokens": MAX_REPLY_TOKENS}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        for _ in range(turns):
            result = await self.llm.achat(walk.store, PURPOSE, messages, **params)
            if not result.ok:
                failure = result.failure
                raise ExplorationAborted(f"the LLM explorer's endpoint failed: {failure.message if failure else 'no reply'}")
            reply = result.reply
            assert reply is not None
            calls = reply.tool_calls
            # content is a string: strict servers (llama.cpp's) refuse an assistant turn with null content
            assistant: dict[str, Any] = {"role": "assistant", "content": reply.content or ""}
            if calls:
                assistant["tool_calls"] = [
                    {"id": c.get("id") or f"call_{walk.step}_{i}", "type": "function",
                     "function": {"name": c.get("name", ""), "arguments": c.get("arguments") or ""}}
                    for i, c in enumerate(calls)]
            messages.append(assistant)
            if not calls:
                return  # the model says the workflow is done
            for call in assistant["tool_calls"]:
                text = await self.one_call(walk, offered, call["function"]["name"], call["function"]["arguments"],
                                           info, prompt_text)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": text})

    async def one_call(self, walk: Walk, offered: dict[str, ToolRef], name: str, raw: str, info: WorkspaceInfo,
                       prompt_text: str) -> str:
        """Make one of the model's tool calls; returns what the model is told."""
        tool = offered.get(name)
        if tool is None:
            message = f"unknown tool {name!r}; the tools offered are: {', '.join(offered)}"
            walk.record_malformed("", name[:200], {"_raw": raw[:2000]}, message)
            walk.step += 1
            return f"Error: {message}"
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            arguments, problem = None, f"the arguments are not valid JSON ({exc})"
        else:
            problem = "" if isinstance(arguments, dict) else f"the arguments must be a JSON object, not {type(arguments).__name__}"
        if arguments is None or problem:
            walk.record_malformed(tool.server, tool.name, {"_raw": raw[:2000]}, f"{tool.server}/{tool.name}: {problem}")
            walk.step += 1
            return f"Error: {problem}. Call {name} again with a JSON object as arguments."
        sources = tuple(sources_in_history(arguments, walk.history, prompt_text))
        event = await walk.call(tool, lambda: (Proposal(arguments, sources), ""))
        walk.step += 1
        if ok(event):
            await walk.probe(self, event, tool, info)
        return render_result(event)


def render_result(event: Any) -> str:
    """A recorded result as the model reads it: the text blocks (or the structured content)."""
    if event.error_class is not None and not event.content:
        return f"Error ({event.error_class}): {event.error}"
    parts = []
    for block in event.content:
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(f"[{block.get('type')} content]")
    text = "\n".join(parts)
    if not text and event.structured_content is not None:
        text = canonical_json(event.structured_content)
    if event.is_error and not text.lower().startswith("error"):
        text = f"Error: {text}"
    return text[:MAX_TOOL_MESSAGE] + ("\n[truncated]" if len(text) > MAX_TOOL_MESSAGE else "")


def sources_in_history(arguments: dict[str, Any], history: list[CallRecord], prompt_text: str) -> list[ArgSource]:
    """Argument values that appeared in an earlier successful result (and not in the prompt)."""
    values = extract_history([r for r in history if not r.is_error])
    by_value: dict[str, Any] = {}
    for v in reversed(values):  # the newest result wins
        if isinstance(v.value, (str, int, float)) and not isinstance(v.value, bool):
            by_value.setdefault(canonical_json(v.value), v)
    out: list[ArgSource] = []

    def visit(value: Any, pointer: str) -> None:
        if isinstance(value, dict):
            for k, sub in value.items():
                visit(sub, f"{pointer}/{str(k).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                visit(sub, f"{pointer}/{i}")
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            if isinstance(value, str) and (len(value) < 3 or value in prompt_text):
                return
            if not isinstance(value, str) and abs(value) < 10 and float(value).is_integer():
                return  # small integers (counts, limits) match by chance
            seen = by_value.get(canonical_json(value))
            if seen is not None:
                out.append(ArgSource(argument=pointer, step=seen.step, path=seen.path, value=value))
            elif isinstance(value, str):
                found = _in_text(value, history)
                if found is not None:
                    out.append(ArgSource(argument=pointer, step=found[0], path=found[1], value=value))

    visit(arguments, "")
    return out


def _in_text(value: str, history: list[CallRecord]) -> tuple[int, str] | None:
    """The newest successful result whose text holds ``value`` as a whole word: (step, line locator)."""
    pattern = re.compile(r"(?<![\w/.-])" + re.escape(value) + r"(?![\w/-])")
    for record in sorted((r for r in history if not r.is_error), key=lambda r: -r.step):
        for i, block in enumerate(record.content or []):
            text = block.get("text") if isinstance(block, dict) else None
            if not isinstance(text, str):
                continue
            for n, line in enumerate(text[:200_000].splitlines(), 1):
                if pattern.search(line):
                    return record.step, f"$.content[{i}].text#line={n}"
    return None
