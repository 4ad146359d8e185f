"""Readings reach a billing system that fails and hangs (SPEC §10), with the bot as a real
process: `python -m bot` long-polls the fake Bot API and posts to the fake billing server
(tests/fakes/billing.py) on loopback. BILLING_RETRY_SCALE (tests only) shortens the retry
schedule a thousandfold: 5 s become 5 ms, three days about four minutes.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.periods import Period
from bot.storage.engines import open_database
from bot.storage.readings import ReadingRepository
from tests.e2e.processes import EXAMPLE, TOKEN, bot_env, run_cli, start_logged
from tests.e2e.resident import SUBMIT, link_by_sms, submit_meter
from tests.e2e.test_process import first_example_account
from tests.fakes.billing import Fail, FakeBilling, Hang, Received
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

CHAT = 5550002


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotApi, FakeSmsRu, FakeBilling]]:
    api = FakeBotApi(token=TOKEN)
    sms = FakeSmsRu(api_id="e2e-api-id")
    billing = FakeBilling()
    await api.start()
    await sms.start()
    await billing.start()
    yield api, sms, billing
    await billing.stop()
    await sms.stop()
    await api.stop()


async def imported(
    tmp_path: Path, api: FakeBotApi, sms: FakeSmsRu, billing: FakeBilling
) -> dict[str, str]:
    """The environment of a bot on the fakes, its database holding the example accounts."""
    env = bot_env(
        tmp_path,
        api.url,
        sms.base_url,
        BILLING_WEBHOOK_URL=billing.url,
        BILLING_WEBHOOK_SECRET=billing.secret,
        BILLING_RETRY_SCALE="0.001",
    )
    code, out, err = await run_cli(env, tmp_path, "import", str(EXAMPLE))
    assert code == 0, out + err
    return env


def by_meter(received: list[Received]) -> dict[str, list[Received]]:
    found: dict[str, list[Received]] = {}
    for r in received:
        found.setdefault(r.payload["data"]["meter"], []).append(r)
    return found


async def test_three_meters_and_a_correction_reach_a_failing_billing_system_once_each_in_order(
    tmp_path: Path, fakes: tuple[FakeBotApi, FakeSmsRu, FakeBilling]
) -> None:
    api, sms, billing = fakes
    env = await imported(tmp_path, api, sms, billing)
    account, phone = first_example_account()
    # the first two tries of every event fail with 500; one try is told to come back in 1 s
    billing.script_each(Fail(500), Fail(500))
    billing.script(Fail(429, retry_after="1"))
    log = tmp_path / "bot.log"
    proc = await start_logged(env, tmp_path, log)
    try:
        await api.wait_for_call("getUpdates", timeout=30)
        await link_by_sms(api, sms, CHAT, account, phone)
        api.push_text(CHAT, SUBMIT, user_id=CHAT)
        for _ in range(3):  # the example account's three meters, one after another
            await submit_meter(api, CHAT, add=3)
        # a correction of the cold-water meter
        api.push_text(CHAT, SUBMIT, user_id=CHAT)
        await api.wait_for(CHAT, lambda m: "4511" in str(m.get("reply_markup")), timeout=15)
        api.push_button(CHAT, None, "4511")
        await submit_meter(api, CHAT, add=5)
        await billing.wait_until(lambda: len(billing.accepted()) >= 4, timeout=60)
        await asyncio.sleep(0.5)  # anything sent twice would come now
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    output = log.read_text()
    assert proc.returncode == 0, output
    assert billing.secret not in output and billing.secret.removeprefix("whsec_") not in output

    assert billing.received and all(r.valid for r in billing.received)
    accepted = billing.accepted()
    assert len(accepted) == 4
    assert len({r.event_id for r in accepted}) == 4  # each webhook-id once among the accepted
    statuses = [r.status for r in billing.received]
    assert statuses.count(500) == 8 and statuses.count(429) == 1
    meters = by_meter(billing.received)
    assert len(meters) == 3
    for tries in meters.values():  # an event's tries all come before the next event's
        ids = [r.event_id for r in tries]
        assert _in_blocks(ids), ids
        assert all(ids.count(event_id) >= 3 for event_id in ids)  # 500, 500, then through
    cold = [r.payload for r in accepted if r.payload["data"]["resource"] == "cold_water"]
    assert [p["type"] for p in cold] == ["reading.accepted", "reading.replaced"]
    assert cold[1]["data"]["replaces"] == cold[0]["data"]["receipt"]


def _in_blocks(ids: list[str]) -> bool:
    """Each id's tries are one unbroken run: no try of an event after the next one's."""
    seen: list[str] = []
    for event_id in ids:
        if not seen or seen[-1] != event_id:
            if event_id in seen:
                return False
            seen.append(event_id)
    return True


async def test_a_bot_killed_while_the_billing_system_hangs_delivers_the_event_after_restart(
    tmp_path: Path, fakes: tuple[FakeBotApi, FakeSmsRu, FakeBilling]
) -> None:
    api, sms, billing = fakes
    env = await imported(tmp_path, api, sms, billing)
    # a reading saved as Confirm saves it: its event in the same transaction
    db = await open_database(env["DATABASE_URL"])
    try:
        meter = await db.fetchval("SELECT id FROM meters WHERE serial = '19-284511'")
        now = datetime.now(UTC)
        await ReadingRepository(db, outbox=True).save(
            meter_id=meter,
            period=Period(now.year, now.month),
            values=(130,),
            chat_id=None,
            at=now,
            request_key="e2e-kill",
        )
    finally:
        await db.close()
    billing.script_each(Hang())

    log = tmp_path / "bot.log"
    first = await start_logged(env, tmp_path, log)
    try:
        await billing.wait_until(billing.hanging.is_set, timeout=30)
    finally:
        first.send_signal(signal.SIGKILL)
        await asyncio.wait_for(first.wait(), 30)
    assert first.returncode == -signal.SIGKILL

    second = await start_logged(env, tmp_path, log)
    try:
        # taken over at the election, not when the dead process's 90 s claim runs out (the
        # wait allows for a slow start on a loaded machine)
        await billing.wait_until(lambda: len(billing.accepted()) == 1, timeout=45)
        await asyncio.sleep(0.5)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    assert second.returncode == 0, log.read_text()
    assert len({r.event_id for r in billing.received}) == 1  # the same webhook-id, tried again
    assert len(billing.accepted()) == 1

    code, out, err = await run_cli(env, tmp_path, "outbox")
    assert code == 0, err
    assert "delivered: 1" in out and "pending: 0" in out
