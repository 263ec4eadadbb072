"""The optional ``solvable`` verifier: can a model with the DAG's tools reach the label?

A solver model (any OpenAI-compatible endpoint, :mod:`firefly.llm`) gets the question and
the tools of the task's DAG as functions (``server__tool``). Its tool calls are answered by
the simulator in one episode; when it answers without calling a tool, that answer is
compared with the label under the task's match rule. For a state change, the probe is made
in the same episode at the end and must show the expected end state. Every exchange is
recorded, so a re-run reuses the replies.
"""

from __future__ import annotations

import json
from typing import Any

from ..llm import LLM
from ..match import matches, probe_passes
from ..store import Store

PURPOSE = "solve-task"
SEPARATOR = "__"
SYSTEM = ("Solve the user's task with the tools. Call tools as needed; when you are done, reply with only the final"
          " answer (for a change to make, reply 'done').")


def dag_tools(store: Store, dag_id: str) -> list[dict[str, Any]]:
    """The DAG's tools as OpenAI function tools."""
    out = []
    for server, name, description, schema in store.conn.execute(
        "SELECT d.server, d.name, t.description, t.input_schema FROM dag_tools d JOIN tools t"
        " ON t.server = d.server AND t.name = d.name WHERE d.dag_id = ? ORDER BY d.step", (dag_id,)
    ):
        params = json.loads(schema)
        params.pop("$schema", None)
        out.append({"type": "function", "function": {"name": f"{server}{SEPARATOR}{name}",
                                                     "description": (description or "")[:1000], "parameters": params}})
    return out


class Solver:
    def __init__(self, llm: LLM, *, max_turns: int = 8):
        self.llm = llm
        self.max_turns = max_turns

    @property
    def name(self) -> str:
        return f"llm:{self.llm.config.model}"

    def check(self, store: Store, task: Any, sim: Any) -> tuple[bool, list[str]]:
        tools = dag_tools(store, task.dag_id)
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task.question}]
        episode = sim.episode()
        final: str | None = None
        for _ in range(self.max_turns):
            result = self.llm.chat(store, PURPOSE, messages, tools=tools or None, temperature=0)
            if not result.ok or result.reply is None:
                message = result.failure.message if result.failure else "no reply"
                return False, [f"the solver's endpoint failed: {message}"]
            reply = result.reply
            if not reply.tool_calls:
                final = reply.content or ""
                break
            messages.append({"role": "assistant", "content": reply.content, "tool_calls": [
                {"id": c.get("id") or f"call_{i}", "type": "function",
                 "function": {"name": c["name"], "arguments": c.get("arguments") or ""}}
                for i, c in enumerate(reply.tool_calls)]})
            for i, c in enumerate(reply.tool_calls):
                messages.append({"role": "tool", "tool_call_id": c.get("id") or f"call_{i}",
                                 "content": self._call(episode, c)})
        else:
            return False, [f"the solver did not answer within {self.max_turns} turns"]
        if task.kind == "state-change":
            probe = task.probe or {}
            r = episode.call_sync(probe.get("server", ""), probe.get("tool", ""), probe.get("arguments") or {})
            ok = probe_passes(probe, task.match, r.content, r.structured_content, r.is_error)
            return ok, ["the probe shows the end state after the solver's calls" if ok
                        else "the probe does not show the end state after the solver's calls"]
        ok = matches(task.match, task.answer, final)
        return ok, [f"the solver answered {final[:80]!r}" + (", which matches" if ok else ", which does not match")]

    def _call(self, episode: Any, call: dict[str, Any]) -> str:
        server, _, tool = str(call.get("name", "")).partition(SEPARATOR)
        try:
            arguments = json.loads(call.get("arguments") or "{}")
        except ValueError as exc:
            return f"error: the arguments are not JSON: {exc}"
        if not isinstance(arguments, dict):
            return "error: the arguments must be a JSON object"
        r = episode.call_sync(server, tool, arguments)
        texts = [b.get("text", "") for b in r.content or [] if isinstance(b, dict) and b.get("type") == "text"]
        body = "\n".join(texts) if texts else json.dumps(r.structured_content)
        return ("error: " if r.is_error else "") + body
