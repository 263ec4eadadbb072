"""verifiers (PrimeIntellect): ``load_environment()``, a multi-turn tool environment over the
simulator, scored by a rubric that applies each task's match rule.

    import verifiers as vf
    env = vf.load_environment("firefly", ...)   # an installed environment module calls this
    # or directly:
    from firefly.trainers.verifiers import load_environment
    env = load_environment(db="firefly.db", split="train")
    results = env.evaluate_sync(client, model="...")

* The dataset: one row per verified task of the split: ``prompt`` (system prompt and question),
  ``answer`` (the label as text) and ``info`` (``task_id`` and ``tool_defs``: the task's tools).
* A rollout opens the task's episode in its own simulated world (``setup_state``); each
  assistant turn with tool calls gets the simulator's results (``env_response``); the first
  turn without tool calls is the answer and ends the rollout.
* The rubric's one reward function, ``firefly_reward``, scores the answer under the task's
  match rule, or for a state change runs the task's probe in the rollout's world: 1.0 / 0.0.

Written against verifiers' classic environment API (``vf.MultiTurnEnv``, ``vf.Rubric``,
``vf.stop``/``vf.cleanup``, as in verifiers 0.1.14); verifiers 0.4 moved to a new API
(``verifiers.v1``) that this module does not target. verifiers 0.1.x pins ``datasets<4.7``, so it
is not in firefly's lock: the test suite tests this module in a venv of its own
(tests/pinned_envs.py).
"""

from __future__ import annotations

from functools import cache
from os import PathLike
from typing import Any

from ..env import DEFAULT_MAX_TURNS, FireflyEnv, answer_text
from ..errors import FireflyError


@cache
def environment_class() -> type:
    """The environment class, made on first use (it subclasses verifiers' ``MultiTurnEnv``, so
    this module imports without verifiers installed)."""
    try:
        import verifiers as vf
        from datasets import Dataset
    except ImportError:
        raise FireflyError("firefly's verifiers environment needs verifiers 0.1.x: pip install 'verifiers==0.1.14'") from None
    if not hasattr(vf, "MultiTurnEnv"):
        raise FireflyError(f"verifiers {getattr(vf, '__version__', '?')} has no MultiTurnEnv (the classic API, 0.1.x)")

    class FireflyToolEnv(vf.MultiTurnEnv):
        """Tasks of a split played against the simulator (see the module docstring)."""

        def __init__(self, env: FireflyEnv, *, max_turns: int = DEFAULT_MAX_TURNS, **kwargs: Any):
            self.firefly = env
            rows = []
            for task_id in env.task_ids:
                task = env.task(task_id)
                tools = [{"name": s["function"]["name"], "description": s["function"].get("description") or "",
                          "parameters": s["function"]["parameters"]} for s in env.toolbox(task.servers).specs]
                rows.append({
                    "prompt": [{"role": "system", "content": env.system_prompt}, {"role": "user", "content": task.question}],
                    "answer": answer_text(task.answer),
                    "info": {"task_id": task_id, "tool_defs": tools},
                })
            rubric = vf.Rubric(funcs=[self.firefly_reward])
            super().__init__(dataset=Dataset.from_list(rows), rubric=rubric, max_turns=max_turns, **kwargs)

        async def setup_state(self, state: vf.State) -> None:
            instance, _ = await self.firefly.acreate(state["info"]["task_id"])
            state["firefly_instance"] = instance

        async def env_response(self, messages: vf.Messages, state: vf.State, **kwargs: Any) -> vf.Messages:
            last = messages[-1]
            calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in (last.tool_calls or [])]
            result = await self.firefly.astep(state["firefly_instance"], calls)
            return [vf.ToolMessage(tool_call_id=m["tool_call_id"], content=m["content"]) for m in result.messages]

        @vf.stop
        async def answered(self, state: vf.State) -> bool:
            """A turn without tool calls is the answer."""
            if not state["trajectory"]:
                return False
            last = state["trajectory"][-1]["completion"][-1]
            return last.role == "assistant" and not getattr(last, "tool_calls", None)

        async def firefly_reward(self, completion: vf.Messages, state: vf.State) -> float:
            """1.0 when the answer matches the label under the task's match rule (a state change:
            when the task's probe sees the change in this rollout's world), else 0.0."""
            instance = state.get("firefly_instance")
            if instance is None:
                return 0.0
            episode = self.firefly.instance_episode(instance)
            if not episode.done:
                last = completion[-1] if completion else None
                answered = last is not None and last.role == "assistant" and not getattr(last, "tool_calls", None)
                text = last.content if answered and isinstance(last.content, str) else None
                if text is None:
                    return 0.0
                await self.firefly.astep(instance, final_answer=text)
            reward = await self.firefly.areward(instance)
            await self.firefly.arelease(instance)  # scored: the rollout's world is done with
            state["firefly_instance"] = None
            return reward

    return FireflyToolEnv


def load_environment(db: str | PathLike[str] = "firefly.db", split: str | None = "train", mode: str = "strict",
                     max_turns: int = DEFAULT_MAX_TURNS, **kwargs: Any) -> Any:
    """verifiers' entry point: the environment over a firefly database's split."""
    return environment_class()(FireflyEnv(db, split=split, mode=mode, max_turns=max_turns), max_turns=max_turns, **kwargs)
