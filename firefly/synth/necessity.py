"""Is every step a task asks for needed, and does a state-change label prove the change?

The simulator decides (strict mode, one episode per replay):

* **needed steps** (:func:`step_needs`): a step of the reference trajectory that is not one of
  the label's own calls (a setup effect of a question, or any effect of a state change) is
  needed only if replaying the trajectory *without it* changes the label: the label
  recomputed from the replayed results (or the probe run at the end) no longer matches. A
  replay that cannot go on without the step (a later call was never recorded in that world:
  a miss) counts as a change only when the label shows a trace of the step: a value the step
  introduced (in its arguments, and shown by no result recorded before it, nor by the
  initial world) among the values the label was read from (answer, keys, hops), the
  arguments of the calls it was read from, or a state change's probe and expected end
  state (a step whose tool computes introduces nothing: its arguments are inputs); or when a label's call (for a state change: another change it asks for, or its
  probe) takes a value the step made (:func:`made_values`: an argument the explorer fed
  from the step's result, a value no earlier result showed, such as the id of what it
  created; or, fed without a record, an id or a path a making step's result showed first). The simulator cannot tell, so the label and the calls have to.
* **before the change** (:func:`before_change`): a state change's probe run in the world
  before its first effect must *fail* the label. When the simulator recorded that probe in
  that world, its result decides. When it did not, the label must show a value the effects
  introduced (stated in their arguments), and no effect may be a removal: a label that shows
  something present cannot prove that something was removed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..adapters.verbs import MAKE_VERBS, REMOVE_VERBS, name_words, writes_by_arguments, written_places
from ..jsonvalues import at_pointer
from ..locator import item_at, moved
from ..match import matches, normalize, probe_passes, result_value
from .derive import DerivationError, compute, found_at, record_of, resolve_locator
from ..explore.policy import VIRTUAL_ROOT
from .facts import FILES_ROOT, REPO_ROOT, leaves, made_up_id
from .model import INITIAL_STATE, Task

AMBIENT = frozenset({"/workspace", FILES_ROOT, REPO_ROOT})  # where every call works: never a trace of one

__all__ = ["Need", "Replay", "SetupNeeds", "before_change", "computing_steps", "initial_texts", "item_moved", "label_steps",
           "made_ids", "made_values", "replay", "same_made_up", "setup_steps", "step_needs"]


@dataclass
class Replay:
    """One replay of (part of) a trajectory: whether it reproduced the label, whether it could
    be played at all (``missed``: a call was not recorded in that world), and why."""

    reproduced: bool
    missed: bool
    reason: str


def label_steps(task: Task) -> set[int]:
    """The steps the label's values come from (for a state change: none; its probe is not a step)."""
    return {p.get("step") for p in task.provenance if p.get("role") != "probe" and isinstance(p.get("step"), int)}


def setup_steps(task: Task) -> list[dict[str, Any]]:
    """The calls of the trajectory a question's label does not read: what it asks to do first.
    For a state change, every call of its trajectory (the changes it asks for)."""
    own = label_steps(task)
    return [c for c in task.trajectory if c.get("step") not in own]


def _recorded(r: Any) -> bool:
    """Whether a simulated error is one the server gave when the call was recorded in that
    world (a read of a thing not made yet: "not found"), not the simulator's miss."""
    meta = getattr(r, "meta", None) or {}
    return meta.get("source") == "recorded" and not meta.get("miss") and not meta.get("approximate")


