"""What the resident sees when the code goes through the SMS.ru provider (SPEC §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.sms.smsru import SmsRuSender
from tests.fakes.smsru import FakeSmsRu, Hang, HttpError, Refuse, Reply
from tests.harness import BotHarness, start_harness
from tests.seed import M, add_account

ACCOUNT = "5012345678"
PHONE = "+79161234567"


@pytest.fixture
async def bot(tmp_path: Path, gateway: FakeSmsRu) -> AsyncIterator[BotHarness]:
    sender = SmsRuSender("test-api-id", gateway.base_url, retries=3, backoff=0.01, timeout=0.3)
    harness = await start_harness(tmp_path, sms=sender)
    await add_account(harness.db, ACCOUNT, PHONE, M("CW-1", "cold_water"))
    yield harness
    await harness.close()


async def ask_code(bot: BotHarness) -> None:
    chat = bot.chat(1001)
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.send(PHONE)


async def test_accepted_sms_carries_a_code_that_links(bot: BotHarness, gateway: FakeSmsRu) -> None:
    await ask_code(bot)
    chat = bot.chat(1001)
    assert "на этот телефон уже идёт SMS" in chat.last_text
    await bot.settle()  # the SMS goes out in the background
    code = gateway.last_code_for(PHONE)
    assert code is not None
    assert ACCOUNT not in gateway.messages[-1]["msg"]
    await chat.send(code)
    assert "привязан" in chat.last_text


@pytest.mark.parametrize("failure", [Refuse(220), HttpError(500), Hang(1.0)], ids=str)
async def test_passing_gateway_errors_are_retried_unseen(
    bot: BotHarness, gateway: FakeSmsRu, failure: Reply
) -> None:
    gateway.script(failure)
    await ask_code(bot)
    chat = bot.chat(1001)
    assert "на этот телефон уже идёт SMS" in chat.last_text
    await bot.settle()
    assert len(gateway.requests) == 2
    code = gateway.last_code_for(PHONE)
    assert code is not None
    await chat.send(code)
    assert "привязан" in chat.last_text


async def test_final_gateway_error_changes_nothing_the_resident_sees_and_alerts_admins(
    bot: BotHarness, gateway: FakeSmsRu
) -> None:
    gateway.script(Refuse(207, per_number=True, status_text="Нет маршрута"))
    await ask_code(bot)
    chat = bot.chat(1001)
    assert "на этот телефон уже идёт SMS" in chat.last_text
    await bot.settle()
    assert len(gateway.requests) == 1  # final: not retried
    assert "207" in bot.chat(777).last_text  # the admins hear of it
    bot.clock.advance(seconds=61)
    await chat.press("Отправить ещё раз")  # nothing else was lost: the details are kept
    await bot.settle()
    code = gateway.last_code_for(PHONE)
    assert code is not None
    await chat.send(code)
    assert "привязан" in chat.last_text


async def test_gateway_down_for_good_is_retried_then_raised_to_the_admins(
    bot: BotHarness, gateway: FakeSmsRu
) -> None:
    gateway.script(HttpError(500), HttpError(500), HttpError(500))
    await ask_code(bot)
    assert "на этот телефон уже идёт SMS" in bot.chat(1001).last_text
    await bot.settle()
    assert len(gateway.requests) == 3
    assert "SMS-шлюз не отвечает" in bot.chat(777).last_text
    row = await bot.db.fetchone("SELECT sms_status, sms_error FROM otp_issues")
    assert row is not None and (row["sms_status"], row["sms_error"]) == ("failed", "unreachable")
