"""The harness on a real run: the bundled servers discovered and explored, tasks synthesized,
verified and split, then the baselines on the test split (oracle 1.0, null 0.0) and the
train split exported, every line checked."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from firefly.cli import app
from firefly.evaluation import EvalSettings, NullAgent, OracleAgent, eval_report, evaluate
from firefly.export import line_problems
from firefly.store import Store

pytestmark = pytest.mark.real_servers
runner = CliRunner()


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    db = tmp_path_factory.mktemp("bundled") / "bundled.db"
    result = runner.invoke(app, ["run", "--dags", "16", "--concurrency", "3", "--test-fraction", "0.5", "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return db


def test_oracle_scores_1_and_null_0_on_the_test_split(bundled):
    with Store.open(bundled) as store:
        tested = store.conn.execute("SELECT count(*) FROM tasks WHERE verified = 1 AND split = 'test'").fetchone()[0]
        assert tested >= 3
        for agent, want in ((OracleAgent(), 1.0), (NullAgent(), 0.0)):
            eval_id = evaluate(store, agent, EvalSettings(split="test"), concurrency=2)
            report = eval_report(store, eval_id)
            assert report.episodes == tested
            assert report.pass_at_1 == want, [
                (r[0], r[1]) for r in store.conn.execute(
                    "SELECT task_id, answer FROM episodes WHERE eval_id = ? AND reward != ?", (eval_id, want))]
            kinds = {r.value for r in report.rows if r.group == "kind"}
            assert kinds and all(r.pass_at_1 == want for r in report.rows)
        assert {r.value for r in report.rows if r.group == "server"} <= {"git", "filesystem", "sqlite", "memory", "time", "calculator"}


def test_every_train_task_exports_a_checked_line(bundled, tmp_path):
    result = runner.invoke(app, ["export", "--db", str(bundled), "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Store.open(bundled) as store:
        train = store.conn.execute("SELECT count(*) FROM tasks WHERE verified = 1 AND split = 'train'").fetchone()[0]
    for kind in ("chat", "rl"):
        lines = [json.loads(line) for line in (tmp_path / f"train-{kind}.jsonl").read_text().splitlines()]
        assert len(lines) == train > 0, kind
        assert all(line_problems(kind, line) == [] for line in lines)


def test_every_format_of_the_bundled_run_loads_with_the_real_libraries(bundled, tmp_path):
    import pyarrow.json as paj
    import pyarrow.parquet as pq
    from datasets import load_dataset

    from firefly.export import features

    formats = [arg for fmt in ("chat", "rl", "trl", "verl", "hf") for arg in ("--format", fmt)]
    result = runner.invoke(app, ["export", "--db", str(bundled), "--out", str(tmp_path), "--split", "all", *formats],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with Store.open(bundled) as store:
        verified = store.conn.execute("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0]
    rl = tmp_path / "all-rl.jsonl"
    assert paj.read_json(rl).num_rows == verified  # pyarrow's reader: what datasets 3.x fails with on mixed types
    assert load_dataset("json", data_files=str(rl), split="train").num_rows == verified
    trl = load_dataset("json", data_files=str(tmp_path / "all-trl.jsonl"), split="train", features=features("trl"))
    original = [json.loads(line) for line in (tmp_path / "all-trl.jsonl").read_text().splitlines()]
    calls = lambda row: [c["function"] for m in row["messages"] for c in m.get("tool_calls") or []]  # noqa: E731
    assert [calls(r) for r in trl] == [calls(r) for r in original]  # arguments exactly, no null padding
    assert pq.read_table(tmp_path / "all-verl.parquet").num_rows == verified
    hub = load_dataset(str(tmp_path / "all-hf"))
    assert sum(split.num_rows for split in hub.values()) == len(original)
    print(f"bundled export: {verified} verified tasks, {len(original)} conversations")
