"""The command line: thin over the library, one clear line per error, every command documented."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from firefly.cli import app
from firefly.store import Store

from .conftest import SERVERS, projection_dumps

runner = CliRunner()
README = Path(__file__).resolve().parent.parent / "README.md"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def commands(group, prefix: tuple[str, ...] = ()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ALL = sorted(path for path, _ in commands(get_command(app)))


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) for p in ALL])
def test_every_command_has_help_and_is_in_the_readme(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0 and "Usage" in result.output
    assert f"firefly {' '.join(path)}" in README.read_text(), f"README documents `firefly {' '.join(path)}`"


@pytest.mark.parametrize("path", [p for p in ALL if p != ("version",)], ids=lambda p: " ".join(p))
def test_every_command_takes_db(path):
    assert "--db" in invoke(*path, "--help").output


def test_bad_registry_file_is_one_line_and_writes_nothing(isolated):
    bad = isolated / "bad.json"
    bad.write_text('{"mcpServers": {"x": {"args": []}}}')
    result = runner.invoke(app, ["servers", "import", str(bad)])
    assert result.exit_code == 1
    assert "Error:" in result.output and 'neither "command"' in result.output and "Traceback" not in result.output
    with Store.open() as store:
        assert store.count() == 0
    result = runner.invoke(app, ["servers", "import", str(isolated / "missing.json")])
    assert result.exit_code == 1 and "cannot read registry" in result.output


def test_add_list_discover_status_remove_rebuild(isolated):
    result = invoke("servers", "add", "toy", "--env", "TOY_VARIANT=v2", "--", sys.executable, str(SERVERS / "toy.py"))
    assert result.exit_code == 0 and "toy: added" in result.output
    listing = invoke("servers", "list").output
    assert "toy" in listing and "registered" in listing
    result = invoke("discover", "--connect-timeout", "20")
    assert result.exit_code == 0, result.output
    assert "discovered 1 server(s), 3 tools" in result.output
    status = invoke("status").output
    assert "callable" in status and "3" in status and "connected" in status
    with Store.open() as store:
        before = projection_dumps(store)
    assert invoke("rebuild").exit_code == 0
    with Store.open() as store:
        assert projection_dumps(store) == before
        env = store.last("server:toy", "server-registered").event.env
        assert env == {"TOY_VARIANT": None}  # literal values stay out of the log
    assert invoke("servers", "remove", "toy").exit_code == 0
    assert "No servers registered" in invoke("servers", "list").output
    result = runner.invoke(app, ["servers", "remove", "toy"])
    assert result.exit_code == 1 and "no server named 'toy'" in result.output


def test_discover_unknown_server_is_a_clear_error(isolated):
    invoke("servers", "add", "toy", "--", sys.executable, str(SERVERS / "toy.py"))
    result = runner.invoke(app, ["discover", "--server", "nope"])
    assert result.exit_code == 1 and "no callable server named 'nope'" in result.output


def test_catalog_import_cli(isolated):
    catalog = isolated / "cat.jsonl"
    catalog.write_text(json.dumps({"id": 1, "name": "Weather", "qualified_name": "@x/weather", "tools": [
        {"name": "forecast", "description": "Forecast for a city", "inputSchema": {"type": "object"}}]}) + "\n")
    result = invoke("catalog", "import", str(catalog))
    assert result.exit_code == 0 and "1 catalog server(s), 1 tools" in result.output
    assert "@x/weather" in invoke("servers", "list", "--all").output
