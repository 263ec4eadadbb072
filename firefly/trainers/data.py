"""The ``trl`` and ``hf`` exports as ``datasets``, with any ``datasets`` from 3.x to 5.x.

    from firefly.trainers.data import load

    train = load("export/train-trl.jsonl")   # a datasets.Dataset
    hub = load("export/train-hf")            # a datasets.DatasetDict, one Dataset per split

Rows come back exactly as written: tool-call ``arguments`` and ``tools`` as objects (what chat
templates and TRL take), ``label``/``match``/``probe``/``tool_targets``/``answer_schema`` decoded. Their shape
varies from row to row, so no Arrow struct holds them: a plain ``load_dataset`` merges them into
one struct padded with null keys (datasets 3.x) unless they are JSON. With a ``datasets`` that
has the ``Json`` feature (4.x/5.x) they load typed (:func:`features`); with an older one they are
stored as JSON text and decoded on access (``set_transform``, which ``Dataset.map`` applies too).

The ``hf`` folder stores those columns as JSON text (declared ``string`` in its card), so
``load_dataset(folder)`` reads it with every version; this module only decodes them.

This module imports nothing of firefly's but the column names, so a trainer process needs only
``datasets``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# the columns of the hf rows whose shape varies from row to row (beside tool-call arguments)
HF_JSON_COLUMNS = ("label", "match", "probe", "tool_targets", "answer_schema")


class DataError(Exception):
    """An export that cannot be loaded (a missing file, a format this module does not load)."""


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise DataError("loading an export needs datasets: pip install 'firefly-mcp[trainers]'") from None
    return datasets


def has_json_feature() -> bool:
    """Whether the installed ``datasets`` has the ``Json`` feature (4.x/5.x; 3.x has not)."""
    return hasattr(_datasets(), "Json")


def features(fmt: str, *, typed: bool | None = None) -> Any:
    """The ``datasets.Features`` of a format's rows (``trl`` or ``hf``). ``typed`` (the default
    when ``datasets`` has ``Json``) declares the columns whose shape varies as ``Json``;
    otherwise they are ``string`` (JSON text): the form the ``hf`` parquet files are stored in.
    Lists are written as ``[feature]``, which every version reads::

        load_dataset("json", data_files="train-trl.jsonl", features=features("trl"))  # datasets >= 4
    """
    ds = _datasets()
    if typed is None:
        typed = has_json_feature()
    if typed and not hasattr(ds, "Json"):
        raise DataError(f"datasets {ds.__version__} has no Json feature: use firefly.trainers.data.load(path)")
    Value = ds.Value

    def json_value() -> Any:
        return ds.Json() if typed else Value("string")

    message = {
        "role": Value("string"), "content": Value("string"),
        "tool_calls": [{"id": Value("string"), "type": Value("string"),
                        "function": {"name": Value("string"), "arguments": json_value()}}],
        "tool_call_id": Value("string"), "name": Value("string"),
    }
    columns: dict[str, Any] = {
        "messages": [message], "tools": [json_value()],
        "task_id": Value("string"), "kind": Value("string"), "split": Value("string"),
        "servers": [Value("string")], "hops": Value("int64"),
    }
    if fmt == "hf":
        columns["question"] = Value("string")
        columns.update({name: json_value() for name in HF_JSON_COLUMNS})
    elif fmt != "trl":
        raise DataError(f"no datasets features for format {fmt!r} (trl or hf)")
    return ds.Features(columns)


def as_text(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """A ``trl``/``hf`` row with the columns whose shape varies as JSON text (the stored form)."""
    out = dict(row)
    out["messages"] = [
        {**m, "tool_calls": [{**c, "function": {**c["function"], "arguments": _dump(c["function"]["arguments"])}}
                             for c in m["tool_calls"]]} if m.get("tool_calls") else m
        for m in row["messages"]
    ]
    out["tools"] = [_dump(t) for t in row["tools"]]
    if fmt == "hf":
        out.update({name: _dump(row[name]) for name in HF_JSON_COLUMNS})
    return out


def from_text(row: dict[str, Any], fmt: str) -> dict[str, Any]:
    """:func:`as_text` undone: the row as written, with objects."""
    out = dict(row)
    out["messages"] = [
        {**m, "tool_calls": [{**c, "function": {**c["function"], "arguments": _load(c["function"]["arguments"])}}
                             for c in m["tool_calls"]]} if m.get("tool_calls") else m
        for m in row["messages"]
    ]
    out["tools"] = [_load(t) for t in row["tools"]]
    if fmt == "hf":
        out.update({name: _load(row[name]) for name in HF_JSON_COLUMNS if name in row})
    return out


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _load(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _decode_batch(fmt: str) -> Any:
    def decode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        names = list(batch)
        rows = [from_text(dict(zip(names, values, strict=True)), fmt) for values in zip(*batch.values(), strict=True)]
        return {name: [row[name] for row in rows] for name in names}

    return decode


def load(path: str | Path, fmt: str | None = None) -> Any:
    """An export as ``datasets``: a ``trl`` JSONL file as a ``Dataset``, an ``hf`` folder as a
    ``DatasetDict`` (its splits), with objects where the rows have objects (see the module
    docstring). ``fmt`` defaults from the path (a folder is ``hf``)."""
    ds = _datasets()
    path = Path(path)
    if not path.exists():
        raise DataError(f"no export at {path}")
    fmt = fmt or ("hf" if path.is_dir() else "trl")
    if fmt == "trl":
        if has_json_feature():
            return ds.load_dataset("json", data_files=str(path), split="train", features=features("trl"))
        rows = [as_text(json.loads(line), "trl") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        dataset = ds.Dataset.from_list(rows, features=features("trl", typed=False))
        dataset.set_transform(_decode_batch("trl"))
        return dataset
    if fmt == "hf":
        files = {p.name.split("-")[0]: str(p) for p in sorted((path / "data").glob("*.parquet"))}
        if not files:
            raise DataError(f"{path} has no data/*.parquet files: not a firefly hf export")
        typed = has_json_feature()
        loaded = ds.load_dataset("parquet", data_files=files, features=features("hf", typed=typed))
        if not typed:
            for split in loaded.values():
                split.set_transform(_decode_batch("hf"))
        return loaded
    raise DataError(f"cannot load format {fmt!r} (trl or hf)")
