"""The outbox in the database (bot/storage/outbox.py), on SQLite and on PostgreSQL: a Confirm's
event is written with the reading or not at all; claims by several dispatchers at once never
overlap and take only each meter's oldest waiting event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.models import ChatNotLinked
from bot.domain.periods import Period
from bot.storage.db import Database
from bot.storage.engines import open_database
from bot.storage.outbox import OutboxRepository
from bot.storage.readings import ReadingRepository
from tests.seed import M, add_account

pytestmark = pytest.mark.usefixtures("engine")

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PERIOD = Period(2026, 11)


async def meters(db: Database, count: int) -> list[int]:
    account = await add_account(
        db, "5012345678", "+79161234567", *(M(f"SN-{n}", "gas") for n in range(count))
    )
    rows = await db.fetchall(
        "SELECT id FROM meters WHERE account_id = :a ORDER BY id", {"a": account}
    )
    return [row[0] for row in rows]


async def save(readings: ReadingRepository, meter: int, value: int, key: str) -> None:
    await readings.save(
        meter_id=meter, period=PERIOD, values=(value,), chat_id=None, at=NOW, request_key=key
    )


async def test_the_event_is_written_with_the_reading_once_and_typed(db: Database) -> None:
    (meter,) = await meters(db, 1)
    readings = ReadingRepository(db, outbox=True)
    await save(readings, meter, 10, "a")
    await save(readings, meter, 10, "a")  # Confirm pressed again: nothing new
    await save(readings, meter, 11, "b")  # a correction
    rows = await db.fetchall("SELECT type, status FROM outbox ORDER BY id")
    assert [tuple(row) for row in rows] == [
        ("reading.accepted", "pending"),
        ("reading.replaced", "pending"),
    ]


async def test_a_refused_save_writes_no_event(db: Database) -> None:
    (meter,) = await meters(db, 1)
    with pytest.raises(ChatNotLinked):
        await ReadingRepository(db, outbox=True).save(
            meter_id=meter,
            period=PERIOD,
            values=(1,),
            chat_id=42,
            at=NOW,
            request_key="x",
            linked_account_id=1,
        )
    assert await db.fetchval("SELECT count(*) FROM outbox") == 0


async def test_two_dispatchers_claiming_at_once_share_the_heads_of_the_meters_queues(
    db: Database,
) -> None:
    ids = await meters(db, 30)
    readings = ReadingRepository(db, outbox=True)
    for n, meter in enumerate(ids):
        await save(readings, meter, 10, f"first-{n}")
        await save(readings, meter, 11, f"second-{n}")  # waits behind the first
    other = await open_database(db.url)
    try:
        first, second = await asyncio.gather(
            OutboxRepository(db).claim("one", NOW, NOW + timedelta(minutes=1), 20),
            OutboxRepository(other).claim("two", NOW, NOW + timedelta(minutes=1), 20),
        )
    finally:
        await other.close()
    one, two = {e.id for e in first}, {e.id for e in second}
    assert not one & two
    assert len(one | two) == 30  # every meter's first event, none of the corrections
    assert {e.type for e in [*first, *second]} == {"reading.accepted"}
    assert len({e.meter for e in [*first, *second]}) == 30
