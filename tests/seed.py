"""Accounts and meters put straight into the database for conversation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.storage.db import Database


@dataclass
class M:
    serial: str
    resource: str
    tariffs: int = 1
    digits: int | None = None
    last: tuple[int, ...] | None = None
    last_date: date | None = None
    verified_until: date | None = None
    window: tuple[int, int] | None = None


async def add_account(
    db: Database,
    number: str,
    phone: str,
    *meters: M,
    address: str | None = "г. Балашиха, ул. Ленина, д. 1, кв. 1",
) -> int:
    async with db.transaction() as conn:
        account_id: int | None = await conn.fetchval(
            "INSERT INTO accounts (number, phone, address, updated_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (number, phone, address, "2026-11-01T00:00:00+00:00"),
        )
        for m in meters:
            last = (m.last or ()) + (None, None, None)
            await conn.execute(
                "INSERT INTO meters (account_id, serial, resource, tariffs, digits, verified_until,"
                " window_start, window_end, last_t1, last_t2, last_t3, last_date)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account_id,
                    m.serial,
                    m.resource,
                    m.tariffs,
                    m.digits,
                    m.verified_until and m.verified_until.isoformat(),
                    m.window[0] if m.window else None,
                    m.window[1] if m.window else None,
                    last[0],
                    last[1],
                    last[2],
                    m.last_date and m.last_date.isoformat(),
                ),
            )
    assert account_id is not None
    return account_id
