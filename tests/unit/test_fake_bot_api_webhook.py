"""The fake Bot API's webhook as Telegram's: set, read back, deleted; getUpdates refused while
it is set; queued updates delivered to the bot's server with the secret, kept until a 2xx."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiohttp import web

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api.webhook import SECRET_HEADER
from tests.unit.test_fake_bot_api import CHAT, TOKEN, close, make_bot


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_bot(api.url)
    yield bot
    await close(bot)


async def test_set_webhook_is_read_back_and_refuses_polling_until_deleted(
    bot: Bot, api: FakeBotApi
) -> None:
    assert (await bot.get_webhook_info()).url == ""
    for _ in range(2):  # setting the same again is fine
        assert await bot.set_webhook(
            "https://bot.example.org/hook",
            secret_token="s3cret_-",
            allowed_updates=["message", "callback_query"],
            drop_pending_updates=False,
        )
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example.org/hook"
    assert info.allowed_updates == ["message", "callback_query"]
    assert api.webhook["secret_token"] == "s3cret_-"
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()

    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.get_updates() == []


async def test_set_webhook_refuses_plain_http_and_a_bad_secret(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="HTTPS"):
        await bot.set_webhook("http://bot.example.org/hook")
    with pytest.raises(TelegramBadRequest, match="secret token"):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="not allowed!")


async def test_pending_updates_are_posted_with_the_secret_and_kept_until_accepted(
    api: FakeBotApi,
) -> None:
    received: list[tuple[str | None, dict[str, object]]] = []
    accept = False

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.json_response({}) if accept else web.Response(status=401)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site.port}/hook"
    try:
        api.set_webhook_directly("https://bot.example.org/hook", "s3cret")
        pushed = api.push_text(CHAT, "/start")
        assert await api.deliver_pending(url, headers={}) == [401]
        assert len(api.pending_updates) == 1  # refused: Telegram would try again
        accept = True
        assert await api.deliver_pending(url) == [200]
        assert api.pending_updates == []
    finally:
        await runner.cleanup()
    assert [secret for secret, _ in received] == [None, "s3cret"]
    assert received[1][1] == pushed
