"""The reminder job at REMINDER_TIME in TIMEZONE, started and stopped with the bot.

On start the bot also catches up: unfinished reminders and announcements resume at once, and if
today's REMINDER_TIME has already passed, today's job runs now (what it sends is recorded, so
it never sends anything twice). In QUIET_HOURS nothing is sent: the resume job, every minute,
goes on with what waits (the end of quiet hours, a retry come due, a resident's walk over).
With several replicas, all of this happens only in the one holding the leader lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, time, tzinfo
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import Clock
from bot.leadership import Leadership, Lease, LocalLease
from bot.services.broadcasts import BroadcastService
from bot.services.notices import NoticeService
from bot.services.outbox import OutboxDispatcher
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)

JOB_ID = "reminders"
RESUME_JOB_ID = "resume-deliveries"
RESUME_SECONDS = 60
STOP_GRACE_SECONDS = 2.0  # announcements record their sends (a part of run.STOP_BUDGET_SECONDS)


def reminder_trigger(at: time, tz: tzinfo) -> CronTrigger:
    return CronTrigger(hour=at.hour, minute=at.minute, second=0, timezone=tz)


def next_run_times(trigger: CronTrigger, after: datetime, count: int) -> list[datetime]:
    """The next `count` moments the trigger fires strictly after `after` (aware datetimes)."""
    times: list[datetime] = []
    previous: datetime | None = None
    now = after
    while len(times) < count:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None:
            break
        if fire > after:
            times.append(fire)
        previous = fire
        now = fire
    return times


class ReminderScheduler:
    """An AsyncIOScheduler with the daily job and the resume job; both only start work in the
    background."""

    def __init__(
        self,
        at: time,
        tz: tzinfo,
        job: Callable[[], Awaitable[None]],
        resume: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.trigger = reminder_trigger(at, tz)
        self.scheduler = AsyncIOScheduler(timezone=tz)
        self.job = job
        self.resume = resume

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def start(self) -> None:
        if self.running:
            return
        self.scheduler.add_job(
            self.job,
            self.trigger,
            id=JOB_ID,
            name="send due reminders",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,  # a loop stalled at REMINDER_TIME still runs it, late
            replace_existing=True,
        )
        if self.resume is not None:
            self.scheduler.add_job(
                self.resume,
                IntervalTrigger(seconds=RESUME_SECONDS),
                id=RESUME_JOB_ID,
                name="resume waiting deliveries",
                coalesce=True,
                max_instances=1,
                replace_existing=True,
            )
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.running:
            self.scheduler.shutdown(wait=False)

    def next_run_times(self, after: datetime, count: int = 1) -> list[datetime]:
        return next_run_times(self.trigger, after, count)


NOTICES_JOB_ID = "notices"
NOTICES_EVERY_SECONDS = 45
APPEALS_JOB_ID = "appeals"
APPEALS_EVERY_SECONDS = 60  # appeals waiting for the operators' chat; overdue ones raised
SYNC_JOB_ID = "accounts-sync"

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class DeliveryJobs:
    """What runs beside the dispatcher: the daily reminder job, the resume job, the notices,
    the billing outbox;
    started and stopped with the dispatcher (`on_startup`, `on_shutdown`).

    Every replica runs the scheduler, but its jobs start work only while this process holds
    the leader lease (bot/leadership): elected, it catches up (unfinished runs resume, a
    missed daily job runs); deposed, its runs stop sending and no job starts any. On SQLite
    the lease is `LocalLease`, held from the start: one process, as before.

    Work is only started here, in the background through `spawn` (tracked by the app, so a
    stop waits for it to record what it sent).
    """

    def __init__(
        self,
        *,
        reminders: ReminderService,
        broadcasts: BroadcastService,
        notices: NoticeService,
        stop_sending: Callable[[], None],
        spawn: Spawn,
        clock: Clock,
        reminder_time: time,
        tz: tzinfo,
        lease: Lease | None = None,
        allow_sending: Callable[[], None] = lambda: None,
        daily_sync: Callable[[], Awaitable[object]] | None = None,
        sync_time: time = time(3, 30),
        outbox: OutboxDispatcher | None = None,
    ) -> None:
        self.reminders = reminders
        self.broadcasts = broadcasts
        self.notices = notices
        self.outbox = outbox  # readings to the billing system: a loop of its own while leading
        self.stop_sending = stop_sending
        self.allow_sending = allow_sending
        self._held_back = False  # sending stopped for want of the lead, not for a shutdown
        self._appeals: Callable[[], Awaitable[None]] | None = None
        self.spawn = spawn
        self.clock = clock
        self.scheduler = ReminderScheduler(reminder_time, tz, self._job, self._resume)
        self.daily_sync = daily_sync  # the accounts snapshot from BILLING_ACCOUNTS_URL
        self.sync_trigger = reminder_trigger(sync_time, tz)
        self.leadership = Leadership(
            lease or LocalLease(), on_elected=self._elected, on_deposed=self._deposed
        )

    @property
    def leading(self) -> bool:
        return self.leadership.leading

    async def _job(self) -> None:
        if self.leading:
            self.spawn(self.reminders.run_scheduled())

    async def _resume(self) -> None:
        if self.leading:
            self.spawn(_logged(self.reminders.resume_due(), "reminder resume"))
            self.spawn(_logged(self.broadcasts.resume_due(), "announcement resume"))

    async def _notices(self) -> None:
        if self.leading:
            await self.notices.send_pending()

    def _add_notices_job(self) -> None:
        """Notices queued without a bot (an import that ended links): every 45 s."""
        self.scheduler.scheduler.add_job(
            self._notices,
            "interval",
            seconds=NOTICES_EVERY_SECONDS,
            id=NOTICES_JOB_ID,
            name="send pending notices",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    def add_appeals(self, tick: Callable[[], Awaitable[None]]) -> None:
        """The appeals' job (bot/services/appeals.py `tick`), run by the leader every minute:
        appeals that wait for the operators' chat are delivered, overdue ones raised."""
        self._appeals = tick

    async def appeals_job(self) -> None:
        if self.leading and self._appeals is not None:
            await _logged(self._appeals(), "appeals")

    def _add_appeals_job(self) -> None:
        if self._appeals is None:
            return
        self.scheduler.scheduler.add_job(
            self.appeals_job,
            "interval",
            seconds=APPEALS_EVERY_SECONDS,
            id=APPEALS_JOB_ID,
            name="deliver waiting appeals, raise overdue ones",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    async def _sync(self) -> None:
        if self.leading and self.daily_sync is not None:
            self.spawn(_logged(self._sync_then_notices(), "accounts sync"))

    async def _sync_then_notices(self) -> None:
        assert self.daily_sync is not None
        await self.daily_sync()
        await self.notices.send_pending()  # closed accounts and replaced meters told at once

    def _add_sync_job(self) -> None:
        """The accounts snapshot, daily at SYNC_TIME (only with BILLING_ACCOUNTS_URL)."""
        if self.daily_sync is None:
            return
        self.scheduler.scheduler.add_job(
            self._sync,
            self.sync_trigger,
            id=SYNC_JOB_ID,
            name="accounts snapshot",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            replace_existing=True,
        )

    def _hold_back(self) -> None:
        self.stop_sending()
        self._held_back = True

    async def _elected(self) -> None:
        """The catch-up of what was missed or cut short, here or by a leader that died."""
        if self._held_back:  # a shutdown's stop stays: its runs must not start again
            self.allow_sending()
            self._held_back = False
        self.spawn(_logged(self.notices.send_pending(), "notices"))
        self.spawn(_logged(self.reminders.on_start(), "reminder catch-up"))
        self.spawn(_logged(self.broadcasts.resume(), "announcement resume"))
        if self._appeals is not None:
            self.spawn(_logged(self._appeals(), "appeals"))
        if self.outbox is not None:
            await _logged(self.outbox.take_over(), "billing outbox take-over")
            self.outbox.start()

    async def _deposed(self) -> None:
        """Another replica may lead now: the runs finish the sends in hand and stop."""
        self._hold_back()
        if self.outbox is not None:
            await self.outbox.stop()

    async def on_startup(self) -> None:
        """Dispatcher start-up: the jobs, and the lead if it is free (on SQLite: at once)."""
        self.scheduler.start()
        self._add_notices_job()
        self._add_appeals_job()
        self._add_sync_job()
        if self.leadership.lease.shared:
            # an announcement launched here before the lead is ours waits for the leader
            self._hold_back()
        await self.leadership.start()
        upcoming = self.scheduler.next_run_times(self.clock.now(), 1)
        if upcoming:
            log.info("reminders scheduled daily; next run %s", upcoming[0].isoformat())

    async def on_shutdown(self) -> None:
        """Dispatcher shutdown: no new job; runs finish the sends in hand and record them;
        then the lease goes, for another replica to take at once."""
        await self.leadership.stop()
        self.scheduler.shutdown()
        if self.outbox is not None:
            await self.outbox.stop()
        self.stop_sending()
        self._held_back = False
        try:
            await asyncio.wait_for(self.broadcasts.join(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("announcements still sending after %.0f s", STOP_GRACE_SECONDS)
        await self.leadership.give_up()


async def _logged(work: Awaitable[object], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", what)
