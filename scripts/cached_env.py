"""Environments built once per machine, outside the repository, named by a hash of their pins.

Each lives in ``~/.cache/firefly/<name>/<hash>`` (``XDG_CACHE_HOME`` moves ``~/.cache``), so a
new pin builds a new environment and an old one is never half-upgraded. Builds take a file lock
(parallel test processes wait for the first one's build); :class:`PinnedVenv` also builds in a
``.partial`` folder renamed into place when complete, so an interrupted build leaves nothing that
looks ready (the next build starts it again).

    python scripts/cached_env.py datasets3 verifiers   # build the suite's pinned venvs, print them

Used by ``scripts/real_model_env.py`` and by the test suite (tests/pinned_envs.py), which builds
the venvs whose pins conflict with the lock's: datasets 3.x, and verifiers (datasets<4.7).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "envs"  # <name>.in (what is asked for) and <name>.txt (uv pip compile's pins)

# what uv says when it cannot reach the package index (or was told not to)
_NO_NETWORK = re.compile(
    r"dns error|failed to lookup address|name resolution|network is unreachable|connection refused|"
    r"tcp connect error|error sending request|network connectivity is disabled|network was disabled|"
    r"operation timed out|connection reset",
    re.IGNORECASE,
)


class NoNetwork(RuntimeError):
    """The build needed the package index and could not reach it."""


class BuildFailed(RuntimeError):
    """A build step failed for another reason (its output is in the message)."""


def cache_root(name: str, variable: str | None = None) -> Path:
    """The folder holding ``name``'s environments: ``$variable`` when set, else
    ``~/.cache/firefly/<name>``."""
    if variable and os.environ.get(variable):
        return Path(os.environ[variable])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "firefly" / name


def digest(pins: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(pins).encode()).hexdigest()[:12]


def uv() -> str:
    """The uv next to the running Python (the project's .venv has the lock's), else on PATH."""
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if not found:
        raise BuildFailed("uv is not installed (run `make sync`)")
    return found


@contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Hold ``<directory>.lock`` (blocking): one build of an environment at a time per machine."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with open(directory.with_name(directory.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_step(command: list[str]) -> None:
    """Run one build command; its failure is :class:`NoNetwork` when uv could not reach the
    index, else :class:`BuildFailed`, both with the end of its output."""
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode == 0:
        return
    output = (done.stdout + done.stderr).strip()
    kind = NoNetwork if _NO_NETWORK.search(output) else BuildFailed
    raise kind(f"`{' '.join(command[:3])} ...` exited with {done.returncode}: {output[-2000:]}")


@dataclass(frozen=True)
class PinnedVenv:
    """A venv holding exactly the pins of ``tests/envs/<name>.txt`` (``uv pip sync``), for this
    Python's minor version."""

    name: str
    pins_file: Path | None = None

    @property
    def requirements(self) -> Path:
        return self.pins_file or PINNED / f"{self.name}.txt"

    def directory(self, root: Path | None = None) -> Path:
        return (root or cache_root(self.name)) / digest((self.requirements.read_text(), PYTHON))

    def python(self, root: Path | None = None) -> Path:
        return self.directory(root) / "bin" / "python"

    def build(self, root: Path | None = None) -> Path:
        """Build unless built; returns the venv's Python. Raises NoNetwork or BuildFailed."""
        directory = self.directory(root)
        if directory.exists():  # only ever made by the rename below: complete
            return self.python(root)
        with build_lock(directory):
            if directory.exists():  # built by another process while this one waited
                return self.python(root)
            partial = directory.with_name(directory.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)  # an interrupted build's leftovers
            tool = uv()
            run_step([tool, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(partial)])
            run_step([tool, "pip", "sync", "--quiet", "--compile-bytecode", "--python", str(partial / "bin" / "python"),
                      str(self.requirements)])
            partial.rename(directory)
        return self.python(root)


def main(names: list[str]) -> int:
    for name in names or sorted(p.stem for p in PINNED.glob("*.txt")):
        print(PinnedVenv(name).build())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
