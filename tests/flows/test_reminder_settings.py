"""Settings in the chat (SPEC §7): each kind of reminder on or off, and the language, respected."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import AnswerCallbackQuery

from bot.notifications.pacer import Pacer
from tests.harness import BotHarness, ChatClient, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
CHAT = 101


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_harness(
        tmp_path,
        now=datetime(2026, 11, 15, 10, 0, tzinfo=MSK),
        closing_reminder_days=2,
        verification_reminder_days=30,
    )
    time = ManualTime(clock=harness.clock)
    harness.app.delivery.sender.pacer = Pacer(25, monotonic=time.monotonic, sleep=time.sleep)
    account = await add_account(
        harness.db,
        "5000000001",
        "+79160000001",
        M("CW-1111", "cold_water", verified_until=date(2026, 12, 10)),
    )
    await harness.app.storage.links.link(CHAT, account, harness.clock.now())
    yield harness
    await harness.close()


async def reminders_received(h: BotHarness, chat: ChatClient, day: datetime) -> list[str]:
    before = len(chat.messages)
    h.clock.set(day)
    await h.app.delivery.reminders.run_due()
    return [m.text for m in chat.messages[before:]]


async def test_each_kind_switched_off_in_settings_is_not_sent(h: BotHarness) -> None:
    chat = h.chat(CHAT)
    await chat.send("/settings")
    await chat.press("Начало приёма")
    await chat.press("Срок поверки")
    assert "🔕 Начало приёма показаний" in str(chat.last.buttons())

    got = await reminders_received(h, chat, datetime(2026, 11, 15, 10, 0, tzinfo=MSK))
    assert got == []  # neither the opening nor the verification (due in 25 days)

    await chat.press("Скоро конец")
    got = await reminders_received(h, chat, datetime(2026, 12, 1, 10, 0, tzinfo=MSK))
    assert got == []  # closing off too


async def test_a_kind_switched_back_on_is_sent_while_still_due(h: BotHarness) -> None:
    chat = h.chat(CHAT)
    await chat.send("/settings")
    await chat.press("Срок поверки")
    got = await reminders_received(h, chat, datetime(2026, 11, 15, 10, 0, tzinfo=MSK))
    assert len(got) == 1 and "Открыт приём" in got[0]

    await chat.press("Срок поверки")  # on again: the meter is due on 10 December
    got = await reminders_received(h, chat, datetime(2026, 11, 16, 10, 0, tzinfo=MSK))
    assert len(got) == 1 and "поверка действительна до 10 декабря" in got[0]
    got = await reminders_received(h, chat, datetime(2026, 11, 17, 10, 0, tzinfo=MSK))
    assert got == []  # once per meter and due date


async def test_closing_still_reaches_a_resident_who_only_turned_opening_off(
    h: BotHarness,
) -> None:
    chat = h.chat(CHAT)
    await chat.send("/settings")
    await chat.press("Начало приёма")
    got = await reminders_received(h, chat, datetime(2026, 12, 1, 10, 0, tzinfo=MSK))
    assert len(got) == 2
    assert any("Осталось 2 дня" in text for text in got)
    assert any("поверка действительна до 10 декабря" in text for text in got)


async def test_the_language_chosen_in_settings_is_the_reminders_language(h: BotHarness) -> None:
    chat = h.chat(CHAT)
    await chat.send("/settings")
    await chat.press("Switch to English")
    got = await reminders_received(h, chat, datetime(2026, 11, 15, 10, 0, tzinfo=MSK))
    assert any("Meter readings for November 2026 are being accepted" in text for text in got)
    assert any("verification is valid until December 10" in text for text in got)
    assert any(label == "📝 Submit readings" for m in chat.messages for label, _ in m.buttons())


async def test_a_reminder_due_at_a_restart_waits_until_the_residents_walk_ends(
    h: BotHarness,
) -> None:
    chat = h.chat(CHAT)
    await chat.send("📝 Передать показания")
    assert "Введите показания" in chat.last_text
    await h.app.storage.fsm.flush()
    before = len(chat.messages)

    # the bot restarts at 10:30, after REMINDER_TIME, with the resident in the middle of a walk
    h.clock.set(datetime(2026, 11, 15, 10, 30, tzinfo=MSK))
    report = await h.app.delivery.reminders.on_start()
    assert chat.messages[before:] == []
    assert report.totals.deferred == 2 and report.totals.sent == 0  # opening, verification

    await chat.send("5")
    await chat.press("Подтвердить")
    await h.app.storage.fsm.flush()
    assert "Готово" in chat.last_text  # the walk is over
    after_walk = len(chat.messages)

    h.clock.advance(minutes=1)  # the resume job
    resumed = await h.app.delivery.reminders.resume_due()
    assert resumed is not None and resumed.totals.sent == 2
    got = [m.text for m in chat.messages[after_walk:]]
    assert any("Открыт приём" in text for text in got)
    assert any("поверка действительна до 10 декабря" in text for text in got)


async def test_a_walk_left_open_holds_a_reminder_back_for_half_an_hour_at_most(
    h: BotHarness,
) -> None:
    chat = h.chat(CHAT)
    await chat.send("📝 Передать показания")
    await h.app.storage.fsm.flush()
    before = len(chat.messages)
    h.clock.set(datetime(2026, 11, 15, 10, 30, tzinfo=MSK))
    await h.app.delivery.reminders.on_start()
    for _ in range(29):  # the resume job, every minute, while the walk stays open
        h.clock.advance(minutes=1)
        await h.app.delivery.reminders.resume_due()
    assert chat.messages[before:] == []
    h.clock.advance(minutes=2)
    await h.app.delivery.reminders.resume_due()
    assert len(chat.messages[before:]) == 2


async def test_a_crafted_kind_of_reminder_says_the_button_no_longer_works(h: BotHarness) -> None:
    chat = h.chat(CHAT)
    await chat.send("/settings")
    shown = chat.last
    await chat.press_data(shown, "remind:everything")

    answers = h.session.calls_of(AnswerCallbackQuery)
    assert answers[-1].text == h.app.core.get("button-stale", "ru")
    assert chat.last is shown and chat.last.buttons() == shown.buttons()  # nothing switched
