"""The reminder job's schedule: REMINDER_TIME in TIMEZONE, across month ends and clock changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.scheduler import (
    JOB_ID,
    RESUME_JOB_ID,
    RESUME_SECONDS,
    SYNC_JOB_ID,
    next_run_times,
    reminder_trigger,
)
from tests.harness import start_harness
from tests.seed import M, add_account

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def test_next_runs_at_reminder_time_in_timezone_across_a_month_end() -> None:
    trigger = reminder_trigger(time(10, 0), MSK)
    runs = next_run_times(trigger, datetime(2026, 11, 29, 12, 0, tzinfo=MSK), 4)
    assert [r.astimezone(MSK).isoformat() for r in runs] == [
        "2026-11-30T10:00:00+03:00",
        "2026-12-01T10:00:00+03:00",
        "2026-12-02T10:00:00+03:00",
        "2026-12-03T10:00:00+03:00",
    ]
    assert {r.astimezone(UTC).hour for r in runs} == {7}


def test_next_runs_across_a_year_end_from_just_before_reminder_time() -> None:
    trigger = reminder_trigger(time(10, 0), MSK)
    runs = next_run_times(trigger, datetime(2026, 12, 31, 6, 59, tzinfo=UTC), 2)
    assert [r.astimezone(MSK).isoformat() for r in runs] == [
        "2026-12-31T10:00:00+03:00",
        "2027-01-01T10:00:00+03:00",
    ]


def test_next_runs_keep_local_time_when_the_clocks_change_at_a_month_end() -> None:
    # Berlin moves to summer time on 29 March 2026: 10:00 stays 10:00, UTC moves an hour
    trigger = reminder_trigger(time(10, 0), BERLIN)
    runs = next_run_times(trigger, datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN), 5)
    assert [r.astimezone(BERLIN).isoformat() for r in runs] == [
        "2026-03-29T10:00:00+02:00",
        "2026-03-30T10:00:00+02:00",
        "2026-03-31T10:00:00+02:00",
        "2026-04-01T10:00:00+02:00",
        "2026-04-02T10:00:00+02:00",
    ]
    assert runs[0].astimezone(UTC).hour == 8


def test_a_late_reminder_time_far_east_falls_on_the_previous_utc_day() -> None:
    tz = ZoneInfo("Asia/Vladivostok")  # UTC+10
    trigger = reminder_trigger(time(8, 30), tz)
    [run] = next_run_times(trigger, datetime(2026, 11, 30, 22, 0, tzinfo=UTC), 1)
    assert run.astimezone(tz).isoformat() == "2026-12-01T08:30:00+10:00"
    assert run.astimezone(UTC).isoformat() == "2026-11-30T22:30:00+00:00"


async def test_the_scheduler_starts_and_stops_with_the_bot(tmp_path: Path) -> None:
    h = await start_harness(
        tmp_path,
        now=datetime(2026, 11, 15, 11, 0, tzinfo=MSK),  # after REMINDER_TIME: catch up now
        reminder_time="10:00",
        timezone="Europe/Moscow",
    )
    try:
        account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
        await h.app.storage.links.link(101, account, h.clock.now())
        await h.app.delivery.jobs.on_startup()
        assert h.app.delivery.jobs.scheduler.running
        job = h.app.delivery.jobs.scheduler.scheduler.get_job(JOB_ID)
        assert job is not None
        [nxt] = h.app.delivery.jobs.scheduler.next_run_times(
            datetime(2026, 11, 30, 12, 0, tzinfo=MSK)
        )
        assert nxt.isoformat() == "2026-12-01T10:00:00+03:00"
        await h.app.background.settle()  # the start-up catch-up
        assert len(h.session.messages[101]) == 1
        await h.app.delivery.jobs.on_shutdown()
        await asyncio.sleep(0)  # AsyncIOScheduler stops on the loop's next turn
        assert not h.app.delivery.jobs.scheduler.running and h.app.delivery.sender.stopping
    finally:
        await h.close()


async def test_the_resume_job_sends_what_quiet_hours_held_back_once_they_end(
    tmp_path: Path,
) -> None:
    h = await start_harness(
        tmp_path, now=datetime(2026, 11, 15, 22, 0, tzinfo=MSK), timezone="Europe/Moscow"
    )
    try:
        account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
        await h.app.storage.links.link(101, account, h.clock.now())
        await h.app.delivery.jobs.on_startup()
        job = h.app.delivery.jobs.scheduler.scheduler.get_job(RESUME_JOB_ID)
        assert job is not None and job.trigger.interval.total_seconds() == RESUME_SECONDS
        await h.app.background.settle()  # the catch-up at 22:00: quiet
        assert h.session.messages.get(101, []) == []

        h.clock.set(datetime(2026, 11, 16, 9, 0, tzinfo=MSK))
        await job.func()  # the resume job's minute comes after the quiet hours
        await h.app.background.settle()
        assert len(h.session.messages[101]) == 1
        await h.app.delivery.jobs.on_shutdown()
    finally:
        await h.close()


async def test_the_accounts_snapshot_runs_daily_at_sync_time_only_with_a_url(
    tmp_path: Path,
) -> None:
    without = await start_harness(tmp_path / "a")
    try:
        await without.app.delivery.jobs.on_startup()
        assert without.app.delivery.jobs.scheduler.scheduler.get_job(SYNC_JOB_ID) is None
        await without.app.delivery.jobs.on_shutdown()
    finally:
        await without.close()
    h = await start_harness(
        tmp_path / "b",
        billing_accounts_url="http://127.0.0.1:9/accounts.csv",
        sync_time="04:15",
        timezone="Europe/Moscow",
    )
    try:
        ran: list[str] = []

        async def sync() -> None:
            ran.append("sync")

        jobs = h.app.delivery.jobs
        assert jobs.daily_sync is not None  # the app's DailySync of BILLING_ACCOUNTS_URL
        jobs.daily_sync = sync  # here, one that fetches nothing
        await jobs.on_startup()
        job = jobs.scheduler.scheduler.get_job(SYNC_JOB_ID)
        assert job is not None
        [nxt] = next_run_times(jobs.sync_trigger, datetime(2026, 11, 30, 12, 0, tzinfo=MSK), 1)
        assert nxt.isoformat() == "2026-12-01T04:15:00+03:00"
        await job.func()  # what the scheduler calls at SYNC_TIME: the leader syncs
        await h.app.background.settle()
        assert ran == ["sync"]
        await jobs.on_shutdown()
    finally:
        await h.close()
