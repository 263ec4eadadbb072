"""An environment for RL trainers and evaluators: synthesized tasks, played against the simulator.

    env = FireflyEnv("firefly.db", split="train")        # opens the database read-only
    obs = env.reset(task_id)            # {"task_id", "messages": [system, user], "tools": [...]}
    out = env.step(tool_calls=[{"id": "c1", "name": "git__git_log",
                                "arguments": '{"repo_path": "/workspace/repo"}'}])
    out.messages                        # one ``tool`` message per call: the simulator's results
    out = env.step(final_answer="3")    # ends the episode
    out.reward, out.done                # 1.0 / 0.0 from the task's label and match rule, True
                                        # (the share of fields right for an answer with fields)

* Tools are OpenAI function specs built from the recorded tool schemas (the ``tools`` table):
  every callable tool of the servers the task involves, named ``<server>__<tool>`` by
  :mod:`firefly.toolnames` (unique among the task's tools; colliding names get a hash
  suffix), and each name calls exactly its own tool.
* Each episode has its own simulated world (a simulator episode): the effects of its calls
  are its own, so parallel episodes never see each other's effects.
* A question's reward compares the final answer with the label under the task's match rule
  (:mod:`firefly.match`); a question that asks for changes first (a setup the label needs)
  scores only if the episode made them. A state-change task is scored by running its probe
  (a read-only call that observes the change) against the episode's own simulated state and
  comparing what it returns with what the probe observed during exploration. An action (an
  instruction to a tool whose reply says nothing a question could ask: play this tune, plan
  this task) is scored by whether the episode made the call it asks for (the label is the
  call; the final reply is only the end of the episode).
* A malformed tool call (an unknown function, arguments that are not a JSON object) gets an
  error ``tool`` message and the episode goes on. An episode that reaches ``max_turns``
  without an answer ends with reward 0.
* The database is opened read-only: any number of environments, in one process or many,
  share one file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import FireflyError
from .match import FIELD_REWARDS
from .store import Store
from .synth.model import Task, load_task, made_call
from .toolnames import ToolNames, tool_names

SYSTEM_PROMPT = (
    "You are an assistant that answers questions and carries out requests by calling tools. "
    "Files live under /workspace. Call the tools you need, read their results, and call more "
    "if needed. When you are done, reply without tool calls: for a question, reply with the "
    "answer only (no explanation); for a change you were asked to make, make it with the tools "
    "first, then reply with a short confirmation."
)
DEFAULT_MAX_TURNS = 16


class EnvError(FireflyError):
    """The environment was used out of order (a step before reset, after the end ...)."""


class TaskNotFound(FireflyError):
    """A task id that is not among the environment's verified tasks."""


# -- tasks -------------------------------------------------------------------------------------


def task_ids(conn: sqlite3.Connection, split: str | None, *, verified_only: bool = True) -> list[str]:
    """Verified tasks of a split (every verified task when ``split`` is None), in id order;
    ``verified_only=False`` takes unverified tasks too (to look at what synthesis wrote)."""
    where = ["verified = 1"] if verified_only else []
    if split:
        where.append("split = ?")
    sql = "SELECT task_id FROM tasks" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY task_id"
    return [r[0] for r in conn.execute(sql, (split,) if split else ())]


# -- tools as OpenAI function specs --------------------------------------------------------------


