"""`python -m bot export --format xlsx|csv-excel` through the command line (click's CliRunner,
as tests/e2e/test_cli_refusals.py runs it): the files an operator opens in Excel, and the
refusal to write a workbook to the terminal."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.e2e.processes import read_every_meter
from tests.e2e.test_cli_refusals import cli, one_line

ACCOUNTS = """\
account;phone;meter;resource;tariffs
00123;+79160000001;0042;cold_water;1
00123;+79160000001;0007;electricity;2
"""
AT = "2026-11-21T00:30:00+03:00"


@pytest.fixture
def with_readings(tmp_path: Path) -> Path:
    """An account and serials with leading zeros, a reading of each meter for 2026-11."""
    source = tmp_path / "accounts.csv"
    source.write_text(ACCOUNTS, encoding="utf-8")
    result = cli(tmp_path, "import", str(source), ACCOUNT_NUMBER_PATTERN=r"\d{5}")
    assert result.returncode == 0, result.stderr
    db = tmp_path / "db" / "bot.sqlite3"
    read_every_meter(db, 100, t2=7)
    return db


def test_export_xlsx_keeps_the_leading_zeros_as_text(tmp_path: Path, with_readings: Path) -> None:
    target = tmp_path / "readings.xlsx"
    result = cli(
        tmp_path, "export", "--period", "2026-11", "--format", "xlsx", "--output", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert "2 readings exported for 2026-11" in result.stderr
    assert result.stdout == ""
    sheet = openpyxl.load_workbook(target)["2026-11"]
    assert list(sheet.iter_rows(values_only=True)) == [
        ("account", "meter", "resource", "period", "t1", "t2", "t3", "submitted_at", "receipt"),
        ("00123", "0007", "electricity", "2026-11", 102, 7, None, AT, "R-2"),
        ("00123", "0042", "cold_water", "2026-11", 101, None, None, AT, "R-1"),
    ]


def test_export_xlsx_to_the_terminal_is_refused_in_one_line(
    tmp_path: Path, with_readings: Path
) -> None:
    line = one_line(cli(tmp_path, "export", "--period", "2026-11", "--format", "xlsx"))
    assert line == "error: --format xlsx writes a binary workbook: give --output FILE.xlsx"


def test_export_csv_excel_is_semicolons_with_a_bom_and_crlf(
    tmp_path: Path, with_readings: Path
) -> None:
    target = tmp_path / "readings.csv"
    result = cli(
        tmp_path, "export", "--period", "2026-11", "--format", "csv-excel", "--output", str(target)
    )
    assert result.returncode == 0, result.stderr
    expected = (
        "\ufeffaccount;meter;resource;period;t1;t2;t3;submitted_at;receipt\r\n"
        f"00123;0007;electricity;2026-11;102;7;;{AT};R-2\r\n"
        f"00123;0042;cold_water;2026-11;101;;;{AT};R-1\r\n"
    )
    assert target.read_bytes() == expected.encode()
    # to stdout: the same text
    shown = cli(tmp_path, "export", "--period", "2026-11", "--format", "csv-excel")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split("\n") == target.read_bytes().decode("utf-8").split("\r\n")
