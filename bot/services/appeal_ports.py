"""What the appeal service asks of storage (`AppealStore`, bot/storage/appeals.py) and of the
outbound side that knows Telegram (`AppealDesk`, bot/notifications/appeals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.domain.appeals import Appeal, Attachment, Post, StoredPost
from bot.domain.models import Account
from bot.services.submissions import Overview

Outcome = Literal["sent", "blocked", "failed"]


class DeskAway(Exception):
    """The operators' chat did not take a message. `lasting`: it is missing, or the bot is not
    an admin there (the admins must act); otherwise a passing failure (network, 5xx, 429).
    `topic_gone`: the chat works but the appeal's topic was deleted (a new one is made)."""

    def __init__(self, reason: str, *, lasting: bool, topic_gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.lasting = lasting
        self.topic_gone = topic_gone


@dataclass(frozen=True, slots=True)
class AppealCard:
    """The topic's first message: who writes, about what, and the account's meters."""

    appeal: Appeal
    account: Account | None
    overview: Overview | None


@dataclass(frozen=True, slots=True)
class ToResident:
    outcome: Outcome
    copy_id: int | None = None  # the message in the resident's chat


class AppealStore(Protocol):
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
    ) -> Appeal: ...

    async def get(self, appeal_id: int) -> Appeal | None: ...
    async def by_thread(self, thread_id: int) -> Appeal | None: ...
    async def of_chat(self, chat_id: int, *, open_only: bool = False) -> list[Appeal]: ...
    async def open_ones(self) -> list[Appeal]: ...
    async def undelivered(self, before: datetime) -> list[int]: ...
    async def set_thread(self, appeal_id: int, thread_id: int) -> bool: ...
    async def drop_thread(self, appeal_id: int, thread_id: int) -> bool: ...
    async def pending_posts(self, appeal_id: int) -> list[StoredPost]: ...
    async def delivered(self, post_id: int, copy_id: int | None, now: datetime) -> None: ...
    async def attachment_count(self, appeal_id: int) -> int: ...
    async def add_resident_post(self, appeal_id: int, post: Post, now: datetime) -> None: ...

    async def add_operator_post(
        self, appeal_id: int, post: Post, copy_id: int | None, now: datetime
    ) -> None: ...

    async def operator_post(self, appeal_id: int, source_id: int) -> StoredPost | None: ...
    async def answer_copied_as(self, appeal_id: int, copy_id: int) -> bool: ...
    async def mark_alerted(self, appeal_id: int, now: datetime) -> None: ...
    async def close(self, appeal_id: int, now: datetime) -> bool: ...
    async def rate(self, appeal_id: int, chat_id: int, rating: int) -> bool: ...
    async def forget_chat(self, chat_id: int, now: datetime) -> list[Appeal]: ...


class AppealDesk(Protocol):
    """The operators' forum chat and the resident's chat, as the appeal service uses them.
    Every method towards the operators raises `DeskAway` when their chat does not take it."""

    async def open_topic(self, card: AppealCard) -> int:
        """Make the appeal's topic and post the card in it; the topic's thread id."""
        ...

    async def to_topic(self, appeal: Appeal, post: Post) -> int:
        """A resident's message into the topic; the id of the message there."""
        ...

    async def note(self, appeal: Appeal, key: str, **kwargs: object) -> None:
        """A line from the bot in the topic (the resident blocked the bot, rated, …)."""
        ...

    async def close_topic(self, appeal: Appeal) -> None: ...

    async def drop_topic(self, thread_id: int) -> None:
        """Delete a topic made twice (two processes at once); the other one stays."""
        ...

    async def overdue(self, appeal: Appeal, waiting_hours: float) -> None:
        """Raise an appeal waiting too long in the operators' general topic."""
        ...

    async def to_resident(self, appeal: Appeal, post: Post) -> ToResident:
        """An operator's message, copied to the resident marked as from the billing centre."""
        ...

    async def edit_at_resident(self, appeal: Appeal, post: Post, copy_id: int) -> Outcome:
        """An operator edited a message: the resident's copy follows (or gets a note)."""
        ...

    async def closed_to_resident(self, appeal: Appeal) -> Outcome:
        """Tell the resident the appeal is closed, and offer the rating (1-5)."""
        ...
