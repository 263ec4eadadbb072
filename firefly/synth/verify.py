"""The verify stage: every task checked by independent verifiers, each verdict an event.

Verifiers (each gives ``passed`` and one-line reasons):

* ``grounded``: every provenance value is found at its locator in the recorded result of its
  step, the derivation recomputed from them gives the label, and every trajectory call is a
  successful recorded call of the exploration. For a state change: the probe is a recorded
  call and its recorded result contains the expected end state. For an action: the label is
  the trajectory's one call (each argument the recorded one, or the default it played).
* ``replayable``: the trajectory replayed in order in one simulator episode (strict mode)
  succeeds at every call, and the label recomputed from the replayed results (or the probe
  made at the end of the episode) matches. A made-up id a hop went through may come back
  as another made-up id (a session opened again). An action: the replayed episode made the
  call its label is.
* ``no-leakage``: the answer is not in the question. For a state change, no part of the
  expected end state that the requested effect does not itself state.
* ``self-contained``: every argument value the trajectory's calls need is in the question,
  unless it came from an earlier result of the trajectory (a made-up id made by an earlier
  step of it included), is a default, a choice among a few fixed values, or a well-known
  place (the repository, the workspace folder).
* ``not-duplicate``: no task accepted before it (in task-id order) has the same label from
  the same calls, or a question whose embedding (the hashed embedder, usearch, cosine) is
  at least ``threshold`` similar.
* ``error-free``: no call of the reference trajectory, no step of the label's provenance and
  not the probe was recorded as failed or judged an error by its server's adapter
  (:mod:`firefly.adapters.judge`: ``isError``, error text, error fields).
* ``no-padding``: every call of the trajectory that the label does not read (a setup
  effect of a question, each change of a state change) is needed: replaying without it
  changes the label (:mod:`firefly.synth.necessity`). So a state change that asks for two
  changes and checks one fails.
* ``fails-before``: a state change's probe, run in the world before the change, fails the
  label (doing nothing must not pass); an action's label is not met by an episode that makes
  no call. Questions pass.
* ``wording``: the question never calls a folder a file (a path the exploration shows is a
  folder: listed, created or read as one).
* ``diverse``: at most ``per_template`` verified tasks per masked question, at most
  ``per_tool_answer`` per (tool, answer), never two with the same masked question and answer;
  decided after the other verifiers, best first (:mod:`firefly.synth.diversity`).
* ``judged`` (optional, off by default): an LLM judge of the task's quality on the rubric of
  :mod:`firefly.synth.judge`.
* ``solvable`` (optional, off by default): a model playing the task as ``firefly eval``
  would have an agent play it (the tools of the task's servers, answered by the simulator;
  :mod:`firefly.synth.solve`) reaches the label (or the probe's end state).

Tasks are visited in task-id order and each task's verdicts (all but ``diverse``) are
appended in one transaction; the ``diverse`` verdicts are appended at the end, in one
transaction. ``not-duplicate`` and ``diverse`` are decided over every task that has its other
verdicts, whichever run gave them (:class:`EveryTask`), so an interrupted run, resumed, or a
run in shards ends with the verdicts of one uninterrupted pass; an earlier verdict that the
whole set changes is corrected by a new event.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..events import TaskVerdict
from ..ids import canonical_json, short_hash
from ..match import matches, normalize, probe_passes, result_value
from ..store import Store
from .answers import field_values
from .derivation import check_entry
from .derive import DerivationError, compute, found_at, record_of
from .diversity import DEFAULT_PER_TEMPLATE, DEFAULT_PER_TOOL_ANSWER, DiversityCap, rank
from .facts import generated_id_in, leaves, rel
from .model import TASK_COLUMNS, Exploration, Task, load_exploration, made_call, task_from_row
from .necessity import (AMBIENT, before_change, computing_steps, initial_texts, item_moved, made_ids, made_values,
                        same_made_up, step_needs)
from .phrasing import value_shown, without_step_numbers

VERIFIERS = ("grounded", "replayable", "no-leakage", "self-contained", "not-duplicate", "error-free", "no-padding",
             "fails-before", "wording", "diverse")
GLOBAL_VERIFIERS = ("not-duplicate", "diverse")  # decided over every task at once: never by a shard
DEFAULT_THRESHOLD = 0.98
PRESENTATION = {"context_lines", "branch_type", "excludePatterns"}  # arguments that only shape the output

Verdict = tuple[bool, list[str]]


# ------------------------------------------------------------------------------- grounded


def check_grounded(task: Task, x: Exploration | None) -> Verdict:
    if x is None:
        return False, [f"exploration {task.exploration_id} is not in the log"]
    steps = x.by_step()
    reasons: list[str] = []
    for call in task.trajectory:
        s = steps.get(call.get("step"))
        if s is None or not s.ok or s.server != call.get("server") or s.tool != call.get("tool") \
                or canonical_json(s.arguments) != canonical_json(call.get("arguments")):
            reasons.append(f"trajectory step {call.get('step')} is not a successful recorded call with these arguments")
    if task.kind == "state-change":
        return _grounded_probe(task, steps, reasons)
    if task.action:
        return _grounded_action(task, x, reasons)
    records = {s.step: record_of(s.step, s.server, s.tool, s.arguments, s.content, s.structured)
               for s in steps.values() if s.ok}
    for p in task.provenance:
        if p.get("step") not in records:
            reasons.append(f"provenance step {p.get('step')} has no successful recorded call")
            continue
        ok, got = check_entry(p, records)
        if not ok:
            reasons.append(f"step {p.get('step')} {_where(p)}: expected {_short(p.get('value'))}, found {_short(got)}")
    if reasons:
        return False, reasons
    try:
        value = compute(task.derivation, task.provenance)
    except DerivationError as exc:
        return False, [f"the derivation cannot be computed: {exc}"]
    if not matches(task.match, task.answer, value):
        return False, [f"the derivation gives {_short(value)}, the label is {_short(task.answer)}"]
    return True, [f"{len(task.provenance)} provenance value(s) found where recorded; {task.derivation.get('op')} gives the label"]


def _grounded_probe(task: Task, steps: dict[int, Any], reasons: list[str]) -> Verdict:
    probe = task.probe or {}
    at = next((p.get("step") for p in task.provenance if p.get("role") == "probe"), None)
    s = steps.get(at)
    if s is None or not s.ok or s.server != probe.get("server") or s.tool != probe.get("tool") \
            or canonical_json(s.arguments) != canonical_json(probe.get("arguments")):
        reasons.append("the probe is not a successful recorded call of the exploration")
    elif not probe_passes(probe, task.match, s.content, s.structured):
        reasons.append(f"the recorded probe result does not contain {_short(probe.get('expected'))}")
    if not any(not_read_only(steps.get(c.get("step"))) for c in task.trajectory):
        reasons.append("the trajectory makes no effect")
    if canonical_json(task.answer) != canonical_json(probe.get("expected")):
        reasons.append("the label is not the probe's expected end state")
    if reasons:
        return False, reasons
    return True, [f"the recorded probe {s.server}/{s.tool} at step {s.step} shows the end state"]


def _grounded_action(task: Task, x: Exploration, reasons: list[str]) -> Verdict:
    from ..simulator.canonical import fill_defaults

    label = task.answer if isinstance(task.answer, dict) else {}
    if len(task.trajectory) != 1 or task.match.get("rule") != "called":
        return False, reasons + ["an action is one call, labelled by the rule called"]
    call = task.trajectory[0]
    schema = getattr(x.ref(call["server"], call["tool"]), "input_schema", None)
    given = fill_defaults(dict(call.get("arguments") or {}), schema) if isinstance(schema, dict) else \
        dict(call.get("arguments") or {})
    if (label.get("server"), label.get("tool")) != (call["server"], call["tool"]):
        reasons.append(f"the label's tool {label.get('server')}/{label.get('tool')} is not the trajectory's call")
    for name, value in (label.get("arguments") or {}).items():
        if canonical_json(given.get(name)) != canonical_json(value):
            reasons.append(f"the label's argument {name} = {_short(value)} is not the recorded call's")
    if reasons:
        return False, reasons
    return True, [f"the label is the recorded call {call['server']}/{call['tool']} at step {call.get('step')}"]


def not_read_only(step: Any) -> bool:
    return step is not None and step.ok and not step.read_only


# ------------------------------------------------------------------------------- replayable


def check_replayable(task: Task, sim: Any) -> Verdict:
    episode = sim.episode()
    results: dict[int, Any] = {}
    for call in task.trajectory:
        r = episode.call_sync(call["server"], call["tool"], call.get("arguments") or {})
        if r.is_error:
            return False, [f"step {call.get('step')} {call['server']}/{call['tool']} replayed as an error: {_short(_text(r))}"]
        results[call.get("step")] = (call, r)
    if task.kind == "state-change":
        probe = task.probe or {}
        r = episode.call_sync(probe.get("server", ""), probe.get("tool", ""), probe.get("arguments") or {})
        if r.is_error:
            return False, [f"the probe replayed as an error: {_short(_text(r))}"]
        if not probe_passes(probe, task.match, r.content, r.structured_content):
            return False, [f"after the replay the probe shows {_short(result_value(r.content, r.structured_content))},"
                           f" not {_short(probe.get('expected'))}"]
        return True, [f"{len(task.trajectory)} call(s) replayed; the probe shows the end state"]
    if task.action:
        if not made_call(task, episode):
            return False, ["the replayed episode did not make the call the label is"]
        return True, [f"{len(task.trajectory)} call(s) replayed; the episode made the call the label is"]
    replayed = []
    records = {step: record_of(step, call["server"], call["tool"], call.get("arguments") or {}, r.content,
                               r.structured_content) for step, (call, r) in results.items()}
    moves = []
    for p in task.provenance:
        if p.get("step") not in records:
            return False, [f"provenance step {p.get('step')} is not in the trajectory"]
        ok, found = check_entry(p, records)
        ok = ok or same_made_up(p, found)  # a session opened again: another id, the same session
        if not ok:  # the same item, listed elsewhere in a world without a setup the task left out?
            entries = [e for e in task.provenance if e.get("step") == p.get("step")]
            delta = item_moved(entries, lambda e: check_entry(e, records))
            if delta is None:
                return False, [f"replayed step {p['step']} {_where(p)}: {_short(found)} instead of"
                               f" {_short(p.get('value'))}"]
            moves.append(f"step {p['step']}'s item moved {delta:+d} places")
        replayed.append(dict(p, value=p.get("value")))
    try:
        value = compute(task.derivation, replayed)
    except DerivationError as exc:
        return False, [f"the derivation cannot be computed on the replay: {exc}"]
    if not matches(task.match, task.answer, value):
        return False, [f"the replay gives {_short(value)}, the label is {_short(task.answer)}"]
    said = "".join(f" ({m})" for m in dict.fromkeys(moves))
    return True, [f"{len(task.trajectory)} call(s) replayed in one episode; the label is reproduced{said}"]


def _where(entry: dict[str, Any]) -> str:
    """A provenance entry's locator, or its derivation (firefly.synth.derivation)."""
    return canonical_json(entry["derive"]) if "derive" in entry else str(entry.get("path"))


