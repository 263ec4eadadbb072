"""What a user installs: the lock is in step with pyproject.toml, and the wheel is
``firefly-mcp`` with the ``firefly`` package and command, its bundled files, and the
Datasette plugin as ``firefly_datasette`` (never a generic top-level ``datasette_plugins``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
DIST = "firefly-mcp"

needs_uv = pytest.mark.skipif(UV is None, reason="uv is not installed next to this Python")


def _project_copy(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, project / name)
    return project


def _uv(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    return subprocess.run([UV, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@needs_uv
def test_lock_is_in_step_with_pyproject(tmp_path):
    project = _project_copy(tmp_path)
    ok = _uv("lock", "--check", cwd=project)
    assert ok.returncode == 0, ok.stderr


@needs_uv
def test_a_lock_out_of_step_with_pyproject_fails(tmp_path):
    project = _project_copy(tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    assert '"networkx>=3.2",' in text
    pyproject.write_text(text.replace('"networkx>=3.2",', '"networkx>=3.2",\n    "tabulate>=0.9",'))
    stale = _uv("lock", "--check", cwd=project)  # resolves the new entry from the registry
    assert stale.returncode != 0
    assert "needs to be updated" in stale.stderr
    # and `make sync` (what make run / make test / .ci/run call) refuses it the same way
    makefile = (ROOT / "Makefile").read_text()
    assert "sync --locked" in makefile


def test_lock_pins_every_dependency_and_uv_for_the_makefile():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    pinned = {p["name"]: p["version"] for p in lock["package"] if "version" in p}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DIST
    assert DIST in pinned
    for requirement in project["dependencies"]:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower()
        assert name in pinned, f"{name} is not in uv.lock"
    # the Makefile bootstraps uv at the version the lock pins (the line after name = "uv")
    lines = (ROOT / "uv.lock").read_text().splitlines()
    assert lines[lines.index('name = "uv"') + 1] == f'version = "{pinned["uv"]}"'


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if UV is None:
        pytest.skip("uv is not installed next to this Python")
    out = tmp_path_factory.mktemp("dist")
    built = _uv("build", "--wheel", "--out-dir", str(out), str(ROOT), cwd=out, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("*.whl")
    return path


def test_wheel_ships_firefly_and_its_own_plugin_package(wheel):
    assert wheel.name.startswith("firefly_mcp-")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"firefly", "firefly_datasette"}
    assert "firefly_datasette/__init__.py" in names
    assert "firefly_datasette/templates/firefly_task.html" in names
    assert "firefly/_resources/data/servers.json" in names
    assert any(n.startswith("firefly/_resources/schema/migrations/") for n in names)
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(info).decode()
    assert "[datasette]\nfirefly = firefly_datasette" in entry_points
    assert "[console_scripts]\nfirefly = firefly.cli:main" in entry_points


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed into an empty virtualenv, with the locked versions of its
    dependencies (as ``uv export`` writes them). Returns the venv's bin directory."""
    where = tmp_path_factory.mktemp("venv")
    venv = where / "venv"
    made = _uv("venv", "--python", sys.executable, str(venv), cwd=where)
    assert made.returncode == 0, made.stderr
    requirements = where / "requirements.txt"
    exported = _uv("export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes",
                   "--output-file", str(requirements), "--project", str(ROOT), cwd=where)
    assert exported.returncode == 0, exported.stderr
    python = venv / "bin" / "python"
    done = _uv("pip", "install", "--python", str(python), "-r", str(requirements), str(wheel), cwd=where, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


def _clean_env(bindir: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "FIREFLY_DB", "UV_PROJECT_ENVIRONMENT")}
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    return env


def test_installed_wheel_has_no_generic_plugin_package_and_datasette_loads_it(installed, tmp_path):
    env = _clean_env(installed, tmp_path)
    python = str(installed / "python")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u, json; print(json.dumps("
         "[u.find_spec(n) is not None for n in ('datasette_plugins', 'firefly_datasette', 'firefly')]))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )
    assert json.loads(probe.stdout) == [False, True, True]
    plugins = subprocess.run([str(installed / "datasette"), "plugins"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, check=True)
    (ours,) = [p for p in json.loads(plugins.stdout) if p["name"] == DIST]
    assert {"get_metadata", "register_routes", "render_cell"} <= set(ours["hooks"])
    assert ours["templates"]
    version = subprocess.run([str(installed / "firefly"), "version"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, check=True)
    assert version.stdout.strip()


@pytest.mark.real_servers
def test_installed_wheel_runs_from_an_empty_folder(installed, tmp_path):
    """`firefly run --dags 5` with nothing but the wheel: the bundled registry and seeds come
    from the package, and the run makes a dataset with train and test tasks."""
    folder = tmp_path / "empty"
    folder.mkdir()
    env = _clean_env(installed, tmp_path)
    run = subprocess.run([str(installed / "firefly"), "run", "--dags", "5"], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert (folder / "firefly.db").exists()
    import sqlite3

    conn = sqlite3.connect(folder / "firefly.db")
    verified = conn.execute("SELECT count(*) FROM tasks WHERE verified = 1").fetchone()[0]
    conn.close()
    assert verified > 0
    # plain `datasette firefly.db` serves it with firefly's pages
    (task_id,) = sqlite3.connect(folder / "firefly.db").execute(
        "SELECT task_id FROM tasks WHERE verified = 1 LIMIT 1").fetchone()
    page = subprocess.run(
        [str(installed / "datasette"), "firefly.db", "--get", "/firefly/tasks.json?_shape=array&_size=1"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )
    assert page.returncode == 0, page.stderr[-2000:]
    assert json.loads(page.stdout)[0]["task_id"]
    task_page = subprocess.run(
        [str(installed / "datasette"), "firefly.db", "--get", f"/firefly/-/firefly/task/{task_id}"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )
    assert task_page.returncode == 0, task_page.stderr[-2000:]
    assert task_id in task_page.stdout and "Reference trajectory" in task_page.stdout
