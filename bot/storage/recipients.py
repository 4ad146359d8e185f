"""Who a campaign goes to, and what a reminder names for each chat (SQL only, no rules).

Recipients are selected and recorded a few thousand at a time, inside the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.campaigns import MeterRule, RecipientAccount, RecipientMeter, Rule
from bot.domain.moments import day_from_db, to_db
from bot.storage.campaigns import hold_campaign
from bot.storage.db import Database

REMINDER_FLAGS = {
    "opening": "remind_opening",
    "closing": "remind_closing",
    "verification": "remind_verification",
}


def _rules_sql(rules: Sequence[Rule]) -> tuple[str, dict[str, Any]]:
    """An SQL condition on `m` (meters) matching any of the rules, and its parameters."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for n, rule in enumerate(rules):
        if isinstance(rule, MeterRule):
            parts.append(f"(m.id = :rule{n}_meter AND m.verified_until = :rule{n}_due)")
            params.update({f"rule{n}_meter": rule.meter_id, f"rule{n}_due": rule.due.isoformat()})
            continue
        part = (
            f"m.window_start IS NOT DISTINCT FROM CAST(:rule{n}_start AS INTEGER)"
            f" AND m.window_end IS NOT DISTINCT FROM CAST(:rule{n}_end AS INTEGER)"
        )
        params.update({f"rule{n}_start": rule.window_start, f"rule{n}_end": rule.window_end})
        if rule.unread_period is not None:
            part += (
                " AND NOT EXISTS (SELECT 1 FROM readings AS r WHERE r.meter_id = m.id"
                f" AND r.period = :rule{n}_period AND r.replaced_at IS NULL)"
            )
            params[f"rule{n}_period"] = rule.unread_period
        parts.append(f"({part})")
    return (" OR ".join(parts) or "1 = 0"), params


