"""Appeals, what the operators meet when Telegram refuses (SPEC §11): an answer, /close and the
SLA raise must never end in silence, a lost answer or a duplicate."""

from __future__ import annotations

import html
import re
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import CopyMessage, Response, SendMessage, TelegramMethod
from aiogram.types import Location

from tests.flows.test_appeals import desk, last_in, photo, topics, write_appeal
from tests.flows.test_submit import link, seed_flat
from tests.harness import BotHarness

__all__ = ["desk"]

CHAT_NOT_FOUND = "Bad Request: chat not found"


async def opened(desk: BotHarness) -> int:
    resident = await link(desk, 1001, await seed_flat(desk.db))
    await write_appeal(resident, "вопрос")
    [thread] = topics(desk)
    return thread


def to_resident(desk: BotHarness) -> list[str]:
    """What the resident's chat got (a call Telegram refused is not there)."""
    return [m.text for m in desk.session.messages[1001]]


async def test_an_answer_met_by_429_is_sent_once_after_the_wait(desk: BotHarness) -> None:
    thread = await opened(desk)
    desk.session.fail("SendMessage", 1001, kind="429", retry_after=0)
    await desk.operator().send("мастер придёт в среду", thread)
    answers = [t for t in to_resident(desk) if "мастер придёт" in t]
    assert len(answers) == 1
    assert "не удалось" not in last_in(desk.operator(), thread).text


async def test_an_answer_to_a_chat_gone_is_noted_in_the_topic(desk: BotHarness) -> None:
    thread = await opened(desk)
    desk.session.fail("SendMessage", 1001, kind="400", description=CHAT_NOT_FOUND)
    await desk.operator().send("ответ", thread)
    assert "не удалось доставить" in last_in(desk.operator(), thread).text


async def test_close_when_the_residents_chat_is_gone_says_so_in_the_topic(
    desk: BotHarness,
) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    desk.session.fail("SendMessage", 1001, kind="400", description=CHAT_NOT_FOUND)
    await operator.send("/close", thread)
    texts = [m.text for m in operator.in_topic(thread)]
    assert any("A-000001" in t and "не удалось" in t for t in texts), texts
    assert not any("житель уведомлён" in t for t in texts), texts


async def test_close_when_the_resident_blocked_the_bot(desk: BotHarness) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    desk.session.fail("SendMessage", 1001, kind="403")
    await operator.send("/close", thread)
    texts = [m.text for m in operator.in_topic(thread)]
    assert any("заблокировал бота" in t for t in texts), texts
    assert not any("житель уведомлён" in t for t in texts), texts


async def test_close_twice_and_outside_a_topic(desk: BotHarness) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    await operator.send("/close", thread)
    closes = [t for t in to_resident(desk) if "закрыто" in t]
    await operator.send("/close", thread)
    assert [t for t in to_resident(desk) if "закрыто" in t] == closes  # told once
    assert "теме открытого обращения" in last_in(operator, thread).text
    await operator.send("/close")
    assert "теме открытого обращения" in last_in(operator, None).text


async def test_an_answer_in_a_closed_appeals_topic_is_not_lost_silently(
    desk: BotHarness,
) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    await operator.send("/close", thread)
    before = to_resident(desk)
    await operator.send("и ещё одно", thread)
    assert to_resident(desk) == before
    assert "уже закрыто" in last_in(operator, thread).text


async def test_an_answer_the_bot_cannot_copy_is_not_lost_silently(desk: BotHarness) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    await operator.post(thread, location=Location(latitude=55.75, longitude=37.61))
    assert not desk.session.calls_of(CopyMessage)
    assert "не передано" in last_in(operator, thread).text


async def test_sla_raise_when_the_bot_was_removed_tells_the_admins_once(
    desk: BotHarness,
) -> None:
    await opened(desk)
    jobs = desk.app.delivery.jobs
    desk.clock.advance(hours=25)
    desk.session.fail("SendMessage", -1001234567890, kind="403", times=2)
    await jobs.appeals_job()
    await desk.settle()
    [alert] = desk.chat(777).messages
    assert "OPERATOR_CHAT_ID" in alert.text
    await jobs.appeals_job()
    await desk.settle()
    assert len(desk.chat(777).messages) == 1
    await jobs.appeals_job()  # the bot is back: raised now
    assert "ждёт ответа" in last_in(desk.operator(), None).text


