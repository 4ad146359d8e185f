"""Telegram failing under a resident's feet (SPEC §9): an expired or failed button answer, an
edit of a message pressed twice or gone. What the press asked for is still done, and the
resident is told in their language; never "something went wrong" for a spinner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.types import Update

from tests.flows.test_appeals import OPERATORS, WRITE, topics
from tests.flows.test_linking import ACCOUNT, PHONE
from tests.flows.test_submit import SUBMIT, count_readings, find_message, link, seed_flat
from tests.harness import BotHarness, ChatClient, start_harness
from tests.seed import M, add_account

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = "Bad Request: message is not modified"
NOT_FOUND = "Bad Request: message to edit not found"


def internal_error(harness: BotHarness, locale: str = "ru") -> str:
    support = harness.app.settings.support_contact
    return harness.app.core.get("error-internal", locale, support=support)


def fail_answers(harness: BotHarness, kind: str) -> None:
    """The next callback answer fails: expired (400), Telegram's 5xx, or a timeout."""
    if kind == "expired":
        harness.session.fail("AnswerCallbackQuery", kind="400", description=TOO_OLD)
    else:
        harness.session.fail("AnswerCallbackQuery", kind=kind)


async def linked_chat(harness: BotHarness) -> ChatClient:
    account = await add_account(harness.db, ACCOUNT, PHONE, M("CW-100234", "cold_water"))
    return await link(harness, 1001, account)


