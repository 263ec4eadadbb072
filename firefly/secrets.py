"""Keeping secrets out of the log.

Server ``env`` values and HTTP ``headers`` are secrets. The log keeps their names; a value
is logged only when it is a template of ``${VAR}`` references (the secret then lives in the
environment). Literal values go to a sidecar file beside the database
(``<db>.secrets.json``, mode 0600), which is never packed. A value that is replaced or
removed stays in the file's ``retired`` list: the log may hold what a server said while it
had it, so it is still a secret of that database. ``firefly merge`` writes the union of its
inputs' files beside its output (:meth:`SecretsFile.merge`), so what a merge wrote is
checked against every secret its inputs were given.

:func:`known_values` is every secret value a database has been given (its secrets file,
and the environment variables its servers' templates and the LLM client read).
:class:`Redactor` replaces them in whatever a server sent -- every string, keys included,
at any depth -- and the store runs every event it appends through one (so no field a
server controls reaches the log with a secret in it); ``pack``, ``export`` and ``eval``
check what they write or send with :func:`found` and refuse with
:class:`~firefly.errors.SecretFound`.

:func:`find_secret` recognises common credential shapes, to refuse them where they would be
logged (server arguments) or shipped (``firefly pack``). :func:`redact` removes known secret
values from one text.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("OpenAI-style API key", re.compile(r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_\-]{16,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    (
        "credential assignment",
        re.compile(
            r"(?i)(?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|bearer)"
            r"\s*[=:]\s*(?!\$\{)[^\s'\"]{8,}"
        ),
    ),
]


def find_secret(text: str) -> str | None:
    """The kind of credential ``text`` appears to contain, or None."""
    for kind, pattern in _PATTERNS:
        if pattern.search(text):
            return kind
    return None


def is_template(value: str) -> bool:
    """True when ``value`` refers to variables (``${VAR}``) and shows no credential itself."""
    return bool(REFERENCE.search(value)) and find_secret(REFERENCE.sub("", value)) is None


def substitute(value: str, variables: dict[str, str]) -> tuple[str, list[str]]:
    """Replace ``${VAR}`` references; returns the text and the names that had no value."""
    missing: list[str] = []

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in variables:
            return variables[name]
        missing.append(name)
        return m.group(0)

    return REFERENCE.sub(repl, value), missing


MIN_LENGTH = 6  # shorter values are too likely to occur by chance to be replaced everywhere
MASK = "[secret]"
# environment variables that hold an LLM endpoint's key (firefly/llm.py reads the first)
KEY_VARIABLES = ("FIREFLY_LLM_API_KEY", "OPENAI_API_KEY")


def redact(text: str, secret_values: Iterable[str]) -> str:
    """``text`` with every known secret value (6+ characters) replaced by ``[secret]``."""
    for value in sorted({v for v in secret_values if v and len(v) >= MIN_LENGTH}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


class Redactor:
    """Replaces known secret values in text and in JSON data, keys included.

    :meth:`payload` works on an encoded JSON document: JSON escapes a string character by
    character, so a string holding a secret holds the secret's own escaped form; a document
    none of whose strings can hold one is returned as is after one substring test per secret
    (the usual case costs no decoding)."""

    __slots__ = ("values", "_needles")

    def __init__(self, values: Iterable[str] = ()):
        self.values = sorted({v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH}, key=len, reverse=True)
        self._needles = [msgspec.json.encode(v).decode()[1:-1] for v in self.values]

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def data(self, value: Any) -> Any:
        """``value`` (decoded JSON) with every string and every key redacted, at any depth."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        return value

    def may_hold(self, encoded: str) -> bool:
        """Whether a JSON document (or plain text) may hold a secret value somewhere."""
        return any(needle in encoded for needle in self._needles)

    def payload(self, encoded: str) -> str:
        """An event's JSON payload with every secret value redacted (the same object when
        none). Its own field names (the top level's keys) and its ``type`` tag are kept."""
        if not self.may_hold(encoded):
            return encoded
        document = msgspec.json.decode(encoded)
        if isinstance(document, dict):
            redacted = {k: v if k == "type" else self.data(v) for k, v in document.items()}
        else:
            redacted = self.data(document)
        out = msgspec.json.encode(redacted).decode()
        return encoded if out == encoded else out



def found(text: str | bytes, secrets: Mapping[str, str]) -> list[str]:
    """Which of ``secrets`` (where it comes from -> value) occur in ``text``, as they are or
    as a JSON string escapes them."""
    out = []
    for where, value in secrets.items():
        if len(value) < MIN_LENGTH:
            continue
        forms = {value, msgspec.json.encode(value).decode()[1:-1], json.dumps(value)[1:-1]}
        if any((form.encode() if isinstance(text, bytes) else form) in text for form in forms):
            out.append(where)
    return out


def known_values(
    db_path: Path, registrations: Iterable[Mapping[str, Any]], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every secret value a database has been given, by where it comes from: the values in
    its secrets file (current and retired, its own or merged from its inputs), and the
    environment variables that its servers' ``env`` / ``headers`` read (``${VAR}`` templates,
    and env names logged without a value) and the LLM client reads.

    ``registrations`` are the payloads of the log's ``server-registered`` events."""
    return values_of(db_path, secret_variables(registrations), environ)


