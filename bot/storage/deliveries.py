"""Campaigns and their per-chat deliveries; who a reminder goes to (SQL only, no rules).

Every query here works in batches: recipients are selected and recorded a few thousand at a
time, so a campaign of a million chats costs a few hundred statements, not millions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.storage.db import Database
from bot.storage.timestamps import day_from_db, from_db, to_db

KINDS = ("opening", "closing", "verification", "broadcast")
REMINDER_FLAGS = {
    "opening": "remind_opening",
    "closing": "remind_closing",
    "verification": "remind_verification",
}
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
FINAL_STATUSES = ("sent", "failed", "blocked", "skipped", "unknown", "given_up")
# SQLite allows 32766 variables; stay far below for any one IN (...) list.
_MAX_VARIABLES = 900


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    kind: str
    params: dict[str, Any]
    expires_on: date | None
    materialised: bool
    finished: bool
    admin_chat_id: int | None = None
    progress_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Retrying:
    """A claimed delivery's past: passing failures so far, since when, and since when it has
    been held back (a resident in the middle of a submission walk)."""

    attempts: int
    failing_since: datetime | None
    deferred_since: datetime | None


@dataclass(frozen=True, slots=True)
class WindowRule:
    """Meters whose own window days are exactly these (None = the default day); with
    `unread_period`, only those still lacking a current reading for that period."""

    window_start: int | None
    window_end: int | None
    unread_period: str | None = None


@dataclass(frozen=True, slots=True)
class MeterRule:
    """One meter, while its verification date is still `due`."""

    meter_id: int
    due: date


Rule = WindowRule | MeterRule


@dataclass(frozen=True, slots=True)
class RecipientMeter:
    """One row of what a reminder says: a chat, one of its accounts, one meter of it."""

    chat_id: int
    locale: str | None
    account_id: int
    number: str
    address: str | None
    meter_id: int
    serial: str
    resource: str
    window_start: int | None
    window_end: int | None
    verified_until: date | None


@dataclass(frozen=True, slots=True)
class RecipientAccount:
    """A chat, one of its accounts, and one window the account's matching meters use."""

    chat_id: int
    locale: str | None
    account_id: int
    number: str
    address: str | None
    window_start: int | None
    window_end: int | None


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


def _rules_sql(rules: Sequence[Rule]) -> tuple[str, list[Any]]:
    """An SQL condition on `m` (meters) matching any of the rules."""
    parts: list[str] = []
    params: list[Any] = []
    for rule in rules:
        if isinstance(rule, MeterRule):
            parts.append("(m.id = ? AND m.verified_until = ?)")
            params += [rule.meter_id, rule.due.isoformat()]
            continue
        part = "m.window_start IS ? AND m.window_end IS ?"
        params += [rule.window_start, rule.window_end]
        if rule.unread_period is not None:
            part += (
                " AND NOT EXISTS (SELECT 1 FROM readings AS r WHERE r.meter_id = m.id"
                " AND r.period = ? AND r.replaced_at IS NULL)"
            )
            params.append(rule.unread_period)
        parts.append(f"({part})")
    return (" OR ".join(parts) or "0"), params


