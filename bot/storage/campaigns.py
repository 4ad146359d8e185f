"""Campaigns: a reminder or an announcement, with what it covers and where it stands (SQL only).

`DeliveryRepository` (bot/storage/deliveries.py) adds the per-chat deliveries of a campaign.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.campaigns import Campaign
from bot.domain.moments import day_from_db, to_db
from bot.storage.db import Database, Executor

KINDS = ("opening", "closing", "verification", "broadcast")
STATUSES = (
    "pending",
    "claimed",
    "sent",
    "failed",
    "blocked",
    "skipped",
    "unknown",
    "given_up",
)


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row["id"],
        kind=row["kind"],
        params=json.loads(row["params"]),
        expires_on=day_from_db(row["expires_on"]),
        materialised=row["materialised_at"] is not None,
        finished=row["finished_at"] is not None,
        admin_chat_id=row["admin_chat_id"],
        progress_message_id=row["progress_message_id"],
    )


async def hold_campaign(tx: Executor, campaign_id: str) -> None:
    """PostgreSQL: the transactions that add a campaign's pending rows or close it, one at a
    time for that campaign (SQLite's single writer has them so anyway): a run's `finish` must
    not close a campaign while another adds rows to it."""
    if tx.dialect.postgres:
        await tx.execute("SELECT id FROM campaigns WHERE id = :id FOR UPDATE", {"id": campaign_id})


_FINISH = "UPDATE campaigns SET finished_at = :now WHERE id = :id AND finished_at IS NULL"


def _params(params: dict[str, Any]) -> str:
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


class CampaignRepository:
    """The campaigns table: one row per reminder or announcement."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create_campaign(
        self,
        campaign_id: str,
        kind: str,
        params: dict[str, Any],
        now: datetime,
        *,
        expires_on: date | None = None,
        admin_chat_id: int | None = None,
    ) -> bool:
        """False when a campaign with this id exists already (it ran, or is running)."""
        created = await self.db.execute(
            "INSERT INTO campaigns (id, kind, params, expires_on, created_at, admin_chat_id)"
            " VALUES (:id, :kind, :params, :expires_on, :now, :admin) ON CONFLICT (id) DO NOTHING",
            {
                "id": campaign_id,
                "kind": kind,
                "params": _params(params),
                "expires_on": expires_on and expires_on.isoformat(),
                "now": to_db(now),
                "admin": admin_chat_id,
            },
        )
        return created == 1

    async def update_params(
        self, campaign_id: str, params: dict[str, Any], expires_on: date | None
    ) -> None:
        """What the campaign covers, as planned today (a meter with new window days, say)."""
        await self.db.execute(
            "UPDATE campaigns SET params = :params, expires_on = :expires_on WHERE id = :id",
            {
                "params": _params(params),
                "expires_on": expires_on and expires_on.isoformat(),
                "id": campaign_id,
            },
        )

    async def get(self, campaign_id: str) -> Campaign | None:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = :id", {"id": campaign_id})
        return None if row is None else _campaign(row)

    async def unfinished(self, kinds: Sequence[str]) -> list[Campaign]:
        """Campaigns of these kinds with something still to do, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE finished_at IS NULL"
            f" AND kind IN ({self.db.dialect.json_texts('kinds')}) ORDER BY created_at, id",
            {"kinds": json.dumps(list(kinds))},
        )
        return [_campaign(row) for row in rows]

    async def mark_materialised(self, campaign_id: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE campaigns SET materialised_at = :now WHERE id = :id"
            " AND materialised_at IS NULL",
            {"now": to_db(now), "id": campaign_id},
        )

    async def finish(self, campaign_id: str, now: datetime) -> bool:
        """Close the campaign when nothing is pending and no run holds rows of it; False
        while something is (a retry to come, a run's claims, a dead run's to resolve)."""
        params = {"id": campaign_id, "now": to_db(now)}
        async with self.db.transaction() as tx:
            await hold_campaign(tx, campaign_id)
            busy = await tx.fetchone(
                "SELECT 1 FROM deliveries WHERE campaign = :id AND status = 'pending'"
                " UNION ALL SELECT 1 FROM delivery_runs WHERE campaign = :id LIMIT 1",
                params,
            )
            if busy is not None:
                return False
            await tx.execute(_FINISH, params)
        return True

    async def expire(self, campaign_id: str, now: datetime) -> int:
        """Drop what is still pending (its window closed) and close the campaign."""
        params = {"id": campaign_id, "now": to_db(now)}
        async with self.db.transaction() as tx:
            await hold_campaign(tx, campaign_id)
            dropped = await tx.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = :now"
                " WHERE campaign = :id AND status = 'pending'",
                params,
            )
            await tx.execute(_FINISH, params)
        return dropped

    async def set_progress_message(self, campaign_id: str, message_id: int) -> None:
        await self.db.execute(
            "UPDATE campaigns SET progress_message_id = :message WHERE id = :id",
            {"message": message_id, "id": campaign_id},
        )

    async def create_broadcast(
        self, params: dict[str, Any], admin_chat_id: int, now: datetime
    ) -> str:
        """A new announcement campaign, numbered after the ones before it; returns its id.

        Two operators may start one at the same moment: on PostgreSQL both count the same
        campaigns, the second insert then finds the number taken (it waited for the first to
        commit) and counts again. Each round one of them wins, so the loop ends."""
        while True:
            async with self.db.transaction() as tx:
                count = await tx.fetchval("SELECT count(*) FROM campaigns WHERE kind = 'broadcast'")
                campaign_id = f"broadcast:{count + 1}"
                created = await tx.execute(
                    "INSERT INTO campaigns (id, kind, params, created_at, admin_chat_id)"
                    " VALUES (:id, 'broadcast', :params, :now, :admin)"
                    " ON CONFLICT (id) DO NOTHING",
                    {
                        "id": campaign_id,
                        "params": _params(params),
                        "now": to_db(now),
                        "admin": admin_chat_id,
                    },
                )
            if created:
                return campaign_id

    async def counts(self, campaign_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT status, count(*) AS n FROM deliveries WHERE campaign = :id GROUP BY status",
            {"id": campaign_id},
        )
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    async def counts_by_kind(self, finished_since: datetime) -> dict[tuple[str, str], int]:
        """Deliveries by (campaign kind, status), of the campaigns not finished or finished
        after `finished_since` (what /metrics shows)."""
        rows = await self.db.fetchall(
            "SELECT c.kind, d.status, count(*) AS n FROM campaigns c"
            " JOIN deliveries d ON d.campaign = c.id"
            " WHERE c.finished_at IS NULL OR c.finished_at > :since"
            " GROUP BY c.kind, d.status",
            {"since": to_db(finished_since)},
        )
        return {(row["kind"], row["status"]): int(row["n"]) for row in rows}

    async def statuses(self, campaign_id: str) -> dict[int, str]:
        """Every chat's status in the campaign (for tests and small campaigns)."""
        rows = await self.db.fetchall(
            "SELECT chat_id, status FROM deliveries WHERE campaign = :id", {"id": campaign_id}
        )
        return {row["chat_id"]: row["status"] for row in rows}
