# Two commands matter: `make run` runs the bot, `make test` runs every test.
# Each creates .venv and installs what it needs on first use.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3
VENV ?= $(ROOT).venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint format clean

$(STAMP): $(ROOT)pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '$(ROOT)[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot run

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/ruff format --check bot tests bench

format: $(STAMP)
	$(VENV)/bin/ruff format bot tests bench
	$(VENV)/bin/ruff check --fix bot tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
