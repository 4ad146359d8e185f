"""Linking takes Russian (+7) phones only, typed or shared (SPEC §4, §5): no code goes abroad."""

from __future__ import annotations

from tests.harness import BotHarness
from tests.seed import M, add_account

ACCOUNT = "5012345678"
# an account loaded before foreign numbers were refused: its phone is on file
FOREIGN = "+12125551234"


async def test_a_typed_phone_that_is_not_russian_is_refused_and_no_code_is_sent(
    harness: BotHarness,
) -> None:
    await add_account(harness.db, ACCOUNT, FOREIGN, M("CW-1", "cold_water"))
    chat = harness.chat(1001)
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.send("+1 212 555 1234")
    assert "Не получилось распознать номер" in chat.last_text
    assert harness.sms.sent == []
    assert await harness.db.fetchval("SELECT count(*) FROM otp_codes") == 0


async def test_a_shared_contact_that_is_not_russian_is_refused_and_no_code_is_sent(
    harness: BotHarness,
) -> None:
    await add_account(harness.db, ACCOUNT, FOREIGN, M("CW-1", "cold_water"))
    chat = harness.chat(1001, language_code="en")
    await chat.send("/start")
    await chat.send(ACCOUNT)
    await chat.share_contact("12125551234")
    assert "couldn't read that phone number" in chat.last_text
    assert harness.sms.sent == []
