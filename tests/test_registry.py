"""The mcpServers registry: parsing, bad input, secrets kept out of the log."""

from __future__ import annotations

import json
import os
import stat

import pytest

from firefly.connect import ServerError, resolve
from firefly.errors import RegistryError, SecretInConfig
from firefly.registry import load_registry, parse_registry, register, unregister
from firefly.resources import bundled_registry
from firefly.secrets import SecretsFile, find_secret, redact

from .conftest import file_bytes

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        },
        "github": {
            "command": "docker",
            "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"},
            "cwd": "/tmp",
        },
        "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${REMOTE_TOKEN}"}},
        "off": {"command": "x", "disabled": True},
    }
}


def test_parses_claude_desktop_and_cursor_format():
    specs = {s.name: s for s in parse_registry(json.dumps(CLAUDE_DESKTOP))}
    assert set(specs) == {"filesystem", "github", "remote"}  # disabled entries are skipped
    assert specs["filesystem"].transport == "stdio" and specs["filesystem"].args[-1] == "/Users/me/Desktop"
    assert specs["github"].cwd == "/tmp" and "GITHUB_PERSONAL_ACCESS_TOKEN" in specs["github"].env
    assert specs["remote"].transport == "http" and specs["remote"].headers == {"Authorization": "Bearer ${REMOTE_TOKEN}"}


def test_bundled_registry_is_valid():
    specs = load_registry(bundled_registry())
    names = {s.name for s in specs}
    assert {"time", "git", "sqlite", "calculator", "filesystem", "memory"} <= names
    for spec in specs:
        assert spec.command in ("uvx", "npx")


def test_every_bundled_server_of_a_redis_service_reaches_its_exploration_slot_s_database():
    """Each exploration slot has a Redis database of its own (firefly.services): a server
    reaches it only through ``${FIREFLY_REDIS_URL}`` (which ends in it) or ``${FIREFLY_REDIS_DB}``
    given where the server reads it (redis-mcp-server's ``--db`` option defaults to 0 over its
    ``REDIS_DB`` variable: its ``--url`` it is)."""
    from firefly.resources import bundled_registries

    found = 0
    for path in bundled_registries().values():
        for spec in load_registry(path):
            if not spec.fixtures or not any(n.name == "redis" for n in spec.fixtures.services):
                continue
            found += 1
            args = " ".join(spec.args)
            assert "${FIREFLY_REDIS_URL}" in args or "${FIREFLY_REDIS_DB}" in args, (spec.name, spec.args)
    assert found >= 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not valid JSON"),
        ("[]", '"mcpServers"'),
        ('{"servers": {}}', '"mcpServers"'),
        ('{"mcpServers": {"x": {"args": ["a"]}}}', 'neither "command"'),
        ('{"mcpServers": {"x": {"command": "a", "url": "http://h"}}}', 'both "command" and "url"'),
        ('{"mcpServers": {"x": {"command": "a", "args": "b"}}}', '"args" must be a list'),
        ('{"mcpServers": {"x": {"command": "a", "env": {"K": 1}}}}', '"env" must be an object'),
        ('{"mcpServers": {"x": {"url": "ftp://h"}}}', "http:// or https://"),
        ('{"mcpServers": {"x": "npx"}}', "expected an object"),
        ('{"mcpServers": {"x": {"url": "http://h", "type": "sse"}}}', "SSE"),
    ],
)
def test_bad_registry_is_one_clear_error(text, message):
    with pytest.raises(RegistryError, match=message):
        parse_registry(text, origin="servers.json")


def test_secret_in_arguments_is_refused():
    bad = {"mcpServers": {"x": {"command": "tool", "args": ["--api-key", "sk-abcdefghijklmnopqrstuvwx"]}}}
    with pytest.raises(SecretInConfig, match="argument 2 looks like a secret"):
        parse_registry(json.dumps(bad))
    ok = {"mcpServers": {"x": {"command": "tool", "args": ["--api-key", "${OPENAI_KEY}"]}}}
    assert parse_registry(json.dumps(ok))[0].args == ["--api-key", "${OPENAI_KEY}"]


def test_secret_env_values_never_reach_the_log(store, monkeypatch):
    monkeypatch.setenv("REMOTE_TOKEN", "tok-remote-999999")
    outcome = register(store, parse_registry(json.dumps(CLAUDE_DESKTOP)), source="claude.json")
    assert outcome == {"filesystem": "added", "github": "added", "remote": "added"}
    event = store.last("server:github").event
    assert event.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": None}
    assert store.last("server:remote").event.headers == {"Authorization": "Bearer ${REMOTE_TOKEN}"}
    row = store.conn.execute("SELECT env_names, header_names FROM servers WHERE name = 'github'").fetchone()
    assert row == ('["GITHUB_PERSONAL_ACCESS_TOKEN"]', "[]")
    # the value lives in the secrets file (owner-only), and connecting still gets it
    secrets = SecretsFile(store.path)
    assert stat.S_IMODE(os.stat(secrets.path).st_mode) == 0o600
    endpoint = resolve(event, secrets=secrets)
    assert endpoint.env["GITHUB_PERSONAL_ACCESS_TOKEN"].startswith("ghp_")
    remote = resolve(store.last("server:remote").event, secrets=secrets)
    assert remote.headers == {"Authorization": "Bearer tok-remote-999999"}
    assert "tok-remote-999999" in remote.secret_values
    store.close()
    data = file_bytes(store.path)
    assert b"ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in data
    assert b"tok-remote-999999" not in data


