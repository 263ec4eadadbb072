"""An exploration as synthesizers and verifiers see it, and the shape of a candidate task.

:func:`load_exploration` reads one finished exploration from the ``calls`` projection: for
every step its final attempt (a failed first attempt that was retried is not part of what
happened to the world). :meth:`Exploration.trajectory_for` builds a reference trajectory:
every successful effectful call before the last call a label needs, then the calls it needs,
in step order. Replayed in that order in one simulator episode, each call is made in the
world state it was recorded in.
"""

from __future__ import annotations

import functools

import json
from dataclasses import dataclass, field
from typing import Any

from ..adapters import Adapter, ServerRecord, adapter_for, server_record
from ..adapters.generic import GenericAdapter
from ..adapters.verbs import blanket, computes
from ..ids import canonical_json, content_hash, short_hash
from ..store import Store

INITIAL_STATE = content_hash([])
ACTION = "action"  # the kind of a task whose label is the call it asks for (firefly.match rule ``called``)


@dataclass(frozen=True)
class Task:
    """One task as the ``tasks`` projection holds it (read by verifiers, the environment,
    evaluation and exports through :func:`task_from_row` / :func:`load_task`)."""

    task_id: str
    exploration_id: str
    dag_id: str
    kind: str
    question: str
    answer: Any
    match: dict[str, Any]
    trajectory: list[dict[str, Any]]
    probe: dict[str, Any] | None
    provenance: list[dict[str, Any]]
    derivation: dict[str, Any]
    template: str = ""
    hops: int = 0
    split: str | None = None
    answer_schema: dict[str, Any] | None = None  # an answer with named fields (firefly.synth.answers)

    @property
    def servers(self) -> list[str]:
        """The servers the task involves, in order of first use."""
        names = [step["server"] for step in self.trajectory]
        if self.probe:
            names.append(self.probe["server"])
        return list(dict.fromkeys(names))

    @property
    def state_change(self) -> bool:
        return self.probe is not None

    @property
    def action(self) -> bool:
        """An instruction whose label is the call it asks for (kind ``action``, rule ``called``)."""
        return self.kind == ACTION

    @property
    def by_world(self) -> bool:
        """Whether the task is scored from what the episode did (a state change, by its probe;
        an action, by its calls), not from the text of the final answer."""
        return self.probe is not None or self.action


def made_call(task: Task, episode: Any) -> bool:
    """For an action (rule ``called``): whether the episode made the call the label is: that
    tool, with every argument the label states (:func:`firefly.match.called`; the episode's
    arguments as the simulator canonicalised them, defaults filled in). What the simulator
    answered does not matter: an argument the question leaves free may make a call it has no
    record of. Without an episode (a text-only reward), nothing shows a call: False."""
    from ..match import called

    made = getattr(episode, "made", None)
    if not isinstance(made, list):
        return False
    return called(task.answer, [{"server": s, "tool": t, "arguments": a} for s, t, a in made])


TASK_COLUMNS = ("task_id, exploration_id, dag_id, kind, question, answer, match, trajectory, probe, provenance,"
                " derivation, template, hops, split, answer_schema")


def task_from_row(row: tuple[Any, ...]) -> Task:
    """A :class:`Task` from a row of ``SELECT {TASK_COLUMNS} FROM tasks``."""
    tid, xid, dag, kind, question, answer, match, traj, probe, prov, deriv, template, hops, split, schema = row
    return Task(
        task_id=tid, exploration_id=xid, dag_id=dag, kind=kind, question=question,
        answer=None if answer is None else json.loads(answer),
        match=json.loads(match) if match else {"rule": "exact"},
        trajectory=json.loads(traj) if traj else [],
        probe=json.loads(probe) if probe else None,
        provenance=json.loads(prov) if prov else [],
        derivation=json.loads(deriv) if deriv else {},
        template=template or "", hops=int(hops or 0), split=split,
        answer_schema=json.loads(schema) if schema else None,
    )


def load_task(conn: Any, task_id: str) -> Task | None:
    row = conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
    return task_from_row(row) if row else None


@dataclass
class Step:
    step: int
    server: str
    tool: str
    arguments: dict[str, Any]
    content: list[dict[str, Any]]
    structured: Any
    ok: bool
    read_only: bool
    sources: list[dict[str, Any]]
    state: str
    probe_of: int | None = None
    arguments_hash: str = ""

    @property
    def effectful(self) -> bool:
        return self.ok and not self.read_only

    def call(self) -> dict[str, Any]:
        return {"step": self.step, "server": self.server, "tool": self.tool, "arguments": self.arguments}

    def source_of(self, argument: str) -> dict[str, Any] | None:
        """The source of an argument (a JSON pointer such as ``/revision``), if it was fed."""
        return next((s for s in self.sources if s.get("argument") == argument), None)


