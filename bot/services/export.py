"""Readings out to the billing system (SPEC §4 export) and the operators' figures (§3, §8).

`ExportService` serves the admin commands and History's CSV; the command line uses the
functions `export_period` and `collect_stats`, which build on the same parts.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, TextIO

from bot.clock import Clock
from bot.domain.models import ExportRow
from bot.domain.moments import from_db
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.services.excel import excel_csv_writer, sheets_closed_on_failure, text_cell
from bot.services.progress import ReadingProgress, collect_progress
from bot.services.stores import ReadingStore

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


def _local_moments(tz: tzinfo) -> Callable[[str], str]:
    """`_moment(from_db(text), tz)` for many texts, remembered per minute: a moment stored
    as `to_db` writes it shares its zone offset, so its local minute, with every other moment
    of the same minute (offsets and their changes fall on whole minutes), and only its
    seconds differ."""
    minutes: dict[str, tuple[str, str]] = {}

    def local(text: str) -> str:
        if len(text) != _STORED_LENGTH or not text.endswith("+00:00") or text[19] != ".":
            return _moment(from_db(text), tz)
        found = minutes.get(text[:16])
        if found is None:
            moment = from_db(text[:16] + ":00+00:00").astimezone(tz)
            offset = moment.utcoffset()
            if offset is None or offset.seconds % 60 or offset.microseconds:
                return _moment(from_db(text), tz)  # an offset in seconds (old local mean time)
            if len(minutes) >= _MINUTES_REMEMBERED:
                minutes.clear()
            iso = moment.isoformat(timespec="seconds")
            found = minutes[text[:16]] = (iso[:16], iso[19:])
        return found[0] + text[16:19] + found[1]

    return local


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


_STORED_LENGTH = len("2026-11-15T05:00:01.000000+00:00")  # what `to_db` writes
_MINUTES_REMEMBERED = 100_000


async def export_period(
    readings: ReadingStore, period: Period, out: TextIO, tz: tzinfo, *, excel: bool = False
) -> int:
    """The readings accepted for `period` as CSV into `out`; the number of rows written.
    ``excel``: `;`-separated with a BOM and CRLF, as a Russian-locale Excel opens it (§4
    `csv-excel`); ``out`` a file opened with newline=""."""
    writer = excel_csv_writer(out) if excel else csv.writer(out, lineterminator="\n")
    return await _write_period(readings, period, writer, tz)


async def _write_period(readings: ReadingStore, period: Period, writer: Any, tz: tzinfo) -> int:
    """The readings accepted for `period`, one row per meter (its current reading), through
    the csv ``writer``.

    Streamed: a million readings are read and written a chunk at a time, straight from the
    repository's rows to CSV (what `write_csv` writes, without an object per row between).
    """
    writer.writerow(EXPORT_HEADER)
    local = _local_moments(tz)
    written = 0
    # closed at once when writing fails (a full disk): not after the database has closed
    async with aclosing(readings.current_of_period(period)) as chunks:
        async for rows in chunks:
            # None is written as an empty cell, as `write_csv` writes an unknown zone
            writer.writerows((*row[:7], local(row[7]), row[8]) for row in rows)
            written += len(rows)
    return written


_COLUMN_WIDTHS = (14, 16, 12, 9, 11, 11, 11, 26, 14)  # characters, in EXPORT_HEADER's order


async def export_period_xlsx(readings: ReadingStore, period: Period, path: Path, tz: tzinfo) -> int:
    """The readings accepted for `period` as a workbook at ``path`` (§4 `xlsx`): the CSV's
    columns on one sheet named after the period; account and meter as text cells (their
    leading zeros kept), t1..t3 as numbers, submitted_at as the CSV's ISO 8601 text (an Excel
    date has no zone offset: the text keeps it, and equals what the CSV and the billing
    webhook carry). The number of rows written.

    Streamed: a write-only workbook writes each row to a temporary file as it comes, so a
    million rows never stand in memory as a sheet; `save` packs that file into ``path``.
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(period))
    for column, width in enumerate(_COLUMN_WIDTHS, 1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    local = _local_moments(tz)
    written = 0
    with sheets_closed_on_failure(book):
        sheet.append(EXPORT_HEADER)
        async with aclosing(readings.current_of_period(period)) as chunks:
            async for rows in chunks:
                for account, serial, resource, shown, t1, t2, t3, submitted_at, receipt in rows:
                    sheet.append(
                        (
                            text_cell(sheet, account),
                            text_cell(sheet, serial),
                            resource,
                            shown,
                            _number(t1),
                            _number(t2),
                            _number(t3),
                            local(submitted_at),
                            receipt,
                        )
                    )
                written += len(rows)
        book.save(path)
    return written


def _number(value: int | str | None) -> int | None:
    """A zone's value as a number cell; PostgreSQL's COPY gives it as text, "" when absent."""
    return None if value is None or value == "" else int(value)


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
    readings: ReadingStore,
    period: Period | None,
    today: date,
    *,
    window: SubmissionWindow = DEFAULT_WINDOW,
) -> Stats:
    """Figures for `period`; None means the open window's period, else the last one's."""
    return await _stats(readings, period or default_period(window, today))


