"""The LLM synthesizer: a model writes the questions, the recorded values decide the labels.

For each exploration the model sees the recorded calls and results (cut to a size) and is
asked for tasks as JSON (:data:`SYSTEM`): a question and its answer fields, each field with
its value and a **derivation** over the recorded results (a JMESPath expression into a
result's JSON, an exact quote of a result's text, or count / sum / min / max / sort / filter
over a derived list; :mod:`firefly.synth.derivation`). firefly evaluates every derivation on
the recorded results and keeps the task only if each one yields the proposed value; the label
is then the evaluated value, the derivation its provenance (evaluated again by the
verifiers). One field makes a single-value task, two or more an answer with fields
(:mod:`firefly.synth.answers`). So a model can write a task about a result no offline reader
understands, and still cannot make a label up.

A proposal with an ``answer`` and no fields is kept only if it matches (under the candidate's
match rule) the label of a task the offline synthesizer derives from the same calls, and then
takes that candidate's label, provenance and trajectory with the model's question. A
state-change proposal is kept when a recorded probe observes an effect of a step it names.

A failed request (``llm-failed``), a reply that is not the JSON asked for, or proposals that
are refused (with the reason: the derivation fails, or yields another value) become
``synthesis-failed`` events for the exploration; the run goes on. Replies are recorded
(``llm-replied``) and reused on a re-run.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..events import SynthesisFailed
from ..ids import canonical_json
from ..llm import LLM
from ..match import MatchRuleError, matches
from .answers import answer_schema, fields_match, format_hint
from .derivation import evaluate, steps_of
from .derive import DerivationError, record_of
from .model import Candidate, Exploration
from .offline import OfflineSynthesizer, _match_for

PURPOSE = "synthesize-tasks"
REPLY_TOKENS_PER_TASK = 200  # a task with a few fields and their derivations; bounds a rambling reply
MAX_RESULT_CHARS = 1500
KINDS = ("lookup", "multi-hop", "aggregate", "state-change")
MAX_FIELDS = 8
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")

SYSTEM = (
    "You write tasks for training tool-using agents, backward from what real tools returned."
    " You get the calls an explorer made, in order (## step N), with their arguments and results. Write up to {n}"
    " tasks whose answers are determined by those results: values from one result (lookup), values that only a"
    " later call fed by an earlier result reveals (multi-hop), a count, maximum, minimum, sum or order over a"
    " result (aggregate). Each question must be natural, must not name tools, must contain everything needed to"
    " make the first call (names, paths, values), and must not contain its answer.\n\n"
    "Each task's answer is one or more named fields (up to 5; a record's several values make a good task). For"
    " each field give its value and its derivation: how the value follows from a step's result, which will be"
    " checked by evaluating it. A derivation is one of:\n"
    '- {{"step": N, "jmespath": "<JMESPath expression>"}}: evaluated on step N\'s result as JSON;\n'
    '- {{"step": N, "quote": "<exact text>"}}: a span copied exactly from step N\'s result text;\n'
    '- {{"op": "count" | "sum" | "min" | "max" | "sort", "of": <derivation of a list>}};\n'
    '- {{"op": "filter", "of": <derivation of a list>, "where": {{"key": "<field>", "equals": <value>}}}}.\n\n'
    "Reply with JSON only, in this schema:\n"
    '{{"tasks": [{{"question": "<text>", "kind": "lookup" | "multi-hop" | "aggregate",'
    ' "fields": [{{"name": "<snake_case name>", "value": <the value>, "derivation": <derivation>}}]}}]}}\n\n'
    "Example. If step 0 returned {{\"items\": [{{\"sku\": \"A1\", \"price\": 4.5}}, {{\"sku\": \"B2\", \"price\": 7}}]}}:\n"
    '{{"tasks": [{{"question": "In the shop catalog, how many items are there and what is the highest price?",'
    ' "kind": "aggregate", "fields": ['
    '{{"name": "items", "value": 2, "derivation": {{"op": "count", "of": {{"step": 0, "jmespath": "items"}}}}}},'
    ' {{"name": "highest_price", "value": 7, "derivation": {{"step": 0, "jmespath": "max_by(items, &price).price"}}}}'
    "]}}]}}\n\n"
    "For an effect the explorer made (a change) that a later read shows, write instead"
    ' {{"question": "<the change, as a request>", "kind": "state-change", "answer": <what the read showed>,'
    ' "steps": [<the step of the change>]}}.'
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


def _json_in(text: str) -> Any:
    """The JSON value of a reply: the whole text, a code fence's content, or the first JSON
    object or list inside prose."""
    body = text.strip()
    candidates = [body] + [m.group(1).strip() for m in re.finditer(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[{\[]", body):
        try:
            return decoder.raw_decode(body, m.start())[0]
        except ValueError:
            continue
    raise ValueError("the reply is not JSON and holds no JSON object")


def _fields(t: dict[str, Any], i: int) -> list[dict[str, Any]] | None:
    """A task's answer fields as ``[{name, value, derivation}]`` (None when it has none)."""
    fields = t.get("fields")
    if fields is None:
        return None
    if isinstance(fields, dict):  # {"name": {"value": ..., "derivation": ...}} is read too
        fields = [dict(v, name=k) if isinstance(v, dict) else v for k, v in fields.items()]
    if not isinstance(fields, list) or not 1 <= len(fields) <= MAX_FIELDS:
        raise ValueError(f"task {i}: fields must be a list of 1 to {MAX_FIELDS} fields")
    names = set()
    for j, f in enumerate(fields):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not FIELD_NAME.match(f["name"]):
            raise ValueError(f"task {i} field {j}: needs a name (letters, digits, _; up to 40)")
        if "value" not in f or not isinstance(f.get("derivation"), dict):
            raise ValueError(f"task {i} field {f['name']!r}: needs a value and a derivation (an object)")
        if f["name"] in names:
            raise ValueError(f"task {i}: field {f['name']!r} twice")
        names.add(f["name"])
    return fields


