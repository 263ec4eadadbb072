"""One verb table: what a tool's name says about whether it changes the world.

Annotations decide where a server gives them (``readOnlyHint``, ``destructiveHint``); these
tables are for the tools that give none. They name verbs, never tools of a particular server.
"""

from __future__ import annotations

import re

from ..ids import canonical_json

__all__ = ["LIST_VERBS", "MAKE_VERBS", "READ_VERBS", "REMOVE_VERBS", "WRITE_VERBS", "blanket", "chance", "changes_nothing", "computes",
           "name_words", "reads_by_name", "writes_by_name"]

READ_VERBS = frozenset({
    "get", "list", "read", "search", "show", "describe", "find", "open", "query", "log", "status", "diff",
    "view", "fetch", "lookup", "count", "calculate", "convert", "info", "tree", "check", "inspect", "stat",
    "stats", "head", "tail", "browse", "explain", "summarize", "validate", "preview", "version", "whoami",
    "ping", "health", "compute", "evaluate", "resolve", "peek", "load", "print", "cat", "ls", "grep",
    "scan", "enumerate",
})
WRITE_VERBS = frozenset({
    "delete", "remove", "drop", "write", "create", "update", "kill", "send", "insert", "set", "put", "post",
    "add", "edit", "modify", "move", "rename", "commit", "push", "pull", "reset", "clear", "purge", "destroy",
    "exec", "execute", "run", "start", "stop", "restart", "install", "uninstall", "upload", "save", "append",
    "replace", "patch", "merge", "apply", "terminate", "shutdown", "truncate", "archive", "publish", "submit",
    "approve", "reject", "checkout", "init", "clone", "copy", "mkdir", "touch", "unlink", "rm", "mv", "cp",
    "click", "fill", "press", "navigate", "upsert", "import", "migrate", "enable", "disable", "lock",
    "unlock", "assign", "cancel", "schedule", "pay", "transfer", "notify", "invite", "attach", "detach",
    "revert", "restore", "rollback", "sync", "deploy", "undo", "redo", "spawn", "login", "logout",
    "subscribe", "unsubscribe", "erase", "wipe", "overwrite", "kill", "shell", "eval",
})
# the first word of a tool that makes a thing (a session, a batch) or lists the things there are
MAKE_VERBS = frozenset({
    "create", "new", "open", "start", "load", "init", "initialize", "begin", "add", "make", "register",
    "upload", "import", "connect", "generate", "plan", "build", "save", "set",
})
# the words of a tool that takes something away (a label showing presence cannot prove it)
REMOVE_VERBS = frozenset({
    "delete", "remove", "drop", "clear", "purge", "destroy", "unlink", "rm", "erase", "wipe", "truncate",
    "uninstall", "unsubscribe", "detach", "revoke", "kill", "terminate",
})
LIST_VERBS = frozenset({"list", "search", "find", "get", "show", "query", "all", "scan", "enumerate"})
_IGNORED = frozenset({"mcp", "tool", "do", "the", "a"})


def name_words(name: str) -> list[str]:
    """``gitLog`` / ``git-log`` / ``git_log`` -> ``["git", "log"]``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", s.lower()) if w and w not in _IGNORED]


def writes_by_name(name: str) -> bool:
    """True when any word of the name is a verb that changes the world."""
    return any(w in WRITE_VERBS for w in name_words(name))


def reads_by_name(name: str, namespace: str = "") -> bool:
    """True when the name starts with a reading verb, after leading namespace words (the
    server's own name, or one word that is no verb: ``github_list_issues``) and no word of
    it is a writing verb."""
    words = name_words(name)
    space = set(name_words(namespace))
    while words[1:] and words[0] in space:
        words = words[1:]
    if not words or any(w in WRITE_VERBS for w in words):
        return False
    if words[0] in READ_VERBS:
        return True
    return len(words) > 1 and words[1] in READ_VERBS


CHANCE_WORDS = frozenset({"random", "randomly", "roll", "rolls", "shuffle", "shuffles", "dice", "lottery", "permutation",
                          "bootstrap", "monte", "stochastic", "simulate", "simulation"})


def computes(name: str, annotations: dict | None = None, description: str | None = None) -> bool:
    """A tool whose result is a question's answer although it is not known to be read-only:
    no annotation says it changes the world (``readOnlyHint`` false, ``destructiveHint``
    true), its name starts with a reading verb or has no verb that changes something, the
    first word of its description is no such verb, and nothing says its result is chance (a
    die, a random pick). Such a tool computes or looks something up: a calculator, a
    converter, an analysis."""
    ann = annotations or {}
    if ann.get("readOnlyHint") is False or ann.get("destructiveHint") is True:
        return False
    first = next(iter(name_words(name)), "")
    if writes_by_name(name) and first not in READ_VERBS:  # get_best_move gets a move, it makes none
        return False
    words = name_words(description or "")
    lead = words[0] if words else ""
    if lead in WRITE_VERBS or lead.removesuffix("s") in WRITE_VERBS or lead.removesuffix("es") in WRITE_VERBS:
        return False
    return not chance(name, description)


def chance(name: str, description: str | None = None) -> bool:
    """Whether a tool's name or description says its result is chance (a die, a random pick,
    a bootstrap): a second call would not give it again."""
    return bool(CHANCE_WORDS & (set(name_words(name)) | set(name_words(description or ""))))


def blanket(annotations: list[dict | None]) -> bool:
    """Whether a server gives every one of its tools (three or more) the same annotations: a
    reader and a writer annotated alike, so the annotations say nothing about either."""
    seen = [canonical_json(a or {}) for a in annotations]
    return len(seen) >= 3 and len(set(seen)) == 1 and seen[0] != "{}"


def changes_nothing(tools: list[tuple[str, dict | None, str | None, bool]]) -> bool:
    """Whether no tool of a server can change its world, from its tools' ``(name,
    annotations, description, read_only)``: each is read-only (as the explorer takes it) or
    computes (:func:`computes`, with annotations a server gives every tool alike ignored).
    Such a server (a calculator, a converter, a chart maker) answers a call alike in any
    world, so what its other calls did before does not matter."""
    if not tools:
        return False
    same = blanket([a for _, a, _, _ in tools])
    return all(read_only or computes(name, None if same else annotations, description)
               for name, annotations, description, read_only in tools)
