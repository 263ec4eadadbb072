"""TRL: firefly's tasks for ``GRPOTrainer(environment_factory=...)`` and its reward function.

    from firefly.trainers.trl import environment, grpo_dataset, reward
    from trl import GRPOConfig, GRPOTrainer

    trainer = GRPOTrainer(
        model=...,
        train_dataset=grpo_dataset("export/train-trl.jsonl"),   # rows of the TRL export
        environment_factory=environment("firefly.db", split="train"),
        reward_funcs=reward,
        args=GRPOConfig(...),
    )

* :func:`environment` returns the class TRL instantiates once per rollout slot. Its public
  methods are the tools: every function of the split (``<server>__<tool>``, as
  :mod:`firefly.toolnames` names them), each with a signature and a Google-style docstring made
  from the recorded input schema, which is how TRL (through ``transformers.utils.
  get_json_schema``) shows them to the model. A call runs in the slot's own simulated world;
  a function the row's task does not offer answers with an error text, as a wrong call does.
* ``reset(**row)`` starts the episode of the row's ``task_id`` (TRL passes the dataset row).
  It returns None: the prompt already holds the question.
* Each rollout gets one reward, from one of two sources. TRL (1.8 and later) adds an
  environment's ``get_reward()`` as a reward source of its own (weight 1, logged under the
  class's name ``FireflyEnvironment``) beside ``reward_funcs``, and calls it with no argument:
  it scores what the slot's world alone decides, a state change (its probe, run in the slot's
  world), and gives None (no score) for a question. A question's reward needs the final answer,
  which only a reward function sees: :func:`reward` (``reward(completions, environments,
  **kwargs)``) scores questions and gives None for state changes. TRL sums the sources per
  rollout, skipping None: pass both (the recipe above) and each rollout is scored once.

Argument names that are not Python identifiers (``repo-path``, ``from``) are offered with a
trailing underscore and mapped back before the call.
"""

from __future__ import annotations

import inspect
import keyword
import re
from os import PathLike
from typing import Any, Literal, Optional

from ..env import DEFAULT_MAX_TURNS, EnvError, FireflyEnv, toolbox
from ..env import reward as score

_SECTION = re.compile(r"\b(Args|Arguments|Returns|Raises|Yields):")
_SCALARS = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list, "object": dict}


def python_type(schema: Any) -> Any:
    """The Python type hint ``get_json_schema`` turns back into (about) this JSON schema."""
    if not isinstance(schema, dict):
        return Any
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, (str, int, float, bool)) for v in enum):
        return Literal[tuple(enum)]  # type: ignore[return-value]
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        inner = python_type({**schema, "type": kinds[0]}) if len(kinds) == 1 else Any
        return Optional[inner] if "null" in kind and inner is not Any else inner
    if kind == "array":
        item = python_type(schema.get("items"))
        return list[item] if item is not Any else list
    if kind in _SCALARS:
        return _SCALARS[kind]
    options = [s for s in schema.get("anyOf") or schema.get("oneOf") or [] if isinstance(s, dict)]
    kinds = [s.get("type") for s in options]
    if "null" in kinds and len(options) == 2:
        inner = python_type(options[kinds.index("null") ^ 1])
        return Optional[inner] if inner is not Any else Any
    return Any


def _one_line(text: Any, fallback: str) -> str:
    text = " ".join(str(text or "").split())
    return _SECTION.sub(r"\1 -", text) or fallback


def _identifier(name: str) -> str:
    safe = re.sub(r"\W", "_", name)
    if not safe or safe[0].isdigit():
        safe = f"_{safe}"
    if keyword.iskeyword(safe) or safe != name:
        safe += "_"
    return safe


def tool_method(spec: dict[str, Any]) -> Any:
    """A method calling one function (an OpenAI function spec) in the environment's episode,
    with the signature and docstring ``get_json_schema`` reads."""
    function = spec["function"]
    name = function["name"]
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    required = set(params.get("required") or [])
    renamed: dict[str, str] = {}  # Python name -> argument name
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {"return": str}
    lines = []
    for arg in sorted(properties, key=lambda a: (a not in required, list(properties).index(a))):
        schema = properties[arg] if isinstance(properties[arg], dict) else {}
        py = _identifier(arg)
        renamed[py] = arg
        hint = python_type(schema)
        annotations[py] = hint
        parameters.append(inspect.Parameter(py, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=hint,
                                            default=inspect.Parameter.empty if arg in required else None))
        lines.append(f"    {py}: {_one_line(schema.get('description') or schema.get('title'), arg)}")

    def call(self: Any, *args: Any, **kwargs: Any) -> str:
        bound = call.__signature__.bind(self, *args, **kwargs)
        arguments = {renamed[k]: v for k, v in bound.arguments.items() if k != "self" and v is not None}
        return self._call(name, arguments)

    call.__name__ = call.__qualname__ = name
    call.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    description = _one_line(function.get("description"), name)
    call.__doc__ = f"{description}\n\nArgs:\n" + "\n".join(lines) + "\n\nReturns:\n    The tool's result." \
        if lines else f"{description}\n\nReturns:\n    The tool's result."
    return call


