"""Every module of firefly imports on its own, first (no import cycles): ``import
firefly.cli_graph`` works without ``firefly.cli`` having been imported before it."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys, traceback
import firefly
names = sorted(m.name for m in pkgutil.walk_packages(firefly.__path__, "firefly.") if m.name != "firefly.__main__")
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == "firefly" or m.startswith("firefly.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print(len(names))
print("\n".join(failed))
"""


def test_every_module_imports_first():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    count, *failed = done.stdout.strip().split("\n")
    assert int(count) > 40
    assert [f for f in failed if f] == []
