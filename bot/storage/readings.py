"""Readings submitted through the bot: saving (idempotent, corrections), history, export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from bot.domain.models import (
    ChatNotLinked,
    ExportRow,
    LastReading,
    MeterGone,
    PeriodCounts,
    RecentReading,
    RequestKeyTaken,
    SavedReading,
    StoredReading,
)
from bot.domain.moments import day_from_db, from_db, to_db
from bot.domain.outbox import ACCEPTED, REPLACED, new_event_id
from bot.domain.periods import Period
from bot.storage.db import Database, Executor, IntegrityViolation, Row

_READING_COLUMNS = """
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
    EXISTS (SELECT 1 FROM readings WHERE meter_id = :meter_id AND period = :period) AS replaces
"""
_SAVED_BEFORE = f"""
SELECT {_READING_COLUMNS}, r.chat_id IS NOT DISTINCT FROM CAST(:chat_id AS BIGINT) AS own
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


# The export (SPEC §4): every current reading of a period, raw, in the CSV's order.
_CURRENT_OF_PERIOD = """
SELECT a.number, m.serial, m.resource, r.period, r.t1, r.t2, r.t3, r.submitted_at, r.receipt
FROM readings AS r JOIN meters AS m ON m.id = r.meter_id JOIN accounts AS a ON a.id = m.account_id
WHERE r.period = :period AND r.replaced_at IS NULL ORDER BY a.number, m.serial
"""
EXPORT_CHUNK = 10_000  # rows per trip to the database thread


@lru_cache(maxsize=1024)
def _period(text: str) -> Period:
    return Period.parse(text)


def receipt_number(reading_id: int, period: Period) -> str:
    """YYMM of the period, then the reading's id: unique, short, and readable over the phone."""
    return f"{period.year % 100:02d}{period.month:02d}-{reading_id:06d}"


def _values(row: Any) -> tuple[int, ...]:
    return tuple(v for v in (row["t1"], row["t2"], row["t3"]) if v is not None)


def _reading(row: Any) -> StoredReading:
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


