"""Canonical tool-call arguments: what makes two calls "the same call" for the simulator.

Two argument objects are the same when their canonical forms are equal:

* key order and JSON whitespace do not matter (canonical JSON, :func:`firefly.ids.canonical_json`);
* numbers compare by value: ``1`` equals ``1.0`` (integral floats become integers);
* schema defaults are filled in: an argument left out is the same as the argument given
  with the default the tool's input schema declares (nested objects, array items and local
  ``$ref`` s included);
* sandbox paths are normalised: a string that is the virtual workspace root or a path under
  it (``/workspace/...``) loses trailing slashes, ``./`` segments, doubled slashes and
  resolves ``..`` (``/workspace/files/./a/../b/`` is ``/workspace/files/b``).

Text inside string values is never changed otherwise: ``" a"`` and ``"a"`` are different
arguments. :func:`call_key` hashes ``[server, tool, canonical arguments]`` into the lookup key.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
from typing import Any

import msgspec

from ..explore.policy import VIRTUAL_ROOT
_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder(order="sorted")  # the encoding of firefly.ids.canonical_json
MAX_DEPTH = 12


class ArgumentsError(ValueError):
    """The arguments are not a JSON object."""


def parse_arguments(arguments: Any) -> dict[str, Any]:
    """Arguments as a dict: a dict, None (no arguments) or JSON text of an object."""
    if arguments is None:
        return {}
    if isinstance(arguments, (str, bytes)):
        try:
            arguments = _decoder.decode(arguments)
        except msgspec.DecodeError as exc:
            raise ArgumentsError(f"arguments are not valid JSON: {exc}") from None
    if not isinstance(arguments, dict):
        raise ArgumentsError(f"arguments must be a JSON object, not {type(arguments).__name__}")
    return arguments


def normalise_path(value: str) -> str:
    """A virtual workspace path in normal form; any other string unchanged."""
    if value == VIRTUAL_ROOT or value.startswith(VIRTUAL_ROOT + "/"):
        return posixpath.normpath(value)
    return value


def _normal(value: Any, depth: int = 0) -> Any:
    """Paths normalised and integral floats made integers, in one pass."""
    if isinstance(value, str):
        return normalise_path(value) if value.startswith(VIRTUAL_ROOT) else value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {str(k): _normal(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, depth + 1) for v in value]
    return value


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    """A local ``$ref`` (``#/$defs/X``, ``#/definitions/X``) followed, once."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def fill_defaults(value: Any, schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """``value`` with the defaults of ``schema`` filled in where a property is missing."""
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return value
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if isinstance(value, dict):
        props = schema.get("properties")
        if not isinstance(props, dict):
            return value
        out = dict(value)
        for name, spec in props.items():
            spec = _resolve(spec, root)
            if not isinstance(spec, dict):
                continue
            if name not in out:
                if "default" in spec:
                    out[name] = copy.deepcopy(spec["default"])
            else:
                out[name] = fill_defaults(out[name], spec, root, depth + 1)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [fill_defaults(v, schema["items"], root, depth + 1) for v in value]
    return value


def has_defaults(schema: Any) -> bool:
    """Whether a schema declares any default (else filling them in can be skipped)."""
    if isinstance(schema, dict):
        return "default" in schema or any(has_defaults(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_defaults(v) for v in schema)
    return False


def canonicalise(arguments: Any, schema: dict[str, Any] | None = None, *, defaults: bool = True) -> tuple[dict[str, Any], str]:
    """The canonical arguments and their canonical JSON text (see the module docstring).
    ``defaults=False`` skips filling in defaults (for a schema known to declare none)."""
    args = parse_arguments(arguments)
    if schema and defaults:
        args = fill_defaults(args, schema)
    args = _normal(args)
    return args, _encoder.encode(args).decode()


def canonical_arguments(arguments: Any, schema: dict[str, Any] | None = None) -> str:
    """The canonical JSON text of a call's arguments (see the module docstring)."""
    return canonicalise(arguments, schema)[1]


def call_key(server: str, tool: str, canonical: str) -> str:
    """The lookup key of a call: a hash of its server, tool and canonical arguments."""
    return hashlib.sha256(f"{server}\x00{tool}\x00{canonical}".encode()).hexdigest()[:32]


__all__ = ["ArgumentsError", "call_key", "canonical_arguments", "canonicalise", "fill_defaults", "has_defaults",
           "normalise_path", "parse_arguments"]
