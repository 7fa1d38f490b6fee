# Deep Learning Labs — every command a student, TA or instructor needs.
# `make demo` and `make test` set everything up on a fresh machine by themselves.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
# The stamp's name hashes the pins: editing requirements.txt or pyproject.toml reinstalls,
# an unchanged second run installs nothing.
STAMP  := $(VENV)/.setup-$(shell cat requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
# make hub's proxy (npm): a stamp of its own, see the hub section at the end
HUB_NPM_STAMP := hub/node_modules/.stamp-$(shell cat hub/package-lock.json 2>/dev/null | sha256sum | cut -c1-12)
LAB    ?= all
WORKERS ?=
SCHEDULER ?=
FORCE ?=
UNSANDBOXED ?=
GRADE_FLAGS = $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force) $(if $(UNSANDBOXED),--unsandboxed)
# Grading at scale (README "Grading a large class fast"): kernels per GPU, scoring processes,
# and POSTGRES=1 for the workspace's PostgreSQL gradebook (started if needed, see make pg-start).
GPU_WORKERS ?=
SCORERS ?=
POSTGRES ?=
GRADE_FLAGS += $(if $(GPU_WORKERS),--workers-per-gpu $(GPU_WORKERS)) $(if $(SCORERS),--scorers $(SCORERS)) $(if $(POSTGRES),--postgres)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Quiet pip about this machine's local package mirrors; keep real errors.
PIP_FLAGS := --disable-pip-version-check --no-input

.PHONY: setup system-packages demo release autograde feedback grades report similarity lab test test-fast lint bench clean help

help:
	@echo "make setup | demo | test | release | autograde LAB=<id|all> | feedback | grades | report | similarity LAB=<id|all> | lab | bench | lint | clean"
	@echo "course hub: make hub | hub-stop | hub-release LAB=<id> | hub-collect LAB=<id> | hub-grade LAB=<id> | hub-feedback LAB=<id> | hub-grades | hub-check | hub-clean"

# Debian packages the grader's sandbox (bubblewrap) and the browser test (chromium) need.
SYSTEM_PACKAGES := bubblewrap chromium

setup: system-packages $(STAMP) $(HUB_NPM_STAMP)

# Installs the Debian packages when they are missing and the system allows it (root or
# password-less sudo with apt-get); otherwise says what is missing and carries on: the grader then
# refuses to run unsandboxed unless asked, and the browser test skips with the reason.
system-packages:
	@missing=""; command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	if command -v apt-get >/dev/null && [ "$$SUDO" != none ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "warning: cannot install$$missing here (needs apt-get and root); install them by hand for the sandbox and the browser test"; \
	fi
	@# OPTIONAL: postgresql, only for a PostgreSQL gradebook (SCORERS/POSTGRES); never needed otherwise
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi; \
	if command -v apt-get >/dev/null && [ "$$SUDO" != none ]; then \
	  echo "installing optional Debian package: postgresql"; \
	  { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } \
	    || echo "note: postgresql could not be installed; the SQLite gradebook works without it"; \
	else echo "note: optional postgresql not installed (only needed for a PostgreSQL gradebook)"; fi; }

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -q -r requirements.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(PY) -m pip install $(PIP_FLAGS) -q --no-deps -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(PY) -c "import torch, torchvision, nbgrader, labkit, autograde; print('setup ok: torch', torch.__version__, '| nbgrader', nbgrader.__version__)"
	@rm -f $(VENV)/.setup-* && touch $@

demo: setup
	$(PY) -m autograde demo --lab $(LAB) $(GRADE_FLAGS)

release: setup
	$(PY) -m autograde release --lab $(LAB)

autograde: setup
	$(PY) -m autograde autograde --lab $(LAB) $(GRADE_FLAGS)

feedback: setup
	$(PY) -m autograde feedback --lab $(LAB)

grades: setup
	$(PY) -m autograde grades

report: setup
	$(PY) -m autograde report --lab $(LAB)

# Pairs of students whose solution cells are unusually alike, for a TA to look at (never a verdict).
similarity: setup
	$(PY) -m autograde similarity --lab $(LAB)

# JupyterLab for students on the released labs, with nbgrader's student tools only (Assignment
# List, Validate): jupyter_student/ hides Formgrader, Create Assignment and Course List through
# JUPYTER_CONFIG_PATH, for this command only (no global or user Jupyter config is changed).
# It runs from the repository root so that Validate reads nbgrader_config.py, as grading does.
STUDENT_JUPYTER := JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter_student$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

