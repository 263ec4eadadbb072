"""Training exports, one row per verified task of a split, in the forms trainers load.

* **chat** (OpenAI chat fine-tuning format): the task's reference trajectory played in the
  environment by the oracle: ``{"messages": [system, user, assistant with tool_calls, tool
  results ..., assistant answer], "tools": [...]}``. The tool results are the simulator's (the
  recorded real results), exactly what an agent sees in :class:`~firefly.env.FireflyEnv`. A
  task whose replay does not earn reward 1 is skipped and reported.
* **rl**: the prompt (system prompt and question), the task columns (``task_id``, ``kind``,
  ``split``, ``servers``, ``hops``), and as JSON text, because their shape varies from task to
  task, the tools, the label, its match rule, the probe of a state-change task and
  ``tool_targets`` (the (server, tool) each function name calls; names come from
  :mod:`firefly.toolnames`: unique per line). Every column has one type across rows, so any
  JSON reader (pyarrow's, which older ``datasets`` use) loads it.
* **trl**: the chat conversation as TRL takes it (tool-call ``arguments`` as objects), the
  tools and the task columns; :func:`features` gives its typed ``datasets`` form.
* **verl**: verl's parquet rows (``data_source``, ``prompt``, ``ability``, ``reward_model``,
  ``extra_info`` with ``tools_kwargs``), and beside them verl's tool config
  (``<split>-verl-tools.yaml``, :mod:`firefly.trainers.verl`).
* **hf**: a folder for the Hugging Face Hub: parquet per split with explicit features and a
  dataset card (:func:`dataset_card`).

Every row is checked against its JSON Schema (``schema/exports/<format>.json``; JSON-text
columns are decoded and checked against their ``contentSchema``) and the conversation's own
consistency before it is written. The files written (parquet decoded) are then searched for
every secret value the database was given (:meth:`firefly.store.Store.secret_values`); if one
is there, they are removed and :class:`~firefly.errors.SecretFound` is raised.
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


FORMATS: dict[str, str] = {
    "chat": "OpenAI chat fine-tuning JSONL: messages (tool-call arguments as JSON text, as OpenAI takes them) and tools",
    "rl": "RL prompt JSONL: prompt, task columns, and the label, match rule, probe, tools and tool targets as JSON text",
    "trl": "TRL SFT JSONL: messages with tool-call arguments as objects, tools, and the task columns",
    "verl": "verl parquet: data_source, prompt, ability, reward_model{style, ground_truth}, extra_info (tools_kwargs, the task)",
    "hf": "Hugging Face Hub folder: parquet files per split with explicit datasets features, and a dataset card (README.md)",
}
DEFAULT_FORMATS = ("chat", "rl")
JSON_TEXT_COLUMNS = ("tools", "label", "match", "probe", "tool_targets", "answer_schema")  # of the rl file
DATA_SOURCE = "firefly"
ABILITY = "tool-calling"


def output_path(out: str | PathLike[str], split_name: str, fmt: str) -> Path:
    """Where ``firefly export`` writes a format: ``<split>-<format>.jsonl`` (``.parquet`` for
    verl), or the folder ``<split>-hf/`` for the Hub form."""
    out = Path(out)
    if fmt == "hf":
        return out / f"{split_name}-hf"
    return out / f"{split_name}-{fmt}.{'parquet' if fmt == 'verl' else 'jsonl'}"


def verl_tools_path(parquet: str | PathLike[str]) -> Path:
    """verl's tool config written beside the verl parquet: ``<split>-verl-tools.yaml``."""
    parquet = Path(parquet)
    return parquet.with_name(f"{parquet.stem}-tools.yaml")


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return {name: json.loads((schema_dir() / "exports" / f"{name}.json").read_text()) for name in FORMATS}


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _schemas().values()
    ).crawl()


@cache
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator

    return {name: Draft202012Validator(schema, registry=_registry()) for name, schema in _schemas().items()}


def _json_text_problems(kind: str, line: Any) -> list[str]:
    """Columns that are JSON text (``contentMediaType: application/json``) decoded and checked
    against their ``contentSchema`` (a JSON Schema validator only annotates them)."""
    problems: list[str] = []
    validator = _validators()[kind]
    resolver = _registry().resolver(base_uri=validator.schema["$id"])

    def visit(schema: Any, value: Any, where: str) -> None:
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            schema = resolver.lookup(schema["$ref"]).contents
        if schema.get("contentMediaType") == "application/json" and isinstance(value, str):
            try:
                content = json.loads(value)
            except ValueError:
                problems.append(f"{where}: not JSON text")
                return
            inner = validator.evolve(schema=schema.get("contentSchema", True))
            for err in inner.iter_errors(content):
                inside = "/".join(str(p) for p in err.absolute_path)
                problems.append(f"{where}{'/' + inside if inside else ''}: {err.message}")
            return
        if isinstance(value, dict):
            for key, sub in schema.get("properties", {}).items():
                if key in value:
                    visit(sub, value[key], f"{where}/{key}" if where else key)

    visit(validator.schema, line, "")
    return problems


