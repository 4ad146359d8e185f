"""The gauges read at each scrape (bot/metrics.py): a probe that fails or hangs costs the scrape
nothing but its own fresh values."""

from __future__ import annotations

import asyncio
import logging

import pytest

import bot.metrics
from bot.metrics import BotMetrics


async def test_a_failing_probe_keeps_its_last_values_and_the_scrape_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = BotMetrics()
    down = False

    async def budget() -> None:
        if down:
            raise ConnectionRefusedError("database at 10.0.0.5 refused")
        metrics.sms_budget_left.set(42)

    metrics.watch("budget", budget)
    assert b"bot_sms_budget_left 42.0" in await metrics.scrape()
    down = True
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        exposition = await metrics.scrape()
    assert b"bot_sms_budget_left 42.0" in exposition
    assert [r.getMessage() for r in caplog.records] == [
        "metrics: budget not read: ConnectionRefusedError"  # the kind, not the details
    ]


async def test_a_hung_probe_is_given_up_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bot.metrics, "PROBE_TIMEOUT_SECONDS", 0.05)
    metrics = BotMetrics()

    async def hung() -> None:
        await asyncio.Event().wait()

    async def budget() -> None:
        metrics.sms_budget_left.set(7)

    metrics.watch("hung", hung)
    metrics.watch("budget", budget)
    assert b"bot_sms_budget_left 7.0" in await metrics.scrape()
