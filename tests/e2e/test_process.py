"""The bot as residents and operators meet it: separate processes against loopback fakes.

`python -m bot import` loads the example file, `python -m bot` long-polls a fake Bot API
server, and the SMS code is read from a fake SMS.ru that the bot calls through SMSRU_API_URL.
The walk runs on each way to install it: a SQLite file, and PostgreSQL with Redis.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.phone import normalize_phone
from tests.e2e.processes import EXAMPLE, ROOT, TOKEN, bot_env, run_cli, start_bot
from tests.e2e.resident import SUBMIT, link_by_sms, submit_meter
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu
from tests.support.services import RedisSpace

CHAT = 5550001


def first_example_account() -> tuple[str, str]:
    with EXAMPLE.open(encoding="utf-8-sig") as fp:
        sample = fp.readline()
        fp.seek(0)
        reader = csv.DictReader(fp, delimiter=";" if sample.count(";") > sample.count(",") else ",")
        row = next(reader)
    return row["account"].strip(), normalize_phone(row["phone"])


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotApi, FakeSmsRu]]:
    api = FakeBotApi(token=TOKEN)
    sms = FakeSmsRu(api_id="e2e-api-id")
    await api.start()
    await sms.start()
    yield api, sms
    await sms.stop()
    await api.stop()


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def installation(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that picks the engines: none (bot_env's SQLite file), or the test's own
    PostgreSQL schema and Redis prefix (skipped with one line when either does not answer)."""
    if request.param == "sqlite":
        return {}
    database_url: str = request.getfixturevalue("postgres_url")
    redis: RedisSpace = request.getfixturevalue("redis_url")
    return {"DATABASE_URL": database_url, "REDIS_URL": redis.url, "REDIS_PREFIX": redis.prefix}


async def test_resident_links_an_account_against_a_running_bot(
    tmp_path: Path, fakes: tuple[FakeBotApi, FakeSmsRu], installation: dict[str, str]
) -> None:
    api, sms = fakes
    env = bot_env(tmp_path, api.url, sms.base_url, **installation)
    code, out, err = await run_cli(env, tmp_path, "import", str(EXAMPLE))
    assert code == 0, out + err
    account, phone = first_example_account()

    proc = await start_bot(env, tmp_path)
    try:
        await api.wait_for_call("getUpdates", timeout=30)
        # the command menu is registered in Russian and English
        assert api.commands(language_code="ru") and api.commands(language_code="en")

        sms_code, linked = await link_by_sms(api, sms, CHAT, account, phone)
        assert account in linked["text"]

        # the linked resident submits the first meter due and gets a receipt
        api.push_text(CHAT, SUBMIT, user_id=CHAT)
        submitted, receipt = await submit_meter(api, CHAT, add=3)
        number = re.search(r"Расписка № (\S+)", receipt["text"])
        assert number is not None
        # the resident leaves the walk (a reminder waits while a walk is open)
        api.push_text(CHAT, "/cancel", user_id=CHAT)
        await api.wait_for(CHAT, lambda m: "Действие отменено" in m["text"], timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        out_b, err_b = await asyncio.wait_for(proc.communicate(), 30)
    log = out_b.decode() + err_b.decode()
    assert proc.returncode == 0, log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert sms_code not in log  # the smsru provider never logs the code
    assert "e2e-api-id" not in log

    period = datetime.now(ZoneInfo("Europe/Moscow")).strftime("%Y-%m")
    code, out, err = await run_cli(env, tmp_path, "export", "--period", period)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 1, out
    assert rows[0]["account"] == account
    assert rows[0]["receipt"] == number.group(1)
    assert [int(rows[0][z]) for z in ("t1", "t2", "t3") if rows[0][z]] == submitted

    # the opening reminder reaches the linked chat once, however often the job runs
    def reminders() -> list[dict[str, object]]:
        return [
            call.params
            for call in api.calls_to("sendMessage")
            if str(call.params.get("chat_id")) == str(CHAT)
            and call.status == 200
            and "reply_markup" in call.params
            and "sub:" in str(call.params["reply_markup"])
        ]

    before = len(reminders())
    code, out, err = await run_cli(env, tmp_path, "send-reminders", "--kind", "opening")
    assert code == 0, err
    assert len(reminders()) == before + 1, out
    code, out, err = await run_cli(env, tmp_path, "send-reminders", "--kind", "opening")
    assert code == 0, err
    assert len(reminders()) == before + 1, out


async def test_missing_token_stops_with_one_clear_line(tmp_path: Path) -> None:
    env = bot_env(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")
    del env["BOT_TOKEN"]
    code, out, err = await run_cli(env, tmp_path, "run")
    assert code != 0
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert lines == ["configuration error: BOT_TOKEN is not set (see .env.example)"]


async def test_bad_value_names_the_variable(tmp_path: Path) -> None:
    env = bot_env(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9", WINDOW_START_DAY="32")
    code, _, err = await run_cli(env, tmp_path, "run")
    assert code != 0
    assert "WINDOW_START_DAY" in err and "Traceback" not in err


async def test_readme_run_command_starts_the_bot_with_the_token_in_dotenv(
    tmp_path: Path, fakes: tuple[FakeBotApi, FakeSmsRu]
) -> None:
    """`make run` with BOT_TOKEN in .env, as README says, long-polls the Bot API server."""
    api, _ = fakes
    venv = Path(sys.executable).parent.parent
    if not (venv / ".installed").exists():
        pytest.skip("tests are not running from the venv that `make` built")
    (tmp_path / ".env").write_text(
        f"BOT_TOKEN={TOKEN}\nTELEGRAM_API_URL={api.url}\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'bot.sqlite3'}\n"
        "HTTP_PORT=0\n",  # health and metrics on any free port: tests run side by side
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    # this checkout's code, whichever checkout the venv's editable install points at
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(
        "make",
        "--no-print-directory",
        "-f",
        str(ROOT / "Makefile"),
        f"VENV={venv}",
        # the venv is there: never rebuild it (a newer pyproject.toml would reinstall into it)
        f"--old-file={venv / '.installed'}",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        await api.wait_for_call("getUpdates", timeout=30)
        api.push_text(CHAT, "/help", user_id=CHAT)
        await api.wait_for(CHAT, lambda m: "Как передать показания" in m["text"], timeout=15)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # make and the bot under it
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert TOKEN not in (out + err).decode()
    assert (tmp_path / "bot.sqlite3").exists()
