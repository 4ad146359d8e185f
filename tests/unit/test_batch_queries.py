"""A reminder run reads and writes its chats a batch at a time; each batch's queries must cost
what the batch holds, not what the tables hold. On PostgreSQL `chat_id IN (subquery of the
JSON array)` was planned as the whole table joined against the array (a batch of 1,000 among
20,000 chats: 9 s to render, against 8 ms), which held a 500 msg/s run to under 200
(tests/e2e/test_replicas.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from bot.domain.campaigns import WindowRule
from bot.storage.db import Database
from bot.storage.deliveries import DeliveryRepository
from bot.storage.fsm import SqliteStorage
from bot.storage.recipients import RecipientRepository

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

CHATS = 10_000
FIRST = 9_000_000
BATCH = 1_000
NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
# a batch's share of a run at 500 msg/s is 2 s; the table-wide plans took seconds here
WITHIN = 1.0


async def link_chats(db: Database) -> list[int]:
    """CHATS chats, each linked to its own account with one cold-water meter."""
    stamp = NOW.isoformat()
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO accounts (number, phone, updated_at) VALUES (:number, :phone, :now)",
            [
                {"number": f"70{i:08d}", "phone": f"+7916{i:07d}", "now": stamp}
                for i in range(1, CHATS + 1)
            ],
        )
        for statement in (
            "INSERT INTO meters (account_id, serial, resource)"
            " SELECT id, 'CW-' || CAST(id AS TEXT), 'cold_water' FROM accounts",
            "INSERT INTO chats (chat_id, created_at) SELECT :first + id, :now FROM accounts",
            "INSERT INTO links (chat_id, account_id, linked_at)"
            " SELECT :first + id, id, :now FROM accounts",
        ):
            await tx.execute(statement, {"first": FIRST, "now": stamp})
    return [row[0] for row in await db.fetchall("SELECT chat_id FROM chats ORDER BY chat_id")]


async def test_rendering_a_batch_reads_only_its_chats(db: Database) -> None:
    chats = await link_chats(db)
    batch = chats[CHATS // 2 : CHATS // 2 + BATCH]
    recipients = RecipientRepository(db)
    rules = [WindowRule(None, None, None)]

    started = time.perf_counter()
    accounts = await recipients.accounts_of("opening", rules, batch)
    meters = await recipients.meters_of("opening", rules, batch)
    locales = await recipients.locales_of(batch)
    walking = await SqliteStorage(db).mid_walk(batch)  # the conversations kept in the database
    took = time.perf_counter() - started

    assert sorted(account.chat_id for account in accounts) == batch
    assert sorted(meter.chat_id for meter in meters) == batch
    assert sorted(locales) == batch and not walking
    assert took < WITHIN, f"{took:.2f} s for one batch among {CHATS} chats"


async def test_recording_a_batch_sent_touches_only_its_rows(db: Database) -> None:
    chats = await link_chats(db)
    deliveries = DeliveryRepository(db)
    await deliveries.create_campaign("opening:2026-01-15", "opening", {}, NOW)
    await deliveries.add_recipients("opening:2026-01-15", chats, NOW)
    claimed, _ = await deliveries.claim("opening:2026-01-15", CHATS, NOW, "run-1", 1)
    assert claimed == chats
    batch = chats[CHATS // 2 : CHATS // 2 + BATCH]

    started = time.perf_counter()
    await deliveries.apply(
        "opening:2026-01-15", [(chat_id, "sent", None) for chat_id in batch], "run-1", NOW
    )
    took = time.perf_counter() - started

    sent = await db.fetchval("SELECT count(*) FROM deliveries WHERE status = 'sent'")
    assert sent == BATCH
    assert took < WITHIN, f"{took:.2f} s to record one batch among {CHATS} claimed"
