from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import tests.harness as harness_module
from bot.storage.db import Database
from bot.storage.engines import open_database
from tests.harness import BotHarness, fresh_database, start_harness
from tests.support.services import (
    RedisSpace,
    postgres_schema,
    postgres_url_under_test,
    redis_space,
    redis_url_under_test,
)

E2E = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/e2e is `slow`: each runs processes or servers and waits on them."""
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    h = await start_harness(tmp_path)
    yield h
    await h.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Each test that asks for it (tests/flows all do) runs twice: on a SQLite file in its
    directory, and on its own fresh schema of the PostgreSQL at TEST_POSTGRES_URL."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    async with postgres_schema(postgres_url_under_test()) as url:
        harness_module.engine_url = url
        try:
            yield url
        finally:
            harness_module.engine_url = None


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh bot database in the test's directory (or the engine fixture's schema)."""
    url = harness_module.database_url(tmp_path)
    if harness_module.engine_url is None:
        await fresh_database(tmp_path / "bot.sqlite3")
    database = await open_database(url)
    yield database
    await database.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[RedisSpace]:
    """The test's own key prefix on the Redis at TEST_REDIS_URL (its keys deleted after);
    skips when Redis does not answer, fails instead under REQUIRE_SERVICES=1."""
    async with redis_space(redis_url_under_test()) as space:
        yield space


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A URL selecting the test's own fresh schema on the PostgreSQL at TEST_POSTGRES_URL
    (dropped after); skips when it does not answer, fails instead under REQUIRE_SERVICES=1."""
    async with postgres_schema(postgres_url_under_test()) as url:
        yield url


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[str]]]:
    """The child processes a test starts (tests/support/children.py), killed after it."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()
