"""How TRL 1.16's ``GRPOTrainer`` uses an ``environment_factory`` and its reward sources, copied
from ``trl/trainer/grpo_trainer.py`` (trl 1.16.0) without torch (TRL needs it; the suite does
not install it): the lists below stand for its tensors.

* ``__init__`` (grpo_trainer.py lines 656-740): one probe instance per factory; its public
  functions (``inspect.getmembers(type(instance), inspect.isfunction)``) but ``reset`` and
  ``get_reward`` are the tools; an environment class defining ``get_reward`` becomes a reward
  source of its own, appended to ``reward_funcs``, named after the class, weight 1.
* :meth:`start_batch` (lines 2340-2395): one pooled instance per rollout, ``reset(**row)``,
  the per-rollout tool dicts (by ``__name__``).
* :meth:`rewards_per_func` (``_calculate_rewards``, lines 1579-1640, the synchronous path): every
  reward function called with ``prompts``, ``completions``, ``completion_ids``, the dataset's
  columns and ``environments``; ``None`` becomes NaN.
* :meth:`rewards` (lines 2756-2766, ``sum_then_normalize``): the weighted ``nansum`` over the
  reward sources; a rollout every source left NaN is unscorable (NaN).
"""

from __future__ import annotations

import inspect
import math
from typing import Any


class GRPOTrainerRewards:
    def __init__(self, reward_funcs: Any, environment_factory: Any, reward_weights: list[float] | None = None):
        self.reward_funcs = list(reward_funcs) if isinstance(reward_funcs, list) else [reward_funcs]
        self.reward_func_names = [f.__name__ for f in self.reward_funcs]
        self.reward_weights = list(reward_weights) if reward_weights is not None else [1.0] * len(self.reward_funcs)
        self.environment_factories = {None: environment_factory}
        self._env_tools: dict[Any, list[Any]] = {}
        self._environment_pool: dict[Any, list[Any]] = {}
        env_reward_types: list[type] = []
        for name, factory in self.environment_factories.items():
            instance = factory()
            has_reset = has_reward = False
            methods = []
            for member_name, _ in inspect.getmembers(type(instance), predicate=inspect.isfunction):
                if member_name == "reset":
                    has_reset = True
                elif member_name == "get_reward":
                    has_reward = True
                elif not member_name.startswith("_"):
                    methods.append(getattr(instance, member_name))
            if not has_reset:
                raise ValueError("Each environment instance returned by `environment_factory` must define a callable `reset`.")
            self._env_tools[name] = methods
            self._environment_pool[name] = [instance]
            if has_reward and type(instance) not in env_reward_types:
                env_type = type(instance)
                env_reward_types.append(env_type)

                def get_reward(environments, _env_type=env_type, **kwargs):
                    return [e.get_reward() if type(e) is _env_type else None for e in environments]

                self.reward_funcs.append(get_reward)
                self.reward_func_names.append(env_type.__name__)
                self.reward_weights.append(1.0)
        if not self.reward_funcs:
            raise ValueError("No reward source provided. Pass `reward_funcs`, or an `environment_factory` whose "
                             "environment defines a `get_reward` method.")
        self.environments: list[Any] | None = None

    def start_batch(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Draw one environment per rollout from the pool, ``reset(**row)`` it; returns each
        rollout's tools by name."""
        self.environments = []
        cursor: dict[Any, int] = {}
        for name in [None] * len(inputs):
            pool = self._environment_pool[name]
            index = cursor.get(name, 0)
            if index == len(pool):
                pool.append(self.environment_factories[name]())
            cursor[name] = index + 1
            self.environments.append(pool[index])
        tool_dicts = []
        for environment in self.environments:
            methods = [getattr(environment, member_name)
                       for member_name, _ in inspect.getmembers(type(environment), predicate=inspect.isfunction)
                       if member_name not in ("reset", "get_reward") and not member_name.startswith("_")]
            tool_dicts.append({tool.__name__: tool for tool in methods})
        for environment, x in zip(self.environments, inputs, strict=True):
            observation = environment.reset(**x)
            assert observation is None or isinstance(observation, (str, list))
        return tool_dicts

    def rewards_per_func(self, inputs: list[dict[str, Any]], completions: list[Any]) -> list[list[float]]:
        """One row per rollout, one column per reward source (NaN where a source returned None)."""
        keys = [key for key in inputs[0] if key not in ["prompt", "completion", "completion_ids"]]
        reward_kwargs: dict[str, Any] = {key: [example[key] for example in inputs] for key in keys}
        reward_kwargs["trainer_state"] = None
        reward_kwargs["log_extra"] = lambda column, values: None
        reward_kwargs["log_metric"] = lambda name, value: None
        if self.environments is not None:
            reward_kwargs["environments"] = self.environments
        prompts = [x["prompt"] for x in inputs]
        columns = []
        for reward_func, name in zip(self.reward_funcs, self.reward_func_names, strict=True):
            output = reward_func(prompts=prompts, completions=completions, completion_ids=[[] for _ in completions],
                                 **reward_kwargs)
            output = [reward if reward is not None else math.nan for reward in output]
            if len(output) != len(prompts):
                raise ValueError(f"The reward function '{name}' returned {len(output)} rewards, but {len(prompts)} "
                                 "were expected (one per prompt-completion pair).")
            columns.append(output)
        return [list(row) for row in zip(*columns, strict=True)]

    def rewards(self, rows: list[list[float]]) -> list[float]:
        out = []
        for row in rows:
            if all(math.isnan(r) for r in row):  # unscorable
                out.append(math.nan)
            else:
                out.append(sum(r * w for r, w in zip(row, self.reward_weights, strict=True) if not math.isnan(r)))
        return out
