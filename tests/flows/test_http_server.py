"""The HTTP server in process (SPEC §12, §13): health, readiness, metrics, the webhook's secret,
a port already taken; and `run`'s look at the webhook Telegram has before it serves."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram.types import Chat, Message, Update, User
from prometheus_client.parser import text_string_to_metric_families

from bot.run import check_webhook
from bot.startup import StartupError
from bot.web import HttpServer
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api.webhook import SECRET_HEADER
from tests.flows.test_submit import SUBMIT, link, seed_flat, submit_one
from tests.harness import BotHarness, make_settings, shared_core, start_harness

SECRET = "in-process_secret"
HOOK_PATH = "/tg/hook"


@pytest.fixture
async def webhook_harness(tmp_path: Path) -> AsyncIterator[BotHarness]:
    h = await start_harness(
        tmp_path,
        run_mode="webhook",
        webhook_url=f"https://bot.example.org{HOOK_PATH}",
        webhook_secret=SECRET,
        http_port=0,
    )
    yield h
    await h.close()


async def serving(harness: BotHarness, *, webhook: bool = False) -> tuple[HttpServer, str]:
    server = HttpServer(harness.app, webhook=webhook)
    await server.start()
    return server, f"http://127.0.0.1:{server.port}"


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


async def test_health_readiness_and_metrics_of_updates_and_submissions(
    tmp_path: Path,
) -> None:
    harness = await start_harness(tmp_path, http_port=0)
    server, base = await serving(harness)
    try:
        assert await get(f"{base}/healthz") == (200, "ok\n")
        assert await get(f"{base}/readyz") == (200, "ready\n")
        status, before = await get(f"{base}/metrics")
        assert status == 200 and samples(before, "bot_updates_total") == {}

        account = await seed_flat(harness.db)
        chat = await link(harness, 1001, account)
        await chat.send(SUBMIT)
        await submit_one(chat, "105")

        metrics = (await get(f"{base}/metrics"))[1]
        updates = samples(metrics, "bot_updates_total")
        assert updates[(("area", "submit"), ("outcome", "handled"))] >= 3  # menu, value, Confirm
        assert all(outcome != "error" for (_, (_, outcome)) in updates)
        assert samples(metrics, "bot_submissions_saved_total") == {(): 1.0}
        timed = samples(metrics, "bot_update_seconds_count")
        assert sum(timed.values()) == sum(updates.values())

        await harness.app.storage.fsm.flush()  # the walk's last state written: nothing pending
        await harness.db.close()  # a database that no longer answers: not ready, still alive
        status, text = await get(f"{base}/readyz")
        assert status == 503 and "database" in text
        assert (await get(f"{base}/healthz"))[0] == 200
    finally:
        await server.stop()
        await harness.close()


async def test_an_update_no_handler_takes_is_counted_unhandled(harness: BotHarness) -> None:
    """A group's message is held back by a middleware (private chats only): no handler area."""
    group = Chat(id=-100500, type="group", title="House chat")
    user = User(id=1004, is_bot=False, first_name="Иван", language_code="ru")
    message = Message(
        message_id=1, date=harness.clock.now(), chat=group, from_user=user, text="/start"
    )
    await harness.feed(Update(update_id=1, message=message))

    exposition = harness.app.metrics.exposition().decode()
    assert samples(exposition, "bot_updates_total") == {
        (("area", "none"), ("outcome", "unhandled")): 1.0
    }


async def test_webhook_without_the_right_secret_gets_401_and_is_not_handled(
    webhook_harness: BotHarness,
) -> None:
    harness = webhook_harness
    server, base = await serving(harness, webhook=True)
    chat = harness.chat(1005)
    body = chat.text_update("/start").model_dump_json(exclude_none=True, by_alias=True)
    try:
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET.upper()}):
                async with session.post(f"{base}{HOOK_PATH}", data=body, headers=headers) as r:
                    assert r.status == 401
            async with session.post(
                f"{base}{HOOK_PATH}", data=body, headers={SECRET_HEADER: SECRET}
            ) as response:
                assert response.status == 200
        for _ in range(100):  # answered at once, handled in the background
            if any("лицевого счёта" in m.text for m in chat.messages):
                break
            await asyncio.sleep(0.02)
        greetings = [m for m in chat.messages if "Здравствуйте" in m.text]
        assert len(greetings) == 1  # the refused ones never reached the dispatcher
    finally:
        await server.stop()


async def test_a_port_already_taken_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        harness = await start_harness(tmp_path, http_port=port)
        try:
            with pytest.raises(StartupError) as refused:
                await HttpServer(harness.app, webhook=False).start()
        finally:
            await harness.close()
    line = str(refused.value)
    assert "\n" not in line and "HTTP_PORT" in line and f":{port}:" in line


async def test_polling_refuses_a_webhook_that_is_set_unless_told_to_delete_it(
    tmp_path: Path,
) -> None:
    from bot.app import build_app

    async with FakeBotApi() as api:
        api.set_webhook_directly("https://elsewhere.example.org/hook", "theirs")
        settings = make_settings(tmp_path, bot_token=api.token, telegram_api_url=api.url)
        app = await build_app(settings, core=await shared_core(settings.default_locale))
        try:
            with pytest.raises(StartupError) as refused:
                await check_webhook(app, delete_webhook=False)
            assert "https://elsewhere.example.org/hook" in str(refused.value)
            assert "--delete-webhook" in str(refused.value)
            assert api.webhook["url"]  # left as it was

            await check_webhook(app, delete_webhook=True)
            assert api.webhook == {}
            await check_webhook(app, delete_webhook=False)  # nothing set: nothing to refuse
        finally:
            await app.close()
