"""The offline synthesizer: templates driven by the recorded calls, no LLM.

From one exploration it reads every successful call's facts (:mod:`firefly.synth.facts`) and
writes candidate tasks of these kinds:

* lookup: a value of one result (``Who authored the commit "Release 0.2.0" in ...?``);
* aggregate: a count, a maximum or minimum, a sum, the most common value, a set or an order
  computed over the items of one result;
* multi-hop: a question about a later call whose argument came from an earlier result, with
  that argument described by where it came from (``the commit whose message is ... in the
  last 5 commits of ...``); the answer must not be visible in the earlier result;
* state change: an effect the exploration made (a file written, an entity added, a branch
  created), labelled by a later read-only call on the same server that observes it (a probe)
  and the part of its result that shows the effect; a removal, by the whole result of a read
  made just before and just after it that shows the thing gone (matched exactly);
* effect result (a lookup or aggregate, template prefix ``effect:``): a fact an effect's own
  reply reports (``Remove the duplicates ... In the reply, what is the number of rows
  after?``), the effect being the label's call; never its echo, status, a made-up id or a timing;
* action: an instruction whose label is the call it asks for (``Play the music of the ABC
  notation below: ...``; match rule ``called``), for an effect no read of the run observed
  and no other candidate rests on: a player, a planner, a recorder of thoughts, whose reply
  says nothing a question could ask. Scored by whether the episode made that call.

Phrasing varies (several templates per fact, chosen by a seeded generator). Every candidate
carries its provenance and derivation, so the verifiers can check it; calls that changed the
world before the label's calls are part of the trajectory and described in the question.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections import Counter
from dataclasses import replace
from typing import Any, NamedTuple

from ..adapters import Adapter
from ..adapters.generic import GenericAdapter
from ..adapters.verbs import by_chance, computes, name_words, reads_now, says_it_changes, written_places
from ..ids import canonical_json
from ..jsonvalues import json_document
from ..match import normalize, result_value, tidy_number
from .answers import field_values, record_candidates
from .derive import as_number
from ..explore.executor import TRUNCATION_MARKER
from ..locator import resolve
from .facts import (Cell, Item, Table, basename, day_left_to_clock, dull_reason, echoes_of, generated_id_in, made_up_id,
                    is_bookkeeping, is_dull, is_machine_fact, of_the_day, offsets_change,
                    is_volatile, text_blocks,
                    leaves, pages_of_a_document, plain_text, plural_of, read_call, reads_the_clock, rel,
                    says_it_could_not, singular, undecoded, words_of)
from .model import ACTION, INITIAL_STATE, Candidate, Exploration, Step
from .phrasing import block_scope, declared_defaults, effect, listing, ordinal, tool_sentence, value_shown, quote, scope, without_step_numbers

NAME = "offline-v1"
MAX_TASKS = 20  # per exploration, besides its state changes
MAX_STATE_CHANGES = 4
MAX_ACTIONS = 2  # per exploration, each of a tool no other chosen task of it rests on
MAX_QUESTION = 1500
# a hop may name an item by its place in a listing ("the second table listed in the shop
# database") only in a short listing and near its top: a place a user would count
MAX_ABSENT = 400  # characters of a read's whole result a removal's label may be (it is matched whole)
MAX_PLACED_ITEMS = 5
MAX_PLACE = 3

# -------------------------------------------------------------------------- phrase banks

LOOKUP = [
    "In {scope}, what is the {label} of the {noun} whose {keylabel} is {key}?",
    "Looking at {scope}: what {label} does the {noun} with {keylabel} {key} have?",
    "What is the {label} of the {noun} {key} in {scope}?",
]
# a result that is one value: no "result of the result"; "what are the results of searching ..."
RESULT_SINGLE = ["What {scope_be} {scope}?", "Can you tell me {scope}?"]
VALUE_SINGLE = ["Which {label} does {scope} show?", "What {label} is listed in {scope}?"]  # one bare value under a heading
LOOKUP_SINGLE = [
    "What {be} the {label} of {scope}?",
    "In {scope}, what {be} the {label}?",
]
SPECIAL_LOOKUP = {
    ("commit", "author"): ["Who authored the commit {key} in {scope}?",
                           "In {scope}, who wrote the commit with the message {key}?",
                           "Which person made the commit {key}, according to {scope}?"],
    ("commit", "day"): ["On what date was the commit {key} made, according to {scope}?",
                        "In {scope}, what day is the commit {key} dated?"],
    ("commit", "hash"): ["What is the full hash of the commit {key} in {scope}?",
                         "Give the commit hash of {key} as listed in {scope}."],
    ("entity", "entityType"): ["In {scope}, what type of entity is {key}?",
                               "What is the entity type of {key} in {scope}?"],
    ("entity", "observations"): ["How many observations does {scope} record for {key}?",
                                 "In {scope}, how many observations are attached to {key}?"],
    ("column", "type"): ["In {scope}, what is the declared type of the column {key}?",
                         "What SQL type does the column {key} have in {scope}?"],
    ("entry", "size"): ["How big is {key} according to {scope}?",
                        "What size does {scope} show for {key}?"],
    ("entry", "folder"): ["In {scope}, which folder contains {key}?", "Which folder of {scope} holds {key}?"],
}
SPECIAL_SINGLE = {
    ("commit", "author"): ["Who is the author of {scope}?", "Who made {scope}?"],
    ("commit", "email"): ["What e-mail address does {scope} give for its author?"],
    ("commit", "message"): ["What is the commit message of {scope}?", "What does the message of {scope} say?"],
    ("commit", "day"): ["On what date was {scope} made?"],
    ("file", "size"): ["How large is {scope}, in bytes?", "What is the size in bytes of {scope}?"],
    ("file", "permissions"): ["What permissions does {scope} have?"],
    ("folder", "permissions"): ["What permissions does {scope} have?"],
    ("working tree", "branch"): ["Which branch is checked out in {scope}?", "What branch is {scope} on?"],
    ("file changed", "file"): ["Which file did {scope} change?", "What is the one file touched by {scope}?"],
    ("file that differs", "file"): ["Which file shows up in {scope}?"],
    ("match", "path"): ["Which single path is among {scope}?"],
}
COUNT = [
    "How many {plural} are there in {scope}?",
    "Count the {plural} in {scope}.",
    "What is the number of {plural} in {scope}?",
]
SPECIAL_COUNT = {
    "commit": ["How many commits are listed in {scope}?"],
    "entry": ["How many entries does {scope} contain?", "How many files and folders are listed in {scope}?"],
    "table": ["How many tables does {scope} have?"],
    "column": ["How many columns does {scope} have?"],
    "branch": ["How many branches are listed among {scope}?"],
    "entity": ["How many entities are in {scope}?", "How many entities does {scope} return?"],
    "relation": ["How many relations are in {scope}?"],
    "observation": ["How many observations in total are in {scope}?"],
    "match": ["How many files and folders are among {scope}?"],
}
COUNT_WHERE = [
    "How many {plural} in {scope} have {label} {value}?",
    "In {scope}, how many {plural} have the {label} {value}?",
]
SPECIAL_COUNT_WHERE = {
    ("commit", "author"): ["How many of {scope} were authored by {value}?",
                           "Among {scope}, how many commits did {value} make?"],
    ("entry", "type"): ["How many {value}s are there in {scope}?"],
    ("entity", "entityType"): ["How many entities of type {value} are in {scope}?"],
    ("relation", "relationType"): ["How many {value} relations are in {scope}?"],
}
SET_WHERE = [
    "Which {plural} in {scope} have {label} {value}? Give their {keylabels}.",
    "List the {keylabels} of the {plural} in {scope} whose {label} is {value}.",
]
SPECIAL_SET_WHERE = {
    ("commit", "author"): ["Which commits among {scope} did {value} author? Give their messages."],
    ("entry", "type"): ["Which {value}s are in {scope}? Give their names.",
                        "List the names of the {value}s in {scope}."],
    ("entity", "entityType"): ["Which entities of type {value} are in {scope}? Give their names."],
    ("observation", "entity"): ["What observations does {scope} record for {value}? List them all."],
}
SET_VALUES = [
    "Which {plural} are listed in {scope}?",
    "List every {noun} in {scope}.",
]
SET_ALL = [
    "List the {keylabels} of all {plural} in {scope}.",
    "What are the {keylabels} of the {plural} in {scope}?",
]
SPECIAL_SET_ALL = {
    "table": ["Which tables does {scope} have?", "List the tables of {scope}."],
    "branch": ["Which branches are among {scope}?"],
    "column": ["What are the names of the columns of {scope}?"],
    "file changed": ["Which files were changed in {scope}?", "List the files touched by {scope}."],
    "file that differs": ["Which files show up in {scope}?", "Which files are touched by {scope}?"],
    "match": ["Which paths are among {scope}?"],
}
RELATION_TARGETS = ["Which entities does {value} have a relation to in {scope}?",
                    "In {scope}, which entities is {value} related to?"]
ARG = {
    "argmax": ["Which {noun} in {scope} has the largest {label}? Give its {keylabel}.",
               "In {scope}, what is the {keylabel} of the {noun} with the highest {label}?"],
    "argmin": ["Which {noun} in {scope} has the smallest {label}? Give its {keylabel}.",
               "In {scope}, what is the {keylabel} of the {noun} with the lowest {label}?"],
}
SPECIAL_ARG = {
    ("entry", "size", "argmax"): ["Which is the largest file in {scope}?", "What is the name of the biggest entry in {scope}?"],
    ("entry", "size", "argmin"): ["Which is the smallest file in {scope}?"],
    ("entity", "observations", "argmax"): ["Which entity in {scope} has the most observations?"],
    ("commit", "day", "argmin"): ["What is the message of the oldest commit among {scope}?"],
    ("commit", "day", "argmax"): ["What is the message of the most recent commit among {scope}?"],
}
NUMERIC = {
    "max": ["What is the largest {label} among the {plural} in {scope}?", "In {scope}, what is the maximum {label}?"],
    "min": ["What is the smallest {label} among the {plural} in {scope}?", "In {scope}, what is the minimum {label}?"],
    "sum": ["What is the sum of the {label} over all {plural} in {scope}?", "Add up the {label} of every {noun} in {scope}."],
}
MODE = {
    ("commit", "author"): ["Who authored the most commits among {scope}?", "Which author appears most often in {scope}?"],
}
MODE_GENERIC = ["Which {label} is the most common among the {plural} in {scope}?"]
ORDER = {
    "commit": ["List the messages of {scope} from the oldest to the newest.",
               "Give the commit messages of {scope} in chronological order, oldest first."],
}
STATE = [
    "{effect}.",
    "Please {effect}.",
    "Make this change: {effect}.",
]
EFFECT_RESULT = [
    "{effect}. {question}",
    "Please {effect}. {question}",
]
REPLY_SINGLE = ["What does it give back?", "What result does it report?"]
REPLY_LOOKUP = ["What does the reply give as the {label}?", "What {label} does the reply report?"]
# a field whose label is no noun phrase ("succeeded", "pages processed", "is valid") is asked by its name
VALUE_OF_SINGLE = ["In {scope}, what is the value of \"{label}\"?", "What is the value of \"{label}\" in {scope}?"]
REPLY_VALUE_OF = ["What value does the reply give for \"{label}\"?", "In the reply, what is the value of \"{label}\"?"]
VALUE_OF_LOOKUP = ["In {scope}, what is the value of \"{label}\" for the {noun} whose {keylabel} is {key}?"]
REPLY = "the reply"  # where an effect's own result is read: what its call gives back
ACTIONS = ["{effect}.", "Please {effect}."]
SETUP = [
    "First {setup}. Then answer: {question}",
    "Do this first: {setup}. After that, {lower}",
]

# fields that are not worth asking about
SKIP_FIELDS = {"depth", "current", "pk", "notnull", "hash"}
POSITIONS = frozenset({"row", "col", "column", "index", "line", "position", "pos", "page", "offset", "x", "y", "z",
                       "left", "top", "right", "bottom", "start", "end"})
KIND_WORDS = {"DIR": "folder", "directory": "folder", "FILE": "file", "file": "file"}


# nouns that end as a participle does
_ED_NOUNS = frozenset({"speed", "seed", "need", "feed", "bed", "red", "hundred", "shed", "reed", "breed", "embed", "bred",
                       "id", "sled", "steed", "weed", "creed", "deed", "greed", "bleed", "led", "ted", "med", "fed"})
_PREPOSITIONS = frozenset({"to", "of", "for", "by", "with", "in", "on", "at", "from", "into", "per", "than"})
_PREDICATE_LEADS = frozenset({"is", "has", "was", "can", "should", "did", "does", "are", "were", "have", "will", "had"})


def noun_like(label: str) -> bool:
    """Whether a field's label reads as a noun phrase ("output size", "rows affected"), so a
    question can say "the {label}"; a lone participle or a predicate ("succeeded", "is
    valid") or a label without a word ("?") cannot."""
    words = re.findall(r"[A-Za-z]+", label)
    if not words or label.startswith('"'):  # a header that asks a question ('"what is in it" field')
        return False
    if words[0].lower() in _PREDICATE_LEADS and len(words) > 1 or words[-1].lower() in _PREPOSITIONS:
        return False  # "is valid", "applies to"
    last = words[-1].lower()  # "rows affected", "pseudo r squared" are nouns a participle follows; "succeeded" is none
    return not (len(words) == 1 and last.endswith("ed") and len(last) > 3 and last not in _ED_NOUNS)


def asked_name(label: str) -> str:
    """The name a question quotes for a field asked by its name: a header that asks a question
    without the '"..." field' around it (``"what is in it" field`` -> ``what is in it``)."""
    m = re.fullmatch(r'"(.+)" (?:field|entry)', label)
    return m.group(1) if m else label


# a list of some of the things: its length is the size it was cut to, not a count of the world
_SHOWN_ONLY = frozenset({"preview", "sample", "head", "excerpt", "snippet"})


def _pick(rng: random.Random, options: list[str]) -> str:
    return options[rng.randrange(len(options))]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _short(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and 0 < len(value) <= 100 and "\n" not in value


def _match_for(answer: Any, *, ordered: bool = False) -> dict[str, Any]:
    if isinstance(answer, list):
        return {"rule": "normalized"} if ordered else {"rule": "set"}
    if isinstance(answer, str) and _DECIMAL.fullmatch(answer.strip()):
        answer = float(answer)  # a number the tool wrote as text ("10.0"): 10 is as right
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        if isinstance(answer, float) and not answer.is_integer():
            decimals = len(repr(answer).split(".")[1]) if "." in repr(answer) else 0
            return {"rule": "number", "tolerance": 0.005 if decimals > 2 else 1e-6}
        return {"rule": "number", "tolerance": 1e-6}
    return {"rule": "normalized"}


_DECIMAL = re.compile(r"-?\d+\.\d+")


def _entry(step: int, cell: Cell, role: str, **extra: Any) -> dict[str, Any]:
    return {"step": step, "path": cell.path, "value": cell.value, "role": role, **extra}


def _same_place(a: str, b: str) -> bool:
    def norm(p: str) -> str:
        return p.replace("$.structured_content.content#", "$.content[0].text#")

    return norm(a) == norm(b)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in leaves(value) if isinstance(v, (str, int, float)) and not isinstance(v, bool)]


def result_text(content: Any, structured: Any) -> str:
    """Every string of a result, normalized, in one text (for "is this value visible")."""
    return normalize(" | ".join(_strings([content, structured])))


def _text_of(step: Step) -> str:
    return result_text(step.content, step.structured)


# -------------------------------------------------------------------------- the synthesizer


class OfflineSynthesizer:
    """Template questions over recorded facts. ``max_tasks``: tasks kept per exploration."""

    name = NAME

    def __init__(self, *, max_tasks: int = MAX_TASKS, seed: int = 0):
        self.max_tasks = max_tasks
        self.seed = seed
        self.needs: Any = None
        self.variants: dict[tuple[str, str, str, str], list[tuple[Any, Any]]] = {}
        self.said: dict[tuple[str, str], list[tuple[frozenset[str], Any, Any, str]]] = {}
        self.probed: set[tuple[str, str]] = set()  # tools whose effects a read of the run observed
        self._ids: tuple[str, dict[int, dict[str, int]]] | None = None  # an exploration's made_ids

    def tasks_for(self, store: Any, x: Exploration, context: dict[str, Any]) -> tuple[list[Candidate], Counter, list[Any]]:
        self.needs = context.get("needs")  # which setup calls a label needs (the simulator decides)
        self.variants = context.get("variants") or {}
        self.said = context.get("said") or {}
        self.probed = context.get("probed") or set()
        found, skipped = self.candidates(x, context.get("initial_results"))
        chosen = self.pick(x, found)
        skipped["_candidates"] = len(found)
        return chosen, skipped, []

    def candidates(self, x: Exploration, initial_results: dict[tuple[str, str, str], InitialRead] | None = None
                   ) -> tuple[list[Candidate], Counter]:
        """Every candidate task of an exploration, and counts of what was skipped and why."""
        skipped: Counter = Counter()
        out: list[Candidate] = []
        readings = {s.step: read_call(s.step, s.server, s.tool, s.arguments, s.content, s.structured,
                                         x.adapter(s.server), x.ref(s.server, s.tool))
                    for s in x.steps if s.ok and x.answers(s)}
        steps = x.by_step()
        for s in x.steps:
            if not s.ok:
                skipped["call failed"] += 1
                continue
            if s.step not in readings:
                continue
            tables = readings[s.step].tables
            if not tables:
                skipped["no facts in the result"] += 1
                continue
            fed = [src for src in s.sources if src.get("step") in readings]
            if fed:
                out.extend(self._multi_hop(x, s, fed, steps, readings, skipped))
            if not fed or all(not str(src.get("argument", "")).strip("/") for src in fed):
                out.extend(self._single(x, s, tables, skipped))
            else:
                # the call's own arguments are literal in its scope: also a plain question
                out.extend(self._single(x, s, tables, skipped))
        changes = self._state_changes(x, steps, skipped, initial_results or {})
        out.extend(changes)
        out.extend(self._removals(x, skipped, {c.extra["effect_step"] for c in changes}, initial_results or {}))
        out.extend(self._effect_results(x, skipped))
        out.extend(self._readings(x, skipped))
        final = []
        for c in out:
            done = self._with_setup(x, c, skipped)
            if done is not None and _made_by_a_change(x, done, initial_results or {}):
                skipped["answer a change of the run made up"] += 1  # a new commit's hash: another run, another
                continue
            if done is not None and _self_contained(done, skipped):
                final.append(done)
        for c in self._actions(x, skipped, final):
            done = self._finish(c, skipped)
            if done is not None and _self_contained(done, skipped):
                final.append(done)
        return final, skipped

    def pick(self, x: Exploration, candidates: list[Candidate]) -> list[Candidate]:
        """A varied handful: every state change (up to a few), then the other kinds in turn,
        one template at a time, seeded per exploration."""
        rng = random.Random(f"{self.seed}:{x.exploration_id}:pick")
        unique: dict[str, Candidate] = {}
        for c in candidates:
            unique.setdefault(c.signature(), c)
        pool = list(unique.values())
        rng.shuffle(pool)
        pool.sort(key=lambda c: -c.score)
        by_kind: dict[str, list[Candidate]] = {}
        for c in pool:
            by_kind.setdefault(c.kind, []).append(c)
        chosen: list[Candidate] = by_kind.pop("state-change", [])[:MAX_STATE_CHANGES]
        order = ["multi-hop", "aggregate", "lookup"]
        steps = x.by_step()

        def tools_of(c: Candidate) -> set[tuple[str, str]]:
            return {(steps[k].server, steps[k].tool) for k in c.label_steps if k in steps}

        used_tools: Counter = Counter(t for c in chosen for t in tools_of(c))
        used_templates: Counter = Counter()
        used_answers: set[str] = set()
        others: list[Candidate] = []
        while len(others) < self.max_tasks and any(by_kind.get(k) for k in order):
            for kind in order:
                queue = by_kind.get(kind) or []
                if not queue or len(others) >= self.max_tasks:
                    continue
                # a tool no chosen task asks about yet first: every tool that gave a fact gets a task
                best = min(range(len(queue)), key=lambda i: (min((used_tools[t] for t in tools_of(queue[i])), default=0) > 0,
                                                             used_templates[queue[i].template],
                                                             canonical_json(queue[i].answer) in used_answers, i))
                c = queue.pop(best)
                others.append(c)
                used_tools.update(tools_of(c))
                used_templates[c.template] += 1
                used_answers.add(canonical_json(c.answer))
        chosen += others
        # an action only for a tool no chosen task rests on: the call is its only check
        for c in by_kind.get(ACTION, []):
            if sum(1 for k in chosen if k.kind == ACTION) >= MAX_ACTIONS:
                break
            if not tools_of(c) & {t for k in chosen for t in tools_of(k)}:
                chosen.append(c)
        return chosen

    # -- single-call questions -------------------------------------------------------------

    def _rng(self, x: Exploration, *parts: Any) -> random.Random:
        return random.Random(f"{self.seed}:{x.exploration_id}:" + ":".join(map(str, parts)))

    def _single(self, x: Exploration, s: Step, tables: list[Table], skipped: Counter,
                where: str | None = None, kind: str | None = None, via: list[dict[str, Any]] | None = None,
                forbidden: str = "", label_steps: set[int] | None = None) -> list[Candidate]:
        block = ""
        if where is None:
            where = scope(s.tool, s.server, s.arguments, adapter=x.adapter(s.server), ref=x.ref(s.server, s.tool))
            if where is None and kind is None and not _cut_short(s):
                where, block = block_scope(s.tool, s.server, s.arguments, x.adapter(s.server),
                                           x.ref(s.server, s.tool)) or (None, "")
        if where is None:
            skipped["no words for the call"] += 1
            return []
        if reads_the_clock(s.arguments, x.ref(s.server, s.tool)):
            skipped["a date or time left to the clock"] += 1
            return []
        dayless = day_left_to_clock(s.arguments)  # "08:15" converted on the day the call ran
        if dayless and offsets_change(s.arguments):
            skipped["a time of day in a zone with summer time"] += 1  # another season, another answer
            return []
        # a part of what there is (head/tail, or a result the recorder cut): nothing in it is counted
        truncated = isinstance(s.arguments.get("head"), int) or isinstance(s.arguments.get("tail"), int) or _cut_short(s)
        out: list[Candidate] = []
        for t in tables:
            t = _one_record(t, f"{s.tool} {getattr(x.ref(s.server, s.tool), 'title', None) or ''}")
            if kind is not None and t.where:
                continue  # a table that names its own place: no hop leads to it
            t = _steady(t, self.variants.get((s.server, s.tool, s.arguments_hash, s.state), []))
            if not t.items:
                skipped["only volatile values"] += 1
                continue
            t = _not_said_anyway(t, self.said.get((s.server, s.tool), []))
            if not t.items:
                skipped["only what the tool says whatever it is given"] += 1
                continue
            if any(is_machine_fact(f, c.path, c.value) for it in t.items for f, c in it.cells.items()):
                skipped["a fact of the run's machine"] += 1  # a shell's OSTYPE, an environment dump: never asked
                items = [dataclasses.replace(it, cells={f: c for f, c in it.cells.items() if not is_machine_fact(f, c.path, c.value)})
                         for it in t.items]
                t = dataclasses.replace(t, items=[it for it in items if it.cells])
                if not t.items:
                    continue
            if dayless:  # the weekday and the date are the clock's
                t = dataclasses.replace(t, items=[it for it in (dataclasses.replace(
                    it, cells={f: c for f, c in it.cells.items() if not of_the_day(f, c.value)}) for it in t.items)
                    if it.cells])
                if not t.items:
                    continue
            if truncated:
                t.complete = False
            for c in self._table_questions(x, s, t, t.where or where, skipped):
                if kind is not None:
                    c.kind = kind
                    c.template = "hop:" + c.template
                    c.hops = 2
                if via:
                    c.provenance = via + c.provenance
                if label_steps:
                    c.label_steps = set(label_steps)
                if forbidden and _leaks_into(c.answer, forbidden):
                    skipped["answer visible before the hop"] += 1
                    continue
                if block:  # the text the call was given, after the question (an answer in it is no answer: _finish)
                    c.question = f"{c.question}\n\n{block}"
                out.append(c)
        return out

    def _table_questions(self, x: Exploration, s: Step, t: Table, where: str,
                         skipped: Counter | None = None) -> list[Candidate]:
        """The questions one table answers; each fact left unasked counts its reason in ``skipped``."""
        out: list[Candidate] = []
        skipped = Counter() if skipped is None else skipped
        step = s.step
        items = [it for it in t.items if it.cells]
        noun = t.noun
        if _given_list(items, s.arguments):
            skipped["fact: a list the call was given"] += 1  # "inputs": ["3.0", "4.0"] of numbers [3, 4]
            return []
        echoes = echoes_of(s.arguments, x.ref(s.server, s.tool))
        tool_said = _tool_words(s.tool, x.ref(s.server, s.tool))
        if len(items) == 1 and (t.key not in items[0].cells or len(t.items) == 1):
            it = items[0]
            for f, cell in it.cells.items():
                why = _unasked_single(noun, f, cell.value, it.cells, echoes, tool_said)
                if why:
                    skipped[f"fact: {why}"] += 1
                    continue
                rng = self._rng(x, step, noun, f, "single")
                one_value = f in ("result", "value", "output") and (len(it.cells) == 1 or where.startswith(
                    ("the result of ", "the results of ")))
                label = t.label(f)
                if isinstance(cell.value, int) and not isinstance(cell.value, bool) and _counted(label):
                    label = f"number of {label}"  # "notes checked: 2" -> "the number of notes checked"
                if not re.search(r"[A-Za-z]", label):
                    skipped["fact: a field without words"] += 1
                    continue  # a field named "?" or "#": no words to ask for it
                nounish = noun_like(label) and not _proper_label(f)
                label = f if _proper_label(f) else label if nounish else asked_name(label)
                options = SPECIAL_SINGLE.get((noun, f)) or (
                    VALUE_SINGLE if f == "value" and t.key == "value" else
                    (REPLY_SINGLE if where == REPLY else RESULT_SINGLE) if one_value else
                    (REPLY_LOOKUP if nounish else REPLY_VALUE_OF) if where == REPLY else
                    LOOKUP_SINGLE if nounish else VALUE_OF_SINGLE)
                q = _pick(rng, options).format(label=label, scope=where, be=_verb_for(label),
                                               scope_be="are" if where.startswith("the results of ") else "is")
                out.append(Candidate("lookup", f"single:{noun}:{f}", _cap(q), cell.value, _match_for(cell.value),
                                     {step}, [_entry(step, cell, "answer")], {"op": "value"}))
            return out + self._records(x, s, t, items, where)
        key = t.key
        keyed = [it for it in items if _short(it.get(key))]
        if len(keyed) < len(items):
            skipped["fact: an item without a short key"] += len(items) - len(keyed)
        key_counts = Counter(canonical_json(it.get(key)) for it in keyed)
        # lookups: a field of the item named by its key
        for it in keyed:
            if key_counts[canonical_json(it.get(key))] != 1:
                skipped["fact: an item whose key is not unique"] += 1
                continue
            for f, cell in it.cells.items():
                if (noun, f) == ("entry", "type") or f == key:
                    continue
                why = "a field not asked" if f in SKIP_FIELDS and (noun, f) not in SPECIAL_LOOKUP else \
                    "a long or boolean value" if not _short(cell.value) else dull_reason(f, cell.value, echoes)
                if not why and (canonical_json(cell.value) == canonical_json(it.get(key)) or _placed_by_key(f, it.get(key))):
                    why = "the key gives it away"
                if why:
                    skipped[f"fact: {why}"] += 1
                    continue
                rng = self._rng(x, step, noun, f, it.index)
                named = noun_like(t.label(f))
                options = SPECIAL_LOOKUP.get((noun, f)) or (LOOKUP if named else VALUE_OF_LOOKUP)
                keyed_by = it.get(key)
                if isinstance(keyed_by, (int, float)) and not isinstance(keyed_by, bool):
                    # a number names no item ("the corner 201.0"): the item whose x is 201.0
                    options = [o for o in options if "{keylabel}" in o] or options
                    key_words = tidy_number(keyed_by)
                else:
                    key_words = quote(keyed_by)
                q = _pick(rng, options).format(label=t.label(f) if named else asked_name(t.label(f)), noun=noun,
                                               keylabel=t.label(key), key=key_words, scope=where)
                out.append(Candidate("lookup", f"lookup:{noun}:{f}", _cap(q), cell.value, _match_for(cell.value), {step},
                                     [_entry(step, cell, "answer"), _entry(step, it.cells[key], "key")], {"op": "value"},
                                     score=0.8))
        out.extend(self._records(x, s, t, items, where))
        out.extend(self._aggregates(x, s, t, items, where))
        if key == "value" and keyed and all(isinstance(it.get(key), (int, float)) for it in keyed):
            skipped["fact: a list of bare numbers"] += len(keyed)  # no count or set of them (_aggregates)
        return out

    def _records(self, x: Exploration, s: Step, t: Table, items: list[Item], where: str) -> list[Candidate]:
        """Answers with fields: several named values of one record (firefly.synth.answers)."""
        echoes = echoes_of(s.arguments, x.ref(s.server, s.tool))
        named = _tool_words(s.tool, x.ref(s.server, s.tool))
        return record_candidates(s.step, t, items, where, self._rng(x, s.step, t.noun, "fields"), skip=_not_asked,
                                 short=_short, match_for=_match_for, leaks=_leaks_into,
                                 dull=lambda f, v, whole: is_dull(f, v, echoes, whole, tool=named))

    def _aggregates(self, x: Exploration, s: Step, t: Table, items: list[Item], where: str) -> list[Candidate]:
        out: list[Candidate] = []
        step, noun, plural, key = s.step, t.noun, t.plural, t.key
        complete = t.complete and (t.total is None or t.total == len(items))
        keyed = [it for it in items if _short(it.get(key))]
        echoes = echoes_of(s.arguments, x.ref(s.server, s.tool))
        if keyed and all(is_dull(key, it.get(key), echoes, any_name=True) for it in keyed):
            return out  # the items are the call's own arguments given back (or made-up ids): nothing found
        # a list of bare numbers (coefficients, p values): its length and its members are no answer
        numbers = key == "value" and all(isinstance(it.get(key), (int, float)) for it in keyed)
        rng = self._rng(x, step, noun, "agg")
        fmt = {"noun": noun, "plural": plural, "keylabel": t.label(key), "keylabels": plural_of(t.label(key)), "scope": where}
        # count; not of a preview or a sample: how many it shows is how many it was cut to
        shown = bool(set(noun.split()) & _SHOWN_ONLY)
        if complete and len(keyed) >= 2 and len(keyed) == len(items) and not numbers and not shown:
            q = _pick(rng, SPECIAL_COUNT.get(noun, []) + COUNT).format(**fmt)
            out.append(Candidate("aggregate", f"count:{noun}", _cap(q), len(keyed), _match_for(len(keyed)), {step},
                                 [_entry(step, it.cells[key], "item") for it in keyed], {"op": "count"}))
        # set of every key
        if complete and 2 <= len(keyed) <= 8 and len(keyed) == len(items) and not numbers:
            values = [it.get(key) for it in keyed]
            if len({canonical_json(v) for v in values}) == len(values):
                options = SPECIAL_SET_ALL.get(noun, []) + (SET_VALUES if key == "value" else SET_ALL)
                q = _pick(rng, options).format(**fmt)
                out.append(Candidate("aggregate", f"set:{noun}", _cap(q), values, _match_for(values), {step},
                                     [_entry(step, it.cells[key], "item") for it in keyed], {"op": "set"}))
        # order (commits)
        if noun in ORDER and 2 <= len(keyed) <= 6:
            values = [it.get(key) for it in reversed(keyed)]
            q = _pick(rng, ORDER[noun]).format(**fmt)
            out.append(Candidate("aggregate", f"order:{noun}", _cap(q), values, _match_for(values, ordered=True), {step},
                                 [_entry(step, it.cells[key], "item") for it in reversed(keyed)], {"op": "order"}))
        fields = sorted({f for it in items for f in it.cells if f != key and f not in SKIP_FIELDS})
        for f in fields:
            with_f = [it for it in keyed if f in it.cells]
            values = [it.get(f) for it in with_f]
            if values and all(is_dull(f, v, echoes) for v in values):
                continue
            numeric = f in t.numeric or all(as_number(v) is not None and not isinstance(v, str) for v in values) and values
            label = t.label(f)
            fmt_f = dict(fmt, label=label)
            if numeric and complete and len(with_f) >= 3 and len(with_f) == len(items):
                numbers = [as_number(v) for v in values]
                # an identifier is no quantity: its largest or smallest names no item, its sum means nothing
                ident = "id" in words_of(f.split("#")[0]).split() or f.lower().endswith("id")
                # a position (row 3, column 2, x 40) is no quantity: its sum or smallest says nothing
                place = set(words_of(f.split("#")[0]).split()[-1:]) <= POSITIONS
                for op in () if ident or f == key else ("argmax", "argmin"):
                    target = max(numbers) if op == "argmax" else min(numbers)
                    winners = [i for i, n in enumerate(numbers) if n == target]
                    if len(winners) != 1:
                        continue
                    win = with_f[winners[0]]
                    q = _pick(rng, SPECIAL_ARG.get((noun, f, op), []) + ARG[op]).format(**fmt_f)
                    prov = []
                    for i, it in enumerate(with_f):
                        prov.append(_entry(step, it.cells[f], "item", index=i))
                        prov.append(_entry(step, it.cells[key], "name", index=i))
                    out.append(Candidate("aggregate", f"{op}:{noun}:{f}", _cap(q), win.get(key),
                                         _match_for(win.get(key)), {step}, prov, {"op": op}))
                if all(isinstance(v, (int, float)) for v in values):
                    # a sum of counts of lists (the required arguments of every action) means nothing
                    for op in ("max",) if place else ("max", "min") if ident or f.endswith("#count") else (
                            "max", "min", "sum"):
                        answer = {"max": max, "min": min, "sum": sum}[op](values)
                        if isinstance(answer, float):
                            answer = round(answer, 9)
                            answer = int(answer) if answer.is_integer() else answer
                        q = _pick(rng, NUMERIC[op]).format(**fmt_f)
                        out.append(Candidate("aggregate", f"{op}:{noun}:{f}", _cap(q), answer, _match_for(answer), {step},
                                             [_entry(step, it.cells[f], "item") for it in with_f], {"op": op}))
                continue
            if numeric or not all(_short(v) for v in values) or len(with_f) < 2:
                continue
            counts = Counter(canonical_json(v) for v in values)
            if len(counts) < 2 and not (noun == "entry" and f == "type"):
                continue
            if len(counts) > 8 or len(counts) == len(values):
                continue  # a field no two items share (an id): "how many have the id X" is 1 every time
            # most common value
            ranked = counts.most_common()
            if complete and len(with_f) >= 4 and ranked[0][1] >= 2 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]) \
                    and f != "type":
                winner = next(v for v in values if canonical_json(v) == ranked[0][0])
                options = MODE.get((noun, f)) or MODE_GENERIC
                q = _pick(rng, options).format(**fmt_f)
                out.append(Candidate("aggregate", f"mode:{noun}:{f}", _cap(q), winner, _match_for(winner), {step},
                                     [_entry(step, it.cells[f], "item") for it in with_f], {"op": "mode"}))
            for value_json, n in sorted(counts.items()):
                value = next(v for v in values if canonical_json(v) == value_json)
                hits = [it for it in with_f if canonical_json(it.get(f)) == value_json]
                sub = self._rng(x, step, noun, f, value_json)
                kind_word = noun == "entry" and f == "type"
                if kind_word and value not in KIND_WORDS:
                    continue
                fmt_v = dict(fmt_f, value=KIND_WORDS[value] if kind_word else quote(value))
                if complete:
                    q = _pick(sub, SPECIAL_COUNT_WHERE.get((noun, f), []) + COUNT_WHERE).format(**fmt_v)
                    out.append(Candidate("aggregate", f"count-where:{noun}:{f}", _cap(q), n, _match_for(n), {step},
                                         [_entry(step, it.cells[f], "item") for it in hits], {"op": "count"}))
                    if 2 <= n <= 6:
                        answers = [it.get(key) for it in hits]
                        if len({canonical_json(a) for a in answers}) == n:
                            q = _pick(sub, SPECIAL_SET_WHERE.get((noun, f), []) + SET_WHERE).format(**fmt_v)
                            prov = [_entry(step, it.cells[key], "item") for it in hits]
                            prov += [_entry(step, it.cells[f], "filter") for it in hits]
                            out.append(Candidate("aggregate", f"set-where:{noun}:{f}", _cap(q), answers,
                                                 _match_for(answers), {step}, prov, {"op": "set"}))
        # relations: the targets of one entity
        if noun == "relation":
            by_from: dict[str, list[Item]] = {}
            for it in items:
                by_from.setdefault(str(it.get("from")), []).append(it)
            for src, rels in by_from.items():
                targets = [it.get("to") for it in rels]
                if complete and 2 <= len(targets) <= 6 and len(set(targets)) == len(targets):
                    q = _pick(self._rng(x, step, "rel", src), RELATION_TARGETS).format(
                        scope=where, value=quote(src))
                    prov = [_entry(step, it.cells["to"], "item") for it in rels]
                    prov += [_entry(step, it.cells["from"], "filter") for it in rels]
                    out.append(Candidate("aggregate", "set-where:relation:from", _cap(q), targets, _match_for(targets),
                                         {step}, prov, {"op": "set"}))
        return out

    # -- multi-hop ----------------------------------------------------------------------------

    def _multi_hop(self, x: Exploration, s: Step, fed: list[dict[str, Any]], steps: dict[int, Step],
                   readings: dict[int, Any], skipped: Counter) -> list[Candidate]:
        subst: dict[str, str] = {}
        via: list[dict[str, Any]] = []
        label_steps = {s.step}
        forbidden = ""
        if len({str(src.get("argument", "")) for src in fed}) > 1:
            skipped["hop with several fed arguments"] += 1  # one description per hop, never a list of them
            return []
        for src in fed:
            a = steps[src["step"]]
            pointer = str(src.get("argument", "")).strip("/")
            name = pointer.split("/")[0]
            if src.get("value") in list(leaves(a.arguments)):
                # the source call was given the value and gave it back ("the template path given by the
                # information about the template file for template path X"): no hop, the value is X
                skipped["hop through a value its source was given"] += 1
                return []
            found = self._describe(x, a, readings[a.step].tables, src)
            if found is None:
                skipped["hop value not describable"] += 1
                return []
            phrase, prov = found
            subst[pointer if "/" in pointer else name] = phrase
            via.extend(prov)
            label_steps.add(a.step)
            forbidden += " " + _text_of(a)
        where = scope(s.tool, s.server, s.arguments, subst, x.adapter(s.server), x.ref(s.server, s.tool))
        if where is None or not all(phrase in where for phrase in subst.values()):
            skipped["hop not phrased"] += 1
            return []
        tables = read_call(s.step, s.server, s.tool, s.arguments, s.content, s.structured, x.adapter(s.server),
                           x.ref(s.server, s.tool)).tables
        return self._single(x, s, tables, skipped, where=where, kind="multi-hop", via=via, forbidden=forbidden,
                            label_steps=label_steps)

    def _describe(self, x: Exploration, a: Step, tables: list[Table], src: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
        """Words for the item of step ``a``'s result that a value came from."""
        where = scope(a.tool, a.server, a.arguments, adapter=x.adapter(a.server), ref=x.ref(a.server, a.tool))
        if where is None:
            return None
        for t in tables:
            for it in t.items:
                hit = next((f for f, c in it.cells.items() if _same_place(c.path, str(src.get("path")))), None)
                if hit is None:
                    continue
                fed_cell = it.cells[hit]

                def of(item: str) -> str:  # the value fed is one field of the item, not the item
                    return item if hit == t.key or len(it.cells) == 1 else f"the {t.label(hit)} of {item}"
                fed_value = src.get("value")
                if not (canonical_json(fed_value) == canonical_json(fed_cell.value) or (
                        isinstance(fed_value, str) and isinstance(fed_cell.value, str)
                        and fed_value.endswith("/" + fed_cell.value.lstrip("/")))):
                    return None  # the argument was made from the value, not the value itself
                if len(t.items) == 1 and hit != t.key:  # the one record of a reply: named by the call, not by a field
                    return f"the {t.label(hit)} given by {where}", [_entry(a.step, it.cells[hit], "via")]
                for f in [t.key] + [f for f in it.cells if f != t.key]:
                    cell = it.cells.get(f)
                    if f == hit or cell is None or not isinstance(cell.value, str) or not _short(cell.value):
                        continue
                    if cell.path == fed_cell.path and f != t.key:
                        continue
                    if sum(1 for other in t.items if other.get(f) == cell.value) != 1:
                        continue
                    phrase = f"the {t.noun} whose {t.label(f)} is {quote(cell.value)} in {where}"
                    return of(phrase), [_entry(a.step, cell, "key"), _entry(a.step, fed_cell, "via")]
                if len(t.items) > 1:
                    if len(t.items) > MAX_PLACED_ITEMS or it.index >= MAX_PLACE:
                        return None  # "the 23rd entry listed in the whole tree": no one counts that far
                    phrase = f"the {ordinal(it.index)} {t.noun} listed in {where}"
                else:
                    phrase = f"the {t.noun} shown by {where}"
                return of(phrase), [_entry(a.step, fed_cell, "via")]
        return None

    # -- state changes ------------------------------------------------------------------------

    def _state_changes(self, x: Exploration, steps: dict[int, Step], skipped: Counter,
                       initial_results: dict[tuple[str, str, str], InitialRead]) -> list[Candidate]:
        out: list[Candidate] = []
        for e in x.steps:
            if not e.effectful:
                continue
            before = " ".join(_text_of(s) for s in x.steps if s.step < e.step and s.ok)
            ref = x.ref(e.server, e.tool)
            marks = _distinctive(e, x.adapter(e.server), getattr(ref, "input_schema", None))
            later = [r for r in x.steps if r.step > e.step and r.ok and r.read_only and r.server == e.server]
            later.sort(key=lambda r: (r.probe_of != e.step, r.step))
            for r in later:
                first = initial_results.get((r.server, r.tool, r.arguments_hash))
                baseline = first.text if first else ""
                seen = _text_of(r)
                # a place the probe was given to write to it says back whatever the world holds
                # (find_contours saving an annotated image to the path the change wrote): no sign
                probe_ref = x.ref(r.server, r.tool)
                own = normalize(" | ".join(written_places(r.tool, getattr(probe_ref, "input_schema", None), r.arguments)
                                           or []))
                shown = [m for m in marks if _word_in(m, seen) and not _word_in(m, before) and not _word_in(m, baseline)
                         and not (own and _word_in(m, own))]
                if _item_unshown(e, seen, f"{before} {baseline}"):
                    skipped["a change the probe does not show"] += 1  # two observations added, one checked
                    continue
                expected = _expected(r, shown, e) if shown else None
                if shown and _probe_says_back(r, shown):
                    # the probe was asked about the place the change made (image_info of the
                    # output): the place says only that something is there; what it read there,
                    # the record's other fields, says what it is (an image of 1 x 1 pixels)
                    expected = _record_of(result_value(r.content, r.structured), shown[0]) or expected
                if expected is None:  # no value the effect stated: what its probe before and after differ in
                    expected = _changed_since(x, e, r, initial_results)
                if expected is None:
                    continue
                probe = {"server": r.server, "tool": r.tool, "arguments": r.arguments, "expected": expected}
                rng = self._rng(x, "state", e.step, r.step)
                does = effect(e.tool, e.server, e.arguments, x.adapter(e.server), x.ref(e.server, e.tool))
                if does is None:
                    skipped["effect not describable"] += 1
                    break
                q = _cap(_pick(rng, STATE).format(effect=does))
                label = set(s.step for s in x.steps if s.effectful and s.step < r.step)
                prov = [{"step": r.step, "path": "$", "value": expected, "role": "probe"}]
                out.append(Candidate("state-change", f"state:{e.tool}", q, expected, {"rule": "json-subset"}, {e.step},
                                     prov, {"op": "probe"}, hops=1, probe=probe, trajectory_steps=label, score=1.2,
                                     extra={"effect_step": e.step, "probe_step": r.step}))
                break
        return out

    def _removals(self, x: Exploration, skipped: Counter, asked: set[int],
                  initial_results: dict[tuple[str, str, str], InitialRead] | None = None) -> list[Candidate]:
        """State changes that take something away (``Delete the element ...``; ``asked``: the
        effects a state change already asks about): a read made just before the effect and
        again just after it, with no other change of its server between, shows records, keys
        or lines before that are gone after, and nothing new (:func:`_only_removed`). No value
        the effect stated shows that; the label is the read's whole result after, matched
        exactly: it shows the thing absent, and the read before showed it present (verify's
        fails-before replays it there). A result too long to match whole
        (:data:`MAX_ABSENT`) or holding a run-dependent value (a time, a temporary path) asks
        nothing."""
        out: list[Candidate] = []
        for e in x.steps:
            if not e.effectful or e.step in asked or x.answers(e):
                continue
            pair = _read_around(x, e, initial_results or {})
            if pair is None:
                continue
            before, r = pair
            after = result_value(r.content, r.structured)
            if not _only_removed(before, after):
                continue
            if len(canonical_json(after)) > MAX_ABSENT or any(is_volatile("", v) for v in leaves(after)):
                skipped["removal shown by a result too long or run-dependent"] += 1
                continue
            does = effect(e.tool, e.server, e.arguments, x.adapter(e.server), x.ref(e.server, e.tool))
            if does is None:
                skipped["effect not describable"] += 1
                continue
            q = _cap(_pick(self._rng(x, "removal", e.step, r.step), STATE).format(effect=does))
            probe = {"server": r.server, "tool": r.tool, "arguments": r.arguments, "expected": after}
            label = set(s.step for s in x.steps if s.effectful and s.step < r.step)
            prov = [{"step": r.step, "path": "$", "value": after, "role": "probe"}]
            out.append(Candidate("state-change", f"state:{e.tool}", q, after, {"rule": "exact"}, {e.step}, prov,
                                 {"op": "probe"}, hops=1, probe=probe, trajectory_steps=label, score=1.2,
                                 extra={"effect_step": e.step, "probe_step": r.step, "absent": True}))
        return out

    # -- readings of the clock and of chance -------------------------------------------------

    def _readings(self, x: Exploration, skipped: Counter) -> list[Candidate]:
        """Questions about what a tool that tells the time now (:func:`reads_now`) or draws
        by chance (:func:`by_chance`: a die, a random password) returned. Another call gives
        another answer, so the label is bound to the call: ``match["returned"]`` names the
        tool, its arguments and the locator of the value, and an environment scores the
        answer against what the episode's own call of that tool returned
        (:func:`firefly.env.expected`); the recorded value is the label where no episode is
        at hand (the simulator gives a fresh episode that very value, so replay checks it).

        Only a call made before any change of its server (the task is that one call, in the
        world as it starts), by a tool nothing says changes the world, and only the values
        that move: a value of the wall clock, one two same calls answered differently, or,
        of a chance tool, any value that is not the clock's (a roll's time-stamp), an echo
        of the arguments, a status or an id; one value a task (no fields, no counts)."""
        out: list[Candidate] = []
        for s in x.steps:
            if not s.ok or s.probe_of is not None:
                continue
            ref = x.ref(s.server, s.tool)
            desc = getattr(ref, "description", None)
            clock = reads_now(s.tool, desc)
            # chance in what the tool is (its name, its first sentence), not in an example of its
            # description ("Random Thoughts/Old Idea.md" in a sample reply of a note finder)
            if not clock and not by_chance(s.tool, tool_sentence(s.tool, ref), s.arguments):
                continue
            if says_it_changes(s.tool, getattr(ref, "annotations", None), desc):
                skipped["reading: the tool changes the world"] += 1
                continue
            if any(e.effectful and e.server == s.server and e.step < s.step for e in x.steps):
                skipped["reading: after a change"] += 1
                continue
            where = scope(s.tool, s.server, s.arguments, adapter=x.adapter(s.server), ref=ref)
            if where is None:
                where, _ = block_scope(s.tool, s.server, s.arguments, x.adapter(s.server), ref) or (None, "")
            if where is None:
                skipped["reading: no words for the call"] += 1
                continue
            variants = self.variants.get((s.server, s.tool, s.arguments_hash, s.state), [])

            def moves(f: str, cell: Cell) -> bool:
                if len({canonical_json(resolve(c, st, cell.path)) for c, st in variants}) > 1:
                    return True
                if clock:  # the time, the date, the weekday of now
                    return is_volatile(f, cell.value) or of_the_day(f, cell.value)
                return not is_volatile(f, cell.value)

            # an adapter that reads no fact of the clock (a time server's current time) leaves it
            # to the generic reader here: the reading is bound to the call, no fact of the world
            tables = read_call(s.step, s.server, s.tool, s.arguments, s.content, s.structured, x.adapter(s.server),
                               ref).tables or read_call(s.step, s.server, s.tool, s.arguments, s.content,
                                                         s.structured, GenericAdapter(), ref).tables
            for t in tables:
                t = _without_fields(t, {f for it in t.items for f, c in it.cells.items() if not moves(f, c)})
                if not t.items:
                    continue
                for c in self._table_questions(x, s, t, t.where or where, skipped):
                    paths = [p.get("path") for p in c.provenance]
                    if c.kind != "lookup" or c.match.get("rule") == "fields" or len(paths) != 1 or not paths[0]:
                        continue
                    if normalize(resolve(s.content, s.structured, paths[0])) != normalize(c.answer):
                        skipped["reading: a value inside a sentence"] += 1  # no locator of the value alone
                        continue
                    c.template = "reading:" + c.template
                    c.match = dict(c.match, returned={"server": s.server, "tool": s.tool, "arguments": s.arguments,
                                                      "locator": paths[0]})
                    out.append(c)
        return out

    # -- what an effect reports ------------------------------------------------------------

    def _effect_results(self, x: Exploration, skipped: Counter) -> list[Candidate]:
        """Questions about what an effect's own reply reports (``Remove the duplicate rows of
        ... How many rows are left, according to the reply?``): the effect is the label's
        call, so the task makes it and reads its result. The reply's facts pass the filters
        of a read's (no echo of the arguments, no status, no made-up id); an effect whose
        result is chance (a die, a random pick) is not asked about."""
        from .necessity import earlier_texts

        out: list[Candidate] = []
        recorded = {s.step: (s.content, s.structured) for s in x.steps if s.ok}
        for e in x.steps:
            if not e.effectful or x.answers(e):
                continue  # a read or a computing tool: its result is asked about as any read's
            ref = x.ref(e.server, e.tool)
            if by_chance(e.tool, getattr(ref, "description", None), e.arguments):
                skipped["effect result by chance"] += 1
                continue
            tables = read_call(e.step, e.server, e.tool, e.arguments, e.content, e.structured, x.adapter(e.server),
                               ref).tables
            if not tables:
                continue
            does = effect(e.tool, e.server, e.arguments, x.adapter(e.server), ref)
            if does is None:
                skipped["effect not describable"] += 1
                continue
            rng = self._rng(x, "effect-result", e.step)
            # what the world showed before the effect: the exploration's earlier results, the initial world's
            before = earlier_texts(e.call(), recorded, getattr(self.needs, "initial", None))[:2]
            for c in self._single(x, e, tables, skipped, where=REPLY):
                if _run_made(c):
                    skipped["effect result made by this run"] += 1
                    continue
                if _said_back(c, e.arguments):
                    skipped["effect result says the call back"] += 1
                    continue
                if _shown_before(c, before):
                    skipped["effect result shown before it"] += 1
                    continue
                c.template = "effect:" + c.template
                c.extra = dict(c.extra, effect_result=does, ask=c.question)
                c.question = _cap(_pick(rng, EFFECT_RESULT).format(effect=does, question=c.question))
                c.score -= 0.1
                out.append(c)
        return out

    # -- actions: the call is the label ----------------------------------------------------------

    def _actions(self, x: Exploration, skipped: Counter, others: list[Candidate]) -> list[Candidate]:
        """Instructions whose label is the call they ask for (kind ``action``, match rule
        ``called``): for an effect whose reply says nothing a question could ask and whose
        change no read observed, the call itself is what can be checked (``Play the music of
        the ABC notation below``, ``Plan the task "..."``). Only an effect that

        * no candidate of the exploration rests on, of a tool no read of the whole run observed
          the effects of (:func:`probed_tools`: then its changes are asked about as such);
        * is the first change of its server in the exploration (the world as it starts: the
          episode that plays the task makes it the same way), and not chance (a roll is wanted
          for what it rolled), nor one whose reply says it did nothing (:func:`_did_nothing`);
        * is worded as an action (a verb the tool's description or name starts with), every
          argument it was given stated.

        The label is the tool and its arguments: those the call gave, and the defaults the
        instruction states for a call given none (the defaults the tool played); empty values
        (``[]``, ``""``) are left free."""
        taken = {k for c in others for k in (c.label_steps | (c.trajectory_steps or set()))}
        taken |= {c.extra.get("effect_step") for c in others}
        out: list[Candidate] = []
        for e in x.steps:
            if not e.effectful or e.probe_of is not None or e.step in taken:
                continue  # a read is asked for what it read; a tool not known to be read-only may say nothing
            if (e.server, e.tool) in self.probed:
                skipped["action: a read of the run observes the tool's effects"] += 1
                continue
            ref = x.ref(e.server, e.tool)
            if by_chance(e.tool, getattr(ref, "description", None), e.arguments):
                skipped["action: chance"] += 1  # a roll is wanted for what it rolled, which no call can check
                continue
            if _did_nothing(e):
                skipped["action: the reply says it did nothing"] += 1  # "No test cases defined. Please add ... first"
                continue
            if any(p.effectful and p.server == e.server and p.step < e.step for p in x.steps):
                skipped["action: after a change"] += 1
                continue
            stated = dict(e.arguments) or _stated_defaults(ref)
            if stated and not e.arguments and ref is not None:  # the defaults it played, said as given
                ref = replace(ref, input_schema=_without_defaults(ref.input_schema))
            does = effect(e.tool, e.server, stated, x.adapter(e.server), ref)
            if does is None or does.startswith("run "):
                skipped["action: no words for the call"] += 1
                continue
            label = {"server": e.server, "tool": e.tool,
                     "arguments": {k: v for k, v in stated.items() if v not in (None, "", [], {})}}
            rng = self._rng(x, "action", e.step)
            out.append(Candidate(
                kind=ACTION, template=f"action:{e.server}/{e.tool}",
                question=_cap(_pick(rng, ACTIONS).format(effect=does)), answer=label, match={"rule": "called"},
                label_steps={e.step}, provenance=[{"step": e.step, "role": "call", "value": label}],
                derivation={"op": "call"}, hops=1, trajectory_steps={e.step}, score=0.5))
        return out

    # -- setup effects ------------------------------------------------------------------------

    def _with_setup(self, x: Exploration, c: Candidate, skipped: Counter) -> Candidate | None:
        if c.trajectory_steps is not None:  # a state change: every effect it needs is the task
            own = c.extra.get("effect_step")
            others = [s for s in x.steps if s.step in c.trajectory_steps and s.step != own]
            if others and self.needs is not None:  # only the earlier changes its end state needs
                needed = self.needs(x, c, others)
                if needed is None:
                    skipped["earlier change not needed but not removable"] += 1
                    return None
                c.trajectory_steps = {own} | {s.step for s in needed}
            chained = self._chained_ids(x, c, c.trajectory_steps, set())
            if chained is None:
                skipped["made-up id no step of the task makes (or its maker shows the answer)"] += 1
                return None
            c.trajectory_steps |= set(chained.values())
            effects = [s for s in x.steps if s.step in c.trajectory_steps]
            described = [_effect_in_chain(x, s, effects) for s in effects]
            if any(d is None for d in described):
                skipped["effect not describable"] += 1
                return None
            if chained:
                described = [_refer(d, chained, [s.step for s in effects]) for d in described]
                c.answer = _without_made_up_ids(c.answer)
            c.answer = _also_stated(_without_run_ids(c.answer), x.by_step().get(c.extra.get("probe_step", -1)),
                                    [s for s in effects if s.step != own])
            c.probe = dict(c.probe, expected=c.answer) if c.probe else c.probe
            c.provenance = [dict(p, value=c.answer) if p.get("role") == "probe" else p for p in c.provenance]
            if len(effects) > 1:
                lines = [f"{i + 1}. {_cap(d)}." for i, d in enumerate(described)]
                c.question = "Do the following, in order:\n" + "\n".join(lines)
                c.template += "+setup"
            c.hops = len(effects)
            c.score -= 0.05 * (len(effects) - 1)
            return self._finish(c, skipped)
        setup = x.setup_for(c.label_steps)
        if setup and self.needs is not None:  # only the setup the label needs: no padding
            needed = self.needs(x, c, setup)
            if needed is None:
                skipped["setup not needed but not removable"] += 1
                return None
            setup = needed
            c.trajectory_steps = set(c.label_steps) | {s.step for s in setup}
        chained = self._chained_ids(x, c, set(c.label_steps) | {s.step for s in setup}, set(c.label_steps))
        if chained is None:
            skipped["made-up id no step of the task makes (or its maker shows the answer)"] += 1
            return None
        if chained:  # the steps that made the ids the question would quote: made by the task, the ids taken
            setup = [s for s in x.steps if s.step in {k.step for k in setup} | set(chained.values())]
            c.trajectory_steps = set(c.label_steps) | {s.step for s in setup}
        if setup:
            described = [effect(s.tool, s.server, s.arguments, x.adapter(s.server), x.ref(s.server, s.tool))
                         for s in setup]
            if any(d is None for d in described):
                skipped["setup effect not describable"] += 1
                return None
            rng = self._rng(x, "setup", c.signature())
            question = c.question
            if chained:
                order = [s.step for s in setup]
                described = [_refer(d, chained, order) for d in described]
                if c.extra.get("effect_result"):
                    c.extra = dict(c.extra, effect_result=_refer(c.extra["effect_result"], chained, order))
                else:
                    lines = [f"{i + 1}. {_cap(_refer(d, chained, order))}." for i, d in enumerate(described)]
                    c.question = ("Do the following, in order:\n" + "\n".join(lines) + "\n\nThen answer: "
                                  + _refer(question, chained, order))
                    c.template += "+setup"
                    c.score -= 0.3 + 0.05 * len(setup)
                    return self._finish(c, skipped)
            if c.extra.get("effect_result"):  # the label's call is an effect too: the changes in order
                lines = [f"{i + 1}. {_cap(d)}." for i, d in enumerate(described + [c.extra["effect_result"]])]
                c.question = "Do the following, in order:\n" + "\n".join(lines) + "\n\n" + c.extra["ask"]
                c.template += "+setup"
                c.score -= 0.3 + 0.05 * len(setup)
                return self._finish(c, skipped)
            lower = question[:1].lower() + question[1:]
            c.question = _pick(rng, SETUP).format(setup="; then ".join(described), question=question, lower=lower)
            c.template += "+setup"
            c.score -= 0.3 + 0.05 * len(setup)
        return self._finish(c, skipped)

    def _chained_ids(self, x: Exploration, c: Candidate, steps: set[int], asked: set[int]) -> dict[str, int] | None:
        """The made-up ids (a session's UUID, a new task's id) that the calls of ``steps`` take
        and the question quotes, each with the step that made it (:func:`made_ids`): the task
        makes that step and takes the id from its result, never quotes it. None when a step
        that made one cannot be a step of the task: a change not among ``steps`` (not needed,
        or not describable), or a step the question asks about (``asked``: the label's own);
        or when a step that made one shows the answer already (loading a file into a session
        tells its row count: the session's info is not needed for it)."""
        from .necessity import made_ids

        if not generated_id_in(c.question):
            return {}
        if self._ids is None or self._ids[0] != x.exploration_id:
            self._ids = (x.exploration_id, made_ids(x))
        by_step, out = x.by_step(), {}
        for k in sorted(steps):
            for value, origin in (self._ids[1].get(k) or {}).items():
                if value not in c.question:
                    continue
                made = by_step.get(origin)
                if made is None or origin in asked or (origin not in steps and not x.answers(made)):
                    return None
                out[value] = origin
        if c.kind != "state-change" and any(_leaks_into(c.answer, _text_of(by_step[k])) for k in set(out.values())):
            return None  # the step that made the id shows the answer already: the asked call is not needed for it
        return out

    def _finish(self, c: Candidate, skipped: Counter) -> Candidate | None:
        c.answer = _without_float_noise(c.answer, c.match)
        c.question = _after_blocks(c.question)
        if len(c.question) > MAX_QUESTION:
            skipped["question too long"] += 1
            return None
        texts = c.question.splitlines()
        if not c.match.get("returned"):  # a reading's answer is this call's: bound to the episode's own call
            texts += [v for v in leaves(c.answer) if isinstance(v, str)]
        if any(is_volatile("", text) for text in texts):
            skipped["a run-dependent value in the task"] += 1  # a time of this run, a temporary path
            return None
        if c.kind not in ("state-change", ACTION) and _leaks_into(c.answer, normalize(without_step_numbers(c.question))):
            skipped["answer in the question"] += 1
            return None
        return c


# -------------------------------------------------------------------------- helpers


_TOKEN = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,}\b", re.IGNORECASE)
_TIMING = frozenset({"time", "duration", "elapsed", "took", "latency", "seconds", "ms", "secs"})


