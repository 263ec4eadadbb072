"""The real-model tier's environment builder: where it lives and what it says when missing
(building it is the tier's own first step: tests/test_real_model.py)."""

from __future__ import annotations

import subprocess
import sys

from tests.real_model import ROOT, env_module


def test_the_environment_lives_outside_the_repo_named_by_its_pins(tmp_path, monkeypatch):
    monkeypatch.setenv("FIREFLY_REAL_MODEL_CACHE", str(tmp_path))
    env = env_module()
    directory = env.env_dir()
    assert directory.parent == tmp_path and not directory.is_relative_to(ROOT)
    assert not env.ready(directory)
    monkeypatch.setattr(env, "PINS", (*env.PINS, "another pin"))
    assert env.env_dir() != directory  # a new pin builds a new environment


def test_check_says_how_to_build_it_when_missing(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "real_model_env.py"), "--check"],
                          env={"FIREFLY_REAL_MODEL_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "make real-model" in done.stderr
