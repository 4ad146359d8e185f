"""Submitting readings (SPEC §6): which meters are due, the checks, saving once, history.

No aiogram here and no SQL: the handlers render, the repositories store.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from itertools import pairwise

from bot.clock import Clock
from bot.domain.meter_task import MeterTask, ZoneBasis
from bot.domain.models import (
    Account,
    ChatNotLinked,
    LastReading,
    Meter,
    MeterClosed,
    MeterGone,
    RecentReading,
    RequestKeyTaken,
    StoredReading,
)
from bot.domain.periods import Period
from bot.domain.readings import (
    RESOURCE_FLOORS,
    CheckResult,
    PreviousReading,
    check_value,
    consumption_ceiling,
    months_since,
)
from bot.domain.windows import SubmissionWindow, WindowDates
from bot.services.stores import AccountStore, LinkStore, MeterStore, ReadingStore

RECENT_PERIODS = 6  # "the meter's average over its last six periods" (SPEC §6)
MAX_SPAN_MONTHS = 12
# the order a resident finds the meters in a flat: water first, then power, gas, heat
RESOURCE_ORDER = {
    r: n for n, r in enumerate(("cold_water", "hot_water", "electricity", "gas", "heat"))
}


def in_flat_order(meters: Sequence[Meter]) -> list[Meter]:
    return sorted(meters, key=lambda m: (RESOURCE_ORDER.get(str(m.resource), 9), m.serial))


def months_between(earlier: Period, later: Period) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def new_request_key() -> str:
    """An idempotency key: 72 random bits, short enough to ride in callback data."""
    return secrets.token_urlsafe(9)


@dataclass(frozen=True, slots=True)
class MeterStatus:
    meter: Meter
    window: SubmissionWindow
    dates: WindowDates  # the window open today, else the next one
    is_open: bool
    done: bool  # a current reading exists for the open window's period

    @property
    def period(self) -> Period:
        return self.dates.period


@dataclass(frozen=True, slots=True)
class Overview:
    account: Account
    today: date
    meters: list[MeterStatus]

    @property
    def due(self) -> list[MeterStatus]:
        return [s for s in self.meters if s.is_open and not s.done]

    @property
    def open(self) -> list[MeterStatus]:
        return [s for s in self.meters if s.is_open]

    def status(self, meter_id: int) -> MeterStatus | None:
        return next((s for s in self.meters if s.meter.id == meter_id), None)


@dataclass(frozen=True, slots=True)
class Submitted:
    reading: StoredReading
    duplicate: bool  # Confirm arrived again: the first submission's receipt, nothing new saved


@dataclass(frozen=True, slots=True)
class WindowClosed:
    dates: WindowDates  # the next window


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """The chat is no longer linked to the account, or the meter is gone."""


@dataclass(frozen=True, slots=True)
class MeterRetired:
    """The meter was closed while the resident was typing: replaced by a new one (``replaced``),
    or no longer in the billing system's accounts. Nothing was saved."""

    replaced: bool


SubmitOutcome = Submitted | WindowClosed | NotAllowed | MeterRetired


@dataclass(frozen=True, slots=True)
class MeterHistory:
    meter: Meter
    readings: list[StoredReading]  # newest period first; replaced ones too