def parameters_of(schema: Any) -> dict[str, Any]:
    """The recorded input schema as function parameters (an object schema, always)."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    params = {k: v for k, v in schema.items() if k != "$schema"}
    params.setdefault("type", "object")
    if params["type"] == "object":
        params.setdefault("properties", {})
    return params


@dataclass(frozen=True)
class Toolbox:
    """The function specs offered to the agent, and which recorded tool each name calls."""

    specs: list[dict[str, Any]]
    names: ToolNames

    @property
    def targets(self) -> dict[str, tuple[str, str]]:
        """Function name -> (server, tool)."""
        return self.names.by_name


def toolbox(conn: sqlite3.Connection, servers: list[str]) -> Toolbox:
    """Every callable tool of ``servers`` as an OpenAI function spec, ordered by server and name."""
    specs: list[dict[str, Any]] = []
    if not servers:
        return Toolbox(specs, tool_names([]))
    marks = ",".join("?" * len(servers))
    rows = conn.execute(
        f"SELECT server, name, description, input_schema FROM tools WHERE callable = 1 AND removed = 0"
        f" AND server IN ({marks}) ORDER BY server, name",
        servers,
    ).fetchall()
    names = tool_names((server, name) for server, name, _, _ in rows)
    for server, name, description, schema in rows:
        fname = names.name(server, name)
        specs.append({
            "type": "function",
            "function": {
                "name": fname,
                "description": f"[{server}] {description or name}",
                "parameters": parameters_of(json.loads(schema)),
            },
        })
    return Toolbox(specs, names)


# -- results as tool messages --------------------------------------------------------------------


def result_text(content: list[dict[str, Any]], structured: Any, is_error: bool) -> str:
    """A tool result as the text of a ``tool`` message: text blocks joined, other blocks as
    JSON, structured content when there is nothing else; errors start with ``Error:``."""
    parts = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        else:
            parts.append(json.dumps(block, sort_keys=True, ensure_ascii=False))
    text = "\n".join(parts)
    if not text and structured is not None:
        text = json.dumps(structured, sort_keys=True, ensure_ascii=False)
    if is_error and not text.lower().startswith("error"):
        text = f"Error: {text}" if text else "Error: the tool failed without a message"
    return text


def answer_text(value: Any) -> str:
    """A label as the text of an answer: a string as it is, anything else as JSON (a list as
    a JSON list, which every rule reads item by item, even items that contain commas)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# -- scoring ------------------------------------------------------------------------------------


def reward(task: Task, answer: str | None, episode: Any = None, *, field_reward: str | None = None) -> float:
    """A reward in [0, 1]. No answer scores 0. A question compares the answer with the label under the
    task's match rule; a state-change task runs its probe in ``episode`` (the simulator
    episode the agent acted in) and compares its result with the end state it expects; an
    action scores 1.0 when the episode made the call its label is (:func:`made_call`). An
    answer with named fields (rule ``fields``) is scored field by field: the share of fields
    right, or all-or-nothing with ``reward: all`` (:func:`firefly.match.score`);
    ``field_reward`` (``share`` or ``all``) overrides the task's choice. A reading of the clock
    or of chance is compared with what the episode's own call returned (:func:`expected`), and
    scores 0 when the episode never made that call (:func:`not_read`). A
    question that asks for changes first scores 0 unless the episode made them (:func:`setup_done`)."""
    from .match import MatchRuleError, probe_passes, score

    if answer is None:
        return 0.0
    try:
        if task.probe is not None:
            if episode is None:
                return 0.0
            probe = task.probe
            result = episode.call_sync(probe["server"], probe["tool"], probe.get("arguments") or {})
            return float(probe_passes(probe, task.match, result.content, result.structured_content, result.is_error))
        if task.match.get("rule") == "called":
            return float(made_call(task, episode))
        match = task.match
        if field_reward is not None and match.get("rule") == "fields":
            match = dict(match, reward=field_reward)
        if not_read(task, episode):
            return 0.0  # a reading of the clock or of chance the episode never made: nothing to report
        value = score(match, expected(task, episode), answer)
        if not value:
            return 0.0
        return value * float(setup_done(task, episode))  # a question that asks for a change first
    except MatchRuleError:  # a label the rules cannot read scores 0, never crashes a rollout
        return 0.0


def _reading(task: Task, episode: Any) -> tuple[dict[str, Any], Any] | None:
    """For a reading of the clock or of chance (a match with ``returned``: the tool, its
    arguments and the locator of the value asked for) scored in an episode: ``returned`` and
    the episode's own last result of that call (None: the episode never made it). None for
    any other task, or without an episode (a text-only reward)."""
    returned = task.match.get("returned") if isinstance(task.match, dict) else None
    if not isinstance(returned, dict) or episode is None or not hasattr(episode, "returned"):
        return None
    try:
        return returned, episode.returned(returned["server"], returned["tool"], returned.get("arguments") or {})
    except (KeyError, TypeError, ValueError):
        return None


