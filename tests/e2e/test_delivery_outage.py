"""Telegram out for a while during a reminder run (issue 9, point 11).

The bot is built in-process with its real aiohttp session pointed at the fake Bot API on
loopback; the Sender's time is manual (it moves when the Sender sleeps, and the bot's clock
with it), so an outage of minutes, and a day of failures, pass in an instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.notifications.pacer import Pacer
from bot.services.reminders import format_report
from tests.fakes.bot_api import FakeBotApi
from tests.harness import make_settings
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
TOKEN = "424242:E2E-outage-token"
CHATS = range(101, 141)
OPENING = datetime(2026, 11, 15, 10, 0, tzinfo=MSK)


class OutageTime(ManualTime):
    """Manual time that brings the fake Bot API back once `back_at` seconds have passed."""

    def __init__(self, clock: FrozenClock, api: FakeBotApi, port: int, back_at: float) -> None:
        super().__init__(clock=clock)
        self.api, self.port, self.back_at = api, port, back_at
        self.down = False

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if self.down and self.now >= self.back_at:
            await self.api.start(port=self.port)
            self.down = False


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(token=TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


async def bot(tmp_path: Path, api: FakeBotApi, **overrides: Any) -> App:
    settings = make_settings(
        tmp_path,
        bot_token=TOKEN,
        telegram_api_url=api.url,
        broadcast_rate=10,
        quiet_hours="",
        **overrides,
    )
    app = await build_app(settings, clock=FrozenClock(OPENING))
    for chat_id in CHATS:
        account = await add_account(
            app.storage.db,
            f"50000{chat_id:05d}",
            f"+7916000{chat_id:04d}",
            M(f"CW-{chat_id}", "cold_water"),
        )
        await app.storage.links.link(chat_id, account, app.clock.now())
    return app


def delivered(api: FakeBotApi, chat_id: int) -> int:
    return sum(1 for record in api.sent_to(chat_id) if record["method"] == "sendMessage")


async def test_an_outage_of_refused_connections_and_5xx_delays_reminders_but_each_arrives_once(
    tmp_path: Path, api: FakeBotApi
) -> None:
    app = await bot(tmp_path, api)
    try:
        assert isinstance(app.clock, FrozenClock)
        port = int(api.url.rsplit(":", 1)[1])
        # Telegram unreachable for two minutes (connections refused), then answering 502 and
        # 500 to the next dozen messages, then well again
        time = OutageTime(app.clock, api, port, back_at=120.0)
        app.delivery.sender.pacer = Pacer(10, monotonic=time.monotonic, sleep=time.sleep)
        await api.stop()
        time.down = True
        api.fail_next("sendMessage", error_code=502, times=6)
        api.fail_next("sendMessage", error_code=500, times=6)

        report = await app.delivery.reminders.run_due(["opening"])
        totals = report.totals
        while not report.campaigns[-1].finished:  # what a later run (the resume job) sends
            app.clock.advance(minutes=10)
            report = await app.delivery.reminders.run_due(["opening"])
            totals.add(report.totals)
    finally:
        await app.close()

    assert [delivered(api, chat_id) for chat_id in CHATS] == [1] * len(CHATS)
    assert totals.sent == len(CHATS) and totals.retried >= 12
    assert totals.given_up == totals.failed == totals.unknown == 0
    assert "retried" in format_report(report)


async def test_a_delivery_failing_for_more_than_a_day_is_given_up_and_counted(
    tmp_path: Path, api: FakeBotApi
) -> None:
    app = await bot(tmp_path, api)
    try:
        assert isinstance(app.clock, FrozenClock)
        time = ManualTime(clock=app.clock)
        app.delivery.sender.pacer = Pacer(10, monotonic=time.monotonic, sleep=time.sleep)
        api.fail_next("sendMessage", CHATS[0], error_code=502, times=10**6)  # never recovers
        started = app.clock.now()

        report = await app.delivery.reminders.run_due(["opening"])
        totals = report.totals
        while not report.campaigns[-1].finished:
            app.clock.advance(hours=1)  # the resume job, hourly once the back-off is that long
            report = await app.delivery.reminders.run_due(["opening"])
            totals.add(report.totals)
        statuses = await app.storage.deliveries.statuses(f"opening:{OPENING.date()}")
    finally:
        await app.close()

    assert statuses[CHATS[0]] == "given_up" and delivered(api, CHATS[0]) == 0
    assert all(statuses[chat_id] == "sent" for chat_id in CHATS[1:])
    assert (totals.given_up, totals.sent) == (1, len(CHATS) - 1)
    # tried again and again for a day, not a moment less, and not much more
    elapsed = app.clock.now() - started
    assert 24 <= elapsed.total_seconds() / 3600 < 26
    assert "given up 1" in format_report(report)
