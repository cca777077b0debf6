# The asyncio talks: build the decks, run the demos as tests, present, benchmark.
# `make help` lists the targets. Every target that needs Python packages depends on
# `setup`, which is idempotent and takes well under a second when nothing changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# PYTHON chooses the interpreter of .venv (e.g. `make setup PYTHON=python3.13`);
# left empty, an existing .venv keeps its Python and a new one uses python3.
PYTHON ?=
# PYUV_LIBUV=system builds pyuv against the system's libuv (needs libuv1-dev).
PYUV_LIBUV ?= bundled
export PYUV_LIBUV
# Inside an active conda environment (other than base) setup installs into it.
USE_CONDA ?= $(if $(and $(CONDA_PREFIX),$(filter-out base,$(CONDA_DEFAULT_ENV))),1,)

VENV := .venv
# `make fuzz`: random sequences per state machine (make test runs 20, derandomized).
FUZZ_EXAMPLES ?= 400
# `make demos`: the attendees' venv, only what the demos import (no Node.js, no Jupyter).
DEMOS_VENV := .venv-demos
ifeq ($(USE_CONDA),1)
  ENV_PY := $(CONDA_PREFIX)/bin/python
  SETUP_WHERE := --conda
else
  ENV_PY := $(VENV)/bin/python
  SETUP_WHERE := --venv $(VENV)
endif
SETUP_PY ?= python3
# uv resolves the lock for each supported Python without those interpreters (make lock).
UV_VERSION := 0.13.9

.PHONY: help setup demos demo slides rehearse test fuzz conformance present bench faults clean distclean lock

help: ## Show this help
	@echo "The asyncio talks (PyConES, FOSDEM): decks, demos and tests."
	@echo
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z]+):.*## (.*)/  make \1\t\2/' | expand -t 20
	@echo
	@echo "Options: PYTHON=python3.13 (setup's and demos' interpreter), PYUV_LIBUV=system, USE_CONDA=1|0,"
	@echo "         PYTEST_ARGS='-m \"not browser\"' (test), SLIDES=--no-pdf (slides)"

setup: ## Create or update the environment (.venv or the active conda env), pyuv, npm
	@$(SETUP_PY) tools/setup_env.py $(SETUP_WHERE) --libuv $(PYUV_LIBUV) $(if $(PYTHON),--python $(PYTHON))

demos: ## Only what the demos need, in .venv-demos: pyuv, greenlet, the demos, uvloop, gevent
	@$(SETUP_PY) tools/setup_env.py --demos --venv $(DEMOS_VENV) --libuv $(PYUV_LIBUV) \
	  $(if $(PYTHON),--python $(PYTHON))

demo: ## Run one slide's demo in .venv-demos: make demo TALK=fosdem SLIDE=12 [LANG=en]
	@# setup's one line goes to stderr: stdout is the demo's output alone
	@$(MAKE) --no-print-directory demos >&2
	@$(if $(filter command line,$(origin LANG)),env -u LANG) $(SETUP_PY) tools/demo.py \
	  --python $(DEMOS_VENV)/bin/python --talk "$(TALK)" --slide "$(SLIDE)" \
	  --lang "$(if $(filter command line,$(origin LANG)),$(LANG))"

slides: setup ## Build every deck (HTML, notebooks, PDF) into site/ (SLIDES=--no-pdf ...)
	@$(ENV_PY) slides/build.py $(SLIDES)

rehearse: setup ## Time a talk slide by slide against its slot: make rehearse TALK=fosdem [LANG=en]
	@$(if $(filter command line,$(origin LANG)),env -u LANG) $(ENV_PY) slides/rehearse.py \
	  --talk "$(TALK)" --lang "$(if $(filter command line,$(origin LANG)),$(LANG))"

test: setup ## Run every test: setup, pyuv, the demos' packages, the decks (PYTEST_ARGS=...)
	@$(ENV_PY) -m pytest $(PYTEST_ARGS)

fuzz: setup ## Differential fuzzing, rose vs asyncio's loop, many random sequences (FUZZ_EXAMPLES=400)
	@# One test is one state machine's whole run: pytest.ini's 300 s ceiling is for make test's 20 sequences.
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(ENV_PY) -m pytest tests/fuzz -p no:cacheprovider --timeout 3600 $(PYTEST_ARGS)

conformance: setup ## CPython's asyncio suites, then anyio's and uvloop's, against rose (CONFORMANCE='--part peers')
	@$(ENV_PY) demos/rose/conformance/run.py $(CONFORMANCE)

present: setup ## Present a deck live with RISE: make present TALK=fosdem LANG=en
	@$(if $(filter command line,$(origin LANG)),env -u LANG) $(ENV_PY) slides/present.py \
	  --talk "$(TALK)" --lang "$(if $(filter command line,$(origin LANG)),$(LANG))"

bench: setup ## Benchmark the echo servers on every loop, then evergreen's core vs gevent (~15 min; BENCH=--quick: ~1 min)
	@$(ENV_PY) -m tulip_echo bench --out bench-results $(BENCH)
	@$(ENV_PY) demos/evergreen/benchmarks/core.py $(filter --quick,$(BENCH))

faults: setup ## Broken links, hostile peers, a soak on every echo server: one table in bench-results/ (FAULTS=--quick)
	@$(ENV_PY) -m tulip_echo.faults --out bench-results $(FAULTS)

clean: ## Remove build outputs (site/, build/, bench-results/, caches)
	rm -rf site build bench-results .pytest_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './.venv-demos/*' -not -path '*/node_modules/*' -prune -exec rm -rf {} +

distclean: clean ## Also remove .venv, .venv-demos and node_modules (the pyuv wheel cache stays)
	rm -rf $(VENV) $(DEMOS_VENV) slides/node_modules

lock: ## Regenerate requirements.txt from requirements.in, for every supported Python (UPGRADE=1: newest)
	@rm -rf build/lock-venv
	@$(SETUP_PY) -m venv build/lock-venv
	@build/lock-venv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@$(SETUP_PY) tools/lock.py --uv build/lock-venv/bin/uv $(if $(UPGRADE),--upgrade)
	@rm -rf build/lock-venv
