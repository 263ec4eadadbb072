"""Seed workspaces: the sandbox content that the real MCP servers are pointed at.

This module is the one place that knows where the seeds live and how a workspace is put
together from them; what each part is, and how it is built, belongs to the adapter of the
server family that works on it (:attr:`firefly.adapters.family.FamilyAdapter.workspace` and
``build_workspace_part``). The seeds describe one small, consistent world (Harbor Coffee
Supply, an online coffee shop in Portland, Maine: its team, its shop database, its code
repository and its notes), so that an explorer calling real tools gets results it can chain.

Seed layout (``SEEDS_DIR``, ``data/seeds/`` in the repository)::

    files/              a project-like folder: README.md, notes/*.md, config/*.json|yaml,
                        src/*.py, data/*.csv, reports/*            -> filesystem family
    repo/history.json   the harbor-shop git repository as an ordered list of commits
                        (message, author, ISO date, branch, files written, files deleted)
                                                                    -> git family
    shop.sql            SQL script creating the shop database (customers, products,
                        orders, order_items)                        -> sqlite family
    memory.jsonl        a knowledge graph in the memory server's JSONL format (one entity
                        or relation per line)                       -> memory family

Workspace layout (what :func:`build_workspace` creates at ``dest``)::

    dest/files/         copy of the seed folder
    dest/repo/          a real git repository built from history.json (:func:`build_repo`)
    dest/shop.db        SQLite database made by executing shop.sql (:func:`build_database`)
    dest/memory.jsonl   copy of the seed graph

The bundled registry (``data/servers.json``) refers to this root as ``${FIREFLY_WORKSPACE}``
(see :data:`WORKSPACE_VAR`); firefly substitutes it when it connects. It also offers
``${FIREFLY_CLOCK}`` (:data:`CLOCK_VAR`), one fixed time for servers that stamp what they
do: the git server commits as "firefly explorer" (the built repository's own config) at
that time, so a commit made while exploring has the same hash on every run and machine.

A build is deterministic: every commit's author, committer, email and date come from
history.json and no user or system git configuration is read, so commit hashes are the
same on every build and every machine. The first build is cached in the temp directory under
a name keyed by a hash of the seeds (and of the code that builds them); later builds are a
plain copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .resources import data_dir

__all__ = [
    "CLOCK_VAR", "SANDBOX_CLOCK", "SEEDS_DIR", "WORKSPACE_VAR", "build_database", "build_repo", "build_workspace",
    "seeds_digest", "workspace_variables",
]

WORKSPACE_VAR = "FIREFLY_WORKSPACE"
"""Name of the registry placeholder (``${FIREFLY_WORKSPACE}``) for a built workspace's root."""

CLOCK_VAR = "FIREFLY_CLOCK"
"""Name of the registry placeholder (``${FIREFLY_CLOCK}``) for the sandbox's fixed time."""

SANDBOX_CLOCK = "1767268800 +0000"
"""2026-01-01T12:00:00Z in git's own date format (seconds, offset), which git and GitPython
read from GIT_AUTHOR_DATE / GIT_COMMITTER_DATE."""

EXPLORER_NAME, EXPLORER_EMAIL = "firefly explorer", "explorer@firefly.invalid"
"""Who the commits made while exploring are by (the built repository's user config)."""


def workspace_variables(root: Path | None) -> dict[str, str]:
    """The placeholders firefly fills in a server's configuration: the clock always, the
    workspace root when there is one. They are firefly's own, never secrets."""
    return {CLOCK_VAR: SANDBOX_CLOCK, **({WORKSPACE_VAR: str(root)} if root is not None else {})}


def _find_seeds_dir() -> Path:
    try:
        return data_dir() / "seeds"
    except FileNotFoundError:
        return Path(__file__).resolve().parent.parent / "data" / "seeds"


SEEDS_DIR: Path = _find_seeds_dir()
"""The seed folder: ``data/seeds`` in a source checkout (packaged data in a wheel)."""


def _parts() -> list[Any]:
    """The adapters of the bundled families that have a part of the workspace, in order."""
    from .adapters import family_adapters

    return [a for a in family_adapters() if getattr(a, "workspace", None)]


def __getattr__(name: str) -> Any:
    if name == "WORKSPACE_ENTRIES":  # entries of a built workspace, in the order they are built
        return tuple(a.workspace[0] for a in _parts())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_CACHE_PREFIX = "firefly-seeds-"


