"""The server registry: the ``mcpServers`` JSON format of Claude Desktop, Cursor and others.

    {"mcpServers": {
        "notes": {"command": "uvx", "args": ["notes-mcp", "--root", "${FIREFLY_WORKSPACE}/files"]},
        "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${TOKEN}"}}
    }}

Entries have ``command`` (with ``args``, ``env``, ``cwd``) for stdio servers or ``url``
(with ``headers``) for streamable HTTP. ``${VAR}`` placeholders are resolved from the
environment when connecting; ``${FIREFLY_WORKSPACE}`` is the sandbox root firefly builds from
the seeds (:mod:`firefly.seeds`). An entry with ``"disabled": true`` is skipped. An entry's
``firefly`` key (ignored by other clients) says what data its server works on: fixtures
copied into every sandbox, services, the Python it needs, tools never to explore
(:mod:`firefly.fixtures`).

Parsing checks the whole file before anything is written: one bad entry, one clear error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from .errors import RegistryError, SecretInConfig, ServerNotFound
from .fixtures import FIXTURE_KEY, parse_fixtures
from .events import ServerFixtures, ServerRegistered, ServerRemoved
from .ids import content_hash
from .secrets import MIN_LENGTH, SecretsFile, find_secret, is_template
from .store import Store


class ServerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One registry entry as the user wrote it (secrets included; never logged as is)."""

    name: str
    transport: str  # stdio or http
    command: str | None = None
    args: list[str] = msgspec.field(default_factory=list)
    env: dict[str, str] = msgspec.field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    fixtures: ServerFixtures | None = None


def load_registry(path: str | Path) -> list[ServerSpec]:
    """Read and check a registry file. Raises RegistryError naming the file and entry."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read registry {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")  # JSON is UTF-8; an editor's byte order mark is allowed
    except UnicodeDecodeError as exc:
        raise RegistryError(f"registry {path} is not UTF-8 text (byte {exc.start}: {data[exc.start:exc.start + 1]!r});"
                            " save it as UTF-8") from None
    return parse_registry(text, origin=str(path), base=path.parent)


def parse_registry(text: str, *, origin: str = "registry", base: Path | None = None) -> list[ServerSpec]:
    """Parse a registry's text; ``base`` is the folder its fixture paths are relative to
    (the registry file's folder; the current directory when None)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError(f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise RegistryError(
            f'{origin}: expected a JSON object with an "mcpServers" object mapping names to'
            ' server entries (the Claude Desktop / Cursor format)'
        )
    specs = []
    for name, entry in data["mcpServers"].items():
        spec = parse_entry(name, entry, origin=origin, base=base)
        if spec is not None:
            specs.append(spec)
    from .fixtures import check_conflicts

    check_conflicts([s.fixtures for s in specs if s.fixtures is not None], where=origin)
    return specs


