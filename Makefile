# `make demo` and `make test` each create (or refresh, when pyproject.toml
# changed) the virtual environment in .venv, install the package into it in
# editable mode with what the target needs, and run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-exhaustive check check-all test-backend test-compat release-check mutants mutants-changed docs docs-serve test-site bench device-wheels install clean

# torch is installed first at the CPU build this project's machines carry:
# the `torch` extra's range then installs nothing more (on its own it would
# fetch a CUDA build of several GB).
TORCH_CPU := torch==2.13.0

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_CPU)"
	$(BIN)/python -m pip install --quiet -e ".[tensorflow,jax,torch,test,examples]"
	$(BIN)/python -m pip install --quiet --group lint
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m keras_optims.verification --backend all
	$(BIN)/python examples/paths.py --quick
	$(BIN)/python examples/moons.py --quick
	$(BIN)/python examples/course_assignment.py --quick --runs adam gd-decay-every-1000
	@echo "Pictures are in examples/out/ (full runs: python examples/paths.py, examples/moons.py)."

# The tiers (tests/conftest.py says which marker puts a test in which):
#   make test       the fast gate, before every commit: the unmarked tests
#   make check      what CI runs (.ci/run): make test, then the `slow` tests,
#                   the docs site built and opened in chromium, the version
#                   matrix, the release's distributions, and the slips of
#                   files changed since the last full mutation run
#   make check-all  make check, then the `exhaustive` tests and every slip
#
# Each pytest tier runs once per Keras backend: every test under TensorFlow,
# the others (all but those marked `tensorflow`) under JAX and PyTorch. On
# two cores, two lanes: TensorFlow and then AFTER in the foreground, BESIDE
# one after the other beside it, each run with its own temporary folder; the
# side lane's logs follow (and stay in .test-logs/). Tests marked `once`
# (backend-neutral, or starting every backend themselves) run in the side
# lane's last run, ONCE. Each run ends with its ten slowest tests, to see
# where the time goes.
#
# Each lane gets its share of the cores (one each on two cores): PyTorch's
# OpenMP threads and TensorFlow's intra-op pool, sized to the whole machine
# in each lane, spin against each other and the other lane (measured here,
# beside a busy core: a PyTorch fit 1.6× and a TensorFlow fit 1.5× faster on
# one thread). A value set in the environment is kept. The fused kernel's
# multi-threaded split is tested in a process of its own with more threads
# (tests/test_native.py).
LANE_THREADS := $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 3 ? n / 2 : 1 )))
ONE_LANE = KERAS_OPTIMS_ONCE=$(ONCE) OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$(LANE_THREADS)} \
	TF_NUM_INTRAOP_THREADS=$${TF_NUM_INTRAOP_THREADS:-$(LANE_THREADS)}
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider --durations=10
BESIDE ?= jax torch
AFTER ?=
ONCE ?= $(or $(lastword $(BESIDE)),tensorflow)

# $(call lanes,TIER,MARKER EXPRESSION): the two lanes over the tests that
# the expression selects; the side lane's logs in .test-logs/TIER-BACKEND.log.
# A run that selects no test (pytest's exit status 5) fails only in the fast
# tier, which every backend has tests in.
define lanes
	@mkdir -p .test-logs; tmp=$$(mktemp -d); ok="0$(if $(filter test,$(1)),, 5)"; \
	( for backend in $(BESIDE); do $(ONE_LANE) KERAS_BACKEND=$$backend $(PYTEST) -m "$(2)" --basetemp=$$tmp/$$backend \
	    > .test-logs/$(1)-$$backend.log 2>&1; echo $$? > .test-logs/$(1)-$$backend.status; done ) & beside=$$!; \
	status=0; for backend in tensorflow $(AFTER); do \
	  $(ONE_LANE) KERAS_BACKEND=$$backend $(PYTEST) -m "$(2)" --basetemp=$$tmp/$$backend; \
	  code=$$?; case " $$ok " in *" $$code "*) ;; *) status=1;; esac; done; \
	wait $$beside; for backend in $(BESIDE); do echo "=== make $(1): KERAS_BACKEND=$$backend ==="; \
	  cat .test-logs/$(1)-$$backend.log; \
	  case " $$ok " in *" $$(cat .test-logs/$(1)-$$backend.status) "*) ;; *) status=1;; esac; done; \
	rm -rf $$tmp; exit $$status
endef

test: $(STAMP)
	$(call lanes,test,not slow and not exhaustive)

# One backend's run of the fast tier, for a CI job of its own (the
# workflows' matrix, .github/workflows/ci.yml): make test-backend BACKEND=jax.
# The `once` tests run where BACKEND is ONCE (torch, as in make test).
BACKEND ?= tensorflow

