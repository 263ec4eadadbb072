"""The tool vector index: a usearch (HNSW) index over the current vector of every live tool
for one embedder, derived from the ``embeddings`` projection.

It is saved beside the database (``<db>.tools.usearch``) with a small description of what it
covers (``<db>.tools.usearch.json``: embedder, dimension, last event position, a fingerprint
of its keys) and reopened memory-mapped. :meth:`ToolIndex.open` rebuilds it when the embedder
or dimension changed or the file no longer matches the log (new, changed or removed tools, or
another database at the same path). Keys are the positions of the ``embedded`` events.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from usearch.index import Index

from .embed import decode_vector
from .errors import FireflyError
from .ids import content_hash
from .store import Store

# below this share of the index, a filtered search scans the allowed vectors exactly
EXACT_SHARE = 0.25


class VectorIndexError(FireflyError):
    """The vector index cannot be built or opened."""


@dataclass(frozen=True)
class Entry:
    key: int  # the embedded event's position
    server: str
    name: str
    schema_hash: str
    callable: bool


class ToolIndex:
    """Nearest tools by cosine similarity. Use :meth:`open`."""

    def __init__(self, path: Path, model: str, entries: list[Entry], vectors: np.ndarray, index: Index | None, rebuilt: bool):
        self.path = path
        self.model = model
        self.entries = entries
        self.vectors = vectors  # float32, one row per entry, L2-normalised
        self.index = index
        self.rebuilt = rebuilt
        self.row_of = {e.key: i for i, e in enumerate(entries)}
        self.key_of_tool = {(e.server, e.name): e.key for e in entries}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.size else 0

    def __len__(self) -> int:
        return len(self.entries)

    # -- opening ---------------------------------------------------------------------------

    @staticmethod
    def path_for(store: Store) -> Path:
        return Path(f"{store.path}.tools.usearch")

    @classmethod
    def open(cls, store: Store, model: str, *, rebuild: bool = False) -> ToolIndex:
        """The index of ``model``'s vectors, rebuilt first if it is missing or stale."""
        store.catch_up()
        entries, vectors = current_vectors(store, model)
        path = cls.path_for(store)
        meta_path = Path(f"{path}.json")
        meta = describe(store, model, entries, vectors)
        if not entries:
            return cls(path, model, entries, vectors, None, False)
        stale = rebuild or not path.exists() or read_index_meta(meta_path) != meta
        if stale:
            _build(path, meta_path, meta, entries, vectors)
        index = restore_index(path, len(entries), VectorIndexError)
        return cls(path, model, entries, vectors, index, stale)

    # -- searching -------------------------------------------------------------------------

    def neighbours(self, keys: list[int], k: int, *, allowed: set[int] | None = None) -> dict[int, list[tuple[int, float]]]:
        """Up to ``k`` nearest other entries of each key (restricted to ``allowed`` keys),
        with their cosine similarity, nearest first."""
        if not keys or self.index is None or k <= 0:
            return {key: [] for key in keys}
        pool = len(self.entries) if allowed is None else len(allowed)
        if allowed is not None and pool < EXACT_SHARE * len(self.entries):
            return self.exact_neighbours(keys, k, allowed=allowed)
        # over-fetch so that filtering (self, keys outside ``allowed``) still leaves k
        count = min(len(self.entries), int((k + 1) * len(self.entries) / max(pool, 1)) + 1)
        queries = self.vectors[[self.row_of[key] for key in keys]]
        matches = self.index.search(queries, count)
        out: dict[int, list[tuple[int, float]]] = {}
        for i, key in enumerate(keys):
            found = []
            for other, distance in zip(matches.keys[i][: matches.counts[i]], matches.distances[i][: matches.counts[i]], strict=True):
                other = int(other)
                if other == key or (allowed is not None and other not in allowed):
                    continue
                found.append((other, round(float(1.0 - distance), 4)))
                if len(found) == k:
                    break
            out[key] = found
        return out

    def exact_neighbours(self, keys: list[int], k: int, *, allowed: set[int] | None = None) -> dict[int, list[tuple[int, float]]]:
        """The same answer by brute force (numpy): exact, for small pools and for checks."""
        rows = np.array([self.row_of[key] for key in sorted(allowed)] if allowed is not None else range(len(self.entries)), dtype=np.int64)
        pool_keys = np.array([self.entries[r].key for r in rows], dtype=np.int64)
        pool = self.vectors[rows]
        out: dict[int, list[tuple[int, float]]] = {}
        for start in range(0, len(keys), 1024):
            chunk = keys[start : start + 1024]
            sims = self.vectors[[self.row_of[key] for key in chunk]] @ pool.T
            for i, key in enumerate(chunk):
                row = sims[i]
                row[pool_keys == key] = -np.inf  # not its own neighbour
                take = min(k, int(np.isfinite(row).sum()))
                top = np.argpartition(-row, take - 1)[:take] if take else np.array([], dtype=np.int64)
                top = top[np.lexsort((pool_keys[top], -row[top]))]  # nearest first, ties by key
                out[key] = [(int(pool_keys[j]), round(float(row[j]), 4)) for j in top]
        return out


