"""The exports that open right in Excel (SPEC §4): `xlsx` and `csv-excel`, on both engines;
and the zip the in-chat /export sends past the upload limit."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from bot.domain.periods import Period
from bot.services.export import export_period, export_period_xlsx
from bot.storage.db import Database
from bot.storage.readings import ReadingRepository
from tests.seed import M, add_account
from tests.unit.test_export import MSK, NOV, reading, service

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

HEADER = ("account", "meter", "resource", "period", "t1", "t2", "t3", "submitted_at", "receipt")
AT = "2026-11-21T00:30:05+03:00"  # NOV in Moscow


async def seed(db: Database) -> None:
    """An account and a serial with leading zeros, a three-zone meter, and text that a
    spreadsheet would take for a formula or a number."""
    await add_account(
        db,
        "00123",
        "+79161234567",
        M("0042", "cold_water"),  # meter 1
        M("0007", "electricity", tariffs=3),  # meter 2
    )
    await add_account(db, "5000000001", "+79160000001", M("=1+1", "gas"))  # meter 3
    await reading(db, 1, "2026-11", (104,), NOV, "2611-000001")
    await reading(db, 2, "2026-11", (1200, 300, 450), NOV, "2611-000002")
    await reading(db, 3, "2026-11", (12,), NOV, "2611-000003")


async def test_xlsx_keeps_leading_zeros_as_text_and_values_as_numbers(
    db: Database, tmp_path: Path
) -> None:
    await seed(db)
    target = tmp_path / "readings.xlsx"
    rows = await export_period_xlsx(ReadingRepository(db), Period(2026, 11), target, MSK)
    assert rows == 3
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["2026-11"]
    sheet = book["2026-11"]
    assert list(sheet.iter_rows(values_only=True)) == [
        HEADER,
        ("00123", "0007", "electricity", "2026-11", 1200, 300, 450, AT, "2611-000002"),
        ("00123", "0042", "cold_water", "2026-11", 104, None, None, AT, "2611-000001"),
        ("5000000001", "=1+1", "gas", "2026-11", 12, None, None, AT, "2611-000003"),
    ]
    for cell in (sheet["A2"], sheet["B3"], sheet["B4"]):
        assert cell.data_type == "s"  # text, not a number or a formula
        assert cell.number_format == "@"  # and formatted as Text, should anyone edit it
    assert sheet["E2"].data_type == "n"
    assert sheet.freeze_panes == "A2"


async def test_xlsx_of_a_period_without_readings_is_the_header(
    db: Database, tmp_path: Path
) -> None:
    await seed(db)
    target = tmp_path / "empty.xlsx"
    assert await export_period_xlsx(ReadingRepository(db), Period(2026, 9), target, MSK) == 0
    sheet = openpyxl.load_workbook(target)["2026-09"]
    assert list(sheet.iter_rows(values_only=True)) == [HEADER]


async def test_csv_excel_is_semicolons_with_a_bom_and_crlf(db: Database) -> None:
    await seed(db)
    out = io.StringIO(newline="")
    rows = await export_period(ReadingRepository(db), Period(2026, 11), out, MSK, excel=True)
    assert rows == 3
    data = out.getvalue().encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbfaccount;meter;resource;period;t1;t2;t3;")
    assert data.decode("utf-8") == (
        "\ufeffaccount;meter;resource;period;t1;t2;t3;submitted_at;receipt\r\n"
        f"00123;0007;electricity;2026-11;1200;300;450;{AT};2611-000002\r\n"
        f"00123;0042;cold_water;2026-11;104;;;{AT};2611-000001\r\n"
        f"5000000001;=1+1;gas;2026-11;12;;;{AT};2611-000003\r\n"
    )


async def test_period_file_is_the_csv_up_to_the_limit_and_a_zip_of_it_past_it(
    db: Database,
) -> None:
    await seed(db)
    exports = service(db, datetime(2026, 11, 22, tzinfo=UTC))
    plain = await exports.period_file(Period(2026, 11), zip_over=10_000)
    assert (plain.name, plain.zipped, plain.rows) == ("readings-2026-11.csv", False, 3)
    assert plain.data.decode("utf-8").splitlines()[0] == ",".join(HEADER)

    zipped = await exports.period_file(Period(2026, 11), zip_over=len(plain.data) - 1)
    assert (zipped.name, zipped.zipped, zipped.rows) == ("readings-2026-11.zip", True, 3)
    with zipfile.ZipFile(io.BytesIO(zipped.data)) as archive:
        assert archive.testzip() is None
        (member,) = archive.infolist()
        assert member.filename == "readings-2026-11.csv"
        assert member.compress_type == zipfile.ZIP_DEFLATED
        assert archive.read(member) == plain.data
