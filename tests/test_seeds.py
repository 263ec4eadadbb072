"""Seed workspaces: deterministic, complete, isolated (no network, no MCP servers)."""

from __future__ import annotations

import csv
import json
import re
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from firefly import seeds
from firefly.seeds import CLOCK_VAR, SANDBOX_CLOCK, SEEDS_DIR, WORKSPACE_VAR, build_workspace, seeds_digest

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SHOP_TABLES = ("customers", "products", "orders", "order_items")


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """Keep the build cache of each test in its own temp dir."""
    cache_root = tmp_path / "tmp"
    cache_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(cache_root))
    return cache_root


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def tree_contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}


@needs_git
def test_two_builds_give_identical_commits_and_files(tmp_path):
    a = build_workspace(tmp_path / "a")
    b = build_workspace(tmp_path / "b")
    c = build_workspace(tmp_path / "c", cache=False)
    for ref in ("HEAD", "main", "feature/spring-sale", "v0.1.0", "v0.2.0"):
        hashes = {git(ws / "repo", "rev-parse", ref) for ws in (a, b, c)}
        assert len(hashes) == 1, (ref, hashes)
    # the uncommitted work too: the same staged tree, the same diffs, the same status
    for args in (("write-tree",), ("diff",), ("diff", "--cached"), ("status", "--porcelain")):
        assert len({git(ws / "repo", *args) for ws in (a, b, c)}) == 1, args
    assert tree_contents(a / "files") == tree_contents(b / "files") == tree_contents(c / "files")
    assert tree_contents(a / "repo") == tree_contents(c / "repo")
    assert (a / "memory.jsonl").read_bytes() == (c / "memory.jsonl").read_bytes()


