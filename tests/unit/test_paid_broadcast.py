"""PAID_BROADCAST (SPEC §2): reminders and announcements go with Telegram's
allow_paid_broadcast, the resident's own conversation never does; a BROADCAST_RATE above the
free limit without it draws a warning at start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import SendMessage

from bot.notifications.pacer import Pacer
from tests.harness import BotHarness, make_settings, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

pytestmark = pytest.mark.usefixtures("engine")

OPENING_DAY = datetime(2026, 11, 15, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
Start = Callable[..., Any]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[BotHarness] = []

    async def _start(**overrides: Any) -> BotHarness:
        h = await start_harness(tmp_path, now=OPENING_DAY, **overrides)
        time = ManualTime(clock=h.clock)
        h.app.delivery.sender.pacer = Pacer(
            h.app.settings.broadcast_rate, monotonic=time.monotonic, sleep=time.sleep
        )
        account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
        await h.app.storage.links.link(101, account, h.clock.now())
        started.append(h)
        return h

    yield _start
    for h in started:
        await h.close()


def paid_flags(h: BotHarness) -> list[bool | None]:
    return [call.allow_paid_broadcast for call in h.session.calls_of(SendMessage)]


async def test_reminders_are_paid_broadcasts_with_paid_broadcast_on(start: Start) -> None:
    h = await start(paid_broadcast=True, broadcast_rate=1000)
    await h.app.delivery.reminders.run_due(["opening"])
    assert paid_flags(h) == [True]
    await h.chat(101).send("/start")  # the resident's conversation is not a broadcast
    assert paid_flags(h)[1:] and not any(paid_flags(h)[1:])


async def test_reminders_are_free_by_default(start: Start) -> None:
    h = await start()
    await h.app.delivery.reminders.run_due(["opening"])
    assert paid_flags(h) == [None]


def test_a_rate_above_the_free_limit_without_paying_is_warned_about(tmp_path: Path) -> None:
    assert make_settings(tmp_path).broadcast_warning is None
    assert (
        make_settings(tmp_path, broadcast_rate=500, paid_broadcast=True).broadcast_warning is None
    )
    warning = make_settings(tmp_path, broadcast_rate=100).broadcast_warning
    assert warning is not None and "PAID_BROADCAST=true" in warning
