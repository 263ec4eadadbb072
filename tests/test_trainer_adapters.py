"""The trainer adapters driven the way each trainer drives them, on rows of the real exports:
the reference trajectory earns 1, a wrong answer 0.

* verl (interface of verl 0.6, tests/trainer_interfaces/): tools built from the exported tool
  config YAML, then for each trajectory create / execute / calc_reward / release under one
  instance id, many trajectories at once.
* TRL (how TRL 1.16's GRPOTrainer does it, tests/trainer_interfaces/trl_grpo.py):
  ``environment_factory`` instances pooled and ``reset(**row)`` per row of the TRL export, tools
  called by name, and both reward sources, ``get_reward()`` and the reward function
  ``firefly.trainers.trl.reward``: one reward per rollout.
* gymnasium: ``gymnasium.utils.env_checker.check_env`` on the gymnasium wrapper, and its episodes.
* verifiers: rollouts of ``load_environment()`` scored by its rubric, with verifiers 0.1.x in a
  venv of its own built once per machine (tests/verifiers_rollout.py, tests/pinned_envs.py).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from firefly.env import answer_text
from firefly.export import export, verl_tools_path
from firefly.store import Store

from .eval_fixtures import TASKS, tasks_world

VERIFIED = sorted(t for t in TASKS if t != "t-unverified")
INTERFACES = Path(__file__).parent / "trainer_interfaces"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    db = root / "tasks.db"
    with Store.open(db) as store:
        tasks_world(store)
    out = root / "out"
    out.mkdir()
    export(db, trl=out / "all-trl.jsonl", verl=out / "all-verl.parquet", split=None)
    return db, out


def right_answer(task_id: str) -> str:
    kind, answer = TASKS[task_id][0], TASKS[task_id][3]
    return "Done." if kind == "state-change" else answer_text(answer)


def reference_calls(task_id: str, name_of) -> list[tuple[str, dict]]:
    return [(name_of(s["server"], s["tool"]), s["arguments"]) for s in TASKS[task_id][5]]


# -- verl --------------------------------------------------------------------------------------------


@pytest.fixture
def verl_module(monkeypatch):
    """firefly.trainers.verl imported with verl's interface on the path (as in a verl process)."""
    monkeypatch.syspath_prepend(str(INTERFACES))
    for name in [m for m in sys.modules if m == "verl" or m.startswith("verl.")]:
        monkeypatch.delitem(sys.modules, name)
    import firefly.trainers.verl as module

    module = importlib.reload(module)
    yield module
    for name in [m for m in sys.modules if m == "verl" or m.startswith("verl.")]:
        del sys.modules[name]
    monkeypatch.undo()
    importlib.reload(module)


def test_verl_tools_from_the_exported_config_score_concurrent_trajectories(exported, verl_module):
    from verl.tools.base_tool import BaseTool
    from verl.tools.schemas import ToolResponse
    from verl.tools.utils.tool_registry import initialize_tools_from_config

    db, out = exported
    tools = {tool.name: tool for tool in initialize_tools_from_config(str(verl_tools_path(out / "all-verl.parquet")))}
    assert all(isinstance(t, BaseTool) and isinstance(t, verl_module.FireflyTool) for t in tools.values())
    rows = pq.read_table(out / "all-verl.parquet").to_pylist()
    assert sorted(r["extra_info"]["task_id"] for r in rows) == VERIFIED
    names = {name for r in rows for name in json.loads(r["extra_info"]["tool_targets"])}
    assert set(tools) == names

    async def trajectory(row: dict, right: bool, request_id: str) -> float:
        extra = row["extra_info"]
        task_id = extra["task_id"]
        kwargs = {n: v for n, v in extra["tools_kwargs"].items() if v is not None}  # the union struct pads others
        for name, spec in kwargs.items():  # verl creates every tool of the row under the request id
            instance, response = await tools[name].create(request_id, **spec["create_kwargs"])
            assert instance == request_id and isinstance(response, ToolResponse)
        targets = json.loads(extra["tool_targets"])
        by_target = {(t["server"], t["tool"]): n for n, t in targets.items()}
        if right or TASKS[task_id][0] != "state-change":
            for name, arguments in reference_calls(task_id, lambda s, t: by_target[(s, t)]):
                response, step_reward, metrics = await tools[name].execute(request_id, arguments)
                assert isinstance(response, ToolResponse) and response.text and step_reward == 0.0 and metrics["ok"]
                await asyncio.sleep(0)  # let the other trajectories interleave
        first = tools[next(iter(kwargs))]
        reward = await first.calc_reward(request_id, answer=right_answer(task_id) if right else "no idea")
        for name in kwargs:
            await tools[name].release(request_id)
        return reward

    async def batch() -> list[float]:
        jobs = [trajectory(row, right, f"req-{right}-{i}-{k}") for right in (True, False)
                for i, row in enumerate(rows) for k in range(2)]
        return await asyncio.gather(*jobs)

    rewards = asyncio.run(batch())
    assert rewards == [1.0] * (2 * len(rows)) + [0.0] * (2 * len(rows))
    assert verl_module.EPISODES.open == {}  # every episode released

    # verl's text reward, from the parquet's ground truth
    by_id = {r["extra_info"]["task_id"]: r for r in rows}
    truth = by_id["t-number"]["reward_model"]["ground_truth"]
    response = '<tool_call>\n{"name": "calc__add", "arguments": {"a": 10, "b": 20.5}}\n</tool_call>' \
               "<tool_response>\n30.5\n</tool_response>\nThe sum is 30.5<|im_end|>"
    assert verl_module.compute_score("firefly", response, truth, by_id["t-number"]["extra_info"]) == 1.0
    assert verl_module.compute_score("firefly", response.replace("is 30.5", "is 31"), truth) == 0.0
    assert verl_module.compute_score("firefly", "Done.", by_id["t-change"]["reward_model"]["ground_truth"]) == 0.0


