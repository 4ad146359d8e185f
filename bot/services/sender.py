"""The one sender of reminders and announcements: paced, resumable, every message on record.

A run claims a small batch of a campaign's due deliveries ('claimed' by the run, numbered),
renders it and sends it at most BROADCAST_RATE a second, in chat order. Before a request goes
out, the run's mark in the database covers it ("in batch n, every chat up to c may have been
sent"); each outcome is written soon after Telegram answers. Both are written behind in
groups (one write carries the mark and every outcome asked for since the previous one), and
the mark runs `lead` messages ahead, so sending seldom waits for the database. A process
killed mid-run leaves claimed rows, which the next run resolves:
- above the mark: never sent, pending again, sent by that run;
- at or below it (or of an earlier batch) without an outcome: the requests under way at the
  kill (at most `concurrency`), the answers not yet written, and at most `lead` next in line.
  Nobody knows whether those arrived; they become 'unknown' and are never sent again (at most
  once per chat and campaign, SPEC §7).

Failures: 403 marks the chat blocked, 400 and other refusals fail for good. 5xx, 429 and a
connection that could not be made never delivered anything: retried with back-off in the run,
and in later runs, until the delivery has failed for a day (given up). A timeout or a connection
lost after the request went out may have delivered it: unknown, as for a kill.
No request starts in QUIET_HOURS: a run that reaches them hands its claims back and stops.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardMarkup

from bot.clock import Clock, FrozenClock
from bot.domain.quiet_hours import QuietHours
from bot.services.owners import ProcessOwner
from bot.storage.deliveries import DeliveryRepository, Retrying

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# Passing failures of one delivery are tried again after these delays (the last one repeats);
# the first four fall within RETRY_WAIT, so a short outage is waited out inside the run.
RETRY_DELAYS = (5.0, 15.0, 60.0, 180.0, 600.0, 1800.0, 3600.0)
RETRY_WAIT = timedelta(minutes=5)  # a run waits for a retry due within this, else leaves it
GIVE_UP_AFTER = timedelta(days=1)
DEFER_FOR = timedelta(minutes=1)  # a resident mid-walk is asked again this much later
DEFER_LIMIT = timedelta(minutes=30)  # and held back no longer than this: a walk left open
MAX_BACKOFF = 60.0  # the longest pause of all sending after passing failures in a row
# Outcomes are written at most this long after Telegram answers, or once this many wait; a
# mark (which requests wait for) is written at once and carries the outcomes along.
OUTCOME_DELAY = 0.02
OUTCOMES_PER_WRITE = 256


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as a resident will see it."""

    text: str
    reply_markup: InlineKeyboardMarkup | None = None


# Renders a batch of chats (in chat order); a chat left out is no longer due and is skipped.
Renderer = Callable[[Sequence[int]], Awaitable[Mapping[int, Outgoing]]]
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


_NEVER_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def failure_kind(exc: BaseException) -> str:
    """What a failed send means: 'retry' (surely not delivered, may be next time), 'unknown'
    (the request went out and may have been delivered), 'blocked' or 'failed' (for good)."""
    if isinstance(exc, TelegramForbiddenError):
        return "blocked"
    if isinstance(exc, TelegramServerError | TelegramRetryAfter | ConnectionRefusedError):
        return "retry"
    if isinstance(exc, TelegramNetworkError):
        cause = exc.__cause__
        # the connection was never made, so the request never left
        never_sent = isinstance(
            cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
        )
        return "retry" if never_sent else "unknown"
    if isinstance(exc, OSError | TimeoutError):
        return "unknown"
    return "failed"


@dataclass
class _Batch:
    """Claimed chats to send, in chat order, with their messages, and what came before."""

    number: int
    items: list[tuple[int, Outgoing]]
    history: dict[int, Retrying]
    next: int = 0  # the next item to start
    marks: list[asyncio.Future[None]] = field(default_factory=list)  # items put on record
    again: deque[tuple[int, Outgoing, int]] = field(default_factory=deque)  # after a 429
    open: set[int] = field(default_factory=set)  # no outcome yet
    in_flight: set[int] = field(default_factory=set)  # request under way
    claimed_none: bool = False  # nothing was due

    @property
    def left(self) -> int:
        return len(self.items) - self.next + len(self.again)


