"""The one sender of reminders and announcements: paced, resumable, recorded in batches.

A run claims a small batch of a campaign's pending deliveries (they become 'sending' in one
statement), renders them, sends them at most BROADCAST_RATE a second, and records every outcome
of the batch in one transaction. What a killed process leaves in 'sending' is never sent again,
so no chat gets a campaign twice; a stopped or cancelled run hands its unsent claims back, so the
next run sends exactly the rest.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from bot.clock import Clock, FrozenClock
from bot.storage.deliveries import DeliveryRepository

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a resident will see it."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None


# Renders a batch of chats (in chat order); a chat left out is no longer due and is skipped.
Renderer = Callable[[Sequence[int]], Awaitable[Mapping[int, Outgoing]]]


@dataclass
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    skipped: int = 0
    retried: int = 0  # 429 answers that were waited out

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked + self.skipped

    def add(self, other: DeliveryCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Batch:
    """Claimed chats, their messages, and what became of each."""

    claimed: list[int]
    outgoing: Mapping[int, Outgoing]
    results: list[tuple[int, str]] = field(default_factory=list)
    in_flight: set[int] = field(default_factory=set)


class Pacer:
    """At most `rate` releases in any one-second span, evenly spaced, on an injectable clock.

    Releases are 1/rate apart; a sliding record of the last ⌊rate⌋ releases makes sure no
    span of one second ever holds more, even after a late wake-up. `hold` pauses everyone
    (a 429 answers for the whole bot, not for one chat). `rate` None: no pacing, only holds.
    """

    MAX_NAP = 0.5  # sleep in short naps, so a stop request is noticed soon
    EPSILON = 1e-6

    def __init__(
        self,
        rate: float | None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.interval = 0.0 if rate is None else 1.0 / rate
        per_second = 0 if rate is None or rate < 1 else math.floor(rate)
        self._recent: deque[float] = deque(maxlen=per_second or None)
        self._per_second = per_second
        self._slot = -math.inf
        self._hold_until = -math.inf
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        self._hold_until = max(self._hold_until, self.monotonic() + seconds)

    def _earliest(self) -> float:
        at = max(self._slot + self.interval, self._hold_until)
        if self._per_second and len(self._recent) == self._per_second:
            # strictly later: not even a closed one-second span holds more than ⌊rate⌋
            at = max(at, self._recent[0] + 1.0 + self.EPSILON)
        return at

    async def _wait_until(self, stopped: Callable[[], bool]) -> float | None:
        while True:
            now = self.monotonic()
            at = self._earliest()
            if at <= now:
                return now
            if stopped():
                return None
            await self.sleep(min(at - now, self.MAX_NAP))

    async def wait(self, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Wait for the next slot; False when `stopped()` turned true meanwhile."""
        if self.rate is None:
            return await self._wait_until(stopped) is not None
        async with self._lock:
            if stopped():
                return False
            now = await self._wait_until(stopped)
            if now is None:
                return False
            # keep the schedule after a slightly late wake-up, but bank no idle time
            at = self._earliest()
            self._slot = at if now - at < self.interval else now
            if self._per_second:
                self._recent.append(now)
            return True


class ManualTime:
    """A time source that moves only when slept on: the Pacer's clock in tests and benchmarks.

    With a FrozenClock, the clock moves along, so recorded timestamps agree.
    """

    def __init__(self, start: float = 0.0, clock: FrozenClock | None = None) -> None:
        self.now = start
        self.clock = clock

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            if self.clock is not None:
                self.clock.advance(seconds=seconds)
        await asyncio.sleep(0)


