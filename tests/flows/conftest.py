"""Fixtures several flow modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.smsru import FakeSmsRu


@pytest.fixture(autouse=True)
def _on_each_engine(engine: str) -> str:
    """Every flow runs on SQLite and on PostgreSQL (the `engine` fixture)."""
    return engine


@pytest.fixture
async def gateway() -> AsyncIterator[FakeSmsRu]:
    """A fake SMS.ru on loopback, taking the api_id the flows' senders use."""
    fake = FakeSmsRu(api_id="test-api-id")
    await fake.start()
    yield fake
    await fake.stop()