def values_of(db_path: Path, variables: Iterable[str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values in a database's secrets file and those of ``variables`` in the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for server, sections in SecretsFile(db_path).load().items():
        if not isinstance(sections, dict):
            continue
        for section, pairs in sections.items():
            if isinstance(pairs, dict):
                for name, value in pairs.items():
                    if isinstance(value, str) and not (section == "env" and plainly_public(name, value)):
                        values[f"{section} {name} of server {server}"] = value
            elif isinstance(pairs, list):
                for i, value in enumerate(pairs):
                    if isinstance(value, str):
                        values[f"{section} value {i + 1} of server {server}"] = value
    for name in sorted(set(variables)):
        value = environ.get(name)
        if value:
            values[f"environment variable {name}"] = value
    return {where: value for where, value in values.items() if len(value) >= MIN_LENGTH}


_SECRET_NAME = re.compile(r"(?i)key|token|secret|pass|pwd|auth|credential|private|session|cookie|signature|cert"
                          r"|dsn|url|uri|conn")
_PUBLIC_VALUE = re.compile(
    r"(?i)(?:true|false|yes|no|on|off|none|null|-?\d+(?:\.\d+)?"  # flags and numbers
    r"|(?:localhost|127(?:\.\d{1,3}){3}|0\.0\.0\.0|\[?::1\]?)(?::\d{1,5})?)")  # a loopback host[:port]


def plainly_public(name: str, value: str) -> bool:
    """Whether an ``env`` value is plainly no secret: a flag, a number or a loopback host (with
    its port) under a name that says nothing of keys, passwords, tokens or connection strings
    (``REDIS_HOST=127.0.0.1``, ``COMMAND_TIMEOUT=30``). Masking such a value would mask every
    loopback address and number that a result shows, in every server's results."""
    return _SECRET_NAME.search(name) is None and _PUBLIC_VALUE.fullmatch(value.strip()) is not None


def secret_variables(registrations: Iterable[Mapping[str, Any]]) -> list[str]:
    """The environment variables whose values are secrets, by the server registrations
    (payloads of ``server-registered`` events): those their ``env`` / ``headers`` templates
    refer to, the env names logged without a value (:func:`firefly.connect.resolve` falls
    back to the environment for them), and the LLM client's key variables."""
    variables: set[str] = set(KEY_VARIABLES)
    for event in registrations:
        for section in ("env", "headers"):
            for name, value in (event.get(section) or {}).items():
                if isinstance(value, str):
                    variables.update(REFERENCE.findall(value))
                elif value is None and section == "env":
                    variables.add(name)
    return sorted(variables)


class SecretsFile:
    """The sidecar holding literal env and header values, keyed by server name.

    ``{server: {"env": {name: value}, "headers": {name: value}, "retired": [value, ...]}}``;
    ``retired`` holds the values the server no longer uses (replaced, removed, or another
    input's value for the same name in a merge): never used to connect, always checked."""

    def __init__(self, db_path: Path):
        self.path = Path(str(db_path) + ".secrets.json")

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes when the file is written (None when there is none)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def load(self) -> dict[str, dict[str, dict[str, str]]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, server: str, section: str, name: str) -> str | None:
        return self.load().get(server, {}).get(section, {}).get(name)

    def put(self, server: str, env: dict[str, str], headers: dict[str, str]) -> None:
        """Replace the stored values of one server (an empty entry removes them); the
        values it had and no longer has are kept as retired."""
        data = self.load()
        old = data.get(server) or {}
        current = {*env.values(), *headers.values()}
        retired = [v for v in _values(old) if v not in current]
        entry: dict[str, Any] = {}
        if env or headers:
            entry = {"env": env, "headers": headers}
        if retired:
            entry["retired"] = retired
        if entry:
            data[server] = entry
        else:
            data.pop(server, None)
        if data != self.load() or (data and not self.path.exists()):
            self._write(data)

    def merge(self, sources: Iterable[SecretsFile]) -> int:
        """Write the union of other databases' secrets files into this one (created with mode
        0600, only when there is something to write): a server's values come from the
        first file that has them, every other value of it is kept as retired. Returns the
        number of distinct values written."""
        data = self.load()
        for source in sources:
            for server, entry in source.load().items():
                if not isinstance(entry, dict):
                    continue
                mine = data.setdefault(server, {})
                if not mine.get("env") and not mine.get("headers") and (entry.get("env") or entry.get("headers")):
                    mine["env"] = dict(entry.get("env") or {})
                    mine["headers"] = dict(entry.get("headers") or {})
                current = {*(mine.get("env") or {}).values(), *(mine.get("headers") or {}).values()}
                retired = [v for v in _values(mine) if v not in current]
                retired += [v for v in _values(entry) if v not in current and v not in retired]
                if retired:
                    mine["retired"] = retired
        data = {server: entry for server, entry in data.items() if entry}
        if data:
            self._write(data)
        return len({v for entry in data.values() for v in _values(entry)})

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)


def _values(entry: Mapping[str, Any]) -> list[str]:
    """Every value of one server's entry, in order, once each."""
    out: list[str] = []
    for section in ("env", "headers"):
        for value in (entry.get(section) or {}).values():
            if isinstance(value, str) and value not in out:
                out.append(value)
    for value in entry.get("retired") or []:
        if isinstance(value, str) and value not in out:
            out.append(value)
    return out
