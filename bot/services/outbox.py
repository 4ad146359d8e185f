"""Delivering the outbox to the billing system (SPEC §10), run by the leader (bot/scheduler.py).

Each pass claims a batch of due events (each meter's oldest waiting one only, so a meter's
events arrive in order), posts them side by side, and records what came of each in one
transaction: delivered (2xx); tried again on the schedule of bot/domain/outbox.py (no answer,
408, 429 with its Retry-After, 3xx, 5xx), dead after three days of that; refused (another 4xx),
the resident told through the notices (bot/services/notices.py sends them, so a blocked or
unreachable chat is handled as for any notice). A 410 Gone stops delivery and alerts the
admins; it starts again with `python -m bot outbox --retry-dead`, or when BILLING_WEBHOOK_URL
names another URL.

A claim is held for as long as a batch can take; a dispatcher killed holding one leaves it to
the next leader, which takes it over at once (`take_over`): the event goes again with the same
webhook-id, so the billing side keeps it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from bot.clock import Clock
from bot.domain.outbox import (
    POST_TIMEOUT_SECONDS,
    Answer,
    GiveUp,
    OutboxEvent,
    after_failure,
    describe,
    payload,
    retry_after_seconds,
    verdict,
)
from bot.services.ports import EventPoster
from bot.services.stores import OutboxStore

log = logging.getLogger(__name__)

BATCH = 128  # events claimed at a time
CONCURRENCY = 64  # posts in flight at once
LANES = 2  # batches in hand at once (see _lane)
IDLE_POLL_SECONDS = 2.0  # how often an idle leader looks for events other replicas wrote
DEAD_ALERT_EVERY = timedelta(hours=1)
STOP_GRACE_SECONDS = 2.0  # a stop lets the posts in hand finish this long, then cuts them

AlertAdmins = Callable[..., Awaitable[None]]


def _lease(batch: int, concurrency: int, lanes: int) -> timedelta:
    """How long a claim is held: every round of the lanes' posts timing out, and a margin."""
    rounds = math.ceil(batch * lanes / concurrency)
    return timedelta(seconds=rounds * POST_TIMEOUT_SECONDS + 30)


@dataclass
class OutboxRun:
    delivered: int = 0
    retried: int = 0
    refused: int = 0
    dead: int = 0
    gone: bool = False  # the billing system answered 410: delivery stopped


def refusal_notice(event: OutboxEvent, reason: str | None) -> tuple[str, dict[str, str]]:
    """The notice telling the resident (bot/notifications/notices.py renders it)."""
    year, month = event.period.split("-")
    args = {
        "receipt": event.receipt,
        "meter": event.meter[-4:],
        "resource": event.resource,
        "period": f"{month}.{year}",
    }
    if reason:
        return "billing-refused", {**args, "reason": reason}
    return "billing-refused-plain", args


