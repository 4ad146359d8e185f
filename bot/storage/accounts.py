"""Accounts and their meters."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from bot.domain.models import Account, LastReading, Meter, Resource
from bot.domain.moments import day_from_db, from_db
from bot.storage.db import Database

_METER_COLUMNS = """
SELECT m.id, m.account_id, m.serial, m.resource, m.tariffs, m.digits, m.verified_until,
       m.window_start, m.window_end, m.last_t1, m.last_t2, m.last_t3, m.last_date,
       m.gis_meter_number, m.closed_at,
       r.t1 AS r_t1, r.t2 AS r_t2, r.t3 AS r_t3, r.submitted_at AS r_at, r.period AS r_period
FROM meters AS m
"""
# Each meter with its last current reading: at most one a period (the partial unique index
# readings_one_current on (meter_id, period)), so the newest period's is the one.
_METERS_WITH_LAST = (
    _METER_COLUMNS
    + """LEFT JOIN readings AS r ON r.id = (
    SELECT id FROM readings
    WHERE meter_id = m.id AND replaced_at IS NULL
    ORDER BY period DESC, id DESC LIMIT 1
)
"""
)
# PostgreSQL: the same reading read straight off that index (LATERAL, which SQLite lacks),
# not its id and then the row by the primary key: for three meters 14 buffers against 21, and
# 0.145 against 0.20 ms executing, warm (EXPLAIN ANALYZE, docs/benchmarks.md issue 11).
_PG_METERS_WITH_LAST = (
    _METER_COLUMNS
    + """LEFT JOIN LATERAL (
    SELECT t1, t2, t3, submitted_at, period FROM readings
    WHERE meter_id = m.id AND replaced_at IS NULL
    ORDER BY period DESC LIMIT 1
) AS r ON true
"""
)


# Closed accounts (absent from a full snapshot) are kept for their readings, but nobody links
# to them any more; their links ended when they closed.
_ACCOUNT = "SELECT id, number, phone, address, els FROM accounts"


def _account(row: Any) -> Account:
    return Account(
        id=row["id"],
        number=row["number"],
        phone=row["phone"],
        address=row["address"],
        els=row["els"],
    )


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def by_number(self, number: str) -> Account | None:
        row = await self.db.fetchone(
            f"{_ACCOUNT} WHERE number = :number AND closed_at IS NULL",
            {"number": number},
        )
        return None if row is None else _account(row)

    async def get(self, account_id: int) -> Account | None:
        row = await self.db.fetchone(f"{_ACCOUNT} WHERE id = :id", {"id": account_id})
        return None if row is None else _account(row)

    async def current_of_chat(self, chat_id: int) -> Account | None:
        """The chat's current account, in one query (the menu asks for it on every walk)."""
        row = await self.db.fetchone(
            "SELECT a.id, a.number, a.phone, a.address, a.els FROM chats AS c"
            " JOIN accounts AS a ON a.id = c.current_account_id WHERE c.chat_id = :chat_id",
            {"chat_id": chat_id},
        )
        return None if row is None else _account(row)

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT count(*) FROM accounts WHERE closed_at IS NULL"))


class MeterRepository:
    def __init__(self, db: Database, tz: tzinfo) -> None:
        self.db = db
        self.tz = tz
        self._with_last = _PG_METERS_WITH_LAST if db.dialect.postgres else _METERS_WITH_LAST

    def _meter(self, row: Any) -> Meter:
        tariffs = row["tariffs"]
        imported = None
        if row["last_t1"] is not None:
            values = (row["last_t1"], row["last_t2"], row["last_t3"])[:tariffs]
            imported = LastReading(
                values=tuple(v or 0 for v in values), taken_on=day_from_db(row["last_date"])
            )
        submitted = None
        if row["r_t1"] is not None:
            values = (row["r_t1"], row["r_t2"], row["r_t3"])[:tariffs]
            submitted = LastReading(
                values=tuple(v or 0 for v in values),
                taken_on=from_db(row["r_at"]).astimezone(self.tz).date(),
            )
        last = submitted or imported
        if submitted and imported and imported.taken_on and submitted.taken_on:
            # the billing system may know a newer reading (taken by a controller, say)
            last = imported if imported.taken_on > submitted.taken_on else submitted
        return Meter(
            id=row["id"],
            account_id=row["account_id"],
            serial=row["serial"],
            resource=Resource(row["resource"]),
            tariffs=tariffs,
            digits=row["digits"],
            verified_until=day_from_db(row["verified_until"]),
            window_start=row["window_start"],
            window_end=row["window_end"],
            last=last,
            submitted_period=row["r_period"],
            gis_meter_number=row["gis_meter_number"],
            closed=row["closed_at"] is not None,
        )

    async def of_account(self, account_id: int, *, with_closed: bool = False) -> list[Meter]:
        """The account's meters a resident reads; ``with_closed``: the replaced and closed ones
        too (their readings stay in the history)."""
        open_only = "" if with_closed else " AND m.closed_at IS NULL"
        rows = await self.db.fetchall(
            self._with_last
            + f" WHERE m.account_id = :account_id{open_only} ORDER BY m.resource, m.serial",
            {"account_id": account_id},
        )
        return [self._meter(row) for row in rows]

    async def get(self, meter_id: int) -> Meter | None:
        row = await self.db.fetchone(self._with_last + " WHERE m.id = :id", {"id": meter_id})
        return None if row is None else self._meter(row)

    async def count(self) -> int:
        return int(await self.db.fetchval("SELECT count(*) FROM meters WHERE closed_at IS NULL"))
