"""Words for calls: where a question looks (a call's *scope*), and what an effect does.

:func:`scope` describes the part of the world a read-only call looked at, in the words a
question uses (``the last 5 commits of the repository at /workspace/repo``, ``the folder
notes``), with every argument the call needs (a question must be self-contained). An
argument fed by an earlier result may be replaced by a description of where that value came
from (``subst``), which is what makes a multi-hop question.

:func:`effect` describes what an effectful call did, as an instruction (``add the entity
'Ana' of type 'person' to the knowledge graph``), or None when there is no good way to say it.
"""

from __future__ import annotations

import json
from typing import Any

from .facts import FILES_ROOT, REPO_ROOT, rel

AMBIENT = {REPO_ROOT: "the repository", FILES_ROOT: "the workspace folder", "/workspace": "the workspace"}


def quote(value: Any) -> str:
    text = str(value)
    return f"\"{text}\"" if '"' not in text else f"'{text}'"


def listing(values: list[Any]) -> str:
    parts = [quote(v) for v in values]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _repo(args: dict[str, Any]) -> str:
    path = args.get("repo_path")
    return "the git repository at " + (path if isinstance(path, str) else REPO_ROOT)


def _place(path: Any) -> str:
    if not isinstance(path, str):
        return FILES_ROOT
    return rel(path)


def scope(tool: str, server: str, args: dict[str, Any], subst: dict[str, str] | None = None) -> str | None:
    """Where a read-only call looked, in words, or None for a call no template knows."""
    subst = subst or {}

    def arg(name: str, default: Any = None) -> Any:
        return subst.get(name, args.get(name, default))

    if tool == "git_log":
        n = args.get("max_count")
        count = f"last {n} commits" if isinstance(n, int) else "last 10 commits"
        return f"the {count} of {_repo(args)}"
    if tool == "git_show":
        rev = arg("revision")
        if "revision" in subst:
            return f"{rev} ({_repo(args)})"
        if rev == "HEAD":
            return f"the latest commit (HEAD) of {_repo(args)}"
        return f"commit {rev} of {_repo(args)}"
    if tool == "git_diff":
        target = arg("target")
        what = target if "target" in subst else f"{target}"
        return f"the diff between the working tree of {_repo(args)} and {what}"
    if tool == "git_diff_staged":
        return f"the staged changes of {_repo(args)}"
    if tool == "git_diff_unstaged":
        return f"the unstaged changes of {_repo(args)}"
    if tool == "git_branch":
        kind = args.get("branch_type", "local")
        return f"the {kind} branches of {_repo(args)}"
    if tool == "git_status":
        return f"the working tree of {_repo(args)}"
    if tool in ("list_directory", "list_directory_with_sizes"):
        path = arg("path")
        return f"the folder that is {path}" if "path" in subst else f"the folder {_place(path)}"
    if tool == "directory_tree":
        return f"the whole tree under {_place(arg('path'))}"
    if tool == "search_files":
        return f"the files under {_place(arg('path'))} matching the pattern {quote(args.get('pattern'))}"
    if tool == "get_file_info":
        path = arg("path")
        return f"the file that is {path}" if "path" in subst else f"the file {rel(path) if isinstance(path, str) else path}"
    if tool in ("read_text_file", "read_file"):
        path = arg("path")
        where = path if "path" in subst else rel(path) if isinstance(path, str) else str(path)
        if "path" in subst:
            where = f"the file that is {where}"
        if isinstance(args.get("head"), int):
            return f"the first {args['head']} lines of {where}"
        if isinstance(args.get("tail"), int):
            return f"the last {args['tail']} lines of {where}"
        return f"the file {where}" if "path" not in subst else where
    if tool == "read_multiple_files":
        return "the files " + listing([rel(p) for p in args.get("paths") or [] if isinstance(p, str)])
    if tool == "list_tables":
        return "the shop database"
    if tool == "describe_table":
        name = arg("table_name")
        return f"{name}" if "table_name" in subst else f"the table {name} of the shop database"
    if tool == "read_query":
        return f"the result of the query `{args.get('query')}` on the shop database"
    if tool == "read_graph":
        return "the knowledge graph"
    if tool == "search_nodes":
        query = arg("query")
        return (f"the knowledge-graph search for {query}" if "query" in subst
                else f"the knowledge-graph search for {quote(query)}")
    if tool == "open_nodes":
        names = args.get("names") or []
        parts = [subst.get(f"names/{i}") or quote(n) for i, n in enumerate(names)]
        return "the knowledge-graph nodes " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts))
    if args is not None:
        text = json.dumps(args, ensure_ascii=False, sort_keys=True)
        return f"the result of the {server} tool {tool} called with {text}"
    return None


