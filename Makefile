# One command per job. The virtual environment is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPILED := $(VENV)/.compiled
SOURCES := $(shell find src/patron -name '*.py')

.PHONY: serve test lint format bench docs screenshots clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	PATRON_COMPILE=0 $(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The modules pyproject.toml lists under [tool.patron] compiled, built with mypyc beside their
# sources, so that what runs is what a `pip install .` ships. Built again whenever any source
# changes: compiled code holds the types of every module it was compiled against. With
# PATRON_COMPILE=0 nothing is compiled (run `make clean` after changing it).
$(COMPILED): $(STAMP) $(SOURCES)
	find src -name '*.so' -delete
	$(BIN)/python setup.py --quiet build_ext --inplace
	touch $(COMPILED)

serve: $(COMPILED)  ## migrate an SQLite database, load the demo org, serve on 127.0.0.1:8000
	$(BIN)/patron demo

test: $(COMPILED)  ## the whole suite: SQLite always, PostgreSQL when reachable (or PATRON_TEST_POSTGRES_URL)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench setup.py
	$(BIN)/ruff format --check src tests bench setup.py
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format src tests bench setup.py
	$(BIN)/ruff check --fix src tests bench setup.py

docs: $(COMPILED)  ## regenerate docs/errors.md, docs/org-config.md, and the generated tables of docs/operations.md and docs/observability.md
	$(BIN)/patron docs errors > docs/errors.md
	$(BIN)/patron org docs > docs/org-config.md
	$(BIN)/patron docs settings --update docs/operations.md
	$(BIN)/patron docs metrics --update docs/observability.md

screenshots: $(COMPILED)  ## regenerate docs/console/*.png from the console's browser tests (needs /usr/bin/chromium)
	mkdir -p docs/console
	PATRON_SCREENSHOTS=docs/console $(BIN)/pytest tests/console/test_browser.py -q -k sqlite

BENCH_CUSTOMERS ?= 1000000

bench: $(COMPILED)  ## load PostgreSQL (BENCH_CUSTOMERS) and SQLite, run patron against its anchors, write bench/results and docs/performance.md
	$(BIN)/python -m bench.run --customers $(BENCH_CUSTOMERS)

clean:
	find src -name '*.so' -delete
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache patron.db patron.db-*
