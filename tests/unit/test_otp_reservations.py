"""Code reservations and SMS alerts in the database: atomic under concurrency, also when two
connections (two processes, on SQLite) share the database (SPEC §5.4, §13)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.domain.otp import OtpLimits
from bot.services.linking import CodeSent, LinkingService
from bot.storage.accounts import AccountRepository
from bot.storage.chats import LinkRepository
from bot.storage.db import Database
from bot.storage.engines import open_database
from bot.storage.otp import OtpRepository
from bot.storage.schema_version import HEAD, SchemaOutdated, legacy_scripts, migrate
from bot.storage.sqlite import SqliteDatabase
from tests.harness import RecordingSms
from tests.seed import M, add_account

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

ACCOUNT = "5012345678"
PHONE = "+79161234567"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LIMITS = OtpLimits(daily_limit=5, daily_budget=1000)


@pytest.fixture
async def second(db: Database) -> AsyncIterator[Database]:
    """Another connection to the same file, as another process would hold."""
    other = await open_database(db.url)
    yield other
    await other.close()


def service(db: Database, sms: RecordingSms, tasks: list[asyncio.Task[None]]) -> LinkingService:
    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        tasks.append(asyncio.get_running_loop().create_task(coro))

    return LinkingService(
        accounts=AccountRepository(db),
        links=LinkRepository(db),
        codes=OtpRepository(db),
        sms=sms,
        clock=FrozenClock(NOW),
        limits=LIMITS,
        key=b"k" * 32,
        account_pattern=r"^\d{6,12}$",
        spawn=spawn,
    )


async def test_sms_limits_hold_for_30_concurrent_requests_over_two_connections(
    db: Database, second: Database
) -> None:
    await add_account(db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    sms = RecordingSms()
    tasks: list[asyncio.Task[None]] = []
    services = [service(db, sms, tasks), service(second, sms, tasks)]
    outcomes = await asyncio.gather(
        *(
            services[n % 2].request_code(5000 + n, ACCOUNT, PHONE, compose=lambda c: c)
            for n in range(30)
        )
    )
    await asyncio.gather(*tasks)
    assert outcomes == [CodeSent()] * 30  # the same answer for all, the account's limit too
    assert len(sms.sent) == LIMITS.daily_limit
    assert await db.fetchval("SELECT count(*) FROM otp_issues WHERE sms_sent = 1") == 5
    assert await db.fetchval("SELECT count(*) FROM otp_issues") == 30


async def test_sms_budget_holds_for_30_concurrent_requests_over_two_connections(
    db: Database, second: Database
) -> None:
    for n in range(30):
        await add_account(db, f"50100{n:05d}", f"+7916100{n:04d}", M("CW-1", "cold_water"))
    sms = RecordingSms()
    tasks: list[asyncio.Task[None]] = []
    services = [service(db, sms, tasks), service(second, sms, tasks)]
    for s in services:
        s.limits = OtpLimits(daily_budget=3)
    await asyncio.gather(
        *(
            services[n % 2].request_code(
                5000 + n, f"50100{n:05d}", f"+7916100{n:04d}", compose=lambda c: c
            )
            for n in range(30)
        )
    )
    await asyncio.gather(*tasks)
    assert len(sms.sent) == 3


async def test_one_alert_claim_of_20_concurrent_wins_then_none_for_an_hour(
    db: Database, second: Database
) -> None:
    repos = [OtpRepository(db), OtpRepository(second)]
    hour = timedelta(hours=1)
    claims = await asyncio.gather(
        *(repos[n % 2].claim_alert("sms-refused:201", NOW, hour) for n in range(20))
    )
    assert sum(claims) == 1
    assert not await repos[0].claim_alert("sms-refused:201", NOW + timedelta(minutes=59), hour)
    assert await repos[0].claim_alert("sms-down", NOW, hour)  # another kind
    assert await repos[1].claim_alert("sms-refused:201", NOW + hour, hour)


async def test_issues_logged_before_the_migration_keep_counting(tmp_path: Path) -> None:
    """A file of an older version: refused as it is, counted on after `migrate`."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # a database as the previous version left it
        for number, sql in legacy_scripts()[:3]:
            conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute(
            "INSERT INTO otp_issues (chat_ref, account_id, sms_sent, issued_at)"
            " VALUES ('a', NULL, 1, ?), ('b', NULL, 0, ?)",
            (NOW.isoformat(), NOW.isoformat()),
        )
    with pytest.raises(SchemaOutdated, match="python -m bot migrate"):
        await open_database(path)
    async with SqliteDatabase(path) as old:
        assert await migrate(old) == ("legacy-3", HEAD)
    database = await open_database(path)
    try:
        rows = await database.fetchall("SELECT sms_sent, sms_status FROM otp_issues ORDER BY id")
        assert [(r["sms_sent"], r["sms_status"]) for r in rows] == [(1, "sent"), (0, "none")]
        assert await database.fetchval("SELECT reservations FROM otp_gate WHERE id = 1") == 0
    finally:
        await database.close()