def test_verl_mcp_config_points_at_simulate_serve(verl_module):
    tools, servers = verl_module.mcp_tool_config("http://127.0.0.1:9000/mcp", servers_file="servers.json")
    entry = tools["tools"][0]
    assert entry["config"]["type"] == "mcp" and entry["mcp"]["mcp_servers_config_path"] == "servers.json"
    assert entry["class_name"] == "verl.tools.mcp_base_tool.MCPBaseTool"
    assert servers == {"mcpServers": {"firefly": {"url": "http://127.0.0.1:9000/mcp"}}}


# -- TRL -----------------------------------------------------------------------------------------------


@pytest.fixture
def grpo_trainer(monkeypatch):
    """TRL 1.16's GRPOTrainer, its environment and reward handling (tests/trainer_interfaces/trl_grpo.py)."""
    monkeypatch.syspath_prepend(str(INTERFACES))
    from trl_grpo import GRPOTrainerRewards

    return GRPOTrainerRewards


def test_trl_environment_factory_and_reward_as_grpo_trainer_drives_them(exported, grpo_trainer):
    from transformers.utils import get_json_schema

    from firefly.trainers.trl import environment, grpo_dataset, reward

    db, out = exported
    trainer = grpo_trainer(reward_funcs=reward, environment_factory=environment(db, split=None))
    # TRL adds the environment's get_reward as a reward source of its own, beside firefly's reward
    assert trainer.reward_func_names == ["reward", "FireflyEnvironment"]
    dataset = grpo_dataset(out / "all-trl.jsonl")
    rows = list(dataset)
    assert sorted(r["task_id"] for r in rows) == VERIFIED
    assert all([m["role"] for m in r["prompt"]] == ["system", "user"] for r in rows)
    written = {json.loads(line)["task_id"]: json.loads(line) for line in (out / "all-trl.jsonl").read_text().splitlines()}

    def batch(inputs: list[dict], right: list[bool]) -> list[list[float]]:
        """One GRPO batch: TRL resets a pooled environment per row, the policy calls tools by
        name (the reference trajectory, or none for a wrong state change) and answers."""
        completions = []
        for row, tools, ok in zip(inputs, trainer.start_batch(inputs), right, strict=True):
            schemas = {name: get_json_schema(tool)["function"] for name, tool in tools.items()}  # what the model is shown
            offered = {t["function"]["name"]: t["function"] for t in written[row["task_id"]]["tools"]}
            assert set(offered) <= set(schemas) and "get_reward" not in schemas and "reset" not in schemas
            for name, spec in offered.items():
                params = schemas[name]["parameters"]
                assert set(params["properties"]) == set(spec["parameters"]["properties"])
                assert set(params.get("required", [])) == set(spec["parameters"].get("required", []))
            turns = []
            task_id = row["task_id"]
            if ok or TASKS[task_id][0] != "state-change":
                for n, (name, arguments) in enumerate(reference_calls(task_id, lambda s, t: f"{s}__{t}")):
                    text = tools[name](**arguments)
                    assert isinstance(text, str) and text and not text.startswith("Error")
                    turns += [{"role": "assistant", "content": None, "tool_calls": [
                        {"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": arguments}}]},
                        {"role": "tool", "tool_call_id": f"c{n}", "name": name, "content": text}]
            turns.append({"role": "assistant", "content": right_answer(task_id) if ok else "no idea"})
            completions.append(turns)
        return trainer.rewards_per_func(inputs, completions)

    # a group of 2 per row, the first right, the second wrong
    inputs = [row for row in rows for _ in (True, False)]
    per_func = batch(inputs, [True, False] * len(rows))
    # every rollout is scored by exactly one source: questions by reward, state changes by get_reward
    for row, scores in zip(inputs, per_func, strict=True):
        scored = [name for name, value in zip(trainer.reward_func_names, scores) if value == value]  # not NaN
        assert scored == ["FireflyEnvironment" if TASKS[row["task_id"]][0] == "state-change" else "reward"], scores
    assert trainer.rewards(per_func) == [1.0, 0.0] * len(rows)

    # the pool's instances are reset for the next batch: the same rewards, in the other order
    per_func = batch(inputs, [False, True] * len(rows))
    assert trainer.rewards(per_func) == [0.0, 1.0] * len(rows)

    # a slot is reused for the next row after reset; a wrong call is an error text, not an exception
    env = trainer.environments[0]
    env.reset(**next(r for r in rows if r["task_id"] == "t-number"))
    assert env.calc__add(a=1, b=2) and "Error" in env.notes__read_note(path="/nowhere")
    assert env.get_reward() is None  # a question: scored by reward, from the final answer
    assert reward([[{"role": "assistant", "content": "31"}]], environments=[env]) == [0.0]
    change = next(r for r in rows if r["task_id"] == "t-change")
    env.reset(**change)
    assert env.get_reward() == 0.0
    env.notes__write_note(path=TASKS["t-change"][5][0]["arguments"]["path"], text="buy eggs")
    assert env.get_reward() == 1.0  # the probe sees this slot's world, and the episode goes on
    assert reward([[{"role": "assistant", "content": "Done."}]], environments=[env]) == [None]


