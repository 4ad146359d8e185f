"""Backup and restore (SPEC §3 `backup`, docs/operations.md): a backup taken while the bot runs
and a resident's reading is in, restored into a fresh directory, runs a bot on which the
resident's history holds that reading."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from tests.e2e.processes import TOKEN, bot_env, database_path, finish, run_cli, start_bot
from tests.e2e.resident import link_by_sms, submit_typed, write_account
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

CHAT = 5550011
ACCOUNT = "7300169500"
PHONE = "+79035550190"
TYPED = "48213"


async def test_a_backup_taken_while_the_bot_runs_restores_with_the_readings(
    tmp_path: Path,
) -> None:
    first, fresh = tmp_path / "first", tmp_path / "fresh"
    first.mkdir()
    fresh.mkdir()
    accounts = first / "accounts.csv"
    write_account(accounts, ACCOUNT, PHONE, 48200)
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
                await link_by_sms(api, sms, CHAT, ACCOUNT, PHONE, timeout=30)
                await submit_typed(api, CHAT, TYPED, timeout=30)
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