def decoded(line: dict[str, Any]) -> dict[str, Any]:
    """An ``rl`` line with its JSON-text columns decoded (the objects the trainer scores with)."""
    return {k: json.loads(v) if k in JSON_TEXT_COLUMNS else v for k, v in line.items()}


def line_problems(kind: str, line: Any) -> list[str]:
    """Why a line (a row) is not a valid line of export format ``kind`` (empty when it is)."""
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '(line)'}: {err.message}"
        for err in _validators()[kind].iter_errors(line)
    ]
    problems += _json_text_problems(kind, line) if not problems else []
    if problems:
        return problems
    if kind == "verl":
        extra = line["extra_info"]
        names = {t["function"]["name"] for t in json.loads(extra["tools"])}
        if set(json.loads(extra["tool_targets"])) != names:
            problems.append("extra_info/tool_targets: must name exactly the tools")
        if set(extra["tools_kwargs"]) != names:
            problems.append("extra_info/tools_kwargs: must name exactly the tools")
        return problems
    if kind == "rl":
        tools = json.loads(line["tools"])
        names = {t["function"]["name"] for t in tools}
        if len(names) != len(tools):
            problems.append("tools: two tools have one name")
        if set(json.loads(line["tool_targets"])) != names:
            problems.append("tool_targets: must name exactly the tools")
        return problems
    names = {t["function"]["name"] for t in line["tools"]}
    if len(names) != len(line["tools"]):
        problems.append("tools: two tools have one name")
    if kind == "hf" and set(line["tool_targets"]) != names:
        problems.append("tool_targets: must name exactly the tools")
    problems += _conversation_problems(line["messages"], names, arguments_as_text=kind == "chat")
    return problems


def _conversation_problems(messages: list[dict[str, Any]], names: set[str], *, arguments_as_text: bool) -> list[str]:
    problems: list[str] = []
    if [m["role"] for m in messages[:2]] != ["system", "user"]:
        problems.append("messages must start with the system prompt and the question")
    pending: dict[str, str] = {}
    for i, m in enumerate(messages[2:], start=2):
        if m["role"] == "assistant":
            if pending:
                problems.append(f"messages/{i}: tool calls {list(pending)} have no tool result")
            pending = {c["id"]: c["function"]["name"] for c in m.get("tool_calls") or []}
            for c in m.get("tool_calls") or []:
                if c["function"]["name"] not in names:
                    problems.append(f"messages/{i}: calls {c['function']['name']!r}, which is not among the tools")
                args = c["function"]["arguments"]
                if arguments_as_text:
                    try:
                        args = json.loads(args)
                    except ValueError:
                        args = None
                if not isinstance(args, dict):
                    problems.append(f"messages/{i}: arguments of {c['id']} are not a JSON object")
        elif m["role"] == "tool":
            if m["tool_call_id"] not in pending:
                problems.append(f"messages/{i}: answers {m['tool_call_id']!r}, which no pending tool call has")
            else:
                called = pending.pop(m["tool_call_id"])
                if "name" in m and m["name"] != called:
                    problems.append(f"messages/{i}: names {m['name']!r}, but {m['tool_call_id']!r} called {called!r}")
        else:
            problems.append(f"messages/{i}: a {m['role']} message after the question")
    last = messages[-1]
    if last["role"] != "assistant" or last.get("tool_calls"):
        problems.append("the last message must be the assistant's answer")
    return problems


# -- the rows of each format ----------------------------------------------------------------------


@dataclass
class ExportReport:
    lines: dict[str, int] = field(default_factory=dict)  # format -> rows written
    skipped: list[str] = field(default_factory=list)
    files: dict[str, list[Path]] = field(default_factory=dict)  # format -> files written

    @property
    def chat_lines(self) -> int:
        return self.lines.get("chat", 0)

    @property
    def rl_lines(self) -> int:
        return self.lines.get("rl", 0)

    def summary(self) -> dict[str, Any]:
        return {**{f"{fmt}_lines": n for fmt, n in self.lines.items()}, "skipped": len(self.skipped)}


