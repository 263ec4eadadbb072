"""The git family: mcp-server-git (``serverInfo`` ``mcp-git``) and servers shaped like it.

Its world: the repository of the seed workspace (``repo/`` of :mod:`firefly.seeds`, built
from ``data/seeds/repo/history.json``), shared with no other server. What firefly knows:

- probes: a commit -> ``git_log`` (newest first), an add -> ``git_diff_staged``, a new
  branch -> ``git_branch`` (local), a checkout or reset (or any other effect on a
  repository) -> ``git_status``;
- facts: the commits of a log, a commit shown with the files it changed, the files a diff
  names, the branches, the checked-out branch (the server's text, line by line);
- words: each tool's scope and effect; a switch of branch shows as the branch now current.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..explore.policy import CallRecord
from ..explore.probe import Probe, Readers, props
from ..synth.facts import MAX_ITEMS, REPO_ROOT, Cell, Item, Reading, Table, by_lines
from ..synth.phrasing import listing, quote
from .family import FactReader, FamilyAdapter

__all__ = ["ADAPTER", "GitAdapter"]

TOOLS = {
    "git_add": frozenset(["files", "repo_path"]),
    "git_branch": frozenset(["branch_type", "contains", "not_contains", "repo_path"]),
    "git_checkout": frozenset(["branch_name", "repo_path"]),
    "git_commit": frozenset(["message", "repo_path"]),
    "git_create_branch": frozenset(["base_branch", "branch_name", "repo_path"]),
    "git_diff": frozenset(["context_lines", "repo_path", "target"]),
    "git_diff_staged": frozenset(["context_lines", "repo_path"]),
    "git_diff_unstaged": frozenset(["context_lines", "repo_path"]),
    "git_log": frozenset(["end_timestamp", "max_count", "repo_path", "start_timestamp"]),
    "git_reset": frozenset(["repo_path"]),
    "git_show": frozenset(["repo_path", "revision"]),
    "git_status": frozenset(["repo_path"]),
}


# --------------------------------------------------------------------------- probes


def _git_probe(call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
    repo = call.arguments.get("repo_path")
    if not isinstance(repo, str):
        return None
    base = {"repo_path": repo}
    if "commit" in words:
        log = readers.first("git_log")
        if log is not None:
            return Probe(log, {**base, "max_count": 3} if "max_count" in props(log) else base, "the newest commits")
    if "add" in words:
        staged = readers.first("git_diff_staged")
        if staged is not None:
            return Probe(staged, base, "what is staged now")
    if "branch" in words and "create" in words:
        lister = readers.first("git_branch")
        if lister is not None:
            extra = {"branch_type": "local"} if "branch_type" in props(lister) else {}
            return Probe(lister, {**base, **extra}, "the local branches")
    status = readers.first("git_status")
    return Probe(status, base, "the repository's status") if status else None


# --------------------------------------------------------------------------- facts


_COMMIT = re.compile(r"^Commit: ([0-9a-f]{7,40})\s*$")
_FIELD = re.compile(r"^(Author|Date|Message): (.*)$")
# "5ac98f1... Daniel Brandt Wed Mar 5 10:00:00 2025 -0500 Release 0.2.0": a commit a line
_ONE_LINE = re.compile(r"^(?P<hash>[0-9a-f]{7,40}) (?P<author>\S.*?) (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                       r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}"
                       r"(?: [+-]\d{4})? (?P<message>\S.*)$")


@by_lines
def _git_log(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items: list[Item] = []
    current: dict[str, Cell] | None = None
    for n, line in enumerate(lines, start=1):
        one = _ONE_LINE.match(line) if current is None else None
        if one:  # the date is left out: a day written "Wed Mar 5" is no date a question checks
            where = f"{base}#line={n}"
            items.append(Item({f: Cell(one.group(f).strip(), where) for f in ("hash", "author", "message")}, len(items)))
            continue
        m = _COMMIT.match(line)
        if m:
            current = {"hash": Cell(m.group(1), f"{base}#line={n}")}
            items.append(Item(current, len(items)))
            continue
        m = _FIELD.match(line)
        if m and current is not None:
            name = m.group(1).lower()
            value = m.group(2).strip()
            if name == "date":
                current["day"] = Cell(value[:10], f"{base}#line={n}")
            elif value and name not in current:
                current[name] = Cell(value, f"{base}#line={n}")
    if not items:
        return None
    limit = args.get("max_count", 10)
    complete = not (isinstance(limit, int) and len(items) >= limit)
    table = Table(step, "commit", "commits", "message", items[:MAX_ITEMS],
                  labels={"hash": "hash", "author": "author", "day": "date", "message": "message"},
                  complete=complete, order="newest first", total=len(items), whole=base)
    return Reading([table])


_SHOW_HEAD = re.compile(r"^commit ([0-9a-f]{40})")
_SHOW_AUTHOR = re.compile(r"^Author:\s*(.+?)\s*<([^>]+)>\s*$")
_SHOW_DATE = re.compile(r"^Date:\s*(\d{4}-\d{2}-\d{2})")
_DIFF_FILE = re.compile(r"^\+\+\+ b/(.+?)\s*$|^--- a/(.+?)\s*$")
_DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)")


def _changed_files(base: str, lines: list[str], start: int = 0) -> list[tuple[str, str]]:
    files: dict[str, str] = {}
    for n, line in enumerate(lines[start:], start=start + 1):
        m = _DIFF_GIT.match(line)
        if m:
            files.setdefault(m.group(2), f"{base}#line={n}")
            continue
        m = _DIFF_FILE.match(line)
        if m:
            name = m.group(1) or m.group(2)
            if name and name != "/dev/null":
                files.setdefault(name, f"{base}#line={n}")
    return list(files.items())


@by_lines
def _git_show(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    if not lines or not _SHOW_HEAD.match(lines[0]):
        return None
    cells = {"hash": Cell(_SHOW_HEAD.match(lines[0]).group(1), f"{base}#line=1")}
    message_at = None
    for n, line in enumerate(lines[:12], start=1):
        m = _SHOW_AUTHOR.match(line)
        if m:
            cells["author"] = Cell(m.group(1), f"{base}#line={n}")
            cells["email"] = Cell(m.group(2), f"{base}#line={n}")
        m = _SHOW_DATE.match(line)
        if m:
            cells["day"] = Cell(m.group(1), f"{base}#line={n}")
        if line.startswith("    ") and line.strip() and message_at is None:
            message_at = n
            cells["message"] = Cell(line.strip(), f"{base}#line={n}")
    commit = Table(step, "commit", "commits", "hash", [Item(cells)],
                   labels={"email": "author's e-mail address", "day": "date"}, whole=base)
    files = [Item({"file": Cell(name, loc)}, i) for i, (name, loc) in enumerate(_changed_files(base, lines))]
    out = [commit]
    if files:
        out.append(Table(step, "file changed", "files changed", "file", files, labels={"file": "path"}, whole=base))
    return Reading(out)


@by_lines
def _git_diff(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    files = [Item({"file": Cell(name, loc)}, i) for i, (name, loc) in enumerate(_changed_files(base, lines))]
    if not files:
        return Reading()
    return Reading([Table(step, "file that differs", "files that differ", "file", files, labels={"file": "path"},
                          whole=base)])


_BRANCH = re.compile(r"^([* ]) (\S+)$")


@by_lines
def _git_branch(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = []
    for n, line in enumerate(lines, start=1):
        m = _BRANCH.match(line)
        if m:
            items.append(Item({"name": Cell(m.group(2), f"{base}#line={n}"),
                               "current": Cell("yes" if m.group(1) == "*" else "no", f"{base}#line={n}")}, len(items)))
    if not items:
        return None
    return Reading([Table(step, "branch", "branches", "name", items, labels={"name": "name"}, whole=base)])


@by_lines
def _git_status(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    for n, line in enumerate(lines, start=1):
        m = re.match(r"^On branch (\S+)", line)
        if m:
            item = Item({"branch": Cell(m.group(1), f"{base}#line={n}")})
            return Reading([Table(step, "working tree", "working trees", "branch", [item],
                                  labels={"branch": "checked-out branch"}, whole=base)])
    return Reading()


READERS: dict[str, FactReader] = {
    "git_log": _git_log,
    "git_show": _git_show,
    "git_diff": _git_diff,
    "git_diff_staged": _git_diff,
    "git_diff_unstaged": _git_diff,
    "git_branch": _git_branch,
    "git_status": _git_status,
}


# --------------------------------------------------------------------------- words


def _repo(args: dict[str, Any]) -> str:
    path = args.get("repo_path")
    return "the git repository at " + (path if isinstance(path, str) else REPO_ROOT)


def _scope(tool: str, args: dict[str, Any], subst: dict[str, str]) -> str | None:
    def arg(name: str, default: Any = None) -> Any:
        return subst.get(name, args.get(name, default))

    if tool == "git_log":
        n = args.get("max_count")
        count = f"last {n} commits" if isinstance(n, int) else "last 10 commits"
        return f"the {count} of {_repo(args)}"
    if tool == "git_show":
        rev = arg("revision")
        if "revision" in subst:  # the commit as described by the step it came from
            return rev if _repo(args) in rev else f"{rev} ({_repo(args)})"
        if rev == "HEAD":
            return f"the latest commit (HEAD) of {_repo(args)}"
        return f"commit {rev} of {_repo(args)}"
    if tool == "git_diff":
        return f"the diff between the working tree of {_repo(args)} and {arg('target')}"
    if tool == "git_diff_staged":
        return f"the staged changes of {_repo(args)}"
    if tool == "git_diff_unstaged":
        return f"the unstaged changes of {_repo(args)}"
    if tool == "git_branch":
        kind = args.get("branch_type", "local")
        return f"all branches of {_repo(args)}" if kind == "all" else f"the {kind} branches of {_repo(args)}"
    if tool == "git_status":
        return f"the working tree of {_repo(args)}"
    return None


def _effect(tool: str, args: dict[str, Any]) -> str | None:
    if tool == "git_create_branch":
        base = args.get("base_branch")
        return f"create the branch {quote(args['branch_name'])}" + (f" from {quote(base)}" if base else "") + f" in {_repo(args)}"
    if tool == "git_checkout":
        return f"switch {_repo(args)} to the branch {quote(args['branch_name'])}"
    if tool == "git_add":
        return f"stage {listing(args['files'])} in {_repo(args)}"
    if tool == "git_commit":
        return f"commit the staged changes of {_repo(args)} with the message {quote(args['message'])}"
    if tool == "git_reset":
        return f"unstage every staged change in {_repo(args)}"
    return None


# --------------------------------------------------------------------------- the adapter


class GitAdapter(FamilyAdapter):
    name = "git"
    server_names = frozenset({"mcp-git", "mcp-server-git"})
    tools = TOOLS
    workspace = ("repo", "repo/history.json")

    def build_workspace_part(self, seed: Path, dest: Path) -> None:
        from ..seeds import build_repo

        build_repo(seed, dest)  # a real repository, the same commits on every machine

    def probe_rule(self, call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
        return _git_probe(call, words, readers)

    def fact_readers(self) -> Mapping[str, FactReader]:
        return READERS

    def family_scope(self, tool: str, arguments: dict[str, Any], subst: dict[str, str]) -> str | None:
        return _scope(tool, arguments, subst)

    def described(self) -> frozenset[str]:
        return frozenset({"git_create_branch", "git_checkout", "git_add", "git_commit", "git_reset"})

    def family_effect(self, tool: str, arguments: dict[str, Any]) -> str | None:
        return _effect(tool, arguments)

    def effect_marks(self, tool: str, arguments: dict[str, Any], marks: list[str]) -> list[str]:
        branch = arguments.get("branch_name") if tool == "git_checkout" else None
        if isinstance(branch, str):  # the branch existed before: what changes is which one is current
            return [f"* {branch}", f"On branch {branch}"]
        return marks


ADAPTER = GitAdapter()
