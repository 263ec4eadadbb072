"""The shipped dataset end to end: a run on the bundled real servers, packed into one file,
served by ``firefly browse`` (Datasette on loopback) and read in headless Chromium.

One exploration writes a file whose content is hostile markup with the real filesystem
server and reads it back, so a real tool result carries ``<script>``; the browser must show
it as text and run nothing. Chromium comes from Debian (``apt-get install -y chromium``,
which ``.ci/run`` does when it is missing); without it the browser checks skip, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from firefly.discovery import discover
from firefly.embed import HashedEmbedder
from firefly.events import DagSampled, DagTool
from firefly.explore.offline import OfflinePolicy
from firefly.explore.policy import ArgSource, Proposal
from firefly.explore.stage import explore
from firefly.graph import RulesJudge, build_graph
from firefly.pack import pack
from firefly.registry import parse_registry, register
from firefly.resources import bundled_registry
from firefly.sample import sample_dags
from firefly.simulator import Simulator
from firefly.store import Store
from firefly.synth.offline import OfflineSynthesizer
from firefly.synth.split import assign_splits
from firefly.synth.stage import synthesize
from firefly.synth.verify import verify
from firefly.vectors import ToolIndex

from .browse_fixtures import HOSTILE

pytestmark = pytest.mark.real_servers

PLANTED = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
HOSTILE_PATH = "/workspace/files/hostile.html"
FIREFLY = Path(sys.executable).with_name("firefly")


class HostileFilesPolicy:
    """Writes hostile markup to a file with the real filesystem server, then reads it."""

    name = "hostile-files"

    def propose(self, tool, history, workspace, rng, attempt=0):  # noqa: ANN001, ANN201
        if tool.name == "write_file":
            return Proposal({"path": HOSTILE_PATH, "content": HOSTILE})
        if tool.name == "read_text_file":
            return Proposal({"path": HOSTILE_PATH}, (ArgSource("/path", history[-1].step, "$.arguments.path", HOSTILE_PATH),))
        return None


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run on the bundled servers (one with a literal secret in its env), packed."""
    root = tmp_path_factory.mktemp("real-run")
    registry = json.loads(bundled_registry().read_text())
    registry["mcpServers"]["calculator"]["env"] = {"CALCULATOR_API_KEY": PLANTED}
    with Store.open(root / "work.db") as store:
        register(store, parse_registry(json.dumps(registry)), source="bundled")
        report = discover(store, connect_timeout=300, call_timeout=60)
        assert not report.failed, report.failed
        store.append(DagSampled(dag_id="hostile-files", seed=0, index=0, sampler="test-hostile", edges=[(0, 1)], tools=[
            DagTool(server="filesystem", name="write_file", schema_hash="h"),
            DagTool(server="filesystem", name="read_text_file", schema_hash="h")]))
        assert explore(store, HostileFilesPolicy(), dags=1, connect_timeout=300).finished == 1
        build_graph(store, embedder=HashedEmbedder(), judge=RulesJudge())
        sample_dags(store, 6, seed=0)
        explored = explore(store, OfflinePolicy(), dags=7, concurrency=2, connect_timeout=300)
        assert explored.finished >= 6 and explored.successes > 0
        assert synthesize(store, OfflineSynthesizer(seed=0)).tasks > 0
        verify(store)
        assign_splits(store)
        packed = root / "dataset.db"
        pack(store, packed)
    return root, packed


def test_packed_run_is_self_contained_and_secret_free(run, tmp_path):
    root, packed = run
    assert PLANTED.encode() not in packed.read_bytes()
    assert (root / "work.db.secrets.json").exists()  # the secret was kept, beside the working database
    moved = tmp_path / "elsewhere" / "copy.db"
    moved.parent.mkdir()
    shutil.copy(packed, moved)
    assert replay_tasks(moved) == replay_tasks(root / "work.db")  # the simulator answers the same from the copy
    with Store.open(root / "work.db") as original, Store.open(moved) as copy:
        model = original.conn.execute("SELECT model FROM embeddings LIMIT 1").fetchone()[0]
        index = ToolIndex.open(copy, model)
        assert not index.rebuilt and len(index) == len(ToolIndex.open(original, model))


def replay_tasks(db: Path) -> list[tuple]:
    """Every task's reference trajectory replayed in one simulator episode (strict mode)."""
    out = []
    with Simulator.open(db, mode="strict") as sim:
        tasks = sim.store.conn.execute("SELECT task_id, trajectory FROM tasks ORDER BY task_id").fetchall()
        for task_id, trajectory in tasks:
            episode = sim.episode()
            for step in json.loads(trajectory):
                r = episode.call_sync(step["server"], step["tool"], step["arguments"])
                out.append((task_id, step["step"], json.dumps(r.content), r.structured_content, r.is_error))
    assert out and not all(r[4] for r in out)
    return out


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("chromium is not installed: `.ci/run` installs it with `apt-get install -y chromium`,"
                    " which could not be done on this machine")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(run, tmp_path_factory):
    """``firefly browse`` over the packed file, on a loopback port."""
    _, packed = run
    port = free_port()
    log = tmp_path_factory.mktemp("browse-log") / "datasette.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(FIREFLY), "browse", str(packed), "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/versions.json", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"firefly browse did not start: {log.read_text()}")
            time.sleep(0.3)
        yield base, packed.stem
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def browser(url: str, profile: Path, *flags: str) -> str:
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         f"--user-data-dir={profile}", "--virtual-time-budget=3000", *flags, url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def one(packed: Path, sql: str, *params: object) -> tuple:
    conn = sqlite3.connect(packed)
    try:
        return conn.execute(sql, params).fetchone()
    finally:
        conn.close()


