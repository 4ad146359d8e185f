"""Pending codes and the log of codes issued (for the daily limits)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.db import Database
from bot.storage.timestamps import from_db, to_db


@dataclass(frozen=True, slots=True)
class StoredCode:
    chat_id: int
    account_id: int | None
    code_hash: str
    expires_at: datetime
    attempts: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class IssueCounts:
    last_to_chat: datetime | None
    chat_24h: int
    account_24h: int
    total_24h: int


class OtpRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending(self, chat_id: int) -> StoredCode | None:
        row = await self.db.fetchone("SELECT * FROM otp_codes WHERE chat_id = ?", (chat_id,))
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

    async def counts(self, chat_ref: str, account_id: int | None, now: datetime) -> IssueCounts:
        since = to_db(now - timedelta(days=1))
        row = await self.db.fetchone(
            "SELECT"
            " (SELECT max(issued_at) FROM otp_issues WHERE chat_ref = :chat) AS last_to_chat,"
            " (SELECT count(*) FROM otp_issues WHERE chat_ref = :chat AND issued_at > :since)"
            "   AS chat_24h,"
            " (SELECT count(*) FROM otp_issues WHERE account_id = :account AND sms_sent = 1"
            "   AND issued_at > :since) AS account_24h,"
            " (SELECT count(*) FROM otp_issues WHERE sms_sent = 1 AND issued_at > :since)"
            "   AS total_24h",
            {"chat": chat_ref, "account": account_id, "since": since},
        )
        assert row is not None
        last = row["last_to_chat"]
        return IssueCounts(
            last_to_chat=from_db(last) if last else None,
            chat_24h=row["chat_24h"],
            account_24h=row["account_24h"],
            total_24h=row["total_24h"],
        )

    async def replace(
        self,
        *,
        chat_id: int,
        chat_ref: str,
        account_id: int | None,
        code_hash: str,
        expires_at: datetime,
        sms_sent: bool,
        now: datetime,
    ) -> None:
        """Store the chat's new code (a new code replaces the old) and log the issue."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO chats (chat_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (chat_id, to_db(now)),
            )
            await conn.execute(
                "INSERT OR REPLACE INTO otp_codes"
                " (chat_id, account_id, code_hash, expires_at, attempts, sent_at)"
                " VALUES (?, ?, ?, ?, 0, ?)",
                (chat_id, account_id, code_hash, to_db(expires_at), to_db(now)),
            )
            await conn.execute(
                "INSERT INTO otp_issues (chat_ref, account_id, sms_sent, issued_at)"
                " VALUES (?, ?, ?, ?)",
                (chat_ref, account_id, int(sms_sent), to_db(now)),
            )
            await conn.execute(
                "DELETE FROM otp_issues WHERE issued_at < ?", (to_db(now - timedelta(days=2)),)
            )

    async def count_wrong_try(self, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE otp_codes SET attempts = attempts + 1 WHERE chat_id = ?", (chat_id,)
        )

    async def discard(self, chat_id: int) -> None:
        await self.db.execute("DELETE FROM otp_codes WHERE chat_id = ?", (chat_id,))

    async def forget_issue(self, chat_ref: str) -> None:
        """Take back the newest issue of a chat whose SMS could not be sent."""
        await self.db.execute(
            "DELETE FROM otp_issues WHERE id = ("
            " SELECT id FROM otp_issues WHERE chat_ref = ? ORDER BY issued_at DESC LIMIT 1)",
            (chat_ref,),
        )
