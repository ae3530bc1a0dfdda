# govid — the two commands are `make run` and `make test`.
# Every target creates .venv when it is missing and is safe to run twice.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs exactly what uv.lock pins (never the newest release); it is
# itself pinned and lives in .tools/, apart from the project's environment.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
UV_SYNC := $(UV) sync --frozen --python $(PYTHON) --quiet
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
DATA ?= .govid-data
PORT_BASE ?=
PYTEST_ARGS ?=
# The machine's PostgreSQL (trust auth); the PostgreSQL tests fail, never skip, without it.
GOVID_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export GOVID_TEST_DATABASE_URL

.PHONY: run test lint reformat bench venv venv-runtime clean soak audit lock conformance

$(UV):
	@echo "Preparing the installer (uv $(UV_VERSION)) ..."
	@$(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet \
		--disable-pip-version-check uv==$(UV_VERSION) >$(TOOLS)/install.log 2>&1 \
		|| { cat $(TOOLS)/install.log; rm -rf $(TOOLS); exit 1; }

# `make run`: the runtime dependencies only.
venv-runtime: $(RUNTIME)
$(RUNTIME): pyproject.toml uv.lock | $(UV)
	@echo "Installing govid's runtime dependencies from uv.lock ..."
	@$(UV_SYNC) --no-dev --inexact
	@touch $@

# `make test`, `make lint`, `make bench`: the development group as well, exactly.
venv: $(DEV)
$(DEV): pyproject.toml uv.lock | $(UV)
	@echo "Installing govid and its development tools from uv.lock ..."
	@$(UV_SYNC)
	@touch $@ $(RUNTIME)

run: $(RUNTIME)
	@$(BIN)/govid up --data $(DATA) $(if $(PORT_BASE),--port-base $(PORT_BASE),)

# The whole suite measures coverage against the floor in pyproject.toml
# ([tool.coverage.report] fail_under); a selection (PYTEST_ARGS=...) does not.
COVERAGE_ARGS := $(if $(PYTEST_ARGS),,--cov --cov-report=term:skip-covered)

test: $(DEV)
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup $(COVERAGE_ARGS) $(PYTEST_ARGS)

# The W3C DID test suite over govid's own output (tools/conformance): did:key and
# did:jwk resolved here, did:govid through a registry on loopback. The suite is
# read from ../shared/conformance/did-test-suite (or GOVID_DID_TEST_SUITE) and
# installed under .conformance/ once per lock; fails on any failing test.
conformance: $(DEV)
	$(BIN)/python -m tools.conformance

lint: $(DEV)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

reformat: $(DEV)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEV)
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

SOAK_SECONDS ?= 600

# The long soak (CI runs a 30 s form inside `make test`); PostgreSQL via
# GOVID_TEST_DATABASE_URL, else SQLite with a warning.
soak: $(DEV)
	$(BIN)/python -m tools.soak --duration $(SOAK_SECONDS) --json soak-report.json

# Known vulnerabilities in the pinned dependencies (requirements.lock).
audit: $(DEV)
	$(BIN)/python -m tools.audit_deps

# Refresh uv.lock on purpose (newest releases within pyproject.toml's ranges);
# then `make test` installs and checks them.
lock: | $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

clean:
	rm -rf $(VENV) $(TOOLS) build *.egg-info .mypy_cache .ruff_cache .pytest_cache .conformance
