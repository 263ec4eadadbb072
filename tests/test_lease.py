"""The writer lease: one process at a time writes a database; the second writer names the
holder and exits (or waits with --wait); the kernel frees the lease of a killed holder."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from firefly.errors import LeaseHeld
from firefly.lease import WriterLease, holder, lock_path
from firefly.store import Store

HOLD = """
import sys
from firefly.lease import WriterLease
lease = WriterLease.acquire(sys.argv[1], "run")
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin (or kills this process)
lease.release()
"""


def firefly(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "firefly", *args], capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def held(tmp_path):
    """A database whose lease another process holds (as `firefly run` would)."""
    path = tmp_path / "work.db"
    Store.open(path).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield path, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def said(result: subprocess.CompletedProcess) -> str:
    return " ".join((result.stdout + result.stderr).split())  # rich wraps long lines


def test_second_writer_names_the_holder_and_exits(held):
    path, proc = held
    for command in (["run", "--dags", "1"], ["rebuild"], ["servers", "add", "x", "--db", str(path), "--", "true"]):
        result = firefly(*command, *([] if "--" in command else ["--db", str(path)]))
        assert result.returncode == 1, said(result)
        text = said(result)
        assert f"is being written by process {proc.pid} on host {socket.gethostname()} (firefly run, since 20" in text
        assert "pass --wait" in text and "Traceback" not in text
    with Store.open(path) as store:  # none of them wrote anything
        assert store.count() == 0
    # readers never need the lease
    assert firefly("status", "--db", str(path)).returncode == 0


def test_lease_of_a_killed_holder_is_taken_over(held):
    path, proc = held
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert holder(path)["pid"] == proc.pid  # its note stays behind, but the lock went with it
    result = firefly("servers", "add", "x", "--db", str(path), "--", "true")
    assert result.returncode == 0, said(result)
    with Store.open(path) as store:
        assert store.count() > 0
    assert holder(path) is None  # released on exit: no note


def test_wait_waits_for_the_holder_to_end(held):
    path, proc = held
    waiter = subprocess.Popen([sys.executable, "-m", "firefly", "servers", "add", "x", "--wait", "--db", str(path), "--", "true"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = waiter.stderr.readline()  # printed once it found the lease taken, before it blocks
        assert line.startswith("waiting:")
        assert waiter.poll() is None
        proc.stdin.close()  # the holder finishes
        waiter.wait(timeout=120)  # its output is a few lines: the pipes do not fill
        out, err = waiter.stdout.read(), waiter.stderr.read()
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert waiter.returncode == 0, out + err
    assert f"is being written by process {proc.pid}" in " ".join((line + err).split())
    assert "x: added" in out


def test_store_opened_as_writer_holds_the_lease_until_closed(db_path):
    with Store.open(db_path, writer="explore") as store:
        note = json.loads(lock_path(db_path).read_text())
        assert (note["pid"], note["host"], note["command"]) == (os.getpid(), socket.gethostname(), "explore")
        assert store.lease is not None and store.lease.held
        # server processes firefly starts do not inherit the lock (a server that outlives a
        # killed firefly must not keep the lease)
        assert not os.get_inheritable(store.lease._fd)
        # in this process a second acquisition joins the first (a stage opening its own store)
        with Store.open(db_path, writer="verify") as again:
            assert again.lease is store.lease
        assert store.lease.held
    assert holder(db_path) is None
    Store.open(db_path).close()  # readers take no lease
    assert lock_path(db_path).read_text() == ""


def test_lease_held_elsewhere_raises_a_named_error(held):
    path, proc = held
    with pytest.raises(LeaseHeld, match=rf"process {proc.pid} on host .* \(firefly run, since "):
        Store.open(path, writer="discover")
    with pytest.raises(LeaseHeld):
        WriterLease.acquire(path, "merge")


def test_merge_takes_the_lease_of_its_output(held, tmp_path):
    out, proc = held
    source = tmp_path / "source.db"
    Store.open(source).close()
    result = firefly("merge", str(source), str(out), "--force")
    assert result.returncode == 1 and f"process {proc.pid}" in said(result)