def _chunks(items: Sequence[int], size: int = _MAX_VARIABLES) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- campaigns ---------------------------------------------------------------------------

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
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO campaigns (id, kind, params, expires_on, created_at, admin_chat_id)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    campaign_id,
                    kind,
                    json.dumps(params, ensure_ascii=False, separators=(",", ":")),
                    expires_on and expires_on.isoformat(),
                    to_db(now),
                    admin_chat_id,
                ),
            )
            return cur.rowcount == 1

    async def update_params(
        self, campaign_id: str, params: dict[str, Any], expires_on: date | None
    ) -> None:
        """What the campaign covers, as planned today (a meter with new window days, say)."""
        await self.db.execute(
            "UPDATE campaigns SET params = ?, expires_on = ? WHERE id = ?",
            (
                json.dumps(params, ensure_ascii=False, separators=(",", ":")),
                expires_on and expires_on.isoformat(),
                campaign_id,
            ),
        )

    async def get(self, campaign_id: str) -> Campaign | None:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        return None if row is None else _campaign(row)

    async def existing(self, campaign_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(campaign_ids), _MAX_VARIABLES):
            chunk = campaign_ids[start : start + _MAX_VARIABLES]
            rows = await self.db.fetchall(
                f"SELECT id FROM campaigns WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(row["id"] for row in rows)
        return found

    async def unfinished(self, kinds: Sequence[str]) -> list[Campaign]:
        """Campaigns of these kinds with something still to do, oldest first."""
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE finished_at IS NULL"
            f" AND kind IN ({','.join('?' * len(kinds))}) ORDER BY created_at, id",
            list(kinds),
        )
        return [_campaign(row) for row in rows]

    async def mark_materialised(self, campaign_id: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE campaigns SET materialised_at = ? WHERE id = ? AND materialised_at IS NULL",
            (to_db(now), campaign_id),
        )

    async def finish(self, campaign_id: str, now: datetime) -> bool:
        """Close the campaign when nothing is pending and no run holds rows of it; False
        while something is (a retry to come, a run's claims, a dead run's to resolve)."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT 1 FROM deliveries WHERE campaign = ? AND status = 'pending'"
                " UNION ALL SELECT 1 FROM delivery_runs WHERE campaign = ? LIMIT 1",
                (campaign_id, campaign_id),
            ) as cur:
                if await cur.fetchone() is not None:
                    return False
            await conn.execute(
                "UPDATE campaigns SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (to_db(now), campaign_id),
            )
        return True

    async def expire(self, campaign_id: str, now: datetime) -> int:
        """Drop what is still pending (its window closed) and close the campaign."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = ?"
                " WHERE campaign = ? AND status = 'pending'",
                (to_db(now), campaign_id),
            )
            dropped = cur.rowcount
            await conn.execute(
                "UPDATE campaigns SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
                (to_db(now), campaign_id),
            )
        return dropped

    async def set_progress_message(self, campaign_id: str, message_id: int) -> None:
        await self.db.execute(
            "UPDATE campaigns SET progress_message_id = ? WHERE id = ?",
            (message_id, campaign_id),
        )

    async def create_broadcast(
        self, params: dict[str, Any], admin_chat_id: int, now: datetime
    ) -> str:
        """A new announcement campaign, numbered after the ones before it; returns its id."""
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT count(*) FROM campaigns WHERE kind = 'broadcast'"
            ) as cur:
                row = await cur.fetchone()
            campaign_id = f"broadcast:{(row[0] if row else 0) + 1}"
            await conn.execute(
                "INSERT INTO campaigns (id, kind, params, created_at, admin_chat_id)"
                " VALUES (?, 'broadcast', ?, ?, ?)",
                (
                    campaign_id,
                    json.dumps(params, ensure_ascii=False, separators=(",", ":")),
                    to_db(now),
                    admin_chat_id,
                ),
            )
        return campaign_id

    # --- deliveries --------------------------------------------------------------------------

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
            (chat_id, change, at and to_db(at))
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
            # the changes as a materialised table, each looked up by primary key: a plain
            # FROM json_each(...) lets SQLite scan the whole campaign for each change
            statements.append(
                (
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
            )
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

    async def counts(self, campaign_id: str) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT status, count(*) AS n FROM deliveries WHERE campaign = ? GROUP BY status",
            (campaign_id,),
        )
        counts = dict.fromkeys(STATUSES, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    async def statuses(self, campaign_id: str) -> dict[int, str]:
        """Every chat's status in the campaign (for tests and small campaigns)."""
        rows = await self.db.fetchall(
            "SELECT chat_id, status FROM deliveries WHERE campaign = ?", (campaign_id,)
        )
        return {row["chat_id"]: row["status"] for row in rows}


class RecipientRepository:
    """Who a campaign goes to: linked, active chats, with the reminder kind switched on."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def window_days(self) -> list[tuple[int | None, int | None]]:
        """Each distinct (window_start, window_end) the meters have; None = the default."""
        rows = await self.db.fetchall("SELECT DISTINCT window_start, window_end FROM meters")
        return [(row[0], row[1]) for row in rows]

    async def verification_due(self, first: date, last: date) -> list[tuple[int, date]]:
        """(meter, due date) for meters due between the two days that have a recipient not
        reminded yet: a linked active chat with verification reminders on."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT m.id, m.verified_until FROM meters AS m"
            " JOIN links AS l ON l.account_id = m.account_id"
            " JOIN chats AS c ON c.chat_id = l.chat_id"
            " WHERE m.verified_until BETWEEN ? AND ?"
            " AND c.active = 1 AND c.remind_verification = 1"
            " AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
            "  WHERE d.campaign = 'verification:' || m.id || ':' || m.verified_until"
            "  AND d.chat_id = l.chat_id)"
            " ORDER BY m.verified_until, m.id",
            (first.isoformat(), last.isoformat()),
        )
        return [(row[0], date.fromisoformat(row[1])) for row in rows]

    @staticmethod
    def _due(kind: str, rules: Sequence[Rule] | None, new_in: str | None) -> tuple[str, list[Any]]:
        """What makes chat `c` a recipient, as an SQL condition and its parameters."""
        params: list[Any] = []
        condition = "c.active = 1"
        if kind in REMINDER_FLAGS:
            condition += f" AND c.{REMINDER_FLAGS[kind]} = 1"
        if new_in is not None:
            condition += (
                " AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
                " WHERE d.campaign = ? AND d.chat_id = c.chat_id)"
            )
            params.append(new_in)
        if rules is None:
            linked = "SELECT 1 FROM links AS l WHERE l.chat_id = c.chat_id"
        else:
            matching, rule_params = _rules_sql(rules)
            linked = (
                "SELECT 1 FROM links AS l JOIN meters AS m ON m.account_id = l.account_id"
                f" WHERE l.chat_id = c.chat_id AND ({matching})"
            )
            params += rule_params
        return f"{condition} AND EXISTS ({linked})", params

    async def chats_for(
        self,
        kind: str,
        rules: Sequence[Rule] | None,
        *,
        after: int,
        limit: int,
        new_in: str | None = None,
    ) -> list[int]:
        """The next `limit` recipients after chat `after`, in chat order.

        `rules` None: every linked active chat (an announcement); otherwise chats linked to an
        account with a meter matching the rules, with this kind of reminder on. `new_in`: only
        chats without a delivery in that campaign yet.
        """
        condition, params = self._due(kind, rules, new_in)
        rows = await self.db.fetchall(
            f"SELECT c.chat_id FROM chats AS c WHERE c.chat_id > ? AND {condition}"
            " ORDER BY c.chat_id LIMIT ?",
            [after, *params, limit],
        )
        return [row[0] for row in rows]

    async def add_due(
        self,
        campaign_id: str,
        kind: str,
        rules: Sequence[Rule] | None,
        *,
        after: int,
        limit: int,
        now: datetime,
    ) -> tuple[int, int | None]:
        """Pending deliveries for the next `limit` recipients after chat `after` that the
        campaign does not have yet (`chats_for` with `new_in`, then `add_recipients`), in one
        transaction and without the chats travelling through Python. Returns the rows added
        and the chat to continue after, None when no recipient is left."""
        condition, params = self._due(kind, rules, campaign_id)
        async with self.db.transaction() as conn:
            [[count, last]] = await conn.execute_fetchall(
                "SELECT count(*), max(chat_id) FROM ("
                f" SELECT c.chat_id FROM chats AS c WHERE c.chat_id > ? AND {condition}"
                " ORDER BY c.chat_id LIMIT ?)",
                [after, *params, limit],
            )
            if not count:
                return 0, None
            before = conn.total_changes
            await conn.execute(
                "INSERT INTO deliveries (campaign, chat_id, updated_at)"
                " SELECT ?, c.chat_id, ? FROM chats AS c"
                f" WHERE c.chat_id > ? AND c.chat_id <= ? AND {condition}"
                " ON CONFLICT DO NOTHING",
                [campaign_id, to_db(now), after, last, *params],
            )
            added = conn.total_changes - before
            if added:  # something is pending again
                await conn.execute(
                    "UPDATE campaigns SET finished_at = NULL WHERE id = ?", (campaign_id,)
                )
        return added, (last if count == limit else None)

    async def count_linked_active(self) -> int:
        return int(
            await self.db.fetchval(
                "SELECT count(*) FROM chats AS c WHERE c.active = 1"
                " AND EXISTS (SELECT 1 FROM links AS l WHERE l.chat_id = c.chat_id)"
            )
        )

    async def meters_of(
        self, kind: str, rules: Sequence[Rule], chat_ids: Sequence[int]
    ) -> list[RecipientMeter]:
        """What the reminder names for these chats, checked again now: a chat that switched
        the kind off, was blocked or unlinked, or a meter read since, drops out."""
        condition, rule_params = _rules_sql(rules)
        found: list[RecipientMeter] = []
        for chunk in _chunks(chat_ids):
            rows = await self.db.fetchall(
                "SELECT c.chat_id, c.locale, a.id AS account_id, a.number, a.address,"
                " m.id AS meter_id, m.serial, m.resource, m.window_start, m.window_end,"
                " m.verified_until"
                " FROM chats AS c JOIN links AS l ON l.chat_id = c.chat_id"
                " JOIN accounts AS a ON a.id = l.account_id"
                " JOIN meters AS m ON m.account_id = a.id"
                f" WHERE c.chat_id IN ({','.join('?' * len(chunk))})"
                f" AND c.active = 1 AND c.{REMINDER_FLAGS[kind]} = 1 AND ({condition})"
                " ORDER BY c.chat_id, l.linked_at, a.id, m.resource, m.serial",
                [*chunk, *rule_params],
            )
            found += [
                RecipientMeter(
                    chat_id=row["chat_id"],
                    locale=row["locale"],
                    account_id=row["account_id"],
                    number=row["number"],
                    address=row["address"],
                    meter_id=row["meter_id"],
                    serial=row["serial"],
                    resource=row["resource"],
                    window_start=row["window_start"],
                    window_end=row["window_end"],
                    verified_until=day_from_db(row["verified_until"]),
                )
                for row in rows
            ]
        return found

    async def accounts_of(
        self, kind: str, rules: Sequence[Rule], chat_ids: Sequence[int]
    ) -> list[RecipientAccount]:
        """Like `meters_of`, one row per account and window instead of per meter."""
        condition, rule_params = _rules_sql(rules)
        found: list[RecipientAccount] = []
        for chunk in _chunks(chat_ids):
            rows = await self.db.fetchall(
                "SELECT DISTINCT c.chat_id, c.locale, a.id, a.number, a.address,"
                " m.window_start, m.window_end, l.linked_at"
                " FROM chats AS c JOIN links AS l ON l.chat_id = c.chat_id"
                " JOIN accounts AS a ON a.id = l.account_id"
                " JOIN meters AS m ON m.account_id = a.id"
                f" WHERE c.chat_id IN ({','.join('?' * len(chunk))})"
                f" AND c.active = 1 AND c.{REMINDER_FLAGS[kind]} = 1 AND ({condition})"
                " ORDER BY c.chat_id, l.linked_at, a.id",
                [*chunk, *rule_params],
            )
            found += [RecipientAccount(*row[:7]) for row in rows]
        return found

    async def locales_of(self, chat_ids: Sequence[int]) -> dict[int, str | None]:
        """Active chats among these, with their stored language."""
        found: dict[int, str | None] = {}
        for chunk in _chunks(chat_ids):
            rows = await self.db.fetchall(
                f"SELECT chat_id, locale FROM chats WHERE chat_id IN ({','.join('?' * len(chunk))})"
                " AND active = 1",
                list(chunk),
            )
            found.update({row[0]: row[1] for row in rows})
        return found

    async def mid_walk(self, chat_ids: Sequence[int]) -> set[int]:
        """Chats among these in the middle of a submission conversation (its state stored)."""
        found: set[int] = set()
        for chunk in _chunks(chat_ids):
            rows = await self.db.fetchall(
                "SELECT DISTINCT chat_id FROM fsm_states"
                f" WHERE chat_id IN ({','.join('?' * len(chunk))}) AND state LIKE 'Submission:%'",
                list(chunk),
            )
            found.update(row[0] for row in rows)
        return found
