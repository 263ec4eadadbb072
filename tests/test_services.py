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
