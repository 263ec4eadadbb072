"""A gymnasium environment over firefly's tasks (a ``gymnasium.Env`` when gymnasium is installed).

    from firefly.trainers.gym import FireflyGymEnv

    env = FireflyGymEnv("firefly.db", split="train")
    obs, info = env.reset(seed=0)                       # a task drawn with the seed
    obs, info = env.reset(options={"task_id": "t-..."}) # or a given task
    obs, reward, terminated, truncated, info = env.step(assistant_message)

* **Observation**: ``{"task_id", "messages", "tools"}``: the conversation so far (system
  prompt, question, then every assistant turn and tool result) and the tools as OpenAI
  function specs, ready for a chat template.
* **Action**: what the model wrote: an assistant message dict (its ``tool_calls``, else its
  ``content`` as the answer), a list of tool calls, or a string (the final answer). The
  declared ``action_space`` is ``Text`` (the answer form, what ``sample()`` draws).
* **Reward**: 0 until the episode ends, then 1.0 or 0.0 from the task's label and match
  rule (or its probe, for a state change). ``terminated`` when the agent answered;
  ``truncated`` when ``max_turns`` ran out without an answer.
* ``info``: the task's ``task_id``, ``kind``, ``servers``, ``hops``, and once over the
  ``outcome`` and ``turns``.

The interface is gymnasium's ``Env`` (``reset``/``step``/``close``; ``np_random`` seeded by
``reset(seed=...)`` through ``super().reset``); it passes ``gymnasium.utils.env_checker.
check_env``. The observation space is :class:`ConversationSpace` (observations are JSON
structures: it checks their shape). Without gymnasium the class has the same methods on a plain
base (``np_random`` is then a ``random.Random``).
"""

from __future__ import annotations

import copy
import random
from os import PathLike
from typing import Any

from ..env import DEFAULT_MAX_TURNS, EnvError, FireflyEnv

try:
    import gymnasium
except ImportError:  # the same methods without gymnasium
    gymnasium = None

_ROLES = {"system", "user", "assistant", "tool"}


if gymnasium is not None:

    class ConversationSpace(gymnasium.Space):
        """Observations: ``{"task_id": str, "messages": [chat messages], "tools": [function
        specs]}``. ``contains`` checks that shape; there is nothing meaningful to sample."""

        def __init__(self) -> None:
            super().__init__(shape=None, dtype=None)

        @property
        def is_np_flattenable(self) -> bool:
            return False

        def contains(self, x: Any) -> bool:
            return (isinstance(x, dict) and set(x) == {"task_id", "messages", "tools"} and isinstance(x["task_id"], str)
                    and isinstance(x["messages"], list) and isinstance(x["tools"], list)
                    and all(isinstance(m, dict) and m.get("role") in _ROLES for m in x["messages"])
                    and all(isinstance(t, dict) and isinstance(t.get("function"), dict) for t in x["tools"]))

        def sample(self, mask: Any = None, probability: Any = None) -> Any:
            raise NotImplementedError("observations are conversations: nothing to sample")

    _Base: Any = gymnasium.Env
else:
    _Base = object


class FireflyGymEnv(_Base):  # type: ignore[misc,valid-type]
    """Tasks of a split as a gymnasium environment (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}
    render_mode = None

    def __init__(
        self,
        db: str | PathLike[str] | None = None,
        *,
        split: str | None = "train",
        mode: str = "strict",
        max_turns: int = DEFAULT_MAX_TURNS,
        env: FireflyEnv | None = None,
    ) -> None:
        if (db is None) == (env is None):
            raise EnvError("give the database or a FireflyEnv, not both")
        self.env = env if env is not None else FireflyEnv(db, split=split, mode=mode, max_turns=max_turns)  # type: ignore[arg-type]
        if gymnasium is not None:
            self.observation_space = ConversationSpace()
            self.action_space = gymnasium.spaces.Text(max_length=256)
        else:
            self.np_random = random.Random()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode: on ``options["task_id"]``, else on a task drawn with the
        environment's random generator (seeded by ``seed``)."""
        if gymnasium is not None:
            super().reset(seed=seed)
        elif seed is not None:
            self.np_random = random.Random(seed)
        task_id = (options or {}).get("task_id")
        if task_id is None:
            ids = self.env.task_ids
            if not ids:
                raise EnvError("no verified tasks to play")
            draw = self.np_random.integers(len(ids)) if gymnasium is not None else self.np_random.randrange(len(ids))
            task_id = ids[int(draw)]
        first = self.env.reset(task_id)
        return self._observation(first["tools"]), self._info()

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        result = self.env.step(action)
        episode = self.env.episode
        assert episode is not None
        truncated = result.done and episode.outcome == "max-turns"
        terminated = result.done and not truncated
        return self._observation(episode.tools), float(result.reward), terminated, truncated, self._info()

    def close(self) -> None:
        self.env.close()

    def _observation(self, tools: list[dict[str, Any]]) -> dict[str, Any]:
        episode = self.env.episode
        assert episode is not None
        return copy.deepcopy({"task_id": episode.task.task_id, "messages": episode.messages, "tools": tools})

    def _info(self) -> dict[str, Any]:
        episode = self.env.episode
        assert episode is not None
        task = episode.task
        info: dict[str, Any] = {"task_id": task.task_id, "kind": task.kind, "servers": list(task.servers), "hops": task.hops}
        if episode.done:
            info.update(outcome=episode.outcome, turns=episode.turns)
        return info

    def __enter__(self) -> FireflyGymEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
