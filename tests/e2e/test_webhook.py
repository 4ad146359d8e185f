"""Webhook mode and the HTTP server as an operator meets them (SPEC §3, §9, §12, §13):
`python -m bot set-webhook`, then `python -m bot run` with RUN_MODE=webhook taking Telegram's
POSTs from the fake Bot API; `/healthz` in polling mode too.

Each `python -m bot` costs seconds of imports, so one process makes several checks where
they do not disturb each other.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import TOKEN, bot_env, finish, free_port, lines, run_cli, start_bot
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api.webhook import SECRET_HEADER

SECRET = "e2e_webhook-Secret_42"
PUBLIC_URL = "https://bot.example.org/telegram/updates"
CHAT, SLOW_CHAT = 5550101, 5550102
STARTS_WITHIN = 60.0  # imports and start-up on a loaded two-core machine
SIGTERM_STOPS_WITHIN = 10.0  # SPEC §9
GREETING: Callable[[dict[str, object]], bool] = lambda m: "лицевого счёта" in str(m["text"])  # noqa: E731


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def wait_listening(base: str, proc: asyncio.subprocess.Process) -> None:
    deadline = asyncio.get_running_loop().time() + STARTS_WITHIN
    while asyncio.get_running_loop().time() < deadline:
        if proc.returncode is not None:
            code, out, err = await finish(proc, 5)
            raise AssertionError(f"the bot exited with {code}:\n{out}{err}")
        try:
            if (await get(f"{base}/healthz"))[0] == 200:
                return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError(f"nothing listens on {base} after {STARTS_WITHIN:.0f} s")


def updates_counted(exposition: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "bot_updates"
        for sample in family.samples
        if sample.name == "bot_updates_total"
    )


async def wait_counted(base: str, expected: float) -> None:
    for _ in range(100):
        status, body = await get(f"{base}/metrics")
        assert status == 200
        if updates_counted(body) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"bot_updates_total is not {expected}:\n{body}")


async def test_set_webhook_then_a_webhook_bot_answers_only_telegram_and_drains_on_sigterm(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = free_port()
    env = bot_env(
        tmp_path,
        api.url,
        RUN_MODE="webhook",
        WEBHOOK_URL=PUBLIC_URL,
        WEBHOOK_SECRET=SECRET,
        HTTP_PORT=str(port),
    )
    for _ in range(2):  # idempotent: the second time sets the same again
        code, out, err = await run_cli(env, tmp_path, "set-webhook", within=STARTS_WITHIN)
        assert code == 0, out + err
        assert len(lines(out)) == 1 and PUBLIC_URL in out, out
        assert SECRET not in out + err
    webhook = api.webhook
    assert webhook["url"] == PUBLIC_URL and webhook["secret_token"] == SECRET
    assert {"message", "callback_query"} <= set(webhook["allowed_updates"])
    assert "inline_query" not in webhook["allowed_updates"]
    assert [c.params.get("drop_pending_updates") for c in api.calls_to("setWebhook")] == [
        False,
        False,
    ]

    proc = await start_bot(env, tmp_path, "run")
    base, hook = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/telegram/updates"
    await wait_listening(base, proc)
    try:
        assert await get(f"{base}/readyz") == (200, "ready\n")
        await wait_counted(base, 0)

        api.push_text(CHAT, "/start", user_id=CHAT)
        assert await api.deliver_pending(hook, headers={}) == [401]
        assert await api.deliver_pending(hook, headers={SECRET_HEADER: "wrong"}) == [401]
        assert await api.deliver_pending(hook) == [200]
        await api.wait_for(CHAT, GREETING, timeout=15)
        await wait_counted(base, 1)  # the refused two were never handled
        assert not api.calls_to("getUpdates")  # no polling in webhook mode

        # SIGTERM while an update is in hand: its answer still reaches Telegram
        api.delay_next("sendMessage", 2.0, chat_id=SLOW_CHAT)
        api.push_text(SLOW_CHAT, "/start", user_id=SLOW_CHAT)
        assert await api.deliver_pending(hook) == [200]
        await api.wait_for_call("sendMessage", lambda c: c.chat_id == SLOW_CHAT, timeout=15)
        proc.send_signal(signal.SIGTERM)
        code, out, err = await finish(proc, SIGTERM_STOPS_WITHIN)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, err
    assert "Traceback" not in out + err, err
    assert any(GREETING(m) for m in api.sent_to(SLOW_CHAT)), api.sent_to(SLOW_CHAT)
    assert SECRET not in out + err


async def test_a_polling_bot_serves_health_too(api: FakeBotApi, tmp_path: Path) -> None:
    port = free_port()
    env = bot_env(tmp_path, api.url, HTTP_PORT=str(port))
    proc = await start_bot(env, tmp_path, "run")
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_listening(base, proc)
        await api.wait_for_call("getUpdates", timeout=STARTS_WITHIN)
        assert await get(f"{base}/healthz") == (200, "ok\n")
        api.push_text(CHAT, "/start", user_id=CHAT)
        await api.wait_for(CHAT, GREETING, timeout=15)
        await wait_counted(base, 1)
        proc.send_signal(signal.SIGTERM)
        code, _, err = await finish(proc, SIGTERM_STOPS_WITHIN)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, err