def current_vectors(store: Store, model: str) -> tuple[list[Entry], np.ndarray]:
    """The vector of each live tool's current schema from ``model``, in key order."""
    tools = {
        f"tool:{server}/{name}": (server, name, h, bool(c))
        for server, name, h, c in store.conn.execute("SELECT server, name, schema_hash, callable FROM tools WHERE removed = 0")
    }
    entries: list[Entry] = []
    rows: list[np.ndarray] = []
    dims: set[int] = set()
    for position, subject, version, dim, dtype, blob in store.conn.execute(
        "SELECT position, subject, version, dim, dtype, vector FROM embeddings WHERE model = ? ORDER BY position", (model,)
    ):
        tool = tools.get(subject)
        if tool is None or tool[2] != version:
            continue
        entries.append(Entry(position, tool[0], tool[1], version, tool[3]))
        rows.append(decode_vector(blob, dtype))
        dims.add(dim)
    if len(dims) > 1:
        raise VectorIndexError(f"embedder {model!r} recorded vectors of several dimensions {sorted(dims)}; use one dimension per embedder name")
    if not rows:
        return [], np.zeros((0, 0), dtype=np.float32)
    return entries, np.vstack(rows)


def describe(store: Store, model: str, entries: list[Entry], vectors: np.ndarray) -> dict[str, object]:
    """What an index file must cover to be current (compared with its saved description)."""
    last = max((e.key for e in entries), default=0)
    row = store.conn.execute("SELECT id FROM events WHERE position = ?", (last,)).fetchone()
    return {
        "model": model,
        "dim": int(vectors.shape[1]) if vectors.size else 0,
        "metric": "cos",
        "count": len(entries),
        "position": last,
        "last_event_id": row[0] if row else None,
        "fingerprint": content_hash([[e.key, e.server, e.name, e.schema_hash] for e in entries]),
    }


def read_index_meta(path: Path) -> dict[str, object] | None:
    """The saved description of an index file (None if missing or unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None



def restore_index(path: Path, count: int, error: type[FireflyError]) -> Index:
    """A saved index, memory-mapped; it must hold ``count`` vectors."""
    try:
        index = Index.restore(str(path), view=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise error(f"cannot open the vector index {path}: {exc}; delete it to rebuild") from None
    if index is None or len(index) != count:
        raise error(f"the vector index {path} is damaged; delete it (and {path.name}.json) to rebuild")
    return index


def save_index(index: Index, path: Path, meta_path: Path, meta: dict[str, object], error: type[FireflyError]) -> None:
    """Write an index and then its description, each atomically (a crash leaves the old
    pair or a description that no longer matches, which makes the index stale)."""
    tmp = Path(f"{path}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(str(tmp))
        os.replace(tmp, path)
        meta_tmp = Path(f"{meta_path}.tmp")
        meta_tmp.write_text(json.dumps(meta, indent=1, sort_keys=True))
        os.replace(meta_tmp, meta_path)
    except OSError as exc:
        raise error(f"cannot write the vector index {path}: {exc.strerror or exc}") from None


def _build(path: Path, meta_path: Path, meta: dict[str, object], entries: list[Entry], vectors: np.ndarray) -> None:
    index = Index(ndim=vectors.shape[1], metric="cos", dtype="f16")
    index.add(np.array([e.key for e in entries], dtype=np.uint64), vectors)
    save_index(index, path, meta_path, meta, VectorIndexError)
