"""Retrieval over recorded arguments: which recorded calls of a tool are nearest to a call.

Each distinct canonical argument set of a tool (one lookup key) is embedded with the built-in
hashed embedder (:class:`firefly.embed.HashedEmbedder`, no model download) over its leaves,
each written ``path value`` with the path as one word (``krepopath /workspace/repo``,
``koptionslimit 10``), so that both the values and which argument holds them count (the
word pair binds them). One usearch (HNSW, cosine) index per
tool; its keys are the position of the first recorded call with those arguments.

The indexes are saved beside the database in ``<db>.calls.usearch/`` (one file per tool
plus a small JSON description: embedder, dimension, count and a fingerprint of its keys)
and reopened memory-mapped; a tool's index is rebuilt when its description no longer
matches the log (new calls recorded, another database at the same path). An index that
leaves some recorded calls out (fidelity's hold-out) is built in memory and never saved.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
from usearch.index import Index

from ..embed import HASHED_MODEL, HashedEmbedder, ToolDoc
from ..errors import FireflyError
from ..ids import content_hash, short_hash
from ..store import Store
from ..vectors import read_index_meta, restore_index, save_index

DIM = 256
MODEL = f"{HASHED_MODEL}-{DIM}:arguments"
_decoder = msgspec.json.Decoder()


class ArgumentIndexError(FireflyError):
    """The argument index cannot be built or opened."""


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v, path)
    elif value is None or isinstance(value, bool):
        yield path, json.dumps(value)
    else:
        yield path, str(value)


def _path_word(path: str) -> str:
    """An argument's path as one word that is never a stop word (``repo_path`` -> ``krepopath``)."""
    return "k" + re.sub(r"[^a-z0-9]", "", path.lower())


def argument_text(canonical: str) -> tuple[tuple[str, str], ...]:
    """The embedder's view of canonical arguments: one ``path value`` field per leaf."""
    fields = tuple(("description", f"{_path_word(path)} {value}") for path, value in _leaves(_decoder.decode(canonical)))
    return fields or (("description", "no arguments"),)


def embed_arguments(canonicals: list[str]) -> np.ndarray:
    """L2-normalised float32 vectors, one row per canonical argument set."""
    embedder = HashedEmbedder(DIM)  # unfitted: every feature weighs alike, nothing to keep
    return embedder.embed([ToolDoc("", "", "", argument_text(c)) for c in canonicals])


@dataclass
class ToolEntries:
    """The distinct argument sets of one tool, and their index."""

    keys: dict[int, str]  # first position -> lookup key
    index: Index | None


class ArgumentIndex:
    """Nearest recorded argument sets, per tool. Tools are indexed on first use."""

    def __init__(self, store: Store, *, path: Path | None = None, exclude: frozenset[int] = frozenset()):
        self.store = store
        self.dir = Path(path) if path is not None else Path(f"{store.path}.calls.usearch")
        self.exclude = exclude
        self._tools: dict[tuple[str, str], ToolEntries] = {}
        self.rebuilt: list[tuple[str, str]] = []

    def entries(self, server: str, tool: str) -> list[tuple[int, str, str]]:
        """(first position, key, canonical arguments) of each distinct argument set."""
        seen: dict[str, tuple[int, str, str]] = {}
        for position, key, arguments in self.store.conn.execute(
            "SELECT position, key, arguments FROM sim_calls WHERE server = ? AND tool = ? ORDER BY position", (server, tool)
        ):
            if key not in seen and position not in self.exclude:
                seen[key] = (position, key, arguments)
        return list(seen.values())

    def tool(self, server: str, tool: str) -> ToolEntries:
        found = self._tools.get((server, tool))
        if found is None:
            found = self._tools[(server, tool)] = self._open(server, tool)
        return found

    def _open(self, server: str, tool: str) -> ToolEntries:
        entries = self.entries(server, tool)
        keys = {position: key for position, key, _ in entries}
        if not entries:
            return ToolEntries(keys, None)
        if self.exclude:
            return ToolEntries(keys, _build(entries))
        path = self.dir / f"{short_hash([server, tool], 24)}.usearch"
        meta_path = Path(f"{path}.json")
        meta = {"server": server, "tool": tool, "model": MODEL, "dim": DIM, "dtype": "f16", "count": len(entries),
                "fingerprint": content_hash([[p, k] for p, k, _ in entries])}
        if not path.exists() or read_index_meta(meta_path) != meta:
            save_index(_build(entries), path, meta_path, meta, ArgumentIndexError)
            self.rebuilt.append((server, tool))
        return ToolEntries(keys, restore_index(path, len(entries), ArgumentIndexError))

    def search(self, server: str, tool: str, canonical: str, k: int) -> list[tuple[str, int, float]]:
        """Up to k recorded argument sets of the tool nearest to ``canonical``:
        (key, first position, cosine similarity), most similar first."""
        entries = self.tool(server, tool)
        if entries.index is None or k <= 0:
            return []
        matches = entries.index.search(embed_arguments([canonical])[0], min(k, len(entries.keys)))
        out = []
        for position, distance in zip(matches.keys, matches.distances, strict=True):
            similarity = float(1.0 - distance)
            if np.isfinite(similarity):
                out.append((entries.keys[int(position)], int(position), round(similarity, 4)))
        out.sort(key=lambda x: (-x[2], x[1]))
        return out

    def build_all(self) -> int:
        """Index every tool that has recorded calls now (returns how many tools)."""
        tools = self.store.conn.execute("SELECT DISTINCT server, tool FROM sim_calls ORDER BY server, tool").fetchall()
        for server, tool in tools:
            self.tool(server, tool)
        return len(tools)


def _build(entries: list[tuple[int, str, str]]) -> Index:
    # fewer links and a smaller build beam than usearch's defaults: the build is the cost
    # (one HNSW insert per distinct argument set); recall stays above 0.97 on these vectors
    index = Index(ndim=DIM, metric="cos", dtype="f16", connectivity=16, expansion_add=40)
    index.add(np.array([p for p, _, _ in entries], dtype=np.uint64), embed_arguments([a for _, _, a in entries]))
    return index


__all__ = ["ArgumentIndex", "ArgumentIndexError", "argument_text", "embed_arguments"]
