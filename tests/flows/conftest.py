"""Fixtures several flow modules share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What reaches asyncio's exception handler ("Task exception was never retrieved")."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    yield seen
    loop.set_exception_handler(before)
