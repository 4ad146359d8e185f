"""Loading accounts and meters from the billing system's file (SPEC §3, §4).

The file is checked completely before anything is written: first each row on its own (the
parsing below is pure), then across rows (a meter twice in one account, an account with two
phones) in a private staging database, so memory stays flat for millions of rows. Only then are
accounts and meters upserted into the bot's database, a batch per transaction. An import never
deletes anything and never touches submitted readings.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import aiosqlite

from bot.domain.models import Resource
from bot.domain.phone import InvalidPhone, normalize_phone
from bot.storage import imports
from bot.storage.db import Database
from bot.storage.timestamps import to_db

__all__ = [
    "COLUMNS",
    "DEFAULT_ACCOUNT_PATTERN",
    "REQUIRED_COLUMNS",
    "FileCheck",
    "ImportReport",
    "ImportRow",
    "RowError",
    "check_file",
    "format_report",
    "import_file",
    "parse_rows",
]

DEFAULT_ACCOUNT_PATTERN = re.compile(r"^\d{6,12}$")

COLUMNS = (
    "account",
    "phone",
    "address",
    "meter",
    "resource",
    "tariffs",
    "digits",
    "last_t1",
    "last_t2",
    "last_t3",
    "last_date",
    "verified_until",
    "window_start",
    "window_end",
)
REQUIRED_COLUMNS = ("account", "phone", "meter", "resource")
RESOURCES = tuple(resource.value for resource in Resource)
MULTI_TARIFF_RESOURCES = frozenset({Resource.ELECTRICITY.value})

BATCH_SIZE = 5_000  # rows per write transaction
STAGE_BATCH_SIZE = 10_000  # rows per insert into the staging database
MAX_SERIAL_LENGTH = 64
MAX_ADDRESS_LENGTH = 500
MAX_READING_DIGITS = 9  # what a resident may type when the meter does not say (SPEC §6)
FUTURE_SLACK = timedelta(days=1)  # `now` may be UTC while the billing system writes local dates
_PHONE_CACHE_SIZE = 100_000

_READING = re.compile(r"([0-9]+)(?:[.,][0-9]*)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True, slots=True)
class RowError:
    """A reason the operator must fix; ``line`` is the physical line (header = 1), or None when
    the whole file is refused."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.line is None else f"line {self.line}: {self.message}"


class ImportRow(NamedTuple):
    """One row that passed its own checks, normalised (phone in E.164, dates as ISO text)."""

    line: int
    account: str
    phone: str
    address: str | None
    serial: str
    resource: str
    tariffs: int
    digits: int | None
    verified_until: str | None
    window_start: int | None
    window_end: int | None
    last_t1: int | None
    last_t2: int | None
    last_t3: int | None
    last_date: str | None


assert ImportRow._fields == imports.STAGED_FIELDS


@dataclass
class ImportReport:
    rows: int = 0  # data rows in the file (blank lines not counted)
    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_unchanged: int = 0
    meters_created: int = 0
    meters_updated: int = 0
    meters_unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    imported: bool = False  # False: nothing was written

    @property
    def unchanged(self) -> int:
        """Accounts and meters the file left exactly as they were."""
        return self.accounts_unchanged + self.meters_unchanged

    @property
    def bad_rows(self) -> int:
        return sum(1 for error in self.errors if error.line is not None)


@dataclass
class FileCheck:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """The file as a whole cannot be read (no header, a missing column): nothing to import."""
        return any(error.line is None for error in self.errors)


# --- reading the file (pure) ------------------------------------------------------------------


def _decoded(lines: Iterable[bytes], undecodable: list[int]) -> Iterator[str]:
    """The file's lines as text; numbers of lines that are not UTF-8 go to ``undecodable``."""
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.append(number)
            yield raw.decode("utf-8", "replace")


