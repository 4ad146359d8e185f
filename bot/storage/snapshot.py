"""A full accounts snapshot (SPEC §10 `sync --full`): what the file lacks is closed, never
deleted; and the ETag of the snapshot fetched from BILLING_ACCOUNTS_URL.

Closing runs at the end of the import's transaction (bot/storage/imports.py), after every
batch was upserted, against the pairs (account, serial) the file held, in a temporary table:
on SQLite copied from the attached stage at the end (the stage, without a name, cannot be
written to), on PostgreSQL added to by each batch.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.models import FullSnapshot, Loaded, SnapshotTooSmall
from bot.domain.moments import to_db
from bot.storage.db import Database, Executor
from bot.storage.link_ends import end_links

# The file's pairs (number, serial). A sync never skips a line (a file with a bad row is
# refused whole), so on SQLite they are every staged row's.
PAIRS = "import_seen"
COPIED_PAIRS_TABLE = f"CREATE TEMPORARY TABLE {PAIRS} (number TEXT, serial TEXT) ON COMMIT DROP"
COPIED_PAIRS_ADD = f"INSERT INTO {PAIRS} SELECT number, serial FROM import_batch"
_STAGED_PAIRS = [
    f"CREATE TEMPORARY TABLE {PAIRS} AS SELECT number, serial FROM stage.rows",
    f"CREATE INDEX temp.{PAIRS}_pair ON {PAIRS} (number, serial)",
]
_COPIED_PAIRS = [f"CREATE INDEX ON {PAIRS} (number, serial)", f"ANALYZE {PAIRS}"]

OPEN_ACCOUNTS = "SELECT count(*) FROM accounts WHERE closed_at IS NULL"


async def close_absent(
    tx: Executor, snapshot: FullSnapshot, open_before: int, now: datetime
) -> Loaded:
    """Close every open account the file does not list, and every open meter it does not list
    (those of the closed accounts too); the links of a closed account end, each with a notice
    ('account-closed'). Refused with SnapshotTooSmall, before anything is closed, when more than
    ``snapshot.max_close_share`` of the ``open_before`` accounts would close, unless forced."""
    postgres = tx.dialect.postgres
    for statement in _COPIED_PAIRS if postgres else _STAGED_PAIRS:
        await tx.execute(statement)
    closed = await _close(tx, snapshot, open_before, to_db(now))
    if not postgres:  # PostgreSQL drops it at the commit
        await tx.execute(f"DROP TABLE temp.{PAIRS}")
    return closed


async def _close(tx: Executor, snapshot: FullSnapshot, open_before: int, at: str) -> Loaded:
    rows = await tx.fetchall(
        "SELECT a.id FROM accounts AS a WHERE a.closed_at IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {PAIRS} AS s WHERE s.number = a.number) ORDER BY a.id"
    )
    absent = [row[0] for row in rows]
    if not snapshot.force and open_before and len(absent) > snapshot.max_close_share * open_before:
        raise SnapshotTooSmall(len(absent), open_before, snapshot.max_close_share)
    links = await end_links(tx, absent, at, kind="account-closed")
    ids = tx.dialect.json_ints("accounts")
    params = {"accounts": json.dumps(absent), "now": at}
    accounts = 0
    if absent:
        accounts = await tx.execute(
            f"UPDATE accounts SET closed_at = :now WHERE id IN ({ids})", params
        )
    meters = await tx.execute(
        "UPDATE meters SET closed_at = :now WHERE closed_at IS NULL AND ("
        f" account_id IN ({ids}) OR NOT EXISTS ("
        f"  SELECT 1 FROM accounts AS a JOIN {PAIRS} AS s"
        "   ON s.number = a.number AND s.serial = meters.serial"
        "  WHERE a.id = meters.account_id))",
        params,
    )
    return Loaded(accounts_closed=accounts, meters_closed=meters, links_closed=links)


class SnapshotSourceRepository:
    """The ETag each snapshot URL last answered with (SPEC §10: an unchanged file is not read
    again)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def etag(self, url: str) -> str | None:
        etag = await self.db.fetchval(
            "SELECT etag FROM snapshot_sources WHERE url = :url", {"url": url}
        )
        return None if etag is None else str(etag)

    async def remember(self, url: str, etag: str | None, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO snapshot_sources (url, etag, fetched_at) VALUES (:url, :etag, :now)"
            " ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
            " fetched_at = excluded.fetched_at",
            {"url": url, "etag": etag, "now": to_db(now)},
        )
