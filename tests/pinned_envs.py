"""The venvs the suite builds once per machine for libraries whose pins conflict with the lock's
(scripts/cached_env.py): ``datasets3`` (datasets 3.6) and ``verifiers`` (verifiers 0.1.x, which
pins datasets<4.7), each from ``tests/envs/<name>.txt``. Cold, a build downloads from the package
index; without a network the test needing it is skipped, saying so; any other failure fails."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def script_module(name: str) -> Any:
    """A module of scripts/ (a folder, not a package), imported as the scripts import each other."""
    scripts = str(ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.append(scripts)
    return importlib.import_module(name)


def pinned_python(name: str, root: Path | None = None, pins_file: Path | None = None) -> Path:
    """The Python of the pinned venv ``name`` (in ``root``, of ``pins_file``: by default the
    suite's), built first when missing."""
    cached_env = script_module("cached_env")
    try:
        return cached_env.PinnedVenv(name, pins_file).build(root)
    except cached_env.NoNetwork as error:
        pytest.skip(f"the {name} venv is not built and the package index is out of reach (no network): {error}")
