"""The SQL of the accounts-and-meters import: upserts into the bot's database, a batch at a time.

The checked rows wait in the stage (``bot.storage.import_stage``, a scratch SQLite file). On
SQLite the stage is attached to the bot's database as ``stage`` and a batch is read from it in
place; on PostgreSQL each batch is first COPied from the stage into a temporary table. The same
statements then write a batch on both engines (`_Staged` says where they read it, and spells the
one operator the engines disagree on); the whole load is one transaction, so an import is all or
nothing. Accounts are matched by number, meters by (account, serial). Nothing here deletes a
row, or reads or writes ``readings``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from bot.domain.models import FullSnapshot, Loaded, Upserted
from bot.domain.moments import to_db
from bot.storage.db import Database, Executor, Row
from bot.storage.dialect import POSTGRESQL, SQLITE, Dialect
from bot.storage.import_stage import LOAD_COLUMNS, METER_FIELDS, ImportStage
from bot.storage.link_ends import end_links
from bot.storage.snapshot import COPIED_PAIRS_ADD, COPIED_PAIRS_TABLE, OPEN_ACCOUNTS, close_absent

if TYPE_CHECKING:  # asyncpg is imported only where DATABASE_URL names PostgreSQL
    from bot.storage.postgres import PostgresDatabase

BATCH_SIZE = 5_000  # staged rows per pair of upsert statements (and per progress report)

# The ids the tables have reached: rows above them after an upsert are the ones it created.
# (Only the import writes these tables; on PostgreSQL it locks them against another import.)
_LAST_IDS = """
SELECT (SELECT coalesce(max(id), 0) FROM accounts),
       (SELECT coalesce(max(id), 0) FROM meters)
"""

# A batch creates at most :most rows a table. "ORDER BY id LIMIT" keeps PostgreSQL on the
# primary key whatever it guesses of `id > :n` (mid-load, the tables have no statistics):
# counted from a scan of the whole table, a million-row load took 90 s more.
_CREATED_SINCE = """
SELECT (SELECT count(*) FROM
          (SELECT id FROM accounts WHERE id > :account ORDER BY id LIMIT :most) AS a),
       (SELECT count(*) FROM
          (SELECT id FROM meters WHERE id > :meter ORDER BY id LIMIT :most) AS m)
"""


@dataclass(frozen=True, slots=True)
class _Staged:
    """Where the statements read one batch's staged rows (as ``r``)."""

    table: str
    batch: str  # which of the table's rows are the batch's
    rid: str  # a row's place in the file: rows are written in file order
    differs: str  # `IS DISTINCT FROM`, which SQLite before 3.39 spells only `IS NOT`
    dialect: Dialect


# SQLite: a batch is a span of the attached stage's rowids, less (when there are any) the lines
# in stage.skip.
_ATTACHED = _Staged("stage.rows", "r.rowid BETWEEN :first AND :last", "rowid", "IS NOT", SQLITE)
_ATTACHED_SKIPPING = replace(
    _ATTACHED, batch=f"{_ATTACHED.batch} AND r.line NOT IN (SELECT line FROM stage.skip)"
)
# PostgreSQL: the temporary table holds one batch at a time, copied without the skipped lines.
_COPIED = _Staged("import_batch", "true", "rid", "IS DISTINCT FROM", POSTGRESQL)


@dataclass(frozen=True, slots=True)
class _Statements:
    staged: str  # the batch's rows, and accounts (their first rows)
    phone_changed: str  # accounts of the batch whose phone the file changes (see `end_links`)
    upsert_accounts: str
    upsert_meters: str
    replacing: str  # does the batch replace a meter at all (`replaces` given)
    replace_notices: str  # a notice to each chat linked to an account whose meter is replaced
    replace_meters: str  # close the meters the batch's rows replace


