"""FireflyEnv over the simulator: observations, the reward of every match rule (near misses
score 0), state changes scored in the episode's own world, malformed calls, the turn limit."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from firefly.env import EnvError, FireflyEnv, TaskNotFound
from firefly.errors import FireflyError
from firefly.evaluation import NullAgent, OracleAgent

from .eval_fixtures import GOOD, NEAR_MISSES, TASKS, TODO, tasks_world


@pytest.fixture
def db(store, db_path):
    tasks_world(store)
    return db_path


@pytest.fixture
def env(db):
    with FireflyEnv(db) as e:
        yield e


def test_tasks_and_observation(env, db):
    assert "t-unverified" not in env.task_ids and len(env.task_ids) == len(TASKS) - 1
    with FireflyEnv(db, split="train") as train:
        assert train.task_ids == ["t-normalized", "t-set"]
        with pytest.raises(TaskNotFound):
            train.reset("t-exact")
    obs = env.reset("t-hops")
    assert obs["task_id"] == "t-hops"
    assert [m["role"] for m in obs["messages"]] == ["system", "user"]
    assert obs["messages"][1]["content"] == TASKS["t-hops"][2]
    names = [t["function"]["name"] for t in obs["tools"]]
    assert names == ["notes__list_notes", "notes__now", "notes__read_note", "notes__write_note"]  # the task's server only
    read = next(t for t in obs["tools"] if t["function"]["name"] == "notes__read_note")["function"]
    assert read["parameters"]["required"] == ["path"] and read["description"].startswith("[notes]")
    with pytest.raises(TaskNotFound):
        env.reset("nope")


def test_step_runs_calls_in_the_simulator(env):
    env.reset("t-hops")
    out = env.step(tool_calls=[
        {"id": "a", "name": "notes__list_notes", "arguments": "{}"},
        {"id": "b", "type": "function", "function": {"name": "notes__read_note", "arguments": {"path": "/workspace/notes/ideas.md"}}},
    ])
    assert not out.done and out.reward == 0.0
    assert out.messages == [
        {"role": "tool", "tool_call_id": "a", "content": "todo.md\nideas.md"},
        {"role": "tool", "tool_call_id": "b", "content": "fly"},
    ]
    out = env.step(final_answer="fly")
    assert out.done and out.reward == 1.0 and out.info["outcome"] == "answered"
    ep = env.episode
    assert [m["role"] for m in ep.messages] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert [c["tool"] for c in ep.calls] == ["list_notes", "read_note"] and all(c["ok"] for c in ep.calls)
    with pytest.raises(EnvError):
        env.step(final_answer="again")


@pytest.mark.parametrize("task_id", sorted(GOOD))
def test_every_match_rule_rewards_right_answers_and_not_near_misses(env, task_id):
    for answer in GOOD[task_id]:
        env.reset(task_id)
        assert env.step(final_answer=answer).reward == 1.0, (task_id, answer)
    for answer in NEAR_MISSES[task_id]:
        env.reset(task_id)
        assert env.step(final_answer=answer).reward == 0.0, (task_id, answer)
    env.reset(task_id)
    assert env.step().reward == 0.0 and env.episode.outcome == "unanswered"


def test_state_change_is_scored_in_the_episodes_own_world(db):
    with FireflyEnv(db) as a, FireflyEnv(db) as b:
        a.reset("t-change")
        b.reset("t-change")
        write = {"id": "w", "name": "notes__write_note", "arguments": json.dumps({"path": TODO, "text": "buy eggs"})}
        assert a.step(tool_calls=[write]).messages[0]["content"] == "wrote 8 bytes"
        # b did not write: its world still holds the old note, whatever a did
        read = {"id": "r", "name": "notes__read_note", "arguments": json.dumps({"path": TODO})}
        assert b.step(tool_calls=[read]).messages[0]["content"] == "buy milk"
        assert b.step(final_answer="Done.").reward == 0.0
        assert a.step(final_answer="Done.").reward == 1.0
        # near miss: the wrong text is not the recorded change; the note stays as it was
        a.reset("t-change")
        wrong = {"id": "w", "name": "notes__write_note", "arguments": json.dumps({"path": TODO, "text": "buy egg"})}
        assert a.step(tool_calls=[wrong]).messages[0]["content"].startswith("Error:")
        assert a.step(final_answer="Done.").reward == 0.0
        # the change made but never confirmed: no answer, no reward
        a.reset("t-change")
        a.step(tool_calls=[write])
        assert a.give_up().reward == 0.0


def test_malformed_tool_calls_get_an_error_message_and_the_episode_goes_on(env):
    env.reset("t-exact")
    out = env.step(tool_calls=[
        {"id": "1", "name": "notes__nope", "arguments": "{}"},
        {"id": "2", "name": "notes__read_note", "arguments": '{"path": '},
        {"id": "3", "name": "notes__read_note", "arguments": "[1, 2]"},
        {"id": "4", "name": "calc__add", "arguments": "{}"},          # a tool of another server: not offered
        "not a call",
        {"id": "6", "name": "notes__read_note", "arguments": {"path": "/workspace/notes/nowhere.md"}},
    ])
    texts = [m["content"] for m in out.messages]
    assert "unknown tool 'notes__nope'" in texts[0] and "notes__read_note" in texts[0]
    assert "not valid JSON" in texts[1]
    assert "must be a JSON object" in texts[2]
    assert "unknown tool 'calc__add'" in texts[3]
    assert texts[4].startswith("Error: unknown tool")
    assert texts[5] == "Error: no recorded result for these arguments"
    assert [m["tool_call_id"] for m in out.messages][:4] == ["1", "2", "3", "4"]
    assert not out.done
    calls = env.episode.calls
    assert [c["server"] for c in calls] == [None, None, None, None, None, "notes"]
    assert not any(c["ok"] for c in calls)
    out = env.step(tool_calls=[{"id": "7", "name": "notes__read_note", "arguments": json.dumps({"path": TODO})}])
    assert out.messages[0]["content"] == "buy milk"
    assert env.step(final_answer="buy milk").reward == 1.0


def test_the_turn_limit_ends_the_episode_with_reward_0(db):
    with FireflyEnv(db, max_turns=3) as env:
        env.reset("t-exact")
        read = {"id": "r", "name": "notes__read_note", "arguments": json.dumps({"path": TODO})}
        assert not env.step(tool_calls=[read]).done
        assert not env.step(tool_calls=[read]).done
        out = env.step(tool_calls=[read])
        assert out.done and out.reward == 0.0 and out.info["outcome"] == "max-turns"
        assert env.episode.answer is None and env.episode.turns == 3
        # an answer on the last turn still counts
        env.reset("t-exact")
        env.step(tool_calls=[read])
        env.step(tool_calls=[read])
        assert env.step(final_answer="buy milk").reward == 1.0


def test_assistant_message_steps(env):
    env.reset("t-exact")
    out = env.step({"role": "assistant", "content": "Let me look.", "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "notes__read_note", "arguments": json.dumps({"path": TODO})}}]})
    assert out.messages[0]["content"] == "buy milk"
    assert env.episode.messages[2]["content"] == "Let me look."
    assert env.step({"role": "assistant", "content": "buy milk"}).reward == 1.0


def test_oracle_scores_1_and_null_0_on_every_task(env):
    for task_id in env.task_ids:
        env.reset(task_id)
        OracleAgent().play(env, None)
        assert env.episode.reward == 1.0, task_id
        env.reset(task_id)
        NullAgent().play(env, None)
        assert env.episode.reward == 0.0, task_id


def test_parallel_environments_share_one_database(db):
    def run(task_id: str) -> float:
        with FireflyEnv(db) as env:
            total = 0.0
            for _ in range(5):
                env.reset(task_id)
                OracleAgent().play(env, None)
                total += env.episode.reward
            return total

    ids = [t for t in TASKS if t != "t-unverified"] * 2
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(run, ids)) == [5.0] * len(ids)


def test_environment_needs_tasks(tmp_path, store):
    with pytest.raises(FireflyError, match="no firefly database"):
        FireflyEnv(tmp_path / "missing.db")
    with FireflyEnv(store.path) as env:
        assert env.task_ids == []
        with pytest.raises(TaskNotFound):
            env.reset()


def test_a_database_whose_tables_are_behind_is_one_clear_error(db, store):
    from firefly.events import TaskSplit

    store.append(TaskSplit(task_id="t-exact", dag_id="d-t-exact", split="train", version=1))  # not projected yet
    with pytest.raises(FireflyError, match="behind its log"):
        FireflyEnv(db)
    store.catch_up()
    with FireflyEnv(db, split="train") as env:
        assert "t-exact" in env.task_ids


def test_nearest_mode_answers_similar_arguments_and_says_so(db):
    with FireflyEnv(db, mode="nearest") as env:
        env.reset("t-exact")
        out = env.step(tool_calls=[{"id": "n", "name": "notes__read_note", "arguments": '{"path": "/workspace/notes/todo.txt"}'}])
        assert out.messages[0]["content"] == "buy milk"
        assert env.episode.calls[0]["simulated"]["approximate"] is True
        assert env.step(final_answer="buy milk").reward == 1.0
