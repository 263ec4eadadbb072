"""Keeping secrets out of the log.

Server ``env`` values and HTTP ``headers`` are secrets. The log keeps their names; a value
is logged only when it is a template of ``${VAR}`` references (the secret then lives in the
environment). Literal values go to a sidecar file beside the database
(``<db>.secrets.json``, mode 0600), which is never packed or merged.

:func:`find_secret` recognises common credential shapes, to refuse them where they would be
logged (server arguments) or shipped (``firefly pack``). :func:`redact` removes known secret
values from text a server wrote (stderr, error messages) before it is logged.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

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


def redact(text: str, secret_values: list[str]) -> str:
    """``text`` with every known secret value (6+ characters) replaced by ``[secret]``."""
    for value in sorted({v for v in secret_values if v and len(v) >= 6}, key=len, reverse=True):
        text = text.replace(value, "[secret]")
    return text


class SecretsFile:
    """The sidecar holding literal env and header values, keyed by server name."""

    def __init__(self, db_path: Path):
        self.path = Path(str(db_path) + ".secrets.json")

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
        """Replace the stored values of one server (an empty entry removes it)."""
        data = self.load()
        if env or headers:
            data[server] = {"env": env, "headers": headers}
        else:
            data.pop(server, None)
        if not data and not self.path.exists():
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.path)
