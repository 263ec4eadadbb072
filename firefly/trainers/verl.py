"""verl: firefly's tools as verl tools, answered by the simulator, one world per instance id.

``firefly export --format verl`` writes ``<split>-verl.parquet`` and, beside it,
``<split>-verl-tools.yaml``: verl's tool config, one entry per function of the split, each a
:class:`FireflyTool` reading the exported database::

    actor_rollout_ref.rollout.multi_turn.tool_config_path=export/train-verl-tools.yaml
    custom_reward_function.path=<site-packages>/firefly/trainers/verl.py
    custom_reward_function.name=compute_score

verl's rollout calls, for a trajectory (``instance_id``: the request's id):

* ``create(instance_id, create_kwargs={task_id, server, tool})`` (the row's ``tools_kwargs``):
  the first tool created under an id opens the task's episode; the other tools created under
  the same id join it, so all the tools of a trajectory act in one simulated world, and
  nothing else does. An id verl does not give gets a new one.
* ``execute(instance_id, parameters)``: the recorded (simulated) result of the call, as
  ``ToolResponse(text=...)``; step reward 0.
* ``calc_reward(instance_id, answer=...)``: 1.0 or 0.0: the answer under the task's match rule,
  or for a state change the task's probe run in the trajectory's world (no answer needed).
* ``release(instance_id)``: the last tool released closes the episode.

:func:`compute_score` is verl's text reward (``custom_reward_function``): the final answer in
the response against ``ground_truth`` (questions; a state change is scored by ``calc_reward``,
which sees the world, and scores 0 here).

**Through MCP instead.** verl's MCP tool type can reach ``firefly simulate serve --all
--transport http`` with the files :func:`mcp_tool_config` writes. verl's MCP client opens a
new session for every call, and every session is a new world: effects do not carry from one
call to the next, so that path suits question tasks; :class:`FireflyTool` serves both kinds.

The interface is verl's ``verl.tools.base_tool.BaseTool`` as of verl 0.5/0.6 (``create`` returns
``(instance_id, ToolResponse)``, ``execute`` returns ``(ToolResponse, reward, metrics)``). In a
process without verl (writing the configs, the tests) a stand-in of the same shape is used.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..env import EnvError, FireflyEnv
from ..errors import FireflyError

try:  # the real base class and response type, in a verl process
    from verl.tools.base_tool import BaseTool
    from verl.tools.schemas import OpenAIFunctionToolSchema, ToolResponse
except ImportError:  # no verl here: a stand-in with BaseTool's constructor
    OpenAIFunctionToolSchema = None

    @dataclass
    class ToolResponse:  # type: ignore[no-redef]
        text: str | None = None

    class BaseTool:  # type: ignore[no-redef]
        def __init__(self, config: dict, tool_schema: Any):
            self.config = config
            self.tool_schema = tool_schema
            function = tool_schema["function"] if isinstance(tool_schema, dict) else tool_schema.function
            self.name = function["name"] if isinstance(function, dict) else function.name

        def get_openai_tool_schema(self) -> Any:
            return self.tool_schema


TOOL_CLASS = "firefly.trainers.verl.FireflyTool"
MAX_CALLS = 100_000  # verl bounds the turns of a trajectory; the episode does not


class _Episodes:
    """The environments of a process (one per database and mode) and the episodes open in
    them, by instance id, with how many tools hold each."""

    def __init__(self) -> None:
        self.envs: dict[tuple[str, str], FireflyEnv] = {}
        self.open: dict[str, tuple[FireflyEnv, int]] = {}
        self.lock = threading.Lock()

    def env(self, db: str, mode: str) -> FireflyEnv:
        key = (str(Path(db).resolve()), mode)
        with self.lock:
            if key not in self.envs:
                self.envs[key] = FireflyEnv(db, mode=mode, max_turns=MAX_CALLS)
            return self.envs[key]


EPISODES = _Episodes()


class FireflyTool(BaseTool):
    """One function of firefly's tasks as a verl tool (see the module docstring). ``config``:
    ``db`` (the exported database), optional ``mode`` (simulator: strict, nearest)."""

    def __init__(self, config: dict, tool_schema: Any):
        super().__init__(config, tool_schema)
        if not config.get("db"):
            raise FireflyError(f"tool {self.name}: its config needs db (the firefly database)")
        self.env = EPISODES.env(config["db"], config.get("mode", "strict"))

    async def create(self, instance_id: str | None = None, create_kwargs: dict | None = None, **kwargs: Any) -> tuple[str, Any]:
        spec = {**(create_kwargs or {}), **kwargs}
        task_id = spec.get("task_id")
        if not task_id:
            raise FireflyError(f"tool {self.name}: create needs the row's task_id (its tools_kwargs create_kwargs)")
        instance_id = instance_id or f"verl-{uuid.uuid4().hex}"
        with EPISODES.lock:
            held = EPISODES.open.get(instance_id)
            if held is not None:
                episode = self.env.instance_episode(instance_id)
                if episode.task.task_id != task_id:
                    raise EnvError(f"instance {instance_id!r} plays {episode.task.task_id}, not {task_id}")
                EPISODES.open[instance_id] = (held[0], held[1] + 1)
                return instance_id, ToolResponse()
            EPISODES.open[instance_id] = (self.env, 1)
        await self.env.acreate(task_id, instance_id=instance_id)
        return instance_id, ToolResponse()

    async def execute(self, instance_id: str, parameters: dict[str, Any] | str, **kwargs: Any) -> tuple[Any, float, dict]:
        call = {"id": f"call-{uuid.uuid4().hex[:12]}", "name": self.name, "arguments": parameters}
        result = await self.env.astep(instance_id, [call])
        record = self.env.instance_episode(instance_id).calls[-1]
        return ToolResponse(text=result.messages[0]["content"]), 0.0, {"ok": record["ok"]}

    async def calc_reward(self, instance_id: str, answer: str | None = None, **kwargs: Any) -> float:
        episode = self.env.instance_episode(instance_id)
        if not episode.done:
            if answer is None and not episode.task.by_world:
                return 0.0  # a question scored before its answer: nothing to score yet
            await self.env.astep(instance_id, final_answer=answer if answer is not None else "")
        return await self.env.areward(instance_id)

    async def release(self, instance_id: str, **kwargs: Any) -> None:
        with EPISODES.lock:
            held = EPISODES.open.get(instance_id)
            if held is None:
                return
            if held[1] > 1:
                EPISODES.open[instance_id] = (held[0], held[1] - 1)
                return
            del EPISODES.open[instance_id]
        await held[0].arelease(instance_id)


# -- verl's text reward ----------------------------------------------------------------------------

_TURN_MARKS = re.compile(r"</tool_response>|</tool_call>|<\|im_start\|>assistant|<\|im_end\|>|<\|endoftext\|>")


def final_answer(solution_str: str) -> str:
    """The answer in a response: the text after the last tool call or tool result, chat
    template markers removed."""
    parts = [p.strip() for p in _TURN_MARKS.split(solution_str or "")]
    return next((p for p in reversed(parts) if p), "")


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None, **kwargs: Any) -> float:
    """verl's ``custom_reward_function``: 1.0 when the response's final answer matches the label
    under the task's match rule (``ground_truth`` as the verl export writes it), else 0.0."""
    from ..match import MatchRuleError, matches

    truth = json.loads(ground_truth) if isinstance(ground_truth, str) else ground_truth
    if truth.get("probe") is not None:
        return 0.0  # a state change: only the trajectory's world can tell (FireflyTool.calc_reward)
    try:
        return float(matches(truth["match"], truth["label"], final_answer(solution_str)))
    except MatchRuleError:
        return 0.0


