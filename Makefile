# Two entry points: `make demo` (build the bundled demo tutorial) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TUTORIAL := $(VENV)/bin/tutorial
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test lint pytest browser bench clean

# The package is installed editable in `compat` mode: a plain path in a .pth, no import
# hook (10 ms off every command's start); setuptools calls that mode transitional, so the
# install falls back to its default mode if it goes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat \
		|| $(PY) -m pip install --quiet -e '.[dev]'
	touch $@

## demo: build the bundled demo tutorial (Jot, a Flask app) into build/repo, verify every step, render its site
demo: $(STAMP)
	$(TUTORIAL) build
	$(TUTORIAL) status
	@# The steps' tests run in virtualenvs that `python -m venv` makes: this venv's python is on PATH.
	PATH="$(abspath $(VENV))/bin:$$PATH" $(TUTORIAL) verify
	$(VENV)/bin/mkdocs build --strict --quiet
	@echo
	@echo "The demo tutorial, Jot (a small Flask app in 7 chapters and 15 steps), is built:"
	@echo "  history:  build/repo, tags 1a 1b 2a 2b 3a 3b 4a 4b 5a 5b 5c 6a 6b 7a 7b"
	@echo "            try: git -C build/repo log --oneline --decorate"
	@echo "                 $(TUTORIAL) diff 3a 3b"
	@echo "  site:     site/index.html; serve it with: $(VENV)/bin/mkdocs serve  (then http://127.0.0.1:8000/)"
	@echo "  sources:  tutorial.yaml and chapters/ (the narratives are chapters/*/index.md)"

## test: lint, type-check and run the whole test suite
test: lint pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check tutorial_tools tests testing bench
	$(VENV)/bin/mypy

pytest: $(STAMP) browser
	$(PY) -m pytest -n 2 -q

## browser: Debian's Chromium, which the browser tests (tests/browser, Playwright) drive
browser:
	@test -x $(CHROMIUM) || { \
	  echo "$(CHROMIUM) is missing: installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

## bench: the benchmarks, with their figures
bench: $(STAMP)
	$(PY) bench/bench_foundation.py
	$(PY) bench/bench_rewrite.py
	$(PY) bench/bench_verify.py
	$(PY) bench/bench_render.py
	$(PY) bench/bench_site.py

clean:
	rm -rf build site .tutorial .pytest_cache .mypy_cache .ruff_cache