def test_exploration_page_in_chromium_shows_script_as_text(run, served, tmp_path):
    _, packed = run
    base, name = served
    (hostile,) = one(packed, "SELECT exploration_id FROM explorations WHERE dag_id = 'hostile-files'")
    dom = browser(f"{base}/{name}/-/firefly/exploration/{hostile}", tmp_path / "profile", "--dump-dom")
    assert "Exploration" in dom and "filesystem/write_file" in dom and "filesystem/read_text_file" in dom
    assert dom.index('id="step-0-0"') < dom.index('id="step-1-0"')
    # the tool's result is on the page as text; its script and handler never ran
    assert "&lt;script&gt;document.body.appendChild(document.createElement('pwned-script'))&lt;/script&gt;" in dom
    assert "<pwned-script" not in dom and "<pwned-img" not in dom
    assert '<img class="picture dag"' in dom
    # the calls of an offline exploration of a sampled DAG, in order
    (offline, calls) = one(packed, "SELECT exploration_id, calls FROM explorations WHERE policy = 'offline' AND calls > 1 LIMIT 1")
    dom = browser(f"{base}/{name}/-/firefly/exploration/{offline}", tmp_path / "profile", "--dump-dom")
    steps = [dom.index(f'id="step-{s}-{a}"') for s, a in sqlite3.connect(packed).execute(
        "SELECT step, attempt FROM calls WHERE exploration_id = ? ORDER BY step, attempt", (offline,))]
    assert len(steps) == calls and steps == sorted(steps)
    # and Datasette's own table view of the calls escapes the result too
    dom = browser(f"{base}/{name}/calls?exploration_id={hostile}", tmp_path / "profile", "--dump-dom")
    assert "<pwned-script" not in dom and "&lt;script&gt;document.body" in dom


def test_dag_picture_in_chromium(run, served, tmp_path):
    _, packed = run
    base, name = served
    dag_id, tools = one(packed, "SELECT dag_id, tools FROM dags WHERE sampler != 'test-hostile' ORDER BY position LIMIT 1")
    dom = browser(f"{base}/{name}/-/firefly/dag/{dag_id}.svg", tmp_path / "profile", "--dump-dom")
    assert "<svg" in dom and 'class="node"' in dom
    for server, tool in json.loads(tools):
        assert f'data-tool="{server}/{tool}"' in dom
    assert dom.count('class="edge"') == len(json.loads(one(packed, "SELECT edges FROM dags WHERE dag_id = ?", dag_id)[0]))


def test_screenshot_of_the_exploration_page(run, served, tmp_path):
    _, packed = run
    base, name = served
    (hostile,) = one(packed, "SELECT exploration_id FROM explorations WHERE dag_id = 'hostile-files'")
    shot = tmp_path / "exploration.png"
    browser(f"{base}/{name}/-/firefly/exploration/{hostile}", tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, len(data)
    kept = os.environ.get("FIREFLY_SCREENSHOTS")
    if kept:  # keep it for a person to look at
        shutil.copy(shot, Path(kept) / "exploration.png")


def test_task_page_in_chromium(run, served, tmp_path):
    _, packed = run
    base, name = served
    task_id, question, trajectory, provenance = one(
        packed, "SELECT task_id, question, trajectory, provenance FROM tasks ORDER BY verified DESC, hops DESC, task_id LIMIT 1")
    url = f"{base}/{name}/-/firefly/task/{task_id}"
    dom = browser(url, tmp_path / "profile", "--dump-dom")
    assert '<p class="question">' in dom and "Reference trajectory" in dom and "Verdicts" in dom
    steps = json.loads(trajectory)
    positions = [dom.index(f'id="step-{s["step"]}"') for s in steps]
    assert positions == sorted(positions)
    for s in steps:
        assert f"{s['server']}.{s['tool']}(" in dom
    assert '<mark class="provenance">' in dom and len(json.loads(provenance)) > 0
    verifiers = [v for (v,) in sqlite3.connect(packed).execute("SELECT verifier FROM verdicts WHERE task_id = ?", (task_id,))]
    assert verifiers and all(f"<td>{v}</td>" in dom for v in verifiers)
    shot = tmp_path / "task.png"
    browser(url, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,1600")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kept = os.environ.get("FIREFLY_SCREENSHOTS")
    if kept:
        shutil.copy(shot, Path(kept) / "task.png")
