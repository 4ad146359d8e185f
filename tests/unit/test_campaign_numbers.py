"""Announcements are numbered one after another, even when operators start them at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.storage.campaigns import CampaignRepository
from bot.storage.db import Database

pytestmark = pytest.mark.usefixtures("engine")

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def test_twenty_announcements_started_at_once_get_twenty_numbers(db: Database) -> None:
    campaigns = CampaignRepository(db)
    ids = await asyncio.gather(
        *(campaigns.create_broadcast({"text": f"n{n}"}, 100 + n, NOW) for n in range(20))
    )
    assert sorted(ids, key=lambda i: int(i.split(":")[1])) == [
        f"broadcast:{n}" for n in range(1, 21)
    ]
    stored = [await campaigns.get(i) for i in ids]
    assert {c.params["text"] for c in stored if c is not None} == {f"n{n}" for n in range(20)}
