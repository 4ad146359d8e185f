"""Loading accounts and meters from the billing system's file (SPEC §3, §4).

The whole file is checked before anything is written: each row on its own (pure parsing), then
across rows (a meter twice in one account, an account with two phones). Rows that pass wait in a
scratch SQLite file with no name (see _Stage); only then are accounts and meters upserted into
the bot's database from it, all in one transaction, so an import is all or nothing. An import
never deletes an account, a meter or a submitted reading.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import json
import marshal
import operator
import re
import sqlite3
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

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

DEFAULT_ACCOUNT_PATTERN = re.compile(r"^\d{6,12}$", re.ASCII)

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
_RESOURCE_SET = frozenset(RESOURCES)
MULTI_TARIFF_RESOURCES = frozenset({Resource.ELECTRICITY.value})

BATCH_SIZE = 5_000  # rows per pair of upsert statements (and per progress report)
MAX_SERIAL_LENGTH = 64
MAX_ADDRESS_LENGTH = 500
MAX_READING_DIGITS = 9  # what a resident may type when the meter does not say (SPEC §6)
FUTURE_SLACK = timedelta(days=1)  # `now` may be UTC while the billing system writes local dates
_CACHE_SIZE = 100_000  # entries in the per-file caches of normalised phones and dates

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


@dataclass
class ImportReport:
    rows: int = 0  # data rows in the file (blank lines not counted)
    accounts_created: int = 0
    accounts_updated: int = 0
    accounts_unchanged: int = 0
    meters_created: int = 0
    meters_updated: int = 0
    meters_unchanged: int = 0
    links_ended: int = 0  # chats unlinked from accounts whose phone changed (each is told)
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
    rows: int = 0  # data rows in the file (blank lines not counted)
    errors: list[RowError] = field(default_factory=list)
    spooled: int = 0  # rows that passed their own checks
    skip: set[int] = field(default_factory=set)  # lines of those that failed a check across rows

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
    for item in _parse(lines, account_pattern=account_pattern, today=today):
        yield ImportRow._make(item) if type(item) is tuple else item


def _parse(
    lines: Iterable[bytes], *, account_pattern: re.Pattern[str], today: date
) -> Iterator[tuple[Any, ...] | RowError]:
    """:func:`parse_rows` with plain tuples, for speed."""
    undecodable: list[int] = []
    text = _decoded(lines, undecodable)
    header_line = next(text, "")
    if not header_line.strip():
        yield RowError(None, "the file is empty; its first line must be the header")
        return
    if undecodable:
        yield _not_utf8(1)
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
    rows = 0
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            if undecodable:
                yield _not_utf8(undecodable[0])  # on the last line, after the record
            elif not rows:
                yield RowError(None, "the file has a header but no rows")
            return
        except csv.Error as exc:
            end = reader.line_num + 1
            rows += 1
            yield RowError(start, f"cannot read the row: {exc}")
            continue
        end = reader.line_num + 1
        if undecodable:
            # another encoding (Windows-1251, say): the file is refused, not every line
            yield _not_utf8(undecodable[0])
            return
        if not (cells and cells[0].strip()) and not "".join(cells).strip():
            continue  # a blank line, or nothing but separators
        rows += 1
        if end > start and any("\n" in cell or "\r" in cell for cell in cells):
            yield RowError(
                start, f"a quoted value runs on to line {end}; is a closing quote missing?"
            )
            continue
        yield parse(start, cells)


def _not_utf8(line: int) -> RowError:
    return RowError(
        None, f"the file is not UTF-8 text (line {line} is not); save it as UTF-8 and try again"
    )


_TARIFFS = {"": 1, "1": 1, "2": 2, "3": 3}
_DIAL_DIGITS = {str(n): n for n in range(1, MAX_READING_DIGITS + 1)}
_DAYS = {**{str(n): n for n in range(1, 32)}, **{f"{n:02d}": n for n in range(1, 10)}}


class _RowParser:
    """Checks one row on its own. Built once per file: the column positions are resolved here.
    This runs once per meter of a million-account file, hence the plain, flat code."""

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
        self.pick = operator.itemgetter(*(positions.get(name, width) for name in COLUMNS))
        self.account_pattern = account_pattern
        self.latest_date = (today + FUTURE_SLACK).isoformat()
        self._phones: dict[str, str | InvalidPhone] = {}
        self._dates: dict[str, str | None] = {"": None}  # valid dates; empty = unknown
        # an account's rows come together: its number is checked once for all of them
        self._last_account: str | None = None
        self._last_account_problem: str | None = None

    def _phone(self, text: str) -> str | InvalidPhone:
        # The rows of one account repeat its phone, and normalising is the slow part of a row.
        cached = self._phones.get(text)
        if cached is None:
            if len(self._phones) >= _CACHE_SIZE:
                self._phones.clear()
            try:
                cached = normalize_phone(text)
            except InvalidPhone as exc:
                cached = exc
            self._phones[text] = cached
        return cached

    def _date(self, name: str, text: str, problems: list[str]) -> str | None:
        """``text`` when it is a real YYYY-MM-DD date (remembered), else None and a problem."""
        if not _DATE.fullmatch(text):
            problems.append(f'{name} "{text}" is not a date in the form YYYY-MM-DD')
            return None
        try:
            date.fromisoformat(text)
        except ValueError:
            problems.append(f'{name} "{text}" is not a real date')
            return None
        if len(self._dates) >= _CACHE_SIZE:
            self._dates = {"": None}
        self._dates[text] = text
        return text

    def parse(self, line: int, cells: list[str]) -> tuple[Any, ...] | RowError:
        """The row as a tuple in ImportRow's order, or why it is bad."""
        width = self.width
        if len(cells) != width:
            if len(cells) > width:
                if any(cell.strip() for cell in cells[width:]):
                    return RowError(
                        line,
                        f"{len(cells)} cells but the header has {width}; is there a "
                        f'"{self.delimiter}" inside a value that is not in quotes?',
                    )
                del cells[width:]
            else:
                cells.extend([""] * (width - len(cells)))  # short rows: the rest is empty
        cells.append("")
        (
            account,
            phone_text,
            address,
            serial,
            resource,
            tariffs_text,
            digits_text,
            t1_text,
            t2_text,
            t3_text,
            last_date_text,
            verified_text,
            start_text,
            end_text,
        ) = map(str.strip, self.pick(cells))
        problems: list[str] = []

        if account != self._last_account:
            self._last_account = account
            if not account:
                self._last_account_problem = "account is empty"
            elif not self.account_pattern.fullmatch(account):
                self._last_account_problem = (
                    f'account "{account}" is not a well-formed account number '
                    f"(ACCOUNT_NUMBER_PATTERN {self.account_pattern.pattern})"
                )
            else:
                self._last_account_problem = None
        if self._last_account_problem is not None:
            problems.append(self._last_account_problem)

        phone = self._phones.get(phone_text) or (self._phone(phone_text) if phone_text else None)
        if phone is None:
            problems.append("phone is empty")
        elif isinstance(phone, InvalidPhone):
            problems.append(f'phone "{phone_text}": {phone}')

        if len(address) > MAX_ADDRESS_LENGTH:
            problems.append(f"address is longer than {MAX_ADDRESS_LENGTH} characters")

        if not serial:
            problems.append("meter (the serial number) is empty")
        elif len(serial) > MAX_SERIAL_LENGTH:
            problems.append(f"meter is longer than {MAX_SERIAL_LENGTH} characters")

        if resource not in _RESOURCE_SET:
            shown = f'"{resource}" ' if resource else "(empty) "
            resource = resource.lower()
            if resource not in _RESOURCE_SET:
                problems.append(f"resource {shown}is not one of {', '.join(RESOURCES)}")

        tariffs = _TARIFFS.get(tariffs_text)
        if tariffs is None:
            problems.append(f'tariffs "{tariffs_text}" is not 1, 2 or 3')
        elif tariffs > 1 and resource in _RESOURCE_SET and resource not in MULTI_TARIFF_RESOURCES:
            problems.append(
                f"tariffs is {tariffs} but only electricity meters have more than one zone"
            )

        digits = _DIAL_DIGITS.get(digits_text)
        if digits_text and digits is None:
            problems.append(
                f'digits "{digits_text}" is not a whole number from 1 to {MAX_READING_DIGITS}'
            )

        last: list[int | None] = [None, None, None]
        if (
            tariffs == 1
            and not t2_text
            and not t3_text
            and t1_text.isdigit()
            and t1_text.isascii()
            and len(t1_text) <= (digits or MAX_READING_DIGITS)
        ):
            # the usual row, in short: one zone, a whole number that fits the dial
            last[0] = int(t1_text)
            if not last_date_text:
                problems.append("last_date is missing: it is required with last_t1")
        elif t1_text or t2_text or t3_text:
            most_digits = digits or MAX_READING_DIGITS
            for zone, text in enumerate((t1_text, t2_text, t3_text)):
                if not text:
                    continue
                if text.isdigit() and text.isascii():
                    whole = text
                else:
                    match = _READING.fullmatch(text)
                    if match is None:
                        problems.append(
                            f'last_t{zone + 1} "{text}" is not a reading (a whole number >= 0)'
                        )
                        continue
                    whole = match.group(1)  # a fraction is dropped, as for residents (§6)
                if len(whole) > most_digits:
                    whole = whole.lstrip("0") or "0"
                    if len(whole) > most_digits:
                        problems.append(
                            f"last_t{zone + 1} {whole} has more than {most_digits} digits"
                        )
                        continue
                last[zone] = int(whole)
            if tariffs is not None:
                given = (bool(t1_text), bool(t2_text), bool(t3_text))
                for zone in range(tariffs, 3):
                    if given[zone]:
                        zones = "zone" if tariffs == 1 else "zones"
                        problems.append(
                            f"last_t{zone + 1} is given but the meter has {tariffs} {zones}"
                        )
                if tariffs == 1 and not given[0]:
                    problems.append("last_t1 is missing")
                elif not all(given[:tariffs]):
                    missing = [f"last_t{z + 1}" for z in range(tariffs) if not given[z]]
                    problems.append(
                        f"{', '.join(missing)} missing: a {tariffs}-zone meter needs "
                        f"last_t1..last_t{tariffs} all together, or none"
                    )
            if not last_date_text:
                problems.append("last_date is missing: it is required with last_t1")
        elif last_date_text:
            problems.append("last_date is given without last_t1")
        dates = self._dates
        last_date = (
            dates[last_date_text]
            if last_date_text in dates
            else self._date("last_date", last_date_text, problems)
        )
        if last_date is not None and last_date > self.latest_date:
            problems.append(f"last_date {last_date} is in the future")

        verified_until = (
            dates[verified_text]
            if verified_text in dates
            else self._date("verified_until", verified_text, problems)
        )

        window_start = _DAYS.get(start_text)
        window_end = _DAYS.get(end_text)
        if start_text or end_text:
            for name, text, day in (
                ("window_start", start_text, window_start),
                ("window_end", end_text, window_end),
            ):
                if text and day is None:
                    problems.append(f'{name} "{text}" is not a day of the month from 1 to 31')
            if not (start_text and end_text):
                problems.append("window_start and window_end go together: give both or neither")

        if problems:
            return RowError(line, "; ".join(problems))
        return (
            line,
            account,
            phone,
            address or None,
            serial,
            resource,
            tariffs,
            digits,
            verified_until,
            window_start,
            window_end,
            last[0],
            last[1],
            last[2],
            last_date,
        )


