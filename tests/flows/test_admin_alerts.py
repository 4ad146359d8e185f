"""Admins are told in the chat when something needs a person (SPEC §13): the SMS gateway
refusing (balance, sender), a reminder run giving up on chats; at most one alert of a kind an
hour, with the figure, and a restart does not tell them again (the claim is in the database)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.notifications.pacer import Pacer
from bot.sms.smsru import SmsRuSender
from tests.fakes.smsru import FakeSmsRu, Refuse
from tests.harness import BotHarness, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
ADMIN = 777  # ADMIN_IDS in the harness
OPENING_DAY = datetime(2026, 11, 15, 10, 0, tzinfo=MSK)
FAILING = (201, 202, 203)
Start = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    """Start the bot, again on the same database (a restart) when called again."""
    started: list[BotHarness] = []

    async def _start(now: datetime, **overrides: Any) -> BotHarness:
        h = await start_harness(tmp_path, now=now, broadcast_rate=10, **overrides)
        time = ManualTime(clock=h.clock)
        h.app.delivery.sender.pacer = Pacer(10, monotonic=time.monotonic, sleep=time.sleep)
        started.append(h)
        return h

    yield _start
    for h in started:
        await h.close()


def alerts(h: BotHarness) -> list[str]:
    return [m.text for m in h.session.messages.get(ADMIN, [])]


async def ask_code(h: BotHarness, chat_id: int, account: str, phone: str) -> None:
    chat = h.chat(chat_id)
    await chat.send("/start")
    await chat.send(account)
    await chat.send(phone)
    await h.settle()  # the SMS goes out in the background


async def test_a_reminder_run_that_gave_up_on_chats_tells_the_admins_once(start: Start) -> None:
    h = await start(OPENING_DAY)
    account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
    for chat_id in (200, *FAILING):
        await h.app.storage.links.link(chat_id, account, h.clock.now())
    for chat_id in FAILING:  # Telegram answers 502 to these chats, for good
        h.session.fail("SendMessage", chat_id, kind="502", times=10**6)

    report = await h.app.delivery.reminders.run_due(["opening"])
    assert alerts(h) == []  # failing for less than a day: tried again later
    while not report.campaigns[-1].finished:
        h.clock.advance(hours=1)
        report = await h.app.delivery.reminders.run_due(["opening"])

    [alert] = alerts(h)
    assert "после суток попыток" in alert
    assert "Чатов, от которых отказались: 3" in alert and "opening:2026-11-15" in alert


async def test_a_gateway_out_of_money_alerts_once_and_not_again_after_a_restart(
    start: Start, gateway: FakeSmsRu
) -> None:
    gateway.script(*[Refuse(201, status_text="Не хватает средств")] * 10)

    def smsru() -> SmsRuSender:
        return SmsRuSender("test-api-id", gateway.base_url, retries=1, timeout=1)

    h = await start(OPENING_DAY, sms=smsru())
    for n in range(3):
        number, phone = f"500000001{n}", f"+7916000001{n}"
        await add_account(h.db, number, phone, M(f"CW-{n}", "cold_water"))
        await ask_code(h, 300 + n, number, phone)
    [alert] = alerts(h)
    assert "статус 201" in alert and "Пополните баланс" in alert
    assert "Неудачных отправок за последний час: 1" in alert  # the first refusal tells
    await h.close()

    # restarted half an hour later, still refused: the admins were told already
    h = await start(OPENING_DAY + timedelta(minutes=30), sms=smsru())
    await add_account(h.db, "5000000020", "+79160000020", M("CW-20", "cold_water"))
    await ask_code(h, 320, "5000000020", "+79160000020")
    assert alerts(h) == []
    # an hour after the alert: told again, with the hour's figure
    h.clock.advance(minutes=31)
    await ask_code(h, 321, "5000000020", "+79160000020")
    [again] = alerts(h)
    assert "Неудачных отправок за последний час: 2" in again