def replay(task: Task, sim: Any, calls: list[dict[str, Any]],
           recorded: Mapping[int, tuple[Any, Any]] | None = None) -> Replay:
    """Replay ``calls`` in one strict episode and check the task's label against the result.
    ``recorded``: the exploration's results by step; with them a count of the items with one
    value (the folders of a listing) is counted again in the replayed result when its items
    moved apart (:func:`recount`)."""
    episode = sim.episode()
    results: dict[int, Any] = {}
    for call in calls:
        r = episode.call_sync(call["server"], call["tool"], call.get("arguments") or {})
        if r.is_error:
            if _recorded(r):  # the server was seen failing it in that world: played, and no label
                return Replay(False, False, f"step {call.get('step')} {call['server']}/{call['tool']} fails there"
                                            f" ({_short(r.text)})")
            return Replay(False, True, f"step {call.get('step')} {call['server']}/{call['tool']} cannot be replayed")
        results[call.get("step")] = (call, r)
    if task.probe is not None:
        probe = task.probe
        r = episode.call_sync(probe.get("server", ""), probe.get("tool", ""), probe.get("arguments") or {})
        if r.is_error:
            if _recorded(r):
                return Replay(False, False, f"the probe fails there ({_short(r.text)})")
            return Replay(False, True, "the probe was not recorded in that world")
        if probe_passes(probe, task.match, r.content, r.structured_content):
            return Replay(True, False, "the probe shows the end state")
        return Replay(False, False, f"the probe shows {_short(result_value(r.content, r.structured_content))}")
    by_step: dict[Any, list[dict[str, Any]]] = {}
    for p in task.provenance:
        by_step.setdefault(p.get("step"), []).append(p)
    moves: dict[Any, int] = {}
    for at, entries in by_step.items():
        got = results.get(at)
        if got is None:
            return Replay(False, True, f"provenance step {at} is not replayed")
        call, r = got
        record = record_of(at, call["server"], call["tool"], call.get("arguments") or {}, r.content,
                           r.structured_content)
        def check(p: dict[str, Any], record: Any = record) -> tuple[bool, Any]:
            ok, found = found_at(record, str(p.get("path")), p.get("value"))
            return ok or same_made_up(p, found), found
        miss = _not_found(entries, check, 0)
        if miss is None:
            continue
        delta = item_moved(entries, check)
        if delta is None and at in (recorded or {}):
            count = recount(task, entries, record, record_of(at, call["server"], call["tool"],
                                                             call.get("arguments") or {}, *recorded[at]))
            if count is not None:
                if not matches(task.match, task.answer, count):
                    return Replay(False, False, f"the label becomes {count} (step {at}'s items counted again)")
                moves[at] = 0
                continue
        if delta is None:
            p, found = miss
            return Replay(False, False, f"step {at} {p.get('path')} gives {_short(found)}")
        moves[at] = delta
    if recounted := [at for at, d in moves.items() if d == 0]:
        if len(by_step) > 1:  # the count is the whole label only when it is the label's only step
            return Replay(False, False, f"step {recounted[0]}'s items moved apart")
        return Replay(True, False, "the label is reproduced (its items counted again)")
    try:
        value = compute(task.derivation, task.provenance)
    except DerivationError as exc:
        return Replay(False, False, f"the derivation cannot be computed: {exc}")
    if not matches(task.match, task.answer, value):
        return Replay(False, False, f"the label becomes {_short(value)}")
    said = "; ".join(f"step {at}'s item moved {d:+d} places" for at, d in moves.items())
    return Replay(True, False, "the label is reproduced" + (f" ({said})" if said else ""))


def recount(task: Task, entries: list[dict[str, Any]], replayed: Any, recorded: Any) -> int | None:
    """A count label counted again in a replayed result whose items moved apart (a file
    written into the listed folder lists itself among the folders): how many items of the
    replayed list hold the one value the counted items held at the same field (``type`` is
    ``directory``). Only when the label is that count (a ``count`` derivation of the step's
    items, every one holding the same value) and the recorded list shows the filter: exactly
    the counted items hold the value there and another item holds another one (a list of
    folders only, counted whole, says nothing of what was counted). None otherwise."""
    if (task.derivation or {}).get("op") != "count" or not entries or any(p.get("role") != "item" for p in entries):
        return None
    value = entries[0].get("value")
    if isinstance(value, (dict, list)) or any(p.get("value") != value for p in entries):
        return None
    path = str(entries[0].get("path"))
    there = _holding(recorded, path, value)
    if there is None or there[0] != len(entries) or not there[1] \
            or not all(found_at(recorded, str(p.get("path")), value)[0] for p in entries):
        return None
    again = _holding(replayed, path, value)
    return None if again is None else again[0]


def _holding(record: Any, path: str, value: Any) -> tuple[int, int] | None:
    """(items holding ``value`` at ``path``'s field, items holding another or none) over the
    whole list ``path`` points into (:func:`firefly.locator.item_at`); None when it points
    into no list."""
    if item_at(path, 0) is None:
        return None
    same = other = 0
    for position in range(100_000):
        item, field = item_at(path, position)  # type: ignore[misc]
        if resolve_locator(record, item) is None:
            break
        if found_at(record, field, value)[0]:
            same += 1
        else:
            other += 1
    return same, other


