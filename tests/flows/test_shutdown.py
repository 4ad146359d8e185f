"""A stop (SIGTERM) with updates in hand, polling and webhook: each accepted update is handled
to the end, its answer in the resident's language and its reading saved, or, past the grace,
abandoned with one log line; never a KeyError from the texts, never "Task exception was never
retrieved" (a failed CI run: the error answer met the texts already unloaded)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update

from bot.i18n import create_core
from bot.run import serve_webhook
from tests.e2e.processes import free_port
from tests.fakes.bot_api.webhook import SECRET_HEADER
from tests.flows.test_submit import count_readings, link, seed_flat
from tests.harness import BotHarness, ChatClient, RecordingSession, start_harness

SECRET = "shutdown_secret"
HOOK_PATH = "/tg/hook"


class HeldTelegram(RecordingSession):
    """The recording Bot API, with getUpdates handing over what a test queues, and one call
    held until the stop has begun waiting for the updates in hand (its log line says so)."""

    def __init__(self) -> None:
        super().__init__()
        self.queued: list[Update] = []
        self._arrived = asyncio.Event()
        self.polling_stopped = asyncio.Event()
        self._holding: str | None = None
        self._failing = False
        self.broken: str | None = None  # a method every call of which breaks the connection
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    def queue(self, *updates: Update) -> None:
        self.queued.extend(updates)
        self._arrived.set()

    def hold(self, method: str, *, then_fail: bool = False) -> None:
        """The next call of `method` waits for `release`; then it fails with a 502 if told."""
        self._holding, self._failing = method, then_fail

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        if isinstance(method, GetUpdates):
            return await self._long_poll()
        if type(method).__name__ == self.broken:
            raise ConnectionResetError("Connection reset by peer")
        if type(method).__name__ == self._holding:
            self._holding = None
            self.held.set()
            await self.release.wait()
            if self._failing:
                self.calls.append(method)
                raise TelegramServerError(method, "Bad Gateway")
        return await super().make_request(bot, method, timeout)

    async def _long_poll(self) -> list[Update]:
        try:
            while not self.queued:
                self._arrived.clear()
                await self._arrived.wait()
        except asyncio.CancelledError:
            self.polling_stopped.set()
            raise
        batch, self.queued = self.queued, []
        return batch


class ReleaseAtStop(logging.Handler):
    """Lets the held call go when the stop says it waits for the updates in hand."""

    def __init__(self, gate: asyncio.Event) -> None:
        super().__init__()
        self.gate = gate
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("stopping: "):
            self.lines.append(record.getMessage())
            self.gate.set()


@contextlib.contextmanager
def release_at_stop(api: HeldTelegram) -> Iterator[ReleaseAtStop]:
    handler = ReleaseAtStop(api.release)
    logger = logging.getLogger("bot.updates_in_hand")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    # texts of its own: a stop that unloaded them must not take them from the other tests
    bot = await start_harness(
        tmp_path,
        session=HeldTelegram(),
        core=create_core("ru"),
        webhook_url=f"https://bot.example.org{HOOK_PATH}",
        webhook_secret=SECRET,
        http_port=free_port(),
    )
    yield bot
    await bot.close()


def telegram(harness: BotHarness) -> HeldTelegram:
    assert isinstance(harness.session, HeldTelegram)
    return harness.session


async def at_confirm(harness: BotHarness) -> ChatClient:
    """An English-speaking resident with cold water's value typed, before "Confirm"."""
    account = await seed_flat(harness.db)
    await link(harness, 1001, account)
    chat = harness.chat(1001, first_name="John", language_code="en")
    await chat.send("/submit")
    await chat.send("105")
    assert "Check and confirm" in chat.last_text
    return chat


async def stop_polling(harness: BotHarness, polling: asyncio.Task[None]) -> list[str]:
    """What SIGTERM does to a polling bot (aiogram's handler sets the same stop signal); the
    held call answers once the stop waits for the updates in hand. Returns the stop's lines."""
    with release_at_stop(telegram(harness)) as stop:
        await harness.app.dispatcher.stop_polling()
        await polling
    assert telegram(harness).polling_stopped.is_set()
    return stop.lines


def start_polling(harness: BotHarness) -> asyncio.Task[None]:
    dp = harness.app.dispatcher
    return asyncio.create_task(
        dp.start_polling(harness.app.bot, handle_signals=False, close_bot_session=False)
    )


class Webhook:
    """`python -m bot run` in webhook mode, `stopping` standing for SIGTERM."""

    def __init__(self, harness: BotHarness) -> None:
        self.harness = harness
        self.stopping = asyncio.Event()
        self.url = f"http://127.0.0.1:{harness.app.settings.http_port}"
        self.serving = asyncio.create_task(serve_webhook(harness.app, self.stopping))

    async def post(self, update: Update) -> None:
        body = update.model_dump(mode="json", exclude_none=True)
        async with aiohttp.ClientSession() as session:
            for _ in range(200):  # until the server listens
                try:
                    async with session.post(
                        self.url + HOOK_PATH, json=body, headers={SECRET_HEADER: SECRET}
                    ) as response:
                        assert response.status == 200
                        return
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
        raise AssertionError("the webhook never listened")

    async def stop(self) -> list[str]:
        """SIGTERM; the held call answers once the stop waits for the updates in hand."""
        with release_at_stop(telegram(self.harness)) as stop:
            self.stopping.set()
            await self.serving
        return stop.lines


