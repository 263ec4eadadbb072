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


def bundled_registries() -> dict[str, Path]:
    """Every registry shipped with firefly by name: ``default`` (``data/servers.json``, what
    ``make run`` uses) and each ``data/registries/<name>/servers.json``."""
    out = {"default": bundled_registry()}
    folder = data_dir() / "registries"
    if folder.is_dir():
        for sub in sorted(folder.iterdir()):
            if (sub / "servers.json").is_file():
                out[sub.name] = sub / "servers.json"
    return out


def find_registry(value: str | Path) -> Path:
    """A registry file from what a user typed: a path to a file, or a bundled registry's
    name (``offline``). Raises RegistryError listing the bundled names when it is neither."""
    from .errors import RegistryError

    path = Path(value)
    if path.is_file():
        return path
    bundled = bundled_registries()
    if str(value) in bundled:
        return bundled[str(value)]
    if path.exists():
        raise RegistryError(f"registry {value} is a folder, not a file")
    raise RegistryError(
        f"cannot read registry {value!s}: no such file, and no bundled registry of that name"
        f" (bundled: {', '.join(bundled)})")
