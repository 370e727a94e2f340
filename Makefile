# Two entry points: `make demo` (build the bundled demo tutorial) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TUTORIAL := $(VENV)/bin/tutorial
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test lint pytest browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $@

## demo: build the bundled demo tutorial's history, show its status, verify its steps and build its site
demo: $(STAMP)
	$(TUTORIAL) build
	$(TUTORIAL) status
	PATH="$(abspath $(VENV))/bin:$$PATH" $(TUTORIAL) verify
	$(VENV)/bin/mkdocs build --strict --quiet
	@echo
	@echo "The demo's history is in build/repo (try: git -C build/repo log --oneline --decorate)."
	@echo "Its site is in site/ (serve it with: $(VENV)/bin/mkdocs serve)."

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
	$(PY) bench/bench_verify.py
	$(PY) bench/bench_site.py

clean:
	rm -rf build site .tutorial .pytest_cache .mypy_cache .ruff_cache