lab: setup
	$(STUDENT_JUPYTER) $(VENV)/bin/jupyter lab --notebook-dir=labs $(if $(filter 0,$(shell id -u)),--allow-root)

# One test worker per core (-n auto). Measured from a fresh clone on 2 cores: 914 s with 2 workers,
# 1093 s with 3 (the extra worker's kernels compete for the cores more than it fills waits).
TEST_WORKERS ?= auto

test: setup
	# one torch thread per notebook kernel: the workers already share the cores
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 tests

test-fast: setup
	$(PY) -m pytest -m "not notebook" tests

lint: setup
	$(VENV)/bin/ruff check .  # labkit, autograde, tests, hub, tools, notebooks (.venv is excluded)

# Grading throughput (plain nbgrader vs ours), then scoring throughput with both gradebooks and
# 1 and 2 scorers on BENCH_STUDENTS replayed submissions per configuration (docs/benchmarks.md).
BENCH_STUDENTS ?= 200
bench: setup
	$(PY) -m autograde bench --lab $(LAB)
	$(PY) -m autograde.scale replay --lab $(LAB) --students $(BENCH_STUDENTS)

# Scale tests (docs/benchmarks.md). bench-scale: scoring throughput on STUDENTS replayed
# submissions, SQLite and PostgreSQL, 1 and 2 scorers. scale-dask: 108 real submissions
# through a Dask LocalCluster. bench-kernel: one sandboxed kernel's start, with and without the
# shared font list. pg-start/pg-stop: the workspace's PostgreSQL gradebook server.
STUDENTS ?= 2000
.PHONY: bench-scale bench-kernel scale-dask pg-start pg-stop
bench-scale: setup
	$(PY) -m autograde.scale replay --lab $(LAB) --students $(STUDENTS)

bench-kernel: setup
	$(PY) -m autograde.kernel_bench

scale-dask: setup
	$(PY) -m autograde.scale dask --lab $(LAB) --submissions 108 --workers 2

pg-start: setup
	$(PY) -m autograde.pgserver start

pg-stop:
	$(PY) -m autograde.pgserver stop

clean:
	rm -rf autograde/submitted autograde/autograded autograde/feedback autograde/exports autograde/logs autograde/gradebook.db artifacts
	find . -name __pycache__ -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

# --- the course on JupyterHub (docs/hub.md) ---------------------------------------------------
# JupyterHub's proxy from npm, into hub/node_modules (git-ignored), with a stamp of its own
# (HUB_NPM_STAMP, above) that hashes the lock file. Without npm it says so and goes on.
HUB := $(PY) -m autograde.hub
HUB_LAB = $(if $(filter all,$(LAB)),$(error give the lab: LAB=lab1_perceptron),$(LAB))

.PHONY: hub hub-stop hub-release hub-collect hub-grade hub-feedback hub-grades hub-check hub-clean

$(HUB_NPM_STAMP): hub/package.json hub/package-lock.json
	@if command -v npm >/dev/null; then \
	  cd hub && npm ci --no-audit --no-fund --loglevel=error && rm -f node_modules/.stamp-* && touch ../$@; \
	else echo "warning: npm not found: install Node.js for make hub (JupyterHub's configurable-http-proxy)"; fi

# JupyterHub on http://127.0.0.1:8000 (HUB_PORT=...), as root: demo accounts, exchange, formgrader
hub: setup
	$(HUB) start

hub-stop:
	$(HUB) stop

# instructor: generate the student version and release it to the exchange (with its due date)
hub-release: setup
	$(HUB) release --lab $(HUB_LAB)

# TA: each student's latest submission into the course's submitted folder
hub-collect: setup
	$(HUB) collect --lab $(HUB_LAB)

# TA: the sandboxed parallel grader on the collected submissions, then the grade exports
hub-grade: setup
	$(HUB) grade --lab $(HUB_LAB) $(if $(WORKERS),--workers $(WORKERS))

# TA: feedback pages (no hidden tests), released to the students' Assignment List
hub-feedback: setup
	$(HUB) feedback --lab $(HUB_LAB)

# TA: nbgrader's CSV, the per-cell CSV and the Canvas gradebook CSV
hub-grades: setup
	$(HUB) grades

hub-check:
	$(HUB) check

# stop the hub, delete the demo accounts and .hub/
hub-clean:
	$(HUB) remove