def same_made_up(entry: dict[str, Any], found: Any) -> bool:
    """Whether a replayed value stands for the recorded one as a made-up id does: the entry
    is a value a hop went through (``via``: the id a later call took, never the answer) and
    both are ids the server made up (:func:`made_up_id`: a session opened again gets another
    id; the later call, replayed as recorded, answers the same)."""
    return entry.get("role") == "via" and made_up_id(entry.get("value")) and made_up_id(found)


MAX_MOVE = 100  # places an item may have moved in a listing and still be the same item

Check = Callable[[dict[str, Any]], tuple[bool, Any]]  # a provenance entry -> (found, what is there)


def _not_found(entries: list[dict[str, Any]], check: Check, delta: int) -> tuple[dict[str, Any], Any] | None:
    """The first entry whose value is not where its locator, moved ``delta`` places, points
    (with what is there), or None when every one is. A locator with no position stays put."""
    for p in entries:
        path = str(p.get("path"))
        if delta and "derive" not in p:
            shifted = moved(path, delta)
            if shifted is None and (moved(path, 1) is not None or moved(path, -1) is not None):
                return p, None  # moved out of the result
            p = {**p, "path": shifted or path}
        ok, found = check(p)
        if not ok:
            return p, found
    return None


def item_moved(entries: list[dict[str, Any]], check: Check) -> int | None:
    """How many places the item a label was read from (``entries``: its provenance entries of
    one step) moved in a replayed result, when every value the label took from it, the key
    that picked it among the others included, is found moved alike: the same item, listed
    elsewhere because the world without a step lists more or fewer things before it. None
    when the label picked its item by position (no key: a moved item is another item) or no
    single move finds every value."""
    if not any(p.get("role") == "key" for p in entries):
        return None
    for delta in sorted(range(-MAX_MOVE, MAX_MOVE + 1), key=abs)[1:]:
        if _not_found(entries, check, delta) is None:
            return delta
    return None


_QUOTED = re.compile(r"'([^'\n]{3,})'|\"([^\"\n]{3,})\"")
_NAME = re.compile(r"[A-Za-z_/.][\w./-]{3,}")
_DISTINCT = re.compile(r"[_./-]|\d")  # order_items, notes-12, a/b.md: a name, not a common word


def _traces(call: dict[str, Any]) -> list[str]:
    """Values of a call's arguments a result could show (strings of 3 characters or more),
    except the places every call works in (the workspace, its files and repository folders)."""
    out = []
    for v in leaves(call.get("arguments") or {}):
        if isinstance(v, str) and len(v.strip()) >= 3:
            v = v.strip().rstrip("/")
            if v in AMBIENT:
                continue
            out.append(v)
            if "/" in v:
                out.append(v.rsplit("/", 1)[-1])
            if re.search(r"\s", v):  # a command, a query, a text: its quoted values and distinctive names
                out.extend(m.group(1) or m.group(2) for m in _QUOTED.finditer(v))
                out.extend(t for t in _NAME.findall(v) if _DISTINCT.search(t) and t not in AMBIENT)
    return [normalize(v) for v in out if len(v) >= 3]


def _word_in(value: str, text: str) -> bool:
    return re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", text) is not None


def _shows(text: str, call: dict[str, Any], *earlier: str) -> bool:
    """Whether ``text`` shows a value ``call`` introduced: a value of its arguments that no
    result recorded before it showed (``earlier``: texts of what the world showed). A value the call only repeats (a name it
    was given from an earlier listing, a line copied from a file it read, a path whose name a
    listing showed) is in the label whether or not the call was made: no trace of the call."""
    def seen(t: str) -> bool:  # a path is seen when its last part is (a listing shows names)
        return any(_word_in(t, e) or ("/" in t and _word_in(t.rsplit("/", 1)[-1], e)) for e in earlier)
    return any(_word_in(t, text) and not seen(t) for t in _traces(call))


SEEDS = ""  # the key of :func:`initial_texts` whose text lists the sandbox's seed files