def expected(task: Task, episode: Any) -> Any:
    """The label an answer is scored against. For a reading of the clock or of chance, the
    value the episode's own last call of that tool with those arguments returned at the
    locator (:func:`_reading`), so that an agent is right to report what its call said
    (another roll of the dice, the time when it asked); without such a call in the episode
    (or without an episode), the recorded label (the value a fresh simulated episode is
    given; :func:`reward` scores such an episode 0, :func:`not_read`)."""
    from .locator import resolve

    found = _reading(task, episode)
    if found is None or found[1] is None:
        return task.answer
    returned, result = found
    try:
        value = resolve(result.content, result.structured_content, returned["locator"])
    except (KeyError, TypeError, ValueError):
        return task.answer
    return task.answer if value is None else value


def not_read(task: Task, episode: Any) -> bool:
    """Whether a reading task's episode never made the call whose result it asks for (the
    time, the roll): a right guess is no report of what a call returned. Without an episode
    (a text-only reward), nothing can tell: False."""
    found = _reading(task, episode)
    return found is not None and found[1] is None


def setup_done(task: Task, episode: Any) -> bool:
    """Whether the episode made every change a question asks for first (its setup: the calls
    of the reference trajectory the label does not read that change the world, each one
    needed for the label, as the ``no-padding`` verifier checked). A right answer without
    them scores 0."""
    from .ids import content_hash
    from .synth.necessity import setup_steps

    setup = setup_steps(task)
    if not setup:
        return True
    if episode is None:
        return False
    read_only = {(t.server, t.name) for server in {c["server"] for c in setup} for t in episode.sim.tools_of(server)
                 if t.read_only}
    made = {tuple(e) for e in episode.effects}

    def done(c: dict[str, Any]) -> bool:
        if (c["server"], c["tool"], content_hash(c.get("arguments") or {})) in made:
            return True
        # the call made and answered from a record: its effect is kept under the recorded call's
        # hash (the same call written with its defaults, in another exploration); a call of a
        # tool not known to be read-only that was recorded as changing nothing (a shell running
        # `head`, whose output id the label's read takes) leaves no effect: making it is the setup
        got = episode.returned(c["server"], c["tool"], c.get("arguments") or {}) if hasattr(episode, "returned") else None
        meta = (got.meta or {}) if got is not None else {}
        return got is not None and (bool(meta.get("read_only")) or (c["server"], c["tool"], meta.get("arguments_hash")) in made)

    return all(done(c) for c in setup if (c["server"], c["tool"]) not in read_only)


# -- the environment ----------------------------------------------------------------------------


@dataclass
class _Slot:
    """One episode in play: its record, its function names, its simulated world."""

    episode: Episode | None = None
    names: ToolNames = field(default_factory=lambda: tool_names([]))
    sim: Any = None


@dataclass
class StepResult:
    """What a step returns: the new messages (``tool`` results), the reward (0 until the end),
    whether the episode is over, and details (``outcome``, ``turns`` ...)."""

    messages: list[dict[str, Any]]
    reward: float = 0.0
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Episode:
    """The record of one episode, as the environment saw it."""

    task: Task
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    calls: list[dict[str, Any]] = field(default_factory=list)
    answer: str | None = None
    reward: float = 0.0
    outcome: str | None = None  # answered, max-turns (None while it runs)
    turns: int = 0
    env_ms: float = 0.0

    @property
    def done(self) -> bool:
        return self.outcome is not None


NEEDED = ("tools", "simulator", "tasks")  # the projections an environment reads


def open_read_only(db: str | PathLike[str]) -> Store:
    """The database as a read-only :class:`Store` (no migration, no writes; on read-only
    media too): what many environments share. The tables it reads (tools, simulator, tasks)
    must be caught up with the log (any firefly command that writes leaves them so)."""
    path = Path(db)
    store = Store.open(path, read_only=True)
    try:
        store.conn.execute("SELECT 1 FROM tasks LIMIT 1")
        behind = store.behind(NEEDED)
    except sqlite3.OperationalError as exc:
        store.close()
        if "no such table" not in str(exc):
            raise FireflyError(f"cannot read {path}: {exc}") from None
        raise FireflyError(f"{path} has no tasks table: synthesize tasks first") from None
    if behind:
        store.close()
        raise FireflyError(f"the tables of {path} are behind its log: run `firefly status --db {path}` once to bring them up to date")
    return store