async def test_sla_raise_met_by_429_is_raised_on_the_next_tick_once(desk: BotHarness) -> None:
    await opened(desk)
    jobs = desk.app.delivery.jobs
    desk.clock.advance(hours=25)
    desk.session.fail("SendMessage", -1001234567890, kind="429")
    await jobs.appeals_job()
    assert desk.operator().in_topic(None) == []
    await jobs.appeals_job()
    await jobs.appeals_job()
    assert len(desk.operator().in_topic(None)) == 1


async def test_an_answer_after_the_resident_forgot_says_they_cannot_be_answered(
    desk: BotHarness,
) -> None:
    thread = await opened(desk)
    resident = desk.chat(1001)
    await resident.send("/forget")
    await resident.press("Да, удалить")
    before = to_resident(desk)
    await desk.operator().send("ответ после /forget", thread)
    assert to_resident(desk) == before
    notes = [m.text for m in desk.operator().in_topic(thread) if "удалил свои данные" in m.text]
    assert len(notes) == 2  # at /forget, and again for this answer


def visible(text: str | None) -> int:
    """Telegram's count of a message's characters: the text its HTML shows, in UTF-16."""
    shown = html.unescape(re.sub(r"<[^>]*>", "", text or ""))
    return len(shown.encode("utf-16-le")) // 2


def telegram_limits(desk: BotHarness) -> None:
    """The session refuses a text over 4,096 characters and a caption over 1,024, as Telegram."""

    async def limits(
        make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if isinstance(method, SendMessage) and visible(method.text) > 4096:
            raise TelegramBadRequest(method, "Bad Request: message is too long")
        if isinstance(method, CopyMessage) and visible(method.caption) > 1024:
            raise TelegramBadRequest(method, "Bad Request: message caption is too long")
        return await make_request(bot, method)

    desk.app.bot.session.middleware(limits)


async def test_an_answer_of_4096_characters_reaches_the_resident_whole(desk: BotHarness) -> None:
    thread = await opened(desk)
    telegram_limits(desk)
    long = "Ответ " + "а" * 4090
    source = await desk.operator().send(long, thread)
    got = desk.session.messages[1001][-2:]
    assert "Расчётный центр" in got[0].text and "A-000001" in got[0].text
    assert got[1].copied == (-1001234567890, source.message_id)  # the whole answer, as written
    assert "не удалось" not in last_in(desk.operator(), thread).text


async def test_a_photo_with_a_1024_character_caption_reaches_the_resident(
    desk: BotHarness,
) -> None:
    thread = await opened(desk)
    telegram_limits(desk)
    source = await desk.operator().post(thread, photo=photo(), caption="в" * 1024)
    got = desk.session.messages[1001][-2:]
    assert "Расчётный центр" in got[0].text
    assert got[1].copied == (-1001234567890, source.message_id)
    assert "не удалось" not in last_in(desk.operator(), thread).text


async def test_a_follow_up_to_a_deleted_topic_opens_a_new_one(desk: BotHarness) -> None:
    old = await opened(desk)
    resident, operator = desk.chat(1001), desk.operator()
    gone = "Bad Request: message thread not found"
    desk.session.fail("SendMessage", -1001234567890, kind="400", description=gone)
    await resident.send("ещё вопрос")
    assert "Добавлено к обращению A-000001" in resident.last_text
    [_, new] = topics(desk)
    assert new != old
    card, follow_up = operator.in_topic(new)
    assert "Обращение A-000001" in card.text and "ещё вопрос" in follow_up.text
    await desk.settle()
    assert desk.chat(777).messages == []  # the chat works: no alert to the admins
    await operator.send("ответ в новой теме", new)
    assert "ответ в новой теме" in resident.last_text


async def test_an_edit_that_cannot_reach_the_resident_is_noted(desk: BotHarness) -> None:
    thread = await opened(desk)
    operator = desk.operator()
    original = await operator.send("мастер придёт в среду", thread)
    desk.session.fail("EditMessageText", 1001, kind="400", description=CHAT_NOT_FOUND)
    desk.session.fail("SendMessage", 1001, kind="400", description=CHAT_NOT_FOUND)
    await operator.edit(original, "мастер придёт в четверг")
    assert "не удалось доставить" in last_in(operator, thread).text
