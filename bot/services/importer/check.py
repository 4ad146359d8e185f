"""Checking each row of an import file on its own: the column checks of :mod:`.columns`, composed.

This runs once per meter of a million-account file: a row is a plain tuple in ImportRow's order
until someone asks for an ImportRow (:func:`parse_rows`).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from bot.services.importer.columns import (
    AccountNumbers,
    Dates,
    Phones,
    check_address,
    check_digits,
    check_gis_columns,
    check_last_readings,
    check_not_future,
    check_resource,
    check_serial,
    check_tariffs,
    check_window,
    latest_date,
)
from bot.services.importer.parse import Header, ImportFile
from bot.services.importer.rows import COLUMNS, ImportRow, RowError


class RowCheck:
    """Checks one row on its own. Built once per file: the column positions are resolved here,
    and the checks that remember (account numbers, phones, dates) live as long as the file."""

    def __init__(self, header: Header, account_pattern: re.Pattern[str], today: date) -> None:
        # An absent optional column reads the empty cell appended after the last real one.
        self.pick = operator.itemgetter(
            *(header.positions.get(name, header.width) for name in COLUMNS)
        )
        self.accounts = AccountNumbers(account_pattern)
        self.phones = Phones()
        self.dates = Dates()
        self.latest_date = latest_date(today)

    def row(self, line: int, cells: list[str]) -> tuple[Any, ...] | RowError:
        """The row (cells as wide as the header) as a tuple in ImportRow's order, or every
        reason it is bad."""
        cells.append("")
        (
            account,
            phone_text,
            address_text,
            serial,
            resource_text,
            tariffs_text,
            digits_text,
            t1_text,
            t2_text,
            t3_text,
            last_date_text,
            verified_text,
            start_text,
            end_text,
            gis_text,
            els_text,
            replaces_text,
        ) = map(str.strip, self.pick(cells))
        problems: list[str] = []
        self.accounts.check(account, problems)
        phone = self.phones.check(phone_text, problems)
        address = check_address(address_text, problems)
        check_serial(serial, problems)
        resource = check_resource(resource_text, problems)
        tariffs = check_tariffs(tariffs_text, resource, problems)
        digits = check_digits(digits_text, problems)
        last = check_last_readings(
            (t1_text, t2_text, t3_text), tariffs, digits, last_date_text, problems
        )
        last_date = self.dates.check("last_date", last_date_text, problems)
        check_not_future(last_date, self.latest_date, problems)
        verified_until = self.dates.check("verified_until", verified_text, problems)
        window_start, window_end = check_window(start_text, end_text, problems)
        gis = check_gis_columns(gis_text, els_text, replaces_text, serial, problems)
        if problems:
            return RowError(line, "; ".join(problems))
        return (
            line,
            account,
            phone,
            address,
            serial,
            resource,
            tariffs,
            digits,
            verified_until,
            window_start,
            window_end,
            *last,
            last_date,
            *gis,
        )


def checked_rows(
    lines: Iterable[bytes], *, account_pattern: re.Pattern[str], today: date
) -> Iterator[tuple[Any, ...] | RowError]:
    """:func:`parse_rows` with plain tuples, for speed."""
    file = ImportFile(lines)
    header = file.header()
    if isinstance(header, list):
        yield from header
        return
    yield from file.records(header, RowCheck(header, account_pattern, today).row)


def parse_rows(
    lines: Iterable[bytes], *, account_pattern: re.Pattern[str], today: date
) -> Iterator[ImportRow | RowError]:
    """Each data row of the file, checked on its own, in file order: the normalised row, or why
    it is bad. A file that cannot be read at all yields errors with ``line=None`` and stops.
    Blank lines are skipped. Checks across rows are :func:`check_file`'s."""
    for item in checked_rows(lines, account_pattern=account_pattern, today=today):
        yield item if isinstance(item, RowError) else ImportRow._make(item)
