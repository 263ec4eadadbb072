"""Diversity: at most a few verified tasks per masked question template and per (tool, answer).

:func:`masked_question` is a question with its names and values masked: every value of the
trajectory's arguments and of the label's provenance, quoted text, paths and numbers become
``<v>``, so "How many entries does the folder "src/a" contain?" and the same question about
"src/b" share one template. :func:`tool_answer` is the tool a label is read from (the effects
of a state change) with the answer.

:class:`DiversityCap` keeps, for each masked template, at most ``per_template`` tasks, for each
(tool, answer) at most ``per_tool_answer``, and never two tasks with the same masked question
and answer. Candidates are taken best first (:func:`rank`: fewer calls the label does not
read, more distinct tools, shorter question, then task id), so the choice is deterministic.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from ..ids import canonical_json, short_hash
from ..match import normalize
from .facts import leaves
from .model import Task
from .necessity import label_steps, setup_steps

DEFAULT_PER_TEMPLATE = 12
DEFAULT_PER_TOOL_ANSWER = 3

_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|'[^'\s][^']*'|`[^`]*`")
_PATH = re.compile(r"(?<![\w])(?:[\w.-]+/)+[\w.-]*|/[\w./-]+")
_NUMBER = re.compile(r"(?<![\w<])-?\d[\d,]*(?:\.\d+)?(?![\w>])")
_MASKS = re.compile(r"(?:<v>[\s,;:]*)+")


def masked_question(task: Task) -> str:
    """The question with names and values masked (see the module docstring)."""
    text = normalize(task.question)
    values = {normalize(v) for c in task.trajectory for v in leaves(c.get("arguments") or {})
              if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    values |= {normalize(v) for p in task.provenance for v in leaves(p.get("value"))
               if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    for v in sorted((v for v in values if len(v) >= 2), key=len, reverse=True):
        text = re.sub(r"(?<![\w])" + re.escape(v) + r"(?![\w])", "<v>", text)
    text = _QUOTED.sub("<v>", text)
    text = _PATH.sub("<v>", text)
    text = _NUMBER.sub("<v>", text)
    return _MASKS.sub("<v> ", text).strip()


def tool_answer(task: Task) -> str:
    """The tool(s) the label is read from, with the answer, as one key."""
    steps = {c.get("step"): c for c in task.trajectory}
    if task.probe is not None:
        tools = sorted({f"{c['server']}/{c['tool']}" for c in setup_steps(task)})
    else:
        last = max(label_steps(task), default=None)
        tools = [f"{steps[last]['server']}/{steps[last]['tool']}"] if last in steps else []
    return short_hash([tools, canonical_json(task.answer)], 16)


def rank(task: Task) -> tuple[Any, ...]:
    """Best first: fewer calls besides the label's, more distinct tools, a shorter question."""
    unread = len(setup_steps(task)) if task.probe is None else 0
    tools = len({(c["server"], c["tool"]) for c in task.trajectory})
    return (unread, -tools, len(task.question), task.task_id)


class DiversityCap:
    """Caps on verified tasks per masked template and per (tool, answer) (module docstring)."""

    def __init__(self, per_template: int = DEFAULT_PER_TEMPLATE, per_tool_answer: int = DEFAULT_PER_TOOL_ANSWER):
        self.per_template = per_template
        self.per_tool_answer = per_tool_answer
        self.templates: Counter = Counter()
        self.tool_answers: Counter = Counter()
        self.pairs: set[str] = set()
        self._keys: dict[str, tuple[str, str, str]] = {}  # task id -> its keys: masking a question is not free

    def params(self) -> dict[str, Any]:
        return {"per_template": self.per_template, "per_tool_answer": self.per_tool_answer}

    def keys(self, task: Task) -> tuple[str, str, str]:
        """(masked question, (tool, answer) key, (masked question, answer) key) of a task."""
        found = self._keys.get(task.task_id)
        if found is None:
            template = masked_question(task)
            found = self._keys[task.task_id] = (template, tool_answer(task),
                                                short_hash([template, canonical_json(task.answer)], 16))
        return found

    def add(self, task: Task) -> None:
        template, pair, same = self.keys(task)
        self.templates[template] += 1
        self.tool_answers[pair] += 1
        self.pairs.add(same)

    def check(self, task: Task) -> tuple[bool, list[str]]:
        template, pair, same = self.keys(task)
        if same in self.pairs:
            return False, [f"a task kept before has the same masked question and answer: {template!r}"]
        if self.templates[template] >= self.per_template:
            return False, [f"{self.per_template} task(s) kept before have the masked question {template!r}"]
        if self.tool_answers[pair] >= self.per_tool_answer:
            return False, [f"{self.per_tool_answer} task(s) kept before read the same answer from the same tool"]
        return True, [f"masked question {template!r}: {self.templates[template] + 1} of at most {self.per_template}"]