def parse_reply(text: str | None) -> list[dict[str, Any]]:
    """The proposed tasks of a reply (JSON read leniently, validated strictly). Raises
    ValueError with a clear reason."""
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    data = _json_in(text)
    tasks = data.get("tasks") if isinstance(data, dict) else data
    if not isinstance(tasks, list):
        raise ValueError("the reply has no list of tasks")
    out = []
    for i, t in enumerate(tasks):
        if not isinstance(t, dict) or not isinstance(t.get("question"), str) or not t["question"].strip():
            raise ValueError(f"task {i} needs a question (text)")
        fields = _fields(t, i)
        if fields is None and "answer" not in t:
            raise ValueError(f"task {i} needs fields (or an answer)")
        steps = t.get("steps")
        if steps is not None and not (isinstance(steps, list) and all(isinstance(k, int) for k in steps)):
            raise ValueError(f"task {i}: steps must be a list of step numbers")
        out.append(dict(t, fields=fields) if fields is not None else t)
    return out


class LLMSynthesizer:
    """Questions by a model; labels from the recorded calls (see the module docstring)."""

    def __init__(self, llm: LLM, *, max_tasks: int = 4, seed: int = 0, temperature: float = 0.0,
                 concurrency: int = 1):
        self.llm = llm
        self.max_tasks = max_tasks
        self.concurrency = max(1, concurrency)
        self.seed = seed
        self.temperature = temperature
        self.name = f"llm:{llm.config.model}"
        self.offline = OfflineSynthesizer(seed=seed, max_tasks=10_000)

    def messages(self, x: Exploration) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": SYSTEM.format(n=self.max_tasks)},
            {"role": "user", "content": render_exploration(x)},
        ]

    def tasks_for(self, store: Any, x: Exploration, context: dict[str, Any]) -> tuple[list[Candidate], Counter, list[Any]]:
        out: list[tuple[list[Candidate], Counter, list[Any]]] = []
        self.tasks_for_many(store, [x], context, lambda _, *found: out.append(found))
        return out[0]

    def tasks_for_many(self, store: Any, explorations: Sequence[Exploration], context: dict[str, Any],
                       done: Callable[[Exploration, list[Candidate], Counter, list[Any]], None]) -> None:
        """:meth:`tasks_for` for several explorations, their requests sent at most
        ``concurrency`` at once (:meth:`LLM.chat_many`); ``done(x, chosen, skipped, extra)``
        is called on this thread for each as its reply arrives (in no fixed order)."""
        waiting: list[tuple[Exploration, list[Candidate], Counter]] = []
        for x in explorations:
            candidates, skipped = self.offline.candidates(x, context.get("initial_results"))
            skipped["_candidates"] = len(candidates)
            if not any(s.ok for s in x.steps):
                skipped["no successful call"] += 1
                done(x, [], skipped, [])
                continue
            waiting.append((x, candidates, skipped))
        if not waiting:
            return

        def arrived(index: int, result: Any) -> None:
            x, candidates, skipped = waiting[index]
            done(x, *self._read(x, candidates, skipped, result))

        self.llm.chat_many(store, PURPOSE, [(self.messages(x), 0) for x, _, _ in waiting],
                           concurrency=self.concurrency, on_result=arrived, temperature=self.temperature,
                           max_tokens=REPLY_TOKENS_PER_TASK * self.max_tasks + 64)

    def _read(self, x: Exploration, candidates: list[Candidate], skipped: Counter,
              result: Any) -> tuple[list[Candidate], Counter, list[Any]]:
        """The tasks one reply gives (or the recorded failure)."""
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
        refused: list[str] = []
        records = {s.step: record_of(s.step, s.server, s.tool, s.arguments, s.content, s.structured)
                   for s in x.steps if s.ok}
        for i, p in enumerate(proposals[: self.max_tasks]):
            if p.get("fields") is not None and p.get("kind") != "state-change":
                try:
                    c = derived_candidate(p, records)
                except DerivationError as exc:
                    refused.append(f"task {i}: {exc}")
                    continue
                c.extra["request_hash"] = result.request_hash
            else:
                found = self._supported(p, candidates)
                if found is None:
                    unsupported.append(canonical_json(p.get("answer"))[:60])
                    continue
                c = replace(found, question=p["question"].strip(), template=f"llm:{found.template}",
                            extra=dict(found.extra, request_hash=result.request_hash))
            if any(c.signature() == other.signature() for other in chosen):
                continue
            chosen.append(c)
        extra = []
        if refused:
            skipped["llm derivation refused"] += len(refused)
            extra.append(self._failed(
                x, result.request_hash, result.attempt,
                f"{len(refused)} of {len(proposals)} proposed task(s) refused: {'; '.join(refused)}"))
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


