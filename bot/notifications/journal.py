"""A run's record of what it sent, written behind in groups (see bot/notifications/sender.py)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock
from bot.notifications.messages import Outgoing
from bot.storage.deliveries import DeliveryRepository, Retrying

# Outcomes are written at most this long after Telegram answers, or once this many wait; a
# mark (which requests wait for) is written at once and carries the outcomes along.
OUTCOME_DELAY = 0.02
OUTCOMES_PER_WRITE = 256


@dataclass
class Batch:
    """Claimed chats to send, in chat order, with their messages, and what came before.

    A message is dropped from the batch when its send starts (`take`): the batch being sent
    holds only what is still to go while the next one is rendered beside it.
    """

    number: int
    chats: list[int]
    messages: list[Outgoing | None]  # chats[i]'s message; None once taken
    history: dict[int, Retrying]
    next: int = 0  # the next item to start
    marks: list[asyncio.Future[None]] = field(default_factory=list)  # items put on record
    again: deque[tuple[int, Outgoing, int]] = field(default_factory=deque)  # after a 429
    open: set[int] = field(default_factory=set)  # no outcome yet
    in_flight: set[int] = field(default_factory=set)  # request under way
    claimed_none: bool = False  # nothing was due

    @property
    def left(self) -> int:
        return len(self.chats) - self.next + len(self.again)

    def take(self, index: int) -> tuple[int, Outgoing]:
        """The chat at `index` and its message, which the batch keeps no longer."""
        message = self.messages[index]
        assert message is not None, "a message is taken once"
        self.messages[index] = None
        return self.chats[index], message


class Journal:
    """A run's record, written behind in groups (a group commit): one write carries the run's
    mark and every change asked for since the previous write. A request goes out only once a
    mark covering it is written (the future `mark` returns); outcomes are not waited for."""

    def __init__(
        self, deliveries: DeliveryRepository, campaign_id: str, run: str, clock: Clock
    ) -> None:
        self.deliveries = deliveries
        self.campaign_id = campaign_id
        self.run = run
        self.clock = clock
        self._changes: dict[int, tuple[int, str, datetime | None]] = {}
        self._mark: tuple[int, int] | None = None
        self._written: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    def _soon(self) -> asyncio.Future[None]:
        if self._error is not None:
            raise self._error
        loop = asyncio.get_running_loop()
        if self._written is None:
            self._written = loop.create_future()
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        return self._written

    def note(
        self, chat_id: int, change: str, retry_at: datetime | None = None
    ) -> asyncio.Future[None]:
        """Write this change soon; the future is done once it is written."""
        self._changes.pop(chat_id, None)  # the latest change of a chat wins, in its place
        self._changes[chat_id] = (chat_id, change, retry_at)
        return self._soon()

    def mark(self, batch: int, chat_id: int) -> asyncio.Future[None]:
        """In `batch`, the chats up to this one may be sent once the future is done."""
        self._mark = (batch, chat_id)
        return self._soon()

    async def _write(self) -> None:
        try:
            while self._changes or self._mark:
                if self._mark is None and len(self._changes) < OUTCOMES_PER_WRITE:
                    # outcomes only: nobody waits for them, so gather a few more first
                    await asyncio.sleep(OUTCOME_DELAY)
                changes, self._changes = list(self._changes.values()), {}
                mark, self._mark = self._mark, None
                written, self._written = self._written, None
                assert written is not None
                try:
                    if mark is not None:
                        await self.deliveries.mark(self.run, *mark)
                    await self.deliveries.apply(
                        self.campaign_id, changes, self.run, self.clock.now()
                    )
                except BaseException as exc:
                    self._error = exc
                    written.set_exception(exc)
                    written.exception()  # retrieved here: `flush` raises it
                    return
                written.set_result(None)
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Wait until everything asked for is written."""
        while self._writer is not None:
            await asyncio.shield(self._writer)
        if self._error is not None:
            raise self._error
