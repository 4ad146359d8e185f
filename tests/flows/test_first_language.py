"""The language a chat first wrote in is stored at once (issue 9, point 12; SPEC §5.1), so
what the bot sends unprompted reaches it in that language until it picks another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.notifications.pacer import Pacer
from tests.flows.test_linking import link as link_by_code
from tests.harness import BotHarness, ChatClient, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
CHAT = 101
OPENING_EN = "Meter readings for November 2026 are being accepted"
OPENING_RU = "Открыт приём показаний за ноябрь 2026"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_harness(
        tmp_path, now=datetime(2026, 11, 15, 10, 0, tzinfo=MSK), default_locale="ru"
    )
    time = ManualTime(clock=harness.clock)
    harness.app.delivery.sender.pacer = Pacer(25, monotonic=time.monotonic, sleep=time.sleep)
    yield harness
    await harness.close()


async def opening_reminder(h: BotHarness, chat: ChatClient) -> str:
    account = await add_account(h.db, "5000000001", "+79160000001", M("CW-1111", "cold_water"))
    await h.app.storage.links.link(chat.chat_id, account, h.clock.now())
    before = len(chat.messages)
    await h.app.delivery.reminders.run_due(["opening"])
    got = [m.text for m in chat.messages[before:]]
    assert len(got) == 1, got
    return got[0]


async def stored(h: BotHarness, chat_id: int) -> str | None:
    locale: str | None = await h.db.fetchval(
        "SELECT locale FROM chats WHERE chat_id = ?", (chat_id,)
    )
    return locale


async def test_a_reminder_goes_in_the_language_the_chat_first_wrote_in(h: BotHarness) -> None:
    chat = h.chat(CHAT, language_code="en")
    await chat.send("/start")  # never touched /language
    assert await stored(h, CHAT) == "en"
    assert OPENING_EN in await opening_reminder(h, chat)


async def test_the_first_language_is_stored_at_once_whatever_the_first_update(
    h: BotHarness,
) -> None:
    chat = h.chat(CHAT, language_code="en-GB")
    await chat.send("hello")  # not even a command
    assert await stored(h, CHAT) == "en"
    other = h.chat(CHAT + 1, language_code="de")  # neither ru nor en: the default
    await other.send("/start")
    assert await stored(h, CHAT + 1) == "ru"


async def test_a_later_update_in_another_language_does_not_change_it(h: BotHarness) -> None:
    await h.chat(CHAT, language_code="en").send("/start")
    chat = h.chat(CHAT, language_code="ru")  # the resident switched Telegram to Russian
    await chat.send("/help")
    assert await stored(h, CHAT) == "en"
    assert OPENING_EN in await opening_reminder(h, chat)


async def test_a_language_chosen_with_language_wins_over_the_first_one(h: BotHarness) -> None:
    chat = h.chat(CHAT, language_code="en")
    await chat.send("/language")
    await chat.press("Русский")
    await chat.send("/help")  # Telegram still says en: the choice stays
    assert await stored(h, CHAT) == "ru"
    assert OPENING_RU in await opening_reminder(h, chat)


async def test_a_link_alert_goes_in_the_language_the_chat_first_wrote_in(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path)
    try:
        await add_account(harness.db, "5012345678", "+79161234567", M("CW-100234", "cold_water"))
        first = harness.chat(1001, language_code="en")
        await link_by_code(harness, first)  # never touched /language
        harness.clock.advance(seconds=61)
        await link_by_code(harness, harness.chat(2002))
        assert "another Telegram chat linked account" in first.last_text
    finally:
        await harness.close()