async def _stats(readings: ReadingStore, period: Period) -> Stats:
    counts = await readings.counts(period)
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


@dataclass(frozen=True, slots=True)
class PeriodExport:
    period: Period
    rows: int
    csv: bytes  # UTF-8


@dataclass(frozen=True, slots=True)
class PeriodFile:
    """The export as a document to send: the CSV itself, or a zip holding it."""

    period: Period
    rows: int
    name: str
    data: bytes
    zipped: bool


def zip_one(name: str, data: bytes) -> bytes:
    """A zip archive (deflate) holding ``data`` as the file ``name``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


class ExportService:
    """What operators and residents download, and the operators' figures."""

    def __init__(
        self, *, readings: ReadingStore, clock: Clock, tz: tzinfo, window: SubmissionWindow
    ) -> None:
        self.readings = readings
        self.clock = clock
        self.tz = tz
        self.window = window

    def _period_or_default(self, period: Period | None) -> Period:
        today = self.clock.now().astimezone(self.tz).date()
        return period if period is not None else default_period(self.window, today)

    async def stats(self, period: Period | None) -> Stats:
        """Figures for `period`; None means the open window's period, else the last one's."""
        return await _stats(self.readings, self._period_or_default(period))

    async def progress(self, period: Period, meters: int | None = None) -> ReadingProgress:
        """The chart's numbers: share read by each day of the window, `period` and the two
        before it, of `meters` (counted when not given)."""
        today = self.clock.now().astimezone(self.tz).date()
        return await collect_progress(
            self.readings, period, today, window=self.window, tz=self.tz, meters=meters
        )

    async def period_csv(self, period: Period | None) -> PeriodExport:
        """The §4 CSV of `period` (None: as for `stats`)."""
        wanted = self._period_or_default(period)
        out = io.StringIO()
        rows = await export_period(self.readings, wanted, out, self.tz)
        return PeriodExport(wanted, rows, out.getvalue().encode("utf-8"))

    async def period_file(self, period: Period | None, *, zip_over: int) -> PeriodFile:
        """The §4 CSV of `period` (None: as for `stats`) to send as a document; zipped when
        the CSV is larger than ``zip_over`` bytes (an upload limit)."""
        exported = await self.period_csv(period)
        name = f"readings-{exported.period}.csv"
        if len(exported.csv) <= zip_over:
            return PeriodFile(exported.period, exported.rows, name, exported.csv, zipped=False)
        # deflating some 100 MB is a second or two of CPU: off the event loop
        packed = await asyncio.to_thread(zip_one, name, exported.csv)
        zip_name = f"readings-{exported.period}.zip"
        return PeriodFile(exported.period, exported.rows, zip_name, packed, zipped=True)

    async def account_history_csv(self, account_id: int) -> bytes:
        """Every submission of an account's meters, corrections and replaced ones included."""
        rows = await self.readings.all_of_account(account_id)
        out = io.StringIO()
        write_csv(rows, out, self.tz, with_replaced=True)
        return out.getvalue().encode("utf-8")


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
