"""Checking an import file across rows (a meter twice in one account, an account whose rows
disagree on its phone or address), while its rows go to the stage."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from bot.services.importer.check import checked_rows
from bot.services.importer.rows import FileCheck, RowError
from bot.services.stores import Spool

SPOOL_BATCH = 5_000  # rows handed to the stage at a time

_MASK32 = (1 << 32) - 1
_MASK64 = (1 << 64) - 1
_NOTHING = object()


def _duplicate(number: str, serial: str, earlier: int) -> str:
    return f'meter "{serial}" of account {number} is already on line {earlier}'


class AcrossRows:
    """The checks across rows, fed one row at a time in file order.

    Each account number maps to hash of its phone << 96 | hash of its address << 32 | its first
    line: a million accounts in ~150 MB; 64-bit hashes tell a different phone or address.
    Billing systems write an account's rows together (a run), so serials are checked within
    the run and forgotten after it; an account whose rows come back after another account's
    is checked at the end (:meth:`finish`), reading the spool again.
    """

    def __init__(self) -> None:
        self.problems: dict[int, list[str]] = {}  # line → reasons
        self._accounts: dict[str, int] = {}
        self._run_account = ""
        self._run_serials: dict[str, int] = {}
        self._run_returns = False  # the run's account had rows before another account's
        self._run_phone: object = _NOTHING  # the phone and address of the run's first line,
        self._run_address: object = _NOTHING  # when that is the account's first line
        self._returning: set[str] = set()
        self._duplicates: set[int] = set()

    def see(self, line: int, number: str, phone: str, address: str | None, serial: str) -> bool:
        """Note a row that passed its own checks; True when it is its account's first row."""
        if (
            number == self._run_account
            and phone == self._run_phone
            and address == self._run_address
        ):
            # another row of the account whose first line began this run, repeating that
            # line's phone and address: nothing to look up
            first = False
        else:
            first = self._account_row(line, number, phone, address)
        if not self._run_returns:
            earlier = self._run_serials.setdefault(serial, line)
            if earlier != line:
                self.problems.setdefault(line, []).append(_duplicate(number, serial, earlier))
                self._duplicates.add(line)
        return first

    def _account_row(self, line: int, number: str, phone: str, address: str | None) -> bool:
        """Check the row against its account's first; start a run when the account changes."""
        phone_hash, address_hash = hash(phone) & _MASK64, hash(address) & _MASK64
        known = self._accounts.get(number)
        if known is None:
            self._accounts[number] = phone_hash << 96 | address_hash << 32 | line
        elif known >> 32 != phone_hash << 64 | address_hash:
            what = " and ".join(
                name
                for name, differs in (
                    ("phone", known >> 96 != phone_hash),
                    ("address", known >> 32 & _MASK64 != address_hash),
                )
                if differs
            )
            self.problems[line] = [
                f"account {number} has a different {what} on line "
                f"{known & _MASK32}; every row of an account must repeat them"
            ]
        first = known is None
        if number != self._run_account:
            self._run_account, self._run_serials, self._run_returns = number, {}, not first
            if first:
                self._run_phone, self._run_address = phone, address
            else:
                self._run_phone, self._run_address = _NOTHING, _NOTHING
                self._returning.add(number)  # its serials are checked at the end
        return first

    def finish(self, spool: Spool) -> None:
        """Check the serials of the accounts whose rows came back, reading them from ``spool``."""
        if not self._returning:
            return
        first_lines: dict[tuple[str, str], int] = {}
        for line, number, serial in spool.rows_of(self._returning):
            earlier = first_lines.setdefault((number, serial), line)
            if earlier != line and line not in self._duplicates:
                self.problems.setdefault(line, []).append(_duplicate(number, serial, earlier))

    def errors(self) -> list[RowError]:
        return [RowError(line, "; ".join(reasons)) for line, reasons in self.problems.items()]


def _spool_rows(
    binary: BinaryIO,
    spool: Spool,
    across: AcrossRows,
    check: FileCheck,
    *,
    account_pattern: re.Pattern[str],
    today: date,
) -> list[RowError]:
    """Check every row on its own and across rows; rows that pass their own checks go to
    ``spool`` with a flag, True on their account's first row (the one it is written from).
    Returns the rows' own errors; counts go to ``check``."""
    errors: list[RowError] = []
    batch: list[tuple[Any, ...]] = []
    see = across.see
    for item in checked_rows(binary, account_pattern=account_pattern, today=today):
        if isinstance(item, RowError):
            errors.append(item)
            if item.line is not None:
                check.rows += 1
            continue
        check.rows += 1
        batch.append((*item, see(*item[:5])))
        if len(batch) >= SPOOL_BATCH:
            check.spooled += len(batch)
            spool.write(batch)
            batch = []
    check.spooled += len(batch)
    spool.write(batch)
    return errors


def check_into(
    path: Path, spool: Spool, *, account_pattern: re.Pattern[str], today: date
) -> FileCheck:
    """Read and check the whole file. Rows that pass their own checks go to ``spool`` (see
    :func:`_spool_rows`); those that then fail a check across rows are spooled too, listed in
    ``check.skip`` and in the spool's skip list."""
    check = FileCheck()
    try:
        binary = path.open("rb")
    except OSError as exc:
        check.errors = [RowError(None, f"cannot read {path}: {exc.strerror or exc}")]
        return check
    across = AcrossRows()
    with binary:
        errors = _spool_rows(
            binary, spool, across, check, account_pattern=account_pattern, today=today
        )
    if any(error.line is None for error in errors):
        check.errors = errors
        return check
    across.finish(spool)
    check.skip = set(across.problems)
    spool.skip(check.skip)
    spool.flush()
    errors.extend(across.errors())
    errors.sort(key=lambda error: error.line or 0)
    check.errors = errors
    return check
