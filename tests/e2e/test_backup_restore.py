"""Backup and restore (SPEC §3 `backup`, docs/operations.md): a backup taken while the bot runs
and a resident's reading is in, restored into a fresh directory, runs a bot on which the
resident's history holds that reading."""

from __future__ import annotations

import shutil
import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.e2e.processes import TOKEN, bot_env, database_path, finish, run_cli, start_bot
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

CHAT = 5550011
ACCOUNT = "7300169500"
PHONE = "+79035550190"
TYPED = "48213"


def write_accounts(path: Path) -> None:
    last_date = datetime.now(ZoneInfo("Europe/Moscow")).date() - timedelta(days=35)
    path.write_text(
        "account;phone;address;meter;resource;tariffs;digits;last_t1;last_date;verified_until\n"
        f"{ACCOUNT};{PHONE};Test street 1;CW-1;cold_water;1;;48200;"
        f"{last_date.isoformat()};2035-01-01\n",
        encoding="utf-8",
    )


async def link_and_submit(api: FakeBotApi, sms: FakeSmsRu) -> None:
    api.push_text(CHAT, "/start", user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "лицевого счёта" in m["text"], timeout=30)
    api.push_text(CHAT, ACCOUNT, user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "телефон" in m["text"], timeout=30)
    api.push_contact(CHAT, PHONE.removeprefix("+"), user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "код" in m["text"], timeout=30)
    code = await sms.wait_for_code(PHONE)
    assert code is not None
    api.push_text(CHAT, code, user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "привязан" in m["text"], timeout=30)
    api.push_text(CHAT, "📝 Передать показания", user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "Введите показания" in m["text"], timeout=30)
    api.push_text(CHAT, TYPED, user_id=CHAT)
    await api.wait_for(CHAT, lambda m: "Проверьте" in m["text"], timeout=30)
    api.push_button(CHAT, None, "Подтвердить")
    await api.wait_for(CHAT, lambda m: "Расписка №" in m["text"], timeout=30)


async def test_a_backup_taken_while_the_bot_runs_restores_with_the_readings(
    tmp_path: Path,
) -> None:
    first, fresh = tmp_path / "first", tmp_path / "fresh"
    first.mkdir()
    fresh.mkdir()
    accounts = first / "accounts.csv"
    write_accounts(accounts)
    backup = tmp_path / "backups" / "bot-backup.sqlite3"
    sms = FakeSmsRu(api_id="e2e-api-id")
    await sms.start()
    try:
        async with FakeBotApi(token=TOKEN) as api:
            env = bot_env(first, api.url, sms.base_url)
            code, _, out = await run_cli(env, first, "import", str(accounts))
            assert code == 0, out
            proc = await start_bot(env, first, "run")
            try:
                await api.wait_for_call("getUpdates", timeout=60)
                await link_and_submit(api, sms)
                code, said, err = await run_cli(env, first, "backup", str(backup))
                assert code == 0, err
                assert "1 readings" in said
            finally:
                proc.send_signal(signal.SIGTERM)
                code, out, err = await finish(proc, 30)
            assert code == 0, out + err
    finally:
        await sms.stop()

    # restore: the backup file where the fresh installation's DATABASE_URL points, nothing else
    async with FakeBotApi(token=TOKEN) as api:
        env = bot_env(fresh, api.url)
        restored = database_path(env)
        restored.parent.mkdir(parents=True)
        shutil.copyfile(backup, restored)
        proc = await start_bot(env, fresh, "run")
        try:
            await api.wait_for_call("getUpdates", timeout=60)
            api.push_text(CHAT, "📊 История", user_id=CHAT)
            history = await api.wait_for(CHAT, lambda m: "История показаний" in m["text"], 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            code, out, err = await finish(proc, 30)
    assert code == 0, out + err
    assert ACCOUNT in history["text"] and TYPED in history["text"].replace(" ", "")
