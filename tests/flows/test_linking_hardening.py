"""Linking under pressure (SPEC §5.4-5.5, §13): limits under concurrency, failed sends that
still count, no oracle in text or time, unguessable mismatches, and a way on after a wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import BACKGROUND_GRACE_SECONDS
from bot.domain import otp
from bot.sms.base import SmsFinalError, SmsTemporaryError
from bot.sms.smsru import SmsRuSender
from bot.storage.engines import open_database
from tests.fakes.smsru import FakeSmsRu, Hang, Refuse
from tests.flows.test_linking import code_for, sms_sent
from tests.harness import BotHarness, ChatClient, database_url, start_harness
from tests.seed import M, add_account

ACCOUNT = "5012345678"
PHONE = "+79161234567"
OTHER_ACCOUNT = "5098765432"
OTHER_PHONE = "+79031112233"
CODE_ON_ITS_WAY = "Если номер счёта и телефон совпадают"
ADMIN = 777


class CountingSms:
    """An SMS gateway that counts every attempt and fails each one with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.attempts: list[str] = []

    async def send(self, phone: str, text: str) -> None:
        self.attempts.append(phone)
        raise self.error

    async def close(self) -> None:
        pass


class DeliversThenTimesOut:
    """A slow gateway: the SMS reaches the phone, but the answer comes after the timeout."""

    def __init__(self) -> None:
        self.delivered: list[str] = []

    async def send(self, phone: str, text: str) -> None:
        self.delivered.append(phone)
        raise SmsTemporaryError("timed out after 3 attempts")

    async def close(self) -> None:
        pass


async def up_to_phone(chat: ChatClient, account: str = ACCOUNT) -> None:
    await chat.send("/start")
    await chat.send(account)


async def ask_code(chat: ChatClient, account: str = ACCOUNT, phone: str = PHONE) -> None:
    await up_to_phone(chat, account)
    await chat.send(phone)


def account_number(n: int) -> str:
    return f"50100{n:05d}"


def phone_number(n: int) -> str:
    return f"+7916100{n:04d}"


# --- 1. limits that hold under concurrency ---------------------------------------------------


async def test_sms_limits_hold_under_25_concurrent_requests_for_one_account(
    harness: BotHarness,
) -> None:
    bot = harness
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    chats = [bot.chat(2000 + n) for n in range(25)]
    for chat in chats:
        await up_to_phone(chat)
    await asyncio.gather(*(bot.feed(chat.text_update(PHONE)) for chat in chats))
    await bot.settle()
    limit = bot.app.settings.otp_daily_limit
    assert [to for to, _ in await sms_sent(bot)] == [PHONE] * limit  # 5, not 25
    assert {chat.last_text for chat in chats} == {bot.chat(2000).last_text}
    assert CODE_ON_ITS_WAY in chats[0].last_text
    issued = await bot.db.fetchval("SELECT count(*) FROM otp_issues WHERE sms_sent = 1")
    assert issued == limit


async def test_sms_budget_holds_under_20_concurrent_requests(tmp_path: Path) -> None:
    bot = await start_harness(tmp_path, sms_daily_budget=3)
    try:
        chats = []
        for n in range(20):
            await add_account(bot.db, account_number(n), phone_number(n), M("CW-1", "cold_water"))
            chat = bot.chat(3000 + n)
            await up_to_phone(chat, account_number(n))
            chats.append(chat)
        await asyncio.gather(
            *(bot.feed(chat.text_update(phone_number(n))) for n, chat in enumerate(chats))
        )
        await bot.settle()
        assert len(await sms_sent(bot)) == 3
        paused = [c for c in chats if "Отправка SMS временно приостановлена" in c.last_text]
        assert len(paused) == 17
        admin = bot.session.messages[ADMIN]
        assert len(admin) == 1 and "лимит SMS (3)" in admin[0].text
    finally:
        await bot.close()


# --- 2. a failed or timed-out SMS still counts -----------------------------------------------