def test_reimport_is_idempotent_and_changes_are_new_events(store):
    specs = parse_registry(json.dumps(CLAUDE_DESKTOP))
    register(store, specs, source="a.json")
    n = store.count()
    assert register(store, specs, source="b.json") == dict.fromkeys(["filesystem", "github", "remote"], "unchanged")
    assert store.count() == n
    changed = json.loads(json.dumps(CLAUDE_DESKTOP))
    changed["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] = "ghp_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
    assert register(store, parse_registry(json.dumps(changed)), source="a.json")["github"] == "changed"
    assert SecretsFile(store.path).get("github", "env", "GITHUB_PERSONAL_ACCESS_TOKEN").startswith("ghp_zzz")
    # changing back is recorded too (a new version of the stream)
    assert register(store, specs, source="a.json")["github"] == "changed"
    versions = [r.event.version for r in store.read(types=["server-registered"], stream="server:github")]
    assert versions == [0, 1, 2]
    unregister(store, "github")
    assert store.conn.execute("SELECT status FROM servers WHERE name = 'github'").fetchone() == ("removed",)
    assert SecretsFile(store.path).get("github", "env", "GITHUB_PERSONAL_ACCESS_TOKEN") is None


def test_resolve_reports_missing_values(store, monkeypatch):
    monkeypatch.delenv("REMOTE_TOKEN", raising=False)
    register(store, parse_registry(json.dumps(CLAUDE_DESKTOP)), source="x")
    with pytest.raises(ServerError, match="REMOTE_TOKEN") as err:
        resolve(store.last("server:remote").event, secrets=SecretsFile(store.path))
    assert err.value.error_class == "config-error"
    # a literal env value not in the secrets file (e.g. another machine) falls back to the environment
    SecretsFile(store.path).put("github", {}, {})
    with pytest.raises(ServerError, match="GITHUB_PERSONAL_ACCESS_TOKEN"):
        resolve(store.last("server:github").event, secrets=SecretsFile(store.path), environ={})
    endpoint = resolve(store.last("server:github").event, secrets=SecretsFile(store.path),
                       environ={"GITHUB_PERSONAL_ACCESS_TOKEN": "from-env"})
    assert endpoint.env["GITHUB_PERSONAL_ACCESS_TOKEN"] == "from-env"


def test_secret_detection_and_redaction():
    assert find_secret("sk-proj-abcdefghijklmnop1234") == "OpenAI-style API key"
    assert find_secret("password=hunter2hunter2")
    assert find_secret("--repository /tmp/repo") is None
    assert find_secret("token=${TOKEN}") is None
    assert redact("login with abc123xyz ok", ["abc123xyz", "x"]) == "login with [secret] ok"


def test_a_command_line_holding_a_kept_secret_is_refused(store):
    """A literal env value is kept secret (scrubbed from the log): the same value in another
    entry's arguments would be logged as [secret] and the server started with it. Refused,
    naming both places, and nothing is written."""
    dsn = "postgresql://app@127.0.0.1:5432/shop"
    text = json.dumps({"mcpServers": {
        "a": {"command": "uvx", "args": ["pg-a"], "env": {"DATABASE_URI": dsn}},
        "b": {"command": "npx", "args": ["-y", "pg-b", dsn]},
    }})
    before = store.count()
    with pytest.raises(SecretInConfig) as err:
        register(store, parse_registry(text), source="test")
    assert "b: its argument 3 holds the value of env DATABASE_URI of server a" in str(err.value)
    assert store.count() == before
    assert not SecretsFile(store.path).load()
    templated = text.replace(json.dumps(dsn), '"${PG_URL}"')
    assert register(store, parse_registry(templated), source="test") == {"a": "added", "b": "added"}


def test_a_loopback_host_flag_or_number_in_env_is_no_secret_to_mask(tmp_path):
    from firefly.secrets import SecretsFile, plainly_public, values_of

    assert plainly_public("REDIS_HOST", "127.0.0.1") and plainly_public("WEB_ADDR", "localhost:18765")
    assert plainly_public("COMMAND_TIMEOUT", "30") and plainly_public("ENABLE_GUI", "false")
    assert not plainly_public("DB_PASSWORD", "123456789")  # the name says secret
    assert not plainly_public("DATABASE_URL", "127.0.0.1")
    assert not plainly_public("REMOTE_HOST", "db.internal.example")  # not loopback: may say too much
    db = tmp_path / "x.db"
    SecretsFile(db).put("redis", {"REDIS_HOST": "127.0.0.1", "REDIS_PASSWORD": "hunter22", "X": "abcdefgh"}, {})
    assert sorted(values_of(db, [], {}).values()) == ["abcdefgh", "hunter22"]
