# One command per job. The virtual environment is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint format bench docs screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)  ## migrate an SQLite database, load the demo org, serve on 127.0.0.1:8000
	$(BIN)/patron demo

test: $(STAMP)  ## the whole suite: SQLite always, PostgreSQL when reachable (or PATRON_TEST_POSTGRES_URL)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

docs: $(STAMP)  ## regenerate docs/errors.md, docs/org-config.md, and the generated tables of docs/operations.md and docs/observability.md
	$(BIN)/patron docs errors > docs/errors.md
	$(BIN)/patron org docs > docs/org-config.md
	$(BIN)/patron docs settings --update docs/operations.md
	$(BIN)/patron docs metrics --update docs/observability.md

screenshots: $(STAMP)  ## regenerate docs/console/*.png from the console's browser tests (needs /usr/bin/chromium)
	mkdir -p docs/console
	PATRON_SCREENSHOTS=docs/console $(BIN)/pytest tests/console/test_browser.py -q -k sqlite

BENCH_CUSTOMERS ?= 1000000

bench: $(STAMP)  ## load PostgreSQL (BENCH_CUSTOMERS) and SQLite, run patron against its anchors, write bench/results and docs/performance.md
	$(BIN)/python -m bench.run --customers $(BENCH_CUSTOMERS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache patron.db patron.db-*
