"""What an import file is made of: its columns, a checked row, and a reason a row is bad."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

DEFAULT_ACCOUNT_PATTERN = re.compile(r"^\d{6,12}$", re.ASCII)
ROW_BYTES = 100  # a billing file's row is 100-150 bytes: how a file's size foretells its rows

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
    "gis_meter_number",
    "els",
    "replaces",
)
REQUIRED_COLUMNS = ("account", "phone", "meter", "resource")


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
    gis_meter_number: str | None = None
    els: str | None = None  # the account's, from its first row
    replaces: str | None = None  # serial of the meter of the same account this one replaced


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


def expected_rows(path: Path) -> int:
    """About how many rows the file at ``path`` holds, from its size (0 if it cannot be read):
    the stage chooses how to take them by it."""
    try:
        return path.stat().st_size // ROW_BYTES
    except OSError:
        return 0  # the checking says why it cannot be read
