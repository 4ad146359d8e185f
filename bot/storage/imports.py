"""The SQL of the accounts-and-meters import: upserts into the bot's database, a batch at a time.

The stage (``bot.storage.import_stage``) is attached to the bot's database as ``stage``; every
batch is written in one transaction, so an import is all or nothing.
Accounts are matched by number, meters by (account, serial). Nothing here deletes a row, or
reads or writes ``readings``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

import aiosqlite

from bot.domain.models import Upserted
from bot.domain.moments import to_db
from bot.storage.db import Database
from bot.storage.import_stage import METER_FIELDS, ImportStage

BATCH_SIZE = 5_000  # staged rows per pair of upsert statements (and per progress report)

# The ids the tables have reached: rows above them after an upsert are the ones it created.
_LAST_IDS = """
SELECT (SELECT coalesce(max(id), 0) FROM main.accounts),
       (SELECT coalesce(max(id), 0) FROM main.meters)
"""

_CREATED_SINCE = """
SELECT (SELECT count(*) FROM main.accounts WHERE id > ?),
       (SELECT count(*) FROM main.meters WHERE id > ?)
"""

# the rows of one batch, leaving out (only when there are any) the lines in stage.skip
_BATCH = "r.rowid BETWEEN :first AND :last"
_NOT_SKIPPED = " AND r.line NOT IN (SELECT line FROM stage.skip)"

_STAGED = "SELECT count(*), coalesce(sum(r.first), 0) FROM stage.rows AS r WHERE {batch}"

# ("WHERE ... AND true": an upsert after INSERT ... SELECT needs a WHERE to parse.)
_UPSERT_ACCOUNTS = """
INSERT INTO main.accounts (number, phone, address, updated_at)
SELECT r.number, r.phone, r.address, :now FROM stage.rows AS r WHERE {batch} AND r.first
ON CONFLICT (number) DO UPDATE SET
    phone = excluded.phone, address = excluded.address, updated_at = excluded.updated_at
WHERE phone IS NOT excluded.phone OR address IS NOT excluded.address
"""

_UPSERT_METERS = f"""
INSERT INTO main.meters (account_id, serial, {", ".join(METER_FIELDS)})
SELECT a.id, r.serial, {", ".join(f"r.{name}" for name in METER_FIELDS)}
FROM stage.rows AS r JOIN main.accounts AS a ON a.number = r.number WHERE {{batch}} AND true
ON CONFLICT (account_id, serial) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in METER_FIELDS)}
WHERE {" OR ".join(f"{name} IS NOT excluded.{name}" for name in METER_FIELDS)}
"""


async def upsert_staged(
    conn: aiosqlite.Connection, first: int, last: int, now: str, *, skipping: bool
) -> Upserted:
    """Insert new accounts and meters, update changed ones (an account's updated_at = ``now``),
    from the stage's rows ``first``..``last`` (the stage attached as ``stage``), leaving out the
    lines in ``stage.skip``. An account is written from its first row in the file; its meters
    find it by number, in this batch or an earlier one. One statement a table: the work stays
    inside SQLite. Call inside a write transaction: the rows created are those above the ids
    the tables had reached before. ``skipping``: stage.skip holds lines.
    """
    batch = _BATCH + _NOT_SKIPPED if skipping else _BATCH
    span = {"first": first, "last": last}
    [[rows, accounts]] = await conn.execute_fetchall(_STAGED.format(batch=batch), span)
    if not rows:
        return Upserted(0, 0, 0, 0, 0, 0)
    [[last_account, last_meter]] = await conn.execute_fetchall(_LAST_IDS)
    # rowcount: the rows each statement inserted or updated itself, not its triggers' (a
    # changed phone ends the account's links, see migration 0004)
    cursor = await conn.execute(_UPSERT_ACCOUNTS.format(batch=batch), {**span, "now": now})
    accounts_changed = cursor.rowcount
    cursor = await conn.execute(_UPSERT_METERS.format(batch=batch), span)
    meters_changed = cursor.rowcount
    [[accounts_created, meters_created]] = await conn.execute_fetchall(
        _CREATED_SINCE, (last_account, last_meter)
    )
    return Upserted(
        rows, accounts, accounts_created, accounts_changed, meters_created, meters_changed
    )


async def _last_notice(conn: aiosqlite.Connection) -> int:
    """The id the notices have reached: the ones above it after an import are its own."""
    [[last]] = await conn.execute_fetchall("SELECT coalesce(max(id), 0) FROM main.notices")
    return int(last)


async def _notices_since(conn: aiosqlite.Connection, last: int) -> int:
    """Notices queued since ``last``: one per link a changed phone ended."""
    [[count]] = await conn.execute_fetchall(
        "SELECT count(*) FROM main.notices WHERE id > ?", (last,)
    )
    return int(count)


@asynccontextmanager
async def attached_stage(db: Database, expected_rows: int) -> AsyncIterator[ImportStage]:
    """A fresh stage, attached to the bot's database as ``stage`` and already without a name
    (every connection to it is open: no row ever sits under a name in TMPDIR)."""
    stage = await asyncio.to_thread(ImportStage, expected_rows)
    attached = False
    try:
        await db.execute("ATTACH DATABASE ? AS stage", (str(stage.path),))
        attached = True
        stage.unlink()
        yield stage
    finally:
        if attached:
            await db.execute("DETACH DATABASE stage")
        await asyncio.to_thread(stage.close)


async def load_staged(
    db: Database,
    stage: ImportStage,
    now: datetime,
    *,
    skipping: bool,
    done: Callable[[Upserted], None],
) -> int:
    """Upsert every staged row (see :func:`upsert_staged`) in one transaction, BATCH_SIZE rows a
    statement pair, calling ``done`` after each batch: a crash, a kill or an error on any batch
    leaves the database exactly as it was. Returns the links the import ended (a changed phone
    ends the account's links with a notice each: migration 0004's trigger)."""
    last, at = stage.last_row(), to_db(now)
    async with db.transaction() as conn:
        notices_before = await _last_notice(conn)
        for first in range(1, last + 1, BATCH_SIZE):
            batch = await upsert_staged(conn, first, first + BATCH_SIZE - 1, at, skipping=skipping)
            if batch.rows:
                done(batch)
        return await _notices_since(conn, notices_before)


class ImportRepository:
    """The import's writes as bot/services/importer sees them: a stage attached to the bot's
    database, then loaded into it in one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def attached_stage(self, expected_rows: int) -> AbstractAsyncContextManager[ImportStage]:
        return attached_stage(self.db, expected_rows)

    async def load_staged(
        self,
        stage: ImportStage,
        now: datetime,
        *,
        skipping: bool,
        done: Callable[[Upserted], None],
    ) -> int:
        return await load_staged(self.db, stage, now, skipping=skipping, done=done)
