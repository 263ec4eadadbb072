"""The trainer-facing exports loaded with the real libraries: every format ``firefly export
--format`` writes (chat, rl, trl, verl, hf) read back by ``datasets`` / ``pyarrow`` with the
values intact, and every conversation rendered through the Qwen2.5 and Qwen3 tool chat
templates (tests/chat_templates/) with the tool-call arguments as JSON objects."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import jinja2.ext
import pyarrow.json as paj
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import Value, load_dataset
from jinja2.sandbox import ImmutableSandboxedEnvironment
from typer.testing import CliRunner

from firefly.cli import app
from firefly.export import JSON_TEXT_COLUMNS, decoded, features, line_problems

from .eval_fixtures import TASKS, tasks_world

runner = CliRunner()
TEMPLATES = Path(__file__).parent / "chat_templates"
VERIFIED = sorted(t for t in TASKS if t != "t-unverified")
FORMATS = ("chat", "rl", "trl", "verl", "hf")


def chat_template(name: str) -> jinja2.Template:
    """A chat template compiled as transformers compiles one (``_compile_jinja_template`` in
    transformers/utils/chat_template_utils.py): a sandbox with trim_blocks and lstrip_blocks,
    loop controls, and ``tojson`` as ``json.dumps`` with ensure_ascii=False and keys unsorted."""
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
    return env.from_string((TEMPLATES / name).read_text())


QWEN25, QWEN3 = chat_template("qwen2_5_tools.jinja"), chat_template("qwen3_tools.jinja")
TOOL_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.S)


def rendered_calls(template: jinja2.Template, row: dict) -> list[dict]:
    text = template.render(messages=row["messages"], tools=row["tools"], add_generation_prompt=False)
    assert row["messages"][1]["content"] in text and all(t["function"]["name"] in text for t in row["tools"])
    turns = text.split("<|im_end|>\n", 1)[1]  # after the system turn (its format example is not a call)
    return [json.loads(found) for found in TOOL_CALL.findall(turns)]


def calls_of(row: dict) -> list[dict]:
    out = []
    for m in row["messages"]:
        for c in m.get("tool_calls") or []:
            args = c["function"]["arguments"]
            out.append({"name": c["function"]["name"], "arguments": json.loads(args) if isinstance(args, str) else args})
    return out


def one_type_per_column(rows: list[dict]) -> dict[str, set[str]]:
    """Columns whose JSON type differs across rows (null aside): what old `datasets`
    (pyarrow's JSON reader) refuses or silently unions."""
    types: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            if value is not None:
                types.setdefault(key, set()).add(type(value).__name__)
    return {k: v for k, v in types.items() if len(v) > 1}


@pytest.fixture
def exported(store, db_path, tmp_path):
    tasks_world(store)
    out = tmp_path / "out"
    args = ["export", "--db", str(db_path), "--out", str(out), "--split", "all", "--license", "cc-by-4.0"]
    for fmt in FORMATS:
        args += ["--format", fmt]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for fmt in FORMATS:
        assert re.search(rf"{fmt}: {len(VERIFIED)} rows", result.output), result.output
    return out


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_rl_loads_with_datasets_and_pyarrow_and_every_column_has_one_type(exported):
    path = exported / "all-rl.jsonl"
    rows = jsonl(path)
    assert sorted(r["task_id"] for r in rows) == VERIFIED and all(line_problems("rl", r) == [] for r in rows)
    assert one_type_per_column(rows) == {}
    # what datasets 3.x loads JSON with: pyarrow's reader, which refused mixed labels
    table = paj.read_json(path)
    assert table.num_rows == len(VERIFIED)
    assert all(str(table.schema.field(c).type) == "string" for c in JSON_TEXT_COLUMNS)
    ds = load_dataset("json", data_files=str(path), split="train")
    assert ds.num_rows == len(VERIFIED) and {"task_id", "kind", "split", "servers", "hops"} <= set(ds.column_names)
    by_id = {r["task_id"]: decoded(r) for r in ds}
    assert by_id["t-number"]["label"] == 30.5 and by_id["t-set"]["label"] == ["todo.md", "ideas.md"]
    assert by_id["t-subset"]["label"] == {"sum": 3} and by_id["t-change"]["probe"]["tool"] == "read_note"
    assert by_id["t-number"]["match"] == {"rule": "number", "tolerance": 1e-6} and by_id["t-exact"]["probe"] is None
    assert by_id["t-hops"]["hops"] == 2 and by_id["t-number"]["servers"] == ["calc"]


def test_trl_loads_with_its_features_and_renders_arguments_as_objects_in_both_templates(exported):
    path = exported / "all-trl.jsonl"
    rows = jsonl(path)
    assert sorted(r["task_id"] for r in rows) == VERIFIED and all(line_problems("trl", r) == [] for r in rows)
    ds = load_dataset("json", data_files=str(path), split="train", features=features("trl"))
    loaded = {r["task_id"]: r for r in ds}
    for row in rows:
        back = loaded[row["task_id"]]
        assert calls_of(back) == calls_of(row)  # arguments exactly: no keys of other rows padded with null
        assert back["tools"] == row["tools"] and back["servers"] == row["servers"] and back["kind"] == row["kind"]
        for template in (QWEN25, QWEN3):
            for source in (row, back):
                assert rendered_calls(template, source) == calls_of(row)
                assert all(isinstance(c["arguments"], dict) for c in rendered_calls(template, source))
    assert calls_of(loaded["t-number"]) == [{"name": "calc__add", "arguments": {"a": 10, "b": 20.5}}]


def test_openai_chat_is_unchanged_and_qwen3_renders_it(exported):
    rows = jsonl(exported / "all-chat.jsonl")
    assert len(rows) == len(VERIFIED) and all(set(r) == {"messages", "tools"} and line_problems("chat", r) == [] for r in rows)
    for row in rows:
        assert rendered_calls(QWEN3, row) == calls_of(row)
    # OpenAI's arguments are JSON text: Qwen2.5's template encodes them a second time (why trl exists)
    hops = next(r for r in rows if r["messages"][1]["content"] == TASKS["t-hops"][2])
    assert isinstance(rendered_calls(QWEN25, hops)[1]["arguments"], str)


def test_verl_parquet_loads_with_pyarrow_and_datasets(exported):
    path = exported / "all-verl.parquet"
    table = pq.read_table(path)
    assert table.num_rows == len(VERIFIED)
    assert {"data_source", "prompt", "ability", "reward_model", "extra_info"} == set(table.column_names)
    rows = table.to_pylist()
    by_id = {r["extra_info"]["task_id"]: r for r in rows}
    assert sorted(by_id) == VERIFIED
    for row in rows:
        names = {t["function"]["name"] for t in json.loads(row["extra_info"]["tools"])}
        kwargs = {n: v for n, v in row["extra_info"]["tools_kwargs"].items() if v is not None}
        assert set(kwargs) == names  # the union struct pads other rows' tools with null
        assert all(v["create_kwargs"]["task_id"] == row["extra_info"]["task_id"] for v in kwargs.values())
        assert line_problems("verl", dict(row, extra_info=dict(row["extra_info"], tools_kwargs=kwargs))) == []
        assert row["data_source"] == "firefly" and row["reward_model"]["style"] == "rule"
        assert [m["role"] for m in row["prompt"]] == ["system", "user"]
    truth = json.loads(by_id["t-number"]["reward_model"]["ground_truth"])
    assert truth == {"label": 30.5, "match": {"rule": "number", "tolerance": 1e-6}, "probe": None, "answer_schema": None}
    assert by_id["t-hops"]["extra_info"]["hops"] == 2 and [r["extra_info"]["index"] for r in rows] == list(range(len(rows)))
    ds = load_dataset("parquet", data_files=str(path), split="train")
    assert ds.num_rows == len(VERIFIED) and ds[0]["reward_model"]["style"] == "rule"


def test_hub_folder_loads_by_its_card_and_decodes_to_objects(exported):
    from firefly.trainers.data import load

    folder = exported / "all-hf"
    card = (folder / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    want = {s: sum(1 for t in VERIFIED if TASKS[t][8] == s) for s in ("train", "test")}
    assert meta["license"] == "cc-by-4.0"
    assert {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]} == want
    assert {f["name"] for f in meta["dataset_info"]["features"]} >= {"messages", "tools", "label", "task_id", "hops"}
    assert "replays to it" in card and "| test | 5 |" in card
    plain = load_dataset(str(folder))  # JSON columns as JSON text: what every datasets version reads
    assert {name: split.num_rows for name, split in plain.items()} == want
    assert plain["test"].features["label"] == Value("string")
    ds = load(folder)
    rows = {r["task_id"]: r for split in ds.values() for r in split}
    assert rows["t-number"]["label"] == 30.5 and rows["t-set"]["label"] == ["todo.md", "ideas.md"]
    assert rows["t-subset"]["label"] == {"sum": 3} and rows["t-change"]["probe"]["expected"] == "buy eggs"
    for row in rows.values():
        # Arrow structs have one set of keys: a message loads with the keys it lacks as null
        messages = [{k: v for k, v in m.items() if v is not None or (k == "content" and m["role"] == "assistant")}
                    for m in row["messages"]]
        assert line_problems("hf", dict(row, messages=messages)) == []
        for template in (QWEN25, QWEN3):
            assert rendered_calls(template, row) == calls_of(row)
    for parquet in (folder / "data").iterdir():  # plain pyarrow reads it too (JSON columns as JSON text)
        assert pq.read_table(parquet).num_rows == want[parquet.name.split("-")[0]]


@pytest.mark.parametrize("python", ["suite", "datasets3"])
@pytest.mark.timeout(900)  # a cold datasets3 venv is built first (tests/pinned_envs.py)
def test_trl_and_hf_load_exactly_with_old_and_new_datasets(exported, python, request):
    """The same files loaded by the suite's datasets (5.x) and by datasets 3.6 in a venv of its
    own (3.x has no Json feature)."""
    python = sys.executable if python == "suite" else str(request.getfixturevalue("datasets3_python"))
    run = subprocess.run([python, str(Path(__file__).parent / "datasets_roundtrip.py"), str(exported)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "trl 7 rows" in run.stdout and '"t-number": 30.5' in run.stdout, run.stdout


def test_a_format_is_refused_by_name_and_formats_replace_the_default(store, db_path, tmp_path):
    tasks_world(store)
    result = runner.invoke(app, ["export", "--db", str(db_path), "--out", str(tmp_path), "--format", "csv"])
    assert result.exit_code == 2 and "csv" in result.output
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", "--db", str(db_path), "--out", str(out), "--format", "trl"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.iterdir()] == ["train-trl.jsonl"]


@pytest.mark.parametrize("kind, path, value", [
    ("rl", ("label",), 2),                                  # JSON text, not a value
    ("rl", ("match",), '{"rule": "fuzzy"}'),                # decoded and checked
    ("rl", ("tools",), "[1"),                               # not JSON
    ("rl", ("tool_targets",), "{}"),
    ("trl", ("messages", 2, "tool_calls", 0, "function", "arguments"), '{"path": "x"}'),  # text, not an object
    ("trl", ("messages", 3, "name"), "notes__list_notes"),  # names another call
    ("trl", ("task_id",), KeyError),
    ("verl", ("reward_model", "style"), "model"),
    ("verl", ("reward_model", "ground_truth"), '{"label": 1}'),
    ("verl", ("extra_info", "tools_kwargs"), {"x": {"create_kwargs": {"task_id": "t", "server": "s", "tool": "t"}}}),
])
def test_near_misses_of_the_trainer_formats_are_caught(exported, kind, path, value):
    source = {"rl": "all-rl.jsonl", "trl": "all-trl.jsonl"}
    if kind == "verl":
        row = pq.read_table(exported / "all-verl.parquet").to_pylist()[0]
        row["extra_info"]["tools_kwargs"] = {n: v for n, v in row["extra_info"]["tools_kwargs"].items() if v is not None}
    else:
        row = next(r for r in jsonl(exported / source[kind]) if r["task_id"] == "t-exact")
    assert line_problems(kind, row) == []
    target = row
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    assert line_problems(kind, row)