class SubmissionService:
    def __init__(
        self,
        *,
        accounts: AccountStore,
        meters: MeterStore,
        readings: ReadingStore,
        links: LinkStore,
        clock: Clock,
        tz: tzinfo,
        window: SubmissionWindow,
        on_saved: Callable[[], None] = lambda: None,  # the metrics count each new reading
    ) -> None:
        self.accounts = accounts
        self.meters = meters
        self.readings = readings
        self.links = links
        self.clock = clock
        self.tz = tz
        self.window = window
        self.on_saved = on_saved

    def now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()

    def meter_window(self, meter: Meter) -> SubmissionWindow:
        return SubmissionWindow.for_meter(self.window, meter.window_start, meter.window_end)

    async def account_of_chat(self, chat_id: int, requested: int = 0) -> Account | None:
        """The account a submission is for: the requested one if linked, else the current one."""
        if requested and await self.links.is_linked(chat_id, requested):
            return await self.accounts.get(requested)
        current = await self.accounts.current_of_chat(chat_id)
        if current is not None:
            return current
        linked = await self.links.accounts_of(chat_id)
        return linked[0] if linked else None

    async def account(self, account_id: int) -> Account | None:
        return await self.accounts.get(account_id)

    async def is_linked(self, chat_id: int, account_id: int) -> bool:
        return await self.links.is_linked(chat_id, account_id)

    async def meter_of(self, chat_id: int, account_id: int, meter_id: int) -> Meter | None:
        """The meter, if it belongs to that account and the chat is linked to it."""
        meter = await self.meters.get(meter_id)
        if meter is None or meter.account_id != account_id or meter.closed:
            return None
        return meter if await self.links.is_linked(chat_id, account_id) else None

    async def due_count(self, account_id: int) -> int:
        today = self.today()
        statuses = [self.status_of(m, today) for m in await self.meters.of_account(account_id)]
        return sum(1 for s in statuses if s.is_open and not s.done)

    def status_of(self, meter: Meter, today: date) -> MeterStatus:
        window = self.meter_window(meter)
        current = window.current(today)
        if current is None:
            return MeterStatus(meter, window, window.next_window(today), False, False)
        done = meter.submitted_period == str(current.period)
        return MeterStatus(meter, window, current, True, done)

    async def overview(self, account: Account) -> Overview:
        today = self.today()
        meters = in_flat_order(await self.meters.of_account(account.id))
        return Overview(account, today, [self.status_of(m, today) for m in meters])

    async def tasks(self, statuses: Sequence[MeterStatus]) -> list[MeterTask]:
        """Tasks for open meters, with one query for every meter's recent readings."""
        statuses = [s for s in statuses if s.is_open]
        recent = await self.readings.recent_current([s.meter.id for s in statuses])
        today = self.today()
        tasks = []
        for status in statuses:
            meter = status.meter
            before = [r for r in recent.get(meter.id, []) if r.period < status.period]
            last = meter.last
            if status.done:  # a correction is judged against what came before this period
                last = self._newest(
                    await self.readings.imported_last(meter.id),
                    LastReading(before[0].values, before[0].submitted_at.astimezone(self.tz).date())
                    if before
                    else None,
                )
            tasks.append(self._task(status, last, before, today=today))
        return tasks

    @staticmethod
    def _newest(imported: LastReading | None, submitted: LastReading | None) -> LastReading | None:
        if imported is None or submitted is None:
            return submitted or imported
        if imported.taken_on and submitted.taken_on and imported.taken_on > submitted.taken_on:
            return imported
        return submitted

    def _task(
        self,
        status: MeterStatus,
        last: LastReading | None,
        before: list[RecentReading],
        *,
        today: date,
    ) -> MeterTask:
        meter = status.meter
        span = 1
        if last is not None and last.taken_on is not None:
            taken_in = status.window.period_for(last.taken_on) or Period.of(last.taken_on)
            span = min(max(1, months_between(taken_in, status.period)), MAX_SPAN_MONTHS)
        chronological = list(reversed(before))
        zones = []
        for zone in range(meter.tariffs):
            previous = None
            if last is not None and zone < len(last.values):
                previous = PreviousReading(last.values[zone], last.taken_on)
            monthly = _monthly_consumptions(chronological, zone)
            zones.append(ZoneBasis(previous, tuple(round(c * span) for c in monthly)))
        return MeterTask(
            meter_id=meter.id,
            account_id=meter.account_id,
            resource=str(meter.resource),
            serial=meter.serial,
            tariffs=meter.tariffs,
            digits=meter.digits,
            window_start=status.window.start_day,
            window_end=status.window.end_day,
            period=status.period,
            correction=status.done,
            zones=tuple(zones),
            months=months_since(last.taken_on if last else None, today),
        )

    @staticmethod
    def check(task: MeterTask, zone: int, value: int) -> CheckResult:
        basis = task.zones[zone]
        return check_value(
            value,
            previous=basis.previous,
            digits=task.digits,
            recent_consumptions=basis.recent,
            floor=RESOURCE_FLOORS.get(task.resource, 0),
            ceiling=consumption_ceiling(task.resource, task.months),
        )

    async def submit(
        self, *, chat_id: int, task: MeterTask, values: Sequence[int], request_key: str
    ) -> SubmitOutcome:
        """Save once per request key; refuse when the window has closed meanwhile."""
        if len(values) != task.tariffs:
            raise ValueError(f"meter {task.meter_id} needs {task.tariffs} values, got {values}")
        now = self.now()
        window = task.window
        if window.period_for(now.date()) != task.period:
            earlier = await self.readings.by_request_key(request_key, chat_id=chat_id)
            if earlier is not None:  # saved before the window closed; Confirm came again
                return Submitted(earlier, duplicate=True)
            return WindowClosed(window.current_or_next(now.date()))
        try:  # the link is checked in the same statement as the save: one database trip
            saved = await self.readings.save(
                meter_id=task.meter_id,
                period=task.period,
                values=values,
                chat_id=chat_id,
                at=now,
                request_key=request_key,
                linked_account_id=task.account_id,
            )
        except MeterClosed as closed:
            return MeterRetired(replaced=closed.replaced)
        except (ChatNotLinked, MeterGone, RequestKeyTaken):
            return NotAllowed()
        if not saved.duplicate:
            self.on_saved()
        return Submitted(saved.reading, saved.duplicate)

    async def receipt(self, request_key: str, *, chat_id: int) -> StoredReading | None:
        """The reading this chat saved under the key (a Confirm pressed again)."""
        return await self.readings.by_request_key(request_key, chat_id=chat_id)

    async def history(self, account_id: int, periods: int = 12) -> list[MeterHistory]:
        """Each meter's readings; a closed (replaced) meter's too while it has any."""
        meters = in_flat_order(await self.meters.of_account(account_id, with_closed=True))
        readings = await self.readings.history(account_id, periods)
        by_meter: dict[int, list[StoredReading]] = {m.id: [] for m in meters}
        for reading in readings:
            by_meter.setdefault(reading.meter_id, []).append(reading)
        return [MeterHistory(m, by_meter[m.id]) for m in meters if not m.closed or by_meter[m.id]]


def _monthly_consumptions(readings: Sequence[RecentReading], zone: int) -> list[float]:
    """Consumption per month between consecutive readings (oldest first), the last six."""
    found = []
    for earlier, later in pairwise(readings):
        if zone >= len(earlier.values) or zone >= len(later.values):
            continue
        months = months_between(earlier.period, later.period)
        delta = later.values[zone] - earlier.values[zone]
        if months > 0 and delta >= 0:  # a drop is a replaced or rolled-over dial: no guide
            found.append(delta / months)
    return found[-RECENT_PERIODS:]
