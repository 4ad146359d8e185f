"""One bot process per SQLite file (SPEC §12): a second `run` on the same file refuses to start,
saying so; offline commands keep working beside the running bot; the lock dies with its process,
even a killed one."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.instance_lock import lock_path_for
from tests.e2e.processes import (
    EXAMPLE,
    TOKEN,
    bot_env,
    database_path,
    finish,
    lines,
    run_cli,
    start_bot,
)
from tests.fakes.bot_api import FakeBotApi

CHAT = 5550002
STARTS_WITHIN = 60.0  # imports and start-up on a loaded two-core machine


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


async def start_polling_bot(
    api: FakeBotApi, env: dict[str, str], cwd: Path
) -> asyncio.subprocess.Process:
    proc = await start_bot(env, cwd, "run")
    try:
        await api.wait_for_call("getMe", timeout=STARTS_WITHIN)
        await api.wait_for_call("getUpdates", timeout=STARTS_WITHIN)
    except AssertionError:
        proc.kill()
        raise
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await finish(proc, 30)


async def test_second_bot_on_one_database_refuses_to_start_and_a_killed_one_leaves_no_lock(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """One test for both, to start three bot processes rather than four (seconds of imports
    each): the first refuses a second beside it, then dies by SIGKILL; a third then starts."""
    env = bot_env(tmp_path, api.url, api.url)
    first = await start_polling_bot(api, env, tmp_path)
    try:
        calls_before = len(api.calls)
        code, out, err = await finish(await start_bot(env, tmp_path, "run"), STARTS_WITHIN)
        assert code != 0
        assert "Traceback" not in err + out
        [line] = lines(err + out)
        assert "already running" in line and f"pid {first.pid}" in line, line
        assert str(database_path(env)) in line
        # the second never spoke to Telegram (a second long poll would fight the first)
        assert {call.method for call in api.calls[calls_before:]} <= {"getUpdates"}
        assert first.returncode is None

        # the offline commands work beside the running bot
        code, out, err = await run_cli(env, tmp_path, "import", str(EXAMPLE))
        assert code == 0, err
        code, out, err = await run_cli(env, tmp_path, "stats")
        assert code == 0, err
        code, out, err = await run_cli(env, tmp_path, "export", "--period", "2026-01")
        assert code == 0, err

        # and the first bot still answers
        api.push_text(CHAT, "/help", user_id=CHAT)
        await api.wait_for(CHAT, lambda m: "Как передать показания" in m["text"], timeout=30)

        # the lock dies with its process, even a killed one
        first.send_signal(signal.SIGKILL)
        await finish(first, 30)
    finally:
        await stop(first)
    assert lock_path_for(database_path(env)).exists()  # the file stays; its lock went

    third = await start_polling_bot(api, env, tmp_path)
    try:
        api.push_text(CHAT, "/help", user_id=CHAT)
        await api.wait_for(CHAT, lambda m: "Как передать показания" in m["text"], timeout=30)
    finally:
        await stop(third)
    assert third.returncode == 0
