# govid — the two commands are `make run` and `make test`.
# Every target creates .venv when it is missing and is safe to run twice.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= .govid-data
PYTEST_ARGS ?=
# The machine's PostgreSQL (trust auth); the PostgreSQL tests fail, never skip, without it.
GOVID_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export GOVID_TEST_DATABASE_URL

.PHONY: run test lint reformat bench venv clean soak audit lock

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/govid up --data $(DATA)

test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

reformat: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

SOAK_SECONDS ?= 600

# The long soak (CI runs a 30 s form inside `make test`); PostgreSQL via
# GOVID_TEST_DATABASE_URL, else SQLite with a warning.
soak: $(STAMP)
	$(BIN)/python -m tests.security.soak --duration $(SOAK_SECONDS) --json soak-report.json

# Known vulnerabilities in the pinned dependencies (requirements.lock).
audit: $(STAMP)
	$(BIN)/python -m tests.security.audit_deps

lock: $(STAMP)
	{ head -n 3 requirements.lock; $(BIN)/pip freeze --exclude-editable; } > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