async def test_failed_sms_still_counts_toward_resend_wait_and_daily_limits(
    tmp_path: Path,
) -> None:
    gateway = CountingSms(SmsFinalError(207, "no route"))
    bot = await start_harness(tmp_path, sms=gateway)
    try:
        await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
        chat = bot.chat(1001)
        await ask_code(chat)
        await bot.settle()
        assert gateway.attempts == [PHONE]
        await chat.press("Отправить ещё раз")  # at once: the failed code holds the wait
        assert "через 60 секунд" in chat.last_text
        await bot.settle()
        assert len(gateway.attempts) == 1
        for _ in range(4):
            bot.clock.advance(seconds=61)
            await chat.press("Отправить ещё раз")
            await bot.settle()
        assert len(gateway.attempts) == 5
        bot.clock.advance(seconds=61)
        await chat.press("Отправить ещё раз")
        assert "лимит исчерпан" in chat.last_text  # five failed codes are five codes
        other = bot.chat(1002)  # and the account's limit counts them too
        await ask_code(other)
        await bot.settle()
        assert CODE_ON_ITS_WAY in other.last_text
        assert len(gateway.attempts) == 5
        statuses = await bot.db.fetchall("SELECT sms_status FROM otp_issues WHERE sms_sent = 1")
        assert [row["sms_status"] for row in statuses] == ["failed"] * 5
    finally:
        await bot.close()


async def test_sms_delivered_after_the_timeout_counts_so_send_again_is_bounded(
    tmp_path: Path,
) -> None:
    gateway = DeliversThenTimesOut()
    bot = await start_harness(tmp_path, sms=gateway)
    try:
        await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
        chat = bot.chat(1001)
        await ask_code(chat)
        for _ in range(9):
            await bot.settle()
            await chat.press("Отправить ещё раз")
            bot.clock.advance(seconds=61)
            await chat.press("Отправить ещё раз")
        await bot.settle()
        assert len(gateway.delivered) == bot.app.settings.otp_daily_limit
    finally:
        await bot.close()


# --- 3. no oracle, in text or in time --------------------------------------------------------


