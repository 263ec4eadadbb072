"""Sandboxes: each exploration works on its own fresh copy of the seed workspace.

A :class:`Sandbox` is a folder built by :func:`firefly.fixtures.build_sandbox`: the seed
workspace plus the fixtures the registered servers declare. Paths are
recorded *virtually*: the real root is replaced by ``/workspace`` in everything recorded
(arguments, results), and ``/workspace`` by the real root in arguments sent to a server,
so a recorded call replays the same on any machine and in any sandbox.

Slots: starting a server costs seconds, so the explorer keeps one sandbox per concurrent
slot with its servers running, and :meth:`Sandbox.reset` restores the seed content in place
(same path) between explorations. Servers that keep their state in the workspace (files,
git repository, SQLite file, memory file) then see a fresh world each time; what a server
keeps in a service (Redis) is the slot's own part of it, reset by the explorer as well.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..events import ServerFixtures
from ..fixtures import build_sandbox
from .policy import VIRTUAL_ROOT


class Sandbox:
    """``slot``: the exploration slot the sandbox serves (its services' own parts, a Redis
    database, :meth:`firefly.services.Services.slot_variables`), None outside one."""

    def __init__(self, root: Path, fixtures: Sequence[ServerFixtures] = (), slot: int | None = None):
        self.root = Path(root)
        self.fixtures = tuple(fixtures)
        self.slot = slot
        self._real = str(self.root)
        self._resolved = str(self.root.resolve())

    @classmethod
    def create(cls, parent: Path, name: str, fixtures: Sequence[ServerFixtures] = (), slot: int | None = None) -> Sandbox:
        root = Path(parent) / name
        build_sandbox(root, fixtures)
        return cls(root, fixtures, slot)

    def reset(self) -> None:
        """Restore the seed content in place (the root path stays the same)."""
        if self.root.exists():
            _make_writable(self.root)  # a server may have made a file or folder read-only
            for child in self.root.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            self.root.rmdir()
        build_sandbox(self.root, self.fixtures)

    # -- virtual <-> real paths ------------------------------------------------------------

    def to_real(self, value: Any) -> Any:
        """Arguments on their way to a server: ``/workspace`` -> the real root."""
        return _map_strings(value, lambda s: s.replace(VIRTUAL_ROOT, self._real) if VIRTUAL_ROOT in s else s)

    def to_virtual(self, value: Any) -> Any:
        """Results on their way to the log: the real root -> ``/workspace``."""

        def swap(s: str) -> str:
            if self._resolved != self._real and self._resolved in s:
                s = s.replace(self._resolved, VIRTUAL_ROOT)
            return s.replace(self._real, VIRTUAL_ROOT) if self._real in s else s

        return _map_strings(value, swap)


def _make_writable(root: Path) -> None:
    """Give the owner write access to every folder and file under ``root`` (not through links)."""
    for path in [root, *root.rglob("*")]:
        try:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            wanted = mode | stat.S_IWUSR | (stat.S_IXUSR | stat.S_IRUSR if path.is_dir() else 0)
            if wanted != mode:
                os.chmod(path, wanted)
        except OSError:
            continue


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {(fn(k) if isinstance(k, str) else k): _map_strings(v, fn) for k, v in value.items()}
    return value