def seeds_digest(seeds_dir: Path | None = None) -> str:
    """Hex SHA-256 of every seed file (relative path and content) and of this module's code.

    It names the build cache, so changing a seed or the way seeds are built means a new build.
    """
    root = SEEDS_DIR if seeds_dir is None else seeds_dir
    h = hashlib.sha256()
    h.update(b"firefly-seeds\0")
    h.update(Path(__file__).read_bytes())
    for adapter in _parts():  # the code that builds each part
        h.update(Path(sys.modules[type(adapter).__module__].__file__).read_bytes())
    h.update(Path(sys.modules["firefly.adapters.family"].__file__).read_bytes())
    for path in sorted(_seed_files(root)):
        rel = path.relative_to(root).as_posix()
        h.update(b"\0" + rel.encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def build_workspace(dest: Path, *, cache: bool = True) -> Path:
    """Create a fresh workspace at ``dest`` and return ``dest``.

    ``dest`` must not exist or be an empty folder. With ``cache`` (the default) the workspace
    is built once into ``<tempdir>/firefly-seeds-<hash>`` and then copied; without it, it is
    built directly into ``dest``. The copy shares nothing with the cache or with SEEDS_DIR,
    so a server may change it freely.

    Raises RuntimeError if ``git`` is needed and missing or fails, FileExistsError if ``dest``
    is a non-empty folder or a file.
    """
    dest = Path(dest)
    existed = _check_dest(dest)
    if not cache:
        dest.mkdir(parents=True, exist_ok=True)
        _build_into(SEEDS_DIR, dest)
        return dest
    source = _cached_build()
    if source is None:  # no trustworthy cache: build directly
        dest.mkdir(parents=True, exist_ok=True)
        _build_into(SEEDS_DIR, dest)
    else:
        try:
            shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=existed)
        except (shutil.Error, FileNotFoundError):
            # the cache went away while it was copied (a temp-dir cleaner, another user of
            # the machine): build this workspace directly instead
            _empty(dest)
            _build_into(SEEDS_DIR, dest)
    return dest


def _empty(folder: Path) -> None:
    """Remove what a failed copy left in ``folder`` (the folder itself stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the cache


def _cached_build() -> Path | None:
    """The cached workspace for the current seeds, built now if it is missing.

    None if the cache folder exists but belongs to someone else (a folder under a
    predictable name in a shared temp dir is never trusted: a planted .git/config could run
    commands); the caller then builds without the cache.
    """
    root = Path(tempfile.gettempdir())
    final = root / f"{_CACHE_PREFIX}{seeds_digest()[:24]}"
    if final.exists() or final.is_symlink():
        if not _is_ours(final):
            return None
        if _is_complete(final):
            return final
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=root))
    try:
        _build_into(SEEDS_DIR, tmp)
        if final.exists() and not _is_complete(final):
            # a damaged cache (somebody deleted part of it): move it aside, then replace it
            trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.trash-", dir=root))
            with contextlib.suppress(OSError):
                os.rename(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.rename(tmp, final)  # atomic: other processes see all of it or nothing
        except OSError:
            # another process renamed its build into place first; use that one
            shutil.rmtree(tmp, ignore_errors=True)
            if not (_is_ours(final) and _is_complete(final)):
                return None
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _is_complete(path: Path) -> bool:
    return path.is_dir() and all((path / a.workspace[0]).exists() for a in _parts())


def _is_ours(path: Path) -> bool:
    """True if ``path`` belongs to this user and nobody else can write it."""
    if not hasattr(os, "getuid"):
        return True
    st = path.lstat()
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.getuid()
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def _check_dest(dest: Path) -> bool:
    """Whether ``dest`` already exists (as an empty folder); raise if it is not usable."""
    if not dest.exists():
        return False
    if not dest.is_dir():
        raise FileExistsError(f"cannot build a workspace at {dest}: it is a file")
    if any(dest.iterdir()):
        raise FileExistsError(f"cannot build a workspace at {dest}: the folder is not empty")
    return True


# --------------------------------------------------------------------------- the build


def _build_into(seeds: Path, dest: Path) -> None:
    """Build every workspace entry from ``seeds`` into the existing folder ``dest``: each
    family's part, as its adapter builds it."""
    for adapter in _parts():
        entry, seed = adapter.workspace
        adapter.build_workspace_part(seeds / seed, dest / entry)


def build_database(script: Path, db_path: Path) -> None:
    """Create the SQLite database ``db_path`` by executing the SQL file ``script``."""
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.executescript(script.read_text(encoding="utf-8"))
        conn.commit()


