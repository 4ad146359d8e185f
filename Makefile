# Two commands matter: `make run` runs the bot, `make test` runs every test.
# Each creates .venv and installs what it needs on first use. While working: `make test-fast`
# (unit and flow tests, no processes, no waiting on the clock) and `make lint`.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3
VENV ?= $(ROOT).venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench lint format schema clean

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

# everything but the tests marked `slow` (tests/e2e, and any that waits on the clock), on every
# core (pytest-xdist): 44 -> 31 s here on two. `make test` stays in one process: its process
# tests time stops and kills, which a loaded machine would only make noisier.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n auto

bench: $(STAMP)
	$(PY) -m bench

# mypy: bot/, settings in pyproject.toml [tool.mypy]. vulture: at 60 % confidence, so unused
# functions, methods and attributes count, not only unused imports (pyproject.toml
# [tool.vulture]; what frameworks call by themselves is in vulture_whitelist.py).
lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/ruff format --check bot tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture

# after a change to bot/storage/schema.py: the files new databases are created from
schema: $(STAMP)
	$(PY) -m bot.storage.ddl

format: $(STAMP)
	$(VENV)/bin/ruff format bot tests bench
	$(VENV)/bin/ruff check --fix bot tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis
