# Two commands on a fresh machine: `make run` and `make test`. Everything else is a habit.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

# Local development defaults for `make run` only; real deployments set their own secrets.
DEV_EVENTS_SECRET ?= whsec_ZGV2LW9ubHktZXZlbnRzLXNlY3JldC0xMjM0NQ==
DEV_API_TOKEN ?= dev-token
RUN_ENV = FOREWARN_WEBHOOK_SECRET_EVENTS="$${FOREWARN_WEBHOOK_SECRET_EVENTS:-$(DEV_EVENTS_SECRET)}" \
	FOREWARN_API_TOKEN="$${FOREWARN_API_TOKEN:-$(DEV_API_TOKEN)}"

# The services this machine kind runs; tests skip (or, with CI=true, fail) when one is missing.
export FOREWARN_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export FOREWARN_TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export FOREWARN_TEST_AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/%2F

.PHONY: install run test lint types format bench bench-more clean audit faults

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

run: install
	@mkdir -p var
	$(BIN)/forewarn db upgrade
	$(RUN_ENV) $(BIN)/forewarn demo
	@$(RUN_ENV) sh -c 'echo "API token for /api: $$FOREWARN_API_TOKEN  (curl -H \"Authorization: Bearer $$FOREWARN_API_TOKEN\" http://127.0.0.1:8000/api/notices)"'
	$(RUN_ENV) $(BIN)/forewarn serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/python -m pytest -q

# Known vulnerabilities in the installed dependencies (PyPI's advisory data). Fails on any found; packages
# the service has no data for are listed as not audited, not failed.
audit: install
	$(BIN)/pip-audit --skip-editable --progress-spinner off

# The fault, attack and bad-input experiments alone (they also run in `make test`); each has a timeout.
faults: install
	$(BIN)/python -m pytest -q -m faults

lint: install
	$(BIN)/ruff check engine integrations tests alembic bench
	$(BIN)/ruff format --check engine integrations tests alembic bench

format: install
	$(BIN)/ruff format engine integrations tests alembic bench
	$(BIN)/ruff check --fix engine integrations tests alembic bench

types: install
	$(BIN)/mypy engine integrations

# The engine against the floor (plain rules) in every world, side by side; then the load figures as ratios
# in one run, whose last line is `bench: N of M targets met`.
bench: install
	$(BIN)/python -m bench.floor
	$(BIN)/python -m bench.ratios

# The other benchmarks: replay and scores, the due-orders scan, the SMTP rate, a 100,000-customer fan-out.
bench-more: install
	$(BIN)/python -m bench
	$(BIN)/python -m bench.scan
	$(BIN)/python -m bench.smtp_rate
	$(BIN)/python -m bench.fanout

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