_CUT = TRUNCATION_MARKER.split("{")[0].strip()


def _cut_short(s: Step) -> bool:
    """The recorder kept only the start of the call's result (it was too long)."""
    return any(_CUT in text for _, text in text_blocks(s.content or []))


def _last_key(path: str) -> str:
    """The name a provenance value sits under (``$...split_summary.ranges_requested`` ->
    ``ranges_requested``)."""
    return next((k for k in reversed(re.split(r"[/.#\[\]]", str(path))) if k and not k.isdigit()), "")


def _shown_before(c: Candidate, before: tuple[str, ...]) -> bool:
    """Whether a text the answer of a question about an effect's reply holds was shown
    before the effect (``before``: the normalized texts of the exploration's earlier results
    and of the initial world's reads): the reply repeats the world (a file's lines after an
    edit, a record it touched), the effect did not make it, and the question would ask for
    what was there."""
    texts = [normalize(v) for v in leaves(c.answer) if isinstance(v, str) and len(v.strip()) >= 3]
    return any(_word_in(t, b) for t in texts for b in before)


def _made_by_a_change(x: Exploration, c: Candidate, initial: dict[tuple[str, str, str], InitialRead]) -> bool:
    """Whether a lookup's answer holds a token (a hash, a hex id) that an effect of the task
    made up: one no read of the initial world showed, on the label's server (the hash of the
    commit the task's first step made, which a second run, at another time, makes another)."""
    if c.kind == "state-change":
        return False
    tokens = [t.lower() for v in leaves(c.answer) if isinstance(v, str) for t in _TOKEN.findall(v)]
    if not tokens:
        return False
    steps = x.by_step()
    servers = {steps[k].server for k in c.label_steps if k in steps}

    def changes(s: Step) -> bool:  # a call that may change the world, not one that computes (a hash of a text)
        ref = x.ref(s.server, s.tool)
        return s.effectful and (ref is None or not computes(s.tool, getattr(ref, "annotations", None),
                                                            getattr(ref, "description", None)))

    if not any(changes(s) and s.server in servers and s.step < max(c.label_steps, default=-1) for s in x.steps):
        return False  # no change before the label: whatever it holds, the world held
    seen = " ".join([r.text for (server, _, _), r in initial.items() if server in servers]
                    + [_text_of(s) for s in x.steps if s.ok and s.read_only and s.state == INITIAL_STATE
                       and s.server in servers])
    return any(t not in seen for t in tokens)


