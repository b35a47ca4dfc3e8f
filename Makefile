# Two commands for a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs the project into it when it is missing or
# when pyproject.toml has changed since the last install.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
FIGURES := tools/figures
FIGURES_STAMP := $(FIGURES)/node_modules/.installed

.PHONY: demo tour test lint format bench figures figures-deps clean

demo: $(STAMP)
	$(BIN)/python -W error::DeprecationWarning tools/demo.py

# A guided tour of one part of the text, in one terminal (tools/tour/):
# `make tour` lists the parts, `make tour PART=14` runs one, and FAST=1
# (also yes or true; or TOUR_ARGS=--fast) shortens its long waits. FAST=0,
# or FAST unset, keeps the text's pace.
tour: $(STAMP)
	$(BIN)/python -W error::DeprecationWarning -m tools.tour $(if $(filter 1 yes true,$(FAST)),--fast) $(TOUR_ARGS) $(PART)

# trial over the tests package with our deprecation warnings as errors; the
# last line is "N passed, M failed" read from trial's own summary.
# Two trial workers (one per CPU, say) halve the time: every test uses its
# own ports and files. The diagrams' npm packages are installed first, from
# npm's cache only (never downloaded here); the tests use what is installed.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: $(STAMP)
	-@$(MAKE) -s figures-deps npm_config_offline=true >/dev/null 2>&1
	$(BIN)/python tools/trial_summary.py --jobs $(TEST_JOBS) tests

# The servers under load beside plain asyncio and uvloop (4 to 7 minutes; see
# bench/README.md). Options go through BENCH_ARGS, e.g.
#   make bench BENCH_ARGS="--json bench/results/run.json --only fastpoetry"
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Every ```mermaid block in docs/*.md parsed by Mermaid itself, under node
# (tools/figures/check.mjs); a diagram GitHub could not draw fails here.
figures: $(FIGURES_STAMP)
	node $(FIGURES)/check.mjs docs/*.md

# Only the npm install (the checker's tests ask `make -q figures-deps` whether
# it is up to date, and install nothing).
figures-deps: $(FIGURES_STAMP)

# ruff everywhere; mypy --strict on the typed edition only (modern/ and its
# plugin; the classic scripts stay as the text wrote them, untyped).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict modern/ twisted/plugins/modern_fastpoetry_plugin.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

# npm ci installs exactly the versions in package-lock.json, into a fresh
# node_modules (tools/figures/.npmrc keeps versions exact and npm quiet); it
# runs again whenever the lock file is newer than the install.
$(FIGURES_STAMP): $(FIGURES)/package-lock.json $(FIGURES)/package.json
	cd $(FIGURES) && npm ci
	touch $@

clean:
	rm -rf _trial_temp twisted/plugins/dropin.cache solutions/part-16/twisted/plugins/dropin.cache .ruff_cache .mypy_cache .hypothesis
