"""The SQL of the accounts-and-meters import.

Two parts:

* :class:`ImportStaging`, a private temporary SQLite database (deleted when closed) that holds the
  rows that passed their own checks while the file is read. The checks across rows (a meter twice
  in one account, an account with two phones) run there as SQL, so memory stays flat however
  large the file is, and nothing touches the bot's database until the whole file is checked.
* the upserts into the bot's database, one batch per transaction: every function below takes
  the writer connection of ``Database.transaction()``. Nothing here deletes a row, and nothing
  here reads or writes ``readings``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
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
# One staged row: line, account, phone, address, serial, then METER_FIELDS.
STAGED_FIELDS = ("line", "account", "phone", "address", "serial", *METER_FIELDS)

MeterValues = tuple[Any, ...]  # the METER_FIELDS of one meter


class ImportStaging:
    """Rows of one import file that passed their own checks, in a throw-away database.

    Synchronous (stdlib ``sqlite3``): the importer fills it from a worker thread while it reads
    the file, then reads it back in batches. Not shared with anything else.
    """

    def __init__(self) -> None:
        # "" = a private temporary database on disk, removed when the connection closes.
        self._conn = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._conn.executescript(
            f"""
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            PRAGMA cache_size = -65536;
            CREATE TABLE staged (
                line INTEGER PRIMARY KEY,
                {", ".join(STAGED_FIELDS[1:])}  -- no types: values stay as Python gave them
            );
            CREATE TABLE first_rows (line INTEGER PRIMARY KEY);
            """
        )
        placeholders = ", ".join("?" * len(STAGED_FIELDS))
        self._insert = f"INSERT INTO staged VALUES ({placeholders})"

    def close(self) -> None:
        self._conn.close()

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.execute("BEGIN")
        self._conn.executemany(self._insert, rows)
        self._conn.execute("COMMIT")

    def duplicate_meters(self) -> Iterator[tuple[int, int, str, str]]:
        """(line, earlier line, account, serial) of every row whose meter came earlier."""
        return self._conn.execute(
            """
            SELECT line, first, account, serial FROM (
                SELECT line, account, serial,
                       min(line) OVER (PARTITION BY account, serial) AS first
                FROM staged
            ) WHERE line <> first ORDER BY line
            """
        )

    def account_conflicts(self) -> Iterator[tuple[int, int, str, bool, bool]]:
        """(line, account's first line, account, phone differs, address differs) of every row
        that disagrees with the first row of its account."""
        return self._conn.execute(
            """
            SELECT line, first_line, account,
                   phone <> first_phone, address IS NOT first_address
            FROM (
                SELECT line, account, phone, address,
                       first_value(line) OVER w AS first_line,
                       first_value(phone) OVER w AS first_phone,
                       first_value(address) OVER w AS first_address
                FROM staged
                WINDOW w AS (PARTITION BY account ORDER BY line)
            ) WHERE phone <> first_phone OR address IS NOT first_address
            ORDER BY line
            """
        )

    def drop(self, lines: Iterable[int]) -> None:
        self._conn.execute("BEGIN")
        self._conn.executemany("DELETE FROM staged WHERE line = ?", ((line,) for line in lines))
        self._conn.execute("COMMIT")

    def count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM staged").fetchone()[0])

    def mark_first_rows(self) -> None:
        """Remember each account's first row: the one that creates or updates the account."""
        self._conn.execute(
            "INSERT INTO first_rows SELECT min(line) FROM staged GROUP BY account ORDER BY 1"
        )

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        """Staged rows in file order, ``size`` at a time, each with a trailing flag:
        1 on the first row of its account (call :meth:`mark_first_rows` first)."""
        cursor = self._conn.execute(
            f"""
            SELECT {", ".join(f"s.{name}" for name in STAGED_FIELDS)}, f.line IS NOT NULL
            FROM staged AS s LEFT JOIN first_rows AS f ON f.line = s.line
            ORDER BY s.line
            """
        )
        while batch := cursor.fetchmany(size):
            yield batch


# --- the bot's database -----------------------------------------------------------------------

_EXISTING_ACCOUNTS = """
SELECT id, number, phone, address FROM accounts
WHERE number IN (SELECT value FROM json_each(:numbers))
"""

_UPSERT_ACCOUNT = """
INSERT INTO accounts (number, phone, address, updated_at)
VALUES (:number, :phone, :address, :now)
ON CONFLICT (number) DO UPDATE SET
    phone = excluded.phone, address = excluded.address, updated_at = excluded.updated_at
WHERE phone IS NOT excluded.phone OR address IS NOT excluded.address
"""

_ACCOUNT_IDS = """
SELECT id, number FROM accounts WHERE number IN (SELECT value FROM json_each(:numbers))
"""

_EXISTING_METERS = f"""
SELECT id, account_id, serial, {", ".join(METER_FIELDS)} FROM meters
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
    params = {"numbers": json.dumps(list(numbers))}
    async with conn.execute(_EXISTING_ACCOUNTS, params) as cur:
        return {row[1]: (row[0], row[2], row[3]) for row in await cur.fetchall()}


async def upsert_accounts(
    conn: aiosqlite.Connection, accounts: Iterable[tuple[str, str, str | None]], now: str
) -> None:
    """Insert new accounts, update changed ones (phone, address, updated_at = ``now``)."""
    await conn.executemany(
        _UPSERT_ACCOUNT,
        (
            {"number": number, "phone": phone, "address": address, "now": now}
            for number, phone, address in accounts
        ),
    )


async def account_ids(conn: aiosqlite.Connection, numbers: Iterable[str]) -> dict[str, int]:
    params = {"numbers": json.dumps(list(numbers))}
    async with conn.execute(_ACCOUNT_IDS, params) as cur:
        return {row[1]: row[0] for row in await cur.fetchall()}


async def existing_meters(
    conn: aiosqlite.Connection, ids: Iterable[int]
) -> dict[tuple[int, str], MeterValues]:
    """(account id, serial) → METER_FIELDS of every meter of those accounts."""
    params = {"ids": json.dumps(list(ids))}
    async with conn.execute(_EXISTING_METERS, params) as cur:
        return {(row[1], row[2]): tuple(row[3:]) for row in await cur.fetchall()}


async def upsert_meters(
    conn: aiosqlite.Connection, meters: Iterable[tuple[int, str, MeterValues]]
) -> None:
    """Insert new meters, update changed ones; (account id, serial) identifies a meter."""
    await conn.executemany(
        _UPSERT_METER, ((account_id, serial, *values) for account_id, serial, values in meters)
    )
