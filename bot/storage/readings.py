"""Readings submitted through the bot: saving (idempotent, corrections: the transaction is
bot/storage/reading_saves.py), history, export, the operators' figures."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from bot.domain.models import (
    ExportRow,
    LastReading,
    PeriodCounts,
    RecentReading,
    SavedReading,
    StoredReading,
)
from bot.domain.moments import day_from_db, from_db, to_db
from bot.domain.periods import Period
from bot.storage.db import Database, Row
from bot.storage.reading_saves import READING_COLUMNS, save_reading, stored_reading

if TYPE_CHECKING:  # asyncpg is imported only where DATABASE_URL names PostgreSQL
    from bot.storage.postgres import PostgresDatabase


@lru_cache(maxsize=1024)
def _period(text: str) -> Period:
    return Period.parse(text)


# The export (SPEC §4): every current reading of a period, raw, in the CSV's order (the same
# bytes on both engines: accounts, then serials, in byte order).
_CURRENT_OF_PERIOD = """
SELECT a.number, m.serial, m.resource, r.period, r.t1, r.t2, r.t3, r.submitted_at, r.receipt
FROM readings AS r JOIN meters AS m ON m.id = r.meter_id JOIN accounts AS a ON a.id = m.account_id
WHERE r.period = :period AND r.replaced_at IS NULL ORDER BY {number}, {serial}
"""
EXPORT_CHUNK = 10_000  # rows per trip to the database thread
READ_BY_CHUNK = 50_000  # meter ids per query of the /stats chart's count (meters_read_by)

# The `gis` export (SPEC §4, §10): the same readings, with what ГИС ЖКХ knows a meter by.
_GIS_OF_PERIOD = """
SELECT a.address, m.gis_meter_number, m.resource, r.t1, r.t2, r.t3, r.submitted_at
FROM readings AS r JOIN meters AS m ON m.id = r.meter_id JOIN accounts AS a ON a.id = m.account_id
WHERE r.period = :period AND r.replaced_at IS NULL ORDER BY a.number, m.serial
"""

# PostgreSQL: the export's hashes and sort in memory, not spilled to disk at the default
# work_mem (4 MB): for a million readings ~110 and ~60 MB of hash and 65 MB of sort in each of
# its three processes (parallel plan), for that one query. A/B in docs/benchmarks.md (issue 11).
_EXPORT_SETTINGS = {"work_mem": "128MB"}


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


class ReadingRepository:
    def __init__(self, db: Database, *, outbox: bool = False) -> None:
        """`outbox`: every new reading also writes its event for the billing system (set
        when BILLING_WEBHOOK_URL is)."""
        self.db = db
        self._current_of_period = _CURRENT_OF_PERIOD.format(
            number=db.dialect.bytewise("a.number"), serial=db.dialect.bytewise("m.serial")
        )
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
        answered with that chat's reading (RequestKeyTaken); a meter closed meanwhile
        (replaced, or absent from a full snapshot) takes no new reading (MeterClosed). The
        checks, the replaced mark and the new row are one write transaction, so a second
        Confirm or an unlink cannot come between them.
        """
        return await save_reading(
            self.db,
            outbox=self.outbox,
            meter_id=meter_id,
            period=period,
            values=values,
            chat_id=chat_id,
            at=at,
            request_key=request_key,
            linked_account_id=linked_account_id,
        )

    async def by_request_key(self, request_key: str, *, chat_id: int) -> StoredReading | None:
        """The reading this chat saved under the key; another chat's is none of its business."""
        row = await self.db.fetchone(
            f"SELECT {READING_COLUMNS} FROM readings AS r"
            f" WHERE r.request_key = :key AND r.chat_id = :chat",
            {"key": request_key, "chat": chat_id},
        )
        return None if row is None else stored_reading(row)

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
            f"  SELECT {READING_COLUMNS},"
            f"    dense_rank() OVER (PARTITION BY r.meter_id ORDER BY r.period DESC) AS n"
            f"  FROM readings AS r JOIN meters AS m ON m.id = r.meter_id"
            f"  WHERE m.account_id = :account"
            f") AS h WHERE n <= :periods ORDER BY meter_id, period DESC, id DESC",
            {"account": account_id, "periods": periods},
        )
        return [stored_reading(row) for row in rows]

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
    ) -> AsyncGenerator[Sequence[Row], None]:
        """One row per meter with a current reading for the period (what the billing takes),
        ordered by account then serial, ``chunk`` rows at a time: an export streams them.
        A row's cells: account, serial, resource, period, t1, t2, t3, submitted_at as stored
        (see ``bot.domain.moments.to_db``), receipt. On PostgreSQL they come by COPY, as text
        (an empty cell for NULL), as the CSV writes them."""
        params = {"period": str(period)}
        if self.db.dialect.postgres:  # the cells come as text: as the CSV writes them
            copied = cast("PostgresDatabase", self.db).copy_text(
                self._current_of_period, params, chunk, settings=_EXPORT_SETTINGS
            )
            async with aclosing(copied):  # closed at once when the export stops early
                async for text_rows in copied:
                    yield text_rows
            return
        async with aclosing(self.db.stream(self._current_of_period, params, chunk)) as stream:
            async for rows in stream:
                yield rows

    async def gis_of_period(
        self, period: Period, chunk: int = EXPORT_CHUNK
    ) -> AsyncGenerator[Sequence[Row], None]:
        """The current readings of the period for ГИС ЖКХ, in the export's order, a chunk at a
        time: address, gis_meter_number (None when unknown), resource, t1, t2, t3,
        submitted_at as stored."""
        params = {"period": str(period)}
        async with aclosing(self.db.stream(_GIS_OF_PERIOD, params, chunk)) as stream:
            async for rows in stream:
                yield rows

    async def counts(self, period: Period) -> PeriodCounts:
        row = await self.db.fetchone(
            "SELECT"
            " (SELECT count(DISTINCT chat_id) FROM links) AS linked_chats,"
            " (SELECT count(*) FROM accounts WHERE closed_at IS NULL) AS accounts,"
            " (SELECT count(DISTINCT account_id) FROM links) AS linked_accounts,"
            " (SELECT count(*) FROM meters WHERE closed_at IS NULL) AS meters,"
            " (SELECT count(*) FROM readings WHERE period = :p AND replaced_at IS NULL)"
            "   AS meters_with_reading,"
            " (SELECT count(*) FROM readings WHERE period = :p) AS submissions,"
            " (SELECT count(*) FROM readings WHERE period = :p AND replaced_at IS NOT NULL)"
            "   AS corrections",
            {"p": str(period)},
        )
        assert row is not None
        return PeriodCounts(*(int(value) for value in row))

    async def meters_read_by(
        self, period: Period, moments: Sequence[datetime], *, chunk: int = READ_BY_CHUNK
    ) -> list[int]:
        """For each moment, how many meters had a reading for the period before it (their
        first submission, whether replaced since or not).

        Counted `chunk` meter ids at a time: on SQLite every read of the bot waits behind
        the one in hand on the reader connection, so a resident waits for one such slice
        (tens of ms at a million readings), not for the whole count (seconds).
        """
        if not moments:
            return []
        columns = ", ".join(
            f"sum(CASE WHEN first_at < :at{n} THEN 1 ELSE 0 END)" for n in range(len(moments))
        )
        sql = (
            f"SELECT {columns} FROM (SELECT min(submitted_at) AS first_at FROM readings"
            " WHERE period = :period AND meter_id >= :low AND meter_id < :high"
            " GROUP BY meter_id) AS firsts"
        )
        params: dict[str, Any] = {f"at{n}": to_db(m) for n, m in enumerate(moments)}
        params["period"] = str(period)
        top = int(await self.db.fetchval("SELECT coalesce(max(id), 0) FROM meters"))
        totals = [0] * len(moments)
        for low in range(0, top + 1, chunk):
            row = await self.db.fetchone(sql, {**params, "low": low, "high": low + chunk})
            assert row is not None
            # sum() over no rows is NULL
            totals = [total + int(value or 0) for total, value in zip(totals, row, strict=True)]
        return totals
