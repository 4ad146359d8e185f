"""Reading an import file: its encoding, separator and header, then its records as cells.

Nothing here knows what a cell means; :mod:`.check` does. Line numbers are physical lines
(header = 1), so a record that spans lines is numbered by its first.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from bot.services.importer.rows import COLUMNS, REQUIRED_COLUMNS, RowError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Header:
    """What the first line says: the separator, how many cells, and where each known column is."""

    delimiter: str
    width: int
    positions: dict[str, int]


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


def not_text(first_line: bytes) -> RowError | None:
    """Why a file whose first line is ``first_line`` is not CSV text at all: a workbook (an
    .xlsx is a zip archive), or UTF-16 (Excel's "Unicode text"), which decodes as UTF-8 with
    a NUL byte in every other place when it has no BOM."""
    if first_line.startswith(b"PK\x03\x04"):
        problem = "the file is a workbook or an archive (.xlsx, .zip), not CSV text"
        return RowError(None, f"{problem}; save the sheet as CSV UTF-8 and try again")
    if first_line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        problem = "the file is UTF-16 text, not UTF-8"
    elif b"\0" in first_line:
        problem = "the file is not UTF-8 text (line 1 holds NUL bytes, as UTF-16 does)"
    else:
        return None
    return RowError(None, f"{problem}; save it as UTF-8 and try again")


def separator(header_line: str) -> str:
    """Whichever of ``;`` and ``,`` the header holds more of (csv.Sniffer guesses wrong on short
    files; the header decides)."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def header_positions(cells: list[str]) -> tuple[dict[str, int], list[RowError]]:
    """Where each known column is (names ignore case and spaces; others are ignored), and why
    the header cannot be used: a column named twice, none known, a required one missing."""
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(cells):
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


def not_utf8(line: int) -> RowError:
    return RowError(
        None, f"the file is not UTF-8 text (line {line} is not); save it as UTF-8 and try again"
    )


def fit(line: int, cells: list[str], header: Header) -> RowError | None:
    """Make ``cells`` as wide as the header: short rows end in empty cells, and empty cells
    past the header's are dropped; a filled one is an error (an unquoted separator)."""
    width = header.width
    if len(cells) > width:
        if any(cell.strip() for cell in cells[width:]):
            return RowError(
                line,
                f"{len(cells)} cells but the header has {width}; is there a "
                f'"{header.delimiter}" inside a value that is not in quotes?',
            )
        del cells[width:]
    else:
        cells.extend([""] * (width - len(cells)))
    return None


class ImportFile:
    """An import file read once, line by line: :meth:`header` first, then :meth:`records`."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._undecodable: list[int] = []
        raw = iter(lines)
        self._first = next(raw, b"")
        self._text = _decoded(itertools.chain([self._first], raw), self._undecodable)

    def header(self) -> Header | list[RowError]:
        """The header, or why the file is refused as a whole."""
        if (problem := not_text(self._first)) is not None:
            return [problem]
        header_line = next(self._text, "")
        if not header_line.strip():
            return [RowError(None, "the file is empty; its first line must be the header")]
        if self._undecodable:
            return [not_utf8(1)]
        delimiter = separator(header_line)
        cells = next(csv.reader([header_line], delimiter=delimiter))
        positions, errors = header_positions(cells)
        return errors or Header(delimiter, len(cells), positions)

    def records(self, header: Header, row: Callable[[int, list[str]], T]) -> Iterator[T | RowError]:
        """``row(line, cells)`` of every record, cells as wide as the header, in file order;
        a record that cannot be read is a RowError instead. Blank lines are skipped. A line
        that is not UTF-8 refuses the file (a RowError with ``line=None``) and ends it."""
        undecodable = self._undecodable
        width = header.width
        reader = csv.reader(self._text, delimiter=header.delimiter)
        end = 1  # the physical line the previous record ended on
        rows = 0
        while True:
            start = end + 1
            try:
                cells = next(reader)
            except StopIteration:
                if undecodable:
                    yield not_utf8(undecodable[0])  # on the last line, after the record
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
                yield not_utf8(undecodable[0])
                return
            if not (cells and cells[0].strip()) and not "".join(cells).strip():
                continue  # a blank line, or nothing but separators
            rows += 1
            if end > start or len(cells) != width:
                yield self._odd_record(start, end, cells, header, row)
            else:
                yield row(start, cells)

    @staticmethod
    def _odd_record(
        start: int, end: int, cells: list[str], header: Header, row: Callable[[int, list[str]], T]
    ) -> T | RowError:
        """A record over several lines, or not as wide as the header."""
        if end > start and any("\n" in cell or "\r" in cell for cell in cells):
            return RowError(
                start, f"a quoted value runs on to line {end}; is a closing quote missing?"
            )
        if len(cells) != header.width:
            problem = fit(start, cells, header)
            if problem is not None:
                return problem
        return row(start, cells)