# --- checking the whole file --------------------------------------------------------------------

_MASK32 = (1 << 32) - 1
_NOTHING = object()
_MASK64 = (1 << 64) - 1


# The stage's writer: a bare interpreter (no site-packages) that opens the stage, says so with
# one byte on stdout, then reads marshalled batches from stdin, each after its size, and inserts
# them; its own process, so its own GIL. Its stdin's end (the importer gone) ends it.
_STAGE_WRITER = """
import marshal, sqlite3, struct, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = OFF")
conn.execute("PRAGMA synchronous = OFF")
conn.execute("SELECT count(*) FROM rows").fetchall()
sys.stdout.buffer.write(b"R")
sys.stdout.buffer.flush()
read, size = sys.stdin.buffer.read, struct.Struct("<Q")
while head := read(size.size):
    rows = marshal.loads(read(size.unpack(head)[0]))
    conn.execute("BEGIN")
    conn.executemany(sys.argv[2], rows)
    conn.execute("COMMIT")
conn.close()
"""
_LENGTH = struct.Struct("<Q")
# A smaller file is staged here at the end: not worth a process (its ~50 ms to start).
STAGE_IN_PROCESS_ROWS = 20_000
ROW_BYTES = 100  # a billing file's row is 100-150 bytes: how a file's size foretells its rows


