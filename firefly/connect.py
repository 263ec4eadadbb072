"""Connecting to MCP servers: from a registry entry in the log to a live ``mcp.Client``.

:func:`resolve` turns a logged ``server-registered`` event into an :class:`Endpoint` with
every ``${VAR}`` substituted (from the environment, the secrets file and firefly's own
variables such as ``FIREFLY_WORKSPACE``). :func:`open_client` starts or reaches the server
under a connect timeout and classifies every way that can fail into a :class:`ServerError`
with a clear message. :func:`open_connection` does the same and yields a :class:`Connection`,
which sends requests raw (no strict result model: one bad tool schema must not lose a
listing, a 300,000-block result must not become 300,000 pydantic objects) and knows what
the transport saw (a protocol violation, the time of the last byte).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx
import httpx2
from mcp import Client
from mcp.client.stdio import get_default_environment
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from .events import ServerRegistered
from .processes import server_temp_dir
from .secrets import SecretsFile, plainly_public, redact, substitute
from .stdio import TransportState, one_line, stdio_transport, summarize

# Variables a server process inherits besides mcp's safe defaults (HOME, PATH, ...): what
# package runners (uvx, npx) need to reach a registry through this machine's proxy and CAs.
PASSTHROUGH = (
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS",
    "PIP_CERT", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL", "UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_PYTHON", "UV_TOOL_DIR",
    "npm_config_registry", "NPM_CONFIG_REGISTRY", "npm_config_cache", "NPM_CONFIG_CACHE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "LANG", "LC_ALL", "TZ", "XDG_CACHE_HOME", "XDG_DATA_HOME", "TMPDIR",
)


class ServerError(Exception):
    """A server could not be used. ``error_class`` is one of the ServerFailed classes."""

    def __init__(self, error_class: str, message: str, phase: str = "start", stderr_tail: str | None = None):
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.phase = phase
        self.stderr_tail = stderr_tail


@dataclass
class Endpoint:
    """A server ready to start or reach: every placeholder resolved (secrets included)."""

    name: str
    transport: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    secret_values: list[str] = field(default_factory=list)
    path_first: list[str] = field(default_factory=list)  # folders put first on the server's PATH
    target: Any = None  # an in-process Server / MCPServer (tests), used instead of starting one

    def scrub(self, text: str) -> str:
        return redact(text, self.secret_values)


def resolve(
    reg: ServerRegistered,
    *,
    secrets: SecretsFile | None = None,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """Substitute placeholders. Raises ServerError('config-error') naming what is missing."""
    environ = dict(os.environ if environ is None else environ)
    own = dict(variables or {})
    lookup = {**environ, **own}
    secret_values: list[str] = []
    missing: list[str] = []

    def sub(value: str, *, secret: bool) -> str:
        out, miss = substitute(value, lookup)
        missing.extend(miss)
        if secret and out != value:
            # the values substituted into a secret field are secret too (except firefly's own)
            for ref in {r for r in _refs(value) if r not in own}:
                if ref in lookup:
                    secret_values.append(lookup[ref])
        return out

    def values(section: str, logged: dict[str, str | None]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, template in logged.items():
            if template is None:
                value = secrets.get(reg.name, section, name) if secrets else None
                if value is None and section == "env":
                    value = environ.get(name)
                if value is None:
                    raise ServerError(
                        "config-error",
                        f"{section} value {name} of server {reg.name!r} is not known here: set {name}"
                        " in the environment or import the registry again",
                    )
                if not (section == "env" and plainly_public(name, value)):  # not a loopback host, a flag
                    secret_values.append(value)
                out[name] = value
            else:
                out[name] = sub(template, secret=True)
        return out

    endpoint = Endpoint(
        name=reg.name,
        transport=reg.transport,
        command=sub(reg.command, secret=False) if reg.command else None,
        args=[sub(a, secret=False) for a in reg.args],
        env=values("env", reg.env),
        cwd=sub(reg.cwd, secret=False) if reg.cwd else None,
        url=sub(reg.url, secret=False) if reg.url else None,
        headers=values("headers", reg.headers),
    )
    endpoint.secret_values = secret_values
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise ServerError(
            "config-error", f"server {reg.name!r} refers to variables with no value: {names}; set them in the environment"
        )
    if reg.fixtures is not None and reg.transport == "stdio":
        _check_needs(reg, endpoint)
    return endpoint


def _check_needs(reg: ServerRegistered, endpoint: Endpoint) -> None:
    """The Python version and the programs a registry entry says its server needs:
    ServerError('config-error') naming what is missing and how to get it."""
    from .pythons import python_path_dirs

    assert reg.fixtures is not None
    if reg.fixtures.python:
        endpoint.path_first = python_path_dirs(reg.fixtures.python)
        if not endpoint.path_first:
            raise ServerError(
                "config-error",
                f"server {reg.name!r} needs Python {reg.fixtures.python}, which is not installed here"
                f" (none on PATH, in pyenv's or uv's folders, or in $FIREFLY_PYTHON_DIRS);"
                f" install it, e.g. `uv python install {reg.fixtures.python}`",
            )
    path = child_environment(endpoint.env, endpoint.path_first).get("PATH")
    absent = [p for p in reg.fixtures.requires
              if not (Path(p).is_file() if os.path.isabs(p) else shutil.which(p, path=path))]
    if absent:
        raise ServerError(
            "config-error",
            f"server {reg.name!r} needs the program(s) {', '.join(absent)}, not installed here;"
            " install them (e.g. with the system's package manager) or disable the server",
        )


def _refs(value: str) -> list[str]:
    from .secrets import REFERENCE

    return REFERENCE.findall(value)


TMP_VARIABLES = ("TMPDIR", "TEMP", "TMP")


def child_environment(extra: Mapping[str, str], path_first: list[str] | None = None) -> dict[str, str]:
    """The environment of a stdio server: safe defaults, package-runner settings, its own env.

    The directory of the running Python is put first on PATH, so ``uvx`` installed into
    firefly's virtual environment is found even when the environment is not activated;
    ``path_first`` (an interpreter's folder a server needs) goes before everything.
    """
    env = get_default_environment()
    for name in PASSTHROUGH:
        if name in os.environ:
            env[name] = os.environ[name]
    bindir = str(Path(sys.executable).parent)
    path = env.get("PATH", os.environ.get("PATH", ""))
    if bindir not in path.split(os.pathsep):
        env["PATH"] = bindir + os.pathsep + path if path else bindir
    env.update(extra)
    if path_first:
        env["PATH"] = os.pathsep.join([*path_first, env.get("PATH", "")]).rstrip(os.pathsep)
    return env


def find_command(command: str, env: Mapping[str, str]) -> str | None:
    return shutil.which(command, path=env.get("PATH"))


class Connection:
    """A connected, initialised server: its mcp ``Client`` and what its transport saw."""

    def __init__(self, endpoint: Endpoint, client: Client, state: TransportState | None):
        self.endpoint = endpoint
        self.client = client
        self.transport = state

    @property
    def fault(self) -> str | None:
        """A protocol violation that ended the session (stdio), as one line."""
        return self.transport.fault if self.transport is not None else None

    async def request(self, method: str, params: dict[str, Any] | None, *, timeout: float, ceiling: float | None = None) -> dict[str, Any]:
        """Send one request and return its raw result (a dict, not validated against a model).

        ``timeout`` bounds the time without a byte from the server (stdio) or the whole
        request (other transports); ``ceiling`` bounds the whole request on stdio (default
        four times ``timeout``). Raises TimeoutError, MCPError (an error reply; the
        connection closed, with :attr:`fault` saying why when the transport knows).
        """
        session = self.client.session
        data: dict[str, Any] = {"method": method, "params": dict(params or {})}
        opts: dict[str, Any] = {}
        stamp = getattr(session, "_stamp", None)  # protocol headers of modern HTTP sessions
        if stamp is not None:
            stamp(data, opts)
        dispatcher = session._dispatcher  # noqa: SLF001 - the raw path mcp's own subscriptions use
        if self.transport is None:
            with anyio.fail_after(timeout):
                return await dispatcher.send_raw_request(method, data.get("params"), opts)
        async with self.transport.inactivity(timeout, ceiling if ceiling is not None else 4 * timeout) as scope:
            result = await dispatcher.send_raw_request(method, data.get("params"), opts)
        if scope.cancelled_caught:
            raise TimeoutError
        return result

    async def list_tools(self, *, timeout: float, max_pages: int = 1000) -> list[Any]:
        """Every tool the server lists (following pagination), as raw JSON values."""
        tools: list[Any] = []
        cursor = None
        for _ in range(max_pages):
            page = await self.request("tools/list", {"cursor": cursor} if cursor else None, timeout=timeout)
            listed = page.get("tools")
            if not isinstance(listed, list):
                raise MCPError(code=-32603, message=f"tools/list result has no list of tools (keys: {sorted(page)[:8]})")
            tools.extend(listed)
            cursor = page.get("nextCursor")
            if not isinstance(cursor, str) or not cursor:
                break
        return tools


@asynccontextmanager
async def open_connection(
    endpoint: Endpoint, *, connect_timeout: float = 60.0, call_timeout: float = 30.0, max_message_bytes: int = 8_000_000
) -> AsyncIterator[Connection]:
    """A connected, initialised :class:`Connection`. Raises ServerError for every way starting fails.

    The connect timeout covers starting the process and the MCP handshake (and nothing
    else bounds the handshake). Errors raised by the caller's own code inside the block
    pass through unchanged. ``max_message_bytes`` bounds every message read from a stdio
    server (longer ones are cut while reading; see :mod:`firefly.stdio`).

    The handshake first probes the modern ``server/discover`` and falls back to
    ``initialize`` (the mcp client's ``auto`` mode). Some servers on an older SDK exit when
    they meet a method they do not know: a stdio server that exits during that handshake
    is started once more with the classic ``initialize`` handshake alone (``legacy``).
    """
    async with AsyncExitStack() as stack:
        try:
            connection = await stack.enter_async_context(_connect(
                endpoint, "auto", connect_timeout=connect_timeout, call_timeout=call_timeout,
                max_message_bytes=max_message_bytes))
        except ServerError as err:
            if err.error_class != "exited" or endpoint.transport != "stdio" or endpoint.target is not None:
                raise
            # npx's cache of the package was left half-installed by a run that was cut off: removed,
            # npx installs it again on the start below
            repair_npx_cache(err.stderr_tail)
            connection = await stack.enter_async_context(_connect(
                endpoint, "legacy", connect_timeout=connect_timeout, call_timeout=call_timeout,
                max_message_bytes=max_message_bytes))
        yield connection


@asynccontextmanager
async def _connect(
    endpoint: Endpoint, mode: str, *, connect_timeout: float, call_timeout: float, max_message_bytes: int
) -> AsyncIterator[Connection]:
    """One attempt of :func:`open_connection` with the client's handshake ``mode``.

    A stdio server gets a temporary folder of its own (``TMPDIR``, ``TEMP``, ``TMP``), removed
    with the connection: a server that cleans its temp folder cleans only its own files. Its
    path is named after the server, not random (:func:`~firefly.processes.server_temp_dir`),
    so a path the server reports is the same in every run."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr, \
            server_temp_dir(endpoint.name) as tmp:
        state = TransportState(endpoint.name) if endpoint.target is None and endpoint.transport == "stdio" else None
        target = _target(endpoint, stderr, call_timeout, state, max_message_bytes, tmp)
        connected = False
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + connect_timeout) as scope:
                # the handshake is bounded by the connect timeout alone; requests get their own
                async with Client(target, read_timeout_seconds=max(connect_timeout, call_timeout), mode=mode) as client:
                    scope.deadline = math.inf
                    connected = True
                    yield Connection(endpoint, client, state)
        except BaseException as exc:
            if connected:
                raise _unwrap(exc) from None
            if isinstance(exc, ServerError):
                raise
            if isinstance(exc, (KeyboardInterrupt, SystemExit, anyio.get_cancelled_exc_class())):
                raise
            raise _classify(exc, endpoint, stderr, state) from None
        if scope.cancelled_caught and not connected:
            raise ServerError(
                "timeout",
                f"server {endpoint.name!r} did not finish the MCP handshake within {connect_timeout:g}s"
                " (raise --connect-timeout if it is installing on first use)",
                "initialize",
                _tail(stderr, endpoint),
            )


@asynccontextmanager
async def open_client(
    endpoint: Endpoint, *, connect_timeout: float = 60.0, call_timeout: float = 30.0
) -> AsyncIterator[Client]:
    """A connected, initialised mcp ``Client`` (see :func:`open_connection`)."""
    async with open_connection(endpoint, connect_timeout=connect_timeout, call_timeout=call_timeout) as connection:
        yield connection.client


def _target(endpoint: Endpoint, stderr: TextIO, call_timeout: float, state: TransportState | None = None,
            max_message_bytes: int = 8_000_000, tmp: str | None = None) -> Any:
    if endpoint.target is not None:
        return endpoint.target
    if endpoint.transport == "stdio":
        assert endpoint.command and state is not None
        env = child_environment(endpoint.env, endpoint.path_first)
        if tmp is not None:  # its temporary files (and whatever it cleans up there) stay its own
            for name in TMP_VARIABLES:
                if name not in endpoint.env:
                    env[name] = tmp
        if find_command(endpoint.command, env) is None and not Path(endpoint.command).is_file():
            raise ServerError(
                "command-not-found",
                f"command {endpoint.command!r} of server {endpoint.name!r} was not found on PATH;"
                " install it or fix the registry entry",
            )
        command = find_command(endpoint.command, env) or str(Path(endpoint.command).resolve())
        # without a working directory of its own, a server runs in its temporary folder: the logs,
        # histories and screenshots some servers write next to themselves are not left in the
        # user's directory (relative paths in args are the registry's to make absolute, or `cwd`)
        cwd = endpoint.cwd or tmp
        return stdio_transport(command, endpoint.args, env=env, cwd=cwd, errlog=stderr, state=state,
                               max_message_bytes=max_message_bytes)
    if endpoint.transport == "http":
        return _http_transport(endpoint.url or "", endpoint.headers, call_timeout)
    raise ServerError("config-error", f"server {endpoint.name!r} is not callable (transport {endpoint.transport})")


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside task-group wrappers, or the group itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _http_transport(url: str, headers: dict[str, str], timeout: float) -> Any:
    """A streamable HTTP transport that sends ``headers`` with every request."""
    from mcp.client.streamable_http import streamable_http_client

    @asynccontextmanager
    async def transport() -> AsyncIterator[Any]:
        async with httpx2.AsyncClient(headers=headers, timeout=timeout) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                yield streams

    return transport()


def _tail(stderr: TextIO, endpoint: Endpoint, lines: int = 15) -> str | None:
    try:
        stderr.flush()
        stderr.seek(0)
        text = stderr.read()
    except (OSError, ValueError):
        return None
    text = "\n".join(line for line in text.strip().splitlines() if "npm warn" not in line)
    if not text:
        return None
    return endpoint.scrub("\n".join(text.splitlines()[-lines:]))[-4000:]


# lines of a package runner's output that say where to look, not what went wrong
_UNTELLING = re.compile(r"(?i)^\s*(?:npm (?:error|ERR!)\s*(?:A complete log of this run can be found in:?.*|enoent)?"
                        r"|npm (?:error|ERR!)\s+(?:code|errno|syscall|path)\b.*"
                        r"|.*complete log of this run can be found in.*)\s*$")


def telling_line(tail: str) -> str | None:
    """The line of a server's last output that says what went wrong: the last one that is
    not a package runner's pointer to its log (npm's "A complete log of this run can be found
    in:", its ``code``/``errno``/``path`` lines)."""
    lines = [line for line in tail.splitlines() if line.strip()]
    return next((line for line in reversed(lines) if not _UNTELLING.match(line)), lines[-1] if lines else None)


# npx's cache folder of a package whose install was cut off: it has no package.json, and npx
# fails on it ("ENOENT ... open '/root/.npm/_npx/b7f26c04d8f49c14/package.json'") until removed
_BROKEN_NPX = re.compile(r"ENOENT[^\n]*?open '([^'\n]*[/\\]_npx[/\\][0-9a-f]{8,})[/\\]package\.json'")


def repair_npx_cache(tail: str | None) -> Path | None:
    """When a server's output says npx could not read the ``package.json`` of its cache
    folder for the package (an earlier install was cut off), remove that folder, so that the
    next start installs the package again; the folder removed, or None (nothing to repair:
    no such message, or the folder is whole)."""
    found = _BROKEN_NPX.search(tail or "")
    if found is None:
        return None
    folder = Path(found.group(1))
    if not folder.is_dir() or (folder / "package.json").exists() or folder.parent.name != "_npx":
        return None
    shutil.rmtree(folder, ignore_errors=True)
    return None if folder.exists() else folder


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for sub in exc.exceptions:
            out.extend(_leaves(sub))
        return out
    return [exc]


def _classify(exc: BaseException, endpoint: Endpoint, stderr: TextIO, state: TransportState | None = None) -> ServerError:
    tail = _tail(stderr, endpoint)
    if state is not None and state.fault is not None:
        return ServerError("protocol-error", endpoint.scrub(state.fault), "initialize", tail)
    if state is not None and state.refused is not None:  # the reader refused the handshake's reply
        return ServerError("protocol-error", endpoint.scrub(state.refused), "initialize", tail)
    leaves = _leaves(exc)
    first = leaves[0] if leaves else exc
    name = endpoint.name
    for leaf in leaves:
        if isinstance(leaf, FileNotFoundError):
            return ServerError("command-not-found", f"server {name!r}: {endpoint.scrub(str(leaf))}", "start", tail)
        if isinstance(leaf, PermissionError):
            return ServerError("command-not-found", f"server {name!r}: command is not executable: {leaf}", "start", tail)
        if isinstance(leaf, (httpx.HTTPError, httpx2.HTTPError)):
            return ServerError("http-error", f"server {name!r}: {type(leaf).__name__}: {endpoint.scrub(str(leaf))}", "start", tail)
        if isinstance(leaf, TimeoutError):
            return ServerError("timeout", f"server {name!r} did not answer in time", "initialize", tail)
    if isinstance(first, MCPError) and "closed" in str(first).lower():
        wrote = telling_line(tail) if tail else (state.noise if state is not None else None)
        hint = f"; it wrote: {one_line(wrote, 200)}" if wrote else ""
        return ServerError(
            "exited", f"server {name!r} exited during the MCP handshake{hint}", "initialize", tail
        )
    detail = summarize(first) if isinstance(first, ValidationError) else one_line(str(first), 400)
    message = endpoint.scrub(f"{type(first).__name__}: {detail}")
    return ServerError("protocol-error", f"server {name!r} did not speak MCP as expected: {message}", "initialize", tail)
