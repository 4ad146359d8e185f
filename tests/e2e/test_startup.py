"""A bot that cannot start says why in one line and exits non-zero at once (SPEC §9); a stop
signal stops it at any moment of the start-up.

The tests of a database that cannot be used and of a stop signal run `python -m bot run` as a
real process: they prove the way from a start-up failure (a StartupError) to one line on stderr
and a non-zero exit. What Telegram does wrong (unreachable, a refused token, silence) is told in
that same one line, so those tests run the start-up in this process (`run_bot`, aiogram
already imported) and read the StartupError: the same start-up, without seconds of imports. The
database is made beforehand (as any earlier command would have), so the only line printed is
the one under test.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import run
from bot.config import load_settings
from bot.run import run_bot
from bot.startup import StartupError
from bot.storage.engines import opened
from tests.e2e.processes import (
    SilentServer,
    bot_env,
    closed_port,
    database_path,
    finish,
    lines,
    start_bot,
)
from tests.fakes.bot_api import FakeBotApi

# The start-up gives Telegram TELEGRAM_STARTUP_TIMEOUT (10 s) to answer; the rest is Python's
# and aiogram's imports on a loaded two-core machine.
EXITS_WITHIN = 60.0
SIGTERM_STOPS_WITHIN = 10.0


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    environment = bot_env(tmp_path, "http://127.0.0.1:9", "http://127.0.0.1:9")
    async with opened(database_path(environment)):
        pass
    yield environment


async def start_up_error(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """`run`'s start-up in this process, in the environment `env`: its one line."""
    monkeypatch.chdir(database_path(env).parent)  # no .env of the checkout is read
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    with pytest.raises(StartupError) as refused:
        await asyncio.wait_for(run_bot(settings), EXITS_WITHIN)
    line = str(refused.value)
    assert line.strip() and "\n" not in line
    return line


def assert_one_line(err: str, out: str, *words: str) -> str:
    assert "Traceback" not in err + out, err + out
    assert out == ""
    printed = lines(err)
    assert len(printed) == 1, err
    for word in words:
        assert word in printed[0], printed[0]
    return printed[0]


async def test_unreachable_telegram_stops_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with closed_port() as url:
        env["TELEGRAM_API_URL"] = url
        line = await start_up_error(env, monkeypatch)
    assert "cannot reach Telegram" in line and url in line


async def test_refused_token_stops_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeBotApi(token="999999:another-bots-token") as api:
        env["TELEGRAM_API_URL"] = api.url
        line = await start_up_error(env, monkeypatch)
        assert [call.method for call in api.calls] == ["getMe"]  # no polling with a bad token
    assert "BOT_TOKEN" in line
    assert env["BOT_TOKEN"] not in line and env["BOT_TOKEN"].split(":")[1] not in line


async def test_silent_bot_api_stops_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SilentServer().running() as server:
        env["TELEGRAM_API_URL"] = server.url
        env["TELEGRAM_STARTUP_TIMEOUT"] = "2"  # the default 10 s would only make the test wait
        line = await start_up_error(env, monkeypatch)
        assert server.connected.is_set()
    assert "did not answer within 2 s" in line and server.url in line


async def test_unreachable_redis_stops_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with closed_port() as url:
        address = url.removeprefix("http://")
        env["REDIS_URL"] = f"redis://bot:redis-password@{address}/0"
        line = await start_up_error(env, monkeypatch)
    assert line.startswith(f"cannot use Redis at redis://{address}/0:"), line
    assert line.endswith("(REDIS_URL)") and "redis-password" not in line


async def test_silent_redis_stops_with_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "REDIS_STARTUP_TIMEOUT", 1.0)  # 5 s would only make the test wait
    async with SilentServer().running() as server:
        address = server.url.removeprefix("http://")
        env["REDIS_URL"] = f"redis://{address}/0"
        line = await start_up_error(env, monkeypatch)
        assert server.connected.is_set()
    assert line == f"Redis at redis://{address}/0 did not answer within 1 s (REDIS_URL)"


@pytest.mark.parametrize("kind", ["directory", "garbage file"])
async def test_unusable_database_stops_with_one_line(
    kind: str, env: dict[str, str], tmp_path: Path
) -> None:
    async with FakeBotApi(token=env["BOT_TOKEN"]) as api:
        env["TELEGRAM_API_URL"] = api.url
        unusable = tmp_path / "unusable.sqlite3"
        if kind == "directory":
            unusable.mkdir()
        else:
            unusable.write_bytes(b"this is not an SQLite database\n" * 200)
        env["DATABASE_URL"] = f"sqlite:///{unusable}"
        code, out, err = await finish(await start_bot(env, tmp_path, "run"), EXITS_WITHIN)
        assert not api.calls_to("getUpdates")
    assert code != 0
    assert_one_line(err, out, "database", str(unusable))


async def test_sigterm_during_start_up_stops_the_bot(env: dict[str, str], tmp_path: Path) -> None:
    """Telegram accepts the connection and never answers: the start-up waits, a SIGTERM ends it
    (with the line of a requested stop, not the line of Telegram's silence)."""
    async with SilentServer().running() as server:
        env["TELEGRAM_API_URL"] = server.url
        proc = await start_bot(env, tmp_path, "run")
        try:
            await asyncio.wait_for(server.connected.wait(), EXITS_WITHIN)
        except TimeoutError:
            proc.kill()
            raise
        proc.send_signal(signal.SIGTERM)
        code, out, err = await finish(proc, SIGTERM_STOPS_WITHIN)
    assert code == 0, err
    assert_one_line(err, out, "stopped by SIGTERM during start-up")
