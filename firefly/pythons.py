"""Finding a Python interpreter of a given version for servers that need one.

A registry entry's ``"python": "3.12"`` (see :mod:`firefly.fixtures`) says its server runs on
that version, usually started as ``uvx --python 3.12 ...``. uv looks for ``python3.12`` on
PATH and among the interpreters it manages; interpreters installed by pyenv (or by hand)
elsewhere are not found. :func:`find_python` looks in the usual places and
:func:`python_path_dirs` gives the folder to put first on the server's PATH.

Where it looks, in order: ``$FIREFLY_PYTHON_DIRS`` (folders, ``os.pathsep``-separated), PATH,
pyenv's versions (``$PYENV_ROOT/versions`` or ``~/.pyenv/versions``), uv's managed
interpreters (``$UV_PYTHON_INSTALL_DIR`` or ``~/.local/share/uv/python``), ``/usr/local/bin``
and ``/usr/bin``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["find_python", "python_path_dirs"]


def _candidate_dirs(version: str) -> list[Path]:
    dirs: list[Path] = []
    extra = os.environ.get("FIREFLY_PYTHON_DIRS")
    if extra:
        dirs += [Path(d) for d in extra.split(os.pathsep) if d]
    dirs += [Path(d) for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    home = Path.home()
    roots = [Path(os.environ["PYENV_ROOT"]) / "versions"] if os.environ.get("PYENV_ROOT") else []
    roots.append(home / ".pyenv" / "versions")
    uv_dir = os.environ.get("UV_PYTHON_INSTALL_DIR")
    roots.append(Path(uv_dir) if uv_dir else home / ".local" / "share" / "uv" / "python")
    pattern = re.compile(rf"(?:cpython-)?{re.escape(version)}(?:\.\d+)?(?:[-.].*)?$")
    for root in roots:
        if root.is_dir():
            # newest patch release first (3.12.10 before 3.12.9)
            found = [p for p in root.iterdir() if pattern.match(p.name) and "t" not in p.name.split(version, 1)[1][:2]]
            found.sort(key=lambda p: [int(n) for n in re.findall(r"\d+", p.name)[:3]], reverse=True)
            dirs += [p / "bin" for p in found]
    dirs += [Path("/usr/local/bin"), Path("/usr/bin")]
    return dirs


def find_python(version: str) -> Path | None:
    """The path of a working ``python<version>`` executable (``version`` like ``3.12``), or
    None. Each candidate is run once to check its version: a pyenv shim for a version that
    is installed but not selected fails, and uv would pass it over."""
    name = f"python{version}"
    seen: set[Path] = set()
    for d in _candidate_dirs(version):
        if d in seen:
            continue
        seen.add(d)
        found = shutil.which(name, path=str(d))
        if found and _runs_as(found, version):
            return Path(found)
    return None


@functools.cache
def _runs_as(executable: str, version: str) -> bool:
    try:
        proc = subprocess.run([executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=20, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == version


def python_path_dirs(version: str) -> list[str]:
    """The folder to put first on a server's PATH so that uv finds Python ``version``
    (empty when none is found)."""
    found = find_python(version)
    return [str(found.parent)] if found is not None else []