class FireflyEnv:
    """Tasks of one split, played against the simulator. See the module docstring.

    ``simulator`` may be given to share one :class:`firefly.simulator.Simulator` between
    environments of a process; by default each environment opens its own over ``db``.
    """

    def __init__(
        self,
        db: str | PathLike[str],
        *,
        split: str | None = None,
        mode: str = "strict",
        max_turns: int = DEFAULT_MAX_TURNS,
        system_prompt: str = SYSTEM_PROMPT,
        simulator: Any = None,
        verified_only: bool = True,
        field_reward: str | None = None,
    ):
        if max_turns < 1:
            raise FireflyError("max_turns must be at least 1")
        self.db = Path(db)
        self.split = split
        self.verified_only = verified_only
        if field_reward not in (None, *FIELD_REWARDS):
            raise FireflyError(f"field_reward must be one of {', '.join(FIELD_REWARDS)}, got {field_reward!r}")
        self.field_reward = field_reward  # overrides each task's share / all-or-nothing scoring of fields
        self.mode = mode
        self.max_turns = max_turns
        self.system_prompt = system_prompt
        self.store = open_read_only(self.db)
        self.conn = self.store.conn
        self._simulator = simulator
        self._toolboxes: dict[tuple[str, ...], Toolbox] = {}
        self._task_ids: list[str] | None = None
        self._tasks: dict[str, Task] = {}
        self._owned_store: Store | None = None
        self._slot = _Slot()  # the episode of the one-at-a-time API (reset / step)
        self._instances: dict[str, _Slot] = {}  # the episodes of the instance API, by instance id
        self._lock = threading.Lock()

    # the one-at-a-time API plays the current slot's episode
    episode = property(lambda self: self._slot.episode)
    _names = property(lambda self: self._slot.names)
    _sim_episode = property(lambda self: self._slot.sim)

    # -- tasks -------------------------------------------------------------------------------

    @property
    def task_ids(self) -> list[str]:
        """The verified tasks of the split, in id order."""
        if self._task_ids is None:
            self._task_ids = task_ids(self.conn, self.split, verified_only=self.verified_only)
        return self._task_ids

    def task(self, task_id: str) -> Task:
        task = self._tasks.get(task_id)
        if task is None:
            task = load_task(self.conn, task_id)
            if task is not None and len(self._tasks) < 100_000:
                self._tasks[task_id] = task  # a read-only view: tasks do not change under it
        if task is None or (self.split and task.split != self.split):
            where = f" in split {self.split!r}" if self.split else ""
            raise TaskNotFound(f"no task {task_id!r}{where}")
        return task

    @property
    def simulator(self) -> Any:
        if self._simulator is None:
            from .simulator import Simulator

            # the llm mode records the results its model writes: it needs a writable store
            store = Store.open(self.db) if self.mode == "llm" else self.store
            self._simulator = Simulator.open(store, mode=self.mode)
            if store is not self.store:
                self._owned_store = store
        return self._simulator

    def toolbox(self, servers: list[str]) -> Toolbox:
        key = tuple(sorted(servers))
        if key not in self._toolboxes:
            self._toolboxes[key] = toolbox(self.conn, list(key))
        return self._toolboxes[key]

    # -- episodes ----------------------------------------------------------------------------

    def reset(self, task_id: str | None = None) -> dict[str, Any]:
        """Start an episode on a task (default: the split's first). Returns the observation:
        ``task_id``, ``messages`` (system prompt and question), ``tools`` (function specs) and,
        for an answer with named fields, ``answer_schema`` (its JSON Schema)."""
        if task_id is None:
            if not self.task_ids:
                raise TaskNotFound(f"no verified tasks{f' in split {self.split!r}' if self.split else ''}")
            task_id = self.task_ids[0]
        task = self.task(task_id)
        box = self.toolbox(task.servers)
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": task.question}]
        self._slot = _Slot(Episode(task=task, messages=list(messages), tools=box.specs), box.names, self.simulator.episode())
        observation = {"task_id": task.task_id, "messages": messages, "tools": box.specs}
        if task.answer_schema is not None:
            observation["answer_schema"] = task.answer_schema
        return observation

    # -- many episodes at once, by instance id (async) -----------------------------------------

    async def acreate(self, task_id: str | None = None, *, instance_id: str | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode under an instance id (a new one by default) beside any others:
        returns the id and the observation. Many episodes of one environment run at once,
        each in its own simulated world (what verl's tools and async rollout loops key by)."""
        instance_id = instance_id or f"episode-{uuid.uuid4().hex}"
        if instance_id in self._instances:
            raise EnvError(f"instance {instance_id!r} exists: release it first")
        with self._lock:
            previous = self._slot
            try:
                observation = self.reset(task_id)
                self._instances[instance_id] = self._slot
            finally:
                self._slot = previous
        return instance_id, observation

    async def astep(self, instance_id: str, action: Any = None, **kwargs: Any) -> StepResult:
        """:meth:`step` for one instance's episode. In llm mode a miss asks the model in a
        worker thread (steps run one at a time), so the event loop is not blocked."""
        slot = self.instance(instance_id)
        if self.mode == "llm":
            import anyio

            return await anyio.to_thread.run_sync(lambda: self._step_as(slot, action, kwargs))
        return self._step_as(slot, action, kwargs)

    def _step_as(self, slot: _Slot, action: Any, kwargs: dict[str, Any]) -> StepResult:
        with self._lock:
            previous, self._slot = self._slot, slot
            try:
                return self.step(action, **kwargs)
            finally:
                self._slot = previous

    def instance(self, instance_id: str) -> _Slot:
        slot = self._instances.get(instance_id)
        if slot is None:
            raise EnvError(f"no instance {instance_id!r}: create it first")
        return slot

    def instance_episode(self, instance_id: str) -> Episode:
        """The record of an instance's episode (messages, calls, answer, reward, outcome)."""
        episode = self.instance(instance_id).episode
        assert episode is not None
        return episode

    def instance_function_name(self, instance_id: str, server: str, tool: str) -> str:
        """The function name an instance's episode gives (server, tool)."""
        return self.instance(instance_id).names.name(server, tool)

    async def areward(self, instance_id: str) -> float:
        """The instance's reward: its episode's once it is over; 0.0 while it runs."""
        episode = self.instance_episode(instance_id)
        return episode.reward if episode.done else 0.0

    async def arelease(self, instance_id: str) -> None:
        """Forget an instance's episode (and its simulated world)."""
        self._instances.pop(instance_id, None)

    @property
    def instances(self) -> list[str]:
        return list(self._instances)

    def step(
        self,
        action: list[dict[str, Any]] | dict[str, Any] | str | None = None,
        *,
        tool_calls: list[dict[str, Any]] | None = None,
        final_answer: str | None = None,
        content: str | None = None,
    ) -> StepResult:
        """One assistant turn. ``tool_calls`` (or a list) runs the calls in the simulator and
        returns their ``tool`` messages; ``final_answer`` (or a string) ends the episode with
        its reward; an assistant message dict is either, by whether it has ``tool_calls``.
        A step with neither ends the episode unanswered (reward 0)."""
        ep = self._require_episode()
        if isinstance(action, dict):
            content = action.get("content") if content is None else content
            if action.get("tool_calls"):
                tool_calls = action["tool_calls"]
            elif final_answer is None:
                final_answer = action.get("content") or ""
        elif isinstance(action, list):
            tool_calls = action
        elif isinstance(action, str):
            final_answer = action
        elif action is not None:
            raise EnvError(f"a step takes tool calls, a final answer or an assistant message, not {type(action).__name__}")
        started = time.perf_counter()
        ep.turns += 1
        try:
            if tool_calls:
                result = self._call_tools(ep, tool_calls, content)
            else:
                result = self._finish(ep, final_answer, "answered" if final_answer is not None else "unanswered")
        finally:
            ep.env_ms += (time.perf_counter() - started) * 1000
        return result

    def function_name(self, server: str, tool: str) -> str:
        """The name the current episode's tools give (server, tool) (what an agent calls)."""
        return self._names.name(server, tool)

    def tool_of(self, name: str) -> tuple[str, str] | None:
        """The (server, tool) a function name of the current episode calls, or None."""
        return self._names.target(name)

    def give_up(self) -> StepResult:
        """End the episode without an answer (reward 0), e.g. when the agent's endpoint failed."""
        ep = self._require_episode()
        return self._finish(ep, None, "unanswered")

    def _require_episode(self) -> Episode:
        if self.episode is None:
            raise EnvError("no episode: call reset(task_id) first")
        if self.episode.done:
            raise EnvError("the episode is over: call reset(task_id) for another")
        return self.episode

    def _finish(self, ep: Episode, answer: str | None, outcome: str) -> StepResult:
        if answer is not None:
            answer = answer.strip()
            ep.messages.append({"role": "assistant", "content": answer})
        ep.answer = answer
        ep.reward = reward(ep.task, answer, self._sim_episode, field_reward=self.field_reward)
        ep.outcome = outcome
        return StepResult([], ep.reward, True, {"outcome": outcome, "turns": ep.turns})

    def _call_tools(self, ep: Episode, tool_calls: list[dict[str, Any]], content: str | None) -> StepResult:
        calls = [self._parse_call(ep, i, raw) for i, raw in enumerate(tool_calls)]
        ep.messages.append({
            "role": "assistant",
            "content": content,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["raw_arguments"]}}
                for c in calls
            ],
        })
        out: list[dict[str, Any]] = []
        for call in calls:
            text = self._run_call(ep, call)
            message = {"role": "tool", "tool_call_id": call["id"], "content": text}
            ep.messages.append(message)
            out.append(message)
        if ep.turns >= self.max_turns:
            ep.answer, ep.reward, ep.outcome = None, 0.0, "max-turns"
            return StepResult(out, 0.0, True, {"outcome": "max-turns", "turns": ep.turns})
        return StepResult(out, 0.0, False, {"turns": ep.turns})

    def _parse_call(self, ep: Episode, index: int, raw: Any) -> dict[str, Any]:
        """A tool call in any of the shapes agents produce: ``{id, name, arguments}`` or
        OpenAI's ``{id, type, function: {name, arguments}}``; arguments as JSON text or a dict."""
        raw = raw if isinstance(raw, dict) else {}
        fn = raw.get("function") if isinstance(raw.get("function"), dict) else raw
        name = fn.get("name")
        args = fn.get("arguments")
        call_id = raw.get("id") or f"call_{ep.turns}_{index}"
        raw_arguments = args if isinstance(args, str) else json.dumps(args if args is not None else {}, ensure_ascii=False)
        return {"id": str(call_id), "name": name if isinstance(name, str) else str(name), "arguments": args,
                "raw_arguments": raw_arguments}

    def _run_call(self, ep: Episode, call: dict[str, Any]) -> str:
        record: dict[str, Any] = {"turn": ep.turns, "id": call["id"], "name": call["name"], "server": None,
                                  "tool": None, "arguments": None, "ok": False, "error": None}
        ep.calls.append(record)
        target = self._names.target(call["name"])
        args = call["arguments"]
        error = None
        if target is None:
            known = ", ".join(sorted(self._names.by_name)[:20])
            error = f"unknown tool {call['name']!r}; the tools are: {known}"
        elif isinstance(args, str):
            try:
                args = json.loads(args) if args.strip() else {}
            except ValueError as exc:
                error = f"the arguments of {call['name']} are not valid JSON ({exc}); send a JSON object"
        if error is None and not isinstance(args, dict):
            error = f"the arguments of {call['name']} must be a JSON object, not {type(args).__name__}"
        if error is not None:
            record["error"] = error
            return f"Error: {error}"
        server, tool = target  # type: ignore[misc]
        record.update(server=server, tool=tool, arguments=args)
        result = self._sim_episode.call_sync(server, tool, args)
        record["ok"] = not result.is_error
        meta = result.meta or {}
        if meta.get("approximate") or meta.get("source") not in (None, "recorded"):
            # not the recorded result of this very call: say how it was made
            record["simulated"] = {k: meta[k] for k in ("source", "approximate", "similarity") if k in meta}
        return result_text(result.content, result.structured_content, result.is_error)

    def close(self) -> None:
        self.conn.close()
        if self._owned_store is not None:
            self._owned_store.close()

    def __enter__(self) -> FireflyEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
