"""The evaluation harness: agents play every task of a split against the simulator.

    agent = OpenAIAgent(LLMConfig.from_env(base_url=..., model="qwen3"))   # or OracleAgent(), NullAgent()
    eval_id = evaluate(store, agent, split="test", samples=1, max_turns=16, concurrency=4)
    for row in eval_report(store, eval_id): ...

* Every episode is one ``episode-recorded`` event (the conversation, the calls, the reward,
  tokens and latency); the evaluation itself is an ``eval-started`` event whose id comes from
  its settings, so running the same evaluation again continues it: recorded episodes are
  kept, the missing ones are played.
* An episode the model's endpoint could not serve (unreachable, timed out, a server error,
  credentials refused: :attr:`LLMCallError.endpoint_down`) is an ``episode-aborted`` event,
  not a result: it is not scored, and the next run plays it again. After ``stop_after``
  such failures in a row (or when every episode of the run failed so) the evaluation stops
  with :class:`EndpointDown` instead of failing the remaining tasks one by one. A reply
  that is merely bad (malformed arguments, an unknown tool, a request the endpoint rejects)
  is still a scored episode.
* Episodes run ``concurrency`` at a time in threads (the model's latency dominates), each
  thread with its own :class:`~firefly.env.FireflyEnv`; events are written by the caller's
  thread.
* An agent that sends what it sees to a model (:class:`OpenAIAgent`) is given every secret
  value the database was given and refuses to send a request holding one
  (:class:`~firefly.errors.SecretFound`).
* Baselines need no LLM: the oracle replays the reference trajectory and answers with the
  label (it must score 1.0), the null agent answers nothing (it must score 0.0).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any, Protocol

from .env import DEFAULT_MAX_TURNS, FireflyEnv, Task, answer_text, load_task, task_ids
from .errors import FireflyError, SecretFound
from .events import EpisodeAborted, EpisodeRecorded, EvalStarted
from .ids import short_hash
from .llm import LLM, LLMCallError, LLMConfig
from .secrets import found
from .store import Store

# -- agents ---------------------------------------------------------------------------------------


@dataclass
class AgentStats:
    """What an agent reports about its episode beyond what the environment saw."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    error: str | None = None
    #: the failure, when the endpoint was down (the episode is aborted, not scored)
    endpoint_failure: LLMCallError | None = None


class Agent(Protocol):
    name: str

    def play(self, env: FireflyEnv, observation: dict[str, Any]) -> AgentStats:
        """Play the episode ``env.reset`` just started, to its end."""
        ...


def oracle_answer(task: Task) -> str:
    """What the oracle answers: the label (a short confirmation for a state-change task, which
    is scored by its probe, and for an action, scored by the call it made)."""
    if task.by_world:
        return "Done."
    return answer_text(task.answer)


class OracleAgent:
    """Replays the task's reference trajectory, one call per turn, and answers with the label."""

    name = "oracle"

    def play(self, env: FireflyEnv, observation: dict[str, Any]) -> AgentStats:
        assert env.episode is not None
        task = env.episode.task
        for i, step in enumerate(task.trajectory):
            call = {"id": f"call_{i}", "name": env.function_name(step["server"], step["tool"]),
                    "arguments": json.dumps(step.get("arguments") or {}, ensure_ascii=False)}
            if env.step(tool_calls=[call]).done:
                return AgentStats()
        env.step(final_answer=oracle_answer(task))
        return AgentStats()


class NullAgent:
    """Calls nothing and answers nothing."""

    name = "null"

    def play(self, env: FireflyEnv, observation: dict[str, Any]) -> AgentStats:
        env.step()
        return AgentStats()


