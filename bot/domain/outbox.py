"""Readings on their way to the billing system (SPEC §10): the event's payload, what an answer
means, and when a failed delivery is tried again. Plain rules: no I/O, no clock of their own.

Where the events are kept is bot/storage/outbox.py; who sends them and when,
bot/services/outbox.py; the HTTP and the Standard Webhooks signature, bot/billing/.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, Literal

ACCEPTED = "reading.accepted"
REPLACED = "reading.replaced"
EVENT_TYPES = (ACCEPTED, REPLACED)
# 'pending': waiting for its first try or its next one (in flight while claimed);
# 'delivered': 2xx; 'refused': another 4xx, the resident told; 'dead': failing for three days.
STATES = ("pending", "delivered", "refused", "dead")

# SPEC §10: the waits after the 1st, 2nd, ... failure; then every 6 h; dead after three days.
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600)
GIVE_UP_AFTER = timedelta(days=3)
JITTER = 0.2  # each wait is moved by up to 20 % either way, so failures do not stay in step
MAX_RETRY_AFTER = 6 * 3600  # a Retry-After longer than the longest wait is read as this
POST_TIMEOUT_SECONDS = 15.0
REASON_LIMIT = 300  # characters of a refusal's reason kept and shown to the resident


def new_event_id(at: datetime) -> str:
    """The `webhook-id`: the same on every try of one event, the receiver's idempotency key.

    The moment first (microseconds, hex), then 72 random bits: new ids land at the end of the
    unique index, so a Confirm touches one page of it rather than a random one."""
    return f"msg_{int(at.timestamp() * 1_000_000):014x}{secrets.token_hex(9)}"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """One claimed event with what its payload says (the reading as it was saved)."""

    id: int
    event_id: str
    type: str
    created_at: datetime
    attempts: int  # failed tries so far
    failing_since: datetime | None
    receipt: str
    account: str
    meter: str  # the serial
    resource: str
    period: str  # YYYY-MM
    values: tuple[int, ...]  # T1 first
    submitted_at: datetime
    replaces: str | None  # the receipt of the reading this one replaced
    gis_meter_number: str | None = None
    els: str | None = None


def payload(event: OutboxEvent, tz: tzinfo) -> bytes:
    """The Standard Webhooks envelope, as sent (docs/billing-webhook.schema.json)."""
    data: dict[str, Any] = {
        "receipt": event.receipt,
        "account": event.account,
        "meter": event.meter,
        "resource": event.resource,
        "period": event.period,
        "values": {f"t{n}": value for n, value in enumerate(event.values, start=1)},
        "submitted_at": event.submitted_at.astimezone(tz).isoformat(),
        "replaces": event.replaces,
        "source": "telegram",
    }
    if event.gis_meter_number:
        data["gis_meter_number"] = event.gis_meter_number
    if event.els:
        data["els"] = event.els
    envelope = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": data}
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Answer:
    """What one POST came to: an HTTP status, or none (no connection, a timeout)."""

    status: int | None
    retry_after: str | None = None  # the header, as sent
    reason: str | None = None  # `{"reason": ...}` of a 4xx body, when it had one
    error: str | None = None  # what went wrong without a status ("timeout", "ConnectionError")


Verdict = Literal["delivered", "retry", "refused", "gone"]


def verdict(answer: Answer) -> Verdict:
    """2xx delivered; 410 the endpoint is gone; 408, 429 and 5xx, no answer, and 3xx (the
    specification follows no redirect: a failure) tried again; any other 4xx a refusal."""
    status = answer.status
    if status is None:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    if status in (408, 429) or status >= 500 or status < 400:
        return "retry"
    return "refused"


def describe(answer: Answer) -> str:
    """The failure in a few words, for `python -m bot outbox` and the logs."""
    if answer.status is None:
        return answer.error or "no answer"
    text = f"HTTP {answer.status}"
    return f"{text}: {answer.reason}" if answer.reason else text


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """A Retry-After header (seconds, or an HTTP date) as seconds from now; None when absent
    or unreadable. Capped at MAX_RETRY_AFTER."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = (parsedate_to_datetime(text) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def retry_delay(failures: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failures`-th failure (1 for the first), jittered."""
    base = RETRY_DELAYS[min(max(failures, 1), len(RETRY_DELAYS)) - 1]
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime


@dataclass(frozen=True, slots=True)
class GiveUp:
    pass


def after_failure(
    *,
    failures: int,
    failing_since: datetime,
    now: datetime,
    retry_after: float | None = None,
    scale: float = 1.0,
    rng: random.Random | None = None,
) -> Retry | GiveUp:
    """When a failed event is tried next, or that it is dead: failing for GIVE_UP_AFTER.

    `failures` counts this one. A Retry-After longer than the scheduled wait wins. `scale`
    shortens every wait and the three days alike (BILLING_RETRY_SCALE: tests only).
    """
    if now - failing_since >= GIVE_UP_AFTER * scale:
        return GiveUp()
    wait = retry_delay(failures, rng) * scale
    if retry_after is not None:
        wait = max(wait, retry_after)
    return Retry(now + timedelta(seconds=wait))
