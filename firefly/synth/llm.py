"""The LLM synthesizer: a model writes the questions, the recorded values decide the labels.

For each exploration the model sees the recorded calls and results (cut to a size) and is
asked for tasks as JSON: ``{"tasks": [{"question", "answer", "kind", "steps"}]}``. A proposed
label is never trusted as written: it is kept only if it matches (under the candidate's match
rule) the label of a task the offline synthesizer can derive from the same recorded calls,
and the task then takes that candidate's recorded answer, provenance, derivation and
trajectory, with the model's question. A state-change proposal is kept when a recorded probe
observes an effect of a step it names.

A failed request (``llm-failed``), a reply that is not the JSON asked for, or proposals that
no recorded value supports become one ``synthesis-failed`` event for the exploration; the
run goes on. Replies are recorded (``llm-replied``) and reused on a re-run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from typing import Any

from ..events import SynthesisFailed
from ..ids import canonical_json
from ..llm import LLM
from ..match import MatchRuleError, matches
from .model import Candidate, Exploration
from .offline import OfflineSynthesizer

PURPOSE = "synthesize-tasks"
MAX_RESULT_CHARS = 1500
KINDS = ("lookup", "multi-hop", "aggregate", "state-change")

SYSTEM = (
    "You write tasks for training tool-using agents, backward from what real tools returned."
    " You get the calls an explorer made, in order, with their arguments and results. Write up to {n} tasks"
    " whose answers are determined by those results: a value from one result (lookup), a value that only a later"
    " call fed by an earlier result reveals (multi-hop), a count, maximum, minimum, set or order over results"
    " (aggregate), or an effect the explorer made that a later read shows (state-change; the answer is then"
    " what that read showed). Each question must be natural, must not name tools, must contain everything needed"
    " to make the first call (names, paths, values), and must not contain its answer. Reply with JSON only:"
    ' {{"tasks": [{{"question": "...", "answer": <the value>, "kind": "lookup|multi-hop|aggregate|state-change",'
    ' "steps": [<the step numbers the answer comes from>]}}]}}'
)


def render_exploration(x: Exploration) -> str:
    """The recorded calls as the model reads them (results cut to a size)."""
    parts = []
    for s in x.steps:
        if not s.ok:
            continue
        texts = [b.get("text", "") for b in s.content if isinstance(b, dict) and b.get("type") == "text"]
        result = "\n".join(texts) if texts else canonical_json(s.structured)
        if len(result) > MAX_RESULT_CHARS:
            result = result[:MAX_RESULT_CHARS] + " [...]"
        kind = "read" if s.read_only else "change"
        parts.append(f"## step {s.step} ({kind}): {s.server}.{s.tool}\narguments: {canonical_json(s.arguments)}\nresult:\n{result}")
    return "\n\n".join(parts)


def parse_reply(text: str | None) -> list[dict[str, Any]]:
    """The proposed tasks of a reply. Raises ValueError with a clear reason."""
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    body = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise ValueError(f"the reply is not JSON: {exc}") from None
    tasks = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(tasks, list):
        raise ValueError("the reply has no list of tasks")
    out = []
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or not isinstance(t.get("question"), str) or not t["question"].strip() or "answer" not in t:
            raise ValueError(f"task {i} needs a question (text) and an answer")
        steps = t.get("steps")
        if steps is not None and not (isinstance(steps, list) and all(isinstance(k, int) for k in steps)):
            raise ValueError(f"task {i}: steps must be a list of step numbers")
        out.append(t)
    return out


class LLMSynthesizer:
    """Questions by a model; labels from the recorded calls (see the module docstring)."""

    def __init__(self, llm: LLM, *, max_tasks: int = 4, seed: int = 0, temperature: float = 0.0):
        self.llm = llm
        self.max_tasks = max_tasks
        self.seed = seed
        self.temperature = temperature
        self.name = f"llm:{llm.config.model}"
        self.offline = OfflineSynthesizer(seed=seed, max_tasks=10_000)

    def tasks_for(self, store: Any, x: Exploration, context: dict[str, Any]) -> tuple[list[Candidate], Counter, list[Any]]:
        candidates, skipped = self.offline.candidates(x, context.get("initial_results"))
        skipped["_candidates"] = len(candidates)
        if not any(s.ok for s in x.steps):
            skipped["no successful call"] += 1
            return [], skipped, []
        messages = [
            {"role": "system", "content": SYSTEM.format(n=self.max_tasks)},
            {"role": "user", "content": render_exploration(x)},
        ]
        result = self.llm.chat(store, PURPOSE, messages, temperature=self.temperature)
        if not result.ok:
            message = result.failure.message if result.failure else "the request failed"
            skipped["_retry"] = 1  # not marked done: a later run asks again
            return [], skipped, [self._failed(x, result.request_hash, result.attempt, f"the LLM request failed: {message}")]
        try:
            proposals = parse_reply(result.reply.content if result.reply else None)
        except ValueError as exc:
            return [], skipped, [self._failed(x, result.request_hash, result.attempt, f"malformed reply: {exc}")]
        chosen: list[Candidate] = []
        unsupported: list[str] = []
        for p in proposals[: self.max_tasks]:
            c = self._supported(p, candidates)
            if c is None:
                unsupported.append(canonical_json(p.get("answer"))[:60])
                continue
            if any(c.signature() == other.signature() for other in chosen):
                continue
            chosen.append(replace(c, question=p["question"].strip(), template=f"llm:{c.template}",
                                  extra=dict(c.extra, request_hash=result.request_hash)))
        extra = []
        if unsupported:
            skipped["llm label not in the recorded results"] += len(unsupported)
            extra.append(self._failed(
                x, result.request_hash, result.attempt,
                f"{len(unsupported)} of {len(proposals)} proposed label(s) match no recorded value: {', '.join(unsupported)}"))
        return chosen, skipped, extra

    def _supported(self, proposal: dict[str, Any], candidates: list[Candidate]) -> Candidate | None:
        """The recorded candidate whose label the proposal's answer matches."""
        steps = set(proposal.get("steps") or [])
        kind = proposal.get("kind") if proposal.get("kind") in KINDS else None
        fits = []
        for c in candidates:
            if c.kind == "state-change":
                if kind == "state-change" and c.extra.get("effect_step") in steps:
                    fits.append(c)
                continue
            try:
                if not matches(c.match, c.answer, proposal.get("answer")):
                    continue
            except MatchRuleError:
                continue
            fits.append(c)
        if not fits:
            return None
        fits.sort(key=lambda c: (not (c.label_steps & steps) if steps else False, c.kind != kind, c.template, c.signature()))
        return fits[0]

    def _failed(self, x: Exploration, request_hash: str, attempt: int, message: str) -> SynthesisFailed:
        return SynthesisFailed(exploration_id=x.exploration_id, synthesizer=self.name, request_hash=request_hash,
                               attempt=attempt, message=message)