class RecipientRepository:
    """Who a campaign goes to: linked, active chats, with the reminder kind switched on."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # the batch of chats a reminder is rendered for: its index drives these queries
        self._chat_among = db.dialect.among_ints("c.chat_id", "chats")
        self._among = db.dialect.among_ints("chat_id", "chats")
        self._fence = " OFFSET 0" if db.dialect.postgres else ""  # see _batch

    async def window_days(self) -> list[tuple[int | None, int | None]]:
        """Each distinct (window_start, window_end) the meters have; None = the default."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT window_start, window_end FROM meters WHERE closed_at IS NULL"
        )
        return [(row[0], row[1]) for row in rows]

    async def verification_due(self, first: date, last: date) -> list[tuple[int, date]]:
        """(meter, due date) for meters due between the two days that have a recipient not
        reminded yet: a linked active chat with verification reminders on."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT m.id, m.verified_until FROM meters AS m"
            " JOIN links AS l ON l.account_id = m.account_id"
            " JOIN chats AS c ON c.chat_id = l.chat_id"
            " WHERE m.verified_until BETWEEN :first AND :last AND m.closed_at IS NULL"
            " AND c.active = 1 AND c.remind_verification = 1"
            " AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
            "  WHERE d.campaign = 'verification:' || m.id || ':' || m.verified_until"
            "  AND d.chat_id = l.chat_id)"
            " ORDER BY m.verified_until, m.id",
            {"first": first.isoformat(), "last": last.isoformat()},
        )
        return [(row[0], date.fromisoformat(row[1])) for row in rows]

    @staticmethod
    def _due(
        kind: str, rules: Sequence[Rule] | None, new_in: str | None
    ) -> tuple[str, dict[str, Any]]:
        """What makes chat `c` a recipient, as an SQL condition and its parameters."""
        params: dict[str, Any] = {}
        condition = "c.active = 1"
        if kind in REMINDER_FLAGS:
            condition += f" AND c.{REMINDER_FLAGS[kind]} = 1"
        if new_in is not None:
            condition += (
                " AND NOT EXISTS (SELECT 1 FROM deliveries AS d"
                " WHERE d.campaign = :new_in AND d.chat_id = c.chat_id)"
            )
            params["new_in"] = new_in
        if rules is None:
            linked = "SELECT 1 FROM links AS l WHERE l.chat_id = c.chat_id"
        else:
            matching, rule_params = _rules_sql(rules)
            linked = (
                "SELECT 1 FROM links AS l JOIN meters AS m ON m.account_id = l.account_id"
                f" WHERE l.chat_id = c.chat_id AND m.closed_at IS NULL AND ({matching})"
            )
            params.update(rule_params)
        return f"{condition} AND EXISTS ({linked})", params

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
        campaign does not have yet, in one transaction and without the chats travelling
        through Python. Returns the rows added and the chat to continue after, None when no
        recipient is left."""
        condition, params = self._due(kind, rules, campaign_id)
        params.update(after=after, limit=limit, campaign=campaign_id, now=to_db(now))
        async with self.db.transaction() as tx:
            await hold_campaign(tx, campaign_id)
            row = await tx.fetchone(
                "SELECT count(*), max(chat_id) FROM ("
                f" SELECT c.chat_id FROM chats AS c WHERE c.chat_id > :after AND {condition}"
                " ORDER BY c.chat_id LIMIT :limit) AS due",
                params,
            )
            assert row is not None
            count, last = row
            if not count:
                return 0, None
            added = await tx.execute(
                "INSERT INTO deliveries (campaign, chat_id, updated_at)"
                " SELECT :campaign, c.chat_id, :now FROM chats AS c"
                f" WHERE c.chat_id > :after AND c.chat_id <= :last AND {condition}"
                " ON CONFLICT DO NOTHING",
                {**params, "last": last},
            )
            if added:  # something is pending again
                await tx.execute(
                    "UPDATE campaigns SET finished_at = NULL WHERE id = :campaign", params
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
        condition, params = _rules_sql(rules)
        rows = await self.db.fetchall(
            "SELECT c.chat_id, c.locale, a.id AS account_id, a.number, a.address,"
            " m.id AS meter_id, m.serial, m.resource, m.window_start, m.window_end,"
            " m.verified_until"
            f" FROM ({self._batch(kind)}) AS c JOIN links AS l ON l.chat_id = c.chat_id"
            " JOIN accounts AS a ON a.id = l.account_id"
            " JOIN meters AS m ON m.account_id = a.id AND m.closed_at IS NULL"
            f" WHERE ({condition})"
            " ORDER BY c.chat_id, l.linked_at, a.id, m.resource, m.serial",
            {**params, "chats": json.dumps(list(chat_ids))},
        )
        return [
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

    async def accounts_of(
        self, kind: str, rules: Sequence[Rule], chat_ids: Sequence[int]
    ) -> list[RecipientAccount]:
        """Like `meters_of`, one row per account and window instead of per meter."""
        condition, params = _rules_sql(rules)
        rows = await self.db.fetchall(
            "SELECT DISTINCT c.chat_id, c.locale, a.id, a.number, a.address,"
            " m.window_start, m.window_end, l.linked_at"
            f" FROM ({self._batch(kind)}) AS c JOIN links AS l ON l.chat_id = c.chat_id"
            " JOIN accounts AS a ON a.id = l.account_id"
            " JOIN meters AS m ON m.account_id = a.id AND m.closed_at IS NULL"
            f" WHERE ({condition})"
            " ORDER BY c.chat_id, l.linked_at, a.id",
            {**params, "chats": json.dumps(list(chat_ids))},
        )
        return [RecipientAccount(*row[:7]) for row in rows]

    def _batch(self, kind: str) -> str:
        """The batch's chats that still want ``kind``, read first whatever the planner guesses
        of the other tables: `OFFSET 0` keeps PostgreSQL from folding it into the join (where,
        on tables without statistics yet, a wider meters row once tipped it into reading every
        meter: 1 s a batch against 10 ms, tests/unit/test_batch_queries.py). SQLite's plan
        needs no fence."""
        return (
            f"SELECT c.chat_id, c.locale FROM chats AS c WHERE {self._chat_among}"
            f" AND c.active = 1 AND c.{REMINDER_FLAGS[kind]} = 1{self._fence}"
        )

    async def locales_of(self, chat_ids: Sequence[int]) -> dict[int, str | None]:
        """Active chats among these, with their stored language."""
        rows = await self.db.fetchall(
            f"SELECT chat_id, locale FROM chats WHERE {self._among} AND active = 1",
            {"chats": json.dumps(list(chat_ids))},
        )
        return {row[0]: row[1] for row in rows}