def _timed(key: str, value: Any) -> bool:
    """A number saying how long something took (``analysis_time: 0.01``) or a fact of the
    run's machine: it moves from run to run, no mark of a change."""
    words = set(words_of(key).split())
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(words & _TIMING) \
        or is_machine_fact(key, "", value)


def _run_made(c: Candidate) -> bool:
    """Whether a fact of an effect's reply is this run's own making, not the world's: a token
    or an id the effect made up (``session: 269cb2eb``, ``presentation_id: presentation_3``,
    a new commit's hash) or how long the call took (``ocr_time: 0.59``). A second run makes
    another."""
    for p in c.provenance:
        value, words = p.get("value"), set(words_of(_last_key(p.get("path", ""))).split())
        if isinstance(value, (int, float)) and not isinstance(value, bool) and words & _TIMING:
            return True
        if isinstance(value, str) and words & {"id", "uuid", "token", "handle"} and p.get("role") == "answer":
            return True
    return any(_TOKEN.search(v) for v in leaves(c.answer) if isinstance(v, str))


def _said_back(c: Candidate, arguments: dict[str, Any]) -> bool:
    """Whether an effect's reply only says the call back: a message of several words
    ("Inserted 3 column(s) starting at column 1"), or how many things the call was given
    under a name the reply repeats (``ranges_requested: 3`` for three ``page_ranges``)."""
    if any(isinstance(v, str) and len(re.findall(r"[A-Za-z]{2,}", v)) >= 4 for v in leaves(c.answer)):
        return True
    given = [(set(map(singular, words_of(k).split())), len(v)) for k, v in _lists_in(arguments)]
    for p in c.provenance:
        value = p.get("value")
        if p.get("role") != "answer" or not isinstance(value, int) or isinstance(value, bool):
            continue
        words = set(map(singular, words_of(_last_key(p.get("path", ""))).split()))
        if any(n == value and named & words for named, n in given):
            return True
    return False


