"""Local services under firefly's control: started for the servers that declare them,
stopped at the end, and a clear reason when one cannot start."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from firefly.events import ServiceNeed
from firefly.services import Services, _postgres_bindir, _which, free_port


def reachable(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_web_service_serves_the_workspace_web_folder_and_stops(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>local page</h1>")
    with Services(tmp_path) as services:
        assert services.start(ServiceNeed(name="web", port=0, root="site")) is None
        url = services.variables["FIREFLY_WEB_URL"]
        port = int(services.variables["FIREFLY_WEB_PORT"])
        with urllib.request.urlopen(f"{url}/index.html", timeout=10) as r:  # noqa: S310 - loopback
            assert r.read() == b"<h1>local page</h1>"
        # a second server needing the same service shares it; other settings are refused
        assert services.start(ServiceNeed(name="web", port=0, root="site")) is None
        assert "other settings" in services.start(ServiceNeed(name="web", port=1234, root="site"))
    assert not reachable(port)


def test_a_service_that_cannot_start_is_a_reason_for_its_servers(tmp_path):
    class Reg:
        def __init__(self, name, needs):
            from firefly.events import ServerFixtures

            self.name = name
            self.fixtures = ServerFixtures(base=str(tmp_path), services=needs)

    with Services(tmp_path) as services:  # tmp_path has no web/ folder
        blocked = services.start_for([Reg("site-reader", [ServiceNeed(name="web", port=0)]), Reg("plain", [])])
    assert list(blocked) == ["site-reader"]
    assert "web/, is not in the sandbox" in blocked["site-reader"]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="Redis is not installed (no redis-server)")
def test_a_port_in_use_moves_the_service_to_a_free_one(tmp_path):
    """The declared port is taken (the system's Redis, another firefly): the service gets a
    port of its own, and the variables servers are started with say which."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with Services(tmp_path) as services:
            services.start(ServiceNeed(name="redis", port=port))
            assert services.unavailable == {}
            moved = int(services.variables["FIREFLY_REDIS_PORT"])
            assert moved != port and services.variables["FIREFLY_REDIS_URL"] == f"redis://127.0.0.1:{moved}"


@pytest.mark.skipif(_postgres_bindir() is None, reason="PostgreSQL is not installed (no initdb)")
def test_postgresql_starts_seeded_and_stops(tmp_path):
    (tmp_path / "seed.sql").write_text("CREATE TABLE t(x int); INSERT INTO t VALUES (41), (1);")
    with Services(tmp_path) as services:
        services.start(ServiceNeed(name="postgresql", port=free_port(), database="shop", seed=["seed.sql"]),
                       base=tmp_path)
        assert services.unavailable == {}
        port = int(services.variables["FIREFLY_POSTGRESQL_PORT"])
        psql = str(_postgres_bindir() / "psql")
        out = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "shop", "-tAc",
                              "SELECT sum(x) FROM t"], capture_output=True, text=True, check=True, timeout=30)
        assert out.stdout.strip() == "42"
    assert not reachable(port)


@pytest.mark.skipif(_which("redis-server") is None, reason="Redis is not installed (no redis-server)")
def test_redis_starts_seeded_and_stops(tmp_path):
    from firefly.services import _redis_command

    (tmp_path / "seed.txt").write_text("# comment\nSET greeting 'hello there'\nRPUSH jobs a b\n")
    with Services(tmp_path) as services:
        services.start(ServiceNeed(name="redis", port=free_port(), seed=["seed.txt"]), base=tmp_path)
        assert services.unavailable == {}
        port = int(services.variables["FIREFLY_REDIS_PORT"])
        assert _redis_command(port, ["LLEN", "jobs"]) == b":2"
    assert not reachable(port)


@pytest.mark.skipif(_which("redis-server") is None, reason="Redis is not installed (no redis-server)")
def test_each_exploration_slot_has_a_redis_database_of_its_own_seeded_again_on_reset(tmp_path):
    from firefly.services import _redis_command, _redis_commands

    (tmp_path / "seed.txt").write_text("RPUSH jobs a b\n")
    with Services(tmp_path) as services:
        services.start(ServiceNeed(name="redis", port=free_port(), seed=["seed.txt"]), base=tmp_path)
        port = int(services.variables["FIREFLY_REDIS_PORT"])
        assert services.variables["FIREFLY_REDIS_DB"] == "0" and services.slot_variables(None) == {}
        one, two = services.slot_variables(0), services.slot_variables(1)
        assert (one["FIREFLY_REDIS_DB"], two["FIREFLY_REDIS_DB"]) == ("1", "2")
        assert one["FIREFLY_REDIS_URL"] == f"redis://127.0.0.1:{port}/1"
        services.reset_slot(0)
        services.reset_slot(1)
        # slot 0's exploration pops a job and adds a key: slot 1 and database 0 never see it
        assert _redis_commands(port, [["SELECT", "1"], ["LPOP", "jobs"], ["SET", "made", "x"]])[0] == b"+OK"
        assert _redis_commands(port, [["SELECT", "1"], ["LLEN", "jobs"]])[1] == b":1"
        assert _redis_commands(port, [["SELECT", "2"], ["LLEN", "jobs"], ["EXISTS", "made"]])[1:] == [b":2", b":0"]
        assert _redis_command(port, ["LLEN", "jobs"]) == b":2"
        services.reset_slot(0)  # the next exploration of slot 0: the seeded world again
        assert _redis_commands(port, [["SELECT", "1"], ["LLEN", "jobs"], ["EXISTS", "made"]])[1:] == [b":2", b":0"]