def earlier_texts(call: dict[str, Any], recorded: dict[int, tuple[Any, Any]],
                  initial: Mapping[str, str] | None = None) -> tuple[str, str, str]:
    """What the world showed before ``call``: the normalized text of every result recorded
    before its step (``recorded``: step -> (content, structured)), that of every result the
    initial world gave its server in any exploration, and the paths of the files every
    sandbox starts with (``initial``: :func:`initial_texts`)."""
    at = call.get("step")
    if not isinstance(at, int):
        return "", "", ""
    parts = [str(v) for step, result in recorded.items() if isinstance(step, int) and step < at
             for v in leaves(list(result)) if isinstance(v, (str, int, float))]
    initial = initial or {}
    return normalize(" | ".join(parts)), initial.get(call.get("server", ""), ""), initial.get(SEEDS, "")


def initial_texts(store: Any) -> dict[str, str]:
    """Per server, the normalized text of every read-only result recorded in the initial world,
    in any exploration or survey: names and values the world showed before any change (the
    result of a change made there shows what the change introduced). Under :data:`SEEDS`,
    the paths of the files and folders every sandbox starts with (:func:`seed_paths`): a
    path a call names that was there before it is no value it introduced."""
    parts: dict[str, list[str]] = {}
    for server, content, structured in store.conn.execute(
            "SELECT server, content, structured_content FROM calls WHERE ok = 1 AND read_only = 1 AND state = ?",
            (INITIAL_STATE,)):
        values = leaves([json.loads(content or "null"), json.loads(structured or "null")])
        parts.setdefault(server, []).extend(str(v) for v in values if isinstance(v, (str, int, float)))
    out = {server: normalize(" | ".join(texts)) for server, texts in parts.items() if server != SEEDS}
    out[SEEDS] = normalize(" | ".join(seed_paths(store)))
    return out


def seed_paths(store: Any) -> list[str]:
    """The paths (``/workspace/...``) of the files and folders a sandbox starts with: the seed
    workspace and the fixtures of every registered server (a git repository's insides left
    out). Empty when the fixtures a log names are not on this machine."""
    from ..discovery import registered
    from ..errors import FireflyError
    from ..fixtures import build_sandbox, fixtures_of
    from ..processes import scratch_dir

    specs = fixtures_of(registered(store))
    key = tuple(sorted(f"{spec.base}|{spec.digest}" for spec in specs))
    if key not in _SEED_PATHS:
        with scratch_dir("firefly-seeds-") as tmp:
            root = Path(tmp) / "workspace"
            try:
                build_sandbox(root, specs)
            except (OSError, FireflyError):
                return []  # a log from another machine: no seed is known, every path may be new
            _SEED_PATHS[key] = sorted(f"{VIRTUAL_ROOT}/{p.relative_to(root).as_posix()}" for p in root.rglob("*")
                                      if ".git" not in p.relative_to(root).parts)
    return list(_SEED_PATHS[key])


_SEED_PATHS: dict[tuple[str, ...], list[str]] = {}  # the fixtures' bases and digests -> seed_paths


def label_text(task: Task) -> str:
    """The normalized text of what the label is: the probe's arguments and expected end state
    for a state change; else the values the label was read from (the answer, the keys that
    picked its item, the values a hop went through: the provenance) and the arguments of the
    calls it was read from (what it was asked about). Not the rest of those calls' results: an
    observation added to an entity shows in the entity's record, yet the entity's type does
    not depend on it."""
    if task.probe is not None:
        return normalize(" | ".join(str(v) for v in leaves([task.probe.get("arguments"), task.probe.get("expected")])))
    calls = {c.get("step"): c for c in task.trajectory}
    parts = [str(v) for v in leaves([p.get("value") for p in task.provenance]) if isinstance(v, (str, int, float))]
    for step in sorted(label_steps(task)):
        arguments = (calls.get(step) or {}).get("arguments")
        parts.extend(str(v) for v in leaves(arguments) if isinstance(v, (str, int, float)))
    return normalize(" | ".join(parts))


@dataclass
class Need:
    """Whether one setup call is needed, why, and whether the task replays without it (a
    call that is not needed but cannot be left out makes the task padded for good)."""

    call: dict[str, Any]
    needed: bool
    why: str
    removable: bool