def _task_columns(task: Any) -> dict[str, Any]:
    """The columns every trainer-facing row carries, to join it back to its task."""
    return {"task_id": task.task_id, "kind": task.kind, "split": task.split, "servers": list(task.servers),
            "hops": task.hops}


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


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


def trl_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages the way TRL and the Hugging Face chat templates take them: a tool call's
    ``arguments`` is an object (JSON text is rendered double-encoded by templates that apply
    ``tojson`` to it, such as Qwen2.5's), an assistant turn that calls tools has ``content``
    None, and a tool result names the function it answers."""
    out: list[dict[str, Any]] = []
    called: dict[str, str] = {}
    for m in messages:
        if m["role"] == "assistant" and m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                called[c["id"]] = c["function"]["name"]
                calls.append({"id": c["id"], "type": "function",
                              "function": {"name": c["function"]["name"], "arguments": json.loads(c["function"]["arguments"])}})
            out.append({"role": "assistant", "content": m.get("content"), "tool_calls": calls})
        elif m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": m["tool_call_id"], "name": called.get(m["tool_call_id"], ""),
                        "content": m["content"]})
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def trl_line(chat: dict[str, Any], task: Any) -> dict[str, Any]:
    """The TRL SFT line of a task, from its chat line."""
    return {"messages": trl_messages(chat["messages"]), "tools": chat["tools"], **_task_columns(task)}


def _reward_parts(env: FireflyEnv, task_id: str) -> tuple[Any, Any]:
    task = env.task(task_id)
    return task, env.toolbox(task.servers)


def rl_line(env: FireflyEnv, task_id: str) -> dict[str, Any]:
    """The RL prompt line of one task; the columns whose shape varies are JSON text."""
    task, box = _reward_parts(env, task_id)
    return {
        **_task_columns(task),
        "prompt": [{"role": "system", "content": env.system_prompt}, {"role": "user", "content": task.question}],
        "question": task.question,
        "tools": _text(box.specs),
        "label": _text(task.answer),
        "match": _text(task.match),
        "probe": _text(task.probe),
        "tool_targets": _text(_targets(box)),
        "answer_schema": _text(task.answer_schema),
    }


def _targets(box: Any) -> dict[str, dict[str, str]]:
    return {name: {"server": server, "tool": tool} for name, (server, tool) in box.targets.items()}


def verl_row(env: FireflyEnv, task_id: str, index: int) -> dict[str, Any]:
    """verl's dataset row of one task (``data_source``, ``prompt``, ``ability``,
    ``reward_model``, ``extra_info`` with ``tools_kwargs``)."""
    task, box = _reward_parts(env, task_id)
    return {
        "data_source": DATA_SOURCE,
        "prompt": [{"role": "system", "content": env.system_prompt}, {"role": "user", "content": task.question}],
        "ability": ABILITY,
        "reward_model": {"style": "rule",
                         "ground_truth": _text({"label": task.answer, "match": task.match, "probe": task.probe,
                                                "answer_schema": task.answer_schema})},
        "extra_info": {
            "split": task.split, "index": index, **{k: v for k, v in _task_columns(task).items() if k != "split"},
            "question": task.question,
            "tools": _text(box.specs),
            "tool_targets": _text(_targets(box)),
            "need_tools_kwargs": True,
            "tools_kwargs": {name: {"create_kwargs": {"task_id": task.task_id, "server": server, "tool": tool}}
                             for name, (server, tool) in sorted(box.targets.items())},
        },
    }


def hf_row(chat: dict[str, Any], env: FireflyEnv, task_id: str) -> dict[str, Any]:
    """The Hub dataset's row of one task: the TRL conversation and what it is scored with."""
    task, box = _reward_parts(env, task_id)
    return {**trl_line(chat, task), "question": task.question, "label": task.answer, "match": task.match,
            "probe": task.probe, "tool_targets": _targets(box), "answer_schema": task.answer_schema}


# -- typed forms: Arrow / datasets features ---------------------------------------------------------


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise FireflyError(f"this export format needs {module.split('.')[0]}: pip install 'firefly-mcp[trainers]'") from None


def features(fmt: str, *, typed: bool | None = None) -> Any:
    """The ``datasets.Features`` of a format's rows (``trl`` or ``hf``):
    :func:`firefly.trainers.data.features`. To load an export with any ``datasets`` version,
    use :func:`firefly.trainers.data.load`."""
    _need("datasets")
    from .trainers.data import features as data_features

    return data_features(fmt, typed=typed)


