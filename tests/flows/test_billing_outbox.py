"""Readings reach the billing system (SPEC §10): each accepted reading and each correction is
posted, signed, in order per meter; failures are tried again on the schedule and given up
after three days; a refusal is told to the resident; a 410 stops delivery and alerts the
admins. The dispatcher is driven pass by pass (`run_once`) with the harness's clock moved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.billing.poster import WebhookPoster
from bot.services.outbox import OutboxDispatcher, OutboxRun
from bot.services.outbox_figures import format_figures
from tests.fakes.billing import Fail, FakeBilling, Gone, Hang, Refuse
from tests.flows.test_submit import SUBMIT, link, seed_flat, submit_one
from tests.harness import BotHarness, ChatClient, start_harness

ADMIN = 777


@pytest.fixture
async def billing() -> AsyncIterator[FakeBilling]:
    async with FakeBilling() as fake:
        yield fake


@pytest.fixture
async def h(tmp_path: Path, billing: FakeBilling) -> AsyncIterator[BotHarness]:
    harness = await start_harness(
        tmp_path, billing_webhook_url=billing.url, billing_webhook_secret=billing.secret
    )
    yield harness
    await harness.close()


def dispatcher(h: BotHarness) -> OutboxDispatcher:
    assert h.app.delivery.outbox is not None
    return h.app.delivery.outbox


async def run(h: BotHarness) -> OutboxRun:
    return await dispatcher(h).run_once()


async def walk_three_meters(h: BotHarness, chat: ChatClient) -> None:
    """Cold water 105, hot water 99995, electricity 1100/450 (tests/flows/test_submit.py)."""
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    await submit_one(chat, "99995")
    await submit_one(chat, "1100", "450")


async def correct_cold_water(chat: ChatClient, value: str = "107") -> None:
    await chat.send(SUBMIT)
    await chat.press("···1234")
    await submit_one(chat, value)


async def test_each_reading_and_its_correction_reach_the_billing_system_signed(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await walk_three_meters(h, chat)
    h.clock.advance(minutes=5)
    await correct_cold_water(chat)

    report = await run(h)

    assert (report.delivered, report.retried, report.refused) == (4, 0, 0)
    assert all(r.valid for r in billing.received)
    sent = [r.payload for r in billing.accepted()]
    assert [(p["type"], p["data"]["meter"], p["data"]["values"]) for p in sent] == [
        ("reading.accepted", "CW-00011234", {"t1": 105}),
        ("reading.accepted", "HW-00025678", {"t1": 99995}),
        ("reading.accepted", "EL-00039012", {"t1": 1100, "t2": 450}),
        ("reading.replaced", "CW-00011234", {"t1": 107}),
    ]
    first, *_, correction = sent
    assert first["data"] == {
        "receipt": "2611-000001",
        "account": "5012345678",
        "meter": "CW-00011234",
        "resource": "cold_water",
        "period": "2026-11",
        "values": {"t1": 105},
        "submitted_at": "2026-11-20T12:00:00+03:00",
        "replaces": None,
        "source": "telegram",
    }
    assert correction["data"]["replaces"] == "2611-000001"
    assert correction["data"]["receipt"] == "2611-000004"
    assert len({r.event_id for r in billing.received}) == 4
    assert all(r.event_id.startswith("msg_") for r in billing.received)
    # nothing is sent twice
    assert await run(h) == OutboxRun()
    assert len(billing.received) == 4

    figures = await h.app.services.outbox.figures()
    assert figures.count("delivered") == 4 and figures.oldest_waiting is None
    admin = h.chat(ADMIN)
    await admin.send("/stats")
    assert "Доставлено: 4, отклонено: 0, не доставлено за три дня: 0" in admin.replies[0].text
    exposition = (await h.app.metrics.scrape()).decode()
    assert "bot_outbox_waiting 0.0" in exposition
    assert 'bot_outbox_events_total{outcome="delivered"} 4.0' in exposition


async def test_failures_are_tried_again_on_the_schedule_and_retry_after_honoured(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    billing.script(Fail(500), Fail(429, retry_after="120"), Fail(503))

    assert (await run(h)).retried == 1  # at once: 500
    assert await run(h) == OutboxRun()  # not yet: 5 s, give or take 20 %
    h.clock.advance(seconds=6.1)
    assert (await run(h)).retried == 1  # 429 with Retry-After: 120, longer than 30 s
    h.clock.advance(seconds=119)
    assert await run(h) == OutboxRun()
    h.clock.advance(seconds=2)
    assert (await run(h)).retried == 1  # 503: the third wait, 2 min ± 20 %
    h.clock.advance(seconds=145)
    assert (await run(h)).delivered == 1
    assert [r.status for r in billing.received] == [500, 429, 503, 204]
    assert len({r.event_id for r in billing.received}) == 1  # one webhook-id on every try


async def test_an_event_failing_for_three_days_is_dead_the_admins_told_and_sent_again_on_demand(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    billing.script_each(*[Fail(503)] * 40)
    tries = 0
    dead = 0
    while not dead:
        report = await run(h)
        tries += report.retried + report.dead
        dead = report.dead
        h.clock.advance(hours=1)
    assert 17 <= tries <= 25
    alert = h.chat(ADMIN).last_text
    assert "не доставлены в расчётную систему за три дня" in alert
    figures = await h.app.services.outbox.figures()
    assert figures.count("dead") == 1
    report_text = format_figures(figures)
    assert "receipt 2611-000001" in report_text and "HTTP 503" in report_text

    billing.script_each()
    assert await h.app.services.outbox.retry_dead() == 1
    assert (await run(h)).delivered == 1
    assert (await h.app.services.outbox.figures()).count("dead") == 0


async def test_a_meters_events_go_in_order_the_others_do_not_wait(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await walk_three_meters(h, chat)
    await correct_cold_water(chat)
    billing.script(Fail(500))  # the first cold-water reading fails once

    report = await run(h)
    assert (report.delivered, report.retried) == (2, 1)
    assert [r.payload["data"]["meter"] for r in billing.accepted()] == [
        "HW-00025678",
        "EL-00039012",
    ]  # the correction waits for the reading it replaces
    h.clock.advance(seconds=7)
    assert (await run(h)).delivered == 2
    cold = [r.payload["type"] for r in billing.accepted() if "CW" in r.payload["data"]["meter"]]
    assert cold == ["reading.accepted", "reading.replaced"]


async def test_a_refusal_reaches_the_resident_in_russian_and_in_english(
    h: BotHarness, billing: FakeBilling
) -> None:
    russian = await link(h, 1001, await seed_flat(h.db))
    english = h.chat(1002, language_code="en")
    await english.send("/start")  # its language is stored at once
    await link(h, 1002, await seed_flat(h.db, "5087654321", "+79160000000"))
    await russian.send(SUBMIT)
    await submit_one(russian, "105")
    await english.send("📝 Submit readings")
    await submit_one_en(english, "106")
    billing.script(Refuse("значение <меньше> предыдущего"), Refuse(None, status=409))

    assert (await run(h)).refused == 2
    await h.app.delivery.notices.send_pending()

    told_ru = russian.last_text
    assert "Расчётный центр не принял показания по расписке № <b>2611-000001</b>" in told_ru
    assert "Холодная вода, счётчик …1234, период 11.2026" in told_ru
    assert "Причина: значение &lt;меньше&gt; предыдущего" in told_ru
    assert "передайте их заново" in told_ru and "+7 (495) 000-00-00" in told_ru
    told_en = english.last_text
    assert "The billing centre did not accept the readings of receipt no. <b>2611-000002" in (
        told_en
    )
    assert "Reason" not in told_en  # a 409 without a body gives none
    assert "submit them again" in told_en and "+7 (495) 000-00-00" in told_en
    figures = await h.app.services.outbox.figures()
    assert figures.count("refused") == 2 and figures.count("pending") == 0


async def submit_one_en(chat: ChatClient, value: str) -> None:
    await chat.send(value)
    await chat.press("Confirm")


async def test_410_stops_delivery_alerts_the_admins_and_retry_dead_starts_it_again(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await walk_three_meters(h, chat)
    billing.script(Gone())

    report = await run(h)
    assert report.gone
    assert "410 Gone" in h.chat(ADMIN).last_text
    received = len(billing.received)
    h.clock.advance(hours=1)
    assert (await run(h)).gone and len(billing.received) == received
    figures = await h.app.services.outbox.figures()
    # the batch's other posts were answered 204 before the 410 was known
    assert figures.stopped and (figures.count("pending"), figures.count("delivered")) == (1, 2)
    admin = h.chat(ADMIN)
    await admin.send("/stats")
    assert "Отправка остановлена" in admin.replies[0].text

    await h.app.services.outbox.retry_dead()
    assert (await run(h)).delivered == 1


async def test_a_post_with_no_answer_goes_again_with_the_same_webhook_id(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    outbox = dispatcher(h)
    key = h.app.settings.billing_key
    assert key is not None
    outbox.poster = WebhookPoster(billing.url, key, timeout=0.3)  # 15 s in production
    billing.script(Hang())
    try:
        assert (await run(h)).retried == 1
        billing.release()
        h.clock.advance(seconds=7)
        assert (await run(h)).delivered == 1
    finally:
        await outbox.poster.close()
    ids = {r.event_id for r in billing.received}
    assert len(ids) == 1 and len(billing.accepted()) >= 1
    figures = await h.app.services.outbox.figures()
    assert figures.count("delivered") == 1


async def test_a_dead_leaders_claims_are_taken_over_and_expire_anyway(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await walk_three_meters(h, chat)
    now = h.clock.now()
    held = await h.app.storage.outbox.claim("dead-leader", now, now + timedelta(minutes=1), 2)
    assert len(held) == 2
    assert (await run(h)).delivered == 1  # the third; the two held are not sent twice at once
    h.clock.advance(seconds=61)  # the dead leader's lease is over
    assert (await run(h)).delivered == 2

    await correct_cold_water(chat)
    now = h.clock.now()
    await h.app.storage.outbox.claim("dead-leader", now, now + timedelta(minutes=1), 5)
    assert await run(h) == OutboxRun()
    await dispatcher(h).take_over()  # elected: at once, not a minute later
    assert (await run(h)).delivered == 1
    assert len(billing.accepted()) == 4


async def test_without_a_billing_url_no_event_is_written(harness: BotHarness) -> None:
    chat = await link(harness, 1001, await seed_flat(harness.db))
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    assert harness.app.delivery.outbox is None
    assert await harness.db.fetchval("SELECT count(*) FROM outbox") == 0


async def test_after_a_410_a_new_billing_url_delivers_again(
    h: BotHarness, billing: FakeBilling
) -> None:
    chat = await link(h, 1001, await seed_flat(h.db))
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    billing.script(Gone())
    assert (await run(h)).gone
    key = h.app.settings.billing_key
    assert key is not None
    # the operator points BILLING_WEBHOOK_URL elsewhere and restarts the bot
    moved = OutboxDispatcher(
        h.app.storage.outbox,
        WebhookPoster(billing.url + "?moved=1", key),
        h.clock,
        h.app.settings.tz,
        alert_admins=dispatcher(h).alert_admins,
    )
    try:
        assert (await moved.run_once()).delivered == 1
    finally:
        await moved.close()
