"""Readings out to the billing system (SPEC §4 export) and the operators' figures (§3, §8).

Usable from the command line and from the admin commands alike: plain functions of the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TextIO

from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.storage.db import Database
from bot.storage.readings import ExportRow, ReadingRepository

EXPORT_HEADER = (
    "account",
    "meter",
    "resource",
    "period",
    "t1",
    "t2",
    "t3",
    "submitted_at",
    "receipt",
)
HISTORY_HEADER = (*EXPORT_HEADER, "replaced_at")
DEFAULT_WINDOW = SubmissionWindow(15, 3)


def _moment(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def write_csv(
    rows: Iterable[ExportRow], out: TextIO, tz: tzinfo, *, with_replaced: bool = False
) -> int:
    """Write the §4 CSV (header first); returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_HEADER if with_replaced else EXPORT_HEADER)
    written = 0
    for row in rows:
        cells = [
            row.account,
            row.serial,
            row.resource,
            str(row.period),
            *(_cell(v) for v in row.values),
            _moment(row.submitted_at, tz),
            row.receipt,
        ]
        if with_replaced:
            cells.append("" if row.replaced_at is None else _moment(row.replaced_at, tz))
        writer.writerow(cells)
        written += 1
    return written


async def export_period(db: Database, period: Period, out: TextIO, tz: tzinfo) -> int:
    """The readings accepted for `period`, one row per meter (its current reading)."""
    rows = await ReadingRepository(db).current_of_period(period)
    return write_csv(rows, out, tz)


async def account_history_csv(db: Database, account_id: int, tz: tzinfo) -> bytes:
    """Every submission of an account's meters, corrections and replaced ones included."""
    rows = await ReadingRepository(db).all_of_account(account_id)
    out = io.StringIO()
    write_csv(rows, out, tz, with_replaced=True)
    return out.getvalue().encode("utf-8")


def default_period(window: SubmissionWindow, today: date) -> Period:
    """The period of the window open today, else of the last one that closed."""
    current = window.period_for(today)
    return current if current is not None else window.next_window(today).period.prev()


@dataclass(frozen=True, slots=True)
class Stats:
    period: Period
    linked_chats: int
    accounts: int
    linked_accounts: int
    meters: int
    meters_with_reading: int
    submissions: int  # every submission for the period, corrections included
    corrections: int  # submissions later replaced by another

    @property
    def share(self) -> float:
        """Share of meters with a reading for the period, 0..1."""
        return self.meters_with_reading / self.meters if self.meters else 0.0


async def collect_stats(
    db: Database,
    period: Period | None,
    today: date,
    *,
    window: SubmissionWindow = DEFAULT_WINDOW,
) -> Stats:
    """Figures for `period`; None means the open window's period, else the last one's."""
    if period is None:
        period = default_period(window, today)
    counts = await ReadingRepository(db).counts(period)
    return Stats(
        period=period,
        linked_chats=counts.linked_chats,
        accounts=counts.accounts,
        linked_accounts=counts.linked_accounts,
        meters=counts.meters,
        meters_with_reading=counts.meters_with_reading,
        submissions=counts.submissions,
        corrections=counts.corrections,
    )


def format_share(stats: Stats) -> str:
    return f"{stats.share * 100:.1f}%"


def format_stats(stats: Stats) -> str:
    """Plain text for the command line."""
    return "\n".join(
        [
            f"period:               {stats.period}",
            f"linked chats:         {stats.linked_chats}",
            f"accounts:             {stats.accounts} ({stats.linked_accounts} linked)",
            f"meters:               {stats.meters}",
            f"meters with reading:  {stats.meters_with_reading} ({format_share(stats)})",
            f"submissions:          {stats.submissions} ({stats.corrections} replaced)",
        ]
    )