@pytest.mark.skipif(_which("mariadbd", "mysqld") is None, reason="MariaDB is not installed (no mariadbd)")
def test_mariadb_starts_seeded_and_stops(tmp_path):
    (tmp_path / "seed.sql").write_text("CREATE TABLE t(x int); INSERT INTO t VALUES (42);")
    with Services(tmp_path) as services:
        services.start(ServiceNeed(name="mariadb", port=free_port(), database="shop", user="mcp", password="mcp",
                                   seed=["seed.sql"]), base=tmp_path)
        assert services.unavailable == {}
        port = int(services.variables["FIREFLY_MARIADB_PORT"])
        assert reachable(port)
    assert not reachable(port)


def test_services_folder_is_removed(tmp_path):
    services = Services(tmp_path)
    folder = Path(services._tmp.name)
    with services:
        assert folder.is_dir()
    assert not folder.exists()


KILLED_RUN = """
import signal, sys
import anyio
from firefly.events import ServiceNeed
from firefly.processes import stop_signals_interrupt
from firefly.services import Services

if sys.argv[2] == "ignored":  # a background job of a non-interactive shell ignores SIGINT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
stop_signals_interrupt()
try:
    with Services(sys.argv[1]) as services:
        services.start(ServiceNeed(name="web", port=0, root="site"))
        print(services.variables["FIREFLY_WEB_PORT"], services._tmp.name, flush=True)
        anyio.run(anyio.sleep_forever)  # where a run waits: inside the explorer's event loop
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("sigint", ["default", "ignored"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_killed_run_stops_its_services_as_ctrl_c_does(tmp_path, sig, sigint):
    """``kill`` (SIGTERM) or a closed terminal (SIGHUP) stop a run as Ctrl-C does: the
    services it started stop and their folder goes, even when the shell ignores SIGINT."""
    (tmp_path / "site").mkdir()
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.Popen([sys.executable, str(script), str(tmp_path), sigint], stdout=subprocess.PIPE,
                           env=env, text=True)
    try:
        port_text, folder = run.stdout.readline().split()
        assert reachable(int(port_text)) and os.path.isdir(folder)
        run.send_signal(sig)
        assert run.wait(timeout=60) == 130
        assert run.stdout.read().strip() == "interrupted"
        assert not reachable(int(port_text)) and not os.path.exists(folder)
    finally:
        if run.poll() is None:
            run.kill()


@pytest.mark.skipif(_which("redis-server") is None, reason="Redis is not installed (no redis-server)")
def test_every_exploration_starts_from_the_seeded_redis_world_whatever_the_one_before_wrote(tmp_path, store):
    """Three explorations, one after the other on one slot, each add a job to a queue kept in
    Redis: each sees the two seeded jobs and its own (3), never the jobs of the one before."""
    import json

    from firefly.discovery import discover
    from firefly.events import DagSampled, DagTool
    from firefly.explore.offline import OfflinePolicy
    from firefly.explore.stage import explore
    from firefly.registry import parse_registry, register

    (tmp_path / "seed.txt").write_text("RPUSH jobs build test\n")
    server = Path(__file__).parent / "servers" / "redis_jobs.py"
    registry = {"mcpServers": {"jobs": {"command": sys.executable, "args": [str(server)],
                                        "env": {"REDIS_URL": "${FIREFLY_REDIS_URL}"},
                                        "firefly": {"services": [{"name": "redis", "port": 0, "seed": ["seed.txt"]}]}}}}
    register(store, parse_registry(json.dumps(registry), base=tmp_path), source="t")
    discover(store, connect_timeout=30)
    for i in range(3):
        store.append(DagSampled(dag_id=f"d{i}", tools=[DagTool(server="jobs", name="add_job", schema_hash="h")],
                                edges=[], seed=0, index=i, sampler="test"))
    store.catch_up()
    explore(store, OfflinePolicy(), concurrency=1, connect_timeout=30)
    added = [text for text, in store.conn.execute(
        "SELECT result_text FROM calls WHERE tool = 'add_job' AND ok = 1 ORDER BY position")]
    assert added == ["Queued. 3 jobs waiting."] * 3, added
    counted = {text for text, in store.conn.execute("SELECT result_text FROM calls WHERE tool = 'count_jobs' AND ok = 1")}
    assert counted <= {"2 jobs waiting.", "3 jobs waiting."}, counted  # probes before and after, in its own world