def verl_schema() -> Any:
    """The Arrow schema of the verl parquet file (``tools_kwargs`` is a struct per row's tools,
    so it is inferred; every other column is fixed here)."""
    pa = _need("pyarrow")
    return pa.schema([
        ("data_source", pa.string()),
        ("prompt", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
    ])


# -- writing --------------------------------------------------------------------------------------


def export(
    db: str | PathLike[str],
    *,
    chat: str | PathLike[str] | None = None,
    rl: str | PathLike[str] | None = None,
    trl: str | PathLike[str] | None = None,
    verl: str | PathLike[str] | None = None,
    hf: str | PathLike[str] | None = None,
    split: str | None = "train",
    mode: str = "strict",
    license: str = "other",
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Write a split's verified tasks in the formats given a path (``hf``: a folder)."""
    report = ExportReport()
    outputs = {fmt: Path(path) for fmt, path in (("chat", chat), ("rl", rl), ("trl", trl), ("verl", verl), ("hf", hf))
               if path is not None}
    if not outputs:
        raise FireflyError("nothing to export: give at least one output (chat, rl, trl, verl, hf)")
    for fmt, path in outputs.items():
        if not path.parent.exists():
            raise FireflyError(f"cannot write {path}: folder {path.parent} does not exist")
    if "verl" in outputs or "hf" in outputs:
        _need("pyarrow")
    if "hf" in outputs:
        _need("datasets")
    rows: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in outputs}
    with FireflyEnv(db, split=split, mode=mode, max_turns=64) as env:
        secrets = env.store.secret_values()  # read through the environment's own (read-only) connection
        ids = env.task_ids
        if not ids:
            raise FireflyError(f"no verified tasks{f' in split {split!r}' if split else ''} to export")
        for done, task_id in enumerate(ids, start=1):
            lines: dict[str, dict[str, Any] | None] = {}
            if {"chat", "trl", "hf"} & set(outputs):
                conversation, why = chat_line(env, task_id)
                if why:
                    report.skipped.append(why)
                task = env.task(task_id)
                for fmt in ("chat", "trl", "hf"):
                    if fmt in outputs:
                        lines[fmt] = None if conversation is None else (
                            conversation if fmt == "chat" else trl_line(conversation, task) if fmt == "trl"
                            else hf_row(conversation, env, task_id))
            if "rl" in outputs:
                lines["rl"] = rl_line(env, task_id)
            if "verl" in outputs:
                lines["verl"] = verl_row(env, task_id, len(rows["verl"]))
            for fmt, line in lines.items():
                if line is None:
                    continue
                problems = line_problems(fmt, line)
                if problems:
                    report.skipped.append(f"{task_id}: {fmt} line is malformed: {problems[0]}")
                    continue
                rows[fmt].append(line)
            if progress is not None:
                progress(done, len(ids))
        how = {"db": Path(db).name, "split": split, "mode": mode, "tasks": len(ids)}
    written: list[Path] = []
    try:
        for fmt, path in outputs.items():
            files = _write(fmt, path, rows[fmt], how=how, license=license)
            if fmt == "verl":  # verl's tool config for the rows' functions, beside the parquet
                from .trainers.verl import write_tool_config

                specs = [spec for row in rows[fmt] for spec in json.loads(row["extra_info"]["tools"])]
                files.append(write_tool_config(verl_tools_path(path), specs, Path(db).resolve(), mode=mode))
            written += files
            report.files[fmt] = files
            report.lines[fmt] = len(rows[fmt])
    except BaseException:
        _remove(written, outputs)
        raise
    leaks = {fmt: sorted({w for f in report.files[fmt] for w in found(_searchable(f), secrets)})
             for fmt in outputs} if secrets else {}
    if any(leaks.values()):
        _remove(written, outputs)
        said = "; ".join(f"the {fmt} export holds the value of {', '.join(where)}" for fmt, where in leaks.items() if where)
        raise SecretFound(f"refusing to export: {said}. Nothing was written; the log holds a secret a server echoed"
                          " (recorded before firefly scrubbed it, or merged from such a log)")
    return report


def _searchable(path: Path) -> bytes:
    """A written file's bytes, and for parquet (compressed) its decoded rows as JSON too."""
    data = path.read_bytes()
    if path.suffix == ".parquet":
        rows = _need("pyarrow.parquet").read_table(path).to_pylist()
        data += json.dumps(rows, ensure_ascii=False, default=str).encode()
    return data


def _remove(written: list[Path], outputs: dict[str, Path]) -> None:
    for f in written:
        f.unlink(missing_ok=True)
    hf = outputs.get("hf")
    if hf is not None and hf.is_dir():
        for folder in sorted((p for p in hf.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        if not any(hf.iterdir()):
            hf.rmdir()


def _write(fmt: str, path: Path, rows: list[dict[str, Any]], *, how: dict[str, Any], license: str) -> list[Path]:
    if fmt in ("chat", "rl", "trl"):
        with path.open("w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return [path]
    if fmt == "verl":
        pa, pq = _need("pyarrow"), _need("pyarrow.parquet")
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
        pq.write_table(table, path)
        return [path]
    return _write_hub(path, rows, how=how, license=license)


def _split_name(split: str | None) -> str:
    return split or "unassigned"


def _write_hub(folder: Path, rows: list[dict[str, Any]], *, how: dict[str, Any], license: str) -> list[Path]:
    """The Hub folder: ``data/<split>-00000-of-00001.parquet`` per split (the Hub's file naming,
    which it maps to splits by itself) and ``README.md``, the dataset card."""
    ds = _need("datasets")
    from .trainers.data import as_text

    feats = features("hf", typed=False)  # JSON text: what every datasets version reads
    (folder / "data").mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_split.setdefault(_split_name(row["split"]), []).append(row)
    files = []
    for name, split_rows in sorted(by_split.items()):
        path = folder / "data" / f"{name}-00000-of-00001.parquet"
        ds.Dataset.from_list([as_text(row, "hf") for row in split_rows], features=feats).to_parquet(str(path))
        files.append(path)
    card = folder / "README.md"
    card.write_text(dataset_card(rows, feats, how=how, license=license), encoding="utf-8")
    return [*files, card]


def dataset_card(rows: list[dict[str, Any]], feats: Any, *, how: dict[str, Any], license: str) -> str:
    """The Hub dataset card: YAML metadata (licence, configs, features, splits with counts)
    and a description of the columns and of how the data was made."""
    import yaml

    from . import __version__

    counts: dict[str, int] = {}
    kinds: dict[str, int] = {}
    servers: dict[str, int] = {}
    for row in rows:
        counts[_split_name(row["split"])] = counts.get(_split_name(row["split"]), 0) + 1
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        for server in row["servers"]:
            servers[server] = servers.get(server, 0) + 1
    meta = {
        "license": license,
        "pretty_name": "firefly tool-calling tasks",
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": ["tool-calling", "function-calling", "mcp", "agents", "firefly"],
        "size_categories": [_size_category(len(rows))],
        "configs": [{"config_name": "default", "data_files": [
            {"split": name, "path": f"data/{name}-*.parquet"} for name in sorted(counts)]}],
        "dataset_info": {
            "features": feats._to_yaml_list(),
            "splits": [{"name": name, "num_examples": n} for name, n in sorted(counts.items())],
        },
    }
    table = "\n".join(f"| {name} | {n} |" for name, n in sorted(counts.items()))
    kind_list = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    server_list = ", ".join(f"{k} {n}" for k, n in sorted(servers.items()))
    return f"""---
{yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)}---

# firefly tool-calling tasks

Verified tool-calling tasks over real MCP servers, made by
[firefly](https://pypi.org/project/firefly-mcp/) {__version__}: real tools were explored along
sampled workflows, every call and its real result recorded; each task was written backward from
what was observed (its label is true by construction), then verified: its label is grounded in
recorded results and its reference trajectory replays to it in firefly's simulator.

| split | tasks |
| --- | --- |
{table}

Kinds: {kind_list}. Servers (tasks using each): {server_list}.

Exported from `{how["db"]}` (split {how["split"] or "all"}, simulator mode {how["mode"]}, {how["tasks"]} verified tasks;
a task whose reference trajectory does not replay to its label is left out).

## Columns

- `messages`: the reference trajectory (system prompt, question, assistant tool calls with
  `arguments` as objects, tool results, the answer), ready for TRL's SFT trainer and chat templates.
- `tools`: the tools offered, as OpenAI function specs.
- `task_id`, `kind`, `split`, `servers`, `hops`: the task.
- `answer_schema`: for an answer with named fields, its JSON Schema (each field's `x-match` rule);
  such a task is scored field by field (`firefly.match.score`: the share of fields right).
- `question`, `label`, `match`, `probe`, `tool_targets`: what a reward is computed from: the
  expected answer, its match rule, the read-only call that observes a state change (or null)
  and which (server, tool) each function name calls.

Columns whose shape varies from row to row (tool-call arguments, tools, label, match, probe,
tool_targets) are JSON text (`string`), so `load_dataset` reads every file with any `datasets`
version; `firefly.trainers.data.load(folder)` (or `json.loads`) gives them back as objects.

## Licence

The tool results are what the servers returned; the licence above ({license}) is the
exporter's choice: check the servers' own terms before publishing.
"""


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "n>1M"
