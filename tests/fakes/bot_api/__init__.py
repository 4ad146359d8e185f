"""A fake Telegram Bot API server for process-level tests.

The real bot runs as its own process with ``TELEGRAM_API_URL`` pointing here and long-polls this
server; the test pushes updates in and reads back what the bot sent::

    async with FakeBotApi(token="123456:TEST") as api:
        start_bot_process(env={"TELEGRAM_API_URL": api.url, "BOT_TOKEN": api.token})
        api.push_text(42, "/start")
        greeting = await api.wait_for(42, lambda m: "лицевой" in m["text"])
        api.push_button(42, greeting, "Отправить")

Several bot processes tell themselves apart by a path of their own in TELEGRAM_API_URL
(``{url}/r1``): each recorded ``Call`` says whose it is (``via``) and when it came (``at``).

It speaks the wire format aiogram uses: ``POST {url}/bot{token}/{method}`` with form data
(urlencoded, or multipart when a file is attached), where every non-string value arrives as a
JSON string (``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``, ``show_alert=true``).
Answers are ``{"ok": true, "result": ...}`` shaped as Telegram shapes them, errors as Telegram
words them, so aiogram raises the same exceptions it raises in production.

Run it by hand with ``python -m tests.fakes.bot_api --port 8081 --token 123:ABC``; updates can
then be pushed with curl through the control endpoints (``POST /_fake/text`` with
``{"chat_id": 42, "text": "/start"}``, ``/_fake/contact``, ``/_fake/callback``, ``/_fake/button``,
``/_fake/update``; ``GET /_fake/sent/{chat_id}``, ``GET /_fake/calls``).

The fake is split by what it fakes: ``updates`` (what residents do, getUpdates),
``callbacks`` (inline buttons), ``messages`` (sent, edited, deleted; reading and waiting for
them), ``documents`` (uploads), ``profile`` (getMe, commands), ``forum`` (a forum supergroup:
topics, members writing in them, copyMessage, whether the bot is an admin there),
``faults`` (injected errors and late answers, blocked chats), ``webhook`` (set, deleted,
and updates delivered to the bot), on ``core`` (the state and shared building blocks),
``wire`` (the request and answer format) and ``html_text`` (parse_mode=HTML); ``server``
puts them together.
"""

from tests.fakes.bot_api.core import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    DEFAULT_TOKEN,
    MAX_CAPTION_LENGTH,
    MAX_LONG_POLL_SECONDS,
    MAX_TEXT_LENGTH,
    SentDocument,
    button_texts,
)
from tests.fakes.bot_api.html_text import parse_html
from tests.fakes.bot_api.server import FakeBotApi
from tests.fakes.bot_api.wire import ApiError, Call, UploadedFile

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "DEFAULT_TOKEN",
    "MAX_CAPTION_LENGTH",
    "MAX_LONG_POLL_SECONDS",
    "MAX_TEXT_LENGTH",
    "ApiError",
    "Call",
    "FakeBotApi",
    "SentDocument",
    "UploadedFile",
    "button_texts",
    "parse_html",
]
