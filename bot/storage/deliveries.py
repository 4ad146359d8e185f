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
from bot.storage.campaigns import CampaignRepository

__all__ = ["DeliveryRepository", "Retrying"]


@dataclass(frozen=True, slots=True)
class Retrying:
    """A claimed delivery's past: passing failures so far, since when, and since when it has
    been held back (a resident in the middle of a submission walk)."""

    attempts: int
    failing_since: datetime | None
    deferred_since: datetime | None


def _other_changes(
    campaign_id: str, other: list[tuple[int, str, str | None]], run: str, stamp: str
) -> tuple[str, dict[str, Any]]:
    """Changes but 'sent' as one statement. The changes as a materialised table, each looked
    up by primary key: a plain FROM json_each(...) lets SQLite scan the whole campaign for
    each change."""
    return (
        "WITH c AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS chat_id,"
        "  json_extract(value, '$[1]') AS change,"
        "  json_extract(value, '$[2]') AS retry_at FROM json_each(:changes))"
        " UPDATE deliveries SET"
        " status = CASE WHEN c.change IN ('retry', 'defer') THEN 'pending'"
        "  ELSE c.change END,"
        " owner = NULL, batch = NULL,"
        " attempts = attempts + (c.change = 'retry'),"
        " failing_since = CASE WHEN c.change = 'retry'"
        "  THEN coalesce(failing_since, :now) ELSE failing_since END,"
        " deferred_since = CASE WHEN c.change = 'defer'"
        "  THEN coalesce(deferred_since, :now) ELSE deferred_since END,"
        " retry_at = c.retry_at, updated_at = :now"
        " FROM c WHERE deliveries.campaign = :campaign"
        " AND deliveries.chat_id = c.chat_id"
        " AND +deliveries.owner = :run AND +deliveries.status = 'claimed'",
        {
            "now": stamp,
            "campaign": campaign_id,
            "changes": json.dumps(other),
            "run": run,
        },
    )


