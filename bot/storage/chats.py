"""Chats, their settings and their links to accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.models import REMINDER_KINDS, Account, Chat
from bot.domain.moments import from_db, to_db
from bot.storage.db import Database


def _chat(row: Any) -> Chat:
    return Chat(
        chat_id=row["chat_id"],
        locale=row["locale"],
        active=bool(row["active"]),
        current_account_id=row["current_account_id"],
        remind_opening=bool(row["remind_opening"]),
        remind_closing=bool(row["remind_closing"]),
        remind_verification=bool(row["remind_verification"]),
        created_at=from_db(row["created_at"]),
    )


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, chat_id: int) -> Chat | None:
        row = await self.db.fetchone("SELECT * FROM chats WHERE chat_id = :chat", {"chat": chat_id})
        return None if row is None else _chat(row)

    async def ensure(self, chat_id: int, now: datetime) -> None:
        await self.db.execute(_ENSURE_CHAT, {"chat": chat_id, "now": to_db(now)})

    async def set_locale(self, chat_id: int, locale: str, now: datetime) -> None:
        await self.db.execute(
            "INSERT INTO chats (chat_id, locale, created_at) VALUES (:chat, :locale, :now) "
            "ON CONFLICT (chat_id) DO UPDATE SET locale = excluded.locale",
            {"chat": chat_id, "locale": locale, "now": to_db(now)},
        )

    async def set_first_locale(self, chat_id: int, locale: str, now: datetime) -> None:
        """The language of the chat's first update; never over one stored before (/language)."""
        await self.db.execute(
            "INSERT INTO chats (chat_id, locale, created_at) VALUES (:chat, :locale, :now) "
            "ON CONFLICT (chat_id) DO UPDATE SET locale = excluded.locale "
            "WHERE chats.locale IS NULL",
            {"chat": chat_id, "locale": locale, "now": to_db(now)},
        )

    async def mark_told_private_only(self, chat_id: int, now: datetime) -> bool:
        """Remember that a group or channel was told the bot works in private chats only;
        True for the one caller that marked it first (so it is told once, at most)."""
        rows = await self.db.write_fetchall(
            "INSERT INTO private_only_notices (chat_id, told_at) VALUES (:chat, :now) "
            "ON CONFLICT DO NOTHING RETURNING chat_id",
            {"chat": chat_id, "now": to_db(now)},
        )
        return bool(rows)

    async def set_active(self, chat_id: int, active: bool) -> None:
        await self.db.execute(
            "UPDATE chats SET active = :active WHERE chat_id = :chat",
            {"active": int(active), "chat": chat_id},
        )

    async def inactive_ids(self) -> list[int]:
        rows = await self.db.fetchall("SELECT chat_id FROM chats WHERE active = 0")
        return [row["chat_id"] for row in rows]

    async def set_reminder(self, chat_id: int, kind: str, enabled: bool) -> None:
        if kind not in REMINDER_KINDS:
            raise ValueError(f"unknown reminder kind {kind!r}")
        await self.db.execute(
            f"UPDATE chats SET remind_{kind} = :on WHERE chat_id = :chat",
            {"on": int(enabled), "chat": chat_id},
        )

    async def set_current_account(self, chat_id: int, account_id: int | None) -> None:
        await self.db.execute(
            "UPDATE chats SET current_account_id = :account WHERE chat_id = :chat",
            {"account": account_id, "chat": chat_id},
        )

    async def forget(self, chat_id: int) -> None:
        """Erase everything kept about the chat; its submitted readings stay, anonymised."""
        chat = {"chat": chat_id}
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE readings SET chat_id = NULL WHERE chat_id = :chat", chat)
            await tx.execute("DELETE FROM fsm_states WHERE chat_id = :chat", chat)
            # links, codes and settings go with the chat row (ON DELETE CASCADE)
            await tx.execute("DELETE FROM chats WHERE chat_id = :chat", chat)


_ENSURE_CHAT = "INSERT INTO chats (chat_id, created_at) VALUES (:chat, :now) ON CONFLICT DO NOTHING"


class LinkRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def link(self, chat_id: int, account_id: int, now: datetime) -> bool:
        """Link and make it the chat's current account; False when it was linked already."""
        params = {"chat": chat_id, "account": account_id, "now": to_db(now)}
        async with self.db.transaction() as tx:
            await tx.execute(_ENSURE_CHAT, params)
            created = await tx.execute(
                "INSERT INTO links (chat_id, account_id, linked_at) VALUES (:chat, :account, :now)"
                " ON CONFLICT DO NOTHING",
                params,
            )
            await tx.execute(
                "UPDATE chats SET current_account_id = :account WHERE chat_id = :chat", params
            )
        return created == 1

    async def unlink(self, chat_id: int, account_id: int) -> None:
        params = {"chat": chat_id, "account": account_id}
        async with self.db.transaction() as tx:
            await tx.execute(
                "DELETE FROM links WHERE chat_id = :chat AND account_id = :account", params
            )
            # the current account falls back to another linked one, if any
            await tx.execute(
                "UPDATE chats SET current_account_id = ("
                "  SELECT account_id FROM links WHERE chat_id = :chat ORDER BY linked_at LIMIT 1"
                ") WHERE chat_id = :chat AND (current_account_id = :account"
                "  OR current_account_id IS NULL)",
                params,
            )

    async def accounts_of(self, chat_id: int) -> list[Account]:
        rows = await self.db.fetchall(
            "SELECT a.id, a.number, a.phone, a.address FROM links AS l JOIN accounts AS a"
            " ON a.id = l.account_id WHERE l.chat_id = :chat ORDER BY l.linked_at",
            {"chat": chat_id},
        )
        return [Account(r["id"], r["number"], r["phone"], r["address"]) for r in rows]

    async def is_linked(self, chat_id: int, account_id: int) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM links WHERE chat_id = :chat AND account_id = :account",
            {"chat": chat_id, "account": account_id},
        )
        return row is not None

    async def chats_of(self, account_id: int) -> list[int]:
        rows = await self.db.fetchall(
            "SELECT chat_id FROM links WHERE account_id = :account ORDER BY linked_at",
            {"account": account_id},
        )
        return [r["chat_id"] for r in rows]
