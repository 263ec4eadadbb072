# The two commands of the README's quickstart. Each one sets up everything it needs on a
# fresh machine (Python 3.11+, Node.js and the package registries): a virtual environment
# in .venv with firefly, its dependencies and uv (which starts the Python MCP servers).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("firefly needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

## run: the main job on the bundled offline servers (data/servers.json) into ./firefly.db
run: $(BIN)/.installed
	$(BIN)/firefly run

## test: the whole test suite (what .ci/run calls)
test: $(BIN)/.installed
	$(BIN)/python -m pytest

## bench: every benchmark in scripts/
bench: $(BIN)/.installed
	for b in scripts/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) firefly.db firefly.db-wal firefly.db-shm firefly.db.secrets.json