def parse_entry(name: str, entry: Any, *, origin: str = "registry", base: Path | None = None) -> ServerSpec | None:
    where = f"{origin}: server {name!r}"
    if not name or not isinstance(name, str) or any(c in name for c in "\n\t\r") or name.strip() != name:
        raise RegistryError(f"{where}: a server name must be non-empty text on one line without surrounding spaces")
    if not isinstance(entry, dict):
        raise RegistryError(f"{where}: expected an object with \"command\" or \"url\"")
    if entry.get("disabled") is True:
        return None
    command, url = entry.get("command"), entry.get("url") or entry.get("serverUrl")
    if command is None and url is None:
        raise RegistryError(f'{where}: has neither "command" (stdio server) nor "url" (streamable HTTP server)')
    if command is not None and url is not None:
        raise RegistryError(f'{where}: has both "command" and "url"; keep one')
    kind = entry.get("type") or entry.get("transport")
    if kind in ("sse",):
        raise RegistryError(f"{where}: the legacy SSE transport is not supported; use a streamable HTTP url")

    def text(key: str) -> str | None:
        value = entry.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RegistryError(f"{where}: \"{key}\" must be a non-empty string")
        return value

    def mapping(key: str) -> dict[str, str]:
        value = entry.get(key) or {}
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise RegistryError(f"{where}: \"{key}\" must be an object of string names to string values")
        return dict(value)

    args = entry.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise RegistryError(f'{where}: "args" must be a list of strings')
    for i, arg in enumerate(args):
        kind_found = find_secret(arg)
        if kind_found and not is_template(arg):
            raise SecretInConfig(
                f"{where}: argument {i + 1} looks like a secret ({kind_found}); it would be written to"
                " the log. Put the value in an environment variable and write ${VAR} in the argument."
            )
    fixtures = None
    if entry.get(FIXTURE_KEY) is not None:
        fixtures = parse_fixtures(entry[FIXTURE_KEY], where=where, registry_dir=base if base is not None else Path.cwd())
    spec = ServerSpec(
        name=name,
        transport="stdio" if command is not None else "http",
        command=text("command"),
        args=list(args),
        env=mapping("env"),
        cwd=text("cwd"),
        url=text("url") if "url" in entry else (text("serverUrl") if url else None),
        headers=mapping("headers"),
        fixtures=fixtures,
    )
    if spec.url is not None and not spec.url.startswith(("http://", "https://", "${")):
        raise RegistryError(f"{where}: \"url\" must start with http:// or https://")
    return spec


def uses_workspace(reg: ServerRegistered) -> bool:
    """Whether a server's configuration refers to the sandbox root (``${FIREFLY_WORKSPACE}``),
    so that it must be started once per sandbox."""
    from .seeds import WORKSPACE_VAR

    texts = [reg.command or "", *reg.args, reg.cwd or "", reg.url or "", *(v or "" for v in reg.env.values())]
    return any(f"${{{WORKSPACE_VAR}}}" in t for t in texts)


def workspace_folders(reg: ServerRegistered) -> tuple[str, ...]:
    """The folders of the sandbox a server's configuration hands it, as virtual paths:
    ``${FIREFLY_WORKSPACE}/files`` -> ``/workspace/files``. Files it names (a database:
    ``${FIREFLY_WORKSPACE}/shop.db``) and the root itself are not folders it is confined to;
    a server handed no folder gets none (any path of the workspace may be right for it)."""
    import re

    from .explore.policy import VIRTUAL_ROOT
    from .seeds import WORKSPACE_VAR

    texts = [reg.command or "", *reg.args, reg.cwd or "", *(v or "" for v in reg.env.values())]
    found: list[str] = []
    for text in texts:
        for rel in re.findall(re.escape(f"${{{WORKSPACE_VAR}}}") + r"/([^\s:;,'\"]+)", text):
            rel = rel.rstrip("/")
            last = rel.rsplit("/", 1)[-1]
            if rel and "." not in last.strip("."):  # a folder, not a file
                found.append(f"{VIRTUAL_ROOT}/{rel}")
    return tuple(dict.fromkeys(found))


def split_secrets(values: dict[str, str]) -> tuple[dict[str, str | None], dict[str, str]]:
    """(what the log may keep, literal values for the secrets file)."""
    logged: dict[str, str | None] = {}
    secret: dict[str, str] = {}
    for name, value in values.items():
        if is_template(value):
            logged[name] = value
        else:
            logged[name] = None
            secret[name] = value
    return logged, secret


def registration(
    spec: ServerSpec, *, source: str, previous_hash: str | None, version: int = 0
) -> tuple[ServerRegistered, dict[str, str], dict[str, str]]:
    """The event for a spec, plus the env and header values that must stay out of the log.

    The config hash covers the secret values too (hashed, never stored), so changing a key
    counts as a new configuration.
    """
    env_logged, env_secret = split_secrets(spec.env)
    headers_logged, headers_secret = split_secrets(spec.headers)
    config: dict[str, Any] = {
        "transport": spec.transport,
        "command": spec.command,
        "args": spec.args,
        "cwd": spec.cwd,
        "url": spec.url,
        "env": env_logged,
        "headers": headers_logged,
        "secrets": content_hash({"env": env_secret, "headers": headers_secret}),
    }
    if spec.fixtures is not None:  # only then, so entries without fixtures keep their hash
        config["fixtures"] = msgspec.to_builtins(spec.fixtures)
    config_hash = content_hash(config)
    event = ServerRegistered(
        name=spec.name,
        transport=spec.transport,  # type: ignore[arg-type]
        command=spec.command,
        args=spec.args,
        cwd=spec.cwd,
        url=spec.url,
        env=env_logged,
        headers=headers_logged,
        source=source,
        config_hash=config_hash,
        previous_hash=previous_hash,
        version=version,
        fixtures=spec.fixtures,
    )
    return event, env_secret, headers_secret