@dataclass
class Exploration:
    exploration_id: str
    dag_id: str
    steps: list[Step]
    adapters: dict[str, Adapter] = field(default_factory=dict)  # server -> its adapter
    tools: dict[tuple[str, str], Any] = field(default_factory=dict)  # (server, tool) -> its ToolRef

    def adapter(self, server: str) -> Adapter:
        """The adapter of a server of this exploration (the generic one for a server unknown)."""
        found = self.adapters.get(server)
        return found if found is not None else GenericAdapter()

    def ref(self, server: str, tool: str) -> Any:
        """The tool as discovery recorded it (title, description, schemas), or None."""
        return self.tools.get((server, tool))

    def by_step(self) -> dict[int, Step]:
        return {s.step: s for s in self.steps}

    def answers(self, step: Step) -> bool:
        """Whether a question may be asked about ``step``'s result: a read-only call, or a call
        of a tool that computes (:func:`firefly.adapters.verbs.computes`: nothing says it
        changes the world or answers by chance). The second stays an effect for the world
        state: the calls recorded after it were made in the world after it."""
        if step.read_only:
            return True
        ref = self.ref(step.server, step.tool)
        if ref is None:
            return False
        return computes(step.tool, None if self.blanket_annotations(step.server) else ref.annotations, ref.description,
                        step.server in self.value_servers, step.arguments)

    @functools.cached_property
    def value_servers(self) -> frozenset[str]:
        """This exploration's servers that make only values (:func:`firefly.explore.paramdocs.value_servers`)."""
        from ..explore.paramdocs import value_servers

        return value_servers(self.tools.values())

    def blanket_annotations(self, server: str) -> bool:
        """Whether a server gives every one of its tools (three or more) the same annotations:
        a reader and a writer annotated alike, so the annotations say nothing about either."""
        return blanket([t.annotations for (s, _), t in self.tools.items() if s == server])

    def maker_of(self, value: str, before: int) -> int | None:
        """The step that made an id this run made up (``task-4bfdc920``): the first one before
        step ``before`` whose successful result shows it (the ``create_task`` that returned
        it, not a later read of it). None when no result shows it."""
        for s in self.steps:
            if s.step >= before:
                break
            if s.ok and value in json.dumps([s.content, s.structured], ensure_ascii=False):
                return s.step
        return None

    def trajectory_for(self, label_steps: set[int]) -> list[Step]:
        last = max(label_steps)
        return [s for s in self.steps if s.step in label_steps or (s.effectful and s.step < last)]

    def setup_for(self, label_steps: set[int]) -> list[Step]:
        """The effectful calls a trajectory needs before (and besides) the label's calls."""
        return [s for s in self.trajectory_for(label_steps) if s.step not in label_steps]


@dataclass
class Candidate:
    """A task before it becomes a ``task-synthesized`` event."""

    kind: str
    template: str
    question: str
    answer: Any
    match: dict[str, Any]
    label_steps: set[int]
    provenance: list[dict[str, Any]]
    derivation: dict[str, Any]
    hops: int = 1
    probe: dict[str, Any] | None = None
    trajectory_steps: set[int] | None = None  # default: trajectory_for(label_steps)
    answer_schema: dict[str, Any] | None = None  # an answer with named fields
    score: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def signature(self) -> str:
        """What makes two candidates the same task: the label and where it comes from."""
        return short_hash([self.kind, self.template, sorted(self.label_steps), canonical_json(self.answer),
                           [p.get("path") for p in self.provenance], self.probe], 20)


def task_id(exploration_id: str, synthesizer: str, candidate: Candidate) -> str:
    return "t" + short_hash([exploration_id, synthesizer, candidate.signature()], 20)


def load_exploration(store: Store, exploration_id: str, adapters: dict[str, Adapter] | None = None,
                     records: dict[str, ServerRecord] | None = None) -> Exploration | None:
    """One exploration's calls (the last attempt of each step), the adapter of each of its
    servers, chosen from what discovery recorded, and its tools as discovery recorded them
    (``adapters``, ``records``: caches shared by the caller)."""
    from ..explore.survey import SURVEY_PREFIX

    row = store.conn.execute(
        "SELECT dag_id FROM explorations WHERE exploration_id = ?", (exploration_id,)).fetchone()
    if row is None and exploration_id.startswith(SURVEY_PREFIX):
        row = (exploration_id,)  # a survey: its own group of tasks (no DAG)
    if row is None:
        return None
    latest: dict[int, Step] = {}
    for (step, attempt, server, tool, arguments, arguments_hash, sources, content, structured, ok, read_only,
         state, position) in store.conn.execute(
        "SELECT step, attempt, server, tool, arguments, arguments_hash, sources, content, structured_content, ok,"
        " read_only, state, position FROM calls WHERE exploration_id = ? ORDER BY step, attempt", (exploration_id,)
    ):
        latest[step] = Step(
            step, server, tool, json.loads(arguments), json.loads(content),
            None if structured is None else json.loads(structured), bool(ok), bool(read_only), json.loads(sources),
            state, arguments_hash=arguments_hash,
        )
    probe_of = _probe_steps(store, exploration_id)
    for s in latest.values():
        s.probe_of = probe_of.get(s.step)
    cache = adapters if adapters is not None else {}
    known = records if records is not None else {}
    for server in sorted({s.server for s in latest.values()}):
        if server not in known:
            known[server] = server_record(store, server)
        if server not in cache:
            cache[server] = adapter_for(known[server])
    servers = {s.server for s in latest.values()}
    tools = {(server, t.name): t for server in servers for t in known[server].tools}
    return Exploration(exploration_id, row[0], [latest[k] for k in sorted(latest)],
                       {server: cache[server] for server in servers}, tools)


def _probe_steps(store: Store, exploration_id: str) -> dict[int, int]:
    """step -> probe_of for probe calls (recorded once the explorer makes them)."""
    out: dict[int, int] = {}
    for (payload,) in store.conn.execute(
        "SELECT payload FROM events WHERE stream = ? AND +type = 'tool-called' AND payload LIKE '%\"probe_of\":%'",
        (f"exploration:{exploration_id}",),
    ):
        data = json.loads(payload)
        if isinstance(data.get("probe_of"), int):
            out[data["step"]] = data["probe_of"]
    return out
