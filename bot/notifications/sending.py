"""Sending one claimed batch: workers paced by the Pacer, each request covered by the run's
mark before it goes, each outcome noted in the run's journal (see bot/notifications/sender.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import SendMessage

from bot.clock import Clock
from bot.notifications.failures import failure_kind
from bot.notifications.journal import Batch, Journal
from bot.notifications.messages import Outgoing
from bot.notifications.pacer import Pacer
from bot.services.ports import DeliveryCounts

log = logging.getLogger(__name__)

# Passing failures of one delivery are tried again after these delays (the last one repeats);
# the first four fall within RETRY_WAIT (sender.py), so a short outage is waited out in the run.
RETRY_DELAYS = (5.0, 15.0, 60.0, 180.0, 600.0, 1800.0, 3600.0)
GIVE_UP_AFTER = timedelta(days=1)
MAX_BACKOFF = 60.0  # the longest pause of all sending after passing failures in a row

_Item = tuple[int, Outgoing, int]  # chat, message, attempt (429s waited out in the run)


class BatchSending:
    """The Sender's part that sends a batch; the Sender sets these up and sizes the work."""

    bot: Bot
    clock: Clock
    pacer: Pacer
    on_blocked: Callable[[int], None]
    paid_broadcast: bool  # PAID_BROADCAST: Telegram's allow_paid_broadcast on every message
    max_attempts: int  # 429s in a row waited out in the run, per chat
    _failing: int  # passing failures in a row, across runs: all sending pauses

    @property
    def concurrency(self) -> int:
        raise NotImplementedError

    @property
    def lead(self) -> int:
        raise NotImplementedError

    async def _send(
        self,
        batch: Batch,
        counts: DeliveryCounts,
        journal: Journal,
        stopped: Callable[[], bool],
        quiet_now: Callable[[], bool],
    ) -> None:
        workers = min(self.concurrency, batch.left)
        await asyncio.gather(
            *(self._worker(batch, counts, journal, stopped, quiet_now) for _ in range(workers))
        )

    def _settle(self, batch: Batch, journal: Journal, counts: DeliveryCounts) -> None:
        """What a batch left without an outcome: unsent back to pending; a request cut short
        (a cancelled run) unknown, as it may have arrived."""
        for chat_id in batch.open:
            if chat_id in batch.in_flight:
                journal.note(chat_id, "unknown")
                counts.unknown += 1
            else:
                journal.note(chat_id, "pending")
        batch.open.clear()
        batch.next = len(batch.chats)
        batch.again.clear()

    def _put_on_record(self, batch: Batch, journal: Journal, index: int) -> bool:
        """Keep the run's mark up to `lead` items past `index`, moving it once half of that
        is used up: the request of each item may go once a mark covering it is written, and
        that write is under way well before its turn. True when the mark was moved."""
        if len(batch.marks) - index > self.lead // 2:
            return False
        end = min(len(batch.chats), index + 1 + self.lead)
        if end <= len(batch.marks):
            return False
        written = journal.mark(batch.number, batch.chats[end - 1])
        batch.marks += [written] * (end - len(batch.marks))
        return True

    def _passing_failure(self, chat_id: int, batch: Batch) -> tuple[str, datetime | None]:
        """Try again later, or give up after a day of failures."""
        self._failing += 1
        self.pacer.hold(min(2.0 ** (self._failing - 1), MAX_BACKOFF))
        now = self.clock.now()
        past = batch.history.get(chat_id)
        attempts = past.attempts if past else 0
        since = past.failing_since if past and past.failing_since else now
        if now - since >= GIVE_UP_AFTER:
            return "given_up", None
        delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS) - 1)]
        return "retry", now + timedelta(seconds=delay)

    async def _next_item(self, batch: Batch, journal: Journal) -> _Item | None:
        """The next message to send (once the run's mark covers it), or None when done."""
        if batch.again:
            return batch.again.popleft()  # covered by the mark already
        if batch.next >= len(batch.chats):
            return None
        index = batch.next
        batch.next += 1
        if self._put_on_record(batch, journal, index) or index % 16 == 0:
            # the mark's write starts now, and one done is taken in, while we send
            # on (sends that never wait, as to a local server, would starve them)
            await asyncio.sleep(0)
        written = batch.marks[index]
        if not written.done():
            # shielded: a cancelled worker must not cancel the write others wait for
            await asyncio.shield(written)
        elif (error := written.exception()) is not None:
            raise error
        return (*batch.take(index), 1)

    async def _worker(
        self,
        batch: Batch,
        counts: DeliveryCounts,
        journal: Journal,
        stopped: Callable[[], bool],
        quiet_now: Callable[[], bool],
    ) -> None:
        while (item := await self._next_item(batch, journal)) is not None:
            chat_id, message, _ = item
            if not await self.pacer.wait(stopped) or quiet_now():
                batch.again.appendleft(item)  # not sent: the batch's settling hands it back
                return
            batch.in_flight.add(chat_id)
            retry_at = None
            try:
                await self.bot(
                    SendMessage(
                        chat_id=chat_id,
                        text=message.text,
                        reply_markup=message.reply_markup,
                        allow_paid_broadcast=self.paid_broadcast or None,
                    )
                )
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                batch.in_flight.discard(chat_id)
                failed = self._failed(exc, item, batch, counts, journal)
                if failed is None:
                    continue  # waited out in this run
                change, retry_at = failed
            else:
                change = "sent"
                self._failing = 0
                batch.in_flight.discard(chat_id)
            batch.open.discard(chat_id)
            journal.note(chat_id, change, retry_at)
            if change != "retry":
                setattr(counts, change, getattr(counts, change) + 1)

    def _failed(
        self,
        exc: BaseException,
        item: _Item,
        batch: Batch,
        counts: DeliveryCounts,
        journal: Journal,
    ) -> tuple[str, datetime | None] | None:
        """The change a failed send makes, or None when it goes back in line (a 429)."""
        chat_id, message, attempt = item
        change, retry_at = failure_kind(exc), None
        if isinstance(exc, TelegramRetryAfter):
            self.pacer.hold(exc.retry_after)  # the limit is the whole bot's
            if attempt < self.max_attempts:
                counts.retried += 1
                batch.again.appendleft((chat_id, message, attempt + 1))
                return None
        if change == "retry":
            change, retry_at = self._passing_failure(chat_id, batch)
            counts.retried += change == "retry"
        elif change == "blocked":
            self.on_blocked(chat_id)
        log.warning(
            "%s: chat %s: %s (%s)",
            journal.campaign_id,
            chat_id,
            change.replace("_", " "),
            type(exc).__name__ if change != "failed" else exc,
        )
        return change, retry_at