def effect(tool: str, server: str, args: dict[str, Any]) -> str | None:
    """What an effectful call does, as an instruction in words."""
    try:
        return _effect(tool, server, args)
    except (TypeError, KeyError, AttributeError):
        return None


def _effect(tool: str, server: str, args: dict[str, Any]) -> str | None:
    if tool == "write_file":
        content = args["content"]
        if len(content) > 800:
            return None
        return f"write the file {rel(args['path'])} with exactly this content:\n{content}"
    if tool == "edit_file":
        edits = [f"replace {quote(e['oldText'])} with {quote(e['newText'])}" for e in args["edits"]]
        return f"edit the file {rel(args['path'])}: " + "; ".join(edits)
    if tool == "create_directory":
        return f"create the folder {rel(args['path'])}"
    if tool == "move_file":
        return f"move {rel(args['source'])} to {rel(args['destination'])}"
    if tool == "create_entities":
        parts = []
        for e in args["entities"]:
            text = f"an entity {quote(e['name'])} of type {quote(e['entityType'])}"
            if e.get("observations"):
                text += " with the observation" + ("s " if len(e["observations"]) > 1 else " ") + listing(e["observations"])
            parts.append(text)
        return "add to the knowledge graph " + "; and ".join(parts)
    if tool == "create_relations":
        return "record in the knowledge graph " + _relations(args["relations"])
    if tool == "add_observations":
        parts = [f"the observation{'s' if len(o['contents']) > 1 else ''} {listing(o['contents'])} to {quote(o['entityName'])}"
                 for o in args["observations"]]
        return "add to the knowledge graph " + "; and ".join(parts)
    if tool == "delete_entities":
        return "delete from the knowledge graph the entit" + ("ies " if len(args["entityNames"]) > 1 else "y ") + listing(
            args["entityNames"])
    if tool == "delete_observations":
        parts = [f"the observation{'s' if len(d['observations']) > 1 else ''} {listing(d['observations'])} of {quote(d['entityName'])}"
                 for d in args["deletions"]]
        return "delete from the knowledge graph " + "; and ".join(parts)
    if tool == "delete_relations":
        return "delete from the knowledge graph " + _relations(args["relations"])
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
    if tool in ("create_table", "write_query"):
        return f"run this SQL statement on the shop database: {args['query']}"
    if tool == "append_insight":
        return f"add this business insight to the memo: {quote(args['insight'])}"
    return f"call the {server} tool {tool} with the arguments {json.dumps(args, ensure_ascii=False, sort_keys=True)}"


def _relations(relations: list[dict[str, Any]]) -> str:
    parts = [f"{quote(r['from'])} {r['relationType']} {quote(r['to'])}" for r in relations]
    plural = "s" if len(parts) > 1 else ""
    types = listing(sorted({r["relationType"] for r in relations}))
    return f"the relation{plural} " + "; ".join(parts) + f" (relation type{plural} {types})"


def ordinal(n: int) -> str:
    words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"]
    if n < len(words):
        return words[n]
    suffix = "th" if 10 <= (n + 1) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get((n + 1) % 10, "th")
    return f"{n + 1}{suffix}"