class OpenAIAgent:
    """Any OpenAI-compatible tool-calling model: ask, run the tool calls it makes in the
    environment, send the results back, until it answers without tool calls or the turn limit.

    An endpoint that is down (:attr:`LLMCallError.endpoint_down`) leaves the episode
    unfinished: it is aborted, not scored. Any other failed request (one the endpoint rejects,
    a reply that is not a completion) ends the episode with outcome ``llm-error`` and reward
    0; malformed tool calls are the environment's to answer (an error ``tool`` message), and
    the episode goes on."""

    def __init__(self, config: LLMConfig, *, params: dict[str, Any] | None = None, client: Any = None):
        self.config = config.require("firefly eval")
        self.llm = LLM(config, client=client)
        self.params = {k: v for k, v in (params or {}).items() if v is not None}
        self.name = f"openai:{config.model}"
        self.secrets: dict[str, str] = {}

    def watch_secrets(self, secrets: dict[str, str]) -> None:
        """Refuse to send the model a request holding any of these values (where each
        comes from -> value): :func:`evaluate` passes the database's."""
        self.secrets = dict(secrets)

    def _check(self, request: dict[str, Any], task_id: str) -> None:
        if not self.secrets:
            return
        leaks = found(json.dumps(request, ensure_ascii=False), self.secrets)
        if leaks:
            raise SecretFound(
                f"refusing to send the model a request for task {task_id} that holds the value of {', '.join(leaks)};"
                " the log holds a secret a server echoed (recorded before firefly scrubbed it, or merged from such a log)"
            )

    def play(self, env: FireflyEnv, observation: dict[str, Any]) -> AgentStats:
        stats = AgentStats()
        episode = env.episode
        assert episode is not None
        tools = observation["tools"]
        while not episode.done:
            params = dict(self.params)
            if tools:
                params["tools"] = tools
            request = self.llm.chat_request(episode.messages, **params)
            self._check(request, episode.task.task_id)
            try:
                reply, latency = self.llm.fetch_chat(request)
            except LLMCallError as err:
                stats.error = err.message
                if err.endpoint_down:
                    stats.endpoint_failure = err
                    break
                env.give_up()
                break
            stats.latency_ms += latency
            stats.prompt_tokens += reply.usage.get("prompt_tokens", 0)
            stats.completion_tokens += reply.usage.get("completion_tokens", 0)
            if reply.tool_calls:
                env.step(tool_calls=reply.tool_calls, content=reply.content)
            else:
                env.step(final_answer=reply.content or "")
        return stats


# -- running an evaluation ----------------------------------------------------------------------


def make_agent(kind: str, base_url: str | None = None, model: str | None = None, timeout: float = 120.0,
               temperature: float | None = None, max_tokens: int | None = None) -> Any:
    """An agent from its description (``firefly eval``'s options; what a Ray shard is sent)."""
    if kind == "oracle":
        return OracleAgent()
    if kind == "null":
        return NullAgent()
    if kind == "openai":
        config = LLMConfig.from_env(base_url=base_url, model=model, timeout=timeout)
        if not config.configured:
            raise FireflyError(
                "firefly eval needs a model: pass --base-url and --model (or set FIREFLY_LLM_BASE_URL and"
                " FIREFLY_LLM_MODEL), or use --agent oracle / --agent null")
        return OpenAIAgent(config, params={"temperature": temperature, "max_tokens": max_tokens})
    raise FireflyError(f"unknown agent {kind!r}; use openai, oracle or null")


@dataclass(frozen=True)
class EvalSettings:
    split: str | None = "test"
    samples: int = 1
    max_turns: int = DEFAULT_MAX_TURNS
    mode: str = "strict"
    limit: int | None = None


def eval_id_of(agent: Any, settings: EvalSettings, dataset: tuple[str, str] = ("", "")) -> str:
    """The id of an evaluation; ``dataset`` (path, content hash) when it is recorded
    outside the database of its tasks (the hash, else the path, is part of the id)."""
    config = getattr(agent, "config", None)
    parts: list[Any] = [
        agent.name, getattr(config, "public_base_url", ""), settings.split, settings.max_turns, settings.samples,
        settings.mode, getattr(agent, "params", {}), settings.limit,
    ]
    if any(dataset):
        parts.append(dataset[1] or dataset[0])
    return "e" + short_hash(parts, 20)


def dataset_reference(store: Store) -> tuple[str, str]:
    """(absolute path, content hash) of a database whose tasks are evaluated elsewhere: the
    hash from its ``dataset`` table (a packed file), empty when it has none."""
    try:
        row = store.conn.execute("SELECT value FROM dataset WHERE key = 'content_hash'").fetchone()
    except sqlite3.OperationalError:  # a read-only file older than the dataset table (0009)
        row = None
    value = json.loads(row[0]) if row else ""  # pack writes every value as JSON
    return str(Path(store.path).resolve()), value if isinstance(value, str) else ""