def made_values(x: Any, initial: Mapping[str, str] | None = None) -> dict[int, set[int]]:
    """For each step of an exploration, the earlier steps whose result made a value fed to
    its arguments: the explorer recorded the argument as taken from that result (the whole
    argument: a reference, not a value written into a text), no result before it showed
    the value and the step was not given it (an id or a path the step created, not one it
    read nor one it says back, unless it wrote there: an output path it was given;
    strings of three characters or more); or, unrecorded, an id or a path an effect's result
    showed first (:func:`_made_unsaid`). ``initial``: :func:`initial_texts`."""
    if x is None:
        return {}
    texts = {s.step: normalize(" | ".join(str(v) for v in leaves([s.content, s.structured])))
             for s in x.steps if s.ok}
    given = {s.step: {normalize(v) for v in leaves(s.arguments) if isinstance(v, str)} for s in x.steps}
    wrote = {s.step: _wrote(x, s) for s in x.steps if s.effectful}
    out: dict[int, set[int]] = {}
    for s in x.steps:
        for src in s.sources or []:
            k, value = src.get("step"), src.get("value")
            if not isinstance(k, int) or k not in texts or not isinstance(value, str) or len(value.strip()) < 3:
                continue  # a name, an id, a path: not a number or a flag any result may show
            if at_pointer(s.arguments, str(src.get("argument", ""))) != value:
                continue  # the value is written into a text (a title, a note): a mention, not a reference
            v = normalize(value)
            if v in given.get(k, set()) and v not in wrote.get(k, set()):
                # its result said back what it was given ("operation": "sqrt"): nothing it made; but
                # a place it was given to write to (an output path) it made
                continue
            if not any(_word_in(v, t) for j, t in texts.items() if j < k):
                out.setdefault(s.step, set()).add(k)
    for step, k in _made_unsaid(x, texts, initial or {}):
        out.setdefault(step, set()).add(k)
    return out


def made_ids(x: Any) -> dict[int, dict[str, int]]:
    """For each step of an exploration, the made-up ids (:func:`made_up_id`: a session's
    UUID, ``task-4bfdc920``) it was given as whole arguments, each with the step that made
    it: the first earlier successful step whose result shows the id and whose own arguments
    do not (it opened the session, created the task). A task whose call takes such an id
    must make that step and take the id from its result: the question cannot quote an id
    another run would not have."""
    if x is None:
        return {}
    texts = {s.step: normalize(" | ".join(str(v) for v in leaves([s.content, s.structured])))
             for s in x.steps if s.ok}
    out: dict[int, dict[str, int]] = {}
    for s in x.steps:
        for value in leaves(s.arguments):
            if not made_up_id(value):
                continue
            v = normalize(value.strip())
            origin = next((e for e in x.steps if e.step < s.step and e.step in texts and _word_in(v, texts[e.step])), None)
            if origin is None or any(isinstance(a, str) and v in normalize(a) for a in leaves(origin.arguments)):
                continue
            out.setdefault(s.step, {})[value.strip()] = origin.step
    return out


def id_needed(call: dict[str, Any], task: Task, ids: Mapping[int, Mapping[str, int]], users: Collection[Any]) -> int | None:
    """The step of ``users`` (the label's calls; for a state change, the changes it asks
    for) that takes a made-up id ``call`` made (``ids``: :func:`made_ids`), when the
    question does not give the id: the task cannot be done without ``call``, whatever a
    replay with the recorded id shows."""
    question = normalize(task.question)
    for other in task.trajectory:
        if other is call or other.get("step") not in users:
            continue
        for value, origin in (ids.get(other.get("step")) or {}).items():
            if origin == call.get("step") and not _word_in(normalize(value), question):
                return other.get("step")
    return None


_MADE = re.compile(r"^(?=.*\d)[\w.:/-]{6,}$")  # an id or a path with a digit: what a server makes up, not a word


def _makes(x: Any, e: Any) -> bool:
    """Whether an effect says it makes something: a making verb in its tool's name (create,
    new, open, start, add ...) or a place to write to that the call filled (an output path)."""
    ref = x.ref(e.server, e.tool)
    return bool(MAKE_VERBS & set(name_words(e.tool))) or writes_by_arguments(getattr(ref, "input_schema", None), e.arguments)


def _wrote(x: Any, step: Any) -> set[str]:
    """The places (normalized paths) an effectful step was given to write to
    (:func:`~firefly.adapters.verbs.written_places`: an ``output_path``): things it made,
    though its arguments named them first."""
    ref = getattr(x, "ref", None)
    schema = getattr(ref(step.server, step.tool), "input_schema", None) if ref is not None else None
    return {normalize(p) for p in written_places(step.tool, schema, step.arguments) or []}


