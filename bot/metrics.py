"""What `/metrics` shows (SPEC §13), in Prometheus' text format.

One `CollectorRegistry` per App, not prometheus-client's global one: a process builds one App,
and tests build many, each counting its own.

Two kinds of series:
- counted as things happen in this process (updates, their time, submissions, codes): counters,
  which Prometheus sums over the replicas;
- read from the shared database when scraped (SMS budget left, deliveries by kind and state):
  gauges, the same on every replica (take `max` over instances, not `sum`). Each such reading
  is a `Probe` given to `watch`; `scrape` runs them all before writing the exposition. A part
  with series of its own (the billing outbox, appeals) adds its gauges to `registry` and
  watches a probe of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.services.linking import CodeOutcome

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
# an update takes milliseconds; one that waits on Telegram's 429 or a slow disk, seconds
UPDATE_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
PROBE_TIMEOUT_SECONDS = 5.0  # a probe slower than this leaves its gauges as they were
RECENT_CAMPAIGNS = timedelta(days=1)  # finished campaigns stay in bot_deliveries this long

Probe = Callable[[], Awaitable[None]]  # reads what its gauges show and sets them


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._probes: list[tuple[str, Probe]] = []
        self.updates = Counter(
            "bot_updates",
            "Updates handled, by handler area (the bot.handlers module) and outcome",
            ("area", "outcome"),
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "bot_update_seconds",
            "Time from an update's arrival at the dispatcher to its answer, by handler area",
            ("area",),
            buckets=UPDATE_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.submissions = Counter(
            "bot_submissions_saved",
            "Readings saved by residents (a Confirm pressed again is not counted twice)",
            registry=self.registry,
        )
        self.codes_sent = Counter(
            "bot_codes_sent",
            "SMS codes the gateway accepted",
            registry=self.registry,
        )
        self.codes_failed = Counter(
            "bot_codes_failed",
            "SMS codes not sent, by reason: refused by the gateway (balance, sender...),"
            " gateway unreachable, or an unforeseen error",
            ("reason",),
            registry=self.registry,
        )
        self.sms_budget_left = Gauge(
            "bot_sms_budget_left",
            "Codes the bot may still send: SMS_DAILY_BUDGET less those sent in the last 24 h",
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "bot_deliveries",
            "Reminder and announcement deliveries, by campaign kind and state, of the campaigns"
            " in hand or finished in the last day",
            ("kind", "state"),
            registry=self.registry,
        )

        self._optional_series()

    def _optional_series(self) -> None:
        """The billing outbox's (SPEC §10), written with BILLING_WEBHOOK_URL only, and the
        appeals' (SPEC §11), with OPERATOR_CHAT_ID only."""
        self.appeals_open = Gauge(
            "bot_appeals_open", "Appeals not closed yet", registry=self.registry
        )
        self.outbox_events = Counter(
            "bot_outbox_events",
            "Billing events settled by this process, by outcome (delivered, refused, dead)",
            ("outcome",),
            registry=self.registry,
        )
        self.outbox_waiting = Gauge(
            "bot_outbox_waiting", "Billing events not yet delivered", registry=self.registry
        )
        self.outbox_oldest = Gauge(
            "bot_outbox_oldest_waiting_seconds",
            "Age of the oldest billing event not yet delivered (0 when none)",
            registry=self.registry,
        )
        self.outbox_dead = Gauge(
            "bot_outbox_dead", "Billing events given up after three days", registry=self.registry
        )

    def watch_outbox(self, figures: Callable[[], Awaitable[tuple[int, float, int]]]) -> None:
        """Read the outbox's figures (waiting, oldest age, dead) at each scrape."""

        async def probe() -> None:
            waiting, oldest, dead = await figures()
            self.outbox_waiting.set(waiting)
            self.outbox_oldest.set(oldest)
            self.outbox_dead.set(dead)

        self.watch("outbox figures", probe)

    def watch_appeals(self, count_open: Callable[[], Awaitable[int]]) -> None:
        """Read how many appeals are open at each scrape (with OPERATOR_CHAT_ID only)."""

        async def probe() -> None:
            self.appeals_open.set(await count_open())

        self.watch("appeals open", probe)

    def outbox_settled(self, outcome: str, count: int) -> None:
        self.outbox_events.labels(outcome).inc(count)

    def submission_saved(self) -> None:
        self.submissions.inc()

    def code_outcome(self, outcome: CodeOutcome) -> None:
        if outcome == "sent":
            self.codes_sent.inc()
        else:
            self.codes_failed.labels(outcome).inc()

    def watch(self, name: str, probe: Probe) -> None:
        """Run `probe` before each scrape; `name` says which one failed in the log."""
        self._probes.append((name, probe))

    async def scrape(self) -> bytes:
        """The gauges read afresh, then everything in the text format. A probe that fails
        (the database down: /readyz says so) leaves its gauges as they were."""
        for name, probe in self._probes:
            try:
                await asyncio.wait_for(probe(), PROBE_TIMEOUT_SECONDS)
            except Exception as exc:
                log.warning("metrics: %s not read: %s", name, type(exc).__name__)
        return self.exposition()

    def exposition(self) -> bytes:
        """What the registry holds now, without running the probes."""
        return generate_latest(self.registry)


class SentCodes(Protocol):
    async def sms_sent_since(self, since: datetime) -> int: ...


class DeliveriesByKind(Protocol):
    async def counts_by_kind(self, finished_since: datetime) -> dict[tuple[str, str], int]: ...


def database_probe(
    metrics: BotMetrics,
    *,
    codes: SentCodes,
    deliveries: DeliveriesByKind,
    now: Callable[[], datetime],
    daily_budget: int,
    kinds: tuple[str, ...],
    states: tuple[str, ...],
) -> Probe:
    """The gauges read from the database: every kind and state is written, 0 when none, so a
    dashboard's lines do not break off when a state empties."""

    async def probe() -> None:
        moment = now()
        sent = await codes.sms_sent_since(moment - timedelta(days=1))
        counts = await deliveries.counts_by_kind(moment - RECENT_CAMPAIGNS)
        metrics.sms_budget_left.set(max(daily_budget - sent, 0))
        for kind in kinds:
            for state in states:
                metrics.deliveries.labels(kind, state).set(counts.get((kind, state), 0))

    return probe
