"""No log line, at any level and in either format, holds a phone number, an SMS code, the token
or a typed reading (SPEC §13): a resident links an account and submits a reading against a bot
running with LOG_LEVEL=DEBUG, and the whole log is searched for each of them. In JSON
(LOG_FORMAT=json) every line of the run is one object, and the chat's id is never there."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from tests.e2e.processes import TOKEN, bot_env, finish, run_cli, start_bot
from tests.e2e.resident import link_by_sms, submit_typed, write_account
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

CHAT = 5550003
ACCOUNT = "7300169425"
PHONE = "+79035550173"
PREVIOUS = 48213570
TYPED = "48213573"
SMSRU_API_ID = "e2e-api-id"

# the phone as it may be written: E.164, with 8, bare, grouped
PHONE_FORMS = ("9035550173", "903 555", "903) 555", "555-01-73", "555 01 73", "5550173")


def leaks(log: str, code: str) -> list[str]:
    found = [form for form in PHONE_FORMS if form in log]
    found += [
        value
        for value in (ACCOUNT, TYPED, TOKEN, TOKEN.split(":")[1], SMSRU_API_ID)
        if value in log
    ]
    if re.search(rf"(?<!\d){code}(?!\d)", log):
        found.append(f"the SMS code {code}")
    return found


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_log_line_at_debug_holds_a_phone_code_token_or_reading(
    tmp_path: Path, log_format: str
) -> None:
    accounts = tmp_path / "accounts.csv"
    write_account(accounts, ACCOUNT, "+7 903 555-01-73", PREVIOUS)
    sms = FakeSmsRu(api_id=SMSRU_API_ID)
    await sms.start()
    async with FakeBotApi(token=TOKEN) as api:
        env = bot_env(tmp_path, api.url, sms.base_url, LOG_LEVEL="DEBUG", LOG_FORMAT=log_format)
        code, _, import_log = await run_cli(env, tmp_path, "import", str(accounts))
        assert code == 0, import_log

        proc = await start_bot(env, tmp_path, "run")
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            sms_code = (await link_by_sms(api, sms, CHAT, ACCOUNT, PHONE, timeout=30)).code
            await submit_typed(api, CHAT, TYPED, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            code, out, err = await finish(proc, 30)
            await sms.stop()
    log = import_log + out + err
    assert code == 0, log
    assert "DEBUG" in log  # the level under test was on
    if log_format == "json":
        entries = [json.loads(line) for line in err.splitlines()]  # each line parses
        assert {"update_id", "handler", "duration_ms", "outcome"} <= {
            key for entry in entries for key in entry
        }
        assert str(CHAT) not in err  # chats hashed
    assert leaks(log, sms_code) == [], "\n".join(
        line for line in log.splitlines() if leaks(line, sms_code)
    )