def build_repo(history_path: Path, repo: Path) -> None:
    """Build a git repository at ``repo`` from a history file.

    History format (JSON)::

        {"default_branch": "main", "checkout": "main",
         "commits": [{"message": "...", "author": {"name": "...", "email": "..."},
                      "date": "2025-02-03T09:12:00-05:00", "branch": "main",
                      "files": {"path/in/repo": "full content"}, "delete": ["path"],
                      "tag": "v0.1.0"}],
         "worktree": {"staged": {"path": "content"}, "modified": {"path": "content"},
                      "untracked": {"path": "content"}}}

    Commits are applied in order. A branch not seen before starts at the current tip of the
    default branch. ``delete`` and ``tag`` (a lightweight tag) are optional. The author is
    also the committer, with the same date. The working tree ends on ``checkout``, then
    the optional ``worktree`` leaves uncommitted work in it, so that a git server's status,
    add, diff and commit have something real to do: ``staged`` files are written and
    added to the index, ``modified`` files (which must be tracked) are written but not
    added, ``untracked`` files (which must not be tracked) are written.
    """
    git = shutil.which("git")
    if git is None:
        raise RuntimeError(
            "building the seed workspace needs the program 'git', which is not on PATH; "
            "install git (e.g. apt-get install git) and try again"
        )
    history: dict[str, Any] = json.loads(history_path.read_text(encoding="utf-8"))
    default = str(history.get("default_branch", "main"))
    repo.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="firefly-git-home-") as home:
        base_env = _git_env(home)

        def run(*args: str, env: dict[str, str] | None = None) -> str:
            cmd = [git, "-c", f"init.defaultBranch={default}", "-c", "commit.gpgsign=false",
                   "-c", "tag.gpgsign=false", "-c", "core.autocrlf=false",
                   "-c", "core.hooksPath=" + os.devnull, *args]
            proc = subprocess.run(cmd, cwd=repo, env=env or base_env, capture_output=True,
                                  text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"git {' '.join(args[:2])} failed while building the seed repository "
                    f"from {history_path}: {proc.stderr.strip() or proc.stdout.strip()}"
                )
            return proc.stdout

        run("init", "-q", "--template=")
        branches: set[str] = set()
        current = default
        for number, commit in enumerate(history["commits"], start=1):
            branch = str(commit.get("branch", default))
            if branch != current:
                if branch in branches or branch == default:
                    run("checkout", "-q", branch)
                else:
                    run("checkout", "-q", "-b", branch, default)
                current = branch
            branches.add(branch)
            for rel, content in commit.get("files", {}).items():
                target = repo / _safe_relpath(rel, f"commit {number}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content.encode("utf-8"))
            for rel in commit.get("delete", []):
                (repo / _safe_relpath(rel, f"commit {number}")).unlink()
            run("add", "-A")
            author = commit["author"]
            env = base_env | {
                "GIT_AUTHOR_NAME": author["name"],
                "GIT_AUTHOR_EMAIL": author["email"],
                "GIT_AUTHOR_DATE": commit["date"],
                "GIT_COMMITTER_NAME": author["name"],
                "GIT_COMMITTER_EMAIL": author["email"],
                "GIT_COMMITTER_DATE": commit["date"],
            }
            run("commit", "-q", "--no-verify", "--no-gpg-sign", "--cleanup=strip",
                "-m", commit["message"], env=env)
            if commit.get("tag"):
                run("tag", str(commit["tag"]))
        run("checkout", "-q", str(history.get("checkout", default)))
        worktree = history.get("worktree") or {}
        tracked = set(run("ls-files", "-z").split("\0"))
        for kind in ("staged", "modified", "untracked"):
            for rel, content in (worktree.get(kind) or {}).items():
                safe = _safe_relpath(rel, "the worktree")
                if (safe in tracked) != (kind != "untracked"):
                    raise ValueError(f"the seed history's worktree names {rel!r} as {kind}, but it is"
                                     f" {'' if safe in tracked else 'not '}tracked")
                target = repo / safe
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content.encode("utf-8"))
                if kind == "staged":
                    run("add", "--", safe)
        run("config", "user.name", EXPLORER_NAME)  # the author of commits servers make here
        run("config", "user.email", EXPLORER_EMAIL)


def _git_env(home: str) -> dict[str, str]:
    """A clean environment for git: no user or system config, no outer GIT_* variables."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": home,
        "XDG_CONFIG_HOME": home,
        "LC_ALL": "C",
        "TZ": "UTC",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }


def _safe_relpath(rel: str, where: str) -> str:
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts or p.parts[0] == ".git":
        raise ValueError(f"{where} of the seed history names a bad path: {rel!r}")
    return str(p)


def _seed_files(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            if name.endswith(".pyc") or name == ".DS_Store":
                continue
            out.append(Path(dirpath) / name)
    return out