def _lists_in(value: Any, key: str = "") -> list[tuple[str, list[Any]]]:
    """The lists among an effect's arguments (a JSON text of one included), each with the
    name it was given under."""
    if isinstance(value, str) and value.strip()[:1] == "[":
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _lists_in(v, str(k))]
    if isinstance(value, list):
        return [(key, value)] + [x for v in value for x in _lists_in(v, key)]
    return []


def _refer(text: str, chained: dict[str, int], order: list[int]) -> str:
    """``text`` with each made-up id of ``chained`` (id -> the step that made it) named as
    what that step returned (``order``: the steps as the question numbers them): ``with
    session id "5bbf..."`` -> ``with session id returned by step 1``."""
    for value, origin in chained.items():
        said = f"returned by step {order.index(origin) + 1}" if origin in order else "returned by the step that made it"
        for form in (quote(value), f"'{value}'", f'"{value}"'):  # "with session id ..." -> "with the session id ..."
            text = re.sub(r"\b(with|for|and|of|to)\s+(?!the\b)((?:[\w-]+\s+){0,2}?[\w-]*id)\s+" + re.escape(form),
                          lambda m: f"{m.group(1)} the {m.group(2)} {said}", text)
            text = text.replace(form, said)
        text = text.replace(value, said)
    return text


