"""Saving a reading: the one write transaction of a Confirm (the checks, the correction's
mark, the row, its receipt, and its event for the billing system), and the row's shape that
bot/storage/readings.py reads back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.models import (
    ChatNotLinked,
    MeterClosed,
    MeterGone,
    RequestKeyTaken,
    SavedReading,
    StoredReading,
)
from bot.domain.moments import from_db, to_db
from bot.domain.outbox import ACCEPTED, REPLACED, new_event_id
from bot.domain.periods import Period
from bot.storage.db import Database, Executor, IntegrityViolation

READING_COLUMNS = """
r.id, r.meter_id, r.period, r.t1, r.t2, r.t3, r.submitted_at, r.receipt, r.replaced_at,
EXISTS (
    SELECT 1 FROM readings AS p WHERE p.meter_id = r.meter_id AND p.period = r.period
    AND p.id < r.id
) AS replaces
"""

_LINKED = """(CAST(:account_id AS BIGINT) IS NULL
    OR EXISTS (SELECT 1 FROM links WHERE chat_id = :chat_id AND account_id = :account_id))"""

# The checks a submission passes, read inside the transaction that writes it (see save).
# The request key is UNIQUE across chats (72 random bits, made by the bot); what a key tells
# back (a receipt, a duplicate) is scoped to the chat that saved it.
_CHECKS = f"""
SELECT {_LINKED} AS linked,
    (SELECT id FROM readings WHERE request_key = :request_key) AS saved_id,
    EXISTS (SELECT 1 FROM readings WHERE meter_id = :meter_id AND period = :period) AS replaces,
    (SELECT closed_at IS NOT NULL FROM meters WHERE id = :meter_id) AS closed,
    (SELECT replaced_by IS NOT NULL FROM meters WHERE id = :meter_id) AS replaced
"""
_SAVED_BEFORE = f"""
SELECT {READING_COLUMNS}, r.chat_id IS NOT DISTINCT FROM CAST(:chat_id AS BIGINT) AS own
FROM readings AS r WHERE r.id = :id
"""
_MARK_REPLACED = """
UPDATE readings SET replaced_at = :at
WHERE meter_id = :meter_id AND period = :period AND replaced_at IS NULL
"""
# The receipt names the row's id, which the database gives on insert: the row goes in under a
# placeholder made of its request key (unique) and gets its receipt in the same transaction.
_INSERT = """
INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt, request_key)
VALUES (:meter_id, :period, :t1, :t2, :t3, :at, :chat_id, 'pending:' || :request_key,
    :request_key)
RETURNING id
"""
_SET_RECEIPT = "UPDATE readings SET receipt = :receipt WHERE id = :id"
# The reading's event for the billing system (SPEC §10), in the same transaction: its payload
# is read from the reading when it is sent (bot/storage/outbox.py).
_OUTBOX_EVENT = """
INSERT INTO outbox (event_id, type, reading_id, meter_id, created_at, next_at)
VALUES (:event_id, :type, :reading_id, :meter_id, :at, :at)
"""
# PostgreSQL: the saves of one meter one at a time, as SQLite's single writer has them anyway,
# so that a second Confirm of a key waits and then finds the first one's row, and two
# corrections never race for the current mark (READ COMMITTED reads afresh each statement).
_ONE_SAVE_OF_A_METER = "SELECT id FROM meters WHERE id = :meter_id FOR UPDATE"


def receipt_number(reading_id: int, period: Period) -> str:
    """YYMM of the period, then the reading's id: unique, short, and readable over the phone."""
    return f"{period.year % 100:02d}{period.month:02d}-{reading_id:06d}"


def _values(row: Any) -> tuple[int, ...]:
    return tuple(v for v in (row["t1"], row["t2"], row["t3"]) if v is not None)


def stored_reading(row: Any) -> StoredReading:
    replaced = row["replaced_at"]
    return StoredReading(
        id=row["id"],
        meter_id=row["meter_id"],
        period=Period.parse(row["period"]),
        values=_values(row),
        submitted_at=from_db(row["submitted_at"]),
        receipt=row["receipt"],
        replaced_at=None if replaced is None else from_db(replaced),
        replaces=bool(row["replaces"]),
    )


async def _insert(
    tx: Executor, params: dict[str, Any], meter_id: int, period: Period
) -> tuple[int, str]:
    """The new row and its receipt, inside the caller's transaction: (id, receipt)."""
    try:
        reading_id = await tx.fetchval(_INSERT, params)
    except IntegrityViolation as exc:
        if exc.kind == "foreign_key":
            raise MeterGone(meter_id) from exc
        raise
    receipt = receipt_number(reading_id, period)
    await tx.execute(_SET_RECEIPT, {"receipt": receipt, "id": reading_id})
    return reading_id, receipt


async def _saved_before(tx: Executor, reading_id: int, chat_id: int | None) -> SavedReading:
    """The reading a request key saved before, for the chat that saved it only."""
    row = await tx.fetchone(_SAVED_BEFORE, {"id": reading_id, "chat_id": chat_id})
    assert row is not None
    if not row["own"]:  # never another chat's receipt
        raise RequestKeyTaken(chat_id)
    return SavedReading(stored_reading(row), duplicate=True)


async def _write_event(
    tx: Executor, reading_id: int, meter_id: int, at: datetime, replaces: bool
) -> None:
    """The new reading's event for the billing system, inside the caller's transaction."""
    params = {
        "event_id": new_event_id(at),
        "type": REPLACED if replaces else ACCEPTED,
        "reading_id": reading_id,
        "meter_id": meter_id,
        "at": to_db(at),
    }
    await tx.execute(_OUTBOX_EVENT, params)


async def save_reading(
    db: Database,
    *,
    outbox: bool,
    meter_id: int,
    period: Period,
    values: Sequence[int],
    chat_id: int | None,
    at: datetime,
    request_key: str,
    linked_account_id: int | None = None,
) -> SavedReading:
    """ReadingRepository.save (its docstring says what it guarantees); `outbox`: the event
    for the billing system is written too."""
    t1, t2, t3 = (*values, None, None, None)[:3]
    stamp = to_db(at)
    params = {
        "meter_id": meter_id,
        "period": str(period),
        "t1": t1,
        "t2": t2,
        "t3": t3,
        "at": stamp,
        "chat_id": chat_id,
        "request_key": request_key,
        "account_id": linked_account_id,
    }
    async with db.transaction() as tx:
        if tx.dialect.postgres:
            await tx.execute(_ONE_SAVE_OF_A_METER, params)
        checks = await tx.fetchone(_CHECKS, params)
        assert checks is not None
        if not checks["linked"]:
            raise ChatNotLinked(chat_id, linked_account_id)
        if checks["saved_id"] is not None:
            return await _saved_before(tx, checks["saved_id"], chat_id)
        if checks["closed"]:  # replaced, or gone from the billing system's snapshot
            raise MeterClosed(meter_id, replaced=bool(checks["replaced"]))
        if checks["replaces"]:
            await tx.execute(_MARK_REPLACED, params)
        reading_id, receipt = await _insert(tx, params, meter_id, period)
        if outbox:
            await _write_event(tx, reading_id, meter_id, at, bool(checks["replaces"]))
    reading = StoredReading(
        id=reading_id,
        meter_id=meter_id,
        period=period,
        values=tuple(values),
        submitted_at=from_db(stamp),
        receipt=receipt,
        replaced_at=None,
        replaces=bool(checks["replaces"]),
    )
    return SavedReading(reading, duplicate=False)
