"""Rollouts of firefly's verifiers environment with the real verifiers (0.1.x) and its real
OpenAI chat client, against the scripted OpenAI-compatible server (tests/openai_stub.py)
playing a policy: model "right" replays each task's reference trajectory and answers with the
label, model "wrong" answers "no idea" (a state change: without making it). Each rollout is
scored by the environment's rubric; prints the rewards and exits non-zero on a wrong one.

    pytest tests/test_trainer_adapters.py -k verifiers   # builds the venv first: tests/pinned_envs.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai import AsyncOpenAI  # noqa: E402
from verifiers.clients import OpenAIChatCompletionsClient  # noqa: E402

from firefly.env import answer_text  # noqa: E402
from firefly.store import Store  # noqa: E402
from firefly.trainers.verifiers import load_environment  # noqa: E402
from tests.eval_fixtures import TASKS, tasks_world  # noqa: E402
from tests.openai_stub import ScriptedOpenAI  # noqa: E402

BY_QUESTION = {spec[2]: task_id for task_id, spec in TASKS.items() if task_id != "t-unverified"}


def policy(path: str, body: dict):
    messages = body["messages"]
    task_id = BY_QUESTION[next(m["content"] for m in messages if m["role"] == "user")]
    kind, answer, trajectory = TASKS[task_id][0], TASKS[task_id][3], TASKS[task_id][5]
    turns = sum(1 for m in messages if m["role"] == "assistant")
    right = body["model"] == "right"
    names = {t["function"]["name"] for t in body.get("tools") or []}
    if (right or kind != "state-change") and turns < len(trajectory):
        step = trajectory[turns]
        name = f"{step['server']}__{step['tool']}"
        assert name in names, (name, names)
        # with some text: verifiers 0.1.14 sends a tool-call turn back with `content: null` when it had
        # none, which the scripted server refuses as llama.cpp's does (vLLM and OpenAI take it)
        return {"content": f"Calling {name}.", "tool_calls": [{"name": name, "arguments": step["arguments"]}]}
    if not right:
        return "no idea"
    return "Done." if kind == "state-change" else answer_text(answer)


async def play(db: Path, base_url: str) -> dict[str, list[float]]:
    env = load_environment(db=db, split=None)
    rows = list(env.get_dataset())
    client = OpenAIChatCompletionsClient(AsyncOpenAI(api_key="test", base_url=base_url, max_retries=0))

    async def rollout(i: int, row: dict, model: str) -> float:
        state = await env.rollout({"prompt": row["prompt"], "example_id": i, "answer": row["answer"],
                                   "info": row["info"]}, client, model)
        assert state.get("error") is None, state.get("error")
        await env.rubric.score_rollout(state)
        return state["reward"]

    rewards = {}
    for model in ("right", "wrong"):
        rewards[model] = list(await asyncio.gather(*(rollout(i, row, model) for i, row in enumerate(rows))))
    assert env.firefly.instances == [], env.firefly.instances  # every rollout's world released once scored
    return rewards


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "tasks.db"
        with Store.open(db) as store:
            tasks_world(store)
        with ScriptedOpenAI(policy) as server:
            rewards = asyncio.run(play(db, server.base_url))
    print(f"rewards: right {rewards['right']} wrong {rewards['wrong']}")
    n = len(BY_QUESTION)
    if rewards != {"right": [1.0] * n, "wrong": [0.0] * n}:
        sys.exit("unexpected rewards")


if __name__ == "__main__":
    main()