@pytest.mark.parametrize("kind", ["expired", "502", "timeout"])
async def test_confirm_whose_button_answer_fails_still_saves_and_shows_the_receipt(
    harness: BotHarness, kind: str
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    fail_answers(harness, kind)

    await chat.press("Подтвердить")  # a 5xx or a timeout answered "nothing was saved" before

    assert "2611-000001" in find_message(chat, "Расписка №").text
    assert "Горячая вода" in chat.last_text  # and the walk goes on
    assert internal_error(harness) not in chat.reply_text
    assert await count_readings(harness.db) == 1


@pytest.mark.parametrize("kind", ["expired", "502"])
async def test_forget_confirmed_after_the_button_answer_failed_still_forgets(
    harness: BotHarness, kind: str
) -> None:
    chat = await linked_chat(harness)
    await chat.send("/forget")
    fail_answers(harness, kind)

    await chat.press("Да, удалить")  # raised out of the handler before: nothing forgotten

    assert "я всё забыл" in chat.last_text
    assert await harness.db.fetchval("SELECT count(*) FROM links") == 0


async def test_forget_cancel_pressed_twice_is_not_an_error(harness: BotHarness) -> None:
    chat = await linked_chat(harness)
    await chat.send("/forget")
    sent, data = chat.find_button("Отмена")
    await chat.press_data(sent, data)
    assert "ничего не удалено" in chat.last_text
    harness.session.fail("EditMessageText", kind="400", description=NOT_MODIFIED)

    await chat.press_data(sent, data)  # Telegram: the text is the same; "something went wrong"

    assert chat.replies == []
    assert await harness.db.fetchval("SELECT count(*) FROM links") == 1


async def test_unlink_whose_message_is_gone_says_so_in_a_new_message(
    harness: BotHarness,
) -> None:
    chat = await linked_chat(harness)
    await chat.send("/accounts")
    await chat.press("Отвязать")
    harness.session.fail("EditMessageText", kind="400", description=NOT_FOUND)

    await chat.press("Да, отвязать")  # unlinked, then "something went wrong" before

    assert "Лицевой счёт отвязан" in chat.reply_text
    assert internal_error(harness) not in chat.reply_text
    assert await harness.db.fetchval("SELECT count(*) FROM links") == 0


async def test_a_settings_toggle_whose_answer_failed_still_toggles(harness: BotHarness) -> None:
    chat = await linked_chat(harness)
    chat.user = chat.user.model_copy(update={"language_code": "en"})
    await chat.send("/language")
    await chat.press("English")
    await chat.send("/settings")
    before = chat.last.buttons()
    fail_answers(harness, "502")

    await chat.press("Verification")  # raised out of the handler before: nothing toggled

    assert chat.last.buttons() != before
    assert internal_error(harness, "en") not in chat.reply_text


def telegram_error(harness: BotHarness, locale: str = "ru") -> str:
    support = harness.app.settings.support_contact
    return harness.app.core.get("error-telegram", locale, support=support)


@pytest.mark.parametrize("kind", ["502", "timeout"])
async def test_a_receipt_telegram_failed_to_show_is_not_called_unsaved(
    harness: BotHarness, kind: str
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    harness.session.fail("EditMessageText", kind=kind)

    await chat.press("Подтвердить")  # saved, then the receipt's edit failed

    assert await count_readings(harness.db) == 1
    assert chat.last_text == telegram_error(harness)  # was "nothing was saved": untrue
    await chat.press("Подтвердить")  # the step again, as the answer says: saved once
    assert "2611-000001" in find_message(chat, "Расписка №").text
    assert await count_readings(harness.db) == 1


async def test_a_link_telegram_failed_to_announce_is_not_called_unsaved(
    harness: BotHarness,
) -> None:
    await add_account(harness.db, ACCOUNT, PHONE, M("CW-100234", "cold_water"))
    chat = harness.chat(1002, language_code="en")
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.send("8 916 123-45-67")
    await harness.settle()
    harness.session.fail("SendMessage", 1002, kind="502")

    await chat.send(harness.sms.last_code())

    assert chat.last_text == telegram_error(harness, "en")
    assert await harness.db.fetchval("SELECT count(*) FROM links WHERE chat_id = 1002") == 1
    await chat.send("/start")
    assert "Welcome back" in chat.reply_text


@pytest.mark.parametrize("locale", ["ru", "en"])
async def test_an_edited_value_is_answered_and_the_walk_keeps_the_value_typed_first(
    harness: BotHarness, locale: str
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    chat.user = chat.user.model_copy(update={"language_code": locale})
    await chat.send("/language")
    await chat.press("English" if locale == "en" else "Русский")
    await chat.send(SUBMIT if locale == "ru" else "📝 Submit readings")
    typed = chat.text_update("105")
    await chat.feed(typed)
    assert typed.message is not None
    edited = typed.message.model_copy(update={"text": "150", "edit_date": 1})

    await chat.feed(Update(update_id=next(harness.ids), edited_message=edited))  # silence before

    assert chat.reply_text == harness.app.core.get("edit-not-read", locale)
    await chat.press("Подтвердить" if locale == "ru" else "Confirm")
    assert await harness.db.fetchval("SELECT t1 FROM readings") == 105


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[BotHarness]:
    """A bot with the operators' forum (appeals), as test_appeals' own."""
    harness = await start_harness(tmp_path, operator_chat_id=OPERATORS)
    yield harness
    await harness.close()


async def test_a_rating_pressed_twice_is_not_an_error(desk: BotHarness) -> None:
    chat = await linked_chat(desk)
    await chat.send(WRITE)
    await chat.press("Счётчик сломался")
    await chat.send("Счётчик не крутится")
    await chat.press("Посмотреть и отправить")
    await chat.press("Отправить")
    [thread] = topics(desk)
    await desk.operator().send("/close", thread)
    sent, data = chat.find_button("4 ⭐")
    await chat.press_data(sent, data)
    assert "Ваша оценка по обращению A-000001: 4/5" in chat.last_text
    desk.session.fail("EditMessageReplyMarkup", kind="400", description=NOT_MODIFIED)

    await chat.press_data(sent, data)  # "something went wrong, nothing was saved" before

    assert chat.replies == []
    assert "Ваша оценка по обращению A-000001: 4/5" in chat.last_text
