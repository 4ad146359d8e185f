"""What nobody foresaw (issue 9, point 14): the resident is told "something went wrong on our
side, nothing was saved" in their language, the log gets one line with the update id and no
personal data, and a 429 on an ordinary reply is waited out and the reply sent."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiogram.types import Update

from bot.middlewares import retry_after
from bot.storage.postgres import PostgresDatabase
from bot.storage.sqlite import SqliteDatabase
from tests.flows.test_linking import ACCOUNT, PHONE
from tests.flows.test_submit import SUBMIT, count_readings, link, seed_flat
from tests.harness import BotHarness, ChatClient
from tests.seed import M, add_account

VALUE = "117"  # the reading typed: it must not reach the log


async def read_only(harness: BotHarness, on: bool) -> None:
    """The database refuses every write, as on a read-only mount, a full disk or a server
    put in read-only mode."""
    db = harness.db
    if isinstance(db, PostgresDatabase):  # the pool's connections, made again read-only
        db._settings["default_transaction_read_only"] = "on" if on else "off"
        await db.pool.expire_connections()
        return
    assert isinstance(db, SqliteDatabase) and db._writer is not None
    await db._writer.execute(f"PRAGMA query_only = {int(on)}")


def refused_write(text: str) -> bool:
    """The error line names the refusal, whichever engine refused."""
    return ("OperationalError" in text and "readonly" in text) or (
        "ReadOnlySQLTransactionError" in text
    )


def error_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.handlers.errors"]


def assert_one_clean_line(caplog: pytest.LogCaptureFixture, update: Update, *secrets: str) -> str:
    lines = [r for r in error_lines(caplog) if r.levelno == logging.ERROR]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    record = lines[0]
    text = record.getMessage()
    assert record.exc_info is None and "\n" not in text  # one line, traceback included
    assert f"update {update.update_id} failed" in text
    assert " at " in text and ".py:" in text  # where it was raised
    for secret in secrets:
        assert not re.search(rf"(?<![\w:.]){re.escape(secret)}(?!\w)", text), (secret, text)
    return text


async def press_confirm(chat: ChatClient) -> Update:
    update = chat.callback_update(*chat.find_button("Подтвердить"))
    await chat.feed(update)
    return update


async def test_a_read_only_database_at_confirm_is_answered_and_nothing_is_saved(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send(VALUE)
    await harness.app.storage.fsm.flush()
    caplog.set_level(logging.INFO)
    await read_only(harness, True)

    update = await press_confirm(chat)  # raised OperationalError out of the dispatcher before

    assert chat.last_text == harness.app.core.get(
        "error-internal", "ru", support=harness.app.settings.support_contact
    )
    text = assert_one_clean_line(caplog, update, VALUE, ACCOUNT, "Иван")
    assert refused_write(text)
    await read_only(harness, False)
    assert await count_readings(harness.db) == 0
    await chat.feed(update)  # the same Confirm, once the disk is back: saved once
    await chat.feed(update)
    assert await count_readings(harness.db) == 1


async def test_a_read_only_database_at_the_phone_step_is_answered_in_the_residents_language(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await add_account(harness.db, ACCOUNT, PHONE, M("CW-100234", "cold_water"))
    chat = harness.chat(1002, language_code="en")
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await harness.app.storage.fsm.flush()
    caplog.set_level(logging.INFO)
    await read_only(harness, True)

    update = chat.text_update("8 916 123-45-67")
    await chat.feed(update)

    assert chat.last_text == harness.app.core.get(
        "error-internal", "en", support=harness.app.settings.support_contact
    )
    await harness.settle()  # codes go out in the background: none was even reserved
    assert harness.sms.sent == []
    assert_one_clean_line(caplog, update, "9161234567", "123-45-67", ACCOUNT)
    await read_only(harness, False)
    await chat.send("8 916 123-45-67")  # asked again, now it goes through
    await harness.settle()
    assert len(harness.sms.sent) == 1


async def test_a_repository_that_raises_leaves_no_personal_data_in_the_log(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send(VALUE)

    async def broken(**_: object) -> None:
        raise RuntimeError(f"account {ACCOUNT}, phone {PHONE}, value {VALUE}")

    monkeypatch.setattr(harness.app.services.submissions.readings, "save", broken)
    caplog.set_level(logging.INFO)
    update = await press_confirm(chat)
    assert "RuntimeError" in assert_one_clean_line(caplog, update, ACCOUNT, PHONE, VALUE)
    assert "ничего не сохранено" in chat.last_text
    assert await count_readings(harness.db) == 0


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def pause(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(retry_after, "pause", pause)
    return waited


async def test_a_429_on_an_ordinary_reply_is_waited_out_and_the_reply_sent(
    harness: BotHarness, pauses: list[float]
) -> None:
    chat = harness.chat(1001)
    harness.session.fail("SendMessage", 1001, kind="429", retry_after=3)
    await chat.send("/help")  # raised TelegramRetryAfter out of the dispatcher before
    assert pauses == [3]
    assert "+7 (495) 000-00-00" in chat.last_text  # the help text, sent after the wait


async def test_the_429_wait_is_bounded(
    harness: BotHarness, pauses: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    chat = harness.chat(1001)
    harness.session.fail("SendMessage", 1001, kind="429", retry_after=3, times=100)
    await chat.send("/help")  # gives up after MAX_TRIES, and the update ends cleanly
    assert pauses == [3] * (retry_after.MAX_TRIES - 1)
    assert any("TelegramRetryAfter" in r.getMessage() for r in error_lines(caplog))

    pauses.clear()
    harness.session.failures.clear()
    harness.session.fail("SendMessage", 1001, kind="429", retry_after=3600)
    await chat.send("/help")
    assert pauses == []  # an hour is not waited out in an update


async def test_sending_outside_the_updates_own_task_is_not_retried(
    harness: BotHarness, pauses: list[float]
) -> None:
    """Reminders and announcements (a task of their own, even one started by a handler)
    keep their own 429 handling: one pause for all sending."""
    bot: Bot = harness.app.bot
    harness.session.fail("SendMessage", 1001, kind="429", retry_after=3, times=2)
    with pytest.raises(TelegramRetryAfter):  # not in an update at all
        await bot.send_message(1001, "reminder")

    started: list[asyncio.Task[object]] = []

    async def handler(event: object, data: dict[str, object]) -> None:
        started.append(asyncio.create_task(bot.send_message(1001, "broadcast")))

    await retry_after.UpdateTask()(handler, Update(update_id=1), {})
    with pytest.raises(TelegramRetryAfter):
        await started[0]
    assert pauses == []
