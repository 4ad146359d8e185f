"""How the readings come in over a window, for the operators' chart (/stats, `stats --chart`):
the share of meters read by the end of each day of the window, a period against the two
before it. The numbers only; bot/charts.py draws them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.services.stores import ReadingStore

PERIODS_SHOWN = 3  # the period asked, and the two before it


@dataclass(frozen=True, slots=True)
class PeriodProgress:
    period: Period
    days: int  # the window's length in days
    shares: tuple[float, ...]  # 0..1, by the end of day 1, 2, … of the window; up to today


@dataclass(frozen=True, slots=True)
class ReadingProgress:
    meters: int  # meters now: each period's share is of these
    periods: tuple[PeriodProgress, ...]  # the period asked first, then the ones before

    @property
    def days(self) -> int:
        """The longest of the windows: the chart's width."""
        return max(p.days for p in self.periods)


def day_ends(window: SubmissionWindow, period: Period, today: date, tz: tzinfo) -> list[datetime]:
    """The end (local midnight after) of each day of the period's window, up to today's."""
    opens, closes = window.bounds(period)
    last = min(closes, today)
    days = (last - opens).days + 1
    return [
        datetime.combine(opens + timedelta(days=n), time(), tzinfo=tz) for n in range(1, days + 1)
    ]


async def collect_progress(
    readings: ReadingStore,
    period: Period,
    today: date,
    *,
    window: SubmissionWindow,
    tz: tzinfo,
    meters: int | None = None,
) -> ReadingProgress:
    """The share read by each day of `period`'s window and of the PERIODS_SHOWN - 1 before.

    Days are local (TIMEZONE) days of the default window; a reading counts from its meter's
    first submission for the period (a correction does not move it). A meter with a window of
    its own that opens before the default counts on day 1; one read after the default window
    has closed shows only in the final share of /stats, not on the chart. `meters`, when
    the caller has just counted them (/stats has), saves counting them again.
    """
    if meters is None:
        meters = (await readings.counts(period)).meters
    shown = []
    for _ in range(PERIODS_SHOWN):
        opens, closes = window.bounds(period)
        read = await readings.meters_read_by(period, day_ends(window, period, today, tz))
        shares = tuple(min(n / meters, 1.0) if meters else 0.0 for n in read)
        shown.append(PeriodProgress(period, (closes - opens).days + 1, shares))
        period = period.prev()
    return ReadingProgress(meters, tuple(shown))