# -- configs ----------------------------------------------------------------------------------------


def verl_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """Function parameters as verl's tool schema reads them (``required`` always present; a
    property without a ``type`` gets the first one its ``anyOf`` names, else ``string``)."""
    params = dict(parameters)
    params.setdefault("required", [])
    properties = {}
    for name, prop in (params.get("properties") or {}).items():
        prop = dict(prop) if isinstance(prop, dict) else {}
        if not isinstance(prop.get("type"), str):
            types = [p.get("type") for p in prop.get("anyOf") or [] if isinstance(p, dict)]
            prop["type"] = next((t for t in types if isinstance(t, str) and t != "null"), "string")
        properties[name] = prop
    params["properties"] = properties
    return params


def tool_config(specs: list[dict[str, Any]], db: str | Path, *, mode: str = "strict") -> dict[str, Any]:
    """verl's tool config (``tools:`` list) for function specs: one :class:`FireflyTool` each."""
    seen: dict[str, dict[str, Any]] = {}
    for spec in specs:
        seen.setdefault(spec["function"]["name"], spec)
    return {"tools": [
        {"class_name": TOOL_CLASS,
         "config": {"type": "native", "db": str(db), "mode": mode},
         "tool_schema": {"type": "function", "function": {
             "name": name, "description": spec["function"].get("description") or name,
             "parameters": verl_parameters(spec["function"].get("parameters") or {})}}}
        for name, spec in sorted(seen.items())
    ]}


def mcp_tool_config(url: str = "http://127.0.0.1:8765/mcp", *, servers_file: str = "firefly_mcp_servers.json",
                    tools: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """verl's tool config for its MCP tool type, and the ``mcpServers`` file it points at, for
    ``firefly simulate serve --all --transport http`` listening at ``url`` (see the module
    docstring on worlds)."""
    entry: dict[str, Any] = {
        "class_name": "verl.tools.mcp_base_tool.MCPBaseTool",
        "config": {"type": "mcp", "rate_limit": 100, "timeout": 60},
        "mcp": {"mcp_servers_config_path": servers_file},
    }
    if tools:
        entry["mcp"]["tool_selected_list"] = list(tools)
    return {"tools": [entry]}, {"mcpServers": {"firefly": {"url": url}}}


def write_tool_config(path: Path, specs: list[dict[str, Any]], db: str | Path, *, mode: str = "strict") -> Path:
    import yaml

    path.write_text(yaml.safe_dump(tool_config(specs, db, mode=mode), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