@cache
def _statements(s: _Staged) -> _Statements:
    changed = " OR ".join(f"meters.{name} {s.differs} excluded.{name}" for name in METER_FIELDS)
    # the open meter of the row's account that the row's meter replaces, as `o`
    rows_replacing = (
        f"FROM {s.table} AS r JOIN accounts AS a ON a.number = r.number"
        " JOIN meters AS o ON o.account_id = a.id AND o.serial = r.replaces"
    )
    replacing = f"{s.batch} AND r.replaces IS NOT NULL AND o.closed_at IS NULL"
    replaced = f"{rows_replacing} WHERE {replacing}"
    notice = s.dialect.json_object(
        "'account'", "a.number", "'old'", "o.serial", "'new'", "r.serial"
    )
    return _Statements(
        staged=f"SELECT count(*), coalesce(sum(r.first), 0) FROM {s.table} AS r WHERE {s.batch}",
        phone_changed=f"""
SELECT a.id FROM {s.table} AS r JOIN accounts AS a ON a.number = r.number
WHERE {s.batch} AND r.first = 1 AND a.phone <> r.phone""",
        # an account the file lists again is open again (a full snapshot had closed it)
        upsert_accounts=f"""
INSERT INTO accounts (number, phone, address, els, updated_at)
SELECT r.number, r.phone, r.address, r.els, :now FROM {s.table} AS r
WHERE {s.batch} AND r.first = 1 ORDER BY r.{s.rid}
ON CONFLICT (number) DO UPDATE SET
    phone = excluded.phone, address = excluded.address, els = excluded.els,
    updated_at = excluded.updated_at, closed_at = NULL
WHERE accounts.phone {s.differs} excluded.phone OR accounts.address {s.differs} excluded.address
    OR accounts.els {s.differs} excluded.els OR accounts.closed_at IS NOT NULL
""",
        # so is a meter, unless another replaced it: a billing system may go on listing the
        # old one, and the replacement must hold whichever row comes first
        upsert_meters=f"""
INSERT INTO meters (account_id, serial, {", ".join(METER_FIELDS)})
SELECT a.id, r.serial, {", ".join(f"r.{name}" for name in METER_FIELDS)}
FROM {s.table} AS r JOIN accounts AS a ON a.number = r.number
WHERE {s.batch} ORDER BY r.{s.rid}
ON CONFLICT (account_id, serial) DO UPDATE SET
    {", ".join(f"{name} = excluded.{name}" for name in METER_FIELDS)},
    closed_at = CASE WHEN meters.replaced_by IS NULL THEN NULL ELSE meters.closed_at END
WHERE {changed} OR (meters.closed_at IS NOT NULL AND meters.replaced_by IS NULL)
""",
        replacing=f"SELECT EXISTS (SELECT 1 {replaced})",
        replace_notices=f"""
INSERT INTO notices (chat_id, kind, args, created_at)
SELECT l.chat_id, 'meter-replaced', {notice}, :now
{rows_replacing} JOIN links AS l ON l.account_id = a.id WHERE {replacing}
ORDER BY r.{s.rid}, l.linked_at
""",
        replace_meters=f"""
UPDATE meters SET closed_at = :now, replaced_by = (
    SELECT n.id FROM {s.table} AS r
    JOIN accounts AS a ON a.number = r.number AND a.id = meters.account_id
    JOIN meters AS n ON n.account_id = a.id AND n.serial = r.serial
    WHERE {s.batch} AND r.replaces = meters.serial ORDER BY r.{s.rid} LIMIT 1)
WHERE id IN (SELECT o.id {replaced})
""",
    )


async def _one(tx: Executor, sql: str, params: dict[str, Any]) -> Row:
    row = await tx.fetchone(sql, params)
    assert row is not None, "an aggregate returns one row"
    return row


async def upsert_staged(tx: Executor, staged: _Staged, first: int, last: int, now: str) -> Upserted:
    """Insert new accounts and meters, update changed ones (an account's updated_at = ``now``),
    from the staged rows ``first``..``last`` that are not skipped, read where ``staged`` says.
    An account is written from its first row in the file; its meters find it by number, in this
    batch or an earlier one. One statement a table: the work stays inside the database. Call
    inside a write transaction: the rows created are those above the ids the tables had reached
    before."""
    sql, span = _statements(staged), {"first": first, "last": last}
    rows, accounts = await _one(tx, sql.staged, span)
    if not rows:
        return Upserted(0, 0, 0, 0, 0, 0)
    last_account, last_meter = await _one(tx, _LAST_IDS, {})
    changed = await tx.fetchall(sql.phone_changed, span)
    links_ended = await end_links(tx, [row[0] for row in changed], now)
    accounts_changed = await tx.execute(sql.upsert_accounts, {**span, "now": now})
    meters_changed = await tx.execute(sql.upsert_meters, span)
    accounts_created, meters_created = await _one(
        tx, _CREATED_SINCE, {"account": last_account, "meter": last_meter, "most": rows}
    )
    replaced = 0
    if await tx.fetchval(sql.replacing, span):
        await tx.execute(sql.replace_notices, {**span, "now": now})
        replaced = await tx.execute(sql.replace_meters, {**span, "now": now})
    return Upserted(
        int(rows),
        int(accounts),
        accounts_created,
        accounts_changed,
        meters_created,
        meters_changed,
        meters_replaced=replaced,
        links_ended=links_ended,
    )


def _summed(batches: list[Upserted], closed: Loaded | None) -> Loaded:
    """What the whole load did beyond its upserts: each batch's, and the snapshot's closing."""
    return replace(
        closed or Loaded(),
        links_ended=sum(batch.links_ended for batch in batches),
        meters_replaced=sum(batch.meters_replaced for batch in batches),
    )


# --- SQLite: the stage attached ---------------------------------------------------------------


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
    snapshot: FullSnapshot | None = None,
) -> Loaded:
    """Upsert every staged row (see :func:`upsert_staged`) in one transaction, BATCH_SIZE rows a
    statement pair, calling ``done`` after each batch: a crash, a kill or an error on any batch
    leaves the database exactly as it was. A changed phone ends the account's links with a
    notice each (`end_links`), a `replaces` closes the meter replaced; with ``snapshot`` what
    the file lacks is closed at the end (bot/storage/snapshot.py, which may refuse the whole
    load). ``skipping``: stage.skip holds lines."""
    last, at = stage.last_row(), to_db(now)
    staged = _ATTACHED_SKIPPING if skipping else _ATTACHED
    if snapshot is not None and skipping:
        raise ValueError("a full snapshot cannot leave lines out: they would be closed")
    batches: list[Upserted] = []
    async with db.transaction() as tx:
        open_before = int(await tx.fetchval(OPEN_ACCOUNTS))
        for first in range(1, last + 1, BATCH_SIZE):
            batch = await upsert_staged(tx, staged, first, first + BATCH_SIZE - 1, at)
            if batch.rows:
                batches.append(batch)
                done(batch)
        closed = None
        if snapshot is not None:
            closed = await close_absent(tx, snapshot, open_before, now)
    return _summed(batches, closed)


