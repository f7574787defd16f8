# One entry point for every habit. Each target creates the virtualenv it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo test test-fast lint format bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[postgres,libsql,examples,dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) ## Create the database and fixtures, run the quick start, list the jobs
	bin/generate-projects
	bin/jobs list

test: $(STAMP) lint ## Lint, type-check and run the whole test suite
	$(BIN)/pytest

test-fast: $(STAMP) ## Run the tests, skipping the slow process tests
	$(BIN)/pytest -m "not slow"

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

format: $(STAMP) ## Format the code
	$(BIN)/ruff check --fix src tests bench examples
	$(BIN)/ruff format src tests bench examples

bench: $(STAMP) ## Run the benchmarks (SQLite, and PostgreSQL when reachable)
	$(BIN)/python -m bench

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) jobmill.db jobmill.db-wal jobmill.db-shm
