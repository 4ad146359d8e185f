"""The reminder job at REMINDER_TIME in TIMEZONE, started and stopped with the bot.

On start the bot also catches up: unfinished reminders and announcements resume at once, and if
today's REMINDER_TIME has already passed, today's job runs now (what it sends is recorded, so
it never sends anything twice). In QUIET_HOURS nothing is sent: the resume job, every minute,
goes on with what waits (the end of quiet hours, a retry come due, a resident's walk over).
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
from bot.services.broadcasts import BroadcastService
from bot.services.notices import NoticeService
from bot.services.reminders import ReminderService

log = logging.getLogger(__name__)

JOB_ID = "reminders"
RESUME_JOB_ID = "resume-deliveries"
RESUME_SECONDS = 60
STOP_GRACE_SECONDS = 2.0  # announcements record their sends; the stop's whole budget is 10 s


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

Spawn = Callable[[Coroutine[Any, Any, None]], None]


class DeliveryJobs:
    """What runs beside the dispatcher: the daily reminder job, the resume job, the notices;
    started and stopped with the dispatcher (`on_startup`, `on_shutdown`).

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
    ) -> None:
        self.reminders = reminders
        self.broadcasts = broadcasts
        self.notices = notices
        self.stop_sending = stop_sending
        self.spawn = spawn
        self.clock = clock
        self.scheduler = ReminderScheduler(reminder_time, tz, self._job, self._resume)

    async def _job(self) -> None:
        self.spawn(self.reminders.run_scheduled())

    async def _resume(self) -> None:
        self.spawn(_logged(self.reminders.resume_due(), "reminder resume"))
        self.spawn(_logged(self.broadcasts.resume_due(), "announcement resume"))

    def _start_notices(self) -> None:
        """Notices queued without a bot (an import that ended links): now, then every 45 s."""
        self.spawn(_logged(self.notices.send_pending(), "notices"))
        self.scheduler.scheduler.add_job(
            self.notices.send_pending,
            "interval",
            seconds=NOTICES_EVERY_SECONDS,
            id=NOTICES_JOB_ID,
            name="send pending notices",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )

    async def on_startup(self) -> None:
        """Dispatcher start-up: the daily job, and the catch-up of what was missed or cut short."""
        self.scheduler.start()
        self._start_notices()
        self.spawn(_logged(self.reminders.on_start(), "reminder catch-up"))
        self.spawn(_logged(self.broadcasts.resume(), "announcement resume"))
        upcoming = self.scheduler.next_run_times(self.clock.now(), 1)
        if upcoming:
            log.info("reminders scheduled daily; next run %s", upcoming[0].isoformat())

    async def on_shutdown(self) -> None:
        """Dispatcher shutdown: no new job; runs finish the sends in hand and record them."""
        self.scheduler.shutdown()
        self.stop_sending()
        try:
            await asyncio.wait_for(self.broadcasts.join(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("announcements still sending after %.0f s", STOP_GRACE_SECONDS)


async def _logged(work: Awaitable[object], what: str) -> None:
    try:
        await work
    except Exception:
        log.exception("%s failed", what)
