from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh bot database (migrated, WAL) in the test's directory."""
    await fresh_database(tmp_path / "bot.sqlite3")
    database = await open_database(tmp_path / "bot.sqlite3")
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
