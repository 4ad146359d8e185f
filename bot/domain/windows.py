"""Submission windows (окно приёма показаний): the days of the month readings are taken.

A window opens on `start_day` of a month and closes on `end_day` of the same month, or of the
next month when `end_day` is lower than `start_day` (the default 15 → 3). The window belongs to
the period of the month in which it opened. All dates are local dates in the bot's TIMEZONE; the
caller converts "now" before asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import NamedTuple

from bot.domain.periods import Period


class WindowDates(NamedTuple):
    """One concrete window: its period and its first and last day (both inclusive)."""

    period: Period
    opens: date
    closes: date


@dataclass(frozen=True)
class SubmissionWindow:
    start_day: int
    end_day: int

    def __post_init__(self) -> None:
        for name in ("start_day", "end_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
                raise ValueError(f"{name} must be a whole number from 1 to 31, got {value!r}")

    @classmethod
    def for_meter(
        cls, default: SubmissionWindow, start: int | None, end: int | None
    ) -> SubmissionWindow:
        """The meter's own days override the default; a day the meter leaves unset comes from it."""
        return _window(
            default.start_day if start is None else start,
            default.end_day if end is None else end,
        )

    @property
    def spans_two_months(self) -> bool:
        return self.end_day < self.start_day

    def bounds(self, period: Period) -> tuple[date, date]:
        """First and last day (inclusive) of the window that opens in `period`'s month.

        Days past a short month's end are clamped to its last day. When that clamping would put
        the closing day on (or after) the next window's opening day — start 31 → end 30 in a
        30-day month or in February — the window closes the day before the next one opens, so
        that every day belongs to one period at most.
        """
        return _bounds(self, period)

    def _bounds(self, period: Period) -> tuple[date, date]:
        opens = period.day(self.start_day)
        if not self.spans_two_months:
            return opens, period.day(self.end_day)
        following = period.next()
        closes = min(following.day(self.end_day), following.day(self.start_day) - timedelta(days=1))
        return opens, closes

    def dates(self, period: Period) -> WindowDates:
        opens, closes = self.bounds(period)
        return WindowDates(period, opens, closes)

    def period_for(self, day: date) -> Period | None:
        """The period whose window contains `day`, or None while no window is open.

        With 15 → 3, Dec 2 belongs to November and Jan 2 to December of the previous year.
        """
        return _period_for(self, day)

    def _period_for(self, day: date) -> Period | None:
        this_month = Period.of(day)
        # A two-month window that opened last month may still be open; windows never overlap.
        candidates = (this_month.prev(), this_month) if self.spans_two_months else (this_month,)
        for period in candidates:
            opens, closes = self.bounds(period)
            if opens <= day <= closes:
                return period
        return None

    def is_open(self, day: date) -> bool:
        return self.period_for(day) is not None

    def current(self, day: date) -> WindowDates | None:
        """The window open on `day`, if any."""
        period = self.period_for(day)
        return None if period is None else self.dates(period)

    def next_window(self, day: date) -> WindowDates:
        """The first window that opens strictly after `day`, whether or not one is open today."""
        period = Period.of(day)
        if self.bounds(period)[0] <= day:
            period = period.next()
        return self.dates(period)

    def current_or_next(self, day: date) -> WindowDates:
        """The window open on `day`, or else the next one to open (what a resident is told)."""
        current = self.current(day)
        return current if current is not None else self.next_window(day)

    def days_until_close(self, day: date) -> int | None:
        """Days from `day` to the open window's last day (0 on that day); None when closed."""
        current = self.current(day)
        return None if current is None else (current.closes - day).days

    def opens_on(self, day: date) -> bool:
        """`day` is the first day of a window (the "opening" reminder day)."""
        return self.bounds(Period.of(day))[0] == day

    def closes_in(self, day: date, days: int) -> bool:
        """The window open on `day` closes exactly `days` days later (the "closing" reminder)."""
        return self.days_until_close(day) == days


# Windows and periods are immutable values and there are few of them (the default and the
# meters' own days; this month and the next): every walk of every resident asks the same few
# questions, so the answers are kept (each costs ~15 µs of date arithmetic otherwise).
_CACHE_SIZE = 4096


@lru_cache(maxsize=_CACHE_SIZE)
def _window(start: int, end: int) -> SubmissionWindow:
    return SubmissionWindow(start, end)


@lru_cache(maxsize=_CACHE_SIZE)
def _bounds(window: SubmissionWindow, period: Period) -> tuple[date, date]:
    return window._bounds(period)


@lru_cache(maxsize=_CACHE_SIZE)
def _period_for(window: SubmissionWindow, day: date) -> Period | None:
    return window._period_for(day)