def derived_candidate(proposal: dict[str, Any], records: dict[int, Any]) -> Candidate:
    """A task from a proposal whose fields carry derivations: every derivation evaluated on
    the recorded results (step -> record) and compared with its proposed value under the
    field's match rule. Raises :class:`DerivationError` with the reason a proposal is refused."""
    values: dict[str, Any] = {}
    provenance: list[dict[str, Any]] = []
    label_steps: set[int] = set()
    fields = proposal["fields"]
    for f in fields:
        name, spec = f["name"], f["derivation"]
        try:
            value = evaluate(spec, records)
        except DerivationError as exc:
            raise DerivationError(f"field {name!r}: {exc}") from None
        rule = _match_for(value, ordered=spec.get("op") == "sort")
        try:
            ok = matches(rule, value, f["value"])
        except MatchRuleError:
            ok = False
        if not ok:
            raise DerivationError(f"field {name!r}: the derivation yields {canonical_json(value)[:80]},"
                                  f" not the proposed {canonical_json(f['value'])[:80]}")
        steps = steps_of(spec)
        label_steps |= steps
        values[name] = (value, rule)
        entry = {"step": min(steps), "steps": sorted(steps), "derive": spec, "value": value, "role": "answer"}
        provenance.append(entry if len(fields) == 1 else dict(entry, field=name))
    question = proposal["question"].strip()
    kind = proposal.get("kind") if proposal.get("kind") in ("lookup", "multi-hop", "aggregate") else None
    kind = kind or ("multi-hop" if len(label_steps) > 1 else "lookup")
    if len(fields) == 1:
        [(value, rule)] = values.values()
        return Candidate(kind, "llm:derived", question, value, rule, label_steps, provenance, {"op": "value"},
                         hops=len(label_steps))
    answer = {name: value for name, (value, _) in values.items()}
    rules = {name: rule for name, (_, rule) in values.items()}
    hint = format_hint(list(answer))
    if hint not in question:
        question = f"{question} {hint}"
    return Candidate(kind, "llm:derived:fields", question, answer, fields_match(rules), label_steps, provenance,
                     {"op": "fields", "fields": {name: {"op": "value"} for name in answer}}, hops=len(label_steps),
                     answer_schema=answer_schema(answer, rules))
