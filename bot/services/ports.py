"""What the services ask of the outbound side, without knowing Telegram (bot/notifications).

Services decide which campaign goes to whom and when; bot/notifications renders the messages
(texts in the chat's language, keyboards) and sends them, rate-limited. The services see a
message only as an opaque `Message` they pass from a renderer to a deliverer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Protocol

from bot.domain.campaigns import Campaign, Notice, RecipientAccount, RecipientMeter
from bot.domain.outbox import Answer
from bot.domain.periods import Period


class Message(Protocol):
    """A message built by a renderer, ready for the deliverer; opaque to the services."""


# Renders a batch of chats (in chat order); a chat left out is no longer due and is skipped.
Render = Callable[[Sequence[int]], Awaitable[Mapping[int, Message]]]
# Which of these chats must not be sent anything just now (a resident mid-walk).
HoldBack = Callable[[Sequence[int]], Awaitable[set[int]]]


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0  # refused for good (400 and the like)
    blocked: int = 0
    skipped: int = 0
    retried: int = 0  # passing failures (5xx, 429, no connection), each to be tried again
    given_up: int = 0  # failing for a day: not tried again
    unknown: int = 0  # may or may not have arrived (in flight at a kill, a timeout): not resent
    deferred: int = 0  # held back for a while: the resident was in a submission walk

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked + self.skipped + self.given_up + self.unknown

    def add(self, other: DeliveryCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Deliverer(Protocol):
    """Sends a campaign's due deliveries, paced, each outcome on record (the Sender)."""

    @property
    def stopping(self) -> bool: ...

    def quiet_until(self) -> datetime | None:
        """The end of the quiet hours we are in now, or None outside them."""
        ...

    async def run(
        self,
        campaign_id: str,
        render: Render,
        *,
        progress: Callable[[DeliveryCounts], Awaitable[None]] | None = None,
        stop: asyncio.Event | None = None,
        hold_back: HoldBack | None = None,
    ) -> DeliveryCounts: ...


class ReminderRenderer(Protocol):
    """A reminder's message for one chat, in the chat's stored language."""

    def opening(self, period: Period, accounts: Sequence[tuple[RecipientAccount, date]]) -> Message:
        """The window for `period` opened: each account with the day it closes."""
        ...

    def closing(
        self, closes: date, days: int, unread: Sequence[tuple[Period, RecipientMeter]]
    ) -> Message:
        """The window closes in `days` days: the meters still unread (in the chat's order),
        each with the period it lacks a reading for."""
        ...

    def verification(self, meter: RecipientMeter, due: date, days: int) -> Message:
        """The meter's verification is due in `days` days."""
        ...


class Progress(Protocol):
    """The operator's progress message of one announcement."""

    async def update(self, counts: DeliveryCounts) -> None: ...

    async def final(
        self,
        counts: DeliveryCounts,
        *,
        finished: bool,
        quiet_until: datetime | None,
        interrupted: bool,
    ) -> None: ...


class AnnouncementRenderer(Protocol):
    """An operator's announcement as residents see it, and the operator's progress message."""

    def message(self, text: str) -> Message: ...

    def progress(self, campaign: Campaign, before: Mapping[str, int]) -> Progress:
        """`before`: the campaign's delivery counts by status when this run started."""
        ...


class NoticeDeliverer(Protocol):
    """Says one queued notice to its chat: 'sent', 'blocked' or 'failed' (for good), or
    None when Telegram cannot take it now (it stays pending for the next run)."""

    async def deliver(self, notice: Notice) -> str | None: ...


class EventPoster(Protocol):
    """Posts one event to the billing system, signed (bot/billing/poster.py)."""

    url: str

    async def post(self, event_id: str, body: bytes) -> Answer: ...
    async def close(self) -> None: ...