def _header_positions(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        name = cell.strip().lower()
        if name not in COLUMNS:
            continue  # extra columns are ignored
        if name in positions:
            errors.append(
                RowError(
                    None,
                    f"column {name} appears twice (columns {positions[name] + 1} and {index + 1})",
                )
            )
        else:
            positions[name] = index
    if not positions:
        errors.append(
            RowError(
                None,
                "the first line must be the header, naming the columns: " + ", ".join(COLUMNS),
            )
        )
    errors.extend(
        RowError(None, f"missing column: {name}")
        for name in REQUIRED_COLUMNS
        if name not in positions
    )
    return positions, errors


def parse_rows(
    lines: Iterable[bytes], *, account_pattern: re.Pattern[str], today: date
) -> Iterator[ImportRow | RowError]:
    """Each data row of the file, checked on its own, in file order: the normalised row, or why
    it is bad. A file that cannot be read at all yields errors with ``line=None`` and stops.
    Blank lines are skipped. Checks across rows are :func:`check_file`'s."""
    undecodable: list[int] = []
    text = _decoded(lines, undecodable)
    header_line = next(text, "")
    if not header_line.strip():
        yield RowError(None, "the file is empty; its first line must be the header")
        return
    if undecodable:
        yield RowError(None, "the file is not UTF-8 text; save it as UTF-8 and try again")
        return
    # csv.Sniffer guesses wrong on short files; the header decides.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header = next(csv.reader([header_line], delimiter=delimiter))
    positions, errors = _header_positions(header)
    if errors:
        yield from errors
        return

    parse = _RowParser(positions, len(header), delimiter, account_pattern, today).parse
    reader = csv.reader(text, delimiter=delimiter)
    end = 1  # the physical line the previous record ended on
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num + 1
            yield RowError(start, f"cannot read the row: {exc}")
            continue
        end = reader.line_num + 1
        if undecodable and undecodable[-1] >= start:
            yield RowError(start, "the line is not UTF-8 text; save the file as UTF-8")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if end > start and any("\n" in cell or "\r" in cell for cell in cells):
            yield RowError(
                start, f"a quoted value runs on to line {end}; is a closing quote missing?"
            )
            continue
        yield parse(start, cells)


def _small_number(text: str, low: int, high: int) -> int | None:
    if len(text) <= 2 and text.isascii() and text.isdigit():
        value = int(text)
        if low <= value <= high:
            return value
    return None


def _date(name: str, text: str, problems: list[str]) -> str | None:
    if not text:
        return None
    if not _DATE.fullmatch(text):
        problems.append(f'{name} "{text}" is not a date in the form YYYY-MM-DD')
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        problems.append(f'{name} "{text}" is not a real date')
        return None
    return text


class _RowParser:
    """Checks one row on its own. Built once per file: the column positions are resolved here."""

    def __init__(
        self,
        positions: dict[str, int],
        width: int,
        delimiter: str,
        account_pattern: re.Pattern[str],
        today: date,
    ) -> None:
        self.width = width
        self.delimiter = delimiter
        # An absent optional column reads the empty cell appended after the last real one.
        self.index = {name: positions.get(name, width) for name in COLUMNS}
        self.account_pattern = account_pattern
        self.latest_date = (today + FUTURE_SLACK).isoformat()
        self._phones: dict[str, str | InvalidPhone] = {}

    def _phone(self, text: str) -> str | InvalidPhone:
        # The rows of one account repeat its phone; normalising is the slow part of a row.
        cached = self._phones.get(text)
        if cached is None:
            if len(self._phones) >= _PHONE_CACHE_SIZE:
                self._phones.clear()
            try:
                cached = normalize_phone(text)
            except InvalidPhone as exc:
                cached = exc
            self._phones[text] = cached
        return cached

    def parse(self, line: int, cells: list[str]) -> ImportRow | RowError:
        width = self.width
        if len(cells) > width:
            if any(cell.strip() for cell in cells[width:]):
                return RowError(
                    line,
                    f"{len(cells)} cells but the header has {width}; is there a "
                    f'"{self.delimiter}" inside a value that is not in quotes?',
                )
            cells = cells[:width]
        cells = [*cells, *[""] * (width + 1 - len(cells))]  # short rows: the rest is empty
        index = self.index
        problems: list[str] = []

        account = cells[index["account"]].strip()
        if not account:
            problems.append("account is empty")
        elif not self.account_pattern.fullmatch(account):
            problems.append(
                f'account "{account}" is not a well-formed account number '
                f"(ACCOUNT_NUMBER_PATTERN {self.account_pattern.pattern})"
            )

        phone_text = cells[index["phone"]].strip()
        phone = ""
        if not phone_text:
            problems.append("phone is empty")
        else:
            normalized = self._phone(phone_text)
            if isinstance(normalized, InvalidPhone):
                problems.append(f'phone "{phone_text}": {normalized}')
            else:
                phone = normalized

        address = cells[index["address"]].strip() or None
        if address is not None and len(address) > MAX_ADDRESS_LENGTH:
            problems.append(f"address is longer than {MAX_ADDRESS_LENGTH} characters")

        serial = cells[index["meter"]].strip()
        if not serial:
            problems.append("meter (the serial number) is empty")
        elif len(serial) > MAX_SERIAL_LENGTH:
            problems.append(f"meter is longer than {MAX_SERIAL_LENGTH} characters")

        resource = cells[index["resource"]].strip().lower()
        if resource not in RESOURCES:
            shown = f'"{resource}" ' if resource else "(empty) "
            problems.append(f"resource {shown}is not one of {', '.join(RESOURCES)}")

        text = cells[index["tariffs"]].strip()
        tariffs = _small_number(text, 1, 3) if text else 1
        if tariffs is None:
            problems.append(f'tariffs "{text}" is not 1, 2 or 3')
        elif tariffs > 1 and resource in RESOURCES and resource not in MULTI_TARIFF_RESOURCES:
            problems.append(
                f"tariffs is {tariffs} but only electricity meters have more than one zone"
            )

        text = cells[index["digits"]].strip()
        digits = _small_number(text, 1, MAX_READING_DIGITS) if text else None
        if text and digits is None:
            problems.append(f'digits "{text}" is not a whole number from 1 to {MAX_READING_DIGITS}')
        most_digits = digits or MAX_READING_DIGITS

        last: list[int | None] = []
        given: list[bool] = []  # a bad value counts as given: its own problem is reported
        for zone in (1, 2, 3):
            name = f"last_t{zone}"
            text = cells[index[name]].strip()
            given.append(bool(text))
            value = None
            if text:
                match = _READING.fullmatch(text)
                if match is None:
                    problems.append(f'{name} "{text}" is not a reading (a whole number, >= 0)')
                else:
                    whole = match.group(1).lstrip("0") or "0"
                    if len(whole) > most_digits:
                        problems.append(f"{name} {whole} has more than {most_digits} digits")
                    else:
                        value = int(whole)  # a fraction is dropped, as for residents (§6)
            last.append(value)
        if tariffs is not None:
            for zone in range(tariffs + 1, 4):
                if given[zone - 1]:
                    zones = "zone" if tariffs == 1 else "zones"
                    problems.append(f"last_t{zone} is given but the meter has {tariffs} {zones}")
            if any(given[:tariffs]) and not all(given[:tariffs]):
                missing = [f"last_t{zone}" for zone in range(1, tariffs + 1) if not given[zone - 1]]
                problems.append(
                    f"{', '.join(missing)} missing: a {tariffs}-zone meter needs "
                    f"last_t1..last_t{tariffs} all together, or none"
                )
        has_last = any(given)

        last_date = _date("last_date", cells[index["last_date"]].strip(), problems)
        if last_date is not None:
            if not has_last:
                problems.append("last_date is given without last_t1")
            elif last_date > self.latest_date:
                problems.append(f"last_date {last_date} is in the future")
        elif has_last and not cells[index["last_date"]].strip():
            problems.append("last_date is missing: it is required with last_t1")

        verified_until = _date("verified_until", cells[index["verified_until"]].strip(), problems)

        window: list[int | None] = []
        for name in ("window_start", "window_end"):
            text = cells[index[name]].strip()
            day = _small_number(text, 1, 31) if text else None
            if text and day is None:
                problems.append(f'{name} "{text}" is not a day of the month from 1 to 31')
            window.append(day)
        starts, ends = (cells[index[name]].strip() for name in ("window_start", "window_end"))
        if bool(starts) != bool(ends):
            problems.append("window_start and window_end go together: give both or neither")

        if problems:
            return RowError(line, "; ".join(problems))
        return ImportRow(
            line,
            account,
            phone,
            address,
            serial,
            resource,
            tariffs if tariffs is not None else 1,  # never None here: that is a problem
            digits,
            verified_until,
            window[0],
            window[1],
            last[0],
            last[1],
            last[2],
            last_date,
        )


# --- checking the whole file --------------------------------------------------------------------


def _check_into(
    path: Path,
    staging: imports.ImportStaging,
    *,
    account_pattern: re.Pattern[str],
    today: date,
) -> FileCheck:
    """Read and check the whole file; rows that pass every check stay in ``staging``."""
    check = FileCheck()
    local: list[RowError] = []
    batch: list[ImportRow] = []
    try:
        with path.open("rb") as binary:
            for item in parse_rows(binary, account_pattern=account_pattern, today=today):
                if isinstance(item, ImportRow):
                    batch.append(item)
                    if len(batch) >= STAGE_BATCH_SIZE:
                        staging.add(batch)
                        batch.clear()
                    check.rows += 1
                elif item.line is None:
                    local.append(item)  # the file is refused; parse_rows stops after these
                else:
                    local.append(item)
                    check.rows += 1
    except OSError as exc:
        check.errors = [RowError(None, f"cannot read {path}: {exc.strerror or exc}")]
        return check
    if any(error.line is None for error in local):
        check.errors = local
        return check
    staging.add(batch)

    across: dict[int, list[str]] = {}
    for line, first, account, serial in staging.duplicate_meters():
        across.setdefault(line, []).append(
            f'meter "{serial}" of account {account} is already on line {first}'
        )
    for line, first, account, phone_differs, address_differs in staging.account_conflicts():
        what = " and ".join(
            name
            for name, differs in (("phone", phone_differs), ("address", address_differs))
            if differs
        )
        across.setdefault(line, []).append(
            f"account {account} has a different {what} on line {first}; "
            "every row of an account must repeat the same phone and address"
        )
    staging.drop(across)
    check.errors = sorted(
        [*local, *(RowError(line, "; ".join(reasons)) for line, reasons in across.items())],
        key=lambda error: error.line or 0,
    )
    return check


def check_file(
    path: Path,
    *,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
    today: date,
) -> FileCheck:
    """Check a file without importing it: every bad row with its reason."""
    staging = imports.ImportStaging()
    try:
        return _check_into(path, staging, account_pattern=account_pattern, today=today)
    finally:
        staging.close()


# --- loading ------------------------------------------------------------------------------------


async def _load_batch(
    conn: aiosqlite.Connection, batch: list[tuple[Any, ...]], report: ImportReport, now: str
) -> None:
    """Upsert one batch of staged rows (STAGED_FIELDS + "first row of its account" flag)."""
    numbers = {row[1] for row in batch}
    known = await imports.existing_accounts(conn, numbers)
    accounts: list[tuple[str, str, str | None]] = []
    for row in batch:
        if not row[-1]:
            continue  # the account's first row carries it
        number, phone, address = row[1], row[2], row[3]
        before = known.get(number)
        if before is None:
            report.accounts_created += 1
        elif (before[1], before[2]) != (phone, address):
            report.accounts_updated += 1
        else:
            report.accounts_unchanged += 1
            continue
        accounts.append((number, phone, address))
    if accounts:
        await imports.upsert_accounts(conn, accounts, now)

    ids = {number: before[0] for number, before in known.items()}
    meters_before = await imports.existing_meters(conn, ids.values()) if ids else {}
    if len(ids) < len(numbers):
        ids.update(await imports.account_ids(conn, numbers - ids.keys()))

    meters: list[tuple[int, str, imports.MeterValues]] = []
    for row in batch:
        account_id, serial, values = ids[row[1]], row[4], row[5:-1]
        before_values = meters_before.get((account_id, serial))
        if before_values is None:
            report.meters_created += 1
        elif before_values != values:
            report.meters_updated += 1
        else:
            report.meters_unchanged += 1
            continue
        meters.append((account_id, serial, values))
    if meters:
        await imports.upsert_meters(conn, meters)


def _prepare_load(staging: imports.ImportStaging) -> int:
    staging.mark_first_rows()
    return staging.count()


async def import_file(
    db: Database,
    path: Path,
    *,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
    now: datetime,
) -> ImportReport:
    """Check the whole file, then (when it is clean, or ``skip_invalid``) upsert its accounts
    and meters in batches, calling ``progress(rows written, rows to write)`` after each."""
    staging = imports.ImportStaging()
    try:
        # Reading and checking is CPU work: a thread keeps the event loop answering meanwhile.
        check = await asyncio.to_thread(
            _check_into, path, staging, account_pattern=account_pattern, today=now.date()
        )
        report = ImportReport(rows=check.rows, errors=check.errors)
        if check.refused or (check.errors and not skip_invalid):
            return report

        total = await asyncio.to_thread(_prepare_load, staging)
        stamp = to_db(now)
        done = 0
        if progress is not None:
            progress(0, total)
        for batch in staging.batches(BATCH_SIZE):
            async with db.transaction() as conn:
                await _load_batch(conn, batch, report, stamp)
            done += len(batch)
            if progress is not None:
                progress(done, total)
        report.imported = True
        return report
    finally:
        staging.close()


def format_report(report: ImportReport) -> str:
    """What the operator reads after ``python -m bot import``: every bad row, then the outcome."""
    lines = [str(error) for error in report.errors]
    bad = report.bad_rows
    if not report.imported:
        if any(error.line is None for error in report.errors):
            lines.append("Nothing was imported.")
        else:
            lines.append(
                f"{bad} of {report.rows} rows are bad; nothing was imported. Fix them, or run "
                "again with --skip-invalid to import the good rows."
            )
        return "\n".join(lines)
    lines.append(
        f"Accounts: {report.accounts_created} created, {report.accounts_updated} updated, "
        f"{report.accounts_unchanged} unchanged."
    )
    lines.append(
        f"Meters: {report.meters_created} created, {report.meters_updated} updated, "
        f"{report.meters_unchanged} unchanged."
    )
    if bad:
        lines.append(f"{bad} of {report.rows} rows are bad and were skipped.")
    return "\n".join(lines)