def _made_unsaid(x: Any, texts: dict[int, str], initial: Mapping[str, str]) -> list[tuple[int, int]]:
    """(step, earlier effect) pairs where a whole argument of the step is an id or a path
    (:data:`_MADE`) that the effect, one that makes something (:func:`_makes`), shows first
    in its result: no earlier result, nor the initial
    world of its server, nor the effect's own arguments showed it, unless as a place it was
    given to write to (the effect made it, and said so; the explorer did not record where the
    argument came from)."""
    out, steps = [], x.by_step()
    for s in x.steps:
        for value in leaves(s.arguments):
            if not isinstance(value, str) or not _MADE.match(value.strip()):
                continue
            v = normalize(value)
            first = next((j for j in sorted(texts) if j < s.step and _word_in(v, texts[j])), None)
            e = steps.get(first) if first is not None else None
            if e is None or not e.effectful or not _makes(x, e) or _word_in(v, initial.get(e.server, "")) or \
                    (any(isinstance(a, str) and normalize(a) == v for a in leaves(e.arguments)) and v not in _wrote(x, e)):
                continue  # shown before, or said back from its arguments (but an output path given it, it wrote)
            out.append((s.step, first))
    return out




def step_needs(task: Task, sim: Any, recorded: dict[int, tuple[Any, Any]],
               made: Callable[[], dict[int, set[int]]] | None = None,
               initial: Mapping[str, str] | None = None, computed: Collection[int] = (),
               ids: Mapping[int, Mapping[str, int]] | None = None) -> list[Need]:
    """For every setup step (:func:`setup_steps`): whether it is needed and why. ``made``:
    gives :func:`made_values` of the task's exploration, asked on a miss (without it, only
    the label decides a miss); ``initial``: :func:`initial_texts`; ``computed``: the steps
    whose tool computes (:func:`computing_steps`): it brings nothing its arguments name into
    being, so a value of its arguments the label shows is an input both calls took (a file
    both analysed, an expression both evaluated), no trace of it; only a value it made and a
    label's call takes can make it needed. ``ids``: :func:`made_ids` of the exploration; a
    step that made an id another step of the task takes, which the question does not give,
    is needed (:func:`id_needed`)."""
    text = label_text(task)
    # who may take a made value: the label's own calls; for a state change, every change it
    # asks for (each is checked in turn) and its probe
    users = label_steps(task) if task.probe is None else (
        {c.get("step") for c in task.trajectory} | {p.get("step") for p in task.provenance})
    takes: dict[int, set[int]] | None = None
    out = []
    for call in setup_steps(task):
        taker = id_needed(call, task, ids or {}, users)
        if taker is not None:
            out.append(Need(call, True, f"step {taker} takes an id it made, which the question does not give", True))
            continue
        rest = [c for c in task.trajectory if c is not call]
        r = replay(task, sim, rest, recorded)
        if r.missed:
            if takes is None:
                takes = made() if made is not None else {}
            taker = min((k for k in users if k != call.get("step") and call.get("step") in takes.get(k, ())),
                        default=None)
            # a state change says its steps changed something: no step of it only computed
            shows = (task.probe is not None or call.get("step") not in computed) and _shows(
                text, call, *earlier_texts(call, recorded, initial))
            needed = shows or taker is not None
            why = (f"without it {r.reason}, and the label shows what it did" if shows
                   else f"without it {r.reason}, and step {taker} takes a value it made" if needed
                   else f"without it {r.reason}, and the label shows nothing it did")
        else:
            needed = not r.reproduced
            why = f"without it {r.reason}"
        out.append(Need(call, needed, why, not r.missed))
    return out


def before_change(task: Task, sim: Any, recorded: dict[int, tuple[Any, Any]] | None = None,
                  initial: Mapping[str, str] | None = None) -> tuple[bool, str]:
    """Whether a state change's label fails in the world before its first change (see the
    module docstring), and why."""
    effects = [c for c in setup_steps(task) if not _reads(sim, c)]  # (a read that opened what a change takes)
    first = min((c.get("step", 0) for c in effects), default=0)
    before = [c for c in task.trajectory if c.get("step", 0) < first]
    r = replay(task, sim, before)
    if not r.missed:
        if r.reproduced:
            return False, "the label already holds before the change: doing nothing passes"
        return True, f"before the change {r.reason}: the label fails"
    removals = [c for c in effects if REMOVE_VERBS & set(name_words(c.get("tool", "")))]
    if removals:
        return False, (f"{removals[0]['tool']} removes something; the probe was never recorded before it,"
                       " so nothing shows the label fails without the change")
    text = label_text(task)
    if not any(_shows(text, c, *earlier_texts(c, recorded or {}, initial)) for c in effects):
        return False, "the probe was never recorded before the change and the label shows nothing the change stated"
    return True, "the probe was not recorded before the change; the label shows a value the change introduced"


