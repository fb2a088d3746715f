# Every target bootstraps .venv from nothing: a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help test test-postgres demo lint typecheck migrations-check check clean bench bench-quick bench-redis

help:
	@echo "make test         run the test suite on SQLite (creates .venv on first use)"
	@echo "make demo         run the demo issuer and API on http://127.0.0.1:8000"
	@echo "make check        lint, type-check and the migrations guard"
	@echo "make clean        remove .venv and build artefacts"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py runserver 127.0.0.1:8000

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

migrations-check: $(STAMP)
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python -m django makemigrations --check --dry-run oauth_cc

check: lint typecheck migrations-check

clean:
	rm -rf $(VENV) build dist *.egg-info

bench:
	$(PYTHON) benchmarks/bootstrap.py

bench-quick:
	$(PYTHON) benchmarks/bootstrap.py --quick

# Django's Redis cache backend against oauth_cc's, on the Redis at REDIS_URL (default
# redis://127.0.0.1:6379/15). In the development virtualenv: it needs redis, not the peers.
bench-redis: $(STAMP)
	$(BIN)/python -m benchmarks.redis_cache --json benchmarks/results/redis.json
