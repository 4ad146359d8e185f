"""Notices: messages queued for chats by work done without a bot (an import that changed a
phone, see bot/storage/imports.py)."""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.campaigns import Notice
from bot.domain.moments import to_db
from bot.storage.db import Database

OUTCOMES = ("sent", "blocked", "failed")


class NoticeRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def pending(self, limit: int) -> list[Notice]:
        """The oldest notices not yet done, with their chat's language."""
        rows = await self.db.fetchall(
            "SELECT n.id, n.chat_id, n.kind, n.args, c.locale FROM notices AS n"
            " JOIN chats AS c ON c.chat_id = n.chat_id"
            " WHERE n.sent_at IS NULL ORDER BY n.id LIMIT :limit",
            {"limit": limit},
        )
        return [
            Notice(row["id"], row["chat_id"], row["kind"], json.loads(row["args"]), row["locale"])
            for row in rows
        ]

    async def done(self, notice: Notice, outcome: str, now: datetime) -> None:
        """Mark the notice done; a chat that blocked the bot is marked inactive too."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE notices SET sent_at = :now, outcome = :outcome WHERE id = :id",
                {"now": to_db(now), "outcome": outcome, "id": notice.id},
            )
            if outcome == "blocked":
                await tx.execute(
                    "UPDATE chats SET active = 0 WHERE chat_id = :chat_id",
                    {"chat_id": notice.chat_id},
                )