@needs_git
def test_a_commit_made_in_two_workspaces_has_one_hash(tmp_path):
    """What a server commits at the sandbox clock, as the built repository's user, is the
    same commit in every workspace (no user or system git config is read)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_DATE": SANDBOX_CLOCK, "GIT_COMMITTER_DATE": SANDBOX_CLOCK}
    hashes = set()
    for name in ("a", "b"):
        repo = build_workspace(tmp_path / name) / "repo"
        subprocess.run(["git", "-C", str(repo), "commit", "-q", "--no-gpg-sign", "-m", "Ship the spring sale"],
                       check=True, env=env, capture_output=True)
        hashes.add(git(repo, "rev-parse", "HEAD"))
        assert git(repo, "log", "-1", "--format=%an <%ae> %ad", "--date=iso-strict") == (
            "firefly explorer <explorer@firefly.invalid> 2026-01-01T12:00:00+00:00")
    assert len(hashes) == 1


@needs_git
def test_workspace_layout(tmp_path):
    ws = build_workspace(tmp_path / "ws")
    for entry in seeds.WORKSPACE_ENTRIES:
        assert (ws / entry).exists(), entry
    for rel in ("README.md", "notes/todo.md", "config/app.json", "config/shipping.yaml",
                "src/inventory_report.py", "data/inventory.csv", "data/sales_2025_q1.csv"):
        assert (ws / "files" / rel).is_file(), rel
    json.loads((ws / "files" / "config" / "app.json").read_text())

    repo = ws / "repo"
    assert (repo / ".git").is_dir()
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    # uncommitted work, so that git_add / git_commit / git_diff_* have something real to do
    assert git(repo, "status", "--porcelain").splitlines() == [
        "M  .gitignore", " M harbor_shop/inventory.py", "?? MOVE_CHECKLIST.md"]
    assert "+labels/" in git(repo, "diff", "--cached")
    assert "+def reorder_quantity" in git(repo, "diff")
    # files the other branch does not change, so that checking it out keeps the work
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "feature/spring-sale"], check=True)
    assert len(git(repo, "status", "--porcelain").splitlines()) == 3
    assert set(git(repo, "branch", "--format=%(refname:short)").split()) == {
        "main", "feature/spring-sale"}
    history = json.loads((SEEDS_DIR / "repo" / "history.json").read_text())
    assert int(git(repo, "rev-list", "--all", "--count")) == len(history["commits"])
    subjects = git(repo, "log", "--all", "--format=%s").splitlines()
    assert {c["message"].splitlines()[0] for c in history["commits"]} == set(subjects)
    # author and committer come from the history, not from whoever runs the build
    first = history["commits"][0]
    root = git(repo, "rev-list", "--max-parents=0", "HEAD")
    assert git(repo, "show", "-s", "--format=%an <%ae>|%cn <%ce>|%aI", root) == (
        f"{first['author']['name']} <{first['author']['email']}>|"
        f"{first['author']['name']} <{first['author']['email']}>|{first['date']}")


@needs_git
def test_shop_database_has_rows(tmp_path):
    ws = build_workspace(tmp_path / "ws")
    with sqlite3.connect(ws / "shop.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert set(SHOP_TABLES) <= tables
        for table in SHOP_TABLES:
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > 0, table
        orphans = conn.execute(
            "SELECT COUNT(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)"
            " OR product_id NOT IN (SELECT id FROM products)").fetchone()[0]
        assert orphans == 0
        db_skus = {r[0] for r in conn.execute("SELECT sku FROM products")}
    with (ws / "files" / "data" / "inventory.csv").open(newline="") as f:
        assert {row["sku"] for row in csv.DictReader(f)} == db_skus  # seeds agree


def test_memory_graph_parses():
    entities: set[str] = set()
    relations = []
    for line in (SEEDS_DIR / "memory.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["type"] == "entity":
            assert isinstance(item["name"], str) and isinstance(item["entityType"], str)
            assert all(isinstance(o, str) for o in item["observations"])
            entities.add(item["name"])
        else:
            assert item["type"] == "relation"
            relations.append(item)
    assert len(entities) >= 5 and len(relations) >= 5
    for rel in relations:
        assert rel["from"] in entities and rel["to"] in entities and rel["relationType"]


@needs_git
def test_changing_a_workspace_changes_neither_seeds_nor_later_builds(tmp_path):
    digest = seeds_digest()
    seed_files = tree_contents(SEEDS_DIR)
    ws = build_workspace(tmp_path / "ws")
    head = git(ws / "repo", "rev-parse", "HEAD")
    fresh_files = tree_contents(ws / "files")

    (ws / "files" / "README.md").write_text("overwritten\n")
    (ws / "files" / "notes" / "todo.md").unlink()
    (ws / "files" / "new.txt").write_text("new\n")
    with sqlite3.connect(ws / "shop.db") as conn:
        conn.execute("DELETE FROM orders")
    (ws / "memory.jsonl").write_text("")
    (ws / "repo" / "README.md").write_text("changed\n")
    subprocess.run(["git", "-C", str(ws / "repo"), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qam", "local change"], check=True)

    assert seeds_digest() == digest
    assert tree_contents(SEEDS_DIR) == seed_files
    again = build_workspace(tmp_path / "again")
    assert git(again / "repo", "rev-parse", "HEAD") == head
    assert tree_contents(again / "files") == fresh_files
    assert (again / "memory.jsonl").read_bytes() == (SEEDS_DIR / "memory.jsonl").read_bytes()
    with sqlite3.connect(again / "shop.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] > 0


@needs_git
def test_cache_is_reused_and_repaired(tmp_path, private_tempdir):
    build_workspace(tmp_path / "a")
    caches = list(private_tempdir.glob("firefly-seeds-*"))
    assert len(caches) == 1
    shutil.rmtree(caches[0] / "repo")  # somebody damaged the cache
    ws = build_workspace(tmp_path / "b")
    assert git(ws / "repo", "rev-parse", "HEAD") == git(tmp_path / "a" / "repo", "rev-parse", "HEAD")
    assert [p.name for p in private_tempdir.iterdir()] == [caches[0].name]  # no leftovers


@needs_git
def test_dest_must_be_new_or_empty(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (build_workspace(empty) / "shop.db").is_file()
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    with pytest.raises(FileExistsError):
        build_workspace(full)


def test_missing_git_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    with pytest.raises(RuntimeError, match="'git'"):
        build_workspace(tmp_path / "ws", cache=False)


@needs_git
def test_worktree_entries_are_checked(tmp_path):
    history = json.loads((SEEDS_DIR / "repo" / "history.json").read_text())
    history["worktree"] = {"modified": {"NOT_TRACKED.md": "x"}}
    bad = tmp_path / "history.json"
    bad.write_text(json.dumps(history))
    with pytest.raises(ValueError, match="NOT_TRACKED.md"):
        seeds.build_repo(bad, tmp_path / "repo")


def test_seeds_hold_no_nested_git_repository():
    assert not any(p.name == ".git" for p in SEEDS_DIR.rglob("*"))


def test_bundled_registry_is_pinned_and_uses_the_workspace():
    registry = json.loads((SEEDS_DIR.parent / "servers.json").read_text())["mcpServers"]
    assert {"time", "git", "sqlite", "calculator", "filesystem", "memory"} <= set(registry)
    placeholder = "${" + WORKSPACE_VAR + "}"
    for name, spec in registry.items():
        assert spec["command"] in ("uvx", "npx"), name
        packages = [a for a in spec["args"]
                    if re.match(r"^(@[\w.-]+/)?[\w.-]*(mcp|server)[\w.-]*([=@]|$)", a)]
        assert packages and all(re.search(r"(==|@)\d", p) for p in packages), (name, packages)
    assert placeholder + "/repo" in registry["git"]["args"]
    assert placeholder + "/shop.db" in registry["sqlite"]["args"]
    assert placeholder + "/files" in registry["filesystem"]["args"]
    assert registry["memory"]["env"]["MEMORY_FILE_PATH"] == placeholder + "/memory.jsonl"
    clock = "${" + CLOCK_VAR + "}"  # commits made while exploring get a fixed date: reproducible hashes
    assert registry["git"]["env"] == {"GIT_AUTHOR_DATE": clock, "GIT_COMMITTER_DATE": clock}


def test_a_cache_that_vanishes_during_the_copy_still_gives_a_full_workspace(private_tempdir, tmp_path, monkeypatch):
    """Another process (a temp-dir cleaner) removes the cache while a sandbox is copied from
    it: the workspace is built directly instead, complete."""
    import firefly.seeds as seeds

    build_workspace(tmp_path / "first")  # the cache exists now
    real = shutil.copytree

    gone = []

    def vanishing(src, dst, *args, **kwargs):
        if Path(src).name.startswith("firefly-seeds-") and not gone:  # the cache (once), never the seeds
            shutil.rmtree(src)
            gone.append(src)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(seeds.shutil, "copytree", vanishing)
    dest = build_workspace(tmp_path / "second")
    assert gone
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in (tmp_path / "first").iterdir())
