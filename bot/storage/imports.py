"""The SQL of the accounts-and-meters import: upserts into the bot's database, a batch at a time.

Takes the writer connection of ``Database.transaction()``, so a batch is one transaction.
Accounts are matched by number, meters by (account, serial). Nothing here deletes a row, or
reads or writes ``readings``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
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

_J = "json_extract(j.value, '$[{}]')"  # the n-th cell of a row of a JSON batch

# The ids the tables have reached: rows above them after an upsert are the ones it created.
_LAST_IDS = """
SELECT (SELECT coalesce(max(id), 0) FROM accounts), (SELECT coalesce(max(id), 0) FROM meters)
"""

_CREATED_SINCE = """
SELECT (SELECT count(*) FROM accounts WHERE id > ?), (SELECT count(*) FROM meters WHERE id > ?)
"""

# ("WHERE true": an upsert after INSERT ... SELECT needs a WHERE to parse.)
_UPSERT_ACCOUNTS = f"""
INSERT INTO accounts (number, phone, address, updated_at)
SELECT {_J.format(0)}, {_J.format(1)}, {_J.format(2)}, :now FROM json_each(:rows) AS j WHERE true
ON CONFLICT (number) DO UPDATE SET
    phone = excluded.phone, address = excluded.address, updated_at = excluded.updated_at
WHERE phone IS NOT excluded.phone OR address IS NOT excluded.address
"""

_UPSERT_METERS = f"""
INSERT INTO meters (account_id, serial, {", ".join(METER_FIELDS)})
SELECT a.id, {_J.format(1)}, {", ".join(_J.format(n + 2) for n in range(len(METER_FIELDS)))}
FROM json_each(:rows) AS j JOIN accounts AS a ON a.number = {_J.format(0)} WHERE true
ON CONFLICT (account_id, serial) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in METER_FIELDS)}
WHERE {" OR ".join(f"{name} IS NOT excluded.{name}" for name in METER_FIELDS)}
"""


@dataclass(frozen=True, slots=True)
class Upserted:
    """What one batch did: rows created, and rows changed (created or updated)."""

    accounts_created: int
    accounts_changed: int
    meters_created: int
    meters_changed: int


async def upsert_batch(
    conn: aiosqlite.Connection,
    accounts: Sequence[tuple[str, str, str | None]],
    meters: Sequence[tuple[Any, ...]],
    now: str,
) -> Upserted:
    """Insert new accounts and meters, update changed ones (an account's updated_at = ``now``).

    ``accounts``: (number, phone, address); ``meters``: (account number, serial,
    *METER_FIELDS), their accounts written before or in ``accounts``. Each table takes one
    statement, the rows travelling as one JSON array: the work stays inside SQLite, in C,
    without a trip through Python (and the GIL) per row. Call inside a write transaction:
    the rows created are those above the ids the tables had reached before.
    """
    [[last_account, last_meter]] = await conn.execute_fetchall(_LAST_IDS)
    before = conn.total_changes
    if accounts:
        await conn.execute(
            _UPSERT_ACCOUNTS,
            {"rows": json.dumps(accounts, ensure_ascii=False), "now": now},
        )
    accounts_changed = conn.total_changes - before
    before = conn.total_changes
    if meters:
        await conn.execute(_UPSERT_METERS, {"rows": json.dumps(meters, ensure_ascii=False)})
    meters_changed = conn.total_changes - before
    [[accounts_created, meters_created]] = await conn.execute_fetchall(
        _CREATED_SINCE, (last_account, last_meter)
    )
    return Upserted(accounts_created, accounts_changed, meters_created, meters_changed)
