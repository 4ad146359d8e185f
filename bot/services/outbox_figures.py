"""Where the outbox stands, for operators: `python -m bot outbox`, `/stats` and `/metrics`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain.outbox import STATES
from bot.services.stores import OutboxStore

DEAD_SHOWN = 20


@dataclass(frozen=True, slots=True)
class DeadEvent:
    event_id: str
    receipt: str
    created_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    enabled: bool  # BILLING_WEBHOOK_URL is set
    counts: dict[str, int] = field(default_factory=dict)  # by state
    oldest_waiting: timedelta | None = None  # age of the oldest event not yet delivered
    dead: tuple[DeadEvent, ...] = ()  # the oldest DEAD_SHOWN
    stopped: bool = False  # the billing system answered 410 Gone

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)


class OutboxStatus:
    def __init__(self, store: OutboxStore, clock: Clock, *, url: str | None) -> None:
        self.store = store
        self.clock = clock
        self.url = url

    async def figures(self) -> OutboxFigures:
        counts = await self.store.counts()
        _, oldest, _ = await self.store.waiting()
        dead = [DeadEvent(*row) for row in await self.store.dead(DEAD_SHOWN)]
        gone = await self.store.gone()
        return OutboxFigures(
            enabled=self.url is not None,
            counts={state: counts.get(state, 0) for state in STATES},
            oldest_waiting=None if oldest is None else self.clock.now() - oldest,
            dead=tuple(dead),
            stopped=gone is not None and gone == self.url,
        )

    async def waiting(self) -> tuple[int, float, int]:
        """Waiting events, the oldest one's age in seconds (0 when none), dead events."""
        count, oldest, dead = await self.store.waiting()
        age = 0.0 if oldest is None else (self.clock.now() - oldest).total_seconds()
        return count, max(age, 0.0), dead

    async def retry_dead(self) -> int:
        """Dead events go again (and a delivery stopped by 410 starts again)."""
        return await self.store.retry_dead(self.clock.now())


def age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days {seconds % 86400 // 3600} h"


def format_figures(figures: OutboxFigures) -> str:
    """The report of `python -m bot outbox`."""
    lines = []
    if not figures.enabled:
        lines.append("delivery: off (BILLING_WEBHOOK_URL is not set)")
    elif figures.stopped:
        lines.append(
            "delivery: STOPPED, the billing system answered 410 Gone;"
            " `python -m bot outbox --retry-dead` starts it again"
        )
    else:
        lines.append("delivery: on")
    lines.append(", ".join(f"{state}: {figures.count(state):,}" for state in STATES))
    if figures.oldest_waiting is not None:
        lines.append(f"oldest waiting: {age_text(figures.oldest_waiting)}")
    if figures.dead:
        lines.append("dead (oldest first; `--retry-dead` sends them again):")
        for event in figures.dead:
            lines.append(
                f"  {event.event_id} receipt {event.receipt} of {event.created_at:%Y-%m-%d %H:%M}"
                f" UTC: {event.last_error or 'no error recorded'}"
            )
        if figures.count("dead") > len(figures.dead):
            lines.append(f"  … and {figures.count('dead') - len(figures.dead):,} more")
    return "\n".join(lines)
