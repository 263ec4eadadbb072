"""The venvs the suite builds once per machine (scripts/cached_env.py, tests/pinned_envs.py): named
by their pins outside the repo, complete or absent, and a build without the package index skips
the test that needs it while any other failure fails it. Nothing here reaches the network: the
builds use an empty pins file, uv's offline mode, or a closed port on loopback as the index."""

from __future__ import annotations

import socket
import subprocess

import pytest

from .pinned_envs import ROOT, pinned_python, script_module


@pytest.fixture
def cached_env():
    return script_module("cached_env")


def pins(tmp_path, text: str):
    path = tmp_path / "pins.txt"
    path.write_text(text)
    return path


def test_a_venv_is_named_by_its_pins_outside_the_repo(tmp_path, cached_env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("datasets3", "verifiers"):  # the suite's own, pinned by uv pip compile
        venv = cached_env.PinnedVenv(name)
        assert "==" in venv.requirements.read_text()
        assert venv.directory().parent == tmp_path / "cache" / "firefly" / name
        assert not venv.directory().is_relative_to(ROOT)
    one = cached_env.PinnedVenv("x", pins(tmp_path, "six==1.16.0\n"))
    before = one.directory()
    one.requirements.write_text("six==1.17.0\n")
    assert one.directory() != before  # a new pin builds a new venv


def test_a_build_is_renamed_into_place_and_an_interrupted_one_is_started_again(tmp_path, cached_env, monkeypatch):
    venv = cached_env.PinnedVenv("empty", pins(tmp_path, ""))
    directory = venv.directory(tmp_path)
    leftover = directory.with_name(directory.name + ".partial")
    (leftover / "bin").mkdir(parents=True)  # what a killed build leaves
    (leftover / "bin" / "python").write_text("not a python")
    python = venv.build(tmp_path)
    assert python == directory / "bin" / "python" and not leftover.exists()
    done = subprocess.run([str(python), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == str(directory)

    def no_build(command):
        raise AssertionError(f"built again: {command}")

    monkeypatch.setattr(cached_env, "run_step", no_build)
    assert venv.build(tmp_path) == python  # built: used as it is


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("index", ["offline", "refused"])
def test_no_package_index_skips_the_test_saying_so(tmp_path, cached_env, monkeypatch, index):
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # nothing cached
    if index == "offline":
        monkeypatch.setenv("UV_OFFLINE", "1")
    else:
        monkeypatch.setenv("UV_INDEX_URL", f"http://127.0.0.1:{closed_port()}/simple")
        monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    venv = cached_env.PinnedVenv("six", pins(tmp_path, "six==1.16.0\n"))
    with pytest.raises(cached_env.NoNetwork):
        venv.build(tmp_path)
    assert not venv.directory(tmp_path).exists()  # nothing that looks built
    with pytest.raises(pytest.skip.Exception, match="no network"):
        pinned_python("six", tmp_path, venv.requirements)


def test_any_other_build_failure_fails(tmp_path, cached_env):
    venv = cached_env.PinnedVenv("broken", pins(tmp_path, "this is not == a requirement\n"))
    with pytest.raises(cached_env.BuildFailed, match="exited with"):
        venv.build(tmp_path)
    assert not venv.directory(tmp_path).exists()
