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
import posixpath
from typing import Any

import msgspec

from ..explore.policy import VIRTUAL_ROOT
from ..ids import canonical_json, short_hash

_decoder = msgspec.json.Decoder()
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


def _paths(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return normalise_path(value)
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: _paths(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_paths(v, depth + 1) for v in value]
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


def canonical_arguments(arguments: Any, schema: dict[str, Any] | None = None) -> str:
    """The canonical JSON text of a call's arguments (see the module docstring)."""
    args = parse_arguments(arguments)
    if schema:
        args = fill_defaults(args, schema)
    return canonical_json(_paths(args))


def call_key(server: str, tool: str, canonical: str) -> str:
    """The lookup key of a call: a hash of its server, tool and canonical arguments."""
    return short_hash(f"{server}\x00{tool}\x00{canonical}", 32)


__all__ = ["ArgumentsError", "call_key", "canonical_arguments", "fill_defaults", "normalise_path", "parse_arguments"]
