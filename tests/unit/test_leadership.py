"""One leader among replicas: only the process holding the lease starts reminders, resumes and
notices; elected, it catches up; deposed, it stops sending. Leases are fakes here (the real
ones against their servers: test_postgres_locks.py, test_redis_lease.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import FrozenClock
from bot.leadership import Leadership, LocalLease, lease_for
from bot.scheduler import JOB_ID, NOTICES_JOB_ID, RESUME_JOB_ID, DeliveryJobs
from tests.harness import start_harness
from tests.seed import M, add_account
from tests.support.waiting import eventually

MSK = ZoneInfo("Europe/Moscow")


class FakeLease:
    """A lease another replica holds until `free` is set; `drop()` loses it as a closed
    connection would."""

    shared = True

    def __init__(self, *, free: bool = False, keep_every: float = 0.02) -> None:
        self.free = free
        self.keep_every = keep_every
        self.lost = asyncio.Event()
        self._held = False
        self.given_up = False

    async def take(self) -> bool:
        if self.free:
            self._held = True
            self.lost.clear()
        return self._held

    async def keep(self) -> bool:
        return self._held

    @property
    def held(self) -> bool:
        return self._held

    def free_in(self) -> float | None:
        return None

    async def give_up(self) -> None:
        self._held = False
        self.given_up = True

    def drop(self) -> None:
        self._held = False
        self.free = False
        self.lost.set()


class Calls:
    """Fake services that note what they were asked to do."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def note(self, name: str) -> Any:
        async def call(*_: object) -> None:
            self.names.append(name)

        return call


class FakeReminders:
    def __init__(self, calls: Calls) -> None:
        self.on_start = calls.note("reminders.on_start")
        self.resume_due = calls.note("reminders.resume_due")
        self.run_scheduled = calls.note("reminders.run_scheduled")


class FakeBroadcasts:
    def __init__(self, calls: Calls) -> None:
        self.resume = calls.note("broadcasts.resume")
        self.resume_due = calls.note("broadcasts.resume_due")
        self.join = calls.note("broadcasts.join")


class FakeNotices:
    def __init__(self, calls: Calls) -> None:
        self.send_pending = calls.note("notices.send_pending")


class Replica:
    def __init__(self, lease: FakeLease) -> None:
        self.calls = Calls()
        self.tasks: list[asyncio.Task[Any]] = []
        self.sending = True
        self.jobs = DeliveryJobs(  # the fakes stand in for the services: only the calls noted
            reminders=FakeReminders(self.calls),  # type: ignore[arg-type]
            broadcasts=FakeBroadcasts(self.calls),  # type: ignore[arg-type]
            notices=FakeNotices(self.calls),  # type: ignore[arg-type]
            stop_sending=lambda: setattr(self, "sending", False),
            allow_sending=lambda: setattr(self, "sending", True),
            spawn=self.spawn,
            clock=FrozenClock(datetime(2026, 11, 15, 11, 0, tzinfo=MSK)),
            reminder_time=time(10, 0),
            tz=MSK,
            lease=lease,
        )
        self.jobs.leadership.poll = 0.02

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro))

    async def settle(self) -> list[str]:
        await asyncio.gather(*self.tasks)
        self.tasks.clear()
        names, self.calls.names = self.calls.names, []
        return sorted(names)

    async def fire_every_job(self) -> None:
        """What APScheduler does when each job falls due."""
        for job_id in (JOB_ID, RESUME_JOB_ID, NOTICES_JOB_ID):
            job = self.jobs.scheduler.scheduler.get_job(job_id)
            assert job is not None
            await job.func()


CATCH_UP = ["broadcasts.resume", "notices.send_pending", "reminders.on_start"]
DUE = [
    "broadcasts.resume_due",
    "notices.send_pending",
    "reminders.resume_due",
    "reminders.run_scheduled",
]


