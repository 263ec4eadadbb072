"""Tool embeddings: what a tool says about itself, as a vector, recorded as ``embedded`` events.

Two embedders:

* :class:`HashedEmbedder` (the default, ``firefly-hashed-v1``): no model download, numpy only.
  Word, word-bigram and character n-gram features of a tool's name, title, description and
  parameter names and descriptions (each field with its weight), hashed into ``dim`` signed
  buckets, weighted by TF-IDF over the tools being embedded, L2-normalised. Deterministic:
  the same tools give the same vectors on any machine.
* :class:`RemoteEmbedder`: any OpenAI-compatible embeddings endpoint (:mod:`firefly.llm`).

:func:`embed_tools` embeds every tool in scope that has no vector yet for the current schema
and embedder, and records one ``embedded`` event per tool (vectors as base64 float16, or
float32 for remote models). Vectors are never recomputed once recorded: a re-run reuses them.
A remote failure becomes an ``llm-failed`` event; those tools stay unembedded, the rest go on.
"""

from __future__ import annotations

import base64
import math
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import numpy as np

from .events import Embedded, LlmFailed
from .ids import content_hash
from .llm import LLM, LLMCallError
from .store import Store

HASHED_MODEL = "firefly-hashed-v1"
DEFAULT_DIM = 512
MAX_DESCRIPTION = 2000  # characters of a description that count (some catalog ones are pages)

# -- words -----------------------------------------------------------------------------------

_CAMEL = re.compile(r"([a-z0-9])([A-Z])|([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by can for from has have if in into is it its of on or that the their"
    " this to was were will with you your which when what who use used using e g eg ie etc".split()
)


def stem(word: str) -> str:
    """A crude plural folding (``entities`` -> ``entity``, ``files`` -> ``file``)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str | None) -> list[str]:
    """Lower-case words of a text or identifier (snake_case, camelCase, kebab-case split),
    plurals folded, stop words dropped."""
    if not text:
        return []
    text = _CAMEL.sub(lambda m: f"{m.group(1) or m.group(3)} {m.group(2) or m.group(4)}", text)
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


# -- schemas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One property of a JSON Schema, nested ones included (``path`` is dotted)."""

    path: str
    name: str
    description: str
    type: str
    required: bool


def schema_params(schema: Any, *, depth: int = 3) -> list[Param]:
    """The properties a (possibly messy) JSON Schema declares: top-level ones first, then
    nested objects and array items, ``anyOf``/``oneOf``/``allOf`` branches merged."""
    out: list[Param] = []
    seen: set[str] = set()

    def walk(node: Any, prefix: str, level: int) -> None:
        if not isinstance(node, dict) or level > depth:
            return
        for combinator in ("allOf", "anyOf", "oneOf"):
            for branch in node.get(combinator) or []:
                walk(branch, prefix, level)
        if isinstance(node.get("items"), dict):
            walk(node["items"], prefix, level)
        props = node.get("properties")
        if not isinstance(props, dict):
            return
        required = node.get("required") if isinstance(node.get("required"), list) else []
        nested = []
        for name, spec in props.items():
            path = f"{prefix}{name}"
            if path in seen:
                continue
            seen.add(path)
            spec = spec if isinstance(spec, dict) else {}
            description = spec.get("description") if isinstance(spec.get("description"), str) else ""
            kind = spec.get("type")
            kind = kind if isinstance(kind, str) else "/".join(k for k in kind if isinstance(k, str)) if isinstance(kind, list) else ""
            out.append(Param(path, str(name), description, kind, name in required and level == 0))
            nested.append((spec, f"{path}."))
        for spec, path in nested:
            walk(spec, path, level + 1)

    walk(schema, "", 0)
    return out


# -- tool documents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolDoc:
    """The text of one tool, by field, as the embedders see it."""

    server: str
    name: str
    schema_hash: str
    fields: tuple[tuple[str, str], ...]  # (field, text)

    @property
    def subject(self) -> str:
        return f"tool:{self.server}/{self.name}"

    @property
    def text(self) -> str:
        """A plain rendering (what a remote model embeds)."""
        return "\n".join(f"{f}: {t}" for f, t in self.fields)


def tool_doc(server: str, name: str, schema_hash: str, title: str | None, description: str | None,
             input_schema: Any, output_schema: Any = None) -> ToolDoc:
    fields: list[tuple[str, str]] = [("name", name)]
    if title and title != name:
        fields.append(("title", title))
    if description:
        fields.append(("description", description[:MAX_DESCRIPTION]))
    for p in schema_params(input_schema):
        fields.append(("param", p.name))
        if p.description:
            fields.append(("param description", p.description[:300]))
    for p in schema_params(output_schema, depth=2):
        fields.append(("output", p.name))
    return ToolDoc(server, name, schema_hash, tuple(fields))


_json = msgspec.json.Decoder()