# -- the registry in the log -----------------------------------------------------------------


def register(store: Store, specs: list[ServerSpec], *, source: str) -> dict[str, str]:
    """Record registry entries. Returns name -> ``added``, ``changed`` or ``unchanged``.

    Literal env and header values are written to the secrets file first, then the events.
    """
    store.catch_up()
    secrets = SecretsFile(store.path)
    outcome: dict[str, str] = {}
    planned: list[tuple[ServerSpec, ServerRegistered, dict[str, str], dict[str, str], str | None]] = []
    for spec in specs:
        row = store.conn.execute(
            "SELECT config_hash, status, config_version FROM servers WHERE name = ?", (spec.name,)
        ).fetchone()
        previous = row[0] if row and row[1] != "removed" else None
        event, env_secret, header_secret = registration(
            spec, source=source, previous_hash=previous, version=row[2] if row else 0
        )
        planned.append((spec, event, env_secret, header_secret, previous))
    _check_public_fields(store, planned)
    events: list[ServerRegistered] = []
    for spec, event, env_secret, header_secret, previous in planned:
        secrets.put(spec.name, env_secret, header_secret)
        if previous == event.config_hash:
            outcome[spec.name] = "unchanged"
            continue
        outcome[spec.name] = "changed" if previous else "added"
        events.append(event)
    with store.transaction():
        store.append_many(events)
    store.catch_up()
    return outcome


def _check_public_fields(store: Store, planned: list[tuple[Any, ...]]) -> None:
    """Refuse an entry whose command line (command, args, cwd, url) holds a value firefly
    keeps secret (a literal env or header value of this import or of a server registered
    before): the log would scrub it, and the server would be started with ``[secret]``."""
    secret: dict[str, str] = {
        where: value for where, value in store.secret_values().items() if len(value) >= MIN_LENGTH}
    for spec, _event, env_secret, header_secret, _previous in planned:
        for section, pairs in (("env", env_secret), ("header", header_secret)):
            for name, value in pairs.items():
                if len(value) >= MIN_LENGTH:
                    secret[f"{section} {name} of server {spec.name}"] = value
    if not secret:
        return
    problems = []
    for spec, event, *_ in planned:
        fields = [("command", event.command), ("cwd", event.cwd), ("url", event.url)]
        fields += [(f"argument {i + 1}", a) for i, a in enumerate(event.args or [])]
        for field, text in fields:
            if not isinstance(text, str):
                continue
            where = next((w for w, v in secret.items() if v in text), None)
            if where is not None:
                problems.append(f"{spec.name}: its {field} holds the value of {where}, which firefly keeps secret")
    if problems:
        raise SecretInConfig(
            "; ".join(problems) + ". Refer to it as ${VAR} in both places (a variable of your environment, or"
            " one firefly provides: ${FIREFLY_WORKSPACE}, a service's URL), or pass the value only in env")


def unregister(store: Store, name: str, reason: str = "removed by user") -> None:
    store.catch_up()
    row = store.conn.execute("SELECT status, config_version FROM servers WHERE name = ?", (name,)).fetchone()
    if row is None or row[0] == "removed":
        raise ServerNotFound(f"no server named {name!r} in the registry; see `firefly servers list`")
    store.append(ServerRemoved(name=name, reason=reason, version=row[1]))
    SecretsFile(store.path).put(name, {}, {})
    store.catch_up()
