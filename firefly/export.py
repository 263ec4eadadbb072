"""Training exports: chat fine-tuning JSONL and RL prompt JSONL.

* **chat** (OpenAI chat fine-tuning format): one line per task of the split, its reference
  trajectory played in the environment by the oracle: ``{"messages": [system, user,
  assistant with tool_calls, tool results ..., assistant answer], "tools": [...]}``. The tool
  results are the simulator's (the recorded real results), exactly what an agent sees in
  :class:`~firefly.env.FireflyEnv`. A task whose replay does not earn reward 1 is skipped
  and reported.
* **rl**: one line per task: the prompt (system prompt and question), the tools, the label,
  its match rule, the probe of a state-change task, and ``tool_targets``: the (server, tool)
  each function name calls (names come from :mod:`firefly.toolnames`: unique per line).

Every line is checked against its JSON Schema (``schema/exports/chat.json``, ``rl.json``)
and the conversation's own consistency before it is written. The files written are then
searched for every secret value the database was given
(:meth:`firefly.store.Store.secret_values`); if one is there, they are removed and
:class:`~firefly.errors.SecretFound` is raised.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from os import PathLike
from pathlib import Path
from typing import Any

from .env import FireflyEnv
from .errors import FireflyError, SecretFound
from .evaluation import OracleAgent
from .resources import schema_dir
from .secrets import found


@cache
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = {name: json.loads((schema_dir() / "exports" / f"{name}.json").read_text()) for name in ("chat", "rl")}
    registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return {name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()}


def line_problems(kind: str, line: Any) -> list[str]:
    """Why a line is not a valid ``chat`` or ``rl`` export line (empty when it is)."""
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(line)'}: {err.message}"
        for err in _validators()[kind].iter_errors(line)
    ]
    if problems:
        return problems
    names = {t["function"]["name"] for t in line["tools"]}
    if kind == "rl":
        if len(names) != len(line["tools"]):
            problems.append("tools: two tools have one name")
        if set(line["tool_targets"]) != names:
            problems.append("tool_targets: must name exactly the tools")
        return problems
    if len(names) != len(line["tools"]):
        problems.append("tools: two tools have one name")
    messages = line["messages"]
    if [m["role"] for m in messages[:2]] != ["system", "user"]:
        problems.append("messages must start with the system prompt and the question")
    pending: list[str] = []
    for i, m in enumerate(messages[2:], start=2):
        if m["role"] == "assistant":
            if pending:
                problems.append(f"messages/{i}: tool calls {pending} have no tool result")
            pending = [c["id"] for c in m.get("tool_calls", [])]
            for c in m.get("tool_calls", []):
                if c["function"]["name"] not in names:
                    problems.append(f"messages/{i}: calls {c['function']['name']!r}, which is not among the tools")
                try:
                    args = json.loads(c["function"]["arguments"])
                except ValueError:
                    args = None
                if not isinstance(args, dict):
                    problems.append(f"messages/{i}: arguments of {c['id']} are not a JSON object")
        elif m["role"] == "tool":
            if m["tool_call_id"] not in pending:
                problems.append(f"messages/{i}: answers {m['tool_call_id']!r}, which no pending tool call has")
            else:
                pending.remove(m["tool_call_id"])
        else:
            problems.append(f"messages/{i}: a {m['role']} message after the question")
    last = messages[-1]
    if last["role"] != "assistant" or last.get("tool_calls"):
        problems.append("the last message must be the assistant's answer")
    return problems


@dataclass
class ExportReport:
    chat_lines: int = 0
    rl_lines: int = 0
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"chat_lines": self.chat_lines, "rl_lines": self.rl_lines, "skipped": len(self.skipped)}


def chat_line(env: FireflyEnv, task_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The chat fine-tuning line of one task (or why there is none)."""
    observation = env.reset(task_id)
    OracleAgent().play(env, observation)
    ep = env.episode
    assert ep is not None
    if ep.reward < 1.0:
        return None, f"{task_id}: the reference trajectory does not replay to the label ({ep.outcome})"
    messages = [
        {k: v for k, v in m.items() if not (k == "content" and v is None and m.get("tool_calls"))}
        for m in ep.messages
    ]
    return {"messages": messages, "tools": observation["tools"]}, None


def rl_line(env: FireflyEnv, task_id: str) -> dict[str, Any]:
    """The RL prompt line of one task."""
    task = env.task(task_id)
    box = env.toolbox(task.servers)
    return {
        "task_id": task.task_id,
        "kind": task.kind,
        "split": task.split,
        "prompt": [{"role": "system", "content": env.system_prompt}, {"role": "user", "content": task.question}],
        "question": task.question,
        "tools": box.specs,
        "label": task.answer,
        "match": task.match,
        "probe": task.probe,
        "hops": task.hops,
        "servers": task.servers,
        "tool_targets": {name: {"server": server, "tool": tool} for name, (server, tool) in box.targets.items()},
    }


def export(
    db: str | PathLike[str],
    *,
    chat: str | PathLike[str] | None = None,
    rl: str | PathLike[str] | None = None,
    split: str | None = "train",
    mode: str = "strict",
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write the chat and / or RL JSONL files of a split's verified tasks."""
    report = ExportReport()
    outputs = {kind: Path(path) for kind, path in (("chat", chat), ("rl", rl)) if path is not None}
    if not outputs:
        raise FireflyError("nothing to export: give a chat and / or an RL output file")
    for path in outputs.values():
        if not path.parent.exists():
            raise FireflyError(f"cannot write {path}: folder {path.parent} does not exist")
    with FireflyEnv(db, split=split, mode=mode, max_turns=64) as env:
        secrets = env.store.secret_values()  # read through the environment's own (read-only) connection
        ids = env.task_ids
        if not ids:
            raise FireflyError(f"no verified tasks{f' in split {split!r}' if split else ''} to export")
        files = {kind: path.open("w", encoding="utf-8") for kind, path in outputs.items()}
        try:
            for done, task_id in enumerate(ids, start=1):
                lines: dict[str, dict[str, Any] | None] = {}
                if "chat" in files:
                    lines["chat"], why = chat_line(env, task_id)
                    if why:
                        report.skipped.append(why)
                if "rl" in files:
                    lines["rl"] = rl_line(env, task_id)
                for kind, line in lines.items():
                    if line is None:
                        continue
                    problems = line_problems(kind, line)
                    if problems:
                        report.skipped.append(f"{task_id}: {kind} line is malformed: {problems[0]}")
                        continue
                    files[kind].write(json.dumps(line, ensure_ascii=False) + "\n")
                    if kind == "chat":
                        report.chat_lines += 1
                    else:
                        report.rl_lines += 1
                if progress is not None:
                    progress(done, len(ids))
        finally:
            for f in files.values():
                f.close()
    leaks = {kind: found(path.read_bytes(), secrets) for kind, path in outputs.items()} if secrets else {}
    if any(leaks.values()):
        for path in outputs.values():
            path.unlink(missing_ok=True)
        said = "; ".join(f"the {kind} file holds the value of {', '.join(where)}" for kind, where in leaks.items() if where)
        raise SecretFound(f"refusing to export: {said}. Nothing was written; the log holds a secret a server echoed"
                          " (recorded before firefly scrubbed it, or merged from such a log)")
    return report