def _without_made_up_ids(value: Any) -> Any:
    """An expected end state without the made-up ids in it (the session it was made in): a
    run that opens the session again gets another id, and checks the rest."""
    if isinstance(value, dict):
        return {k: _without_made_up_ids(v) for k, v in value.items() if not made_up_id(v)}
    if isinstance(value, list):
        return [_without_made_up_ids(v) for v in value if not made_up_id(v)]
    return value


def _self_contained(c: Candidate, skipped: Counter) -> bool:
    """A task that quotes no id the server made up for this run (a session's UUID) and no
    masked secret, and whose label is none: it can be asked again in a fresh world."""
    texts = [c.question] + [v for v in leaves(c.answer) if isinstance(v, str)]
    if any(generated_id_in(t) for t in texts):
        skipped["a made-up id or a secret in the task"] += 1
        return False
    return True


_STEP_REF = "\u27e8step {n}\u27e9"
_STEP_REF_QUOTED = re.compile("[\"']\u27e8step (\\d+)\u27e9[\"']")


def _effect_in_chain(x: Exploration, s: Step, chain: list[Step]) -> str | None:
    """What the effect ``s`` of a list of changes made in order does, in words; an id it was
    given that an earlier change of the list made for this run (``task_id`` "task-da7dfec6",
    returned by ``create_task``: :meth:`Exploration.maker_of`) is named by that change's
    number ("the task id returned by step 1"): a question quoting it could not be asked again (another
    run makes another id). None when an adapter's words lose the reference."""
    made: dict[str, int] = {}
    for k, v in s.arguments.items():
        if not (isinstance(v, str) and generated_id_in(v)):
            continue
        maker = x.maker_of(v, s.step)
        by = next((i for i, t in enumerate(chain) if t.step == maker), None)
        if by is not None:  # that change made it (verify's self-contained takes it so)
            made[k] = by + 1
    args = {k: (_STEP_REF.format(n=made[k]) if k in made else v) for k, v in s.arguments.items()}
    words = effect(s.tool, s.server, args, x.adapter(s.server), x.ref(s.server, s.tool))
    if words is None or not made:
        return words
    words = _STEP_REF_QUOTED.sub(lambda m: f"returned by step {m.group(1)}", words)
    # "and task id returned by step 1" -> "and the task id returned by step 1", as _refer says it
    words = re.sub(r"\b(with|for|and|of|to)\s+(?!the\b)((?:[\w-]+\s+){0,2}?[\w-]*id)\s+(?=returned by step)",
                   lambda m: f"{m.group(1)} the {m.group(2)} ", words)
    return None if "\u27e8step" in words else words


