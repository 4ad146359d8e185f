"""The outbox of readings for the billing system (SPEC §10): claimed, settled, counted (SQL only).

The events are written by bot/storage/readings.py in the reading's own transaction; what is
done with them is bot/services/outbox.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain.moments import from_db, to_db
from bot.domain.outbox import OutboxEvent
from bot.storage.db import Database

__all__ = ["OutboxRepository"]

# Due: pending, its time come, not in flight (or its claim's dispatcher taken for dead), and
# the oldest waiting event of its meter: a meter's events go one at a time, in order.
_DUE = """
e.status = 'pending' AND e.next_at <= :now
AND (e.claimed_until IS NULL OR e.claimed_until <= :now)
AND NOT EXISTS (
    SELECT 1 FROM outbox AS o WHERE o.meter_id = e.meter_id AND o.status = 'pending'
    AND o.id < e.id
)
"""
# PostgreSQL takes the rows FOR UPDATE SKIP LOCKED, so a second dispatcher (a leader's
# successor while the old one finishes) passes over them instead of claiming them again;
# SQLite's one writer at a time does the same.
_CLAIM = """
UPDATE outbox SET claim = :claim, claimed_until = :until
WHERE id IN (SELECT e.id FROM outbox AS e WHERE {due} ORDER BY e.next_at LIMIT :limit {lock})
RETURNING id
"""

# What an event says, read when it is sent: the one place its payload's data comes from
# (gis_meter_number and els as the import or the snapshot left them on the meter and account).
_EVENT_DATA = """
SELECT e.id, e.event_id, e.type, e.created_at, e.attempts, e.failing_since,
    r.receipt, a.number AS account, m.serial, m.resource, r.period, r.t1, r.t2, r.t3,
    r.submitted_at,
    (SELECT p.receipt FROM readings AS p WHERE p.meter_id = r.meter_id
        AND p.period = r.period AND p.id < r.id ORDER BY p.id DESC LIMIT 1) AS replaces,
    m.gis_meter_number, a.els
FROM outbox AS e
JOIN readings AS r ON r.id = e.reading_id
JOIN meters AS m ON m.id = r.meter_id
JOIN accounts AS a ON a.id = m.account_id
WHERE {among} ORDER BY e.id
"""

_DELIVERED = """
UPDATE outbox SET status = 'delivered', settled_at = :now, claim = NULL, claimed_until = NULL,
    last_error = NULL
WHERE {among} AND status = 'pending'
"""
# every other outcome of a try: retry (pending again from next_at), dead, refused, release
# (handed back untried: the endpoint is gone)
_OTHER = """
WITH c AS MATERIALIZED ({changes})
UPDATE outbox SET
    status = CASE WHEN c.change IN ('retry', 'release') THEN 'pending' ELSE c.change END,
    attempts = outbox.attempts + CASE WHEN c.change = 'release' THEN 0 ELSE 1 END,
    failing_since = CASE WHEN c.change IN ('retry', 'dead')
        THEN coalesce(outbox.failing_since, :now) ELSE outbox.failing_since END,
    next_at = coalesce(c.next_at, outbox.next_at),
    last_error = coalesce(c.error, outbox.last_error),
    settled_at = CASE WHEN c.change IN ('dead', 'refused') THEN :now END,
    claim = NULL, claimed_until = NULL
