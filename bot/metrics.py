"""What `/metrics` shows (SPEC §13), in Prometheus' text format.

One `CollectorRegistry` per App, not prometheus-client's global one: a process builds one App,
and tests build many, each counting its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
REFRESH_TIMEOUT_SECONDS = 2.0  # a scrape does not wait longer for the outbox figures
# an update takes milliseconds; one that waits on Telegram's 429 or a slow disk, seconds
UPDATE_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
        self._outbox_figures: Callable[[], Awaitable[tuple[int, float, int]]] | None = None

    def watch_outbox(self, figures: Callable[[], Awaitable[tuple[int, float, int]]]) -> None:
        """Read the outbox's figures (waiting, oldest age, dead) at each scrape."""
        self._outbox_figures = figures

    def outbox_settled(self, outcome: str, count: int) -> None:
        self.outbox_events.labels(outcome).inc(count)

    async def refresh(self) -> None:
        """The figures read from the database, before a scrape."""
        if self._outbox_figures is None:
            return
        try:
            waiting, oldest, dead = await asyncio.wait_for(
                self._outbox_figures(), REFRESH_TIMEOUT_SECONDS
            )
        except Exception as exc:  # the scrape goes on with the last figures
            log.warning("outbox figures not read: %s", type(exc).__name__)
            return
        self.outbox_waiting.set(waiting)
        self.outbox_oldest.set(oldest)
        self.outbox_dead.set(dead)

    def submission_saved(self) -> None:
        self.submissions.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
