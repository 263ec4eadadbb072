"""The conventions people expect of a CLI (issue 13, item 3) and read-only media (issue 16,
item 10): --version, help without <bool> and with choices, read-only commands that never
create or change a file, one clear line for the common failures."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import firefly
from firefly.cli import app
from firefly.errors import NotAFireflyDatabase, ReadOnlyDatabase
from firefly.resources import bundled_registry
from firefly.store import Store

from .eval_fixtures import TASKS, tasks_world
from .test_cli import ALL

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
REPO = Path(__file__).resolve().parent.parent
VERIFIED = len(TASKS) - 1  # all but t-unverified


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, env=WIDE)


def one_line_error(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], result.output


@pytest.fixture
def tasks_db(tmp_path) -> Path:
    path = tmp_path / "tasks.db"
    with Store.open(path) as store:
        tasks_world(store)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


# -- version ---------------------------------------------------------------------------------


def test_version_option_and_command(monkeypatch):
    import importlib.metadata

    def missing(name):
        assert name == firefly.DIST_NAME == "firefly-mcp"
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert invoke("--version").output.strip() == f"firefly {firefly.__version__}"
    assert invoke("version").output.strip() == firefly.__version__
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "9.8.7")
    assert invoke("--version").output.strip() == "firefly 9.8.7"


# -- help --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [(), *ALL], ids=lambda p: " ".join(p) or "firefly")
def test_help_shows_no_bool_metavar(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0 and "<bool>" not in result.output


CHOICES = [
    (("explore",), "--policy", "offline|llm"),
    (("synthesize",), "--synthesizer", "offline|llm"),
    (("eval",), "--agent", "openai|oracle|null"),
    (("eval",), "--split", "train|test|all"),
    (("eval",), "--simulator", "strict|nearest|llm"),
    (("export",), "--split", "train|test|all"),
    (("export",), "--simulator", "strict|nearest|llm"),
    (("simulate", "serve"), "--mode", "strict|nearest|llm"),
    (("simulate", "serve"), "--transport", "stdio|http"),
    (("simulate", "fidelity"), "--mode", "strict|nearest|llm"),
    (("graph", "build"), "--judge", "rules|llm"),
    (("graph", "build"), "--embedder", "hashed|remote"),
    (("embed",), "--embedder", "hashed|remote"),
]


@pytest.mark.parametrize("path,option,choices", CHOICES, ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_fixed_choices_are_shown_and_checked(path, option, choices):
    assert choices in invoke(*path, "--help").output
    result = runner.invoke(app, [*path, option, "bogus"], env=WIDE)
    assert result.exit_code == 2 and "bogus" in result.output


def test_help_paragraphs_are_not_cut_where_the_docstring_had_line_breaks():
    # the docstrings break lines after "tool" and after "has"; the help wraps at the terminal's width
    text = invoke("export", "--help").output
    assert "and tools), each reference trajectory replayed in the simulator" in text
    text = invoke("browse", "--help").output
    assert "there are pages for tasks and explorations, SVG pictures" in text
    listing = invoke("--help").output  # a first paragraph over two lines is one line in the list
    assert "(the bundled ones by default): discover, graph, sample, explore" in listing


# -- commands that only read ---------------------------------------------------------------------

READERS = [
    ("status",), ("status", "--json"), ("export",), ("eval", "--agent", "oracle"), ("pack", "OUT.db"),
    ("browse",), ("simulate", "serve", "--all"), ("simulate", "fidelity"), ("graph", "stats"), ("graph", "edges"),
    ("graph", "dags"),
]


def _other_app_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("command", READERS, ids=" ".join)
@pytest.mark.parametrize("kind", ["missing", "text", "other-sqlite", "empty"])
def test_a_reading_command_never_creates_or_changes_a_file(isolated, command, kind):
    target = isolated / "target.db"
    if kind == "text":
        target.write_text("not a database\n")
    elif kind == "other-sqlite":
        _other_app_db(target)
    elif kind == "empty":
        target.touch()
    before = sorted(p.name for p in isolated.iterdir())
    content = target.read_bytes() if target.exists() else None
    result = invoke(*command, "--db", str(target))
    expected = {"missing": "no firefly database", "text": "not a firefly database", "empty": "not a firefly database",
                "other-sqlite": "not a firefly one"}[kind]
    one_line_error(result, expected)
    assert sorted(p.name for p in isolated.iterdir()) == before  # no database, no -wal, no OUT.db
    if content is not None:
        assert target.read_bytes() == content
    if kind == "other-sqlite":
        conn = sqlite3.connect(target)
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("notes",)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
        conn.close()


def test_merge_of_a_file_that_is_not_a_firefly_database(isolated):
    _other_app_db(isolated / "other.db")
    result = invoke("merge", str(isolated / "other.db"), str(isolated / "out.db"))
    one_line_error(result, "other.db", "not a firefly one")
    assert not (isolated / "out.db").exists()


# -- read-only media -------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


@pytest.fixture
def read_only_media(tasks_db, tmp_path, monkeypatch):
    """A WAL-mode firefly database in a folder that cannot be written. Tests run as root,
    whom permissions do not stop, so "cannot be written" is what access(2) answers on
    read-only media (EROFS, even for root): the store asks os.access, and here it says no."""
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(tasks_db, media / "data.db")
    conn = sqlite3.connect(media / "data.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert not (media / "data.db-wal").exists() and not (media / "data.db-shm").exists()
    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and Path(path).resolve().is_relative_to(media.resolve()):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr("firefly.store.os.access", access)
    return media


def test_reading_commands_work_on_read_only_media_and_write_nothing(read_only_media, tmp_path):
    db = str(read_only_media / "data.db")
    before = _snapshot(read_only_media)
    result = invoke("status", "--db", db)
    assert result.exit_code == 0, result.output
    assert "tasks synthesized / verified / rejected" in result.output
    data = json.loads(invoke("status", "--json", "--db", db).output)
    assert data["read_only"] is True and data["tasks"]["verified"] == VERIFIED
    result = invoke("export", "--db", db, "--out", str(tmp_path / "out"), "--split", "all")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "all-rl.jsonl").read_text().count("\n") == VERIFIED
    for command in (("graph", "stats"), ("graph", "dags"), ("graph", "edges")):
        assert invoke(*command, "--db", db).exit_code == 0
    assert _snapshot(read_only_media) == before  # same files (no -wal, no -shm), same bytes, same times


def _eval_rows(results: Path) -> tuple[list[tuple], list[tuple]]:
    conn = sqlite3.connect(results)
    try:
        evals = conn.execute("SELECT eval_id, agent, dataset, dataset_hash, episodes, solved FROM evals").fetchall()
        episodes = conn.execute("SELECT task_id, reward FROM episodes ORDER BY task_id").fetchall()
    finally:
        conn.close()
    return evals, episodes


def test_eval_on_read_only_media_records_its_episodes_beside_it(read_only_media, isolated):
    db = read_only_media / "data.db"
    before = _snapshot(read_only_media)
    result = invoke("eval", "--agent", "oracle", "--split", "all", "--db", str(db))
    assert result.exit_code == 0, result.output
    # one line says where the episodes go: ./data-eval.db in the working directory
    assert f"{db} cannot be written (read-only media?): episodes go to data-eval.db" in " ".join(result.output.split())
    results = isolated / "data-eval.db"
    [(eval_id, agent, dataset, dataset_hash, episodes, solved)], scored = _eval_rows(results)
    assert (agent, dataset, dataset_hash) == ("oracle", str(db.resolve()), "")  # not packed: no content hash
    assert episodes == solved == VERIFIED and all(reward == 1.0 for _, reward in scored)
    # the report is made from the results and the dataset's tasks: rows per kind and server
    assert "1.000" in result.output and "multi-hop" in result.output and "notes" in result.output
    # the same command again continues that evaluation: nothing to play, the same report
    again = invoke("eval", "--agent", "oracle", "--split", "all", "--db", str(db))
    assert again.exit_code == 0 and _eval_rows(results)[1] == scored and eval_id in again.output
    status = invoke("status", "--db", str(results))
    assert status.exit_code == 0, status.output
    assert f"{VERIFIED} of {VERIFIED} episodes solved" in status.output and f"tasks from {db.resolve()}" in status.output
    assert json.loads(invoke("status", "--json", "--db", str(results)).output)["evaluations"]["episodes"] == VERIFIED
    assert _snapshot(read_only_media) == before


def test_eval_record_to_names_a_packed_dataset_by_its_content_hash(tasks_db, read_only_media, isolated):
    packed = isolated / "packed.db"
    assert invoke("pack", str(packed), "--db", str(tasks_db)).exit_code == 0
    shutil.move(packed, read_only_media / "packed.db")
    db = read_only_media / "packed.db"
    before = _snapshot(read_only_media)
    conn = sqlite3.connect(db)
    content_hash = json.loads(conn.execute("SELECT value FROM dataset WHERE key = 'content_hash'").fetchone()[0])
    conn.close()
    results = isolated / "results" / "eval.db"
    one_line_error(invoke("eval", "--agent", "oracle", "--db", str(db), "--record-to", str(results)), "cannot create")
    results.parent.mkdir()
    result = invoke("eval", "--agent", "oracle", "--split", "all", "--db", str(db), "--record-to", str(results))
    assert result.exit_code == 0, result.output
    assert "episodes go to" not in result.output  # the place was chosen
    [(eval_id, _, dataset, dataset_hash, episodes, _)], _ = _eval_rows(results)
    assert (dataset, dataset_hash, episodes) == (str(db.resolve()), content_hash, VERIFIED)
    # the same evaluation of another dataset recorded in the same file is another evaluation
    assert invoke("eval", "--agent", "oracle", "--split", "all", "--db", str(tasks_db), "--record-to", str(results)).exit_code == 0
    evals, scored = _eval_rows(results)
    assert len(evals) == 2 and len(scored) == 2 * VERIFIED
    assert {row[2:4] for row in evals} == {(str(db.resolve()), content_hash), (str(tasks_db.resolve()), "")}
    assert _snapshot(read_only_media) == before
    # a file that is not a firefly database is never taken for the results
    _other_app_db(isolated / "other.db")
    one_line_error(invoke("eval", "--agent", "oracle", "--db", str(db), "--record-to", str(isolated / "other.db")),
                   "not a firefly one")


def test_read_only_store_opens_without_migrating_and_refuses_writes(read_only_media):
    from firefly.env import FireflyEnv
    from firefly.events import RunStarted

    before = _snapshot(read_only_media)
    with Store.open(read_only_media / "data.db", read_only=None) as store:
        assert store.read_only
        assert store.catch_up() == 0
        with pytest.raises(ReadOnlyDatabase):
            store.append(RunStarted(run_id="r", command="x", options={}, version="0"))
        with store.run("status") as summary:  # a run on a read-only store is not recorded
            summary["n"] = 1
    with FireflyEnv(read_only_media / "data.db", split=None) as env:  # a WAL file: not "has no tasks table"
        assert len(env.task_ids) == VERIFIED
    assert _snapshot(read_only_media) == before


def test_store_refuses_what_is_not_a_firefly_database(isolated):
    _other_app_db(isolated / "other.db")
    with pytest.raises(NotAFireflyDatabase, match="not a firefly one"):
        Store.open(isolated / "other.db", create=False)
    with pytest.raises(NotAFireflyDatabase):
        Store.open(isolated / "other.db", read_only=True)


def _can_mount_read_only(tmp_path: Path) -> bool:
    if not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind -o ro {tmp_path} {tmp_path}"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def test_real_read_only_mount(tasks_db, tmp_path):
    """The same on a real read-only bind mount (a private mount namespace), where even root
    cannot write: status, export, eval and FireflyEnv work on a WAL file, nothing is written
    there (eval records beside the working directory)."""
    if not _can_mount_read_only(tmp_path):
        pytest.skip("needs unshare -m and mount (root in a mount namespace)")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(tasks_db, media / "data.db")
    out = tmp_path / "out"
    before = _snapshot(media)
    script = (
        "import sys; from firefly.env import FireflyEnv; from firefly.cli import app;"
        f"env = FireflyEnv({str(media / 'data.db')!r}, split=None); print('env tasks', len(env.task_ids)); env.close();"
        f"sys.argv = ['firefly', 'status', '--json', '--db', {str(media / 'data.db')!r}]; app()"
    )
    command = (f"mount --bind -o ro {media} {media} && touch {media}/x 2>/dev/null; test ! -e {media}/x &&"
               f" {sys.executable} -c \"{script}\" &&"
               f" {sys.executable} -m firefly export --split all --out {out} --db {media / 'data.db'} &&"
               f" {sys.executable} -m firefly eval --agent oracle --split all --db {media / 'data.db'}")
    result = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"env tasks {VERIFIED}" in result.stdout and '"read_only": true' in result.stdout
    assert (out / "all-rl.jsonl").exists()
    assert "episodes go to data-eval.db" in " ".join(result.stderr.split())
    assert _eval_rows(tmp_path / "data-eval.db")[0][0][4:] == (VERIFIED, VERIFIED)
    assert _snapshot(media) == before


# -- servers, run, status --json ---------------------------------------------------------------------


def test_discover_without_servers_offers_the_bundled_registry(isolated):
    result = invoke("discover")
    assert result.exit_code == 0
    assert "firefly servers import --bundled" in result.output and str(bundled_registry()) in result.output
    assert bundled_registry().is_file()
    result = invoke("servers", "import", "--bundled")
    assert result.exit_code == 0, result.output
    names = json.loads(bundled_registry().read_text())["mcpServers"]
    assert f"{len(names)} server(s) in {bundled_registry()}" in result.output
    one_line_error(runner.invoke(app, ["servers", "import"], env=WIDE), "--bundled")
    one_line_error(runner.invoke(app, ["servers", "import", "x.json", "--bundled"], env=WIDE), "--bundled")


def test_run_with_a_missing_registry_fails_before_any_progress_bar(isolated):
    result = runner.invoke(app, ["run", "--registry", "missing.json"], env=WIDE)
    one_line_error(result, "missing.json")
    assert not (isolated / "firefly.db").exists()


def test_a_registry_that_is_not_utf8_is_one_line(isolated):
    (isolated / "bad.json").write_bytes(b'{"mcpServers": {"caf\xe9": {"command": "x"}}}')
    one_line_error(runner.invoke(app, ["servers", "import", "bad.json"], env=WIDE), "not UTF-8")
    one_line_error(runner.invoke(app, ["run", "--registry", "bad.json"], env=WIDE), "not UTF-8")
    (isolated / "bom.json").write_bytes(b'\xef\xbb\xbf{"mcpServers": {"x": {"command": "x"}}}')
    assert invoke("servers", "import", "bom.json").exit_code == 0


def test_status_json_has_stable_keys(tasks_db):
    data = json.loads(invoke("status", "--json", "--db", str(tasks_db)).output)
    assert set(data) == {"format", "database", "read_only", "behind", "events", "runs", "errors", "servers", "tools",
                         "graph", "explorations", "tasks", "evaluations", "quality"}
    assert data["format"] == 1 and data["read_only"] is False and data["behind"] is False
    assert set(data["tasks"]) == {"synthesized", "verified", "rejected", "train", "test", "unassigned"}
    assert data["tasks"]["synthesized"] == len(TASKS) and data["tasks"]["verified"] == VERIFIED
    assert set(data["tools"]) == {"callable", "catalog", "removed", "invalid_schema"}
    assert set(data["graph"]) == {"embeddings", "candidate_pairs", "edges", "dags", "dags_with_catalog"}
    assert set(data["explorations"]) == {"total", "finished", "failed", "unfinished", "calls", "calls_succeeded"}
    assert set(data["evaluations"]) == {"evals", "episodes"}
    assert set(data["quality"]) == {"callable_tools", "tools_needed", "tools_needed_share", "tools_not_needed", "per_tool",
                                    "verified_tasks", "templates", "top_templates", "rejections"}


# -- one line, not a traceback ---------------------------------------------------------------------


def test_a_port_in_use_is_one_line(tasks_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["simulate", "serve", "--all", "--transport", "http", "--port", str(port),
                                     "--db", str(tasks_db)], env=WIDE)
    one_line_error(result, f"127.0.0.1:{port}", "in use")


def test_a_full_disk_is_one_line(tasks_db, monkeypatch, tmp_path):
    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr("firefly.report.status_json", full)
    one_line_error(runner.invoke(app, ["status", "--json", "--db", str(tasks_db)], env=WIDE), "disk is full", "free some space")

    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("firefly.export.export", enospc)
    result = runner.invoke(app, ["export", "--out", str(tmp_path / "o"), "--db", str(tasks_db)], env=WIDE)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("Error: the disk is full")]


def test_run_takes_a_bundled_registry_by_name(monkeypatch, tmp_path):
    """`firefly run --registry offline` checks and imports the bundled registry of that name."""
    seen = {}

    def fake_run(store, opts, console):  # the stages themselves are tested elsewhere
        seen["registry"] = opts.registry

    monkeypatch.setattr("firefly.pipeline.run_pipeline", fake_run)
    monkeypatch.setattr("firefly.cli._print_status", lambda store: None)
    result = invoke("run", "--registry", "offline", "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 0, result.output
    assert seen["registry"].parts[-2:] == ("offline", "servers.json")