def _text(r: Any) -> str:
    return " ".join(b.get("text", "") for b in r.content or [] if isinstance(b, dict))


# ------------------------------------------------------------------------------- no leakage


def _in_text(value: Any, text: str) -> bool:
    return value_shown(value, text, in_formulas=True)


def check_leakage(task: Task) -> Verdict:
    if task.action:
        return True, ["an action states the call it asks for: its label is that call"]
    text = normalize(without_step_numbers(task.question))
    if task.kind == "state-change":
        stated = normalize(" ".join(str(v) for c in task.trajectory for v in leaves(c.get("arguments"))))
        leaked = [v for v in leaves(task.answer) if value_shown(v, text) and not _in_text(v, stated)]
        if leaked:
            return False, [f"the question shows {_short(v)} of the end state, which the effect does not state" for v in leaked]
        return True, ["the question states the effect, not the observed end state"]
    leaked = [v for v in field_values(task.answer) if value_shown(v, text)]
    if leaked:
        return False, [f"the answer {_short(v)} is in the question" for v in leaked]
    return True, ["the answer is not in the question"]


# ------------------------------------------------------------------------------- self-contained


_SQL = re.compile(r"^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA)\b", re.IGNORECASE)
_SQL_TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+[\"`\[]?([A-Za-z_]\w*)", re.IGNORECASE)