class OutboxDispatcher:
    def __init__(
        self,
        store: OutboxStore,
        poster: EventPoster,
        clock: Clock,
        tz: tzinfo,
        *,
        alert_admins: AlertAdmins,
        scale: float = 1.0,
        batch: int = BATCH,
        concurrency: int = CONCURRENCY,
        lanes: int = LANES,
        on_outcome: Callable[[str, int], None] = lambda outcome, count: None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.poster = poster
        self.clock = clock
        self.tz = tz
        self.alert_admins = alert_admins
        self.scale = scale  # BILLING_RETRY_SCALE: tests only
        self.batch = batch
        self.lanes = lanes
        self.lease = _lease(batch, concurrency, lanes)
        self.on_outcome = on_outcome  # the metrics count outcomes
        self.rng = rng or random.Random()
        self.claim = "dispatcher-" + secrets.token_hex(8)
        self._posts = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_dead_alert: datetime | None = None

    # --- one pass -------------------------------------------------------------------------

    async def run_once(self) -> OutboxRun:
        """Post every event due now, batch after batch, until none is left or delivery stops."""
        report = OutboxRun()
        if await self.store.gone() == self.poster.url:
            report.gone = True
            return report
        await asyncio.gather(*(self._lane(report) for _ in range(self.lanes)))
        if report.dead:
            await self._alert_dead(report.dead)
        return report

    async def _lane(self, report: OutboxRun) -> None:
        """Claim, post, settle, again: while one lane waits on the database or on its batch's
        slowest answers, the other's posts go on. Claims never overlap, and an event in flight
        holds its meter's later ones back, so the lanes keep each meter's order."""
        while not self._stop.is_set() and not report.gone:
            now = self.clock.now()
            events = await self.store.claim(self.claim, now, now + self.lease, self.batch)
            if not events:
                return
            if report.gone:  # the other lane met a 410 meanwhile: hand these back untried
                released = [(event.id, "release", None, None) for event in events]
                await self.store.settle(self.claim, now, changes=released)
                return
            answers = await asyncio.gather(*(self._post(event) for event in events))
            await self._settle(list(zip(events, answers, strict=True)), report)

    async def _post(self, event: OutboxEvent) -> Answer:
        async with self._posts:
            return await self.poster.post(event.event_id, payload(event, self.tz))

    async def _settle(self, tried: list[tuple[OutboxEvent, Answer]], report: OutboxRun) -> None:
        now = self.clock.now()
        delivered: list[int] = []
        changes: list[tuple[int, str, datetime | None, str | None]] = []
        told: list[tuple[int, str, dict[str, str]]] = []
        for event, answer in tried:
            outcome = verdict(answer)
            if outcome == "delivered":
                delivered.append(event.id)
            elif outcome == "gone":
                changes.append((event.id, "release", None, describe(answer)))
                report.gone = True
            elif outcome == "refused":
                changes.append((event.id, "refused", None, answer.reason or describe(answer)))
                told.append((event.id, *refusal_notice(event, answer.reason)))
                log.warning("billing refused receipt %s: %s", event.receipt, describe(answer))
            else:
                changes.append(self._failed(event, answer, now))
        report.delivered += len(delivered)
        report.refused += len(told)
        for _, change, _, _ in changes:
            if change == "retry":
                report.retried += 1
            elif change == "dead":
                report.dead += 1
        await self.store.settle(self.claim, now, delivered=delivered, changes=changes, told=told)
        self._count(delivered=len(delivered), refused=len(told))
        if report.gone:
            await self._stop_delivery(now)

    def _failed(
        self, event: OutboxEvent, answer: Answer, now: datetime
    ) -> tuple[int, str, datetime | None, str | None]:
        next_try = after_failure(
            failures=event.attempts + 1,
            failing_since=event.failing_since or now,
            now=now,
            retry_after=retry_after_seconds(answer.retry_after, now),
            scale=self.scale,
            rng=self.rng,
        )
        error = describe(answer)
        if isinstance(next_try, GiveUp):
            log.error("billing event %s is dead after three days: %s", event.event_id, error)
            return event.id, "dead", None, error
        log.info("billing event %s failed (%s), tried again later", event.event_id, error)
        return event.id, "retry", next_try.at, error

    def _count(self, **outcomes: int) -> None:
        for outcome, count in outcomes.items():
            if count:
                self.on_outcome(outcome, count)

    async def _stop_delivery(self, now: datetime) -> None:
        await self.store.mark_gone(self.poster.url, now)
        log.error("the billing system answered 410 Gone: delivery stopped")
        await self._alert("alert-billing-gone")

    async def _alert_dead(self, count: int) -> None:
        self._count(dead=count)
        now = self.clock.now()
        if self._last_dead_alert is None or now - self._last_dead_alert >= DEAD_ALERT_EVERY:
            self._last_dead_alert = now
            await self._alert("alert-billing-dead", count=count)

    async def _alert(self, key: str, **kwargs: Any) -> None:
        try:
            await self.alert_admins(key, **kwargs)
        except Exception:  # the outbox goes on whether or not the admins could be told
            log.exception("alerting the admins failed")

    # --- the loop the leader runs ---------------------------------------------------------

    def wake(self) -> None:
        """A reading was saved here: look for it now rather than at the next poll."""
        self._wake.set()

    async def take_over(self) -> None:
        """Elected: what a dead predecessor held goes again now (the same webhook-ids)."""
        taken = await self.store.release_others(self.claim)
        if taken:
            log.info("billing events taken over from a previous leader: %d", taken)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._loop(), name="billing-outbox")

    async def stop(self) -> None:
        """The posts in hand get STOP_GRACE_SECONDS; a post cut then stays claimed and goes
        again under the next leader."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        self._wake.set()
        try:
            await asyncio.wait_for(task, STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("billing posts still in flight at the stop: they go again later")
        except Exception:
            log.exception("the billing outbox failed")

    async def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                report = await self.run_once()
                due = None if report.gone else await self.store.next_due(self.clock.now())
            except Exception:
                log.exception("billing outbox pass failed")
                due = None
            wait = IDLE_POLL_SECONDS
            if due is not None:
                wait = min(wait, max((due - self.clock.now()).total_seconds(), 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def close(self) -> None:
        await self.stop()
        await self.poster.close()
