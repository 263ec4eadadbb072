"""The optional ``solvable`` verifier: can a model, playing the task as an evaluated agent
would, reach the label?

The task is played in a :class:`firefly.env.FireflyEnv` over the simulator the verifier
uses: the model (any OpenAI-compatible endpoint, :mod:`firefly.llm`) gets the question and
the tools of the task's servers (``server__tool``), exactly what ``firefly eval`` gives an
agent; its tool calls are answered by the simulator in one episode, and the environment's
reward decides (the task's match rule on the final answer; for a state change, the probe in
the same episode must show the expected end state). Every exchange with the model is
recorded as an event, so a re-run reuses the replies.
"""

from __future__ import annotations

from typing import Any

from ..env import FireflyEnv
from ..llm import LLM
from ..store import Store

PURPOSE = "solve-task"
MAX_REPLY_TOKENS = 512  # of one turn: a model that rambles cannot hold the endpoint until its context is full
SYSTEM = ("Solve the user's task with the tools. Call tools as needed; when you are done, reply with only the final"
          " answer (for a change to make, reply 'done').")


class Solver:
    def __init__(self, llm: LLM, *, max_turns: int = 8):
        self.llm = llm
        self.max_turns = max_turns

    @property
    def name(self) -> str:
        return f"llm:{self.llm.config.model}"

    def check(self, store: Store, task: Any, sim: Any) -> tuple[bool, list[str]]:
        """(solved, reasons) for one task, played in an environment over ``sim``."""
        # the environment reads the tables read-only and wants them caught up with the log:
        # the requests and verdicts of the task before were appended since
        store.catch_up()
        with FireflyEnv(store.path, simulator=sim, max_turns=self.max_turns, system_prompt=SYSTEM,
                        verified_only=False) as env:
            tools = env.reset(task.task_id)["tools"]
            episode = env.episode
            assert episode is not None
            while not episode.done:
                result = self.llm.chat(store, PURPOSE, episode.messages, tools=tools or None, temperature=0,
                                         max_tokens=MAX_REPLY_TOKENS)
                if not result.ok or result.reply is None:
                    message = result.failure.message if result.failure else "no reply"
                    return False, [f"the solver's endpoint failed: {message}"]
                reply = result.reply
                if reply.tool_calls:
                    env.step(tool_calls=reply.tool_calls, content=reply.content)
                else:
                    env.step(final_answer=reply.content or "")
        solved = episode.reward == 1.0
        if episode.outcome == "max-turns":
            return False, [f"the solver did not answer within {self.max_turns} turns"]
        if task.kind == "state-change":
            return solved, ["the probe shows the end state after the solver's calls" if solved
                            else "the probe does not show the end state after the solver's calls"]
        if task.action:
            return solved, ["the solver made the call the action asks for" if solved
                            else "the solver did not make the call the action asks for"]
        answer = episode.answer or ""
        return solved, [f"the solver answered {answer[:80]!r}" + (", which matches" if solved else ", which does not match")]
