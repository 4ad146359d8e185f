"""What Excel opens right, shared by the exports (SPEC §4): CSV as a Russian-locale Excel
reads it into columns, and workbook cells that stay text.

A Russian-locale Excel takes `;` as the list separator (`,` is the decimal comma), reads a
file as UTF-8 only when it starts with a BOM, and expects Windows line ends.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

TEXT_FORMAT = "@"  # Excel's "Text" number format


def excel_csv_writer(out: TextIO) -> Any:
    """A csv writer of `;`-separated rows ending in CRLF, after the BOM it writes first
    (``out`` opened with newline="" when it is a file, so the CRLF stays as written)."""
    out.write("\ufeff")
    return csv.writer(out, delimiter=";", lineterminator="\r\n")


def text_cell(sheet: WriteOnlyWorksheet, value: str) -> WriteOnlyCell:
    """A cell of a write-only sheet holding ``value`` as text, formatted as Text: an account or
    serial like "00123" keeps its zeros, and "=1+1" stays those characters, not a formula."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"  # never a formula, whatever the text starts with
    cell.number_format = TEXT_FORMAT
    return cell


@contextlib.contextmanager
def sheets_closed_on_failure(book: Workbook) -> Iterator[None]:
    """A write-only workbook that fails half-way (a path it cannot write, Ctrl-C) closes its
    sheets' row writers at once: left to the garbage collector, they write to a closed file
    and print "Exception ignored" tracebacks after the command's one line."""
    try:
        yield
    except BaseException:
        for sheet in book.worksheets:
            with contextlib.suppress(Exception):  # one save had closed already
                sheet.close()
        raise
