# One entry point for every habit. Each target creates the virtualenv it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := postgres,libsql,examples,docs,dev
# The exact releases the suite was run against (make lock re-resolves them);
# pyproject.toml keeps the package's own requirements as ranges.
LOCK := requirements/lock.txt
PIP_LOCKED := $(BIN)/pip install --quiet --constraint $(LOCK) --build-constraint $(LOCK)

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-fast lint format docs docs-serve screenshots package lock latest \
	mutation bench bench-quick bench-readme clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade --constraint $(LOCK) pip
	$(PIP_LOCKED) -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP) ## Create the database and fixtures, run the quick start, list the jobs
	bin/generate-projects
	bin/jobs list

test: $(STAMP) lint ## Lint, type-check and run the whole test suite
	$(BIN)/pytest

test-fast: $(STAMP) ## Run the tests, skipping the slow process tests
	$(BIN)/pytest -m "not slow"

lint: $(STAMP) ## ruff, mypy and the import layers (import-linter)
	$(BIN)/ruff check src tests bench examples scripts docs/hooks
	$(BIN)/ruff format --check src tests bench examples scripts docs/hooks
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Format the code
	$(BIN)/ruff check --fix src tests bench examples scripts docs/hooks
	$(BIN)/ruff format src tests bench examples scripts docs/hooks

docs: $(STAMP) ## Build the documentation site into site/ (warnings are errors)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

screenshots: $(STAMP) ## Retake the dashboard screenshots in docs/images (the browser test)
	DASHBOARD_SCREENSHOTS=$(CURDIR)/docs/images $(BIN)/pytest -q tests/test_dashboard_browser.py -k screenshots

docs-serve: $(STAMP) ## Serve the documentation on 127.0.0.1:8001, rebuilt on change
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

package: $(STAMP) ## Build the wheel and sdist, install each in a fresh virtualenv, smoke-test
	$(BIN)/python scripts/check_package.py

lock: $(STAMP) ## Re-resolve requirements/lock.txt to the newest releases the ranges allow
	$(PIP_LOCKED) uv
	$(BIN)/uv pip compile --quiet --upgrade --all-extras --python $(BIN)/python \
		--custom-compile-command "make lock" -o $(LOCK) pyproject.toml requirements/tools.in

# The modules that carry the guarantees; [tool.mutmut] in pyproject.toml names
# the fast tests run against each of their mutants (only those that reach it).
MODULES ?= jobmill.store.claims jobmill.store.record jobmill.store.dialects \
	jobmill.store.rounds jobmill.outcomes jobmill.states

mutation: $(STAMP) ## Mutation testing (mutmut) of the guarantee modules, survivors listed (MODULES="jobmill.states")
	$(PIP_LOCKED) mutmut
	CI=true $(BIN)/mutmut run --max-children 2 $(foreach m,$(MODULES),'$(m).*')
	$(BIN)/python scripts/mutation_summary.py $(MODULES)

latest: ## Run the suite against the newest releases and report (never fails)
	$(PYTHON) scripts/try_latest.py

# The benchmarks have a virtualenv of their own: jobmill (editable) and its peers.
BENCH_VENV := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): bench/requirements.txt bench/install.py pyproject.toml $(LOCK)
	$(PYTHON) bench/install.py
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) ## Benchmarks beside the peers and the raw limits (~25 min; ONLY="huey limits")
	$(BENCH_VENV)/bin/python -m bench $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

bench-quick: $(BENCH_STAMP) ## The same with smaller counts (a few minutes)
	$(BENCH_VENV)/bin/python -m bench --quick $(if $(ONLY),--only $(ONLY))

bench-readme: ## Copy bench/results/latest.md's tables into the README (FROM= another report)
	$(PYTHON) -m bench.readme $(FROM)

clean: ## Remove the virtualenvs, built files and local databases
	rm -rf $(VENV) .venv-latest $(BENCH_VENV) site dist jobmill.db jobmill.db-wal jobmill.db-shm
