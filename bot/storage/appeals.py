"""Appeals and their messages (SPEC §11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.appeals import Appeal, Attachment, Author, Post, StoredPost
from bot.domain.moments import from_db, to_db
from bot.storage.db import Database, Executor

_COLUMNS = (
    "id, chat_id, account_id, topic, first_name, locale, status, thread_id, created_at,"
    " waiting_since, sla_alerted_at, answered_at, rating"
)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else from_db(text)


def _appeal(row: Any) -> Appeal:
    return Appeal(
        id=row["id"],
        chat_id=row["chat_id"],
        account_id=row["account_id"],
        topic=row["topic"],
        first_name=row["first_name"],
        locale=row["locale"],
        status=row["status"],
        thread_id=row["thread_id"],
        created_at=from_db(row["created_at"]),
        waiting_since=_moment(row["waiting_since"]),
        sla_alerted_at=_moment(row["sla_alerted_at"]),
        answered_at=_moment(row["answered_at"]),
        rating=row["rating"],
    )


def _stored(row: Any) -> StoredPost:
    post = Post(row["kind"], row["body"], row["source_id"])
    return StoredPost(row["id"], row["appeal_id"], row["author"], post, row["copy_id"])


async def _add_post(
    tx: Executor, appeal_id: int, author: Author, post: Post, now: datetime, **extra: Any
) -> int:
    return int(
        await tx.fetchval(
            "INSERT INTO appeal_messages (appeal_id, author, kind, body, source_id, copy_id,"
            " created_at, delivered_at) VALUES (:appeal, :author, :kind, :body, :source, :copy,"
            " :now, :delivered) RETURNING id",
            {
                "appeal": appeal_id,
                "author": author,
                "kind": post.kind,
                "body": post.body,
                "source": post.source_id,
                "copy": extra.get("copy_id"),
                "now": to_db(now),
                "delivered": extra.get("delivered"),
            },
        )
    )


class AppealRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        chat_id: int,
        account_id: int | None,
        topic: str,
        first_name: str | None,
        locale: str | None,
        text: str,
        attachments: tuple[Attachment, ...],
        now: datetime,
    ) -> Appeal:
        """The appeal with its text and attachments, waiting to be delivered to the topic."""
        at = to_db(now)
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "INSERT INTO appeals (chat_id, account_id, topic, first_name, locale, created_at,"
                " waiting_since) VALUES (:chat, :account, :topic, :name, :locale, :now, :now)"
                f" RETURNING {_COLUMNS}",
                {
                    "chat": chat_id,
                    "account": account_id,
                    "topic": topic,
                    "name": first_name,
                    "locale": locale,
                    "now": at,
                },
            )
            assert row is not None
            appeal = _appeal(row)
            await _add_post(tx, appeal.id, "resident", Post("text", text), now)
            for attachment in attachments:
                post = Post(attachment.kind, None, attachment.message_id)
                await _add_post(tx, appeal.id, "resident", post, now)
        return appeal

    async def get(self, appeal_id: int) -> Appeal | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM appeals WHERE id = :id", {"id": appeal_id}
        )
        return None if row is None else _appeal(row)

    async def by_thread(self, thread_id: int) -> Appeal | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM appeals WHERE thread_id = :thread", {"thread": thread_id}
        )
        return None if row is None else _appeal(row)

    async def of_chat(self, chat_id: int, *, open_only: bool = False) -> list[Appeal]:
        """The chat's appeals, newest first."""
        where = " AND status = 'open'" if open_only else ""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM appeals WHERE chat_id = :chat{where} ORDER BY id DESC",
            {"chat": chat_id},
        )
        return [_appeal(row) for row in rows]

    async def open_ones(self) -> list[Appeal]:
        """Every open appeal, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM appeals WHERE status = 'open' ORDER BY created_at, id"
        )
        return [_appeal(row) for row in rows]

    async def count_open(self) -> int:
        """How many appeals are open (the `bot_appeals_open` gauge)."""
        return int(await self.db.fetchval("SELECT count(*) FROM appeals WHERE status = 'open'"))

    async def undelivered(self, before: datetime) -> list[int]:
        """Open appeals with something written before `before` not yet in their topic (the
        topic itself, or a message)."""
        rows = await self.db.fetchall(
            "SELECT a.id FROM appeals AS a WHERE a.status = 'open' AND ((a.thread_id IS NULL"
            " AND a.created_at < :before) OR EXISTS (SELECT 1 FROM appeal_messages AS m"
            " WHERE m.appeal_id = a.id AND m.delivered_at IS NULL AND m.created_at < :before))"
            " ORDER BY a.id",
            {"before": to_db(before)},
        )
        return [row["id"] for row in rows]

    async def set_thread(self, appeal_id: int, thread_id: int) -> bool:
        """The appeal's topic, unless another process made one first (False)."""
        changed = await self.db.execute(
            "UPDATE appeals SET thread_id = :thread WHERE id = :id AND thread_id IS NULL",
            {"thread": thread_id, "id": appeal_id},
        )
        return changed == 1

    async def drop_thread(self, appeal_id: int, thread_id: int) -> bool:
        """The appeal's topic was deleted: it gets a new one (False: another process saw to it)."""
        changed = await self.db.execute(
            "UPDATE appeals SET thread_id = NULL WHERE id = :id AND thread_id = :thread",
            {"thread": thread_id, "id": appeal_id},
        )
        return changed == 1

    async def pending_posts(self, appeal_id: int) -> list[StoredPost]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeal_messages WHERE appeal_id = :appeal AND delivered_at IS NULL"
            " ORDER BY id",
            {"appeal": appeal_id},
        )
        return [_stored(row) for row in rows]

    async def delivered(self, post_id: int, copy_id: int | None, now: datetime) -> None:
        await self.db.execute(
            "UPDATE appeal_messages SET delivered_at = :now, copy_id = :copy WHERE id = :id",
            {"now": to_db(now), "copy": copy_id, "id": post_id},
        )

    async def attachment_count(self, appeal_id: int) -> int:
        return int(
            await self.db.fetchval(
                "SELECT count(*) FROM appeal_messages WHERE appeal_id = :appeal"
                " AND author = 'resident' AND kind <> 'text'",
                {"appeal": appeal_id},
            )
        )

    async def add_resident_post(self, appeal_id: int, post: Post, now: datetime) -> None:
        """A follow-up: to be delivered; the operators owe an answer from now, if not before."""
        async with self.db.transaction() as tx:
            await _add_post(tx, appeal_id, "resident", post, now)
            await tx.execute(
                "UPDATE appeals SET waiting_since = :now WHERE id = :id AND waiting_since IS NULL",
                {"now": to_db(now), "id": appeal_id},
            )

    async def add_operator_post(
        self, appeal_id: int, post: Post, copy_id: int | None, now: datetime
    ) -> None:
        """An operator's message, in the resident's chat as `copy_id`: the wait is over."""
        at = to_db(now)
        async with self.db.transaction() as tx:
            await _add_post(tx, appeal_id, "operator", post, now, copy_id=copy_id, delivered=at)
            await tx.execute(
                "UPDATE appeals SET waiting_since = NULL,"
                " answered_at = COALESCE(answered_at, :now) WHERE id = :id",
                {"now": at, "id": appeal_id},
            )

    async def operator_post(self, appeal_id: int, source_id: int) -> StoredPost | None:
        row = await self.db.fetchone(
            "SELECT * FROM appeal_messages WHERE appeal_id = :appeal AND author = 'operator'"
            " AND source_id = :source ORDER BY id DESC LIMIT 1",
            {"appeal": appeal_id, "source": source_id},
        )
        return None if row is None else _stored(row)

    async def answer_copied_as(self, appeal_id: int, copy_id: int) -> bool:
        """Is `copy_id` (in the resident's chat) one of this appeal's answers?"""
        row = await self.db.fetchone(
            "SELECT 1 FROM appeal_messages WHERE appeal_id = :appeal AND author = 'operator'"
            " AND copy_id = :copy",
            {"appeal": appeal_id, "copy": copy_id},
        )
        return row is not None

    async def mark_alerted(self, appeal_id: int, now: datetime) -> None:
        await self.db.execute(
            "UPDATE appeals SET sla_alerted_at = :now WHERE id = :id",
            {"now": to_db(now), "id": appeal_id},
        )

    async def close(self, appeal_id: int, now: datetime) -> bool:
        """Close an open appeal; False when it was closed already."""
        changed = await self.db.execute(
            "UPDATE appeals SET status = 'closed', closed_at = :now, waiting_since = NULL"
            " WHERE id = :id AND status = 'open'",
            {"now": to_db(now), "id": appeal_id},
        )
        return changed == 1

    async def rate(self, appeal_id: int, chat_id: int, rating: int) -> bool:
        """The resident's rating of a closed appeal of theirs, once."""
        changed = await self.db.execute(
            "UPDATE appeals SET rating = :rating WHERE id = :id AND chat_id = :chat"
            " AND status = 'closed' AND rating IS NULL",
            {"rating": rating, "id": appeal_id, "chat": chat_id},
        )
        return changed == 1

    async def forget_chat(self, chat_id: int, now: datetime) -> list[Appeal]:
        """Close the chat's open appeals and remove its chat id from all of them; the ones
        closed here, as they were."""
        params = {"chat": chat_id, "now": to_db(now)}
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM appeals WHERE chat_id = :chat AND status = 'open'",
                params,
            )
            await tx.execute(
                "UPDATE appeals SET status = 'closed', closed_at = :now, waiting_since = NULL"
                " WHERE chat_id = :chat AND status = 'open'",
                params,
            )
            await tx.execute("UPDATE appeals SET chat_id = NULL WHERE chat_id = :chat", params)
        return [_appeal(row) for row in rows]
