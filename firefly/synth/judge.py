"""The optional ``judged`` verifier: an LLM judge of a task's quality, on one rubric.

The rubric (:data:`RUBRIC`) is the one place its criteria live: the prompt is built from it
and a reply is checked against it. The judge sees the question, the expected answer and the
tools the reference trajectory calls (name and description), and answers one JSON object::

    {"criteria": [{"name": "natural", "pass": true, "reason": "..."}, ...]}

A task passes when every criterion passes; the verdict's reasons are the judge's, one per
criterion. The reply is read leniently (JSON inside a code fence or prose) and checked
strictly (every criterion once, ``pass`` a boolean, ``reason`` a text). A malformed reply,
or an endpoint that fails, is a failed verdict saying so: the run goes on with the next
task. Every request and reply is an event (:mod:`firefly.llm`), so a re-run asks nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..llm import LLM
from ..store import Store
from .model import Task

PURPOSE = "judge-task"
MAX_REPLY_TOKENS = 400  # five verdicts with a reason each (bounds a model that rambles)

RUBRIC: tuple[tuple[str, str], ...] = (
    ("natural", "The question is fluent English a real user might ask; it does not read like a printed tool call."),
    ("self-contained", "Everything needed to act is in the question (names, paths, values); it does not refer to"
                       " a context the user never gave."),
    ("unambiguous", "The question has exactly one right answer, and the expected answer is it."),
    ("answerable", "The listed tools can find the answer (or make the change), and the expected answer follows from"
                   " what they return."),
    ("not-trivial", "Answering needs the tools: the answer is not in the question and is not common knowledge."),
)
CRITERIA = tuple(name for name, _ in RUBRIC)

SYSTEM = (
    "You grade synthetic tasks for training tool-using assistants. Judge the task on each criterion below and"
    " reply with one JSON object and nothing else.\n\nCriteria:\n"
    + "\n".join(f"- {name}: {text}" for name, text in RUBRIC)
    + '\n\nReply format (every criterion once, in this order):\n{"criteria": ['
    + ", ".join(f'{{"name": "{name}", "pass": true, "reason": "one short sentence"}}' for name in CRITERIA)
    + "]}\n\nExample reply for a task that names no file: "
    + json.dumps({"criteria": [{"name": n, "pass": n != "self-contained",
                                "reason": "the question says 'the file' but never names it" if n == "self-contained"
                                else "fine"} for n in CRITERIA]})
)


class MalformedJudgement(ValueError):
    """A judge reply that is not the JSON object the rubric asks for."""


def prompt(task: Task, tools: dict[tuple[str, str], str]) -> str:
    """The user message for one task (``tools``: (server, tool) -> description)."""
    used = list(dict.fromkeys((c["server"], c["tool"]) for c in task.trajectory))
    lines = [f"- {server}.{tool}: {(tools.get((server, tool)) or '').strip()[:300]}" for server, tool in used]
    expected = ("the end state " + json.dumps(task.answer, ensure_ascii=False)) if task.probe is not None else \
        ("the call " + json.dumps(task.answer, ensure_ascii=False)) if task.action else \
        json.dumps(task.answer, ensure_ascii=False)
    return (f"Task ({task.kind}):\n{task.question}\n\nExpected answer: {expected}\n\n"
            f"Tools the reference solution calls:\n" + "\n".join(lines))


def parse_judgement(text: str | None) -> list[tuple[str, bool, str]]:
    """(criterion, passed, reason) for every criterion of :data:`RUBRIC`, in its order.
    Raises :class:`MalformedJudgement` with a clear reason."""
    if not text or not text.strip():
        raise MalformedJudgement("the reply is empty")
    body = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1).strip()
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise MalformedJudgement(f"the reply is not JSON: {text.strip()[:120]!r}")
    try:
        data = json.loads(body[start:end + 1])
    except ValueError as exc:
        raise MalformedJudgement(f"the reply is not JSON: {exc}") from None
    items = data.get("criteria") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise MalformedJudgement("the reply has no list of criteria")
    found: dict[str, tuple[bool, str]] = {}
    for item in items:
        if not isinstance(item, dict) or item.get("name") not in CRITERIA:
            raise MalformedJudgement(f"unknown criterion {str(item.get('name') if isinstance(item, dict) else item)[:40]!r}")
        if not isinstance(item.get("pass"), bool) or not isinstance(item.get("reason"), str):
            raise MalformedJudgement(f"criterion {item['name']!r} needs a boolean pass and a text reason")
        if item["name"] in found:
            raise MalformedJudgement(f"criterion {item['name']!r} is judged twice")
        found[item["name"]] = (item["pass"], item["reason"].strip())
    missing = [c for c in CRITERIA if c not in found]
    if missing:
        raise MalformedJudgement(f"the reply does not judge {', '.join(missing)}")
    return [(c, *found[c]) for c in CRITERIA]


class TaskJudge:
    """Judges tasks on :data:`RUBRIC` with a model (used by :func:`firefly.synth.verify.verify`)."""

    def __init__(self, llm: LLM):
        self.llm = llm
        self._tools: dict[tuple[str, str], str] | None = None

    @property
    def name(self) -> str:
        return f"llm:{self.llm.config.model}"

    def check(self, store: Store, task: Task, sim: Any = None) -> tuple[bool, list[str]]:
        if self._tools is None:
            self._tools = {(s, n): d or "" for s, n, d in store.conn.execute(
                "SELECT server, name, description FROM tools")}
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt(task, self._tools)}]
        result = self.llm.chat(store, PURPOSE, messages, temperature=0, max_tokens=MAX_REPLY_TOKENS)
        if not result.ok or result.reply is None:
            message = result.failure.message if result.failure else "no reply"
            return False, [f"the judge's endpoint failed: {message}"]
        try:
            judged = parse_judgement(result.reply.content)
        except MalformedJudgement as exc:
            return False, [f"malformed judge reply: {exc}"]
        return all(ok for _, ok, _ in judged), [f"{name}: {'pass' if ok else 'fail'}: {why}" for name, ok, why in judged]
