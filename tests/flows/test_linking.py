"""Linking a chat to an account, every branch of SPEC §5, through the dispatcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram.methods import AnswerCallbackQuery

from bot.sms.base import SmsFinalError
from tests.harness import BotHarness, ChatClient, start_harness
from tests.seed import M, add_account

ACCOUNT = "5012345678"
PHONE = "+79161234567"
OTHER_ACCOUNT = "5098765432"
OTHER_PHONE = "+79031112233"


@pytest.fixture
async def bot(harness: BotHarness) -> BotHarness:
    await add_account(harness.db, ACCOUNT, PHONE, M("CW-100234", "cold_water"))
    await add_account(
        harness.db,
        OTHER_ACCOUNT,
        OTHER_PHONE,
        M("EL-55501", "electricity", tariffs=2),
        address="г. Мытищи, ул. Мира, д. 5, кв. 10",
    )
    return harness


async def sms_sent(bot: BotHarness) -> list[tuple[str, str]]:
    """The SMS sent so far: codes go out in the background, after the answer."""
    await bot.settle()
    return bot.sms.sent


async def code_for(bot: BotHarness, phone: str | None = None) -> str:
    await bot.settle()
    return bot.sms.last_code(phone)


async def ask_code(
    chat: ChatClient, account: str = ACCOUNT, phone: str = "8 916 123-45-67"
) -> None:
    await chat.send("/start")
    await chat.send(account)
    await chat.send(phone)


async def link(
    bot: BotHarness, chat: ChatClient, account: str = ACCOUNT, phone: str = PHONE
) -> None:
    await ask_code(chat, account, phone)
    await chat.send(await code_for(bot, phone))
    assert "привязан" in chat.last_text or "is linked" in chat.last_text


async def test_full_link_by_shared_contact_shows_menu(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    assert "Здравствуйте, Иван" in chat.reply_text
    await chat.send(ACCOUNT)
    assert any("Поделиться" in b for b in chat.last.keyboard())
    await chat.share_contact("79161234567")
    assert "Если номер счёта и телефон совпадают" in chat.last_text
    phone, text = (await sms_sent(bot))[-1]
    assert phone == PHONE
    assert ACCOUNT not in text  # the SMS names the bot and the code, nothing about the account
    await chat.send(await code_for(bot, PHONE))
    assert f"Лицевой счёт <b>{ACCOUNT}</b> привязан" in chat.last_text
    assert "📝 Передать показания" in chat.last.keyboard()
    # a linked resident lands in the menu on /start
    await chat.send("/start")
    assert "С возвращением" in chat.last_text


async def test_malformed_account_is_refused_with_example_and_asked_again(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    for bad in ("12-34", "лицевой 123", "1234567890123", "٥٠١٢٣٤٥٦٧٨"):
        await chat.send(bad)
        assert "не похоже на номер лицевого счёта" in chat.last_text
        assert "5012345678" in chat.last_text  # the example
    await chat.send_sticker_like()
    assert "не похоже на номер" in chat.last_text
    await chat.send("501 234 5678")  # spaces as printed on some bills are fine
    assert "телефон" in chat.last_text
    assert (await sms_sent(bot)) == []


async def test_unknown_account_and_wrong_phone_get_the_same_answer(bot: BotHarness) -> None:
    unknown, wrong_phone, right = bot.chat(1), bot.chat(2), bot.chat(3)
    await ask_code(unknown, "5000000001", PHONE)
    await ask_code(wrong_phone, ACCOUNT, "+79990000000")
    await ask_code(right, ACCOUNT, PHONE)
    assert unknown.last_text == wrong_phone.last_text == right.last_text
    assert unknown.last.buttons() == right.last.buttons()
    assert [to for to, _ in await sms_sent(bot)] == [PHONE]
    # typing codes in the unmatched chats behaves like any wrong code
    await unknown.send("123456")
    await right.send("000000" if await code_for(bot) != "000000" else "111111")
    assert unknown.last_text == right.last_text


async def test_someone_elses_contact_is_refused(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.share_contact(PHONE, user_id=999)
    assert "чужой контакт" in chat.last_text
    assert (await sms_sent(bot)) == []
    await chat.share_contact(PHONE)  # the same question is still open
    assert len(await sms_sent(bot)) == 1


async def test_bad_phone_text_is_refused_and_asked_again(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.send("позвоните мне")
    assert "Не получилось распознать номер" in chat.last_text
    await chat.send("+7 916 123-45-67")
    assert len(await sms_sent(bot)) == 1


async def test_wrong_code_tells_tries_left(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat)
    right = await code_for(bot, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    await chat.send(wrong)
    assert "Осталось 4 попытки" in chat.last_text
    await chat.send(wrong)
    assert "Осталось 3 попытки" in chat.last_text
    await chat.send("12345")  # not six digits: asked again, no try spent
    assert "6 цифр" in chat.last_text
    await chat.send(wrong)
    assert "Осталось 2 попытки" in chat.last_text
    await chat.send(right)
    assert "привязан" in chat.last_text


async def test_expired_code_is_refused(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat)
    code = await code_for(bot, PHONE)
    bot.clock.advance(seconds=301)
    await chat.send(code)
    assert "истёк" in chat.last_text
    await chat.press("Отправить ещё раз")
    await chat.send(await code_for(bot, PHONE))
    assert "привязан" in chat.last_text


async def test_code_dies_after_max_attempts(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat)
    right = await code_for(bot, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        await chat.send(wrong)
    await chat.send(wrong)
    assert "Слишком много неверных попыток" in chat.last_text
    await chat.send(right)  # the right code no longer works either
    assert "привязан" not in chat.last_text
    assert await bot.db.fetchval("SELECT count(*) FROM links") == 0


async def test_resend_too_soon_says_how_long_to_wait(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat)
    first = await code_for(bot, PHONE)
    bot.clock.advance(seconds=20)
    await chat.press("Отправить ещё раз")
    assert "через 40 секунд" in chat.last_text
    assert len(await sms_sent(bot)) == 1
    bot.clock.advance(seconds=41)
    await chat.press("Отправить ещё раз")
    assert len(await sms_sent(bot)) == 2
    second = await code_for(bot, PHONE)
    if first != second:  # a new code replaces the old one
        await chat.send(first)
        assert "Код неверный" in chat.last_text
    await chat.send(second)
    assert "привязан" in chat.last_text


async def test_daily_limit_per_chat(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat, "5000000001", PHONE)  # unmatched requests count for the chat too
    for _ in range(4):
        bot.clock.advance(seconds=61)
        await chat.press("Отправить ещё раз")
    bot.clock.advance(seconds=61)
    await chat.press("Отправить ещё раз")
    assert "лимит исчерпан" in chat.last_text
    bot.clock.advance(hours=24)
    await ask_code(chat)
    assert "Если номер счёта и телефон совпадают" in chat.last_text


async def test_daily_limit_per_account_answers_neutrally_and_sends_nothing(
    bot: BotHarness,
) -> None:
    for chat_id in range(1, 6):
        await ask_code(bot.chat(chat_id))
    assert len(await sms_sent(bot)) == 5
    sixth = bot.chat(6)
    await ask_code(sixth)
    assert "Если номер счёта и телефон совпадают" in sixth.last_text
    assert len(await sms_sent(bot)) == 5  # no sixth SMS to that phone today


async def test_global_sms_budget_stops_sending_and_warns_admins(tmp_path: Path) -> None:
    bot = await start_harness(tmp_path, sms_daily_budget=2)
    try:
        await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
        for chat_id in (1, 2):
            await ask_code(bot.chat(chat_id))
        third = bot.chat(3)
        await ask_code(third)
        assert "Отправка SMS временно приостановлена" in third.last_text
        assert len(await sms_sent(bot)) == 2
        await bot.settle()  # the warning goes out in the background
        admin = bot.chat(777)
        assert "лимит SMS" in admin.last_text
        await ask_code(bot.chat(4))
        await bot.settle()
        assert len(bot.session.messages[777]) == 1  # warned once, not on every refusal
    finally:
        await bot.close()


async def test_sms_gateway_failure_shows_the_usual_answer_and_send_again_works_later(
    bot: BotHarness,
) -> None:
    chat = bot.chat(1001)
    bot.sms.error = SmsFinalError(207, "no route")
    await ask_code(chat)
    assert "Если номер счёта и телефон совпадают" in chat.last_text
    await bot.settle()
    bot.sms.error = None
    bot.clock.advance(seconds=61)  # the failed code counted: the usual wait
    await chat.press("Отправить ещё раз")
    await chat.send(await code_for(bot, PHONE))
    assert "привязан" in chat.last_text


async def test_second_account_and_switching(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await link(bot, chat)
    await chat.send("/accounts")
    bot.clock.advance(seconds=61)  # codes to one chat are at least a minute apart
    await chat.press("Привязать ещё счёт")
    assert "номер лицевого счёта" in chat.last_text
    await chat.send(OTHER_ACCOUNT)
    await chat.send(OTHER_PHONE)
    await chat.send(await code_for(bot, OTHER_PHONE))
    assert f"<b>{OTHER_ACCOUNT}</b> привязан" in chat.last_text
    await chat.send("/accounts")
    assert ACCOUNT in chat.last_text and OTHER_ACCOUNT in chat.last_text
    assert f"✅ <b>{OTHER_ACCOUNT}</b>" in chat.last_text  # the new one is current
    await chat.press(f"Перейти на {ACCOUNT}")
    assert f"✅ <b>{ACCOUNT}</b>" in chat.last_text


async def test_second_chat_on_an_account_alerts_the_first(bot: BotHarness) -> None:
    first = bot.chat(1001, first_name="Иван")
    await link(bot, first)
    bot.clock.advance(minutes=5)
    second = bot.chat(2002, first_name="Мария <script>")
    await link(bot, second)
    alert = first.last_text
    assert "подключился ещё один чат" in alert
    assert "Мария &lt;script&gt;" in alert
    assert "20.11.2026 12:05" in alert  # the harness clock, in Moscow time
    assert "+7 (495) 000-00-00" in alert
    assert not any("подключился" in m.text for m in second.messages)


async def test_alert_uses_the_first_chats_language(bot: BotHarness) -> None:
    first = bot.chat(1001, language_code="en")
    await first.send("/language")
    await first.press("English")
    await link(bot, first)
    bot.clock.advance(seconds=61)
    await link(bot, bot.chat(2002))
    assert "another Telegram chat linked account" in first.last_text


async def test_unlink(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await link(bot, chat)
    await chat.send("/accounts")
    await chat.press(f"Отвязать {ACCOUNT}")
    assert "Отвязать лицевой счёт" in chat.last_text
    await chat.press("Да, отвязать")
    assert await bot.db.fetchval("SELECT count(*) FROM links") == 0
    assert "Привязанных счетов больше нет" in chat.last_text


def last_answer(bot: BotHarness) -> str | None:
    calls = bot.session.calls_of(AnswerCallbackQuery)
    assert calls, "no callback query was answered"
    return calls[-1].text


async def test_buttons_of_an_account_unlinked_meanwhile_say_they_no_longer_work(
    bot: BotHarness,
) -> None:
    chat = bot.chat(1001)
    await link(bot, chat)
    await chat.send("/accounts")
    listed = chat.last
    await chat.press(f"Отвязать {ACCOUNT}")
    asked = chat.last
    (yes,) = [data for label, data in asked.buttons() if label == "Да, отвязать"]
    await chat.press("Да, отвязать")
    account_id = await bot.db.fetchval("SELECT id FROM accounts WHERE number = ?", (ACCOUNT,))
    stale = bot.app.core.get("button-stale", "ru")
    sent_before = len(chat.messages)

    for message, data in [
        (asked, yes),  # "yes, unlink" pressed a second time
        (listed, f"acc:unlink:{account_id}"),  # the old list's "unlink"
        (listed, f"acc:switch:{account_id}"),  # a switch to it
    ]:
        await chat.press_data(message, data)
        assert last_answer(bot) == stale, data
    assert len(chat.messages) == sent_before  # no "unlinked" said again, nothing edited
    current = await bot.db.fetchval("SELECT current_account_id FROM chats WHERE chat_id = 1001")
    assert current is None


async def test_forget_erases_everything_about_the_chat(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await link(bot, chat)
    account_id = await bot.db.fetchval("SELECT id FROM accounts WHERE number = ?", (ACCOUNT,))
    meter_id = await bot.db.fetchval("SELECT id FROM meters WHERE account_id = ?", (account_id,))
    await bot.db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, chat_id, receipt)"
        " VALUES (?, '2026-11', 10, '2026-11-20T09:00:00+00:00', 1001, 'R-1')",
        (meter_id,),
    )
    await chat.send("/settings")
    await chat.press("Срок поверки")  # a setting worth forgetting
    await chat.send("/start")  # some conversation state
    await chat.send("/forget")
    assert "Удалить всё" in chat.last_text
    await chat.press("Да, удалить")
    assert "я всё забыл" in chat.last_text
    for table in ("chats", "links", "otp_codes", "fsm_states"):
        count = await bot.db.fetchval(f"SELECT count(*) FROM {table} WHERE chat_id = 1001")
        assert count == 0, table
    # the reading stays with the account, without the chat id
    row = await bot.db.fetchone("SELECT chat_id, t1 FROM readings WHERE receipt = 'R-1'")
    assert row is not None and row["chat_id"] is None and row["t1"] == 10
    await chat.send("/start")
    assert "Здравствуйте" in chat.reply_text  # a stranger again


async def test_forget_can_be_cancelled(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await link(bot, chat)
    await chat.send("/forget")
    await chat.press("Отмена")
    assert await bot.db.fetchval("SELECT count(*) FROM links") == 1


async def test_codes_are_stored_only_as_keyed_hashes(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await ask_code(chat)
    code = await code_for(bot, PHONE)
    row = await bot.db.fetchone("SELECT code_hash FROM otp_codes WHERE chat_id = 1001")
    assert row is not None and code not in row["code_hash"] and len(row["code_hash"]) == 64


async def test_fast_typing_keeps_the_conversation_in_order(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    updates = [chat.text_update(ACCOUNT), chat.text_update(PHONE)]
    await asyncio.gather(*(bot.feed(u) for u in updates))
    assert len(await sms_sent(bot)) == 1
    code = await code_for(bot, PHONE)
    # the same code typed three times at once: linked once, no "wrong code"
    updates = [chat.text_update(code) for _ in range(3)]
    await asyncio.gather(*(bot.feed(u) for u in updates))
    assert await bot.db.fetchval("SELECT count(*) FROM links") == 1
    texts = [m.text for m in chat.messages]
    assert sum("привязан" in t for t in texts) == 1
    assert not any("Код неверный" in t for t in texts)


async def test_english_speaker_is_answered_in_english(bot: BotHarness) -> None:
    chat = bot.chat(1001, language_code="en", first_name="John")
    await chat.send("/start")
    assert "Hello, John" in chat.reply_text
    await chat.send("oops")
    assert "doesn't look like an account number" in chat.last_text


async def test_cancel_leaves_the_linking(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    await chat.send("/cancel")
    assert "отменено" in chat.reply_text
    await chat.send(ACCOUNT)  # no longer a question being answered
    assert "не понял" in chat.reply_text