def tool_docs(store: Store, *, include_catalog: bool = False) -> list[ToolDoc]:
    """Documents of the live tools in scope (callable ones, or every one), in a stable order."""
    store.catch_up()
    rows = store.conn.execute(
        "SELECT server, name, schema_hash, title, description, input_schema, output_schema FROM tools"
        " WHERE removed = 0" + ("" if include_catalog else " AND callable = 1") + " ORDER BY server, name"
    ).fetchall()
    return [
        tool_doc(server, name, h, title, description, _json.decode(inp), _json.decode(out) if out else None)
        for server, name, h, title, description, inp, out in rows
    ]


# -- embedders -------------------------------------------------------------------------------


class Embedder(Protocol):
    """Anything that turns tool documents into L2-normalised float32 vectors."""

    name: str
    dtype: str  # how vectors are stored in events: float16 or float32
    batch: int  # documents per call of ``embed``
    endpoint: str  # where vectors come from (a base URL), "" for a local embedder

    def fit(self, corpus: Sequence[ToolDoc]) -> Embedder:
        """An embedder ready for documents like ``corpus`` (corpus statistics, if any)."""
        ...

    def embed(self, docs: Sequence[ToolDoc]) -> np.ndarray:
        """One row per document. May raise :class:`firefly.llm.LLMCallError`."""
        ...


# field weights of the hashed embedder: a name says most, a parameter's description least
FIELD_WEIGHTS = {
    "name": 3.0,
    "title": 2.0,
    "description": 1.0,
    "param": 1.5,
    "param description": 0.5,
    "output": 1.0,
}
BIGRAM_WEIGHT = 0.5
NGRAM_WEIGHT = 0.25  # per character n-gram; they let ``directory`` meet ``directories``
NGRAM = 4


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode())


class HashedEmbedder:
    """Hashed TF-IDF features of a tool's text (see the module docstring)."""

    dtype = "float16"
    batch = 1000
    endpoint = ""

    def __init__(self, dim: int = DEFAULT_DIM, *, idf: tuple[np.ndarray, np.ndarray, int] | None = None):
        if dim < 16:
            raise ValueError("the hashed embedder needs at least 16 dimensions")
        self.dim = dim
        self.name = HASHED_MODEL if dim == DEFAULT_DIM else f"{HASHED_MODEL}-{dim}"
        self._idf = idf  # (sorted feature hashes, their idf, corpus size)
        self._ngrams: dict[str, list[int]] = {}
        self._features: dict[ToolDoc, dict[int, float]] = {}  # fit, then embed, reads each doc once

    def features(self, doc: ToolDoc) -> dict[int, float]:
        """Feature hash -> weighted term frequency of one document."""
        cached = self._features.get(doc)
        if cached is None:
            cached = self._features[doc] = self._count(doc)
        return cached

    def _count(self, doc: ToolDoc) -> dict[int, float]:
        tf: dict[int, float] = {}
        for field_name, text in doc.fields:
            weight = FIELD_WEIGHTS.get(field_name, 1.0)
            tokens = words(text)
            for token in tokens:
                h = _hash("w:" + token)
                tf[h] = tf.get(h, 0.0) + weight
                for g in self._ngram_hashes(token):
                    tf[g] = tf.get(g, 0.0) + weight * NGRAM_WEIGHT
            for left, right in zip(tokens, tokens[1:]):
                h = _hash(f"b:{left} {right}")
                tf[h] = tf.get(h, 0.0) + weight * BIGRAM_WEIGHT
        return tf

    def _ngram_hashes(self, token: str) -> list[int]:
        cached = self._ngrams.get(token)
        if cached is None:
            padded = f"<{token}>"
            cached = [_hash("c:" + padded[i : i + NGRAM]) for i in range(max(1, len(padded) - NGRAM + 1))] if len(token) > 2 else []
            self._ngrams[token] = cached
        return cached

    def _matrix(self, docs: Sequence[ToolDoc]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows, hashes, tfs = [], [], []
        for i, doc in enumerate(docs):
            tf = self.features(doc)
            rows.append(np.full(len(tf), i, dtype=np.int64))
            hashes.append(np.fromiter(tf.keys(), dtype=np.int64, count=len(tf)))
            tfs.append(np.fromiter(tf.values(), dtype=np.float64, count=len(tf)))
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
        return np.concatenate(rows), np.concatenate(hashes), np.concatenate(tfs)

    def fit(self, corpus: Sequence[ToolDoc]) -> HashedEmbedder:
        """A copy whose IDF comes from ``corpus`` (each feature's document frequency)."""
        _, hashes, _ = self._matrix(corpus)
        unique, counts = np.unique(hashes, return_counts=True)
        n = len(corpus)
        idf = np.log((n + 1) / (counts + 1)) + 1.0
        fitted = HashedEmbedder(self.dim, idf=(unique, idf, n))
        fitted._ngrams, fitted._features = self._ngrams, self._features
        return fitted

    def embed(self, docs: Sequence[ToolDoc]) -> np.ndarray:
        rows, hashes, tfs = self._matrix(docs)
        out = np.zeros((len(docs), self.dim), dtype=np.float64)
        if len(hashes):
            idf = self._idf_of(hashes)
            weights = np.log1p(tfs) * idf
            buckets = hashes % self.dim
            signs = 1.0 - 2.0 * ((hashes >> 20) & 1)
            np.add.at(out, (rows, buckets), signs * weights)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (out / norms).astype(np.float32)

    def _idf_of(self, hashes: np.ndarray) -> np.ndarray:
        if self._idf is None:  # unfitted: every feature counts alike
            return np.ones(len(hashes))
        known, idf, n = self._idf
        unseen = math.log(n + 1) + 1.0
        if not len(known):
            return np.full(len(hashes), unseen)
        at = np.clip(np.searchsorted(known, hashes), 0, len(known) - 1)
        return np.where(known[at] == hashes, idf[at], unseen)


class RemoteEmbedder:
    """An OpenAI-compatible embeddings model (vectors stored as float32)."""

    dtype = "float32"

    def __init__(self, llm: LLM, model: str | None = None, *, dimensions: int | None = None, batch: int = 64):
        self.llm = llm
        self.model = model or llm.config.embed_model
        if not self.model:
            llm.config.require("remote embeddings", embeddings=True)
        self.dimensions = dimensions
        self.batch = batch
        self.name = str(self.model) + (f"@{dimensions}" if dimensions else "")

    @property
    def endpoint(self) -> str:
        return self.llm.config.public_base_url

    def fit(self, corpus: Sequence[ToolDoc]) -> RemoteEmbedder:
        return self

    def embed(self, docs: Sequence[ToolDoc]) -> np.ndarray:
        vectors = self.llm.fetch_embeddings([d.text for d in docs], model=self.model, dimensions=self.dimensions)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (vectors / norms).astype(np.float32)


# -- vectors in events ---------------------------------------------------------------------------


def encode_vector(vector: np.ndarray, dtype: str = "float16") -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f2" if dtype == "float16" else "<f4").tobytes()).decode("ascii")


def decode_vector(data: str | bytes, dtype: str = "float16") -> np.ndarray:
    """A stored vector as float32 (``data`` is base64 text or the raw bytes)."""
    raw = base64.b64decode(data) if isinstance(data, str) else data
    return np.frombuffer(raw, dtype="<f2" if dtype == "float16" else "<f4").astype(np.float32)


# -- the stage ---------------------------------------------------------------------------------------


@dataclass
class EmbedReport:
    model: str = ""
    tools: int = 0
    embedded: int = 0
    reused: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"embedder": self.model, "tools": self.tools, "embedded": self.embedded, "reused": self.reused, "embed_failed": self.failed}


