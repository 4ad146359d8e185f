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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from aiogram import Bot

from bot.clock import Clock
from bot.domain.quiet_hours import QuietHours
from bot.notifications.journal import Batch, Journal
from bot.notifications.messages import Outgoing
from bot.notifications.pacer import Pacer
from bot.notifications.sending import BatchSending
from bot.services.owners import DeliveryOwner, ProcessOwner
from bot.services.ports import DeliveryCounts, HoldBack, Render
from bot.storage.deliveries import DeliveryRepository

log = logging.getLogger(__name__)

RETRY_WAIT = timedelta(minutes=5)  # a run waits for a retry due within this, else leaves it
DEFER_FOR = timedelta(minutes=1)  # a resident mid-walk is asked again this much later
DEFER_LIMIT = timedelta(minutes=30)  # and held back no longer than this: a walk left open


class Sender(BatchSending):
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
        owner: DeliveryOwner | None = None,
        concurrency: int | None = None,
        claim_size: int | None = None,
        max_attempts: int = 5,
        paid_broadcast: bool = False,
    ) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast
        self.deliveries = deliveries
        self.clock = clock
        self.pacer = pacer
        self.on_blocked = on_blocked
        self.quiet = quiet
        self.tz = tz
        self.max_attempts = max_attempts  # 429s in a row waited out in the run, per chat
        if owner is None:
            # beside a SQLite file; PostgreSQL's owners are given by bot/app.py
            path = getattr(deliveries.db, "path", ":memory:")
            owner = ProcessOwner(None if path == ":memory:" else Path(path).parent / "senders")
        self.owner: DeliveryOwner = owner
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
        """Every run finishes the sends in hand, records them and returns (shutdown, or the
        leader lease lost)."""
        self._stopping = True

    def allow_sending(self) -> None:
        """Runs may start again (the leader lease taken back after it was lost)."""
        self._stopping = False

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
            if not await self.owner.alive(run.partition("/")[0])
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
        render: Render,
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
        journal = Journal(
            self.deliveries, campaign_id, f"{self.owner.token}/{self._runs}", self.clock
        )
        loop = asyncio.get_running_loop()
        batches = itertools.count(1)

        def prepare() -> asyncio.Task[Batch]:
            return loop.create_task(
                self._prepare(campaign_id, next(batches), render, hold_back, journal, counts)
            )

        await self._pipeline(prepare, journal, counts, stopped, quiet_now, progress)
        return counts

    async def _pipeline(
        self,
        prepare: Callable[[], asyncio.Task[Batch]],
        journal: Journal,
        counts: DeliveryCounts,
        stopped: Callable[[], bool],
        quiet_now: Callable[[], bool],
        progress: Callable[[DeliveryCounts], Awaitable[None]] | None,
    ) -> None:
        """Batch after batch, the next claimed and rendered while this one is sent."""
        campaign_id = journal.campaign_id
        ahead: asyncio.Task[Batch] | None = prepare()
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
                if not stopped():
                    ahead = prepare()
                if not batch.chats:  # all held back or skipped
                    continue
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

    async def _prepare(
        self,
        campaign_id: str,
        number: int,
        render: Render,
        hold_back: HoldBack | None,
        journal: Journal,
        counts: DeliveryCounts,
    ) -> Batch:
        now = self.clock.now()
        claimed, history = await self.deliveries.claim(
            campaign_id, self.claim_size, now, journal.run, number
        )
        if not claimed:
            return Batch(number, [], [], history, claimed_none=True)
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
            rendered = await render(wanted) if wanted else {}
            outgoing = {chat_id: Outgoing.of(message) for chat_id, message in rendered.items()}
        except BaseException:
            for chat_id in claimed:
                journal.note(chat_id, "pending")
            raise
        for chat_id in held:
            journal.note(chat_id, "defer", now + DEFER_FOR)
        counts.deferred += len(held)
        chats: list[int] = []
        messages: list[Outgoing | None] = []
        for chat_id in wanted:
            found = outgoing.get(chat_id)
            if found is None:
                journal.note(chat_id, "skipped")
                counts.skipped += 1
            else:
                chats.append(chat_id)
                messages.append(found)
        return Batch(number, chats, messages, history, open=set(chats))

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
