"""The SQL of the accounts-and-meters import: upserts into the bot's database, a batch at a time.

Every function takes the writer connection of ``Database.transaction()``, so a batch is one
transaction, and makes one trip to the connection's thread. Accounts are matched by number,
meters by (account, serial). Nothing here deletes a row, or reads or writes ``readings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aiosqlite

# The meter's fields as the import writes them, in this order everywhere below.
METER_FIELDS = (
    "resource",
    "tariffs",
    "digits",
    "verified_until",
    "window_start",
    "window_end",
    "last_t1",
    "last_t2",
    "last_t3",
    "last_date",
)

MeterValues = tuple[Any, ...]  # the METER_FIELDS of one meter

_EXISTING_ACCOUNTS = """
SELECT id, number, phone, address FROM accounts
WHERE number IN (SELECT value FROM json_each(:numbers))
"""

_UPSERT_ACCOUNT = """
INSERT INTO accounts (number, phone, address, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (number) DO UPDATE SET
    phone = excluded.phone, address = excluded.address, updated_at = excluded.updated_at
WHERE phone IS NOT excluded.phone OR address IS NOT excluded.address
"""

_ACCOUNT_IDS = """
SELECT id, number FROM accounts WHERE number IN (SELECT value FROM json_each(:numbers))
"""

_EXISTING_METERS = f"""
SELECT account_id, serial, {", ".join(METER_FIELDS)} FROM meters
WHERE account_id IN (SELECT value FROM json_each(:ids))
"""

_UPSERT_METER = f"""
INSERT INTO meters (account_id, serial, {", ".join(METER_FIELDS)})
VALUES ({", ".join("?" * (2 + len(METER_FIELDS)))})
ON CONFLICT (account_id, serial) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in METER_FIELDS)}
WHERE {" OR ".join(f"{name} IS NOT excluded.{name}" for name in METER_FIELDS)}
"""


async def existing_accounts(
    conn: aiosqlite.Connection, numbers: Iterable[str]
) -> dict[str, tuple[int, str, str | None]]:
    """number → (id, phone, address) of those accounts that exist."""
    rows = await conn.execute_fetchall(_EXISTING_ACCOUNTS, {"numbers": json.dumps(list(numbers))})
    return {row[1]: (row[0], row[2], row[3]) for row in rows}


async def upsert_accounts(
    conn: aiosqlite.Connection, accounts: Iterable[tuple[str, str, str | None]], now: str
) -> None:
    """Insert new accounts, update changed ones (phone, address, updated_at = ``now``)."""
    await conn.executemany(
        _UPSERT_ACCOUNT, [(number, phone, address, now) for number, phone, address in accounts]
    )


async def account_ids(conn: aiosqlite.Connection, numbers: Iterable[str]) -> dict[str, int]:
    rows = await conn.execute_fetchall(_ACCOUNT_IDS, {"numbers": json.dumps(list(numbers))})
    return {row[1]: row[0] for row in rows}


async def existing_meters(
    conn: aiosqlite.Connection, ids: Iterable[int]
) -> dict[tuple[int, str], MeterValues]:
    """(account id, serial) → METER_FIELDS of every meter of those accounts."""
    rows = await conn.execute_fetchall(_EXISTING_METERS, {"ids": json.dumps(list(ids))})
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


async def upsert_meters(
    conn: aiosqlite.Connection, meters: Iterable[tuple[int, str, MeterValues]]
) -> None:
    """Insert new meters, update changed ones; (account id, serial) identifies a meter."""
    await conn.executemany(
        _UPSERT_METER, [(account_id, serial, *values) for account_id, serial, values in meters]
    )
