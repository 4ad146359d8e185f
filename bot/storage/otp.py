"""Pending codes, the log of codes issued (for the daily limits) and the SMS alert throttle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from bot.domain.moments import from_db, to_db
from bot.domain.otp import CodeToStore, IssueCounts, SmsStatus, StoredCode
from bot.storage.db import Database, Executor

Refusal = TypeVar("Refusal")


# Counted in the last 24 h: every code of the chat, and every SMS attempted (whatever became
# of it) to the account and in all.
_COUNTS = (
    "SELECT"
    " (SELECT max(issued_at) FROM otp_issues WHERE chat_ref = :chat) AS last_to_chat,"
    " (SELECT count(*) FROM otp_issues WHERE chat_ref = :chat AND issued_at > :since)"
    "   AS chat_24h,"
    " (SELECT count(*) FROM otp_issues WHERE account_id = :account AND sms_sent = 1"
    "   AND issued_at > :since) AS account_24h,"
    " (SELECT count(*) FROM otp_issues WHERE sms_sent = 1 AND issued_at > :since)"
    "   AS total_24h"
)


class OtpRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending(self, chat_id: int) -> StoredCode | None:
        row = await self.db.fetchone(
            "SELECT * FROM otp_codes WHERE chat_id = :chat", {"chat": chat_id}
        )
        if row is None:
            return None
        return StoredCode(
            chat_id=row["chat_id"],
            account_id=row["account_id"],
            code_hash=row["code_hash"],
            expires_at=from_db(row["expires_at"]),
            attempts=row["attempts"],
            sent_at=from_db(row["sent_at"]),
        )

    async def reserve(
        self,
        *,
        chat_id: int,
        chat_ref: str,
        account_id: int | None,
        now: datetime,
        decide: Callable[[IssueCounts], CodeToStore | Refusal],
    ) -> tuple[CodeToStore | Refusal, int | None]:
        """Count, decide and store in one transaction, so the limits hold however many ask.

        ``decide`` sees the chat's (and the matched account's) counts and returns the code to
        store, or a refusal that stores nothing. The code replaces the chat's pending one and
        its issue row is reserved before any SMS goes out; the row's id comes back with it.
        The gate row is updated first: on SQLite BEGIN IMMEDIATE already serialises writers,
        on PostgreSQL its row lock does, so the counts read next include every reservation
        committed before this one (READ COMMITTED takes a fresh snapshot per statement).
        """
        since = to_db(now - timedelta(days=1))
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE otp_gate SET reservations = reservations + 1 WHERE id = 1")
            row = await tx.fetchone(
                _COUNTS, {"chat": chat_ref, "account": account_id, "since": since}
            )
            assert row is not None
            last = row["last_to_chat"]
            decided = decide(
                IssueCounts(
                    last_to_chat=from_db(last) if last else None,
                    chat_24h=row["chat_24h"],
                    account_24h=row["account_24h"],
                    total_24h=row["total_24h"],
                )
            )
            if not isinstance(decided, CodeToStore):
                return decided, None
            issue_id = await self._store(tx, chat_id, chat_ref, decided, now)
        return decided, issue_id

    @staticmethod
    async def _store(
        tx: Executor, chat_id: int, chat_ref: str, code: CodeToStore, now: datetime
    ) -> int:
        """The chat's pending code (replacing the one before) and its issue row; the row's id."""
        await tx.execute(
            "INSERT INTO chats (chat_id, created_at) VALUES (:chat, :now) ON CONFLICT DO NOTHING",
            {"chat": chat_id, "now": to_db(now)},
        )
        await tx.execute(
            "INSERT INTO otp_codes"
            " (chat_id, account_id, code_hash, expires_at, attempts, sent_at)"
            " VALUES (:chat_id, :account_id, :code_hash, :expires_at, 0, :now)"
            " ON CONFLICT (chat_id) DO UPDATE SET account_id = excluded.account_id,"
            " code_hash = excluded.code_hash, expires_at = excluded.expires_at,"
            " attempts = 0, sent_at = excluded.sent_at",
            {
                "chat_id": chat_id,
                "account_id": code.account_id,
                "code_hash": code.code_hash,
                "expires_at": to_db(code.expires_at),
                "now": to_db(now),
            },
        )
        issue_id = await tx.fetchval(
            "INSERT INTO otp_issues (chat_ref, account_id, sms_sent, sms_status, issued_at)"
            " VALUES (:ref, :account, :sms, :status, :now) RETURNING id",
            {
                "ref": chat_ref,
                "account": code.account_id,
                "sms": int(code.sms),
                "status": "sending" if code.sms else "none",
                "now": to_db(now),
            },
        )
        await tx.execute(
            "DELETE FROM otp_issues WHERE issued_at < :old",
            {"old": to_db(now - timedelta(days=2))},
        )
        return int(issue_id)

    async def record_outcome(
        self, issue_id: int, status: SmsStatus, error: str | None = None
    ) -> None:
        """What became of the SMS of an issue; the issue keeps counting either way."""
        await self.db.execute(
            "UPDATE otp_issues SET sms_status = :status, sms_error = :error WHERE id = :id",
            {"status": status, "error": error, "id": issue_id},
        )

    async def sms_sent_since(self, since: datetime) -> int:
        """SMS attempted since `since`, whatever became of them (what the budget counts)."""
        return int(
            await self.db.fetchval(
                "SELECT count(*) FROM otp_issues WHERE sms_sent = 1 AND issued_at > :since",
                {"since": to_db(since)},
            )
        )

    async def failed_since(self, since: datetime) -> int:
        return int(
            await self.db.fetchval(
                "SELECT count(*) FROM otp_issues WHERE sms_status = 'failed'"
                " AND issued_at > :since",
                {"since": to_db(since)},
            )
        )

    async def claim_alert(self, kind: str, now: datetime, every: timedelta) -> bool:
        """Whether an admin alert of ``kind`` is due now (none in the last ``every``); one
        statement, so of many processes or tasks claiming at once exactly one wins."""
        rows = await self.db.write_fetchall(
            "INSERT INTO sms_alerts (kind, last_at) VALUES (:kind, :now)"
            " ON CONFLICT (kind) DO UPDATE SET last_at = excluded.last_at"
            " WHERE sms_alerts.last_at <= :due RETURNING kind",
            {"kind": kind, "now": to_db(now), "due": to_db(now - every)},
        )
        return bool(rows)

    async def count_wrong_try(self, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE chat_id = :chat", {"chat": chat_id}
        )

    async def discard(self, chat_id: int) -> None:
        await self.db.execute("DELETE FROM otp_codes WHERE chat_id = :chat", {"chat": chat_id})
