from tests.harness import BotHarness
from tests.seed import M, add_account


async def test_start_asks_for_account(harness: BotHarness) -> None:
    await add_account(harness.db, "5012345678", "+79161234567", M("CW1", "cold_water"))
    chat = harness.chat(1001)
    await chat.send("/start")
    assert "лицевого счёта" in chat.last_text
    await chat.send("5012345678")
    assert "телефон" in chat.last_text
    await chat.share_contact("79161234567")
    assert "код" in chat.last_text
    code = harness.sms.last_code("+79161234567")
    await chat.send(code)
    assert "привязан" in chat.last_text, chat.reply_text