class _Journal:
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
        quiet: QuietHours | None = None,
        tz: tzinfo = UTC,
        owner: ProcessOwner | None = None,
        concurrency: int | None = None,
        claim_size: int | None = None,
        max_attempts: int = 5,
    ) -> None:
        self.bot = bot
        self.deliveries = deliveries
        self.clock = clock
        self.pacer = pacer
        self.on_blocked = on_blocked
        self.quiet = quiet
        self.tz = tz
        self.max_attempts = max_attempts  # 429s in a row waited out in the run, per chat
        if owner is None:
            path = deliveries.db.path
            owner = ProcessOwner(None if path == ":memory:" else Path(path).parent / "senders")
        self.owner = owner
        self._concurrency = concurrency
        self._claim_size = claim_size
        self._stopping = False
        self._failing = 0  # passing failures in a row, across runs: all sending pauses
        self._runs = 0

    # Sends in flight at once: Telegram answers in ~0.1 s, so pacing needs a few in parallel.
    # With `lead`, the most a kill can leave unknown.
    @property
    def concurrency(self) -> int:
        if self._concurrency:
            return self._concurrency
        rate = self.pacer.rate
        return 16 if rate is None else max(4, min(64, math.ceil(rate / 2)))

    # How far the mark runs ahead of the requests, to hide the write's latency: with the
    # requests under way, the most a kill can leave unknown. A tenth of a second of sending;
    # unpaced (benchmarks and tests: production always has BROADCAST_RATE), the whole batch.
    @property
    def lead(self) -> int:
        rate = self.pacer.rate
        if rate is None:
            return self.claim_size
        return max(1, min(self.concurrency, math.ceil(rate / 10)))

    # A claim covers about two seconds of sending; a killed run's claims are sent again.
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

    def close(self) -> None:
        self.owner.release()

    def quiet_until(self) -> datetime | None:
        """The end of the quiet hours we are in now, or None outside them."""
        if self.quiet is None:
            return None
        now = self.clock.now()
        return self.quiet.end_after(now, self.tz) if self.quiet.quiet_at(now, self.tz) else None

    async def recover(self, campaign_id: str) -> tuple[int, int]:
        """Resolve the rows of runs whose process is gone: those whose request may have gone
        out are unknown, the others pending again. Returns (pending again, unknown)."""
        dead = [
            run
            for run in await self.deliveries.runs(campaign_id)
            if not self.owner.alive(run.partition("/")[0])
        ]
        if not dead:
            return 0, 0
        again, unknown = await self.deliveries.resolve_abandoned(
            campaign_id, dead, self.clock.now()
        )
        log.warning(
            "%s: a run that died left %d claimed (to be sent now) and %d in flight"
            " (unknown: never sent again)",
            campaign_id,
            again,
            unknown,
        )
        return again, unknown

    async def run(
        self,
        campaign_id: str,
        render: Renderer,
        *,
        progress: Callable[[DeliveryCounts], Awaitable[None]] | None = None,
        stop: asyncio.Event | None = None,
        hold_back: HoldBack | None = None,
    ) -> DeliveryCounts:
        """Send the campaign's due deliveries until none is left, a stop is asked or quiet
        hours begin; waits in between for retries due within RETRY_WAIT.

        A pipeline: while one batch is being sent, the next is claimed and rendered, and the
        outcomes are written behind, so the database works while Python sends.
        """
        quiet = False

        def stopped() -> bool:
            return quiet or self._stopping or (stop is not None and stop.is_set())

        def quiet_now() -> bool:
            nonlocal quiet
            quiet = quiet or (quiet_from is not None and self.clock.now() >= quiet_from)
            return quiet

        counts = DeliveryCounts()
        counts.unknown += (await self.recover(campaign_id))[1]
        if stopped() or self.quiet_until() is not None:
            return counts
        # compared with each turn: one datetime comparison, not a time zone conversion
        quiet_from = (
            None if self.quiet is None else self.quiet.start_after(self.clock.now(), self.tz)
        )
        self.owner.hold()
        self._runs += 1
        journal = _Journal(
            self.deliveries, campaign_id, f"{self.owner.token}/{self._runs}", self.clock
        )
        loop = asyncio.get_running_loop()
        batches = itertools.count(1)

        def prepare() -> asyncio.Task[_Batch]:
            return loop.create_task(
                self._prepare(campaign_id, next(batches), render, hold_back, journal, counts)
            )

        ahead: asyncio.Task[_Batch] | None = prepare()
        try:
            while ahead is not None:
                # shielded: a cancelled run must still learn which chats it had claimed
                batch = await asyncio.shield(ahead)
                ahead = None
                if batch.claimed_none:
                    await journal.flush()  # the retries just noted count as pending
                    if await self._wait_for_retry(campaign_id, stopped):
                        ahead = prepare()
                    continue
                if not batch.items:  # all held back or skipped
                    if not stopped():
                        ahead = prepare()
                    continue
                if not stopped():
                    ahead = prepare()
                try:
                    await self._send(batch, counts, journal, stopped, quiet_now)
                finally:
                    self._settle(batch, journal, counts)
                if progress is not None:
                    await progress(counts)
        finally:
            if ahead is not None:  # claimed ahead, never sent: back to pending
                try:
                    batch = await asyncio.shield(ahead)
                except Exception:
                    log.exception("%s: preparing a batch failed", campaign_id)
                else:
                    self._settle(batch, journal, counts)
            await asyncio.shield(journal.flush())
            # every row it claimed is settled: nothing of this run to resolve after a crash
            await asyncio.shield(self.deliveries.end_run(journal.run))
        return counts

    async def _prepare(
        self,
        campaign_id: str,
        number: int,
        render: Renderer,
        hold_back: HoldBack | None,
        journal: _Journal,
        counts: DeliveryCounts,
    ) -> _Batch:
        now = self.clock.now()
        claimed, history = await self.deliveries.claim(
            campaign_id, self.claim_size, now, journal.run, number
        )
        if not claimed:
            return _Batch(number, [], history, claimed_none=True)
        try:
            held: set[int] = set()
            if hold_back is not None:
                # held back long enough: a walk left open does not keep its reminder forever
                cutoff = now - DEFER_LIMIT
                askable = [
                    chat_id
                    for chat_id in claimed
                    if (past := history.get(chat_id)) is None
                    or past.deferred_since is None
                    or past.deferred_since > cutoff
                ]
                held = await hold_back(askable) if askable else set()
            wanted = [chat_id for chat_id in claimed if chat_id not in held]
            outgoing = await render(wanted) if wanted else {}
        except BaseException:
            for chat_id in claimed:
                journal.note(chat_id, "pending")
            raise
        for chat_id in held:
            journal.note(chat_id, "defer", now + DEFER_FOR)
        counts.deferred += len(held)
        items: list[tuple[int, Outgoing]] = []
        for chat_id in wanted:
            message = outgoing.get(chat_id)
            if message is None:
                journal.note(chat_id, "skipped")
                counts.skipped += 1
            else:
                items.append((chat_id, message))
        return _Batch(number, items, history, open={chat_id for chat_id, _ in items})

    async def _wait_for_retry(self, campaign_id: str, stopped: Callable[[], bool]) -> bool:
        """Nothing is due: wait for the next retry if it comes within RETRY_WAIT."""
        if stopped():
            return False
        at = await self.deliveries.next_retry(campaign_id)
        if at is None:
            return False
        wait = (at - self.clock.now()).total_seconds()
        if wait > RETRY_WAIT.total_seconds():
            return False  # a later run tries it (the scheduler's resume job)
        deadline = self.pacer.monotonic() + max(wait, 0.0)
        while (left := deadline - self.pacer.monotonic()) > 0:
            if stopped():
                return False
            await self.pacer.sleep(min(left, Pacer.MAX_NAP))
        return not stopped()

    async def _send(
        self,
        batch: _Batch,
        counts: DeliveryCounts,
        journal: _Journal,
        stopped: Callable[[], bool],
        quiet_now: Callable[[], bool],
    ) -> None:
        workers = min(self.concurrency, batch.left)
        await asyncio.gather(
            *(self._worker(batch, counts, journal, stopped, quiet_now) for _ in range(workers))
        )

    def _settle(self, batch: _Batch, journal: _Journal, counts: DeliveryCounts) -> None:
        """What a batch left without an outcome: unsent back to pending; a request cut short
        (a cancelled run) unknown, as it may have arrived."""
        for chat_id in batch.open:
            if chat_id in batch.in_flight:
                journal.note(chat_id, "unknown")
                counts.unknown += 1
            else:
                journal.note(chat_id, "pending")
        batch.open.clear()
        batch.next = len(batch.items)
        batch.again.clear()

    def _put_on_record(self, batch: _Batch, journal: _Journal, index: int) -> bool:
        """Keep the run's mark up to `lead` items past `index`, moving it once half of that
        is used up: the request of each item may go once a mark covering it is written, and
        that write is under way well before its turn. True when the mark was moved."""
        if len(batch.marks) - index > self.lead // 2:
            return False
        end = min(len(batch.items), index + 1 + self.lead)
        if end <= len(batch.marks):
            return False
        written = journal.mark(batch.number, batch.items[end - 1][0])
        batch.marks += [written] * (end - len(batch.marks))
        return True

    def _passing_failure(self, chat_id: int, batch: _Batch) -> tuple[str, datetime | None]:
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

    async def _worker(
        self,
        batch: _Batch,
        counts: DeliveryCounts,
        journal: _Journal,
        stopped: Callable[[], bool],
        quiet_now: Callable[[], bool],
    ) -> None:
        while True:
            if batch.again:
                item = batch.again.popleft()  # covered by the mark already
            elif batch.next < len(batch.items):
                index = batch.next
                batch.next += 1
                item = (*batch.items[index], 1)
                if self._put_on_record(batch, journal, index) or index % 16 == 0:
                    # the mark's write starts now, and one done is taken in, while we send
                    # on (sends that never wait, as to a local server, would starve them)
                    await asyncio.sleep(0)
                written = batch.marks[index]
                if not written.done():
                    # shielded: a cancelled worker must not cancel the write others wait for
                    await asyncio.shield(written)
                elif written.exception() is not None:
                    raise written.exception()  # type: ignore[misc]
            else:
                return
            chat_id, message, attempt = item
            if not await self.pacer.wait(stopped) or quiet_now():
                batch.again.appendleft(item)  # not sent: the batch's settling hands it back
                return
            batch.in_flight.add(chat_id)
            retry_at = None
            try:
                await self.bot(
                    SendMessage(
                        chat_id=chat_id, text=message.text, reply_markup=message.reply_markup
                    )
                )
            except (TelegramAPIError, OSError, TimeoutError) as exc:
                batch.in_flight.discard(chat_id)
                change = failure_kind(exc)
                if isinstance(exc, TelegramRetryAfter):
                    self.pacer.hold(exc.retry_after)  # the limit is the whole bot's
                    if attempt < self.max_attempts:
                        counts.retried += 1
                        batch.again.appendleft((chat_id, message, attempt + 1))
                        continue
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
            else:
                change = "sent"
                self._failing = 0
                batch.in_flight.discard(chat_id)
            batch.open.discard(chat_id)
            journal.note(chat_id, change, retry_at)
            if change != "retry":
                setattr(counts, change, getattr(counts, change) + 1)
