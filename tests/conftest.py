from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.db import Database
from tests.harness import BotHarness, start_harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    h = await start_harness(tmp_path)
    yield h
    await h.close()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh bot database (migrated, WAL) in the test's directory."""
    database = await Database.open(tmp_path / "bot.sqlite3")
    yield database
    await database.close()