def _also_stated(answer: Any, probe: Step | None, earlier: list[Step]) -> Any:
    """A state change's label (a record's fields, as its probe read them) with the fields of
    that record that the task's earlier changes stated (the title ``create_task`` was given,
    before ``update_task_status``): every change the question asks for is checked, not only
    the last."""
    full = result_value(probe.content, probe.structured) if probe is not None else None
    if not (isinstance(answer, dict) and isinstance(full, dict) and earlier) or not set(answer) <= set(full):
        return answer
    stated = {normalize(v) for t in earlier for v in _arg_strings(t.arguments) if len(v.strip()) >= 3}
    more = {k: v for k, v in full.items() if k not in answer and isinstance(v, str) and normalize(v) in stated
            and not generated_id_in(v) and not is_volatile(k, v)}
    return {**answer, **more}


def _without_run_ids(answer: Any) -> Any:
    """A state change's label without the ids this run made (a task's ``id`` "task-da7dfec6"):
    the fields that show the change stay (its ``status`` "done"). A label of nothing else is
    kept whole."""
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if not (isinstance(x, str) and generated_id_in(x))}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    stripped = strip(answer)
    return stripped if stripped not in ({}, [], [{}]) and any(True for _ in leaves(stripped)) else answer


def _tool_words(tool: str, ref: Any) -> str:
    """The words a tool names itself with: its name, title and what its description says it does."""
    from .phrasing import tool_sentence

    return " ".join([tool, str(getattr(ref, "title", "") or ""), tool_sentence(tool, ref)])


def _counted(label: str) -> bool:
    """A label that names things, not a number (``notes checked``, ``mixins loaded``): a
    whole number under it is how many there are."""
    first = label.split()[0] if label.split() else ""
    alone = len(label.split()) == 1 and first not in _MEASURED_IN  # "rows: 5" counts rows; "degrees: 90" measures
    return (len(label.split()) >= 2 or alone) and first.isalpha() and first.islower() and singular(first) != first \
        and plural_of(singular(first)) == first and first not in ("total", "items", "its")


# plural words a number measures in rather than counts
_MEASURED_IN = frozenset({"degrees", "meters", "metres", "feet", "inches", "miles", "kilometers", "kilometres", "pounds",
                       "grams", "kilograms", "ounces", "liters", "litres", "dollars", "euros", "cents", "watts", "volts",
                       "calories", "points", "percents", "radians", "units"})


def _verb_for(label: str) -> str:
    """"are" for a label that names several things (``todo tasks``), else "is"."""
    # "rmse of the test results": the rmse; "questions about this folder": the questions
    head = re.split(r" (?:of|in|per|for|about|on|with|from|to|by|at) ", label)[0].split()
    if head[:1] in (["total"], ["number"], ["count"]):  # "total issues": one number
        return "is"
    last = head[-1] if head else ""
    return "are" if last.isalpha() and last.islower() and singular(last) != last and plural_of(singular(last)) == last \
        else "is"


def _placed_by_key(f: str, key: Any) -> bool:
    """A position (row, column) of an item named by an address that says it (the cell
    ``C2``): the question would give the answer away."""
    return set(words_of(f.split("#")[0]).split()[-1:]) <= POSITIONS and isinstance(key, str) \
        and re.fullmatch(r"[A-Za-z]{1,3}\d{1,7}", key.strip()) is not None


def _one_record(t: Table, called: str) -> Table:
    """A table whose items are one field each, every field a different name (a bulleted list of
    "name: value" lines: ``- currency: USD``, ``- sales tax rate: 0.055``), as the one record
    it is: its fields are the facts, asked one at a time. Only when the table is named after the
    call (``called``: the tool's name and title), not after what its items are: the lines of a
    list of columns (``- price: REAL``) are columns, and "what is the price?" would ask another thing."""
    items = t.items
    if len(items) < 2 or any(len(it.cells) != 1 for it in items):
        return t
    if not set(words_of(t.noun).split()) <= set(words_of(called).split()):
        return t
    names = [next(iter(it.cells)) for it in items]
    if len(set(names)) != len(names):
        return t
    merged = Item({f: c for it in items for f, c in it.cells.items()}, items[0].index)
    return dataclasses.replace(t, items=[merged], key="", complete=True, total=None)