def _reads(sim: Any, call: dict[str, Any]) -> bool:
    """Whether the simulator knows ``call``'s tool as one that reads (changes no world state)."""
    tool = getattr(sim, "tools", {}).get((call.get("server"), call.get("tool")))
    return tool is not None and tool.reads(call.get("arguments") or {})


def computing_steps(x: Any) -> set[int]:
    """The steps of an exploration that ran a tool that computes (a calculator, an analysis:
    :meth:`Exploration.answers` though not read-only). They stay effects for the world state
    (nothing proves they change nothing), but not for what a label shows."""
    if x is None:
        return set()
    out = set()
    for s in x.steps:
        ref = x.ref(s.server, s.tool)
        if s.effectful and x.answers(s) and not writes_by_arguments(getattr(ref, "input_schema", None), s.arguments):
            out.add(s.step)  # (a call that filled a place to write to, an output path, wrote there)
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


class SetupNeeds:
    """What a synthesizer asks before it writes a setup into a question: which of these setup
    calls does the label need? (The ones :func:`step_needs` finds needed, asked again until
    the answer is stable, since dropping one can change what another does.)"""

    def __init__(self, sim: Any, initial: Mapping[str, str] | None = None):
        self.sim = sim
        self.initial = initial  # :func:`initial_texts`

    def __call__(self, x: Any, candidate: Any, setup: list[Any]) -> list[Any] | None:
        """The setup calls to keep, or None when one that is not needed cannot be left out
        (the label's calls were never recorded without it): the candidate is padded.

        Calls that cannot be left out one at a time may be left out together (a later call
        of the setup was recorded only after an earlier one; the label's call was recorded
        in a world without any of them): those not needed are tried all at once, then one
        by one from the last, each kept out when the replay still gives the label."""
        recorded = {s.step: (s.content, s.structured) for s in x.steps}
        computed = computing_steps(x)
        ids = made_ids(x)
        found: list[dict[int, set[int]]] = []

        def made() -> dict[int, set[int]]:
            if not found:
                found.append(made_values(x, self.initial))
            return found[0]

        def holds(kept: list[Any]) -> bool:
            task = _as_task(x, candidate, kept)
            return replay(task, self.sim, task.trajectory, recorded).reproduced

        kept = list(setup)
        for _ in range(4):
            if not kept:
                break
            needs = step_needs(_as_task(x, candidate, kept), self.sim, recorded, made, self.initial, computed, ids)
            spare = {n.call.get("step") for n in needs if not n.needed}
            if not spare:
                break
            if all(n.removable for n in needs if not n.needed):
                kept = [s for s in kept if s.step not in spare]
                continue
            without = [s for s in kept if s.step not in spare]
            if holds(without):
                kept = without
                continue
            before = len(kept)
            for s in sorted((s for s in kept if s.step in spare), key=lambda s: -s.step):
                fewer = [k for k in kept if k is not s]
                if holds(fewer):
                    kept = fewer
            if len(kept) == before:
                return None
        else:
            return None  # still changing after every round: no stable answer
        if len(kept) < len(setup) and not holds(kept):  # the label as the trajectory without the rest gives it
            return None
        return kept


def _as_task(x: Any, candidate: Any, setup: list[Any]) -> Task:
    """A candidate as the task it becomes with these setup calls before its label's calls."""
    steps = x.by_step()
    order = sorted(set(candidate.label_steps) | {s.step for s in setup})
    return Task(task_id="", exploration_id=x.exploration_id, dag_id=x.dag_id, kind=candidate.kind,
                question=candidate.question, answer=candidate.answer, match=candidate.match,
                trajectory=[steps[k].call() for k in order], probe=candidate.probe,
                provenance=candidate.provenance, derivation=candidate.derivation)
