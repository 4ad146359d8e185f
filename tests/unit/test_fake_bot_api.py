"""The fake Bot API server, checked with a real aiogram Bot talking HTTP to it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

from tests.fakes.bot_api import FakeBotApi, parse_html

TOKEN = "123456:TEST"
CHAT = 42


def make_bot(url: str, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))


async def close(bot: Bot) -> None:
    """Close the bot's HTTP session at once. aiogram's own close waits 0.25 s for TLS
    connections to wind down; on plain loopback HTTP there are none, so it is closed first."""
    assert isinstance(bot.session, AiohttpSession)
    await (await bot.session.create_session()).close()
    await bot.session.close()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_bot(api.url)
    yield bot
    await close(bot)


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=f"cb:{label}")] for label in labels
        ]
    )


async def test_get_me_describes_the_bot_of_the_token(bot: Bot, api: FakeBotApi) -> None:
    me = await bot.get_me()

    assert me.id == 123456
    assert me.is_bot
    assert me.username == "meter_test_bot"
    assert me.first_name
    assert [call.method for call in api.calls] == ["getMe"]


async def test_wrong_token_is_unauthorized(api: FakeBotApi) -> None:
    stranger = make_bot(api.url, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await close(stranger)

    assert api.calls[-1].status == 401


async def test_send_message_with_inline_keyboard_round_trips(bot: Bot, api: FakeBotApi) -> None:
    message = await bot.send_message(CHAT, "Подтвердите", reply_markup=keyboard("Да", "Нет"))

    assert isinstance(message, Message)
    assert message.chat.id == CHAT
    assert message.chat.type == "private"
    assert message.from_user is not None
    assert message.from_user.id == 123456
    assert message.text == "Подтвердите"
    assert message.reply_markup is not None
    assert message.reply_markup.model_dump() == keyboard("Да", "Нет").model_dump()
    sent = api.sent_to(CHAT)
    assert [m["text"] for m in sent] == ["Подтвердите"]
    assert sent[0]["message_id"] == message.message_id
    assert api.buttons(sent[0]) == ["Да", "Нет"]
    call = api.calls[-1]
    assert call.params["chat_id"] == CHAT
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "cb:Да"


async def test_reply_keyboard_is_recorded_but_not_echoed(bot: Bot, api: FakeBotApi) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Поделиться номером", request_contact=True)]],
        resize_keyboard=True,
    )

    message = await bot.send_message(CHAT, "Телефон?", reply_markup=markup)

    # Telegram's Message.reply_markup can only be an inline keyboard.
    assert message.reply_markup is None
    record = api.last_sent(CHAT)
    assert record["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert api.buttons(record) == ["Поделиться номером"]


async def test_text_that_looks_like_json_stays_text(bot: Bot, api: FakeBotApi) -> None:
    await bot.send_message(CHAT, "123")

    assert api.calls[-1].params["text"] == "123"
    assert api.last_sent(CHAT)["text"] == "123"


async def test_get_updates_long_poll_returns_an_update_pushed_later(
    bot: Bot, api: FakeBotApi
) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.3)
        api.push_text(CHAT, "/start")

    loop = asyncio.get_running_loop()
    started = loop.time()
    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(timeout=5)
    elapsed = loop.time() - started
    await pusher

    assert 0.2 < elapsed < 2.0
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.text == "/start"
    assert message.from_user is not None
    assert message.from_user.language_code == "ru"
    assert message.entities is not None
    assert message.entities[0].type == "bot_command"


@pytest.mark.slow  # a second of wall time
async def test_get_updates_without_updates_waits_out_its_timeout(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_offset_confirms_earlier_updates_and_limit_caps_the_batch(
    bot: Bot, api: FakeBotApi
) -> None:
    first = api.push_text(CHAT, "one")
    api.push_text(CHAT, "two")
    api.push_text(CHAT, "three")

    batch = await bot.get_updates(limit=2)
    again = await bot.get_updates(limit=2)
    rest = await bot.get_updates(offset=batch[-1].update_id + 1)
    after_confirm = await bot.get_updates(offset=rest[-1].update_id + 1)

    assert [u.message.text for u in batch if u.message] == ["one", "two"]
    assert [u.update_id for u in again] == [u.update_id for u in batch]
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert after_confirm == []
    assert batch[0].update_id == first["update_id"]
    assert api.pending_updates == []


async def test_delete_webhook_can_drop_pending_updates(bot: Bot, api: FakeBotApi) -> None:
    api.push_text(CHAT, "sent while the bot was down")

    await bot.delete_webhook()
    kept = len(api.pending_updates)
    await bot.delete_webhook(drop_pending_updates=True)

    assert kept == 1
    assert await bot.get_updates() == []


async def test_pushed_updates_are_valid_aiogram_updates(bot: Bot, api: FakeBotApi) -> None:
    sent = await bot.send_message(CHAT, "Выберите", reply_markup=keyboard("Первый"))
    text = api.push_text(CHAT, "hi", first_name="Анна", language_code="en")
    contact = api.push_contact(CHAT, "+79161234567")
    foreign = api.push_contact(CHAT, "+79160000000", user_id=777)
    callback = api.push_callback(CHAT, "cb:Первый", message_id=sent.message_id)

    parsed = [Update.model_validate(u, context={"bot": bot}) for u in (text, contact, foreign)]
    pressed = Update.model_validate(callback, context={"bot": bot})

    assert parsed[0].message and parsed[0].message.from_user
    assert parsed[0].message.from_user.first_name == "Анна"
    assert parsed[1].message and parsed[1].message.contact
    assert parsed[1].message.contact.user_id == CHAT
    assert parsed[2].message and parsed[2].message.contact
    assert parsed[2].message.contact.user_id == 777
    assert pressed.callback_query and isinstance(pressed.callback_query.message, Message)
    assert pressed.callback_query.message.message_id == sent.message_id
    markup = pressed.callback_query.message.reply_markup
    assert markup is not None
    assert markup.model_dump() == keyboard("Первый").model_dump()
    ids = [u["update_id"] for u in (text, contact, foreign, callback)]
    assert ids == sorted(ids)
    # One message counter per chat, shared by the bot and the resident.
    assert text["message"]["message_id"] == sent.message_id + 1


async def test_fail_next_429_raises_retry_after_once(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next("sendMessage", CHAT, error_code=429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(CHAT, "first")
    await bot.send_message(CHAT, "second")

    assert raised.value.retry_after == 7
    assert [m["text"] for m in api.sent_to(CHAT)] == ["second"]
    assert api.calls_to("sendMessage")[0].status == 429


async def test_fail_next_403_hits_only_its_chat(bot: Bot, api: FakeBotApi) -> None:
    api.fail_next(
        "sendMessage",
        CHAT,
        error_code=403,
        description="Forbidden: bot was blocked by the user",
    )

    await bot.send_message(CHAT + 1, "other chat")
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(CHAT, "blocked")


async def test_blocked_chat_answers_403_until_the_resident_writes(
    bot: Bot, api: FakeBotApi
) -> None:
    api.block(CHAT)

    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(CHAT, "reminder")
    api.push_text(CHAT, "/start")
    await bot.send_message(CHAT, "welcome back")

    assert [m["text"] for m in api.sent_to(CHAT)] == ["welcome back"]


async def test_unknown_method_is_404_and_recorded(bot: Bot, api: FakeBotApi) -> None:
    with pytest.raises(TelegramNotFound):
        await bot.send_dice(CHAT)

    assert api.calls[-1].method == "sendDice"
    assert api.calls[-1].response == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_document_keeps_filename_and_content(bot: Bot, api: FakeBotApi) -> None:
    payload = b"account,meter\n123456,A1\n"

    message = await bot.send_document(
        CHAT, BufferedInputFile(payload, filename="export.csv"), caption="Выгрузка"
    )

    assert message.document is not None
    assert message.document.file_name == "export.csv"
    assert message.document.file_size == len(payload)
    assert message.caption == "Выгрузка"
    [document] = api.sent_documents(CHAT)
    assert document.filename == "export.csv"
    assert document.content == payload
    assert api.last_sent(CHAT)["text"] == "Выгрузка"


async def test_set_my_commands_is_kept_per_scope_and_language(bot: Bot, api: FakeBotApi) -> None:
    ru = [BotCommand(command="start", description="Начать")]
    en = [
        BotCommand(command="start", description="Start"),
        BotCommand(command="help", description="Help"),
    ]
    private = BotCommandScopeAllPrivateChats()

    await bot.set_my_commands(ru, language_code="ru")
    await bot.set_my_commands(en, scope=private, language_code="en")

    assert api.commands(language_code="ru") == [{"command": "start", "description": "Начать"}]
    assert [c["command"] for c in api.commands({"type": "all_private_chats"}, "en")] == [
        "start",
        "help",
    ]
    assert api.commands() == []
    fetched = await bot.get_my_commands(scope=private, language_code="en")
    assert [c.model_dump() for c in fetched] == [c.model_dump() for c in en]
    call = api.calls_to("setMyCommands")[0]
    assert call.params["language_code"] == "ru"
    assert call.params["commands"] == [{"command": "start", "description": "Начать"}]
    await bot.delete_my_commands(language_code="ru")
    assert api.commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_edits_replace_text_and_keyboard_like_telegram(bot: Bot, api: FakeBotApi) -> None:
    sent = await bot.send_message(CHAT, "Шаг 1", reply_markup=keyboard("Далее"))

    edited = await bot.edit_message_text("Шаг 2", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Шаг 2", chat_id=CHAT, message_id=sent.message_id)
    await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("Готово")
    )
    await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("Шаг 3", chat_id=CHAT, message_id=sent.message_id)

    assert isinstance(edited, Message)
    # An edit without reply_markup drops the inline keyboard.
    assert edited.reply_markup is None
    history = api.sent_to(CHAT)
    assert [(m["method"], m["text"]) for m in history] == [
        ("sendMessage", "Шаг 1"),
        ("editMessageText", "Шаг 2"),
        ("editMessageReplyMarkup", "Шаг 2"),
    ]
    assert api.buttons(history[-1]) == ["Готово"]
    assert api.deleted_messages(CHAT) == [sent.message_id]


async def test_html_is_checked_as_telegram_checks_it(bot: Bot, api: FakeBotApi) -> None:
    await bot.send_message(CHAT, "<b>Счёт</b> &lt;123&gt; &amp; Co", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(CHAT, "one<br>two", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(CHAT, "ул. Ленина <5", parse_mode="HTML")

    record = api.last_sent(CHAT)
    assert record["text"] == "Счёт <123> & Co"
    assert record["raw_text"] == "<b>Счёт</b> &lt;123&gt; &amp; Co"
    assert parse_html('<a href="https://x">x</a> <i>y</i>') == "x y"


async def test_push_button_presses_the_current_keyboard(bot: Bot, api: FakeBotApi) -> None:
    sent = await bot.send_message(CHAT, "Подтвердить?", reply_markup=keyboard("✅ Да", "Нет"))
    record = api.last_sent(CHAT)

    update = api.push_button(CHAT, record, "Да")
    [received] = await bot.get_updates()
    query = received.callback_query
    assert query is not None
    await bot.answer_callback_query(query.id, text="Принято")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)

    assert update["callback_query"]["data"] == "cb:✅ Да"
    assert query.data == "cb:✅ Да"
    assert query.message is not None
    assert query.message.message_id == sent.message_id
    assert api.calls_to("answerCallbackQuery")[0].params["text"] == "Принято"
    with pytest.raises(AssertionError, match="no button matching 'Может быть'"):
        api.push_button(CHAT, None, "Может быть")


async def test_wait_for_keeps_a_cursor_and_explains_a_timeout(bot: Bot, api: FakeBotApi) -> None:
    await bot.send_message(CHAT, "Введите номер")
    await bot.send_message(CHAT, "Ваш код отправлен")

    first = await api.wait_for(CHAT)
    code = await api.wait_for(CHAT, lambda m: "код" in m["text"])
    with pytest.raises(AssertionError) as raised:
        await api.wait_for(CHAT, timeout=0.2)

    assert first["text"] == "Введите номер"
    assert code["text"] == "Ваш код отправлен"
    explanation = str(raised.value)
    assert "'Введите номер'" in explanation
    assert "'Ваш код отправлен'" in explanation
    assert "consumed" in explanation


async def test_wait_for_wakes_up_when_the_message_arrives(bot: Bot, api: FakeBotApi) -> None:
    async def send_later() -> None:
        await asyncio.sleep(0.2)
        await bot.send_message(CHAT, "Готово")

    sender = asyncio.create_task(send_later())
    message = await api.wait_for(CHAT, timeout=5)
    await sender

    assert message["text"] == "Готово"
    await api.assert_nothing_sent(CHAT, within=0.1)


async def test_dispatcher_long_polling_echoes_end_to_end(bot: Bot, api: FakeBotApi) -> None:
    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=5, handle_signals=False, close_bot_session=False
        )
    )
    try:
        first_poll = await api.wait_for_call("getUpdates")
        pushed = api.push_text(CHAT, "привет")
        reply = await api.wait_for(CHAT, timeout=10)
        confirm = await api.wait_for_call(
            "getUpdates", lambda c: c.params.get("offset") == pushed["update_id"] + 1
        )
    finally:
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=5)

    assert first_poll.params["timeout"] == 5
    assert reply["text"] == "echo: привет"
    assert confirm.params["timeout"] == 5
    assert api.pending_updates == []


@pytest.mark.slow  # a process
async def test_module_serves_until_terminated() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.bot_api",
        "--port",
        "0",
        "--token",
        "123:ABC",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        url = banner.split("TELEGRAM_API_URL=")[1].strip()
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{url}/bot123:ABC/getMe") as response,
        ):
            body = await response.json()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)

    assert body["ok"] is True
    assert body["result"]["id"] == 123
    assert process.returncode == 0