test-backend: $(STAMP)
	KERAS_OPTIMS_ONCE=$(ONCE) KERAS_BACKEND=$(BACKEND) $(PYTEST) -m "not slow and not exhaustive"

test-slow: $(STAMP)
	$(call lanes,test-slow,slow)

test-exhaustive: $(STAMP)
	$(call lanes,test-exhaustive,exhaustive)

# CI (.ci/run) runs `make check`. MUTANTS_BUDGET: the most slips it plants.
MUTANTS_BUDGET ?= 6
SLOW_LANES ?= BESIDE=torch AFTER=jax

check: $(STAMP)
	$(MAKE) test
	$(MAKE) test-slow $(SLOW_LANES)
	$(MAKE) docs
	$(MAKE) test-site
	$(MAKE) test-compat COMPAT_ARGS=--skip-dists
	$(MAKE) release-check
	$(MAKE) mutants-changed

check-all: check
	$(MAKE) test-exhaustive
	$(MAKE) mutants

# Both ends of every version range in pyproject.toml, on each backend, from
# the built wheel, each configuration in a fresh environment
# (tests/compat/matrix.toml, tests/compat/run.py); then the wheel with only [jax] and
# only [torch] (`make check` leaves those to release-check: COMPAT_ARGS=--skip-dists).
# uv makes the environments and keeps one download cache.
COMPAT_ARGS ?=

test-compat: $(STAMP)
	$(BIN)/python -m pip install --quiet --group compat
	$(BIN)/python tests/compat/run.py $(COMPAT_ARGS)

# A release's distributions, built and checked as a maintainer cuts them
# (tests/release/run.py): the sdist and the wheel, twine check --strict, the
# wheel holding the package alone, the sdist the tracked files, the wheel from
# the sdist the same as from the tree, three builds byte for byte
# (SOURCE_DATE_EPOCH), and each extra's wheel installed fresh running README's
# "Use" and "Prove it". TAG=vX.Y.Z (the release workflow) also checks the tag,
# a final version and a dated CHANGELOG heading. The files: build/release/dist/.
TAG ?=

release-check: $(STAMP)
	$(BIN)/python -m pip install --quiet --group compat
	$(BIN)/python tests/release/run.py $(if $(TAG),--tag $(TAG))

# Mutation testing: each slip of tests/mutants/slips.toml planted in a
# scratch copy, the checks that cover its file run on it; prints the kill
# score and fails if a slip survives (tests/mutants/run.py). A run that
# kills every slip rewrites tests/mutants/last-full-run.json (commit it);
# mutants-changed (CI) plants only the slips whose file changed since then,
# at most MUTANTS_BUDGET of them.
mutants: $(STAMP)
	$(BIN)/python tests/mutants/run.py --record

mutants-changed: $(STAMP)
	$(BIN)/python tests/mutants/run.py --changed --budget $(MUTANTS_BUDGET)

# The documentation site (mkdocs.yml): strict, offline. KaTeX, which
# typesets the math, comes from the npm registry into build/docs-vendor/;
# the tutorials run during the build (docs/hooks.py) on JAX, the fastest
# backend for them here. `make test-site` then opens every page of the built
# site in Debian's chromium (installed by .ci/run) and checks it
# (tests/test_site.py).
KATEX := katex@0.16.22
DOCS_STAMP := $(VENV)/.docs-installed
DOCS_BACKEND ?= jax

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --group docs
	npm install --silent --no-audit --no-fund --no-save --prefix build/docs-vendor $(KATEX)
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	KERAS_BACKEND=$(DOCS_BACKEND) NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(DOCS_STAMP)
	KERAS_BACKEND=$(DOCS_BACKEND) KERAS_OPTIMS_DOCS_CACHE=1 NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

test-site: $(DOCS_STAMP)
	KERAS_OPTIMS_SITE_TEST=1 $(BIN)/python -m pytest -p no:cacheprovider tests/test_site.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

# What a GPU machine without network and without TensorFlow lacks to run
# benchmarks/device_check.py, as wheels for CPython 3.12 on manylinux x86-64
# in .wheels/: Keras (the version installed here), namex and optree, and this
# package. There: pip install --no-index --no-deps --target DIR .wheels/*.whl
WHEELS := .wheels

device-wheels: $(STAMP)
	rm -rf $(WHEELS) && mkdir -p $(WHEELS)
	$(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 -d $(WHEELS) \
	  "keras==$$($(BIN)/python -c 'import keras; print(keras.__version__)')" namex optree
	$(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEELS) .
	@ls $(WHEELS)

clean:
	rm -rf $(VENV) build dist *.egg-info .compat site
