from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.db import Database
from bot.storage.engines import open_database
from tests.harness import BotHarness, fresh_database, start_harness

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
