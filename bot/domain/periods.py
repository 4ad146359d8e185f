"""Billing periods: one calendar month, written YYYY-MM (расчётный период)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

# re.ASCII keeps \d to 0-9: "２０２６-11" (fullwidth) is not a period.
_PERIOD_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


@dataclass(frozen=True, order=True)
class Period:
    """A billing period; ordered by year, then month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year out of range: {self.year}")
        if not 1 <= self.month <= 12:
            raise ValueError(f"month out of range: {self.month}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read "YYYY-MM"; raise ValueError on anything else."""
        match = _PERIOD_RE.fullmatch(text)
        if match is None:
            raise ValueError(f"not a period (YYYY-MM): {text!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Period:
        """The period (calendar month) that contains `day`."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Period:
        if self.month == 12:
            return Period(self.year + 1, 1)
        return Period(self.year, self.month + 1)

    def prev(self) -> Period:
        if self.month == 1:
            return Period(self.year - 1, 12)
        return Period(self.year, self.month - 1)

    @property
    def length(self) -> int:
        """Number of days in the month."""
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, self.length)

    def day(self, day_of_month: int) -> date:
        """The given day of this month, clamped to its last day (31 in February → 28/29)."""
        return date(self.year, self.month, min(day_of_month, self.length))