async def test_a_replica_that_does_not_lead_starts_nothing_and_catches_up_once_elected() -> None:
    lease = FakeLease(free=False)
    replica = Replica(lease)
    await replica.jobs.on_startup()
    try:
        assert await replica.settle() == []  # no catch-up on a follower
        assert not replica.sending  # nor any run it starts (an admin's announcement)
        await replica.fire_every_job()
        assert await replica.settle() == []  # its scheduler fires, nothing is started

        lease.free = True  # the leader died: the lease is free at the next poll
        await eventually(lambda: replica.jobs.leading)
        assert replica.sending and await replica.settle() == CATCH_UP
        await replica.fire_every_job()
        assert await replica.settle() == DUE
    finally:
        await replica.jobs.on_shutdown()
    assert lease.given_up


async def test_a_deposed_leader_stops_sending_and_starts_nothing_more() -> None:
    lease = FakeLease(free=True)
    replica = Replica(lease)
    await replica.jobs.on_startup()
    try:
        assert replica.jobs.leading and await replica.settle() == CATCH_UP
        lease.drop()  # its connection closed: deposed now, not at the next keep
        await eventually(lambda: not replica.jobs.leading, timeout=1.0)
        assert not replica.sending
        await replica.fire_every_job()
        assert await replica.settle() == []

        lease.free = True  # elected again: sending is allowed again, the catch-up runs
        await eventually(lambda: replica.jobs.leading)
        assert replica.sending and await replica.settle() == CATCH_UP
    finally:
        await replica.jobs.on_shutdown()


async def test_two_replicas_on_one_lease_have_one_leader_and_the_other_takes_over() -> None:
    holder: list[Leadership] = []

    class SharedLease(FakeLease):
        async def take(self) -> bool:
            if not any(other.lease.held for other in holder if other.lease is not self):
                self._held = True
            return self._held

    elected: list[int] = []
    replicas = []
    for n in range(2):

        async def on_elected(n: int = n) -> None:
            elected.append(n)

        async def on_deposed() -> None:
            pass

        lead = Leadership(SharedLease(), on_elected=on_elected, on_deposed=on_deposed, poll=0.02)
        holder.append(lead)
        replicas.append(lead)
    for lead in replicas:
        await lead.start()
    try:
        await asyncio.sleep(0.1)
        assert elected == [0] and [r.leading for r in replicas] == [True, False]
        await replicas[0].give_up()  # a clean stop of the leader
        await eventually(lambda: replicas[1].leading)
        assert elected == [0, 1]
    finally:
        for lead in replicas:
            await lead.give_up()


async def test_on_sqlite_the_one_process_leads_from_the_start_without_polling() -> None:
    lease = LocalLease()
    elected: list[bool] = []

    async def on_elected() -> None:
        elected.append(True)

    async def on_deposed() -> None:
        raise AssertionError("a local lease is never lost")

    lead = Leadership(lease, on_elected=on_elected, on_deposed=on_deposed)
    await lead.start()
    assert lead.leading and elected == [True] and lead._task is None
    await lead.give_up()
    assert not lease.held


def test_the_lease_follows_the_configured_engines() -> None:
    assert type(lease_for("sqlite:///data/bot.sqlite3")).__name__ == "LocalLease"
    assert type(lease_for("postgresql://u@h/db")).__name__ == "PostgresLease"
    assert type(lease_for("postgresql://u@h/db", "redis://h:6379/0")).__name__ == "RedisLease"


async def test_the_bot_on_a_follower_sends_no_reminder_until_it_leads(tmp_path: Path) -> None:
    h = await start_harness(
        tmp_path,
        now=datetime(2026, 11, 15, 11, 0, tzinfo=MSK),  # after REMINDER_TIME: a catch-up is due
        reminder_time="10:00",
        timezone="Europe/Moscow",
    )
    jobs = h.app.delivery.jobs
    lease = FakeLease(free=False)
    jobs.leadership.lease = lease
    jobs.leadership.poll = 0.02
    try:
        account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
        await h.app.storage.links.link(101, account, h.clock.now())
        await jobs.on_startup()
        await h.app.background.settle()
        job = jobs.scheduler.scheduler.get_job(JOB_ID)
        assert job is not None
        await job.func()
        await h.app.background.settle()
        assert h.session.messages.get(101, []) == []

        lease.free = True
        await eventually(lambda: jobs.leading)
        await h.app.background.settle()
        assert len(h.session.messages[101]) == 1
    finally:
        await jobs.on_shutdown()
        await h.close()
