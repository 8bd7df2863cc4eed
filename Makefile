# The two commands a reader needs: `make test` and `make html`. Both create the
# local virtual environment `.venv` when it is missing and (re)install the project
# into it only when pyproject.toml has changed since the last install.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
SPHINXOPTS ?=
PYTESTOPTS ?=
# Test workers (pytest-xdist): `auto` is one per core; `make test TESTJOBS=0` runs in-process.
TESTJOBS ?= auto
# e.g. make bench BENCHOPTS="--quick --json bench.json" (see benchmarks/README.md)
BENCHOPTS ?=

.PHONY: help test html gettext serve clean bench lint format test-browser pdf lock

help:
	@echo "make test          run the test suite (creates .venv on first use)"
	@echo "make html          build the book into _build/html, the Chinese edition into _build/html/zh_CN"
	@echo "make gettext       after an English edit: update the Chinese catalogues in locales/"
	@echo "make serve         serve _build/html on http://127.0.0.1:8000"
	@echo "make test-browser  check the built book in headless Chromium (after make html)"
	@echo "make bench         print the benchmark table"
	@echo "make lint          ruff check and format check"
	@echo "make clean         remove _build/html (keeps the execution cache)"
	@echo "make pdf           build the book as _build/pdf/mathgrad.pdf (needs TeX: XeLaTeX)"
	@echo "make lock          refresh requirements/docs.txt, the pinned docs stack (UPGRADE=1: newest)"

# Checked before every command that needs it (one Python start-up): Python 3.11+ and its
# venv module first, with a one-line message if either is missing; a half-made .venv is
# removed and made again (tools/venv.sh).
$(PY): FORCE
	@sh tools/venv.sh "$(PYTHON)" "$(VENV)" "$(firstword $(MAKECMDGOALS))"

FORCE:

$(VENV)/.installed-test: pyproject.toml | $(PY)
	@echo "make: installing mathgrad and its test tools (pytest, hypothesis, pytest-xdist, ruff;"
	@echo "      14 packages) into $(VENV): about 1-2 minutes the first time, then only when"
	@echo "      pyproject.toml changes"
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

# The docs stack at the versions pinned in requirements/docs.txt (see `make lock`).
$(VENV)/.installed-docs: pyproject.toml requirements/docs.txt | $(PY)
	@echo "make: installing mathgrad and the book's tools (Sphinx, MyST-NB, the book theme,"
	@echo "      matplotlib, ipykernel; about 90 packages, at the versions pinned in"
	@echo "      requirements/docs.txt) into $(VENV): about 2-4 minutes the first time, then"
	@echo "      only when pyproject.toml or requirements/docs.txt changes"
	$(PY) -m pip install --disable-pip-version-check -q -c requirements/docs.txt -e '.[docs]'
	touch $@

$(VENV)/.installed-browser: pyproject.toml | $(PY)
	@echo "make: installing playwright and the test tools into $(VENV) (first use only)"
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test,browser]'
	touch $@ $(VENV)/.installed-test

# The package tests, plus the tests of the built book when _build/html exists
# (MATHGRAD_REQUIRE_BOOK=1 makes a missing build an error instead of a skip).
test: $(VENV)/.installed-test
	$(PY) -m pytest -m "not browser" -n $(TESTJOBS) --durations=10 $(PYTESTOPTS)

# Both editions, strict: any warning, broken reference (-n), failing cell or untranslated
# entry fails the build. tools/build_html.py runs the notebooks that are not in the
# execution cache (_build/.jupyter_cache, keyed by conf.py on the sources of mathgrad/, so
# a change there re-executes the book) in parallel, then builds English (_build/html) and
# Chinese (_build/html/zh_CN) at the same time from that cache. An incremental build
# would hide a previous failure (unchanged pages are not read again), so a failed build
# deletes its doctrees: the next `make html` re-reads every page and fails again until it
# is fixed. `make html SPHINXOPTS=-E` forces a full re-read; a fresh clone (CI) always does one.
html: $(VENV)/.installed-docs
	@echo "make: building the book, in English and in Chinese; a chapter runs its code again"
	@echo "      when it or mathgrad/ changed (the first build runs all of them: a minute or two)"
	$(PY) tools/build_html.py $(SPHINXOPTS)
	@echo "The book is in _build/html/index.html, the Chinese edition in _build/html/zh_CN/index.html (make serve to preview them)."

# After an English edit: extract the prose again (_build/gettext/*.pot) and merge it into
# locales/zh_CN/LC_MESSAGES/*.po. Changed paragraphs become fuzzy, new ones empty, removed
# ones obsolete (#~); tests/test_translation.py fails until each is translated.
gettext: $(VENV)/.installed-docs
	$(PY) -m sphinx -b gettext -c . docs _build/gettext -d _build/doctrees-gettext -W --keep-going -n -q
	$(VENV)/bin/sphinx-intl update -p _build/gettext -l zh_CN -d locales

serve:
	@test -f _build/html/index.html || { echo "No book yet: run make html first."; exit 1; }
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) -m http.server 8000 --bind 127.0.0.1 --directory _build/html

# Needs Chromium at /usr/bin/chromium (Debian's package `chromium`) and a built book.
test-browser: $(VENV)/.installed-browser
	@test -f _build/html/index.html || { echo "No book yet: run make html first."; exit 1; }
	MATHGRAD_REQUIRE_BROWSER=1 $(PY) -m pytest -m browser tests/test_browser.py $(PYTESTOPTS)

clean:
	rm -rf _build/html _build/doctrees _build/doctrees-zh_CN _build/doctrees-gettext _build/gettext _build/screenshots _build/latex _build/latex-zh_CN _build/doctrees-latex _build/doctrees-latex-zh_CN _build/pdf

bench: $(VENV)/.installed-test
	$(PY) benchmarks/bench.py $(BENCHOPTS)

lint: $(VENV)/.installed-test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed-test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# -- PDF and pinned versions (issue 12) ----------------------------------------------------

# The whole book as one PDF through Sphinx's LaTeX builder and XeLaTeX (tools/build_pdf.py:
# strict like `make html`, and it fails on any glyph missing from the fonts). Installs
# nothing: without TeX it prints the apt-get line to run.
pdf: $(VENV)/.installed-docs
	$(PY) tools/build_pdf.py _build/pdf

# requirements/docs.txt pins the docs stack for every build of the book (`make html`, Read
# the Docs, the GitHub workflow). It is written by uv from pyproject.toml's docs extra,
# for every platform and Python >= 3.11.7; existing pins are kept unless UPGRADE=1.
lock: $(VENV)/.installed-docs
	$(PY) -m pip install --disable-pip-version-check -q "uv>=0.13"
	$(PY) -m uv pip compile pyproject.toml --extra docs --universal --python-version 3.11.7 \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o requirements/docs.txt