def _unasked_single(noun: str, f: str, value: Any, cells: dict[str, Cell], echoes: dict[str, set[str]], tool: str) -> str:
    """Why a field of a one-record result is not asked ("" when it is)."""
    if f in SKIP_FIELDS and (noun, f) not in SPECIAL_SINGLE and f not in name_words(tool):
        return "a field not asked"  # a listing's hash or depth; a hashing tool's hash is its answer
    if not _short(value):
        return "a long or boolean value"
    if (noun, f) == ("entry", "type"):
        return "an entry's type"
    if isinstance(value, str) and _squashed(value) == _squashed(noun) and len(_squashed(noun)) >= 3:
        return "the key gives it away"  # the "name" of the option the question calls "the multi pv": MultiPV
    if pages_of_a_document(f, cells) and value:
        return ""
    if f in ("status", "state") and _a_thing(cells) and isinstance(value, str) and \
            normalize(value) not in ("ok", "okay", "success", "succeeded", "successful", "error", "failed", "failure"):
        # the status of a story the reply describes ("todo"), not of the call ("ok")
        return dull_reason(f, value, echoes, whole=False, tool=tool)
    return dull_reason(f, value, echoes, whole=True, tool=tool)


def _a_thing(cells: dict[str, Cell]) -> bool:
    """Whether a one-record reply describes a thing: an id of it and a name, a title or a
    summary (``{"id": "story-1", "title": ..., "status": "todo"}``), not only how the call went."""
    fields = {words_of(f.split(".")[-1]) for f in cells}
    ided = any(f == "id" or f.endswith(" id") for f in fields)
    return ided and bool(fields & {"name", "title", "summary", "subject", "label"})


def _proper_label(key: str) -> bool:
    """A field named in words that are each capitalized, two or more (``Colombia Huila:``, a
    labelled line of a note): a name, asked as written and quoted ("what value does the file
    give for "Colombia Huila"?"), never lower-cased into a noun ("the colombia huila")."""
    words = key.split()
    return len(words) >= 2 and all(w[:1].isupper() for w in words if w[:1].isalpha()) and not key.isupper() \
        and all(re.fullmatch(r"[^\W\d_][\w'&-]*", w) for w in words)


def _squashed(text: str) -> str:
    """``text`` lower case without spaces, marks and a plural's s (``MultiPV``, ``multi pvs``: ``multipv``)."""
    return re.sub(r"[\W_]+", "", text.lower()).removesuffix("s")


def _not_asked(noun: str, f: str) -> bool:
    """Fields a lookup does not ask about (SKIP_FIELDS, unless a phrasing names them)."""
    return f in SKIP_FIELDS and (noun, f) not in SPECIAL_LOOKUP


def _steady(t: Table, variants: list[tuple[Any, Any]]) -> Table:
    """``t`` without the fields a second run would not see again: a value that looks like the
    wall clock or a per-run temporary path, or that differs between two recorded results of
    the same call in the same world (``variants``: those results)."""
    def moving(f: str, cell: Cell) -> bool:
        if is_volatile(f, cell.value):
            return True
        seen = {canonical_json(resolve(content, structured, cell.path)) for content, structured in variants}
        return len(seen) > 1

    return _without_fields(t, {f for it in t.items for f, c in it.cells.items() if moving(f, c)})


def _without_fields(t: Table, bad: set[str]) -> Table:
    """``t`` without the fields ``bad``: items left with no field go, unless the table is keyed
    by a field that stays; a key among them leaves the table unkeyed."""
    if not bad:
        return t
    items = [Item({f: c for f, c in it.cells.items() if f not in bad}, it.index) for it in t.items]
    return replace(t, items=[it for it in items if it.cells] if not t.key or t.key in bad else items,
                   key="" if t.key in bad else t.key, numeric=tuple(f for f in t.numeric if f not in bad))


def _not_said_anyway(t: Table, results: list[tuple[frozenset[str], Any, Any, str]]) -> Table:
    """``t`` without the texts its tool says whatever it is given (``results``: its recorded
    results, each with the words its call named, :func:`said_anyway`): a sentence of four
    words or more that the results of two calls naming nothing in common both hold, at the
    same place or anywhere in their text ("Output_id supports real-time streaming while
    process runs" after every command a shell ran, a planning tool's standing warning). What
    a call's input decides (a note's text, a row of the file both read) is not in both."""
    def anyway(cell: Cell) -> bool:
        if not isinstance(cell.value, str) or len(cell.value.split()) < 4:
            return False
        value = normalize(plain_text(cell.value))
        named = [n for n, content, structured, flat in results  # the cheap look first: resolve parses
                 if value in flat or resolve(content, structured, cell.path) == cell.value]
        return any(a.isdisjoint(b) for i, a in enumerate(named) for b in named[i + 1:])

    if not results:
        return t
    return _without_fields(t, {f for it in t.items for f, c in it.cells.items() if anyway(c)})


def _named_part(token: str) -> str:
    """What a word of an argument names: of a path, its last part without its extension (the
    folders and the file type many paths share say nothing)."""
    if "/" in token:
        return re.sub(r"\.[A-Za-z0-9]{1,8}$", "", token.rstrip("/").rsplit("/", 1)[-1])
    return token


def said_anyway(store: Any) -> dict[tuple[str, str], list[tuple[frozenset[str], Any, Any, str]]]:
    """For each tool two of whose calls named nothing in common (no word of four letters or
    more: ``wc -l meeting.md`` and ``cat feedback.csv``, not ``cat feedback.csv`` and ``grep
    Sumatra feedback.csv``), its results that worked, one per set of arguments, each with
    the words its call named and its text without markdown marks, compared form: what
    :func:`_not_said_anyway` looks texts up in."""
    found: dict[tuple[str, str], dict[str, tuple[frozenset[str], str, str | None, str]]] = {}
    for server, tool, args_hash, arguments, content, structured, text in store.conn.execute(
            "SELECT server, tool, arguments_hash, arguments, content, structured_content, result_text FROM calls"
            " WHERE ok = 1"):
        named = frozenset(w.lower() for v in leaves(json.loads(arguments or "{}")) if isinstance(v, str)
                          for token in v.split() for w in re.findall(r"[A-Za-z0-9]{4,}", _named_part(token)))
        if named:
            found.setdefault((server, tool), {}).setdefault(args_hash, (named, content, structured, text or ""))
    out = {}
    for key, by_args in found.items():
        names = [n for n, _, _, _ in by_args.values()]
        if any(a.isdisjoint(b) for i, a in enumerate(names) for b in names[i + 1:]):
            out[key] = [(n, json.loads(c or "[]"), None if st is None else json.loads(st), normalize(plain_text(text)))
                        for n, c, st, text in by_args.values()]
    return out


def probed_tools(store: Any) -> set[tuple[str, str]]:
    """The tools (server, name) whose effects a read of the run observed: some call of them
    was followed by a probe (a read made to see what it changed)."""
    return {(server, tool) for server, tool in store.conn.execute(
        "SELECT DISTINCT e.server, e.tool FROM calls p JOIN calls e ON e.exploration_id = p.exploration_id"
        " AND e.step = p.probe_of WHERE p.probe_of IS NOT NULL")}


def _stated_defaults(ref: Any) -> dict[str, Any]:
    """For a call given no arguments: the defaults it played, that an instruction states (a
    text or a number the schema gives a parameter: the tune a player plays by default)."""
    return {k: v for k, v in declared_defaults(ref).items()
            if isinstance(v, (str, int, float)) and not isinstance(v, bool) and v != ""}


def _did_nothing(s: Step) -> bool:
    """A reply that says the call could not act ("No test cases defined. Please add test cases
    first", "Cannot ...", "Nothing to ..."), holds nothing but empty values (``{"rankings": []}``),
    or is bytes that are no text (replacement characters: a decoding of what was not encoded)."""
    text = _text_of(s).strip()
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not text or says_it_could_not(first):
        return True
    if undecoded(text):
        return True
    value = result_value(s.content, s.structured)
    return isinstance(value, (dict, list)) and all(v in (None, "", 0, False) for v in leaves(value))


def _without_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return schema
    return dict(schema, properties={k: {f: v for f, v in p.items() if f != "default"} if isinstance(p, dict) else p
                                    for k, p in props.items()})


def result_variants(store: Any) -> dict[tuple[str, str, str, str], list[tuple[Any, Any]]]:
    """The calls recorded more than once in the same world whose results differ, with their
    results: (server, tool, arguments hash, state) -> [(content, structured), ...]."""
    seen: dict[tuple[str, str, str, str], dict[str, tuple[Any, Any]]] = {}
    for server, tool, args_hash, state, content, structured in store.conn.execute(
        "SELECT server, tool, arguments_hash, state, content, structured_content FROM calls"
        " WHERE ok = 1 AND read_only = 1"
    ):
        seen.setdefault((server, tool, args_hash, state), {}).setdefault(
            f"{content}\x00{structured}", (content, structured))
    return {k: [(json.loads(c), None if st is None else json.loads(st)) for c, st in v.values()]
            for k, v in seen.items() if len(v) > 1}


def _word_in(needle: str, haystack: str) -> bool:
    n = normalize(needle)
    if not n:
        return False
    return re.search(r"(?<![\w])" + re.escape(n) + r"(?![\w])", haystack) is not None


def _given_list(items: list[Item], arguments: dict[str, Any]) -> bool:
    """Whether a table of bare values (two or more) is one of the call's list arguments said
    back, in its order or not, numbers matched as numbers (``"3.0"`` for ``3``)."""
    if len(items) < 2 or any(set(it.cells) != {"value"} for it in items):
        return False

    def key(v: Any) -> str:
        n = as_number(v) if isinstance(v, str) else v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        return repr(float(n)) if n is not None else normalize(v)

    got = sorted(key(it.get("value")) for it in items)
    for value in (arguments or {}).values():
        if isinstance(value, list) and len(value) == len(items) and \
                all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            if sorted(key(v) for v in value) == got:
                return True
    return False


def _leaks_into(answer: Any, text: str) -> bool:
    values = field_values(answer)
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if value_shown(v, text):
                return True
        elif isinstance(v, str) and len(normalize(v)) >= 2 and value_shown(v, text):
            return True
    return False


def _distinctive(e: Step, adapter: Adapter, schema: Any = None) -> list[str]:
    """Strings of an effect's arguments that a later read could show (names, contents, paths);
    not the value of a parameter its ``schema`` gives a list of choices (an activity type
    ``progress``: a kind many things share, no mark of this change)."""
    out: list[str] = []
    props = schema.get("properties") if isinstance(schema, dict) else None
    chosen = {k for k, sub in (props or {}).items() if isinstance(sub, dict) and isinstance(_choices(sub), list)}

    def walk(v: Any, key: str) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if v is e.arguments and k in chosen:
                    continue
                walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str) and len(v.strip()) >= 3:
            if key in ("repo_path",) or v.rstrip("/") in ("/workspace", "/workspace/files", "/workspace/repo"):
                return
            if v.startswith("/workspace/"):
                out.append(v)
                out.append(rel(v))
                out.append(basename(v))
            elif key in ("query",):
                out.extend(re.findall(r"'([^']{3,})'", v))
                m = re.search(r"CREATE TABLE (?:IF NOT EXISTS )?\"?(\w+)", v, re.IGNORECASE)
                if m:
                    out.append(m.group(1))
            elif key not in ("relationType", "entityType") and len(v) <= 2000:
                out.append(v)

    walk(e.arguments, "")
    out = adapter.effect_marks(e.tool, e.arguments, out)  # e.g. what a switch of branch shows
    seen: set[str] = set()
    uniq = []
    for m in sorted(out, key=len, reverse=True):
        if m not in seen and len(m) >= 3:
            seen.add(m)
            uniq.append(m)
    return uniq


def _choices(schema: dict[str, Any]) -> Any:
    """The values a parameter's schema allows (its enum, or its first branch's), or None."""
    if isinstance(schema.get("enum"), list):
        return schema["enum"]
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            if isinstance(branch, dict) and isinstance(branch.get("enum"), list):
                return branch["enum"]
    return None


def _changes_of(e: Step) -> list[dict[str, Any]]:
    """The changes an effect makes in one call, one record each, when it makes several (a
    list argument of two or more records: observations added to two entities)."""
    return [record for value in (e.arguments or {}).values()
            if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, dict) for v in value)
            for record in value]


def _item_unshown(e: Step, seen: str, before: str) -> bool:
    """Whether one of the changes of :func:`_changes_of` has new text (a string of its record
    no earlier result showed) the read ``seen`` does not show: a label from that read would
    check one change of the question and not the other."""
    for record in _changes_of(e):
        new = [t for t in leaves(record) if isinstance(t, str) and len(t.strip()) >= 3 and not _word_in(t, before)]
        if new and not any(_word_in(t, seen) for t in new):
            return True
    return False


def _item_marks(e: Step, shown: list[str]) -> list[str]:
    """For each of the changes of :func:`_changes_of`, the first of ``shown`` its record holds."""
    out = []
    for record in _changes_of(e):
        texts = {normalize(t) for t in leaves(record) if isinstance(t, str)}
        out += [m for m in shown if normalize(m) in texts][:1]
    return out


def _merged(a: Any, b: Any) -> Any:
    """Two skeletons of one result (:func:`_subset_for`) as one: objects' keys together,
    lists' elements together."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merged(a[k], v) if k in a else v for k, v in b.items()}}
    if isinstance(a, list) and isinstance(b, list):
        return a + [x for x in b if x not in a]
    return a


def _expected(r: Step, shown: list[str], e: Step) -> Any:
    """What the probe's result must contain: the part of it that shows the effect (the
    record holding the effect's distinctive value, with the fields the effect stated)."""
    value = result_value(r.content, r.structured)
    mark = shown[0]
    if isinstance(value, (dict, list)):
        stated = {normalize(v) for v in _arg_strings(e.arguments)}
        found = _subset_for(value, mark, stated)
        for other in _item_marks(e, shown):  # a call that made several changes: each one checked
            more = _subset_for(value, other, stated)
            found = found if more is None else _merged(found, more)
        return found
    if isinstance(value, str):
        return mark if _word_in(mark, normalize(value)) else None
    return None


_AFTER_BLOCK = re.compile(r"\n\.(?: +|$|(?=\n))")


def _after_blocks(question: str) -> str:
    """A sentence that ends with a block of lines (a file's content) goes on after a blank
    line, not after a lone full stop on a line of its own ("...\n. After that, ...", a
    numbered step "...\n.\n2. ...")."""
    return _AFTER_BLOCK.sub(lambda m: "" if m.end() == len(m.string) or m.string.startswith("\n", m.end())
                            else "\n\n", question)


def _without_float_noise(answer: Any, match: dict[str, Any]) -> Any:
    """A label whose numbers are matched as numbers, written without binary float noise
    (36.447500000000005 -> 36.4475: 12 significant digits); the match rule's tolerance
    takes both. Labels matched otherwise stay as recorded."""
    def tidy(v: Any, rule: Any) -> Any:
        if isinstance(rule, dict) and rule.get("rule") == "number" and isinstance(v, float) and not v.is_integer():
            return float(f"{v:.12g}")
        return v
    if match.get("rule") == "fields" and isinstance(answer, dict):
        rules = match.get("fields") or {}
        return {k: tidy(v, rules.get(k)) for k, v in answer.items()}
    return tidy(answer, match)


def _read_around(x: Exploration, e: Step, initial: dict[tuple[str, str, str], InitialRead]) -> tuple[Any, Step] | None:
    """The same read-only call made just before an effect and again just after it, with no
    other change of the effect's server between the two (the first such pair after it): the
    result's value before, and the step after. An effect made in the initial world (the
    exploration's first) has its "before" there too: what that read answered in the initial
    world, every time alike (:func:`_initial_before`)."""
    changes = [s.step for s in x.steps if s.effectful and s.server == e.server and s.step != e.step]
    for r in x.steps:
        if r.step <= e.step or not (r.ok and r.read_only and r.server == e.server):
            continue
        if any(e.step < c < r.step for c in changes):
            break
        pre = max((b for b in x.steps if b.step < e.step and b.ok and b.read_only and b.server == r.server
                   and b.tool == r.tool and b.arguments_hash == r.arguments_hash), key=lambda b: b.step, default=None)
        if pre is not None and not any(pre.step < c < e.step for c in changes):
            return result_value(pre.content, pre.structured), r
        if pre is None and (first := _initial_before(e, r, initial)) is not None:
            return first, r
    return None


def _initial_before(e: Step, r: Step, initial: dict[tuple[str, str, str], InitialRead]) -> Any:
    """For an effect ``e`` made in the initial world (nothing changed before it in its
    exploration) and a read ``r`` after it: the value that read answered in the initial world,
    when it answered alike every time it was made there; else None. A survey looks at the
    world every exploration starts from, so the explorer does not read it again before the
    first effect (a reset of the staged files first: the survey's status is the status before)."""
    if e.state != INITIAL_STATE:
        return None
    first = initial.get((r.server, r.tool, r.arguments_hash))
    return None if first is None else first.value


def _only_removed(before: Any, after: Any) -> bool:
    """Whether ``after`` is ``before`` with something taken away and nothing added or changed:
    fewer items of a list (each one left as it was), fewer keys of an object or a key whose
    value lost something (the others as they were), fewer lines of a text."""
    if isinstance(before, dict) and isinstance(after, dict):
        if not set(after) <= set(before):
            return False
        changed = [k for k in after if canonical_json(after[k]) != canonical_json(before[k])]
        return all(_only_removed(before[k], after[k]) for k in changed) and (bool(changed) or len(after) < len(before))
    if isinstance(before, list) and isinstance(after, list):
        left = Counter(canonical_json(v) for v in before)
        left.subtract(canonical_json(v) for v in after)
        return len(after) < len(before) and min(left.values(), default=0) >= 0
    if isinstance(before, str) and isinstance(after, str):
        old, new = Counter(before.splitlines()), Counter(after.splitlines())
        return sum(new.values()) < sum(old.values()) and not (new - old)
    return False


def _changed_since(x: Exploration, e: Step, r: Step,
                   initial: dict[tuple[str, str, str], InitialRead] | None = None) -> Any:
    """For the probe ``r`` of the effect ``e`` made again after the same read was made in the
    world ``e`` changed (the explorer's probe before an effect, a look first at the same call
    in that world, or, for an effect made in the initial world, that read there:
    :func:`_initial_before`): the part of ``r``'s result the
    earlier one did not show (records, fields, lines), what the effect changed, leaving out
    the clock and temporary paths. None without such a probe, or when nothing but those
    changed. ``UPDATE products SET price = price + 1`` states no value; its probe shows one."""
    if r.probe_of != e.step:
        return None
    pre = next((b for b in x.steps if b.step < e.step and b.ok and (b.probe_of == e.step or b.state == e.state)
                and b.tool == r.tool and b.server == r.server and b.arguments_hash == r.arguments_hash), None)
    before = result_value(pre.content, pre.structured) if pre is not None else _initial_before(e, r, initial or {})
    if before is None:
        return None
    return _difference(before, result_value(r.content, r.structured), "")


def _difference(before: Any, after: Any, key: str) -> Any:
    if canonical_json(before) == canonical_json(after):
        return None
    if isinstance(after, dict) and isinstance(before, dict):
        # a tally of the calls made (operations_count) moves with any call: no trace of this one
        kept = {k: d for k, v in after.items() if not is_bookkeeping(str(k)) and not _timed(str(k), v)
                and (d := _difference(before.get(k), v, k)) is not None}
        return kept or None
    if isinstance(after, list) and isinstance(before, list):
        seen = {canonical_json(v) for v in before}
        new = [v for v in after if canonical_json(v) not in seen and not any(is_volatile(key, x) for x in leaves(v))]
        return new[:1] or None  # one new or changed record: it holds after, not before
    if isinstance(after, str) and isinstance(before, str) and "\n" not in after and "\n" not in before:
        # one value that changed (a priority "P2" -> "P0"): the new value, however short
        return after if after.strip() and not is_volatile(key, after) else None
    if isinstance(after, str) and isinstance(before, str):
        parsed = [json_document(before), json_document(after)]
        if all(p is not None for p in parsed):
            # a JSON document written out as text (a reader's '{"cells": [...]}'): what changed in
            # it, as JSON (the new cell), never the one line of the text that differs ('"value": 8,')
            return _difference(parsed[0], parsed[1], key)
        lines = set(before.splitlines())
        new = [ln.strip() for ln in after.splitlines() if ln not in lines and len(ln.strip()) >= 3]
        new = [ln for ln in new if not is_volatile(key, ln)]
        return new[0] if new else None
    if isinstance(after, (int, float, str)) and not isinstance(after, bool) and not is_volatile(key, after):
        return after
    return None


def _arg_strings(value: Any) -> list[str]:
    return [v for v in leaves(value) if isinstance(v, str)]


def _stated(value: Any, stated: set[str]) -> Any:
    """``value`` cut down to what the effect stated (None if nothing)."""
    if isinstance(value, str):
        return value if normalize(value) in stated else None
    if isinstance(value, list):
        kept = [v for v in (_stated(x, stated) for x in value) if v is not None]
        return kept or None
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, _stated(x, stated)) for k, x in value.items()) if v is not None}
        return kept or None
    return None


def _subset_for(value: Any, mark: str, stated: set[str]) -> Any:
    """The skeleton of ``value`` that leads to the record holding ``mark``: objects on the
    way keep only that key, lists only that element; the innermost object holding the mark
    keeps what the effect stated."""
    found = _find(value, mark, stated)
    return None if found is None else found[0]


def _probe_says_back(r: Step, shown: list[str]) -> bool:
    """Whether every mark a probe shows is in the probe's own arguments (the path it was
    asked to read): it says back what it was given, not what it found."""
    given = [normalize(a) for a in _arg_strings(r.arguments)]
    return bool(given) and all(any(_word_in(m, a) for a in given) for m in shown)


def _record_of(value: Any, mark: str) -> Any:
    """The skeleton of ``value`` that leads to the innermost object with a text field holding
    ``mark``, that object with every plain field a second run would see again (no clock, no
    temporary path, no tally of calls, no timing); None when no object holds it or it has no other field."""
    if isinstance(value, dict):
        if any(isinstance(v, str) and _word_in(mark, normalize(v)) for v in value.values()):
            kept = {k: v for k, v in value.items() if isinstance(v, (str, int, float, bool))
                    and not is_volatile(str(k), v) and not is_bookkeeping(str(k)) and not _timed(str(k), v)}
            return kept if len(kept) >= 2 else None
        for k, v in value.items():
            if isinstance(v, (dict, list)) and (sub := _record_of(v, mark)) is not None:
                return {k: sub}
        return None
    if isinstance(value, list):
        for v in value:
            if isinstance(v, (dict, list)) and (sub := _record_of(v, mark)) is not None:
                return [sub]
    return None


def _find(value: Any, mark: str, stated: set[str]) -> tuple[Any, bool] | None:
    if isinstance(value, dict):
        for k, v in value.items():
            sub = _find(v, mark, stated)
            if sub is None:
                continue
            if not sub[1]:
                record = _stated(value, stated)
                if record and k in record:
                    return record, True
            return {k: sub[0]}, sub[1]
        return None
    if isinstance(value, list):
        for v in value:
            sub = _find(v, mark, stated)
            if sub is not None:
                return [sub[0]], sub[1]
        return None
    if isinstance(value, str) and _word_in(mark, normalize(value)):
        return (mark if normalize(value) != normalize(mark) else value), False
    return None


class InitialRead(NamedTuple):
    """What a read-only call answered in the initial world (a survey's look, an exploration's
    look first): its normalized text, and its result's value when every time it was made
    there it answered alike (None when it did not: no world before to compare with)."""

    text: str
    value: Any


def initial_results(store: Any) -> dict[tuple[str, str, str], InitialRead]:
    """The read-only results recorded in the initial world, by call (server, tool, arguments)."""
    seen: dict[tuple[str, str, str], list[tuple[str, Any]]] = {}
    for server, tool, args_hash, content, structured in store.conn.execute(
        "SELECT server, tool, arguments_hash, content, structured_content FROM calls"
        " WHERE ok = 1 AND read_only = 1 AND state = ?", (INITIAL_STATE,)
    ):
        blocks, value = json.loads(content), None if structured is None else json.loads(structured)
        seen.setdefault((server, tool, args_hash), []).append((result_text(blocks, value), result_value(blocks, value)))
    out = {}
    for key, answers in seen.items():
        alike = len({canonical_json(v) for _, v in answers}) == 1
        out[key] = InitialRead(answers[0][0], answers[0][1] if alike else None)
    return out


__all__ = ["NAME", "OfflineSynthesizer", "InitialRead", "initial_results", "listing"]
