# `make demo` and `make test` each create (or refresh, when pyproject.toml
# changed) the virtual environment in .venv, install the package into it in
# editable mode with what the target needs, and run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,examples]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m keras_optims.verification
	$(BIN)/python examples/paths.py --quick
	$(BIN)/python examples/moons.py --quick
	@echo "Pictures are in examples/out/ (full runs: python examples/paths.py, examples/moons.py)."

test: $(STAMP)
	$(BIN)/python -m pytest

# Installs the `bench` extra (torch, for the peer rows) on top, then measures.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build *.egg-info
