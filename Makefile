# The two commands a reader needs: `make test` and `make html`. Both create the
# local virtual environment `.venv` when it is missing and (re)install the project
# into it only when pyproject.toml has changed since the last install.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SPHINXOPTS ?=
PYTESTOPTS ?=

.PHONY: help test html serve clean bench lint format test-browser

help:
	@echo "make test          run the test suite (creates .venv on first use)"
	@echo "make html          build the book into _build/html (creates .venv on first use)"
	@echo "make serve         serve _build/html on http://127.0.0.1:8000"
	@echo "make test-browser  check the built book in headless Chromium (after make html)"
	@echo "make bench         print the benchmark table"
	@echo "make lint          ruff check and format check"
	@echo "make clean         remove _build/html (keeps the execution cache)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[docs]'
	touch $@

$(VENV)/.installed-browser: pyproject.toml | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test,browser]'
	touch $@

test: $(VENV)/.installed-test
	$(PY) -m pytest $(PYTESTOPTS)

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench.py

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .
