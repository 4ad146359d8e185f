"""A full accounts snapshot (SPEC §10 `sync --full`): what the file lacks is closed, never
deleted; and the ETag of the snapshot fetched from BILLING_ACCOUNTS_URL.

Closing runs at the end of the import's transaction (bot/storage/imports.py), after every
batch was upserted, against the pairs (account, serial) the file held: on SQLite the attached
stage itself, on PostgreSQL a temporary table each batch adds its pairs to.
"""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.models import FullSnapshot, Loaded, SnapshotTooSmall
from bot.domain.moments import to_db
from bot.storage.db import Database, Executor
from bot.storage.link_ends import end_links

# Where the file's pairs (number, serial) are: SQLite reads the attached stage (a sync never
# skips a line: a file with a bad row is refused whole), PostgreSQL fills this table.
STAGE_PAIRS = "stage.rows"
COPIED_PAIRS = "import_seen"
COPIED_PAIRS_TABLE = (
    f"CREATE TEMPORARY TABLE {COPIED_PAIRS} (number TEXT, serial TEXT) ON COMMIT DROP"
)
COPIED_PAIRS_ADD = f"INSERT INTO {COPIED_PAIRS} SELECT number, serial FROM import_batch"

OPEN_ACCOUNTS = "SELECT count(*) FROM accounts WHERE closed_at IS NULL"


def _index(pairs: str) -> list[str]:
    """The statements that index the pairs before they are searched, per engine."""
    if pairs == STAGE_PAIRS:
        return ["CREATE INDEX stage.rows_pair ON rows (number, serial)"]
    return [f"CREATE INDEX ON {pairs} (number, serial)", f"ANALYZE {pairs}"]


async def close_absent(
    tx: Executor, pairs: str, snapshot: FullSnapshot, open_before: int, now: datetime
) -> Loaded:
    """Close every open account the file does not list, and every open meter it does not list
    (those of the closed accounts too); the links of a closed account end, each with a notice
    ('account-closed'). Refused with SnapshotTooSmall, before anything is closed, when more than
    ``snapshot.max_close_share`` of the ``open_before`` accounts would close, unless forced."""
    for statement in _index(pairs):
        await tx.execute(statement)
    rows = await tx.fetchall(
        "SELECT a.id FROM accounts AS a WHERE a.closed_at IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM {pairs} AS s WHERE s.number = a.number) ORDER BY a.id"
    )
    absent = [row[0] for row in rows]
    if not snapshot.force and open_before and len(absent) > snapshot.max_close_share * open_before:
        raise SnapshotTooSmall(len(absent), open_before, snapshot.max_close_share)
    at = to_db(now)
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
        f"  SELECT 1 FROM accounts AS a JOIN {pairs} AS s"
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