class ImportRepository:
    """The import's writes on SQLite: a stage attached to the bot's database, then loaded into
    it in one transaction."""

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
        snapshot: FullSnapshot | None = None,
    ) -> Loaded:
        return await load_staged(
            self.db, stage, now, skipping=skipping, done=done, snapshot=snapshot
        )


# --- PostgreSQL: each batch COPied from the stage ---------------------------------------------

# One batch of staged rows (import_stage.LOAD_COLUMNS after the rowid), typed as the columns
# they are written to; gone with the transaction, whichever way it ends.
_BATCH_TABLE = """
CREATE TEMPORARY TABLE import_batch (
    rid BIGINT, number TEXT, phone TEXT, address TEXT, serial TEXT, resource TEXT,
    tariffs INTEGER, digits INTEGER, verified_until TEXT, window_start INTEGER,
    window_end INTEGER, last_t1 BIGINT, last_t2 BIGINT, last_t3 BIGINT, last_date TEXT,
    gis_meter_number TEXT, els TEXT, replaces TEXT, first INTEGER
) ON COMMIT DROP
"""
_BATCH_COLUMNS = ("rid", *LOAD_COLUMNS)
# Another import (or anything writing accounts and meters) waits until this one ends: the
# counts of rows created rest on that, as on SQLite with its one writer. Reading, and linking a
# chat to an account, go on.
_LOCK_TABLES = "LOCK TABLE accounts, meters IN SHARE ROW EXCLUSIVE MODE"


@asynccontextmanager
async def nameless_stage(expected_rows: int) -> AsyncIterator[ImportStage]:
    """A fresh stage that only this process opens, without a name from the start."""
    stage = await asyncio.to_thread(ImportStage, expected_rows)
    try:
        stage.unlink()
        yield stage
    finally:
        await asyncio.to_thread(stage.close)


async def load_copied(
    db: PostgresDatabase,
    stage: ImportStage,
    now: datetime,
    *,
    done: Callable[[Upserted], None],
    snapshot: FullSnapshot | None = None,
) -> Loaded:
    """:func:`load_staged` on PostgreSQL: each batch of the stage's rowids (its skipped lines
    left out) is COPied into a temporary table, then upserted by the same statements; one
    transaction, the same calls of ``done``, the same outcome. A full snapshot keeps each
    batch's pairs (account, serial) to find what the file lacks at the end."""
    last, at = await asyncio.to_thread(stage.last_row), to_db(now)
    batches: list[Upserted] = []
    async with db.transaction() as tx:
        await tx.execute(_LOCK_TABLES)
        await tx.execute(_BATCH_TABLE)
        if snapshot is not None:
            await tx.execute(COPIED_PAIRS_TABLE)
        open_before = int(await tx.fetchval(OPEN_ACCOUNTS))
        for first in range(1, last + 1, BATCH_SIZE):
            span = (first, first + BATCH_SIZE - 1)
            rows = await asyncio.to_thread(stage.to_load, *span)
            if not rows:
                continue
            await tx.execute("TRUNCATE import_batch")
            await tx.copy_records("import_batch", _BATCH_COLUMNS, rows)
            if snapshot is not None:
                await tx.execute(COPIED_PAIRS_ADD)
            batch = await upsert_staged(tx, _COPIED, *span, at)
            if batch.rows:
                batches.append(batch)
                done(batch)
        closed = None
        if snapshot is not None:
            closed = await close_absent(tx, snapshot, open_before, now)
    return _summed(batches, closed)


class PostgresImportRepository:
    """The import's writes on PostgreSQL: a stage beside the database, then COPied into it a
    batch at a time, in one transaction."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def attached_stage(self, expected_rows: int) -> AbstractAsyncContextManager[ImportStage]:
        return nameless_stage(expected_rows)

    async def load_staged(
        self,
        stage: ImportStage,
        now: datetime,
        *,
        skipping: bool,
        done: Callable[[Upserted], None],
        snapshot: FullSnapshot | None = None,
    ) -> Loaded:
        # the skipped lines are left out as each batch is copied
        if snapshot is not None and skipping:
            raise ValueError("a full snapshot cannot leave lines out: they would be closed")
        return await load_copied(self.db, stage, now, done=done, snapshot=snapshot)


def import_repository(db: Database) -> ImportRepository | PostgresImportRepository:
    """The import's repository for the database's engine."""
    if db.dialect.postgres:
        return PostgresImportRepository(cast("PostgresDatabase", db))
    return ImportRepository(db)