class EndpointDown(FireflyError):
    """The model's endpoint failed episode after episode: the evaluation stopped early."""

    def __init__(self, message: str, eval_id: str):
        super().__init__(message)
        self.eval_id = eval_id


DEFAULT_STOP_AFTER = 3  # endpoint failures in a row that stop an evaluation

Played = EpisodeRecorded | EpisodeAborted


def evaluate(
    store: Store,
    agent: Any,
    settings: EvalSettings = EvalSettings(),
    *,
    concurrency: int = 4,
    on_episode: Callable[[Played, int, int], None] | None = None,
    stop_after: int = DEFAULT_STOP_AFTER,
    record_to: Store | None = None,
    only: Collection[str] | None = None,
    dataset: tuple[str, str] | None = None,
) -> str:
    """Play every missing episode of the evaluation and record it. Returns the eval id.

    The tasks come from ``store``; the evaluation is recorded in ``record_to`` when given
    (another database, e.g. because ``store`` is on read-only media: its ``eval-started``
    names the dataset, see :func:`dataset_reference`), else in ``store``. ``dataset``: the
    dataset the evaluation names when ``store`` is a copy of it (a shard of
    :mod:`firefly.distributed` recording for ``--record-to``); ``("", "")`` names none.

    An episode the endpoint could not serve is recorded as aborted (see the module
    docstring); after ``stop_after`` of them in a row, or when every episode of this run was
    aborted, it raises :class:`EndpointDown` (the episodes already played stay recorded)."""
    if settings.samples < 1:
        raise FireflyError("--samples must be at least 1")
    if settings.max_turns < 1:
        raise FireflyError("--max-turns must be at least 1")
    if stop_after < 1:
        raise FireflyError("stop_after must be at least 1")
    ids = tasks_to_evaluate(store, settings)
    results = store if record_to is None or record_to is store else record_to
    if dataset is None:
        dataset = dataset_reference(store) if results is not store else ("", "")
    config = getattr(agent, "config", None)
    watch = getattr(agent, "watch_secrets", None)
    if watch is not None:  # an agent that sends what it sees elsewhere (a model) is told what never to send
        secrets = store.secret_values()
        if results is not store:
            secrets.update(results.secret_values())
        watch(secrets)
    eval_id = eval_id_of(agent, settings, dataset)
    results.append(EvalStarted(
        eval_id=eval_id, agent=agent.name, model=getattr(config, "model", None),
        base_url=getattr(config, "public_base_url", ""), split=settings.split, max_turns=settings.max_turns,
        samples=settings.samples, simulator=settings.mode, tasks=len(ids), params=getattr(agent, "params", {}),
        dataset=dataset[0], dataset_hash=dataset[1],
    ))
    results.catch_up()
    # only scored episodes are done: an aborted one is played again
    done = set(results.conn.execute("SELECT task_id, sample FROM episodes WHERE eval_id = ?", (eval_id,)).fetchall())
    # ``only``: the tasks of one shard (firefly.distributed); the evaluation is the same one
    todo = [(t, s) for t in ids for s in range(settings.samples) if (t, s) not in done and (only is None or t in only)]
    total = len(ids) * settings.samples
    # every environment is opened (and its simulator loaded) before the first episode is
    # written: a read-only view of the database takes its tables as they are at opening
    workers = max(1, min(concurrency, len(todo)))
    envs: queue.SimpleQueue[FireflyEnv] = queue.SimpleQueue()
    opened: list[FireflyEnv] = []
    try:
        for _ in range(workers if todo else 0):
            e = FireflyEnv(store.path, split=settings.split, mode=settings.mode, max_turns=settings.max_turns)
            opened.append(e)
            e.simulator  # noqa: B018 - load it now
            envs.put(e)
    except BaseException:
        for e in opened:
            e.close()
        raise
    stopping = threading.Event()
    streak = [0]  # endpoint failures in a row, as episodes end
    streak_lock = threading.Lock()

    def play(task_id: str, sample: int) -> Played | None:
        if stopping.is_set():
            return None
        e = envs.get()
        try:
            event = play_one(e, task_id, sample)
        finally:
            envs.put(e)
        with streak_lock:  # decided here, before this worker takes another episode
            streak[0] = streak[0] + 1 if isinstance(event, EpisodeAborted) else 0
            if streak[0] >= stop_after:
                stopping.set()
        return event

    def play_one(e: FireflyEnv, task_id: str, sample: int) -> Played:
        observation = e.reset(task_id)
        stats = agent.play(e, observation)
        ep = e.episode
        assert ep is not None
        down = stats.endpoint_failure
        if down is not None:
            return EpisodeAborted(
                eval_id=eval_id, task_id=task_id, sample=sample, error_class=down.error_class,  # type: ignore[arg-type]
                status=down.status, error=down.message, turns=ep.turns, prompt_tokens=stats.prompt_tokens,
                completion_tokens=stats.completion_tokens, latency_ms=round(stats.latency_ms, 1),
            )
        assert ep.done
        return EpisodeRecorded(
            eval_id=eval_id, task_id=task_id, sample=sample, messages=ep.messages, calls=ep.calls,
            answer=ep.answer, reward=ep.reward, outcome="llm-error" if stats.error else ep.outcome,  # type: ignore[arg-type]
            turns=ep.turns, error=stats.error, prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens, latency_ms=round(stats.latency_ms, 1),
            env_ms=round(ep.env_ms, 2),
        )

    finished = total - len(todo)
    aborted = 0
    last: EpisodeAborted | None = None
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="firefly-eval")
    try:
        futures = [pool.submit(play, t, s) for t, s in todo]
        for future in as_completed(futures):
            event = future.result() if not future.cancelled() else None
            if event is None:
                continue
            results.append(event)
            if isinstance(event, EpisodeAborted):
                aborted, last = aborted + 1, event
            else:
                finished += 1
            if stopping.is_set():  # the episodes being played end; the others are not started
                for f in futures:
                    f.cancel()
            if on_episode is not None:
                on_episode(event, finished, total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for e in opened:
            e.close()
    results.catch_up()
    if last is not None and (stopping.is_set() or aborted == len(todo)):
        reason = " ".join(last.error.split())
        raise EndpointDown(
            f"the model's endpoint is down ({reason}); {aborted} episode(s) failed on it, so the evaluation"
            f" stopped: {finished} of {total} episodes are scored. Run the same command again when it answers", eval_id)
    return eval_id


def tasks_to_evaluate(store: Store, settings: EvalSettings) -> list[str]:
    """The tasks an evaluation plays; an empty split is an error that says what to do."""
    store.catch_up()
    ids = _task_ids(store, settings.split)[: settings.limit]
    if not ids:
        raise FireflyError(_why_none(store, settings.split))
    return ids


def _why_none(store: Store, split: str | None) -> str:
    verified = _task_ids(store, None)
    if not verified:
        return "no verified tasks to evaluate: make some first (firefly run, or synthesize and verify)"
    if split is None:
        return "--limit leaves no tasks to evaluate"
    if split not in ("train", "test"):
        return f"unknown split {split!r}: use train, test or all"
    sides = dict(store.conn.execute(
        "SELECT coalesce(split, 'unassigned'), count(*) FROM tasks WHERE verified = 1 GROUP BY 1").fetchall())
    counts = ", ".join(f"{n} {side}" for side, n in sorted(sides.items()))
    if split in sides:
        return "--limit leaves no tasks to evaluate"
    advice = " or ".join([f"--split {s}" for s in ("train", "test") if s in sides and s != split] + ["--split all"])
    dags = store.conn.execute("SELECT count(DISTINCT dag_id) FROM tasks WHERE verified = 1").fetchone()[0]
    empty = f"the {split!r} split has no tasks ({len(verified)} verified: {counts})"
    if sides.get("unassigned"):
        return f"{empty}: run firefly split, or evaluate {advice}"
    if dags < 2:
        return (f"{empty}; they all come from one DAG, and a DAG's tasks all go to the same side: explore more DAGs"
                f" (firefly run --dags N), or evaluate {advice}")
    return f"{empty}: run firefly split to give both sides tasks, or evaluate {advice}"


def _task_ids(store: Store, split: str | None) -> list[str]:
    try:
        return task_ids(store.conn, split)
    except sqlite3.OperationalError as exc:  # no tasks table: nothing synthesized yet
        if "no such table" in str(exc):
            return []
        raise


# -- reports ---------------------------------------------------------------------------------


@dataclass
class ReportRow:
    """pass@1 (and pass@k) of one group of tasks."""

    group: str  # overall, kind, server, hops
    value: str
    tasks: int = 0
    episodes: int = 0
    pass_at_1: float = 0.0
    pass_at_k: float | None = None
    _per_task: list[tuple[int, int]] = field(default_factory=list, repr=False)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate for one task from n episodes of which c were solved."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass
class EvalReport:
    eval_id: str
    agent: str
    split: str | None
    samples: int
    rows: list[ReportRow]
    outcomes: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    episodes: int
    #: episodes aborted because the endpoint was down and not played to a score since
    not_scored: int = 0

    def row(self, group: str, value: str = "all") -> ReportRow | None:
        return next((r for r in self.rows if r.group == group and r.value == value), None)

    @property
    def pass_at_1(self) -> float:
        overall = self.row("overall")
        return overall.pass_at_1 if overall else 0.0


def eval_report(store: Store, eval_id: str, tasks: Store | None = None) -> EvalReport:
    """pass@1 and pass@k overall, per task kind, per server and per number of hops, over the
    scored episodes (aborted ones are counted in ``not_scored``, never as failures).

    ``tasks``: the database the tasks come from, when the evaluation was recorded in another
    one (``store``); without it, tasks the store does not hold count in the overall row only."""
    store.catch_up()
    tasks_conn = (tasks or store).conn
    head = store.conn.execute("SELECT agent, split, samples FROM evals WHERE eval_id = ?", (eval_id,)).fetchone()
    if head is None:
        raise FireflyError(f"no evaluation {eval_id!r}")
    agent, split, samples = head
    per_task: dict[str, list[int]] = {}
    for task_id, n, c in store.conn.execute(
        "SELECT task_id, count(*), sum(reward >= 1.0) FROM episodes WHERE eval_id = ? GROUP BY task_id ORDER BY task_id",
        (eval_id,),
    ):
        per_task[task_id] = [n, c]
    groups: dict[tuple[str, str], ReportRow] = {}

    def add(group: str, value: str, n: int, c: int) -> None:
        row = groups.setdefault((group, value), ReportRow(group, value))
        row._per_task.append((n, c))

    for task_id, (n, c) in per_task.items():
        task = load_task(tasks_conn, task_id)
        add("overall", "all", n, c)
        if task is None:
            continue
        add("kind", task.kind, n, c)
        for server in task.servers:
            add("server", server, n, c)
        add("hops", str(task.hops), n, c)
    order = {"overall": 0, "kind": 1, "server": 2, "hops": 3}
    rows = sorted(groups.values(), key=lambda r: (order[r.group], r.value.zfill(4) if r.group == "hops" else r.value))
    for row in rows:
        row.tasks = len(row._per_task)
        row.episodes = sum(n for n, _ in row._per_task)
        row.pass_at_1 = sum(c / n for n, c in row._per_task) / row.tasks
        if samples > 1:
            full = [(n, c) for n, c in row._per_task if n >= samples]
            row.pass_at_k = sum(pass_at_k(n, c, samples) for n, c in full) / len(full) if full else None
    outcomes = dict(store.conn.execute(
        "SELECT outcome, count(*) FROM episodes WHERE eval_id = ? GROUP BY outcome ORDER BY outcome", (eval_id,)))
    tokens = store.conn.execute(
        "SELECT coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(latency_ms), 0),"
        " count(*) FROM episodes WHERE eval_id = ?", (eval_id,)).fetchone()
    not_scored = store.conn.execute(
        "SELECT count(*) FROM (SELECT DISTINCT task_id, sample FROM episode_aborts a WHERE eval_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.eval_id = a.eval_id AND e.task_id = a.task_id"
        " AND e.sample = a.sample))", (eval_id,)).fetchone()[0]
    return EvalReport(eval_id, agent, split, samples, rows, outcomes, tokens[0], tokens[1], tokens[2], tokens[3],
                      not_scored)