class Sender:
    def __init__(
        self,
        bot: Bot,
        deliveries: DeliveryRepository,
        clock: Clock,
        pacer: Pacer,
        *,
        on_blocked: Callable[[int], None] = lambda chat_id: None,
        concurrency: int | None = None,
        claim_size: int | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.bot = bot
        self.deliveries = deliveries
        self.clock = clock
        self.pacer = pacer
        self.on_blocked = on_blocked
        self.max_attempts = max_attempts
        self._concurrency = concurrency
        self._claim_size = claim_size
        self._stopping = False

    # Sends in flight at once: Telegram answers in ~0.1 s, so pacing needs a few in parallel.
    @property
    def concurrency(self) -> int:
        if self._concurrency:
            return self._concurrency
        rate = self.pacer.rate
        return 16 if rate is None else max(4, min(64, math.ceil(rate / 2)))

    # A claim covers about two seconds of sending: what a killed process can leave unsent.
    @property
    def claim_size(self) -> int:
        if self._claim_size:
            return self._claim_size
        rate = self.pacer.rate
        return 1000 if rate is None else max(10, min(1000, math.ceil(rate * 2)))

    def request_stop(self) -> None:
        """Every run finishes the sends in hand, records them and returns (shutdown)."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def run(
        self,
        campaign_id: str,
        render: Renderer,
        *,
        progress: Callable[[DeliveryCounts], Awaitable[None]] | None = None,
        stop: asyncio.Event | None = None,
    ) -> DeliveryCounts:
        """Send the campaign's pending deliveries until none is left or a stop is asked.

        A pipeline: while one batch is being sent, the next is claimed and rendered and the
        previous one recorded, so the database works while Python sends.
        """

        def stopped() -> bool:
            return self._stopping or (stop is not None and stop.is_set())

        loop = asyncio.get_running_loop()
        counts = DeliveryCounts()
        ahead: asyncio.Task[_Batch] | None = None
        recording: asyncio.Task[None] | None = None
        try:
            if not stopped():
                ahead = loop.create_task(self._prepare(campaign_id, render))
            while ahead is not None:
                # shielded: a cancelled run must still learn which chats it had claimed
                batch = await asyncio.shield(ahead)
                ahead = None
                if not batch.claimed:
                    break
                if not stopped():
                    ahead = loop.create_task(self._prepare(campaign_id, render))
                try:
                    await self._send(campaign_id, batch, counts, stopped)
                finally:
                    if recording is not None:
                        await asyncio.shield(recording)
                    recording = loop.create_task(self._settle(campaign_id, batch))
                if progress is not None:
                    await progress(counts)
        finally:
            if ahead is not None:  # claimed ahead, never sent: back to pending
                try:
                    batch = await asyncio.shield(ahead)
                except Exception:
                    log.exception("%s: preparing a batch failed", campaign_id)
                else:
                    await asyncio.shield(
                        self.deliveries.release(campaign_id, batch.claimed, self.clock.now())
                    )
            if recording is not None:
                await asyncio.shield(recording)
        return counts

    async def _prepare(self, campaign_id: str, render: Renderer) -> _Batch:
        claimed = await self.deliveries.claim(campaign_id, self.claim_size, self.clock.now())
        if not claimed:
            return _Batch(claimed, {})
        try:
            return _Batch(claimed, await render(claimed))
        except BaseException:
            await asyncio.shield(self.deliveries.release(campaign_id, claimed, self.clock.now()))
            raise

    async def _send(
        self,
        campaign_id: str,
        batch: _Batch,
        counts: DeliveryCounts,
        stopped: Callable[[], bool],
    ) -> None:
        queue: deque[tuple[int, Outgoing, int]] = deque()
        for chat_id in batch.claimed:
            message = batch.outgoing.get(chat_id)
            if message is None:
                batch.results.append((chat_id, "skipped"))
                counts.skipped += 1
            else:
                queue.append((chat_id, message, 1))
        # each message is dropped once sent: a batch in hand holds only what is still to go
        batch.outgoing = {}
        workers = min(self.concurrency, len(queue))
        await asyncio.gather(
            *(
                self._worker(campaign_id, queue, batch.results, batch.in_flight, counts, stopped)
                for _ in range(workers)
            )
        )

    async def _settle(self, campaign_id: str, batch: _Batch) -> None:
        # unknown outcomes (a send cancelled midway) stay 'sending': never sent twice
        settled = {chat_id for chat_id, _ in batch.results} | batch.in_flight
        unsent = [chat_id for chat_id in batch.claimed if chat_id not in settled]
        now = self.clock.now()
        await self.deliveries.record(campaign_id, batch.results, now)
        await self.deliveries.release(campaign_id, unsent, now)

    async def _worker(
        self,
        campaign_id: str,
        queue: deque[tuple[int, Outgoing, int]],
        results: list[tuple[int, str]],
        in_flight: set[int],
        counts: DeliveryCounts,
        stopped: Callable[[], bool],
    ) -> None:
        while queue:
            item = queue.popleft()
            if not await self.pacer.wait(stopped):
                queue.appendleft(item)
                return
            chat_id, message, attempt = item
            in_flight.add(chat_id)
            try:
                await self.bot(
                    SendMessage(
                        chat_id=chat_id, text=message.text, reply_markup=message.reply_markup
                    )
                )
            except TelegramRetryAfter as exc:
                in_flight.discard(chat_id)
                self.pacer.hold(exc.retry_after)
                if attempt < self.max_attempts:
                    counts.retried += 1
                    queue.appendleft((chat_id, message, attempt + 1))
                    continue
                log.warning("%s: chat %s still rate-limited, giving up", campaign_id, chat_id)
                status = "failed"
            except TelegramForbiddenError:
                status = "blocked"
                self.on_blocked(chat_id)
            except TelegramBadRequest as exc:
                log.warning("%s: chat %s refused: %s", campaign_id, chat_id, exc.message)
                status = "failed"
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                log.warning("%s: chat %s failed: %s", campaign_id, chat_id, type(exc).__name__)
                status = "failed"
            else:
                status = "sent"
            in_flight.discard(chat_id)
            results.append((chat_id, status))
            setattr(counts, status, getattr(counts, status) + 1)
