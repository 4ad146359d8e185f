"""/broadcast (SPEC §8): text → preview and count → confirm → sent, one progress message."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.methods import EditMessageText, Response, SendMessage, TelegramMethod

from bot.notifications.pacer import Pacer
from tests.harness import BotHarness, ChatClient, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
ADMIN = 777  # ADMIN_IDS in the harness
RESIDENTS = (101, 102, 103)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_harness(tmp_path, broadcast_rate=5)
    time = ManualTime(clock=harness.clock)
    harness.app.delivery.sender.pacer = Pacer(5, monotonic=time.monotonic, sleep=time.sleep)
    account = await add_account(harness.db, "5000000001", "+79160000001", M("CW-1", "cold_water"))
    for chat_id in (*RESIDENTS, 104):
        await harness.app.storage.links.link(chat_id, account, harness.clock.now())
    await harness.app.storage.chats.set_active(104, False)  # blocked the bot earlier
    await harness.app.storage.chats.ensure(105, harness.clock.now())  # wrote once, never linked
    yield harness
    await harness.close()


async def prepare(h: BotHarness, text: str) -> ChatClient:
    admin = h.chat(ADMIN)
    await admin.send("/broadcast")
    assert "текст объявления" in admin.last_text
    await admin.send(text)
    return admin


def sends_to(h: BotHarness, chat_id: int) -> list[str]:
    return [c.text for c in h.session.calls_of(SendMessage) if int(c.chat_id) == chat_id]


async def test_admin_previews_confirms_and_every_linked_active_chat_gets_it_once(
    h: BotHarness,
) -> None:
    text = "Отключение горячей воды 1 < 2 июня & дальше"
    admin = await prepare(h, text)
    preview, question = admin.replies
    assert preview.text == "Отключение горячей воды 1 &lt; 2 июня &amp; дальше"
    assert preview.reply_markup is None
    assert "Получателей: <b>3</b>" in question.text

    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()

    for chat_id in RESIDENTS:
        assert sends_to(h, chat_id) == [preview.text]  # exactly the preview
    assert sends_to(h, 104) == [] and sends_to(h, 105) == []
    # the confirmation became the progress message, edited to the end
    assert admin.messages[-1] is question
    assert "завершена: отправлено 3 из 3" in question.text
    assert question.buttons() == []
    delivery = await h.app.storage.deliveries.get("broadcast:1")
    assert delivery is not None and delivery.finished


async def test_cancel_sends_nothing(h: BotHarness) -> None:
    admin = await prepare(h, "Пробное объявление")
    await admin.press("Отмена")
    assert "ничего не отправлено" in admin.last_text
    assert all(sends_to(h, chat_id) == [] for chat_id in RESIDENTS)
    await admin.press_data(admin.last, "bcast:send")  # a stale button does nothing
    await h.app.delivery.broadcasts.join()
    assert all(sends_to(h, chat_id) == [] for chat_id in RESIDENTS)


async def test_not_an_admin_gets_the_unknown_command_answer(h: BotHarness) -> None:
    resident = h.chat(101)
    await resident.send("/broadcast")
    assert h.app.core.get("unknown-command", "ru") in resident.reply_text
    assert "текст объявления" not in resident.reply_text
    await resident.press_data(resident.last, "bcast:send")
    await h.app.delivery.broadcasts.join()
    assert await h.app.storage.deliveries.get("broadcast:1") is None


async def test_only_text_is_accepted_as_an_announcement(h: BotHarness) -> None:
    admin = h.chat(ADMIN)
    await admin.send("/broadcast")
    await admin.send_sticker_like()
    assert "Нужен текст" in admin.last_text
    await admin.send("x" * 4097)
    assert "слишком длинный" in admin.last_text


async def test_progress_is_edited_as_it_goes(h: BotHarness) -> None:
    account = await add_account(h.db, "5000000002", "+79160000002", M("CW-2", "cold_water"))
    for chat_id in range(200, 240):
        await h.app.storage.links.link(chat_id, account, h.clock.now())
    edits: list[str] = []

    async def watch(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, EditMessageText):
            edits.append(method.text or "")
        return await make_request(bot, method)

    h.app.bot.session.middleware(watch)
    h.session.fail("EditMessageText", ADMIN, kind="400", times=1)  # "message is not modified"
    admin = await prepare(h, "Собрание жильцов в субботу")
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()

    # 43 chats at 5 a second: about 9 seconds, so a few edits on the way
    progress = [e for e in edits if "отправлено" in e and "завершена" not in e]
    assert len(progress) >= 3
    assert "завершена: отправлено 43 из 43" in edits[-1]
    assert "завершена" in admin.messages[-1].text


async def test_a_broadcast_cut_short_resumes_on_start_and_sends_none_twice(
    h: BotHarness,
) -> None:
    admin = await prepare(h, "Перерасчёт за отопление")
    sends = 0

    async def stop_after_two(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        nonlocal sends
        result = await make_request(bot, method)
        if isinstance(method, SendMessage) and int(method.chat_id) in RESIDENTS:
            sends += 1
            if sends == 2:
                h.app.delivery.broadcasts.stop("broadcast:1")  # as a shutdown would
        return result

    h.app.bot.session.middleware(stop_after_two)
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    assert "приостановлена: отправлено 2 из 3" in admin.messages[-1].text

    assert await h.app.delivery.broadcasts.resume() == ["broadcast:1"]  # the bot started again
    await h.app.delivery.broadcasts.join()
    assert [len(sends_to(h, chat_id)) for chat_id in RESIDENTS] == [1, 1, 1]
    assert "завершена: отправлено 3 из 3" in admin.messages[-1].text
    assert await h.app.delivery.broadcasts.resume() == []


async def test_a_blocked_resident_is_counted_and_deactivated(h: BotHarness) -> None:
    h.session.fail("SendMessage", 102, kind="403")
    admin = await prepare(h, "Объявление")
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    assert "отправлено 2 из 3, не доставлено 1 (из них заблокировали бота: 1)" in (
        admin.messages[-1].text
    )
    chat = await h.app.storage.chats.get(102)
    assert chat is not None and not chat.active


async def test_nobody_to_send_to(tmp_path: Path) -> None:
    h = await start_harness(tmp_path)
    try:
        admin = h.chat(ADMIN)
        await admin.send("/broadcast")
        await admin.send("Никого нет")
        assert "Отправлять некому" in admin.last_text
    finally:
        await h.close()


async def test_the_sends_are_paced(h: BotHarness) -> None:
    moments: list[float] = []
    pacer = h.app.delivery.sender.pacer

    async def timed(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, SendMessage) and int(method.chat_id) in RESIDENTS:
            moments.append(pacer.monotonic())
        return await make_request(bot, method)

    h.app.bot.session.middleware(timed)
    admin = await prepare(h, "Темп")
    await admin.press("Отправить")
    await asyncio.wait_for(h.app.delivery.broadcasts.join(), 5)
    assert len(moments) == 3
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(moments))


async def test_an_announcement_confirmed_in_quiet_hours_waits_for_their_end(
    h: BotHarness,
) -> None:
    h.clock.set(datetime(2026, 11, 20, 22, 0, tzinfo=MSK))  # QUIET_HOURS 21:00-09:00
    admin = await prepare(h, "Завтра отключат воду")
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    assert all(sends_to(h, chat_id) == [] for chat_id in RESIDENTS)
    assert "тихих часов" in admin.messages[-1].text and "09:00" in admin.messages[-1].text

    h.clock.set(datetime(2026, 11, 21, 8, 59, tzinfo=MSK))  # the resume job, every minute
    assert await h.app.delivery.broadcasts.resume_due() == []
    h.clock.set(datetime(2026, 11, 21, 9, 0, tzinfo=MSK))
    assert await h.app.delivery.broadcasts.resume_due() == ["broadcast:1"]
    await h.app.delivery.broadcasts.join()
    assert [len(sends_to(h, chat_id)) for chat_id in RESIDENTS] == [1, 1, 1]
    assert "завершена: отправлено 3 из 3" in admin.messages[-1].text
    assert await h.app.delivery.broadcasts.resume_due() == []


async def test_an_announcement_reaching_quiet_hours_pauses_and_resumes_at_their_end(
    h: BotHarness,
) -> None:
    account = await add_account(h.db, "5000000002", "+79160000002", M("CW-2", "cold_water"))
    for chat_id in range(200, 240):
        await h.app.storage.links.link(chat_id, account, h.clock.now())
    h.clock.set(datetime(2026, 11, 20, 20, 59, 55, tzinfo=MSK))  # 5 a second: ~25 go out
    admin = await prepare(h, "Собрание жильцов")
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    first = sum(len(sends_to(h, chat_id)) for chat_id in (*RESIDENTS, *range(200, 240)))
    assert 0 < first < 43 and "тихих часов" in admin.messages[-1].text

    h.clock.set(datetime(2026, 11, 21, 9, 0, tzinfo=MSK))
    assert await h.app.delivery.broadcasts.resume_due() == ["broadcast:1"]
    await h.app.delivery.broadcasts.join()
    for chat_id in (*RESIDENTS, *range(200, 240)):
        assert len(sends_to(h, chat_id)) == 1
    assert "завершена: отправлено 43 из 43" in admin.messages[-1].text


async def test_an_old_previews_button_does_not_send_the_newer_text(h: BotHarness) -> None:
    admin = await prepare(h, "Первый вариант")
    old_question = admin.last
    await admin.send("/broadcast")
    await admin.send("Второй вариант")
    await admin.press_data(old_question, "bcast:cancel")  # the first preview's Cancel
    await admin.press_data(old_question, "bcast:send")  # and its Send
    await h.app.delivery.broadcasts.join()
    assert all(sends_to(h, chat_id) == [] for chat_id in RESIDENTS)
    assert old_question.buttons() == []  # the old preview says it is out of date
    assert "устарел" in old_question.text and "Ничего не отправлено" in old_question.text
    await admin.press("Отправить")  # the current preview still works
    await h.app.delivery.broadcasts.join()
    assert [sends_to(h, chat_id) for chat_id in RESIDENTS] == [["Второй вариант"]] * 3


async def test_confirm_pressed_twice_sends_once(h: BotHarness) -> None:
    admin = await prepare(h, "Один раз")
    question, data = admin.find_button("Отправить")
    await asyncio.gather(admin.press_data(question, data), admin.press_data(question, data))
    await admin.press_data(question, data)
    await h.app.delivery.broadcasts.join()
    assert [len(sends_to(h, chat_id)) for chat_id in RESIDENTS] == [1, 1, 1]
    assert await h.app.storage.deliveries.get("broadcast:2") is None


async def test_html_specials_and_unclosed_tags_go_out_escaped(h: BotHarness) -> None:
    admin = await prepare(h, "<b>Важно & срочно: вода < 5 °C")
    preview = admin.replies[0]
    assert preview.text == "&lt;b&gt;Важно &amp; срочно: вода &lt; 5 °C"
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    assert sends_to(h, 101) == [preview.text]


async def test_4096_characters_of_specials_pass_4097_are_refused(h: BotHarness) -> None:
    admin = await prepare(h, "<" * 4096)  # 16 384 characters once escaped: Telegram counts 4096
    assert "Получателей" in admin.last_text
    await admin.send("/broadcast")
    await admin.send("&" * 4097)
    assert "слишком длинный" in admin.last_text


async def test_429_and_a_chat_gone_in_the_middle_of_a_broadcast(h: BotHarness) -> None:
    h.session.fail("SendMessage", 102, kind="429", retry_after=1)
    h.session.fail("SendMessage", 103, kind="400", description="Bad Request: chat not found")
    admin = await prepare(h, "Объявление")
    await admin.press("Отправить")
    await h.app.delivery.broadcasts.join()
    got = [[m.text for m in h.session.messages[chat_id]] for chat_id in RESIDENTS]
    assert got == [["Объявление"], ["Объявление"], []]  # 102 after the wait, once
    assert "отправлено 2 из 3, не доставлено 1" in admin.messages[-1].text


async def test_the_progress_message_deleted_by_the_admin_still_ends_in_a_report(
    h: BotHarness,
) -> None:
    admin = await prepare(h, "Объявление")
    question = admin.last
    await admin.press("Отправить")
    h.session.messages[ADMIN].remove(question)  # the admin deletes the progress message
    del h.session._by_id[ADMIN, question.message_id]
    await h.app.delivery.broadcasts.join()
    assert [len(sends_to(h, chat_id)) for chat_id in RESIDENTS] == [1, 1, 1]
    assert "завершена: отправлено 3 из 3" in admin.last_text  # posted anew, once
    assert len([m for m in admin.messages if "Рассылка" in m.text]) == 1