def problems(caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]) -> list[str]:
    """Errors nobody meant: a traceback in the log, a KeyError, an unretrieved task."""
    found = [r.getMessage() for r in caplog.records if r.exc_info or "KeyError" in r.getMessage()]
    gc.collect()  # an unretrieved task's exception is reported when the task is collected
    return found + [str(context.get("message")) for context in loop_errors]


def error_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_polling_stop_finishes_a_confirm_in_hand_and_the_next_update_waiting_for_its_lock(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    caplog.set_level(logging.INFO)
    chat = await at_confirm(harness)
    api = telegram(harness)
    api.hold("AnswerCallbackQuery")  # Confirm answers its button first, then saves
    polling = start_polling(harness)
    confirm = chat.callback_update(*chat.find_button("Confirm"))
    typed_fast = chat.text_update("99995")  # hot water's value, waiting for the chat's lock
    api.queue(confirm, typed_fast)
    await api.held.wait()

    stop = await stop_polling(harness, polling)

    assert stop == ["stopping: 2 update(s) in hand, waiting up to 5 s"]
    assert await count_readings(harness.db) == 1
    texts = [m.text for m in chat.messages]
    assert any("Reading accepted" in t and "105" in t for t in texts), texts
    assert "Check and confirm" in chat.last_text and "99995" in chat.last_text
    assert error_lines(caplog) == [] and problems(caplog, loop_errors) == []


async def test_webhook_stop_finishes_a_confirm_in_hand_with_its_receipt(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    caplog.set_level(logging.INFO)
    chat = await at_confirm(harness)
    api = telegram(harness)
    api.hold("AnswerCallbackQuery")
    webhook = Webhook(harness)
    await webhook.post(chat.callback_update(*chat.find_button("Confirm")))
    await api.held.wait()

    assert await webhook.stop() == ["stopping: 1 update(s) in hand, waiting up to 5 s"]

    assert await count_readings(harness.db) == 1
    assert any("Reading accepted" in m.text for m in chat.messages)
    assert error_lines(caplog) == [] and problems(caplog, loop_errors) == []


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_failure_during_the_stop_gets_the_error_answer_in_the_residents_language(
    harness: BotHarness,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
    mode: str,
) -> None:
    """The error answer awaits Telegram (the button's spinner) before it renders its text:
    the update must still be in hand then, its texts still loaded. (A failed spinner alone
    no longer fails a press: the receipt's edit fails here, after the save.)"""
    caplog.set_level(logging.INFO)
    chat = await at_confirm(harness)
    api = telegram(harness)
    api.hold("EditMessageText", then_fail=True)  # a 502 on the receipt, after the save
    confirm = chat.callback_update(*chat.find_button("Confirm"))
    if mode == "polling":
        polling = start_polling(harness)
        api.queue(confirm)
        await api.held.wait()
        stop = await stop_polling(harness, polling)
    else:
        webhook = Webhook(harness)
        await webhook.post(confirm)
        await api.held.wait()
        stop = await webhook.stop()

    assert stop == ["stopping: 1 update(s) in hand, waiting up to 5 s"]

    expected = harness.app.core.get("error-telegram", "en", support="+7 (495) 000-00-00")
    assert chat.last_text == expected
    assert await count_readings(harness.db) == 1
    errors = error_lines(caplog)
    assert len(errors) == 1 and f"update {confirm.update_id} failed" in errors[0], errors
    assert problems(caplog, loop_errors) == []


async def test_past_the_grace_an_update_in_hand_is_abandoned_with_one_line(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    caplog.set_level(logging.INFO)
    chat = await at_confirm(harness)
    api = telegram(harness)
    api.hold("AnswerCallbackQuery")  # and never let go: a Telegram that stopped answering
    harness.app.dispatcher.in_hand.grace = 0
    polling = start_polling(harness)
    confirm = chat.callback_update(*chat.find_button("Confirm"))
    api.queue(confirm)
    await api.held.wait()

    await harness.app.dispatcher.stop_polling()
    await polling

    abandoned = [r for r in caplog.records if "abandoned" in r.getMessage()]
    assert len(abandoned) == 1, [r.getMessage() for r in abandoned]
    assert abandoned[0].levelno == logging.WARNING
    assert abandoned[0].getMessage().endswith(f": {confirm.update_id}")
    update_lines = [r for r in caplog.records if r.name == "bot.updates"]
    assert [r.getMessage().split(" by ")[0] for r in update_lines][-1] == (
        f"update {confirm.update_id} cancelled"
    )
    registry = harness.app.metrics.registry  # the metrics say what the log says
    cancelled = {"area": "submit", "outcome": "cancelled"}
    assert registry.get_sample_value("bot_updates_total", cancelled) == 1
    assert await count_readings(harness.db) == 0
    assert error_lines(caplog) == [] and problems(caplog, loop_errors) == []


async def test_an_error_answer_that_fails_too_is_one_line_not_an_unretrieved_task(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    """Webhook mode handles an update in a task nobody awaits: what escapes the error answer
    would be "Task exception was never retrieved", with a traceback (and the chat in it)."""
    caplog.set_level(logging.INFO)
    chat = await at_confirm(harness)
    telegram(harness).broken = "AnswerCallbackQuery"  # in the handler, then in the error answer
    webhook = Webhook(harness)
    confirm = chat.callback_update(*chat.find_button("Confirm"))
    await webhook.post(confirm)

    await webhook.stop()

    errors = error_lines(caplog)
    assert len(errors) == 2, errors
    assert f"update {confirm.update_id} failed" in errors[0]
    assert errors[1].startswith(f"update {confirm.update_id}: the error answer failed: ")
    assert "ConnectionResetError" in errors[1] and "\n" not in errors[1]
    assert problems(caplog, loop_errors) == []