def test_trl_counts_an_environment_reward_that_also_scores_questions_twice(exported, grpo_trainer):
    """Why get_reward leaves questions to the reward function: TRL 1.16 sums both sources."""
    from firefly.trainers.trl import environment, grpo_dataset, reward

    db, out = exported

    class BothScoreQuestions(environment(db, split=None)):
        def get_reward(self) -> float:
            return self._episode_reward()

    trainer = grpo_trainer(reward_funcs=reward, environment_factory=BothScoreQuestions)
    row = next(r for r in grpo_dataset(out / "all-trl.jsonl") if r["task_id"] == "t-number")
    trainer.start_batch([row])
    completion = [{"role": "assistant", "content": right_answer("t-number")}]
    assert trainer.rewards(trainer.rewards_per_func([row], [completion])) == [2.0]


# -- gymnasium -------------------------------------------------------------------------------------------


def test_gym_wrapper_passes_gymnasium_env_checker(exported):
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    from firefly.trainers.gym import FireflyGymEnv

    db, _ = exported
    env = FireflyGymEnv(db, split="test")
    assert isinstance(env, gymnasium.Env)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(options={"task_id": "t-number"})
    assert env.observation_space.contains(obs) and info["task_id"] == "t-number"
    obs, reward, terminated, truncated, info = env.step([{"id": "c0", "name": "calc__add", "arguments": {"a": 10, "b": 20.5}}])
    assert (reward, terminated, truncated) == (0.0, False, False) and env.observation_space.contains(obs)
    assert env.step("30.5")[1:4] == (1.0, True, False)
    env.reset(options={"task_id": "t-number"})
    assert env.step("31")[1:4] == (0.0, True, False)
    env.close()


# -- verifiers ---------------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # a cold verifiers venv is built first (tests/pinned_envs.py)
def test_verifiers_rollouts_scored_by_the_rubric(verifiers_python):
    """load_environment() with the real verifiers 0.1.x (it pins datasets<4.7: a venv of its own):
    rollouts through its OpenAI client against a scripted policy, scored by the rubric
    (tests/verifiers_rollout.py)."""
    run = subprocess.run([str(verifiers_python), str(Path(__file__).parent / "verifiers_rollout.py")],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "right [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0] wrong [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]" in run.stdout