def _export_row(row: Any) -> ExportRow:
    replaced = row["replaced_at"]
    return ExportRow(
        account=row["account"],
        serial=row["serial"],
        resource=row["resource"],
        period=Period.parse(row["period"]),
        values=(row["t1"], row["t2"], row["t3"]),
        submitted_at=from_db(row["submitted_at"]),
        receipt=row["receipt"],
        replaced_at=None if replaced is None else from_db(replaced),
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
    return SavedReading(_reading(row), duplicate=True)


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


class ReadingRepository:
    def __init__(self, db: Database, *, outbox: bool = False) -> None:
        """`outbox`: every new reading also writes its event for the billing system (set
        when BILLING_WEBHOOK_URL is)."""
        self.db = db
        self.outbox = outbox
        # per meter, the newest `per_meter` rows off the index: the cost does not grow with
        # the meter's history (a window over all of it did, ~1 ms at 200 periods). PostgreSQL
        # says it with LATERAL, which SQLite lacks; its plan for SQLite's form read every row
        # of the meters (12 ms an overview at 30 periods, bench/scaleout.py).
        wanted = f"WITH wanted (meter_id) AS ({db.dialect.json_ints('meters')})"
        newest = (
            "SELECT {columns} FROM readings WHERE meter_id = w.meter_id AND replaced_at IS NULL"
            " ORDER BY period DESC LIMIT :per_meter"
        )
        if db.dialect.postgres:
            self._recent = (
                f"{wanted} SELECT r.meter_id, r.period, r.t1, r.t2, r.t3, r.submitted_at"
                " FROM wanted AS w CROSS JOIN LATERAL ("
                + newest.format(columns="meter_id, period, t1, t2, t3, submitted_at")
                + ") AS r ORDER BY r.meter_id, r.period DESC"
            )
        else:
            self._recent = (
                f"{wanted} SELECT r.meter_id, r.period, r.t1, r.t2, r.t3, r.submitted_at"
                " FROM wanted AS w JOIN readings AS r ON r.id IN ("
                + newest.format(columns="id")
                + ") ORDER BY r.meter_id, r.period DESC"
            )

    async def save(
        self,
        *,
        meter_id: int,
        period: Period,
        values: Sequence[int],
        chat_id: int | None,
        at: datetime,
        request_key: str,
        linked_account_id: int | None = None,
    ) -> SavedReading:
        """Save a submission once per request key; an earlier one for the period is replaced.

        With `linked_account_id`, only while the chat is linked to that account (else
        ChatNotLinked, even for a key saved before); a key another chat saved is never
        answered with that chat's reading (RequestKeyTaken). The checks, the replaced mark
        and the new row are one write transaction, so a second Confirm or an unlink cannot
        come between them.
        """
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
        async with self.db.transaction() as tx:
            if tx.dialect.postgres:
                await tx.execute(_ONE_SAVE_OF_A_METER, params)
            checks = await tx.fetchone(_CHECKS, params)
            assert checks is not None
            if not checks["linked"]:
                raise ChatNotLinked(chat_id, linked_account_id)
            if checks["saved_id"] is not None:
                return await _saved_before(tx, checks["saved_id"], chat_id)
            if checks["replaces"]:
                await tx.execute(_MARK_REPLACED, params)
            reading_id, receipt = await _insert(tx, params, meter_id, period)
            if self.outbox:
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

    async def by_request_key(self, request_key: str, *, chat_id: int) -> StoredReading | None:
        """The reading this chat saved under the key; another chat's is none of its business."""
        row = await self.db.fetchone(
            f"SELECT {_READING_COLUMNS} FROM readings AS r"
            f" WHERE r.request_key = :key AND r.chat_id = :chat",
            {"key": request_key, "chat": chat_id},
        )
        return None if row is None else _reading(row)

    async def recent_current(
        self, meter_ids: Sequence[int], per_meter: int = 8
    ) -> dict[int, list[RecentReading]]:
        """The newest current (not replaced) readings of each meter, newest period first.

        Only what the checks of a new value need: this runs on every walk's first update,
        and a full StoredReading (its receipt, whether it replaced one) cost 0.56 ms for three
        meters against 0.16 ms for this.
        """
        found: dict[int, list[RecentReading]] = {meter_id: [] for meter_id in meter_ids}
        if not found:
            return {}
        rows = await self.db.fetchall(
            self._recent, {"meters": json.dumps(list(found)), "per_meter": per_meter}
        )
        for meter_id, period, t1, t2, t3, submitted_at in rows:
            values = (t1,) if t2 is None else (t1, t2) if t3 is None else (t1, t2, t3)
            found[meter_id].append(RecentReading(_period(period), values, from_db(submitted_at)))
        return found

    async def imported_last(self, meter_id: int) -> LastReading | None:
        """The last reading the billing system knows, as imported (not the bot's own)."""
        row = await self.db.fetchone(
            "SELECT tariffs, last_t1, last_t2, last_t3, last_date FROM meters WHERE id = :id",
            {"id": meter_id},
        )
        if row is None or row["last_t1"] is None:
            return None
        values = (row["last_t1"], row["last_t2"], row["last_t3"])[: row["tariffs"]]
        return LastReading(tuple(v or 0 for v in values), day_from_db(row["last_date"]))

    async def history(self, account_id: int, periods: int = 12) -> list[StoredReading]:
        """Every submission (replaced ones too) in each meter's last `periods` periods."""
        rows = await self.db.fetchall(
            f"SELECT * FROM ("
            f"  SELECT {_READING_COLUMNS},"
            f"    dense_rank() OVER (PARTITION BY r.meter_id ORDER BY r.period DESC) AS n"
            f"  FROM readings AS r JOIN meters AS m ON m.id = r.meter_id"
            f"  WHERE m.account_id = :account"
            f") AS h WHERE n <= :periods ORDER BY meter_id, period DESC, id DESC",
            {"account": account_id, "periods": periods},
        )
        return [_reading(row) for row in rows]

    async def all_of_account(self, account_id: int) -> list[ExportRow]:
        rows = await self.db.fetchall(
            "SELECT a.number AS account, m.serial, m.resource, r.period, r.t1, r.t2, r.t3,"
            " r.submitted_at, r.receipt, r.replaced_at"
            " FROM readings AS r JOIN meters AS m ON m.id = r.meter_id"
            " JOIN accounts AS a ON a.id = m.account_id"
            " WHERE a.id = :account ORDER BY m.serial, r.period, r.id",
            {"account": account_id},
        )
        return [_export_row(row) for row in rows]

    async def current_of_period(
        self, period: Period, chunk: int = EXPORT_CHUNK
    ) -> AsyncIterator[Sequence[Row]]:
        """One row per meter with a current reading for the period (what the billing takes),
        ordered by account then serial, ``chunk`` rows at a time: an export streams them.
        A row's cells: account, serial, resource, period, t1, t2, t3, submitted_at as stored
        (see ``bot.domain.moments.to_db``), receipt."""
        async for rows in self.db.stream(_CURRENT_OF_PERIOD, {"period": str(period)}, chunk):
            yield rows

    async def counts(self, period: Period) -> PeriodCounts:
        row = await self.db.fetchone(
            "SELECT"
            " (SELECT count(DISTINCT chat_id) FROM links) AS linked_chats,"
            " (SELECT count(*) FROM accounts) AS accounts,"
            " (SELECT count(DISTINCT account_id) FROM links) AS linked_accounts,"
            " (SELECT count(*) FROM meters) AS meters,"
            " (SELECT count(*) FROM readings WHERE period = :p AND replaced_at IS NULL)"
            "   AS meters_with_reading,"
            " (SELECT count(*) FROM readings WHERE period = :p) AS submissions,"
            " (SELECT count(*) FROM readings WHERE period = :p AND replaced_at IS NOT NULL)"
            "   AS corrections",
            {"p": str(period)},
        )
        assert row is not None
        return PeriodCounts(*(int(value) for value in row))
