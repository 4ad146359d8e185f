"""The per-chat deliveries of a campaign: recorded, claimed by a run, settled (SQL only).

Every query here works in batches: a campaign of a million chats costs a few hundred
statements, not millions. Who a campaign goes to is bot/storage/recipients.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.moments import from_db, to_db
from bot.storage.campaigns import CampaignRepository, hold_campaign
from bot.storage.db import Database, Executor
from bot.storage.dialect import SQLITE, Dialect

__all__ = ["DeliveryRepository", "Retrying"]


@dataclass(frozen=True, slots=True)
class Retrying:
    """A claimed delivery's past: passing failures so far, since when, and since when it has
    been held back (a resident in the middle of a submission walk)."""

    attempts: int
    failing_since: datetime | None
    deferred_since: datetime | None


_REOPEN = "UPDATE campaigns SET finished_at = NULL WHERE id = :campaign"

# PostgreSQL: the due rows taken FOR UPDATE SKIP LOCKED, so a second run (another replica)
# passes over them instead of waiting for them and claiming them again.
_CLAIM_POSTGRES = """
UPDATE deliveries SET status = 'claimed', owner = :run, batch = :batch, updated_at = :now
WHERE campaign = :campaign AND chat_id IN (
    SELECT chat_id FROM deliveries WHERE campaign = :campaign AND status = 'pending'
    AND (retry_at IS NULL OR retry_at <= :now) ORDER BY chat_id LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
RETURNING chat_id, attempts, failing_since, deferred_since
"""

# SQLite (one writer at a time): the chats travel as one JSON array, not a row each: every row
# fetched is a trip through the GIL for the database thread, and the sending thread holds it.
_CLAIMABLE_SQLITE = """
SELECT json_group_array(chat_id),
    json_group_array(json_array(chat_id, attempts, failing_since, deferred_since))
    FILTER (WHERE attempts > 0 OR deferred_since IS NOT NULL)
FROM (SELECT chat_id, attempts, failing_since, deferred_since FROM deliveries
    WHERE campaign = :campaign AND status = 'pending'
    AND (retry_at IS NULL OR retry_at <= :now) ORDER BY chat_id LIMIT :limit)
"""
_CLAIM_SQLITE = f"""
UPDATE deliveries SET status = 'claimed', owner = :run, batch = :batch, updated_at = :now
WHERE campaign = :campaign AND status = 'pending' AND chat_id IN ({SQLITE.json_ints("chats")})
"""


async def _claim_sqlite(tx: Executor, params: dict[str, Any]) -> tuple[list[int], list[Any]]:
    row = await tx.fetchone(_CLAIMABLE_SQLITE, params)
    assert row is not None
    claimed, history = row
    if claimed != "[]":
        await tx.execute(_CLAIM_SQLITE, {**params, "chats": claimed})
    return sorted(json.loads(claimed)), json.loads(history or "[]")


def _other_changes(dialect: Dialect) -> str:
    """Changes but 'sent' as one statement. The changes as a materialised table, each looked
    up by primary key: a plain FROM json_each(...) lets SQLite scan the whole campaign for
    each change."""
    changes = dialect.json_rows(
        "changes", ("chat_id", "BIGINT"), ("change", "TEXT"), ("retry_at", "TEXT")
    )
    return (
        f"WITH c AS MATERIALIZED ({changes})"
        " UPDATE deliveries SET"
        " status = CASE WHEN c.change IN ('retry', 'defer') THEN 'pending'"
        "  ELSE c.change END,"
        " owner = NULL, batch = NULL,"
        " attempts = attempts + CASE WHEN c.change = 'retry' THEN 1 ELSE 0 END,"
        " failing_since = CASE WHEN c.change = 'retry'"
        "  THEN coalesce(failing_since, :now) ELSE failing_since END,"
        " deferred_since = CASE WHEN c.change = 'defer'"
        "  THEN coalesce(deferred_since, :now) ELSE deferred_since END,"
        " retry_at = c.retry_at, updated_at = :now"
        " FROM c WHERE deliveries.campaign = :campaign"
        " AND deliveries.chat_id = c.chat_id"
        f" AND {dialect.unindexed('deliveries.owner')} = :run"
        f" AND {dialect.unindexed('deliveries.status')} = 'claimed'"
    )


class DeliveryRepository(CampaignRepository):
    """A campaign's rows (`CampaignRepository`) and its deliveries, one per chat."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        dialect = db.dialect
        self._chats = dialect.json_ints("chats")
        self._among = dialect.among_ints("chat_id", "chats")  # by the index, not a scan
        self._runs = dialect.json_texts("runs")
        self._other_changes = _other_changes(dialect)

    async def add_recipients(self, campaign_id: str, chat_ids: Sequence[int], now: datetime) -> int:
        """Pending rows for these chats; a chat already in the campaign keeps its row."""
        if not chat_ids:
            return 0
        params = {"campaign": campaign_id, "chats": json.dumps(list(chat_ids)), "now": to_db(now)}
        async with self.db.transaction() as tx:
            await hold_campaign(tx, campaign_id)
            # ("WHERE true": an upsert after INSERT ... SELECT needs a WHERE to parse on SQLite)
            added = await tx.execute(
                f"WITH c (chat_id) AS ({self._chats})"
                " INSERT INTO deliveries (campaign, chat_id, updated_at)"
                " SELECT :campaign, chat_id, :now FROM c WHERE true ON CONFLICT DO NOTHING",
                params,
            )
            if added:  # something is pending again
                await tx.execute(_REOPEN, params)
            return added

    async def claim(
        self, campaign_id: str, limit: int, now: datetime, run: str, batch: int
    ) -> tuple[list[int], dict[int, Retrying]]:
        """Mark up to `limit` due pending rows 'claimed' by `run` as its `batch`; their chats in
        chat order, and what came before for those tried or held back already.

        Atomic, so two runs of the same campaign (the bot and `send-reminders`, or two
        replicas) never claim the same chat: on SQLite the write transaction is the only one;
        on PostgreSQL the rows are taken FOR UPDATE SKIP LOCKED. Due: no `retry_at`, or one
        that has come. The run is registered with its first claim, so a later run can tell
        its rows apart if it dies.
        """
        params = {
            "campaign": campaign_id,
            "now": to_db(now),
            "limit": limit,
            "run": run,
            "batch": batch,
        }
        async with self.db.transaction() as tx:
            if self.db.dialect.postgres:
                rows = await tx.fetchall(_CLAIM_POSTGRES, params)
                claimed = sorted(row[0] for row in rows)
                history = [tuple(row) for row in rows if row[1] > 0 or row[3] is not None]
            else:
                claimed, history = await _claim_sqlite(tx, params)
            if claimed:
                await tx.execute(
                    "INSERT INTO delivery_runs (run, campaign) VALUES (:run, :campaign)"
                    " ON CONFLICT (run) DO NOTHING",
                    params,
                )
        before = {
            row[0]: Retrying(row[1], row[2] and from_db(row[2]), row[3] and from_db(row[3]))
            for row in history
        }
        return claimed, before

    async def mark(self, run: str, batch: int, started_through: int) -> None:
        """Before their requests go out: in `batch`, the chats up to this one may be sent."""
        await self.db.execute(
            "UPDATE delivery_runs SET batch = :batch, started_through = :through WHERE run = :run",
            {"batch": batch, "through": started_through, "run": run},
        )

    async def apply(
        self,
        campaign_id: str,
        changes: Sequence[tuple[int, str, datetime | None]],
        run: str,
        now: datetime,
    ) -> None:
        """What became of each chat's delivery, given as (chat, change, retry_at).

        Changes: a final status, 'pending' (handed back unsent), 'retry' (failed for a passing
        reason: pending again from `retry_at`, one more attempt), 'defer' (held back: pending
        again from `retry_at`). A blocked chat is marked inactive too. Only rows this run
        holds change, so a row resolved by another run is left alone.
        """
        if not changes:
            return
        stamp = to_db(now)
        sent = [chat_id for chat_id, change, _ in changes if change == "sent"]
        other = [
            (chat_id, change, None if at is None else to_db(at))
            for chat_id, change, at in changes
            if change != "sent"
        ]
        statements: list[tuple[str, dict[str, Any]]] = []
        if sent:  # the common case, as plain as it gets
            statements.append(
                (
                    "UPDATE deliveries SET status = 'sent', owner = NULL, batch = NULL,"
                    " retry_at = NULL, updated_at = :now WHERE campaign = :campaign"
                    f" AND {self._among} AND owner = :run AND status = 'claimed'",
                    {"now": stamp, "campaign": campaign_id, "chats": json.dumps(sent), "run": run},
                )
            )
        if other:
            params = {"now": stamp, "campaign": campaign_id, "changes": json.dumps(other)}
            statements.append((self._other_changes, {**params, "run": run}))
        blocked = [chat_id for chat_id, change, _ in changes if change == "blocked"]
        if blocked:
            statements.append(
                (
                    f"UPDATE chats SET active = 0 WHERE {self._among}",
                    {"chats": json.dumps(blocked)},
                )
            )
        if len(statements) == 1:
            await self.db.execute(*statements[0])
            return
        async with self.db.transaction() as tx:
            for sql, values in statements:
                await tx.execute(sql, values)

    async def end_run(self, run: str) -> None:
        """The run is over and holds nothing any more."""
        await self.db.execute("DELETE FROM delivery_runs WHERE run = :run", {"run": run})

    async def runs(self, campaign_id: str) -> list[str]:
        """The runs that hold (or held, and died holding) rows of the campaign."""
        rows = await self.db.fetchall(
            "SELECT run FROM delivery_runs WHERE campaign = :campaign", {"campaign": campaign_id}
        )
        return [row[0] for row in rows]

    async def resolve_abandoned(
        self, campaign_id: str, runs: Sequence[str], now: datetime
    ) -> tuple[int, int]:
        """Rows of dead runs: those whose request may have gone out (at or below the run's
        mark, or of an earlier batch) 'unknown', the others pending again, never sent.
        Returns (pending again, unknown)."""
        if not runs:
            return 0, 0
        params = {"runs": json.dumps(list(runs)), "campaign": campaign_id, "now": to_db(now)}
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT count(*) FILTER (WHERE NOT gone), count(*) FILTER (WHERE gone) FROM ("
                " SELECT d.batch < r.batch OR (d.batch = r.batch"
                "  AND d.chat_id <= coalesce(r.started_through, -1)) AS gone"
                " FROM delivery_runs AS r JOIN deliveries AS d"
                "  ON d.campaign = r.campaign AND d.owner = r.run AND d.status = 'claimed'"
                f" WHERE r.run IN ({self._runs}) AND r.campaign = :campaign) AS claims",
                params,
            )
            assert row is not None
            again, unknown = row
            await tx.execute(
                "UPDATE deliveries SET"
                " status = CASE WHEN deliveries.batch < r.batch OR (deliveries.batch = r.batch"
                "  AND deliveries.chat_id <= coalesce(r.started_through, -1))"
                "  THEN 'unknown' ELSE 'pending' END,"
                " owner = NULL, batch = NULL, updated_at = :now"
                " FROM delivery_runs AS r"
                f" WHERE r.run IN ({self._runs}) AND r.campaign = :campaign"
                " AND deliveries.campaign = r.campaign AND deliveries.owner = r.run"
                " AND deliveries.status = 'claimed'",
                params,
            )
            await tx.execute(f"DELETE FROM delivery_runs WHERE run IN ({self._runs})", params)
        return again, unknown

    async def unsettled(self, campaign_id: str) -> list[int]:
        """Chats whose request may have gone out and whose outcome is not written: what a
        kill now would leave 'unknown' (tests, and a look from the outside)."""
        rows = await self.db.fetchall(
            "SELECT d.chat_id FROM delivery_runs AS r JOIN deliveries AS d"
            " ON d.campaign = r.campaign AND d.owner = r.run AND d.status = 'claimed'"
            " WHERE r.campaign = :campaign AND (d.batch < r.batch OR (d.batch = r.batch"
            " AND d.chat_id <= coalesce(r.started_through, -1))) ORDER BY d.chat_id",
            {"campaign": campaign_id},
        )
        return [row[0] for row in rows]

    async def next_retry(self, campaign_id: str) -> datetime | None:
        """When the earliest pending row that failed before may be tried again."""
        value = await self.db.fetchval(
            "SELECT min(retry_at) FROM deliveries WHERE campaign = :campaign"
            " AND status = 'pending' AND attempts > 0",
            {"campaign": campaign_id},
        )
        return None if value is None else from_db(value)

    async def due(self, campaign_id: str, now: datetime) -> bool:
        """Whether a run would find something to do now: a pending row that is due, or rows
        held by a run (perhaps a dead one)."""
        return bool(
            await self.db.fetchval(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE campaign = :campaign"
                " AND status = 'pending' AND (retry_at IS NULL OR retry_at <= :now))"
                " OR EXISTS (SELECT 1 FROM delivery_runs WHERE campaign = :campaign)",
                {"campaign": campaign_id, "now": to_db(now)},
            )
        )