FROM c WHERE outbox.id = c.id AND outbox.claim = :claim AND outbox.status = 'pending'
"""
# a refusal is told to the chat that submitted the reading, as the notices are (SPEC §5.8)
_TELL = """
WITH c AS MATERIALIZED ({told})
INSERT INTO notices (chat_id, kind, args, created_at)
SELECT r.chat_id, c.kind, c.args, :now
FROM c JOIN outbox AS e ON e.id = c.id JOIN readings AS r ON r.id = e.reading_id
JOIN chats AS ch ON ch.chat_id = r.chat_id
WHERE e.status = 'refused' AND e.settled_at = :now
"""


def _event(row: Any) -> OutboxEvent:
    values = tuple(v for v in (row["t1"], row["t2"], row["t3"]) if v is not None)
    failing = row["failing_since"]
    return OutboxEvent(
        id=row["id"],
        event_id=row["event_id"],
        type=row["type"],
        created_at=from_db(row["created_at"]),
        attempts=row["attempts"],
        failing_since=None if failing is None else from_db(failing),
        receipt=row["receipt"],
        account=row["account"],
        meter=row["serial"],
        resource=row["resource"],
        period=row["period"],
        values=values,
        submitted_at=from_db(row["submitted_at"]),
        replaces=row["replaces"],
        gis_meter_number=row["gis_meter_number"],
        els=row["els"],
    )


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.dialect
        lock = "FOR UPDATE SKIP LOCKED" if dialect.postgres else ""
        self._claim = _CLAIM.format(due=_DUE, lock=lock)
        self._data = _EVENT_DATA.format(among=dialect.among_ints("e.id", "ids"))
        self._delivered = _DELIVERED.format(among=dialect.among_ints("id", "ids"))
        changes = dialect.json_rows(
            "changes", ("id", "BIGINT"), ("change", "TEXT"), ("next_at", "TEXT"), ("error", "TEXT")
        )
        self._other = _OTHER.format(changes=changes)
        told = dialect.json_rows("told", ("id", "BIGINT"), ("kind", "TEXT"), ("args", "TEXT"))
        self._tell = _TELL.format(told=told)

    async def claim(
        self, claim: str, now: datetime, until: datetime, limit: int
    ) -> list[OutboxEvent]:
        """Up to `limit` due events, held for `claim` until `until`, oldest first."""
        params = {"claim": claim, "now": to_db(now), "until": to_db(until), "limit": limit}
        rows = await self.db.write_fetchall(self._claim, params)
        if not rows:
            return []
        ids = json.dumps([row[0] for row in rows])
        return [_event(row) for row in await self.db.fetchall(self._data, {"ids": ids})]

    async def settle(
        self,
        claim: str,
        now: datetime,
        *,
        delivered: Sequence[int] = (),
        changes: Sequence[tuple[int, str, datetime | None, str | None]] = (),
        told: Sequence[tuple[int, str, dict[str, str]]] = (),
    ) -> None:
        """What came of the tries: `delivered` events; `changes` as (event, 'retry' | 'dead'
        | 'refused' | 'release', next try, error); `told`: (event, notice kind, its args)
        for the refused ones, queued for the chat that submitted the reading."""
        stamp = to_db(now)
        async with self.db.transaction() as tx:
            if delivered:
                await tx.execute(self._delivered, {"now": stamp, "ids": json.dumps(delivered)})
            if changes:
                rows = [
                    (event, change, None if at is None else to_db(at), error)
                    for event, change, at, error in changes
                ]
                params = {"now": stamp, "claim": claim, "changes": json.dumps(rows)}
                await tx.execute(self._other, params)
            if told:
                rows_told = [(event, kind, json.dumps(args)) for event, kind, args in told]
                await tx.execute(self._tell, {"now": stamp, "told": json.dumps(rows_told)})

    async def release_others(self, claim: str) -> int:
        """Hand back what other dispatchers hold: a new leader's, after its predecessor died."""
        return await self.db.execute(
            "UPDATE outbox SET claim = NULL, claimed_until = NULL WHERE status = 'pending'"
            " AND claim IS NOT NULL AND claim <> :claim",
            {"claim": claim},
        )

    async def next_due(self, now: datetime) -> datetime | None:
        """When the earliest event that could be claimed (the head of its meter's queue, not
        in flight) may be tried."""
        value = await self.db.fetchval(
            "SELECT min(e.next_at) FROM outbox AS e WHERE e.status = 'pending'"
            " AND (e.claimed_until IS NULL OR e.claimed_until <= :now) AND NOT EXISTS ("
            " SELECT 1 FROM outbox AS o WHERE o.meter_id = e.meter_id"
            " AND o.status = 'pending' AND o.id < e.id)",
            {"now": to_db(now)},
        )
        return None if value is None else from_db(value)

    async def gone(self) -> str | None:
        """The URL that answered 410 Gone, while delivery to it is stopped."""
        value = await self.db.fetchval("SELECT url FROM outbox_gone WHERE id = 1")
        return None if value is None else str(value)

    async def mark_gone(self, url: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO outbox_gone (id, url, at) VALUES (1, :url, :now)"
            " ON CONFLICT (id) DO UPDATE SET url = excluded.url, at = excluded.at",
            {"url": url, "now": to_db(now)},
        )

    async def waiting(self) -> tuple[int, datetime | None, int]:
        """Events waiting, the oldest one's creation, dead events (cheap: /metrics)."""
        row = await self.db.fetchone(
            "SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),"
            " (SELECT min(created_at) FROM outbox WHERE status = 'pending'),"
            " (SELECT count(*) FROM outbox WHERE status = 'dead')"
        )
        assert row is not None
        return int(row[0]), None if row[1] is None else from_db(row[1]), int(row[2])

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
        return {row[0]: int(row[1]) for row in rows}

    async def dead(self, limit: int) -> list[tuple[str, str, datetime, str | None]]:
        """The oldest dead events: (webhook-id, receipt, created, last error)."""
        rows = await self.db.fetchall(
            "SELECT e.event_id, r.receipt, e.created_at, e.last_error FROM outbox AS e"
            " JOIN readings AS r ON r.id = e.reading_id WHERE e.status = 'dead'"
            " ORDER BY e.id LIMIT :limit",
            {"limit": limit},
        )
        return [(row[0], row[1], from_db(row[2]), row[3]) for row in rows]

    async def retry_dead(self, now: datetime) -> int:
        """Dead events waiting again, from now, for three more days; delivery stopped by a
        410 starts again. Returns how many events."""
        async with self.db.transaction() as tx:
            again = await tx.execute(
                "UPDATE outbox SET status = 'pending', next_at = :now, attempts = 0,"
                " failing_since = NULL, settled_at = NULL WHERE status = 'dead'",
                {"now": to_db(now)},
            )
            await tx.execute("DELETE FROM outbox_gone")
        return again
