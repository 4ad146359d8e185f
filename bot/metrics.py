"""What `/metrics` shows (SPEC §13), in Prometheus' text format.

One `CollectorRegistry` per App, not prometheus-client's global one: a process builds one App,
and tests build many, each counting its own.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
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

    def submission_saved(self) -> None:
        self.submissions.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
