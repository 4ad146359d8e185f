from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import BotHarness, start_harness


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    h = await start_harness(tmp_path)
    yield h
    await h.close()
