"""``firefly browse`` as a process: it says its URL only once Datasette answers there, and
however firefly is stopped (Ctrl-C, SIGTERM, even SIGKILL on Linux) its Datasette child
stops too. Real subprocesses on loopback ports; the child is found through /proc."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from firefly.browse import BrowseError, pick_port, serve
from firefly.cli import app
from firefly.events import ServerRegistered
from firefly.store import Store

ROOT = Path(__file__).resolve().parents[1]
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
START_DEADLINE = 120.0  # a loaded 2-core machine can take a while to start Datasette
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the child through /proc")


@pytest.fixture
def small_db(tmp_path) -> Path:
    path = tmp_path / "small.db"
    with Store.open(path) as store:
        store.append(ServerRegistered(name="notes", transport="stdio", command="notes-server"))
        store.catch_up()
    return path


def answers(url: str) -> bool:
    try:
        with DIRECT.open(url + "-/versions.json", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def children_of(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and parent_of(int(p.name)) == pid]


def gone(pid: int) -> bool:
    """No such process, or only its exit status is left (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def eventually(check, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def start_browse(db: Path, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with open(log, "wb") as err:
        # as from a terminal: Ctrl-C interrupts it even when this test runs where SIGINT is
        # ignored (a background job of a script), which a child would otherwise inherit
        return subprocess.Popen([sys.executable, "-m", "firefly", "browse", str(db), "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=err, env=env, bufsize=0,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def first_line(proc: subprocess.Popen, log: Path) -> str:
    """firefly's first line on stdout, waiting for it (or for firefly to exit)."""
    out = b""
    deadline = time.monotonic() + START_DEADLINE
    while b"\n" not in out:
        left = deadline - time.monotonic()
        assert left > 0, f"no line from firefly browse: {log.read_text()}"
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"firefly browse exited ({proc.wait()}): {log.read_text()}"
            out += chunk
    return out.split(b"\n", 1)[0].decode()


def stop_all(proc: subprocess.Popen) -> None:
    """After a test: nothing it started is left running, even when it failed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for child in getattr(proc, "children", []):
        if not gone(child):
            os.kill(child, signal.SIGKILL)


@linux_only
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_the_url_answers_once_said_and_stopping_firefly_stops_datasette(small_db, tmp_path, stop):
    port = pick_port(0)
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "stderr.log"
    proc = start_browse(small_db, port, log)
    try:
        line = first_line(proc, log)
        assert url in line
        assert answers(url)  # at once: the line comes only after the server answered
        (child,) = children_of(proc.pid)
        proc.children = [child]
        proc.send_signal(stop)
        assert proc.wait(timeout=60) == 0, log.read_text()
        assert gone(child) and not answers(url)
        assert "Traceback" not in log.read_text()
    finally:
        stop_all(proc)


@linux_only
def test_a_killed_firefly_leaves_no_datasette_behind(small_db, tmp_path):
    port = pick_port(0)
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "stderr.log"
    proc = start_browse(small_db, port, log)
    try:
        assert url in first_line(proc, log)
        (child,) = children_of(proc.pid)
        proc.children = [child]
        proc.kill()  # SIGKILL: no handler runs; the kernel tells the child its parent died
        proc.wait()
        assert eventually(lambda: gone(child)), f"datasette {child} outlived firefly"
        assert eventually(lambda: not answers(url))
    finally:
        stop_all(proc)


def test_a_child_that_exits_before_answering_is_one_clear_error(tmp_path):
    url = f"http://127.0.0.1:{pick_port(0)}/"
    said = []
    script = "import sys; print('INFO: starting', file=sys.stderr); print('Error: no such database', file=sys.stderr); sys.exit(3)"
    with pytest.raises(BrowseError, match=r"exited with code 3 before answering .*: Error: no such database$"):
        serve([sys.executable, "-c", script], url, on_ready=said.append)
    assert said == []


@linux_only
def test_a_child_that_never_answers_is_stopped_after_the_deadline(tmp_path):
    url = f"http://127.0.0.1:{pick_port(0)}/"
    marker = f"firefly-test-sleeper-{os.getpid()}"
    said = []
    with pytest.raises(BrowseError, match=r"did not answer on .* within 2 s"):
        serve([sys.executable, "-c", "import time; time.sleep(600)", marker], url, on_ready=said.append, ready_timeout=2)
    assert said == []
    left = [p for p in children_of(os.getpid()) if not gone(p) and marker in _cmdline(p)]
    assert left == []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_port_in_use_is_one_clear_line(small_db):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["browse", str(small_db), "--port", str(port)])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and f"port {port} on 127.0.0.1 is in use" in said and "--port 0" in said
