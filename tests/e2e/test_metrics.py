"""What an operator's Prometheus sees of a running bot (SPEC §13): a resident links an account
and submits a reading against `python -m bot run`, and `/metrics` moves by exactly that; then
`/readyz` says 503 while the SQLite file is unreadable, 200 again once it is back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import (
    EXAMPLE,
    TOKEN,
    bot_env,
    database_path,
    finish,
    free_port,
    run_cli,
    start_bot,
)
from tests.e2e.resident import SUBMIT, link_by_sms, submit_meter
from tests.e2e.test_process import first_example_account
from tests.e2e.test_webhook import STARTS_WITHIN, get, wait_listening
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

CHAT = 5550201


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotApi, FakeSmsRu]]:
    async with FakeBotApi(token=TOKEN) as api:
        sms = FakeSmsRu(api_id="e2e-api-id")
        await sms.start()
        try:
            yield api, sms
        finally:
            await sms.stop()


def totals(exposition: str) -> dict[str, float]:
    """Each sample's value summed over its labels, by sample name."""
    summed: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            summed[sample.name] = summed.get(sample.name, 0.0) + sample.value
    return summed


async def scrape(base: str) -> dict[str, float]:
    status, body = await get(f"{base}/metrics")
    assert status == 200, body
    return totals(body)


@contextlib.contextmanager
def unreadable(path: Path) -> Iterator[None]:
    """The file made unreadable: mode 000, which binds every user but root; root (as these
    tests run in containers) reads through any mode, so as root it is also moved aside."""
    mode = path.stat().st_mode
    aside = path.with_name(path.name + ".aside")
    moved = os.geteuid() == 0
    path.chmod(0)
    if moved:
        path.rename(aside)
    try:
        yield
    finally:
        if moved:
            aside.rename(path)
        path.chmod(mode)


async def link_and_submit(api: FakeBotApi, sms: FakeSmsRu) -> int:
    """The resident's walk of tests/e2e/test_process.py; returns the updates it took."""
    account, phone = first_example_account()
    await link_by_sms(api, sms, CHAT, account, phone)
    api.push_text(CHAT, SUBMIT, user_id=CHAT)
    typed, _ = await submit_meter(api, CHAT, add=3)
    # /start, the account, the contact, the code, the menu button, each value, the confirmation
    return 5 + len(typed) + 1


async def settled(base: str, updates: float) -> dict[str, float]:
    """The figures once the last update's handling has ended (it is counted after its answer)."""
    for _ in range(100):
        figures = await scrape(base)
        if figures.get("bot_updates_total", 0.0) >= updates:
            return figures
        await asyncio.sleep(0.05)
    return figures


async def test_metrics_move_by_one_walk_and_readiness_follows_the_database_file(
    fakes: tuple[FakeBotApi, FakeSmsRu], tmp_path: Path
) -> None:
    api, sms = fakes
    port = free_port()
    env = bot_env(tmp_path, api.url, sms.base_url, HTTP_PORT=str(port))
    code, out, err = await run_cli(env, tmp_path, "import", str(EXAMPLE))
    assert code == 0, out + err
    proc = await start_bot(env, tmp_path, "run")
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_listening(base, proc)
        await api.wait_for_call("getUpdates", timeout=STARTS_WITHIN)
        before = await scrape(base)
        updates = await link_and_submit(api, sms)
        after = await settled(base, before.get("bot_updates_total", 0.0) + updates)

        def moved(name: str) -> float:
            return after.get(name, 0.0) - before.get(name, 0.0)

        assert moved("bot_updates_total") == updates
        assert moved("bot_update_seconds_count") == updates
        assert moved("bot_submissions_saved_total") == 1
        assert moved("bot_codes_sent_total") == 1
        assert after.get("bot_codes_failed_total", 0.0) == 0
        assert moved("bot_sms_budget_left") == -1

        assert await get(f"{base}/readyz") == (200, "ready\n")
        with unreadable(database_path(env)):
            status, text = await get(f"{base}/readyz")
            assert status == 503 and text.startswith("database:"), text
            assert (await get(f"{base}/healthz"))[0] == 200  # alive all the same
            assert (await get(f"{base}/metrics"))[0] == 200
        assert await get(f"{base}/readyz") == (200, "ready\n")
        proc.send_signal(signal.SIGTERM)
        code, out, err = await finish(proc, 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code == 0, out + err
    assert "Traceback" not in out + err, err
