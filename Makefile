# infoshos: two commands on a fresh machine with Python 3.11, pip and make.
#   make demo   - create .venv, install from the hashed locks, run the pipeline on the bundled sample site
#   make test   - ruff (lint + format check), mypy and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Prefect keeps its state in a folder the project owns; no telemetry, no network.
export PREFECT_HOME := $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 180

# The locks (requirements/*.lock, with hashes) are made by `make lock`; see README, Development.
LOCKS := requirements/pip.lock requirements/runtime.lock requirements/dev.lock
UV_VERSION := 0.13.8
# The venv's own pip first (hashed too): an old pip cannot install extras in hash mode.
PIP_VERSION := 26.3
LOCK_VENV := build/lock-venv
UV_COMPILE = $(LOCK_VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --no-emit-package setuptools --custom-compile-command "make lock"

.PHONY: demo test lint typecheck pytest pytest-scale install clean lock

$(STAMP): $(LOCKS) pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (set PYTHON=...)" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/pip.lock
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/runtime.lock -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Re-make the locks from pyproject.toml, keeping every pin the locks already have (add
# UPGRADE=--upgrade, or UPGRADE="--upgrade-package NAME", to move versions on purpose).
lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION); }
	$(UV_COMPILE) $(UPGRADE) pyproject.toml -o requirements/runtime.lock
	$(PYTHON) -c 'import re, tomllib; x = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]; \
	  own = lambda r: re.fullmatch(r"infoshos\[(\w+)\]", r); \
	  flat = lambda n: [d for r in x[n] for d in (flat(own(r)[1]) if own(r) else [r])]; \
	  print("-c ../requirements/runtime.lock", *flat("dev"), sep="\n")' \
	  > build/dev.in
	$(UV_COMPILE) $(UPGRADE) build/dev.in -o requirements/dev.lock
	echo "pip==$(PIP_VERSION)" > build/pip.in
	$(UV_COMPILE) build/pip.in -o requirements/pip.lock

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/infoshos run --warehouse data
	$(BIN)/infoshos sql --warehouse data \
	  "SELECT source, language, count(*) AS articles, count(*) FILTER (WHERE NOT is_canonical) AS duplicates, min(published_at)::DATE AS first, max(published_at)::DATE AS last FROM articles GROUP BY ALL ORDER BY ALL"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy sees the code under its installed names through the committed folder infoshos/, whose
# entries link to the three code folders (see README, Development).
typecheck: $(STAMP)
	$(BIN)/mypy -p infoshos
	$(BIN)/mypy tests bench

# In CI (CI=true, as root) the browser test's Chromium is installed from Debian's packages.
pytest: $(STAMP)
	@if [ "$${CI:-}" = "true" ]; then .ci/install-chromium; fi
	$(BIN)/python -m pytest -q -m "not scale"

# The scale-out tests, a separate job: Redis, PostgreSQL, S3 (moto) and Dask, each started by
# the tests on 127.0.0.1 (tests/services.py). In CI their Debian packages are installed first.
pytest-scale: $(STAMP)
	@if [ "$${CI:-}" = "true" ]; then .ci/install-services; fi
	$(BIN)/python -m pytest -q -m scale

test: lint typecheck pytest pytest-scale

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
