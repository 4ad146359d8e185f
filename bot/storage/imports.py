"""The SQL of the accounts-and-meters import: upserts into the bot's database, a batch at a time.

The stage (``bot.storage.import_stage``) is attached to the bot's database as ``stage``; every
batch is written in one transaction, so an import is all or nothing.
Accounts are matched by number, meters by (account, serial). Nothing here deletes a row, or
reads or writes ``readings``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

from bot.domain.models import Upserted
from bot.domain.moments import to_db
from bot.storage.db import Database, Executor, Row
from bot.storage.dialect import Dialect
from bot.storage.import_stage import METER_FIELDS, ImportStage

BATCH_SIZE = 5_000  # staged rows per pair of upsert statements (and per progress report)

# The ids the tables have reached: rows above them after an upsert are the ones it created.
_LAST_IDS = """
SELECT (SELECT coalesce(max(id), 0) FROM main.accounts),
       (SELECT coalesce(max(id), 0) FROM main.meters)
"""

_CREATED_SINCE = """
SELECT (SELECT count(*) FROM main.accounts WHERE id > :account),
       (SELECT count(*) FROM main.meters WHERE id > :meter)
"""

# Accounts of the batch whose phone the file changes (see `end_links`).
_PHONE_CHANGED = """
SELECT a.id FROM stage.rows AS r JOIN main.accounts AS a ON a.number = r.number
WHERE {batch} AND r.first AND a.phone <> r.phone
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


async def _one(tx: Executor, sql: str, params: dict[str, Any]) -> Row:
    row = await tx.fetchone(sql, params)
    assert row is not None, "an aggregate returns one row"
    return row


async def end_links(tx: Executor, accounts: list[int], now: str) -> None:
    """A changed phone ends the account's links (SPEC §5): each linked chat gets a notice,
    falls back to another linked account as its current one, and loses the link; a code sent
    to the old phone dies. The account's readings stay. Inside the caller's transaction,
    before the new phone is written."""
    if not accounts:
        return
    dialect: Dialect = tx.dialect
    changed = dialect.json_ints("accounts")
    params = {"accounts": json.dumps(accounts), "now": now}
    args = dialect.json_object("'account'", "a.number")
    await tx.execute(
        "INSERT INTO notices (chat_id, kind, args, created_at)"
        f" SELECT l.chat_id, 'phone-changed', {args},"
        " :now FROM links AS l JOIN accounts AS a ON a.id = l.account_id"
        f" WHERE l.account_id IN ({changed}) ORDER BY a.id, l.linked_at",
        params,
    )
    await tx.execute(
        "UPDATE chats SET current_account_id = ("
        "  SELECT l.account_id FROM links AS l WHERE l.chat_id = chats.chat_id"
        f"  AND l.account_id NOT IN ({changed}) ORDER BY l.linked_at LIMIT 1"
        f") WHERE current_account_id IN ({changed})",
        params,
    )
    await tx.execute(f"DELETE FROM links WHERE account_id IN ({changed})", params)
    await tx.execute(f"DELETE FROM otp_codes WHERE account_id IN ({changed})", params)


async def upsert_staged(
    tx: Executor, first: int, last: int, now: str, *, skipping: bool
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
    rows, accounts = await _one(tx, _STAGED.format(batch=batch), span)
    if not rows:
        return Upserted(0, 0, 0, 0, 0, 0)
    last_account, last_meter = await _one(tx, _LAST_IDS, {})
    changed = await tx.fetchall(_PHONE_CHANGED.format(batch=batch), span)
    await end_links(tx, [row[0] for row in changed], now)
    accounts_changed = await tx.execute(_UPSERT_ACCOUNTS.format(batch=batch), {**span, "now": now})
    meters_changed = await tx.execute(_UPSERT_METERS.format(batch=batch), span)
    accounts_created, meters_created = await _one(
        tx, _CREATED_SINCE, {"account": last_account, "meter": last_meter}
    )
    return Upserted(
        rows, accounts, accounts_created, accounts_changed, meters_created, meters_changed
    )


async def _last_notice(tx: Executor) -> int:
    """The id the notices have reached: the ones above it after an import are its own."""
    return int(await tx.fetchval("SELECT coalesce(max(id), 0) FROM notices"))


async def _notices_since(tx: Executor, last: int) -> int:
    """Notices queued since ``last``: one per link a changed phone ended."""
    return int(await tx.fetchval("SELECT count(*) FROM notices WHERE id > :last", {"last": last}))


@asynccontextmanager
async def attached_stage(db: Database, expected_rows: int) -> AsyncIterator[ImportStage]:
    """A fresh stage, attached to the bot's database as ``stage`` and already without a name
    (every connection to it is open: no row ever sits under a name in TMPDIR)."""
    stage = await asyncio.to_thread(ImportStage, expected_rows)
    attached = False
    try:
        await db.execute("ATTACH DATABASE :path AS stage", {"path": str(stage.path)})
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
    ends the account's links with a notice each: `end_links`)."""
    last, at = stage.last_row(), to_db(now)
    async with db.transaction() as tx:
        notices_before = await _last_notice(tx)
        for first in range(1, last + 1, BATCH_SIZE):
            batch = await upsert_staged(tx, first, first + BATCH_SIZE - 1, at, skipping=skipping)
            if batch.rows:
                done(batch)
        return await _notices_since(tx, notices_before)


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