def _pointers(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _pointers(v, f"{prefix}/{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _pointers(v, f"{prefix}/{i}")]
    return [(prefix, value)]


def _carried(value: Any, name: str, text: str) -> bool:
    if isinstance(value, str):
        v = value.strip()
        if v.rstrip("/") in AMBIENT:
            return True
        if v.startswith("/workspace/"):
            forms = {v, rel(v), v[len("/workspace/"):]}
            return any(_in_text(f, text) for f in forms if f)
        if name in ("query", "sql") and _SQL.match(v):
            if normalize(v) in text:
                return True
            tables = set(_SQL_TABLES.findall(v))
            return bool(tables) and all(_in_text(t, text) for t in tables) and v.lstrip()[:6].upper() in ("SELECT", "WITH S")
        return normalize(v) in text if v else True
    return _in_text(value, text)


def check_self_contained(task: Task, x: Exploration | None, schemas: dict[tuple[str, str], dict[str, Any]]) -> Verdict:
    text = normalize(task.question)
    steps = x.by_step() if x is not None else {}
    in_trajectory = {c.get("step") for c in task.trajectory}
    ids = made_ids(x)
    missing: list[str] = []
    for call in task.trajectory:
        s = steps.get(call.get("step"))
        fed = {src.get("argument") for src in (s.sources if s is not None else [])
               if src.get("step") in in_trajectory}
        made = {v for v, origin in (ids.get(call.get("step")) or {}).items() if origin in in_trajectory}
        props = (schemas.get((call["server"], call["tool"])) or {}).get("properties") or {}
        for pointer, value in _pointers(call.get("arguments") or {}):
            top = pointer.split("/")[1] if pointer.count("/") >= 1 and pointer != "" else ""
            spec = props.get(top) if isinstance(props.get(top), dict) else {}
            if pointer in fed or isinstance(value, bool) or value is None or top in PRESENTATION or (
                    isinstance(value, str) and value.strip() in made):  # an id an earlier step of the task made
                continue
            if s is not None and x is not None and isinstance(value, str) and generated_id_in(value) \
                    and x.maker_of(value, s.step) in in_trajectory:
                continue  # an id an earlier call of the task made: the task makes it again
            if "enum" in spec or ("default" in spec and canonical_json(spec["default"]) == canonical_json(value)):
                continue
            if not _carried(value, top, text):
                missing.append(f"{call['server']}/{call['tool']} {pointer} = {_short(value)} is not in the question")
    if missing:
        return False, missing
    return True, ["every argument the trajectory needs is in the question or comes from an earlier result"]


# ------------------------------------------------------------------------------- error-free


def check_error_free(task: Task, x: Exploration | None) -> Verdict:
    if x is None:
        return False, [f"exploration {task.exploration_id} is not in the log"]
    steps = x.by_step()
    looked = [("trajectory", c.get("step")) for c in task.trajectory]
    looked += [("probe" if p.get("role") == "probe" else "provenance", p.get("step")) for p in task.provenance]
    reasons: list[str] = []
    for role, at in dict.fromkeys(looked):
        s = steps.get(at)
        if s is None:
            continue  # ``grounded`` says so
        why = "recorded as failed" if not s.ok else x.adapter(s.server).is_error(s.content, s.structured)
        if why:
            reasons.append(f"{role} step {at} {s.server}/{s.tool} is an error: {why}")
    if reasons:
        return False, list(dict.fromkeys(reasons))
    return True, [f"no error in the {len(set(a for _, a in looked))} recorded result(s) the task rests on"]


# ------------------------------------------------------------------------------- no padding


def recorded_results(x: Exploration | None) -> dict[int, tuple[Any, Any]]:
    return {s.step: (s.content, s.structured) for s in (x.steps if x is not None else [])}


def check_no_padding(task: Task, sim: Any, x: Exploration | None, initial: Mapping[str, str] | None = None) -> Verdict:
    needs = step_needs(task, sim, recorded_results(x), lambda: made_values(x, initial), initial, computing_steps(x),
                       made_ids(x))
    if not needs:
        return True, ["every call of the trajectory is one the label reads"]
    idle = [f"step {n.call.get('step')} {n.call['server']}/{n.call['tool']} is not needed: {n.why}" for n in needs
            if not n.needed]
    if idle:
        return False, idle
    return True, [f"step {n.call.get('step')} {n.call['server']}/{n.call['tool']} is needed: {n.why}" for n in needs]


def check_fails_before(task: Task, sim: Any, x: Exploration | None = None,
                       initial: Mapping[str, str] | None = None) -> Verdict:
    if task.action:
        if made_call(task, sim.episode()):
            return False, ["an episode that makes no call already meets the label"]
        return True, ["an episode that makes no call does not meet the label (the call)"]
    if task.probe is None:
        return True, ["not a state change"]
    ok, why = before_change(task, sim, recorded_results(x), initial)
    return ok, [why]


# ------------------------------------------------------------------------------- wording

FOLDER_WORDS = frozenset({"directory", "directories", "dir", "folder", "folders", "mkdir", "tree", "ls"})
FOLDER_KINDS = frozenset({"directory", "dir", "folder"})
_DIR_LINE = re.compile(r"^\s*\[DIR\]\s+(.+?)\s*$", re.MULTILINE)


def folders_of(x: Exploration | None) -> set[str]:
    """Paths (and their last parts) the exploration shows are folders: arguments of a tool
    whose name says it works on folders, and entries a result marks as folders."""
    from ..adapters.verbs import name_words

    found: set[str] = set()
    for s in (x.steps if x is not None else []):
        if not s.ok:
            continue
        if FOLDER_WORDS & set(name_words(s.tool)) and not {"file", "files"} & set(name_words(s.tool)):
            found.update(v for v in leaves(s.arguments) if isinstance(v, str) and "/" in v)
        for block in s.content or []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                found.update(_DIR_LINE.findall(block["text"]))
        for obj in _objects([s.structured, _parsed_texts(s.content)]):
            kind = next((obj[k] for k in ("type", "kind") if isinstance(obj.get(k), str)), "")
            if normalize(kind) in FOLDER_KINDS:
                found.update(obj[k] for k in ("name", "path") if isinstance(obj.get(k), str))
    out: set[str] = set()
    for f in found:
        f = f.strip().rstrip("/")
        if len(f) >= 2 and f not in AMBIENT:
            out.update({f, rel(f), f.rsplit("/", 1)[-1]} if "/" in f else {f})
    return {f for f in out if len(f) >= 2}


def _parsed_texts(content: Any) -> list[Any]:
    out = []
    for block in content or []:
        text = block.get("text") if isinstance(block, dict) else None
        if isinstance(text, str) and text.lstrip()[:1] in "[{":
            try:
                out.append(json.loads(text))
            except ValueError:
                pass
    return out


def _objects(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value] + [o for v in value.values() for o in _objects(v)]
    if isinstance(value, list):
        return [o for v in value for o in _objects(v)]
    return []


def check_wording(task: Task, x: Exploration | None) -> Verdict:
    text = normalize(task.question)
    wrong = []
    for f in sorted(folders_of(x), key=len, reverse=True):
        name = re.escape(normalize(f))
        if re.search(r"\bfiles?\s+(?:called\s+|named\s+)?[\"“'`]?" + name + r"(?![\w/])", text) or \
                re.search(r"(?<![\w/])" + name + r"[\"”'`]?\s+files?\b", text):
            wrong.append(f"the question calls the folder {_short(f)} a file")
    if wrong:
        return False, wrong
    return True, ["no folder is called a file"]


# ------------------------------------------------------------------------------- not a duplicate


def task_signature(task: Task) -> str:
    calls = [[c.get("server"), c.get("tool"), c.get("arguments")] for c in task.trajectory]
    template = task.template.split("+")[0]
    return short_hash([template, calls, task.answer, [p.get("path") for p in task.provenance], task.probe], 24)


class DuplicateIndex:
    """Questions accepted so far: their label signatures and a usearch index of their
    embeddings (the hashed embedder, no corpus statistics, so a vector does not depend on
    the other tasks)."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD):
        from usearch.index import Index

        from ..embed import DEFAULT_DIM, HashedEmbedder

        self.threshold = threshold
        self.embedder = HashedEmbedder(DEFAULT_DIM)
        self.index = Index(ndim=DEFAULT_DIM, metric="cos", dtype="f32")
        self.signatures: dict[str, str] = {}
        self.ids: list[str] = []
        self.vectors: dict[str, np.ndarray] = {}  # question -> its vector, embedded once

    def vector(self, question: str) -> np.ndarray:
        if question not in self.vectors:
            self.embed([question])
        return self.vectors[question]

    def embed(self, questions: Collection[str]) -> None:
        """Embed the questions not embedded yet, in batches (a vector does not depend on its batch)."""
        from ..embed import ToolDoc

        new = [q for q in dict.fromkeys(questions) if q not in self.vectors]
        for start in range(0, len(new), self.embedder.batch):
            part = new[start : start + self.embedder.batch]
            docs = [ToolDoc("task", "question", "", (("description", q),)) for q in part]
            self.vectors.update(zip(part, self.embedder.embed(docs)))

    def check(self, task: Task) -> Verdict:
        sig = task_signature(task)
        if sig in self.signatures:
            return False, [f"same label from the same calls as {self.signatures[sig]}"]
        if len(self.ids):
            hits = self.index.search(self.vector(task.question), 1)
            keys = np.atleast_1d(hits.keys)
            if len(keys):
                similarity = 1.0 - float(np.atleast_1d(hits.distances)[0])
                if similarity >= self.threshold:
                    return False, [f"question {similarity:.3f} similar to {self.ids[int(keys[0])]}'s (threshold {self.threshold})"]
        return True, ["no earlier accepted task has this label or a question this close"]

    def add(self, task: Task) -> None:
        self.signatures.setdefault(task_signature(task), task.task_id)
        self.index.add(len(self.ids), self.vector(task.question))
        self.ids.append(task.task_id)


# ------------------------------------------------------------------------------- the stage


def replay_verified(store: Store) -> list[tuple[str, list[str]]]:
    """Replay every verified task in a fresh strict simulator: the ones that no longer
    reproduce their label, with the reasons (empty when the whole set replays)."""
    from ..simulator import Simulator

    store.catch_up()
    sim = Simulator.open(store, mode="strict")
    failures = []
    for row in store.conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE verified = 1 ORDER BY task_id").fetchall():
        task = task_from_row(row)
        ok, reasons = check_replayable(task, sim)
        leak_ok, leak = check_leakage(task)
        if not (ok and leak_ok):
            failures.append((task.task_id, (reasons if not ok else []) + (leak if not leak_ok else [])))
    return failures


@dataclass
class VerifyReport:
    """What one pass did: its tasks, how many of them ended verified, the verifiers that
    rejected them, and the verdicts of earlier tasks it re-decided (verifier -> count)."""

    tasks: int = 0
    verified: int = 0
    rejected: Counter = field(default_factory=Counter)
    corrected: Counter = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "verified": self.verified, "rejected": dict(self.rejected),
                "corrected": dict(self.corrected)}


PER_TASK = tuple(v for v in VERIFIERS if v not in GLOBAL_VERIFIERS)
NOT_TRIED = "not tried: the task failed another verifier"
Recorded = tuple[bool, list[str], dict[str, Any]]  # the latest verdict of a (task, verifier): passed, reasons, params


class EveryTask:
    """not-duplicate and diverse decided over every task that has its per-task verdicts,
    whichever pass or shard gave them: not-duplicate in task id order (each task against the
    tasks accepted before it), then diverse over the survivors, best first (:func:`rank`), the
    best task of each tool not yet in a kept task before any other. So the verdicts depend on the set of tasks only, not on how many passes verified it.

    A decision equal to the latest recorded verdict is not written again; one that differs is
    a new event (the log is append-only; the ``verdicts`` projection keeps the latest): its
    reasons are the decision's, as one pass words them, and ``params.corrects`` holds the
    verdict it replaces."""

    def __init__(self, store: Store, recorded: Mapping[tuple[str, str], Recorded], threshold: float,
                 per_template: int, per_tool_answer: int):
        self.store = store
        self.recorded = recorded
        self.dupes = DuplicateIndex(threshold)
        self.cap = DiversityCap(per_template, per_tool_answer)
        self.survivors: list[Task] = []
        self.rejected: list[str] = []  # failed a per-task verifier or not-duplicate
        self.corrected: Counter = Counter()

    def not_duplicate(self, task: Task, others_pass: bool) -> Verdict:
        """The task's not-duplicate verdict; called in task id order."""
        verdict = self.dupes.check(task)
        if others_pass and verdict[0]:
            self.dupes.add(task)
            self.survivors.append(task)
        else:
            self.rejected.append(task.task_id)
        return verdict

    def not_duplicate_event(self, task_id: str, verdict: Verdict) -> TaskVerdict | None:
        params = {"threshold": self.dupes.threshold, "embedder": self.dupes.embedder.name}
        return self.event(task_id, "not-duplicate", verdict, params)

    def diverse(self) -> tuple[dict[str, bool], list[TaskVerdict]]:
        """Every task's diverse verdict (task id -> passed) and the events of those that changed."""
        passed: dict[str, bool] = {}
        events = [self.event(t, "diverse", (False, [NOT_TRIED]), self.cap.params()) for t in self.rejected]
        verdicts: dict[str, Verdict] = {}
        ranked = sorted(self.survivors, key=rank)
        covered: set[tuple[str, str]] = set()
        # first the best task of each tool no task kept before calls (a tool in a verified task
        # is worth more than a third task of a template), then the rest, best first
        for task in ranked:
            tools = {(c["server"], c["tool"]) for c in task.trajectory}
            if tools <= covered:
                continue
            ok, reasons = self.cap.check(task)
            if ok:
                self.cap.add(task)
                covered |= tools
                verdicts[task.task_id] = (ok, reasons)
        for task in ranked:
            if task.task_id not in verdicts:
                verdicts[task.task_id] = found = self.cap.check(task)
                if found[0]:
                    self.cap.add(task)
        for task in ranked:
            ok, reasons = verdicts[task.task_id]
            passed[task.task_id] = ok
            template, pair, _ = self.cap.keys(task)
            events.append(self.event(task.task_id, "diverse", (ok, reasons),
                                     dict(self.cap.params(), template=template, tool_answer=pair)))
        return passed, [e for e in events if e is not None]

    def event(self, task_id: str, verifier: str, verdict: Verdict, params: dict[str, Any]) -> TaskVerdict | None:
        """The verdict's event, or None when the latest recorded verdict says the same."""
        passed, reasons = verdict
        before = self.recorded.get((task_id, verifier))
        if before is not None:
            was_passed, was_reasons, was_params = before
            if (was_passed, was_reasons) == (passed, reasons) and \
                    {k: v for k, v in was_params.items() if k != "corrects"} == params:
                return None
            params = dict(params, corrects={"passed": was_passed, "reasons": was_reasons})
            self.corrected[verifier] += 1
            return TaskVerdict(task_id=task_id, verifier=verifier, passed=passed, reasons=reasons, params=params,
                               version=self.verdicts_before(task_id, verifier))
        return TaskVerdict(task_id=task_id, verifier=verifier, passed=passed, reasons=reasons, params=params)

    def verdicts_before(self, task_id: str, verifier: str) -> int:
        return self.store.conn.execute(
            "SELECT count(*) FROM events WHERE stream = ? AND +type = 'task-verdict'"
            " AND json_extract(payload, '$.verifier') = ?", (f"task:{task_id}", verifier)).fetchone()[0]


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else canonical_json(value)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def tool_schemas(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s, n): json.loads(schema) for s, n, schema in store.conn.execute(
        "SELECT server, name, input_schema FROM tools")}


def lacking(store: Store, columns: str = "task_id", verifiers: Collection[str] = VERIFIERS) -> list[tuple]:
    """The tasks (``columns`` of their rows, in task id order) that lack a verdict of one of
    ``verifiers``: what :func:`verify` gives verdicts to next (a task whose verification was
    interrupted included)."""
    marks = ",".join("?" * len(verifiers))
    return store.conn.execute(
        f"SELECT {columns} FROM tasks WHERE (SELECT count(*) FROM verdicts v WHERE v.task_id = tasks.task_id"
        f" AND v.verifier IN ({marks})) < ? ORDER BY task_id", (*verifiers, len(verifiers))
    ).fetchall()


def verify(
    store: Store,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    solver: Any = None,
    judge: Any = None,
    per_template: int = DEFAULT_PER_TEMPLATE,
    per_tool_answer: int = DEFAULT_PER_TOOL_ANSWER,
    on_task: Callable[[str, int, int], None] | None = None,
    only: Collection[str] | None = None,
    duplicates: bool = True,
    given: Mapping[tuple[str, str], Verdict] | None = None,
) -> VerifyReport:
    """Give every task without verdicts one verdict per verifier (plus ``solvable`` when a
    :class:`~firefly.synth.solve.Solver` is given, ``judged`` when a
    :class:`~firefly.synth.judge.TaskJudge` is). A verdict already recorded is reused, not
    judged again.

    not-duplicate and diverse are decided over every task that has its per-task verdicts
    (:class:`EveryTask`), the tasks of earlier passes included, so the verified set is the
    same however many passes (an interrupted run and its rerun, or shards) verified the
    tasks; a verdict of an earlier task that the whole set changes is corrected by a new event.

    A shard of the work (:mod:`firefly.distributed`) passes ``only`` (its task ids) and
    ``duplicates=False``: it gives the per-task verdicts only; the driver then gives
    not-duplicate and diverse over every task, passing the shards' verdicts as ``given``
    ((task id, verifier) -> verdict): each task's verdicts are appended together, so no task
    looks verified before its not-duplicate verdict."""
    from ..simulator import Simulator

    store.catch_up()
    wanted = [v for v in VERIFIERS if duplicates or v not in GLOBAL_VERIFIERS]
    wanted += (["solvable"] if solver is not None else []) + (["judged"] if judge is not None else [])
    rows = lacking(store, TASK_COLUMNS, wanted)
    if only is not None:
        rows = [row for row in rows if row[0] in only]
    report = VerifyReport()
    if not rows:
        return report
    schemas = tool_schemas(store)
    explorations: dict[str, Exploration | None] = {}
    adapters: dict[str, Any] = {}  # server -> its adapter, chosen once per run
    sim = Simulator.open(store, mode="strict")
    initial = initial_texts(store)  # what the world showed before any change
    recorded: dict[tuple[str, str], Recorded] = {
        (t, v): (bool(passed), json.loads(reasons), json.loads(params))
        for t, v, passed, reasons, params in store.conn.execute(
            "SELECT task_id, verifier, passed, reasons, params FROM verdicts")}
    done = {key: (passed, reasons) for key, (passed, reasons, _) in recorded.items()}
    known = {**done, **(given or {})}
    per_task_known: dict[str, dict[str, Verdict]] = {}
    for (t, v), verdict in known.items():
        if v not in GLOBAL_VERIFIERS:
            per_task_known.setdefault(t, {})[v] = verdict
    params = {"replayable": {"mode": "strict"}, "no-padding": {"mode": "strict"}, "fails-before": {"mode": "strict"}}
    pending = {row[0] for row in rows}
    every = EveryTask(store, recorded, threshold, per_template, per_tool_answer) if duplicates else None
    if every is not None:  # every task is visited in id order: the earlier ones are compared, not judged again
        rows = store.conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY task_id").fetchall()
        every.dupes.embed([row[4] for row in rows])
    corrections: list[TaskVerdict | None] = []
    for row in rows:
        task = task_from_row(row)
        if task.task_id not in pending:  # verified by an earlier pass, or not yet (left out by ``only``)
            verdicts = per_task_known.get(task.task_id, {})
            if every is not None and all(v in verdicts for v in PER_TASK):
                decided = every.not_duplicate(task, all(ok for ok, _ in verdicts.values()))
                corrections.append(every.not_duplicate_event(task.task_id, decided))
            continue
        if task.exploration_id not in explorations:
            explorations.clear()  # one exploration at a time is enough: tasks of one come together rarely
            explorations[task.exploration_id] = load_exploration(store, task.exploration_id, adapters)
        x = explorations[task.exploration_id]
        checks: dict[str, Callable[[], Verdict]] = {
            "grounded": lambda: check_grounded(task, x),
            "replayable": lambda: check_replayable(task, sim),
            "no-leakage": lambda: check_leakage(task),
            "self-contained": lambda: check_self_contained(task, x, schemas),
            "error-free": lambda: check_error_free(task, x),
            "no-padding": lambda: check_no_padding(task, sim, x, initial),
            "fails-before": lambda: check_fails_before(task, sim, x, initial),
            "wording": lambda: check_wording(task, x),
        }
        verdicts = {name: known.get((task.task_id, name)) or check() for name, check in checks.items()}
        for name, optional in (("judged", judge), ("solvable", solver)):
            if optional is None and (task.task_id, name) not in known:
                continue
            verdicts[name] = known.get((task.task_id, name)) or (
                optional.check(store, task, sim) if all(v[0] for v in verdicts.values()) else (False, [NOT_TRIED]))
        others_pass = all(v[0] for v in verdicts.values())
        events: list[TaskVerdict | None] = [
            TaskVerdict(task_id=task.task_id, verifier=name, passed=ok, reasons=reasons, params=params.get(name, {}))
            for name, (ok, reasons) in verdicts.items() if (task.task_id, name) not in done]
        if every is not None:
            verdicts["not-duplicate"] = every.not_duplicate(task, others_pass)
            events.append(every.not_duplicate_event(task.task_id, verdicts["not-duplicate"]))
        store.append_many([e for e in events if e is not None])
        if not all(ok for ok, _ in verdicts.values()):
            report.rejected.update(name for name, (ok, _) in verdicts.items() if not ok)
        elif every is None:  # a shard: the driver decides the rest
            report.verified += 1
        report.tasks += 1
        if on_task:
            on_task(task.task_id, report.tasks, len(pending))
    if every is not None:
        diverse, changed = every.diverse()
        store.append_many([e for e in corrections if e is not None] + changed)  # one transaction
        for task_id, ok in diverse.items():
            if task_id in pending and ok:
                report.verified += 1
            elif task_id in pending:
                report.rejected["diverse"] += 1
        report.corrected = every.corrected
    store.catch_up()
    return report