class _Stage:
    """The rows that passed their own checks, between checking the file and writing it: a
    table in a scratch SQLite database, so a million rows need not sit in memory, and so
    that writing them to the bot's database is one INSERT ... SELECT a table and batch.

    The scratch file holds phones and addresses, so it has a name only while the connections
    that need it open it (this one, the writer process's, the bot database's ATTACH), before
    any row is written: then :meth:`unlink` drops the name, and the kernel frees the file with
    the last connection, however the process ends (SIGKILL included). Nothing is left in TMPDIR.

    For a large file a process of its own fills the table while the file is still being
    checked: handing it a batch costs the checking thread one `marshal.dumps`, and the
    inserting runs on the other core, not in this process, where it would wait for the GIL at
    every row.
    """

    def __init__(self, expected_rows: int = 0) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="meter-import-"))
        self.path = self._dir / "stage.sqlite3"
        self._writer: subprocess.Popen[bytes] | None = None
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to recover
            self._conn.execute("PRAGMA synchronous = OFF")
            self._conn.execute(imports.STAGE_TABLE)
            self._conn.execute(imports.STAGE_SKIP)
            if expected_rows >= STAGE_IN_PROCESS_ROWS:
                self._start_writer()
        except BaseException:
            self._drop_name()
            raise
        self._pending: list[list[tuple[Any, ...]]] | None = []  # None: flushed

    def _start_writer(self) -> None:
        self._writer = subprocess.Popen(
            [sys.executable, "-I", "-c", _STAGE_WRITER, str(self.path), imports.STAGE_ROW],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._writer.stdout is not None
        if self._writer.stdout.read(1) != b"R":  # it has the file open, or it failed
            self.flush()  # raises what stopped the writer
            raise RuntimeError("staging the rows failed: the writer did not start")

    def unlink(self) -> None:
        """Drop the scratch file's name (see the class): call once everything has opened it."""
        self._drop_name()

    def _drop_name(self) -> None:
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._dir.rmdir()

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Queue rows (ImportRow's fields + "first row of its account") for the table."""
        if not rows:
            return
        assert self._pending is not None, "the stage was flushed"
        if self._writer is None:
            self._pending.append(rows)  # a small file: staged in one go at the end
            return
        assert self._writer.stdin is not None
        try:
            data = marshal.dumps(rows)
            self._writer.stdin.write(_LENGTH.pack(len(data)) + data)
        except BrokenPipeError:
            self.flush()  # raises what stopped the writer
            raise

    def flush(self) -> None:
        """Wait until every row written is in the table; no more can be written after."""
        pending, self._pending = self._pending, None
        writer, self._writer = self._writer, None
        if writer is None:
            if pending:
                self._conn.execute("BEGIN")
                for batch in pending:
                    self._conn.executemany(imports.STAGE_ROW, batch)
                self._conn.execute("COMMIT")
            return
        _, stderr = writer.communicate()
        if writer.returncode:
            message = stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"staging the rows failed: {message[-1] if message else '?'}")

    def rows_of(self, numbers: Iterable[str]) -> Iterator[tuple[int, str, str]]:
        """(line, account, serial) of those accounts' rows, in file order."""
        self.flush()
        yield from self._conn.execute(
            "SELECT line, number, serial FROM rows"
            " WHERE number IN (SELECT value FROM json_each(?)) ORDER BY rowid",
            (json.dumps(list(numbers)),),
        )

    def skip(self, lines: Iterable[int]) -> None:
        """Lines the import leaves out (rows that failed a check across rows)."""
        self.flush()
        self._conn.executemany("INSERT OR IGNORE INTO skip VALUES (?)", ((n,) for n in lines))

    def last_row(self) -> int:
        self.flush()
        [[last]] = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM rows")
        return int(last)

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.kill()
            writer.communicate()
        self._conn.close()
        self._drop_name()


def _expected_rows(path: Path) -> int:
    try:
        return path.stat().st_size // ROW_BYTES
    except OSError:
        return 0  # the checking says why it cannot be read


def _check_into(
    path: Path, spool: _Stage, *, account_pattern: re.Pattern[str], today: date
) -> FileCheck:
    """Read and check the whole file. Rows that pass their own checks go to ``spool`` as
    ImportRow's fields plus a flag: True on the first row of its account (the one the account
    is written from). Rows that then fail a check across rows are spooled too and listed in
    ``check.skip``."""
    check = FileCheck()
    errors: list[RowError] = []
    across: dict[int, list[str]] = {}
    # account number → hash of its phone << 96 | hash of its address << 32 | its first line:
    # a million accounts in ~150 MB; 64-bit hashes tell a different phone or address.
    accounts: dict[str, int] = {}
    # Billing systems write an account's rows together, so serials are checked within that run
    # and forgotten after it; an account whose rows come back after another account's is
    # checked at the end, reading the spool again.
    run_account, run_serials, run_returns = "", {}, False
    run_phone: object = _NOTHING  # the phone and address of the run's first line, when that
    run_address: object = _NOTHING  # is the account's first line in the file
    returning: set[str] = set()
    duplicates: set[int] = set()
    batch: list[tuple[Any, ...]] = []
    try:
        binary = path.open("rb")
    except OSError as exc:
        check.errors = [RowError(None, f"cannot read {path}: {exc.strerror or exc}")]
        return check
    with binary:
        for item in _parse(binary, account_pattern=account_pattern, today=today):
            if type(item) is not tuple:
                errors.append(item)
                if item.line is not None:
                    check.rows += 1
                continue
            check.rows += 1
            line, number, phone, address, serial = item[:5]
            if number == run_account and phone == run_phone and address == run_address:
                # another row of the account whose first line began this run, repeating
                # that line's phone and address: nothing to look up
                first = False
            else:
                phone_hash, address_hash = hash(phone) & _MASK64, hash(address) & _MASK64
                known = accounts.get(number)
                if known is None:
                    accounts[number] = phone_hash << 96 | address_hash << 32 | line
                elif known >> 32 != phone_hash << 64 | address_hash:
                    what = " and ".join(
                        name
                        for name, differs in (
                            ("phone", known >> 96 != phone_hash),
                            ("address", known >> 32 & _MASK64 != address_hash),
                        )
                        if differs
                    )
                    across[line] = [
                        f"account {number} has a different {what} on line "
                        f"{known & _MASK32}; every row of an account must repeat them"
                    ]
                first = known is None
                if number != run_account:
                    run_account, run_serials, run_returns = number, {}, not first
                    run_phone, run_address = (phone, address) if first else (_NOTHING, _NOTHING)
                    if run_returns:
                        returning.add(number)  # its serials are checked at the end
            if not run_returns:
                earlier = run_serials.setdefault(serial, line)
                if earlier != line:
                    across.setdefault(line, []).append(_duplicate(number, serial, earlier))
                    duplicates.add(line)
            batch.append((*item, first))
            check.spooled += 1
            if len(batch) >= BATCH_SIZE:
                spool.write(batch)
                batch = []
        spool.write(batch)
    if any(error.line is None for error in errors):
        check.errors = errors
        return check

    if returning:
        first_lines: dict[tuple[str, str], int] = {}
        for line, number, serial in spool.rows_of(returning):
            earlier = first_lines.setdefault((number, serial), line)
            if earlier != line and line not in duplicates:
                across.setdefault(line, []).append(_duplicate(number, serial, earlier))
    check.skip = set(across)
    spool.skip(check.skip)
    spool.flush()
    errors.extend(RowError(line, "; ".join(reasons)) for line, reasons in across.items())
    errors.sort(key=lambda error: error.line or 0)
    check.errors = errors
    return check


def _duplicate(number: str, serial: str, earlier: int) -> str:
    return f'meter "{serial}" of account {number} is already on line {earlier}'


def check_file(
    path: Path,
    *,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
    today: date,
) -> FileCheck:
    """Check a file without importing it: every bad row with its reason."""
    spool = _Stage(_expected_rows(path))
    spool.unlink()
    try:
        return _check_into(path, spool, account_pattern=account_pattern, today=today)
    finally:
        spool.close()


# --- loading ------------------------------------------------------------------------------------


async def _load(
    db: Database,
    stage: _Stage,
    *,
    now: str,
    progress: Callable[[int, int], None] | None,
    total: int,
    skipping: bool,
) -> ImportReport:
    """Upsert the staged rows (attached as ``stage``) into the bot's database, all in one
    transaction, BATCH_SIZE rows a statement pair: a crash, a kill or an error on any batch
    leaves the database exactly as it was."""
    report = ImportReport()
    last = stage.last_row()
    done = 0
    async with db.transaction() as conn:
        notices_before = await imports.last_notice(conn)
        for first in range(1, last + 1, BATCH_SIZE):
            batch = await imports.upsert_staged(
                conn, first, first + BATCH_SIZE - 1, now, skipping=skipping
            )
            if not batch.rows:
                continue
            report.accounts_created += batch.accounts_created
            report.accounts_updated += batch.accounts_changed - batch.accounts_created
            report.accounts_unchanged += batch.accounts - batch.accounts_changed
            report.meters_created += batch.meters_created
            report.meters_updated += batch.meters_changed - batch.meters_created
            report.meters_unchanged += batch.rows - batch.meters_changed
            done += batch.rows
            if progress is not None:
                progress(done, total)
        # a changed phone ends the account's links, a notice each (migration 0004's trigger)
        report.links_ended = await imports.notices_since(conn, notices_before)
    return report


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
    and meters in one transaction, calling ``progress(rows written, rows to write)`` after
    each batch. Nothing is written when the report says ``imported=False``, nor when anything
    fails or the process dies before the end."""
    stage = await asyncio.to_thread(_Stage, _expected_rows(path))
    attached = False
    try:
        await db.execute("ATTACH DATABASE ? AS stage", (str(stage.path),))
        attached = True
        stage.unlink()  # every connection to it is open: no row ever sits under a name
        # Checking is CPU work: a thread keeps the event loop (a running bot) responsive.
        check = await asyncio.to_thread(
            _check_into, spool=stage, path=path, account_pattern=account_pattern, today=now.date()
        )
        if check.refused or (check.errors and not skip_invalid):
            return ImportReport(rows=check.rows, errors=check.errors)
        report = await _load(
            db,
            stage,
            now=to_db(now),
            progress=progress,
            total=check.spooled - len(check.skip),
            skipping=bool(check.skip),
        )
        report.rows, report.errors, report.imported = check.rows, check.errors, True
        return report
    finally:
        if attached:
            await db.execute("DETACH DATABASE stage")
        await asyncio.to_thread(stage.close)


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
    if report.links_ended:
        lines.append(
            f"Links ended because an account's phone changed: {report.links_ended}; "
            "the running bot tells those chats."
        )
    if bad:
        lines.append(f"{bad} of {report.rows} rows are bad and were skipped.")
    return "\n".join(lines)
