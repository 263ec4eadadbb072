"""FireflyEnv for trainers: many episodes at once by instance id (async, as verl's tools and
async rollout loops drive it), and the gymnasium-style wrapper. The reference trajectory
earns 1, a wrong answer 0, and concurrent episodes never see each other's effects."""

from __future__ import annotations

import asyncio

import pytest

from firefly.env import EnvError, FireflyEnv, answer_text
from firefly.trainers.gym import FireflyGymEnv

from .eval_fixtures import TASKS, tasks_world

TEST_TASKS = sorted(t for t, spec in TASKS.items() if t != "t-unverified" and spec[8] == "test")


@pytest.fixture
def db(store, db_path):
    tasks_world(store)
    return db_path


def reference_calls(env: FireflyEnv, task_id: str, name_of) -> list[list[dict]]:
    return [[{"id": f"c{i}", "name": name_of(s["server"], s["tool"]), "arguments": s["arguments"]}]
            for i, s in enumerate(env.task(task_id).trajectory)]


def right_answer(env: FireflyEnv, task_id: str) -> str:
    task = env.task(task_id)
    return "Done." if task.kind == "state-change" else answer_text(task.answer)


def test_many_episodes_at_once_by_instance_id(db):
    with FireflyEnv(db, split="test") as env:

        async def rollout(task_id: str, right: bool) -> float:
            instance, observation = await env.acreate(task_id)
            assert observation["task_id"] == task_id and observation["messages"][1]["content"] == TASKS[task_id][2]
            if right or env.task(task_id).kind != "state-change":  # a wrong state change: never makes it
                for calls in reference_calls(env, task_id, lambda s, t: env.instance_function_name(instance, s, t)):
                    result = await env.astep(instance, calls)
                    assert not result.done and result.messages[0]["content"]
                    await asyncio.sleep(0)  # let the other rollouts interleave
            final = await env.astep(instance, right_answer(env, task_id) if right else "no idea")
            assert final.done and await env.areward(instance) == final.reward
            await env.arelease(instance)
            return final.reward

        async def group() -> list[float]:
            jobs = [rollout(t, right) for right in (True, False) for t in TEST_TASKS for _ in range(2)]
            return await asyncio.gather(*jobs)

        rewards = asyncio.run(group())
        n = len(TEST_TASKS) * 2
        assert rewards == [1.0] * n + [0.0] * n
        assert env.instances == []

        async def isolation() -> None:
            writer, _ = await env.acreate("t-change", instance_id="writer")
            idle, _ = await env.acreate("t-change", instance_id="idle")
            with pytest.raises(EnvError, match="exists"):
                await env.acreate("t-change", instance_id="idle")
            for calls in reference_calls(env, "t-change", lambda s, t: env.instance_function_name(writer, s, t)):
                await env.astep(writer, calls)
            assert await env.areward(writer) == 0.0  # not over yet
            await env.astep(idle, "Done.")
            await env.astep(writer, "Done.")
            assert (await env.areward(writer), await env.areward(idle)) == (1.0, 0.0)  # the probe saw only its world
            await env.arelease(writer)
            with pytest.raises(EnvError, match="no instance"):
                await env.astep(writer, "again")

        asyncio.run(isolation())
        # the one-at-a-time API is untouched by the instances
        observation = env.reset("t-exact")
        assert env.step(right_answer(env, "t-exact")).reward == 1.0 and observation["task_id"] == "t-exact"


def test_gymnasium_style_reset_and_step(db):
    with FireflyGymEnv(db, split="test") as gym:
        first, _ = gym.reset(seed=7)
        again, info = gym.reset(seed=7)
        assert first == again and info["task_id"] == first["task_id"] in TEST_TASKS  # the seed decides the task
        assert set(info) == {"task_id", "kind", "servers", "hops"}
        drawn = {gym.reset()[0]["task_id"] for _ in range(40)}
        assert drawn == set(TEST_TASKS)
        for task_id in TEST_TASKS:
            for right in (True, False):
                obs, info = gym.reset(options={"task_id": task_id})
                assert [m["role"] for m in obs["messages"]] == ["system", "user"] and obs["tools"]
                wrong_change = not right and TASKS[task_id][0] == "state-change"  # it never makes the change
                for calls in [] if wrong_change else reference_calls(gym.env, task_id, gym.env.function_name):
                    obs, reward, terminated, truncated, info = gym.step({"role": "assistant", "content": None,
                                                                         "tool_calls": calls})
                    assert (reward, terminated, truncated) == (0.0, False, False) and obs["messages"][-1]["role"] == "tool"
                answer = right_answer(gym.env, task_id) if right else "wrong"
                obs, reward, terminated, truncated, info = gym.step(answer)
                assert (reward, terminated, truncated) == ((1.0 if right else 0.0), True, False), (task_id, right)
                assert info["outcome"] == "answered" and obs["messages"][-1] == {"role": "assistant", "content": answer}
    with FireflyGymEnv(env=FireflyEnv(db, split="test", max_turns=1)) as short:
        short.reset(options={"task_id": "t-hops"})
        calls = reference_calls(short.env, "t-hops", short.env.function_name)[0]
        _, reward, terminated, truncated, info = short.step(calls)
        assert (reward, terminated, truncated, info["outcome"]) == (0.0, False, True, "max-turns")
    with pytest.raises(EnvError, match="not both"):
        FireflyGymEnv()
