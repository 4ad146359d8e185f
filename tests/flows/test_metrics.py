"""The series of `/metrics` an operator watches besides updates (SPEC §13): codes sent and
failed, the SMS budget left, deliveries by kind and state; and /readyz over a database file
that is no longer there. Scraped over HTTP, as Prometheus does."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.notifications.pacer import Pacer
from bot.sms.base import SmsError, SmsFinalError
from bot.web import HttpServer
from tests.flows.test_http_server import get, samples, serving
from tests.flows.test_linking import ask_code
from tests.harness import BotHarness, start_harness
from tests.seed import M, add_account
from tests.support.time import ManualTime

MSK = ZoneInfo("Europe/Moscow")
BUDGET = 10


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[BotHarness, str]]:
    harness = await start_harness(
        tmp_path,
        now=datetime(2026, 11, 15, 10, 0, tzinfo=MSK),  # the window opens today
        http_port=0,
        sms_daily_budget=BUDGET,
    )
    time = ManualTime(clock=harness.clock)
    harness.app.delivery.sender.pacer = Pacer(25, monotonic=time.monotonic, sleep=time.sleep)
    server, base = await serving(harness)
    yield harness, base
    await server.stop()
    await harness.close()


async def scrape(base: str) -> str:
    status, body = await get(f"{base}/metrics")
    assert status == 200
    return body


async def test_codes_sent_and_failed_and_the_budget_they_leave(
    served: tuple[BotHarness, str],
) -> None:
    harness, base = served
    for n in range(3):
        await add_account(harness.db, f"501234567{n}", f"+7916123456{n}", M(f"CW-{n}", "gas"))
    body = await scrape(base)
    assert samples(body, "bot_codes_sent_total") == {(): 0.0}
    assert samples(body, "bot_sms_budget_left") == {(): float(BUDGET)}

    await ask_code(harness.chat(1001), "5012345670", "+79161234560")
    await harness.settle()  # codes go out in the background
    harness.sms.error = SmsFinalError(201, "not enough money")
    await ask_code(harness.chat(1002), "5012345671", "+79161234561")
    await harness.settle()
    harness.sms.error = SmsError("connection refused")
    await ask_code(harness.chat(1003), "5012345672", "+79161234562")
    await ask_code(harness.chat(1004), "5012345672", "+79160000000")  # wrong phone: no SMS
    await harness.settle()

    body = await scrape(base)
    assert samples(body, "bot_codes_sent_total") == {(): 1.0}
    assert samples(body, "bot_codes_failed_total") == {
        (("reason", "refused"),): 1.0,
        (("reason", "unreachable"),): 1.0,
    }
    # every SMS attempted counts against the budget, delivered or not
    assert samples(body, "bot_sms_budget_left") == {(): float(BUDGET - 3)}


async def test_deliveries_by_kind_and_state(served: tuple[BotHarness, str]) -> None:
    harness, base = served
    for chat_id in (2001, 2002, 2003):
        account = await add_account(
            harness.db, f"50000{chat_id}", f"+7916000{chat_id}", M(f"GAS-{chat_id}", "gas")
        )
        await harness.app.storage.links.link(chat_id, account, harness.clock.now())
    harness.session.fail("SendMessage", 2003, kind="403")  # this resident blocked the bot

    body = await scrape(base)
    assert samples(body, "bot_deliveries")[(("kind", "opening"), ("state", "sent"))] == 0

    await harness.app.delivery.reminders.run_due(["opening"])
    deliveries = samples(await scrape(base), "bot_deliveries")
    opening = {state: n for ((_, kind), (_, state)), n in deliveries.items() if kind == "opening"}
    assert opening["sent"] == 2 and opening["blocked"] == 1
    assert sum(opening.values()) == 3
    assert all(n == 0 for ((_, kind), _), n in deliveries.items() if kind != "opening")

    harness.clock.advance(days=2)  # finished more than a day ago: no longer shown
    deliveries = samples(await scrape(base), "bot_deliveries")
    assert set(deliveries.values()) == {0.0}


async def test_readiness_follows_the_database_file(tmp_path: Path) -> None:
    """A SQLite file moved away while the bot runs: its connections carry on, but what they
    write would be lost, so not ready until the file is back."""
    harness = await start_harness(tmp_path, http_port=0)
    server: HttpServer | None = None
    try:
        if not harness.app.settings.database_url.startswith("sqlite"):
            pytest.skip("a file of its own: SQLite only (PostgreSQL's ping is its server)")
        server, base = await serving(harness)
        path = Path(harness.app.settings.database_url.removeprefix("sqlite:///"))
        assert await get(f"{base}/readyz") == (200, "ready\n")
        os.rename(path, path.with_suffix(".aside"))
        status, text = await get(f"{base}/readyz")
        assert status == 503 and text.startswith("database:")
        assert (await get(f"{base}/healthz"))[0] == 200
        os.rename(path.with_suffix(".aside"), path)
        assert await get(f"{base}/readyz") == (200, "ready\n")
    finally:
        if server is not None:
            await server.stop()
        await harness.close()
