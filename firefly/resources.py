"""Where firefly's bundled files live: ``schema/`` and ``data/``.

In a source checkout (the usual, editable install) they sit at the repository's top level;
in a wheel they are packaged under ``firefly/_resources/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The directory of a bundled resource folder (``schema`` or ``data``)."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"firefly's bundled folder {name!r} is missing; reinstall firefly")


def schema_dir() -> Path:
    return resource_dir("schema")


def data_dir() -> Path:
    return resource_dir("data")


def bundled_registry() -> Path:
    """The bundled offline server registry, ``data/servers.json``."""
    return data_dir() / "servers.json"