class DeliveryRepository(CampaignRepository):
    """A campaign's rows (`CampaignRepository`) and its deliveries, one per chat."""

    async def add_recipients(self, campaign_id: str, chat_ids: Sequence[int], now: datetime) -> int:
        """Pending rows for these chats; a chat already in the campaign keeps its row."""
        if not chat_ids:
            return 0
        stamp = to_db(now)
        async with self.db.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(
                "INSERT INTO deliveries (campaign, chat_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                ((campaign_id, chat_id, stamp) for chat_id in chat_ids),
            )
            added = conn.total_changes - before
            if added:  # something is pending again
                await conn.execute(
                    "UPDATE campaigns SET finished_at = NULL WHERE id = ?", (campaign_id,)
                )
            return added

    async def claim(
        self, campaign_id: str, limit: int, now: datetime, run: str, batch: int
    ) -> tuple[list[int], dict[int, Retrying]]:
        """Mark up to `limit` due pending rows 'claimed' by `run` as its `batch`; their chats in
        chat order, and what came before for those tried or held back already.

        Atomic, so two runs of the same campaign (the bot and `send-reminders`) never claim
        the same chat. Due: no `retry_at`, or one that has come. The run is registered with
        its first claim, so a later run can tell its rows apart if it dies.
        """
        # The chats travel as one JSON array, not a row each: every row fetched is a trip
        # through the GIL for the database thread, and the sending thread holds it.
        stamp = to_db(now)
        async with self.db.transaction() as conn:
            [[claimed, history]] = await conn.execute_fetchall(
                "SELECT json_group_array(chat_id),"
                " json_group_array(json_array(chat_id, attempts, failing_since, deferred_since))"
                "  FILTER (WHERE attempts > 0 OR deferred_since IS NOT NULL)"
                " FROM (SELECT chat_id, attempts, failing_since, deferred_since FROM deliveries"
                "  WHERE campaign = ? AND status = 'pending'"
                "  AND (retry_at IS NULL OR retry_at <= ?) ORDER BY chat_id LIMIT ?)",
                (campaign_id, stamp, limit),
            )
            if claimed != "[]":
                await conn.execute(
                    "INSERT INTO delivery_runs (run, campaign) VALUES (?, ?)"
                    " ON CONFLICT (run) DO NOTHING",
                    (run, campaign_id),
                )
                await conn.execute(
                    "UPDATE deliveries SET status = 'claimed', owner = ?, batch = ?,"
                    " updated_at = ? WHERE campaign = ? AND status = 'pending'"
                    " AND chat_id IN (SELECT value FROM json_each(?))",
                    (run, batch, stamp, campaign_id, claimed),
                )
        before = {
            row[0]: Retrying(row[1], row[2] and from_db(row[2]), row[3] and from_db(row[3]))
            for row in json.loads(history or "[]")
        }
        return sorted(json.loads(claimed)), before

    async def mark(self, run: str, batch: int, started_through: int) -> None:
        """Before their requests go out: in `batch`, the chats up to this one may be sent."""
        await self.db.execute(
            "UPDATE delivery_runs SET batch = ?, started_through = ? WHERE run = ?",
            (batch, started_through, run),
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
                    " AND chat_id IN (SELECT value FROM json_each(:chats))"
                    " AND owner = :run AND status = 'claimed'",
                    {"now": stamp, "campaign": campaign_id, "chats": json.dumps(sent), "run": run},
                )
            )
        if other:
            statements.append(_other_changes(campaign_id, other, run, stamp))
        blocked = [chat_id for chat_id, change, _ in changes if change == "blocked"]
        if blocked:
            statements.append(
                (
                    "UPDATE chats SET active = 0"
                    " WHERE chat_id IN (SELECT value FROM json_each(:chats))",
                    {"chats": json.dumps(blocked)},
                )
            )
        if len(statements) == 1:
            await self.db.execute(*statements[0])
            return
        async with self.db.transaction() as conn:
            for sql, params in statements:
                await conn.execute(sql, params)

    async def end_run(self, run: str) -> None:
        """The run is over and holds nothing any more."""
        await self.db.execute("DELETE FROM delivery_runs WHERE run = ?", (run,))

    async def runs(self, campaign_id: str) -> list[str]:
        """The runs that hold (or held, and died holding) rows of the campaign."""
        rows = await self.db.fetchall(
            "SELECT run FROM delivery_runs WHERE campaign = ?", (campaign_id,)
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
        async with self.db.transaction() as conn:
            [[again, unknown]] = await conn.execute_fetchall(
                "SELECT count(*) FILTER (WHERE NOT gone), count(*) FILTER (WHERE gone) FROM ("
                " SELECT d.batch < r.batch OR (d.batch = r.batch"
                "  AND d.chat_id <= coalesce(r.started_through, -1)) AS gone"
                " FROM delivery_runs AS r JOIN deliveries AS d"
                "  ON d.campaign = r.campaign AND d.owner = r.run AND d.status = 'claimed'"
                " WHERE r.run IN (SELECT value FROM json_each(:runs)) AND r.campaign = :campaign)",
                {"runs": json.dumps(list(runs)), "campaign": campaign_id},
            )
            await conn.execute(
                "UPDATE deliveries SET"
                " status = CASE WHEN deliveries.batch < r.batch OR (deliveries.batch = r.batch"
                "  AND deliveries.chat_id <= coalesce(r.started_through, -1))"
                "  THEN 'unknown' ELSE 'pending' END,"
                " owner = NULL, batch = NULL, updated_at = :now"
                " FROM delivery_runs AS r"
                " WHERE r.run IN (SELECT value FROM json_each(:runs)) AND r.campaign = :campaign"
                " AND deliveries.campaign = r.campaign AND deliveries.owner = r.run"
                " AND deliveries.status = 'claimed'",
                {"runs": json.dumps(list(runs)), "campaign": campaign_id, "now": to_db(now)},
            )
            await conn.execute(
                "DELETE FROM delivery_runs WHERE run IN (SELECT value FROM json_each(?))",
                (json.dumps(list(runs)),),
            )
        return again, unknown

    async def unsettled(self, campaign_id: str) -> list[int]:
        """Chats whose request may have gone out and whose outcome is not written: what a
        kill now would leave 'unknown' (tests, and a look from the outside)."""
        rows = await self.db.fetchall(
            "SELECT d.chat_id FROM delivery_runs AS r JOIN deliveries AS d"
            " ON d.campaign = r.campaign AND d.owner = r.run AND d.status = 'claimed'"
            " WHERE r.campaign = ? AND (d.batch < r.batch OR (d.batch = r.batch"
            " AND d.chat_id <= coalesce(r.started_through, -1))) ORDER BY d.chat_id",
            (campaign_id,),
        )
        return [row[0] for row in rows]

    async def next_retry(self, campaign_id: str) -> datetime | None:
        """When the earliest pending row that failed before may be tried again."""
        value = await self.db.fetchval(
            "SELECT min(retry_at) FROM deliveries WHERE campaign = ? AND status = 'pending'"
            " AND attempts > 0",
            (campaign_id,),
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
