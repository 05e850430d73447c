# infoshos: two commands on a fresh machine with Python 3.11, pip and make.
#   make demo   - create .venv, install from the lock, run the pipeline on the bundled sample site
#   make test   - ruff (lint + format check), mypy and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MYPY_TREE := build/mypy

# Prefect keeps its state in a folder the project owns; no telemetry, no network.
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: demo test lint typecheck pytest install clean

$(STAMP): requirements.lock pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/infoshos run --warehouse data
	$(BIN)/infoshos sql --warehouse data \
	  "SELECT source, language, count(*) AS articles, count(*) FILTER (WHERE NOT is_canonical) AS duplicates, min(published_at)::DATE AS first, max(published_at)::DATE AS last FROM articles GROUP BY ALL ORDER BY ALL"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy sees the code under its installed names (infoshos.flows ...) through a tree of links.
typecheck: $(STAMP)
	@mkdir -p $(MYPY_TREE)/infoshos
	@for d in spiders flows warehouse; do ln -sfn ../../../$$d $(MYPY_TREE)/infoshos/$$d; done
	MYPYPATH=$(MYPY_TREE) $(BIN)/mypy -p infoshos.spiders -p infoshos.flows -p infoshos.warehouse
	MYPYPATH=$(MYPY_TREE) $(BIN)/mypy tests bench

# In CI (CI=true, as root) the browser test's Chromium is installed from Debian's packages.
pytest: $(STAMP)
	@if [ "$${CI:-}" = "true" ]; then .ci/install-chromium; fi
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