def embedded_versions(store: Store, model: str) -> set[tuple[str, str]]:
    """(subject, version) pairs that already have a vector from ``model``."""
    store.catch_up()
    return set(store.conn.execute("SELECT subject, version FROM embeddings WHERE model = ?", (model,)))


def embed_tools(
    store: Store,
    embedder: Embedder | None = None,
    *,
    include_catalog: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EmbedReport:
    """Embed every live tool in scope that has no vector for its current schema yet."""
    embedder = embedder or HashedEmbedder()
    docs = tool_docs(store, include_catalog=include_catalog)
    report = EmbedReport(model=embedder.name, tools=len(docs))
    have = embedded_versions(store, embedder.name)
    todo = [d for d in docs if (d.subject, d.schema_hash) not in have]
    report.reused = len(docs) - len(todo)
    if not todo:
        return report
    fitted = embedder.fit(docs)
    step = embedder.batch
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        try:
            vectors = fitted.embed(chunk)
        except LLMCallError as err:
            store.append(_embed_failure(embedder, chunk, err))
            report.failed += len(chunk)
            report.errors.append(err.message)
        else:
            events = [
                Embedded(
                    subject=doc.subject,
                    version=doc.schema_hash,
                    model=embedder.name,
                    dim=int(vector.shape[0]),
                    dtype=embedder.dtype,  # type: ignore[arg-type]
                    vector=encode_vector(vector, embedder.dtype),
                    text_hash=content_hash(doc.text),
                )
                for doc, vector in zip(chunk, vectors, strict=True)
            ]
            with store.transaction():
                store.append_many(events)
            report.embedded += len(events)
        if progress:
            progress(min(start + step, len(todo)), len(todo))
    store.catch_up()
    return report


def _embed_failure(embedder: Embedder, docs: Iterable[ToolDoc], err: LLMCallError) -> LlmFailed:
    return LlmFailed(
        purpose="embed-tools",
        operation="embeddings",
        request_hash=content_hash({"model": embedder.name, "input": [d.text for d in docs]}),
        base_url=embedder.endpoint,
        model=embedder.name,
        error_class=err.error_class,  # type: ignore[arg-type]
        status=err.status,
        message=err.message,
    )