@pytest.fixture
async def smsru_bot(tmp_path: Path, gateway: FakeSmsRu) -> AsyncIterator[BotHarness]:
    # a long timeout: a sender that waited for the gateway would wait out the whole hang
    sender = SmsRuSender("test-api-id", gateway.base_url, retries=3, backoff=0.01, timeout=10)
    harness = await start_harness(tmp_path, sms=sender)
    await add_account(harness.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    yield harness
    await harness.close()


async def test_gateway_failure_answer_is_the_mismatch_answer_and_does_not_wait(
    smsru_bot: BotHarness, gateway: FakeSmsRu
) -> None:
    bot = smsru_bot
    gateway.script(Hang(2.0, then=Refuse(201, status_text="Не хватает средств")))
    matching, mismatch = bot.chat(1001), bot.chat(1002)
    await ask_code(matching)
    # answered before the gateway's 2 s hang ended
    assert not gateway.hang_over.is_set()
    await ask_code(mismatch, phone="+79990000000")
    assert matching.last_text == mismatch.last_text
    assert matching.last.buttons() == mismatch.last.buttons()
    gateway.release()
    await bot.settle()
    assert gateway.hang_over.is_set() and gateway.messages == []
    # the refusal changes nothing the resident sees: the same wrong-code answer as a mismatch
    seen = len(matching.messages)
    await matching.send("000000")
    await mismatch.send("000000")
    assert len(matching.messages) == seen + 1
    assert matching.last_text == mismatch.last_text
    # ...and goes to the admins, with the status
    admin = bot.session.messages[ADMIN]
    assert len(admin) == 1 and "201" in admin[0].text and "Не хватает средств" in admin[0].text


async def test_gateway_refusal_raises_one_admin_alert_not_one_per_resident(
    smsru_bot: BotHarness, gateway: FakeSmsRu
) -> None:
    bot = smsru_bot
    chats = []
    for n in range(20):
        await add_account(bot.db, account_number(n), phone_number(n), M("CW-1", "cold_water"))
        chat = bot.chat(3000 + n)
        await up_to_phone(chat, account_number(n))
        chats.append(chat)
    gateway.script(*[Refuse(201, status_text="Не хватает средств")] * 21)
    await asyncio.gather(
        *(bot.feed(chat.text_update(phone_number(n))) for n, chat in enumerate(chats))
    )
    await bot.settle()
    assert all(CODE_ON_ITS_WAY in chat.last_text for chat in chats)
    admin = bot.session.messages[ADMIN]
    assert len(admin) == 1 and "201" in admin[0].text
    failed = await bot.db.fetchval(
        "SELECT count(*) FROM otp_issues WHERE sms_status = 'failed' AND sms_error = '201'"
    )
    assert failed == 20
    # still refusing an hour later: one more alert, with the count of the hour
    bot.clock.advance(minutes=61)
    await ask_code(bot.chat(4000), account_number(0), phone_number(0))
    await bot.settle()
    assert len(bot.session.messages[ADMIN]) == 2


# --- 4. a mismatch is unguessable by construction --------------------------------------------


async def test_mismatch_never_matches_any_code_not_even_one_it_could_have_drawn(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = harness
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    monkeypatch.setattr(otp, "generate_code", lambda: "424242")
    chat = bot.chat(1001)
    await ask_code(chat, phone="+79990000000")
    await chat.send("424242")
    assert "Код неверный" in chat.last_text and "Осталось 4 попытки" in chat.last_text
    assert await bot.db.fetchval("SELECT count(*) FROM links") == 0


# --- 5. a second account within the resend wait ----------------------------------------------


async def test_second_account_within_resend_wait_offers_a_button_to_try_again(
    harness: BotHarness,
) -> None:
    bot = harness
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    await add_account(bot.db, OTHER_ACCOUNT, OTHER_PHONE, M("EL-1", "electricity"))
    chat = bot.chat(1001)
    await ask_code(chat)
    bot.clock.advance(seconds=18)
    await chat.send(await code_for(bot, PHONE))
    assert "привязан" in chat.last_text
    await chat.send("/accounts")
    await chat.press("Привязать ещё счёт")
    await chat.send(OTHER_ACCOUNT)
    await chat.send(OTHER_PHONE)
    assert "через 42 секунды" in chat.last_text
    assert "нажмите «Отправить ещё раз»" in chat.last_text  # says what to do
    await chat.press("Отправить ещё раз")  # too early still: told again, with the button
    assert "через 42 секунды" in chat.last_text
    bot.clock.advance(seconds=42)
    await chat.press("Отправить ещё раз")
    assert CODE_ON_ITS_WAY in chat.last_text
    await chat.send(await code_for(bot, OTHER_PHONE))
    assert f"<b>{OTHER_ACCOUNT}</b> привязан" in chat.last_text


# --- background sends are kept and awaited -------------------------------------------------


class SlowButFine:
    """A gateway that accepts after a pause, during which the bot is asked to stop."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.accepted: list[str] = []

    async def send(self, phone: str, text: str) -> None:
        self.started.set()
        await asyncio.sleep(0.2)
        self.accepted.append(phone)

    async def close(self) -> None:
        pass


async def test_a_send_in_flight_at_shutdown_is_finished_and_recorded(tmp_path: Path) -> None:
    gateway = SlowButFine()
    bot = await start_harness(tmp_path, sms=gateway)
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    await ask_code(bot.chat(1001))
    await gateway.started.wait()
    await bot.close()  # waits for the send in hand
    assert gateway.accepted == [PHONE]
    db = await open_database(database_url(tmp_path))
    try:
        assert await db.fetchval("SELECT sms_status FROM otp_issues") == "sent"
    finally:
        await db.close()


class HungGateway:
    """A gateway that never answers: the stop must not wait for it."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, phone: str, text: str) -> None:
        self.started.set()
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


@pytest.mark.slow  # waits out the stop's grace for SMS sends, in wall time
async def test_a_hung_gateway_does_not_hold_the_stop_and_the_code_still_counts(
    tmp_path: Path,
) -> None:
    gateway = HungGateway()
    bot = await start_harness(tmp_path, sms=gateway)
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    await ask_code(bot.chat(1001))
    await gateway.started.wait()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(bot.close(), 9)  # the stop's budget is 10 s in all (SPEC §9)
    assert loop.time() - began < BACKGROUND_GRACE_SECONDS + 3
    db = await open_database(database_url(tmp_path))
    try:  # neither sent nor failed as far as we know: it stays counted
        assert await db.fetchval("SELECT sms_status FROM otp_issues") == "sending"
    finally:
        await db.close()


async def test_an_old_send_again_button_before_the_phone_asks_for_the_phone(
    harness: BotHarness,
) -> None:
    bot = harness
    await add_account(bot.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    chat = bot.chat(1001)
    await ask_code(chat)
    old, data = chat.find_button("Отправить ещё раз")
    await chat.press("Начать заново")
    await chat.send(OTHER_ACCOUNT)
    bot.clock.advance(seconds=61)
    await chat.press_data(old, data)
    assert "телефон" in chat.last_text and any("Поделиться" in b for b in chat.last.keyboard())
    assert len(await sms_sent(bot)) == 1  # nothing sent for a phone not given