class FireflyTRLEnvironment:
    """Base of the classes :func:`environment` makes: one rollout slot, one episode at a time."""

    _db: str
    _split: str | None
    _mode: str
    _max_turns: int
    _shared: dict[tuple[str, str | None, str], FireflyEnv] = {}

    def __init__(self) -> None:
        key = (self._db, self._split, self._mode)
        if key not in self._shared:  # one read-only environment for all the slots of a process
            self._shared[key] = FireflyEnv(self._db, split=self._split, mode=self._mode, max_turns=self._max_turns)
        self._env = self._shared[key]
        self._instance: str | None = None
        self._calls = 0

    def reset(self, **row: Any) -> None:
        """Start the episode of ``row["task_id"]`` (a row of the TRL export)."""
        task_id = row.get("task_id")
        if not task_id:
            raise EnvError("reset needs the row's task_id (a row of firefly's TRL export)")
        if self._instance is not None:
            _run(self._env.arelease(self._instance))
        self._instance, _ = _run(self._env.acreate(task_id))
        self._calls = 0
        return None

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self._instance is None:
            raise EnvError("call reset(**row) first")
        self._calls += 1
        result = _run(self._env.astep(self._instance, [{"id": f"call_{self._calls}", "name": name, "arguments": arguments}]))
        if not result.messages:  # the turn limit ended the episode
            return "Error: the episode is over (turn limit)"
        return result.messages[0]["content"]

    def _answer(self, text: str | None) -> None:
        """Give the episode its final answer (what :func:`reward` does with a completion)."""
        if self._instance is None:
            raise EnvError("call reset(**row) first")
        if not self._env.instance_episode(self._instance).done:
            _run(self._env.astep(self._instance, final_answer=text if text is not None else ""))

    def _scored_by_world(self) -> bool:
        """Whether this episode's task is scored from the world alone (a state change, by its
        probe; an action, by the call it made): :meth:`get_reward` scores it; else :func:`reward` does, from the final answer."""
        if self._instance is None:
            raise EnvError("call reset(**row) first")
        return self._env.instance_episode(self._instance).task.by_world

    def _episode_reward(self) -> float:
        """1.0 or 0.0: the episode's reward once it has ended, else (a state change) its probe
        in this slot's world, read-only, or (an action) whether the slot's episode made its
        call: the episode goes on."""
        episode = self._env.instance_episode(self._instance)
        if episode.done:
            return episode.reward
        if not episode.task.by_world:
            return 0.0  # a question without its answer
        return score(episode.task, "", self._env.instance(self._instance).sim)

    def get_reward(self) -> float | None:
        """The reward TRL takes from the environment itself (a reward source of its own beside
        ``reward_funcs``): 1.0 or 0.0 for a state change, checked by its probe in this slot's
        world; None for a question, which :func:`reward` scores from the final answer (TRL
        skips None, so no rollout is scored twice)."""
        if self._instance is None or not self._scored_by_world():
            return None
        return self._episode_reward()


def _run(awaitable: Any) -> Any:
    """Run one of FireflyEnv's coroutines to completion (they do not wait on anything in the
    strict and nearest modes), from synchronous TRL code, inside a running loop or not."""
    try:
        awaitable.send(None)
    except StopIteration as done:
        return done.value
    awaitable.close()
    raise EnvError("the simulator waited (llm mode): use mode strict or nearest with TRL")


def environment(
    db: str | PathLike[str], *, split: str | None = "train", mode: str = "strict", max_turns: int = DEFAULT_MAX_TURNS,
) -> type[FireflyTRLEnvironment]:
    """The ``environment_factory`` class for a database's split: its public methods are the
    split's functions (see the module docstring)."""
    with FireflyEnv(db, split=split, mode=mode) as env:
        specs: dict[str, dict[str, Any]] = {}
        for task_id in env.task_ids:
            for spec in toolbox(env.conn, env.task(task_id).servers).specs:
                specs.setdefault(spec["function"]["name"], spec)
    members: dict[str, Any] = {"_db": str(db), "_split": split, "_mode": mode, "_max_turns": max_turns}
    for name, spec in sorted(specs.items()):
        if name.startswith("_") or hasattr(FireflyTRLEnvironment, name):
            raise EnvError(f"function name {name!r} would shadow the environment's own methods")
        members[name] = tool_method(spec)
    return type("FireflyEnvironment", (FireflyTRLEnvironment,), members)


def completion_text(completion: Any) -> str:
    """The final answer of a completion: its last assistant message's text (a conversational
    completion), or the text itself."""
    if isinstance(completion, str):
        return completion
    for message in reversed(completion or []):
        if isinstance(message, dict) and message.get("role") == "assistant" and not message.get("tool_calls"):
            content = message.get("content")
            if isinstance(content, list):  # content parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


def reward(completions: list[Any], environments: list[FireflyTRLEnvironment] | None = None,
           **kwargs: Any) -> list[float | None]:
    """TRL's reward function for questions: each completion's final answer given to its
    environment, and the episode's reward (1.0 / 0.0). None for a state change: TRL scores those
    with the environment's own :meth:`~FireflyTRLEnvironment.get_reward`, so a rollout is never
    scored by both."""
    if environments is None:
        raise EnvError("firefly's reward needs TRL's environments: pass environment_factory=environment(db)")
    out: list[float | None] = []
    for completion, env in zip(completions, environments, strict=True):
        if env._scored_by_world():
            out.append(None)
            continue
        env._answer(completion_text(completion))
        out.append(env._episode_reward())
    return out


def grpo_dataset(path: str | PathLike[str]) -> Any:
    """The TRL export as a GRPO prompt dataset: ``prompt`` (the system prompt and the question,
    the first two messages) and the task columns (``task_id`` ... that ``reset`` reads)."""
    from .data import load

    rows = load(path, "trl")
    import datasets

    return datasets.Dataset.from_list([
        {"prompt": [{"role": m["role"], "content": m["content"]} for m in row["messages"][:2]],
         "task_id": row["task_id"], "kind": row["kind"], "split": row["split"], "servers": row["servers"],
         "hops": row["hops"]}
        for row in rows
    ])
