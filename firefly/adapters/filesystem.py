"""The filesystem family: @modelcontextprotocol/server-filesystem (``serverInfo``
``secure-filesystem-server``) and servers shaped like it.

Its world: the project folder of the seed workspace (``files/`` of :mod:`firefly.seeds`, a
copy of ``data/seeds/files``), shared with no other server. What firefly knows:

- probes: a file written, edited or created -> read it back; a folder created -> list it; a
  file moved -> list the folder it went to (its file info when there is no lister); a file
  removed -> list the folder it was in;
- facts: the entries of a listing (name, kind, size), a search's matches, a tree's entries
  with their parent folder, a file's size and permissions, and what a file's text holds
  (:func:`firefly.synth.facts.file_tables`), a media file's type, size and pixels (read
  generically, :func:`firefly.synth.facts.blob_tables`), the allowed directories (a value
  a later call can be fed); never the clock (file times);
- words: folders and files by their path inside the workspace folder.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from ..explore.policy import VIRTUAL_ROOT, CallRecord
from ..explore.probe import Probe, Readers, props
from ..explore.probe import words as name_words
from ..synth.facts import (
    MAX_ITEMS,
    Cell,
    Item,
    Reading,
    Table,
    by_lines,
    file_tables,
    first_text,
    is_clock_value,
    parse_structured_text,
    rel,
    size_bytes,
    to_number,
)
from ..synth.phrasing import listing, place, quote
from .family import FactReader, FamilyAdapter

__all__ = ["ADAPTER", "FilesystemAdapter"]

TOOLS = {
    "create_directory": frozenset(["path"]),
    "directory_tree": frozenset(["excludePatterns", "path"]),
    "edit_file": frozenset(["dryRun", "edits", "path"]),
    "get_file_info": frozenset(["path"]),
    "list_allowed_directories": frozenset(),
    "list_directory": frozenset(["path"]),
    "list_directory_with_sizes": frozenset(["path", "sortBy"]),
    "move_file": frozenset(["destination", "source"]),
    "read_file": frozenset(["head", "path", "tail"]),
    "read_media_file": frozenset(["path"]),
    "read_multiple_files": frozenset(["paths"]),
    "read_text_file": frozenset(["head", "path", "tail"]),
    "search_files": frozenset(["excludePatterns", "path", "pattern"]),
    "write_file": frozenset(["content", "path"]),
}


# --------------------------------------------------------------------------- probes


def _fs_probe(call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
    args = call.arguments
    paths = {k: v for k, v in args.items() if isinstance(v, str) and v.startswith(VIRTUAL_ROOT)}
    if not paths:
        return None
    if any(w in words for w in ("move", "rename", "mv", "copy")):
        dest = next((v for k, v in paths.items() if name_words(k)[:1] in (["destination"], ["dest"], ["target"], ["to"],
                                                                        ["new"])), None)
        if dest is None:
            return None
        lister = readers.first("list_directory", "list_dir", "ls")
        if lister is not None and "path" in props(lister):
            return Probe(lister, {"path": posixpath.dirname(dest.rstrip("/")) or VIRTUAL_ROOT},
                         "list the folder the file was moved to")
        info = readers.first("get_file_info", "stat")
        return Probe(info, {"path": dest}, "the moved file at its new place") if info else None
    path = args.get("path") if isinstance(args.get("path"), str) else next(iter(paths.values()))
    if any(w in words for w in ("directory", "dir", "folder", "mkdir")):
        lister = readers.first("list_directory", "list_dir", "ls", "get_file_info")
        return Probe(lister, {"path": path}, "list the created folder") if lister else None
    if any(w in words for w in ("delete", "remove", "unlink")):
        lister = readers.first("list_directory", "list_dir", "ls")
        parent = posixpath.dirname(path.rstrip("/")) or VIRTUAL_ROOT
        return Probe(lister, {"path": parent}, "list the folder the file was removed from") if lister else None
    reader = readers.first("read_text_file", "read_file", "get_file_contents", "cat")
    if reader is not None and "path" in props(reader):
        return Probe(reader, {"path": path}, "read the file back")
    return None


# --------------------------------------------------------------------------- facts


_LISTING = re.compile(r"^\[(FILE|DIR)\]\s+(.+?)(?:\s{2,}([\d.]+\s*(?:B|KB|MB|GB)))?\s*$")


@by_lines
def _list_directory(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = []
    for n, line in enumerate(lines, start=1):
        m = _LISTING.match(line)
        if not m:
            continue
        cells = {"name": Cell(m.group(2), f"{base}#line={n}"), "type": Cell(m.group(1), f"{base}#line={n}")}
        if m.group(3):
            size = size_bytes(m.group(3))
            if size is not None:
                cells["size"] = Cell(m.group(3), f"{base}#line={n}")
        items.append(Item(cells, len(items)))
    if not items:
        return Reading()
    numeric = ("size",) if any("size" in it.cells for it in items) else ()
    return Reading([Table(step, "entry", "entries", "name", items[:MAX_ITEMS],
                          labels={"name": "name", "type": "kind", "size": "size"}, numeric=numeric,
                          total=len(items), whole=base)])


@by_lines
def _search_files(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    items = [Item({"path": Cell(line.strip(), f"{base}#line={n}")}, n - 1)
             for n, line in enumerate(lines, start=1) if line.strip().startswith(VIRTUAL_ROOT)]
    if not items:
        return Reading()
    for i, it in enumerate(items):
        it.index = i
        it.cells["path"] = Cell(rel(it.get("path")), it.cells["path"].path)
    return Reading([Table(step, "match", "matches", "path", items[:MAX_ITEMS], labels={"path": "path"},
                          total=len(items), whole=base)])


def _directory_tree(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    tree = parse_structured_text(text)
    if not isinstance(tree, list):
        return None
    items: list[Item] = []

    def walk(nodes: list[Any], parent: Cell | None, path: str) -> None:
        for i, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("name"), str):
                continue
            here = Cell(node["name"], f"{base}#json=${path}[{i}].name")
            cells = {"name": here}
            if isinstance(node.get("type"), str):
                cells["type"] = Cell(node["type"], f"{base}#json=${path}[{i}].type")
            if parent is not None:
                cells["folder"] = parent
            items.append(Item(cells, len(items)))
            if isinstance(node.get("children"), list):
                walk(node["children"], here, f"{path}[{i}].children")

    walk(tree, None, "")
    if not items:
        return Reading()
    return Reading([Table(step, "entry", "entries", "name", items[:MAX_ITEMS],
                          labels={"name": "name", "type": "kind", "folder": "parent folder"},
                          total=len(items), whole=base)])


@by_lines
def _file_info(step: int, args: dict[str, Any], base: str, lines: list[str]) -> Reading | None:
    cells = {}
    folder = False
    for n, line in enumerate(lines, start=1):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep or not value or is_clock_value(key, value):
            continue
        if key == "size":
            number = to_number(value)
            if number is not None:
                cells["size"] = Cell(number, f"{base}#line={n}")
        elif key == "permissions":
            cells["permissions"] = Cell(value, f"{base}#line={n}")
        elif key == "isDirectory":
            folder = value.lower() == "true"
    if folder:  # a folder is never called a file, and its size (a block of entries) says nothing
        cells.pop("size", None)
        path = args.get("path")
        where = f"the folder {rel(path)}" if isinstance(path, str) else None
        return Reading([Table(step, "folder", "folders", "permissions", [Item(cells)], whole=base, where=where)]
                       if cells and where else [])
    if not cells:
        return Reading()
    return Reading([Table(step, "file", "files", "size", [Item(cells)], labels={"size": "size in bytes"}, whole=base)])


def _read_file(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    path = args.get("path")
    if not isinstance(path, str):
        return None
    return Reading(file_tables(step, base, text, 0, path))


def _read_multiple(step: int, args: dict[str, Any], content: list[dict[str, Any]], structured: Any) -> Reading | None:
    found = first_text(content)
    if found is None:
        return None
    base, text = found
    lines = text.splitlines()
    paths = [p for p in args.get("paths") or [] if isinstance(p, str)]
    starts = [(n, line[:-1]) for n, line in enumerate(lines) if line.endswith(":") and line[:-1] in paths]
    out: list[Table] = []
    for k, (n, path) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        body = lines[n + 1:end]
        while body and body[-1].strip() in ("", "---"):
            body = body[:-1]
        others = [rel(p) for p in paths if p != path]
        for t in file_tables(step, base, "\n".join(body), n + 1, path):
            t.where = f"the file {rel(path)}" + (
                f" (read together with {', '.join(others)})" if others else "")
            out.append(t)
    return Reading(out)


READERS: dict[str, FactReader] = {
    "list_directory": _list_directory,
    "list_directory_with_sizes": _list_directory,
    "search_files": _search_files,
    "directory_tree": _directory_tree,
    "get_file_info": _file_info,
    "read_text_file": _read_file,
    "read_file": _read_file,
    "read_multiple_files": _read_multiple,
}


# --------------------------------------------------------------------------- words


def _scope(tool: str, args: dict[str, Any], subst: dict[str, str]) -> str | None:
    def arg(name: str, default: Any = None) -> Any:
        return subst.get(name, args.get(name, default))

    if tool in ("list_directory", "list_directory_with_sizes"):
        path = arg("path")
        return f"the folder that is {path}" if "path" in subst else f"the folder {place(path)}"
    if tool == "directory_tree":
        return f"the whole tree under {place(arg('path'))}"
    if tool == "search_files":
        return f"the files under {place(arg('path'))} matching the pattern {quote(args.get('pattern'))}"
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
        paths = [rel(p) for p in args.get("paths") or [] if isinstance(p, str)]
        return ("the file " if len(paths) == 1 else "the files ") + listing(paths)
    if tool == "read_media_file":
        path = arg("path")
        return f"the file that is {path}" if "path" in subst else f"the file {rel(path) if isinstance(path, str) else path}"
    if tool == "list_allowed_directories":
        return "the list of folders the file server is allowed to access"
    return None


def _effect(tool: str, args: dict[str, Any]) -> str | None:
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
    return None


# --------------------------------------------------------------------------- the adapter


class FilesystemAdapter(FamilyAdapter):
    name = "filesystem"
    server_names = frozenset({"secure-filesystem-server", "server-filesystem"})
    tools = TOOLS
    workspace = ("files", "files")

    def probe_rule(self, call: CallRecord, words: list[str], readers: Readers) -> Probe | None:
        return _fs_probe(call, words, readers)

    def fact_readers(self) -> Mapping[str, FactReader]:
        return READERS

    def family_scope(self, tool: str, arguments: dict[str, Any], subst: dict[str, str]) -> str | None:
        return _scope(tool, arguments, subst)

    def described(self) -> frozenset[str]:
        return frozenset({"write_file", "edit_file", "create_directory", "move_file"})

    def family_effect(self, tool: str, arguments: dict[str, Any]) -> str | None:
        return _effect(tool, arguments)


ADAPTER = FilesystemAdapter()
