from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.sms.base import SmsError, SmsFinalError, SmsSender, SmsTemporaryError
from bot.sms.console import ConsoleSmsSender
from bot.sms.smsru import SmsRuSender
from tests.fakes.smsru import FakeSmsRu, Hang, HttpError, Refuse

API_ID = "A3CA597E-3ACF-4E7D-82EE-CF82B52B1A8B"
PHONE = "+79161234567"
ACCOUNT = "1002003004"
TEXT = "Код 481516 для привязки чата к боту «Показания ЕИРЦ». Никому его не сообщайте."


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSmsRu]:
    server = FakeSmsRu(api_id=API_ID)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def sender(fake: FakeSmsRu, sleep: RecordingSleep) -> AsyncIterator[SmsRuSender]:
    smsru = SmsRuSender(
        API_ID,
        fake.base_url,
        retries=3,
        backoff=0.5,
        timeout=0.2,
        sleep=sleep,
    )
    yield smsru
    await smsru.close()


async def test_success_sends_one_request(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 1
    assert fake.messages == [{"to": "79161234567", "msg": TEXT}]


async def test_request_carries_recipient_json_flag_and_api_id(
    fake: FakeSmsRu, sender: SmsRuSender
) -> None:
    await sender.send(PHONE, TEXT)
    query = fake.requests[0]
    assert query["to"] == "79161234567"
    assert query["json"] == "1"
    assert query["api_id"] == API_ID


async def test_text_is_passed_unchanged(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    await sender.send(PHONE, TEXT)
    sent = fake.requests[0]["msg"]
    assert sent == TEXT
    assert "481516" in sent
    assert "Показания ЕИРЦ" in sent
    assert ACCOUNT not in sent
    assert fake.last_code_for(PHONE) == "481516"
    assert fake.last_code_for("79161234567") == "481516"
    assert fake.last_code_for("+79990000000") is None


async def test_final_error_is_not_retried(
    fake: FakeSmsRu, sender: SmsRuSender, sleep: RecordingSleep
) -> None:
    fake.script(Refuse(207, per_number=True, status_text="На этот номер нельзя отправлять"))
    with pytest.raises(SmsFinalError) as caught:
        await sender.send(PHONE, TEXT)
    assert caught.value.code == 207
    assert len(fake.requests) == 1
    assert sleep.delays == []
    assert fake.messages == []


async def test_top_level_error_is_final(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    fake.script(Refuse(201, status_text="Не хватает средств на лицевом счету"))
    with pytest.raises(SmsFinalError) as caught:
        await sender.send(PHONE, TEXT)
    assert caught.value.code == 201
    assert caught.value.cause == "balance"  # the admins' alert says: top up the balance
    assert len(fake.requests) == 1


async def test_an_unapproved_sender_name_is_named_as_such(
    fake: FakeSmsRu, sender: SmsRuSender
) -> None:
    fake.script(Refuse(204, status_text="Имя отправителя не согласовано"))
    with pytest.raises(SmsFinalError) as caught:
        await sender.send(PHONE, TEXT)
    assert (caught.value.code, caught.value.cause) == (204, "sender")


async def test_wrong_api_id_is_final(fake: FakeSmsRu, sleep: RecordingSleep) -> None:
    smsru = SmsRuSender("wrong", fake.base_url, sleep=sleep)
    try:
        with pytest.raises(SmsFinalError) as caught:
            await smsru.send(PHONE, TEXT)
    finally:
        await smsru.close()
    assert caught.value.code == 200
    assert len(fake.requests) == 1


async def test_service_unavailable_220_is_retried(
    fake: FakeSmsRu, sender: SmsRuSender, sleep: RecordingSleep
) -> None:
    fake.script(Refuse(220))
    await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 2
    assert sleep.delays == [0.5]
    assert len(fake.messages) == 1


async def test_status_500_is_retried(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    fake.script(Refuse(500))
    await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 2


async def test_http_5xx_is_retried(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    fake.script(HttpError(500))
    await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 2
    assert len(fake.messages) == 1


async def test_http_4xx_is_final(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    fake.script(HttpError(404))
    with pytest.raises(SmsFinalError):
        await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 1


async def test_timeout_is_retried(fake: FakeSmsRu, sender: SmsRuSender) -> None:
    fake.script(Hang(2.0))
    await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 2


async def test_network_error_is_retried_then_temporary(sleep: RecordingSleep) -> None:
    server = FakeSmsRu()
    base_url = await server.start()
    await server.stop()  # nothing listens on that port any more
    smsru = SmsRuSender(API_ID, base_url, retries=2, timeout=1.0, sleep=sleep)
    try:
        with pytest.raises(SmsTemporaryError):
            await smsru.send(PHONE, TEXT)
    finally:
        await smsru.close()
    assert sleep.delays == [0.5]


async def test_retries_exhausted_raise_temporary_error(
    fake: FakeSmsRu, sender: SmsRuSender, sleep: RecordingSleep
) -> None:
    fake.script(Refuse(220), HttpError(503), Hang(2.0))
    with pytest.raises(SmsTemporaryError):
        await sender.send(PHONE, TEXT)
    assert len(fake.requests) == 3
    assert sleep.delays == [0.5, 1.0]  # exponential, none after the last attempt
    assert fake.messages == []


async def test_api_id_and_text_never_logged(
    fake: FakeSmsRu, sender: SmsRuSender, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script(Refuse(220), HttpError(502))
    await sender.send(PHONE, TEXT)  # two failures, then accepted
    fake.script(Hang(2.0), Refuse(207, per_number=True))
    with pytest.raises(SmsFinalError) as final:
        await sender.send(PHONE, TEXT)
    fake.script(Refuse(220), Refuse(220), Refuse(220))
    with pytest.raises(SmsTemporaryError) as temporary:
        await sender.send(PHONE, TEXT)

    logged = caplog.text
    assert caplog.records, "the sender should log its attempts"
    assert "+7 916 ***-**-67" in logged
    assert "220" in logged and "207" in logged
    for secret in (API_ID, "481516", "79161234567"):
        assert secret not in logged
        assert secret not in str(final.value)
        assert secret not in str(temporary.value)
        assert secret not in repr(sender)
    assert temporary.value.__cause__ is None


async def test_caller_session_is_left_open(fake: FakeSmsRu, sleep: RecordingSleep) -> None:
    async with aiohttp.ClientSession() as session:
        smsru = SmsRuSender(API_ID, fake.base_url, session=session, sleep=sleep)
        await smsru.send(PHONE, TEXT)
        await smsru.close()
        assert not session.closed
        await smsru.send(PHONE, TEXT)
    assert len(fake.messages) == 2


async def test_phone_must_be_e164(sender: SmsRuSender) -> None:
    with pytest.raises(ValueError):
        await sender.send("89161234567", TEXT)


def test_errors_share_one_base() -> None:
    assert issubclass(SmsTemporaryError, SmsError)
    assert issubclass(SmsFinalError, SmsError)
    assert SmsFinalError(207, "no").code == 207


async def test_console_sender_logs_text_with_masked_phone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    console = ConsoleSmsSender()
    assert isinstance(console, SmsSender)
    with caplog.at_level(logging.WARNING, logger="bot.sms.console"):
        await console.send(PHONE, TEXT)
    await console.close()
    (record,) = [r for r in caplog.records if r.name == "bot.sms.console"]
    assert record.levelno == logging.WARNING
    assert TEXT in record.getMessage()
    assert "+7 916 ***-**-67" in record.getMessage()
    assert "79161234567" not in record.getMessage()


def test_smsru_sender_satisfies_protocol() -> None:
    assert isinstance(SmsRuSender(API_ID), SmsSender)
