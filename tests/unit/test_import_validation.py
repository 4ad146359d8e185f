"""Checking an import file (SPEC §4): pure parsing and validation, no bot database."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.importer import (
    DEFAULT_ACCOUNT_PATTERN,
    FileCheck,
    ImportRow,
    RowError,
    check_file,
    parse_rows,
)
from bot.storage.import_stage import scratch_stage

TODAY = date(2026, 11, 27)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts.csv"
HEADER = (
    "account,phone,address,meter,resource,tariffs,digits,last_t1,last_t2,last_t3,"
    "last_date,verified_until,window_start,window_end"
)
GOOD = "5012345678,+7 916 123-45-67,,A-1,cold_water,,,,,,,,,"


def check(
    tmp_path: Path,
    *lines: str,
    raw: bytes | None = None,
    account_pattern: re.Pattern[str] = DEFAULT_ACCOUNT_PATTERN,
) -> FileCheck:
    path = tmp_path / "accounts.csv"
    path.write_bytes(raw if raw is not None else "\n".join(lines).encode() + b"\n")
    return check_file(path, scratch_stage, today=TODAY, account_pattern=account_pattern)


def rows(tmp_path: Path, *lines: str) -> list[ImportRow | RowError]:
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with path.open("rb") as binary:
        return list(parse_rows(binary, account_pattern=DEFAULT_ACCOUNT_PATTERN, today=TODAY))


def messages(result: FileCheck) -> list[str]:
    return [str(error) for error in result.errors]


def one_error(result: FileCheck) -> RowError:
    assert len(result.errors) == 1, messages(result)
    return result.errors[0]


# --- the file as a whole ----------------------------------------------------------------------


def test_example_file_is_clean() -> None:
    result = check_file(EXAMPLE, scratch_stage, today=TODAY)
    assert result.errors == []
    assert result.rows == 36


def test_a_missing_required_column_refuses_the_file_once(tmp_path: Path) -> None:
    result = check(tmp_path, "account,meter,resource", "5012345678,A-1,gas", "5012345679,B,gas")
    assert result.errors == [RowError(None, "missing column: phone")]
    assert str(result.errors[0]) == "missing column: phone"
    assert result.refused


def test_every_missing_column_is_named(tmp_path: Path) -> None:
    result = check(tmp_path, "account,address", "5012345678,x")
    assert messages(result) == [
        "missing column: phone",
        "missing column: meter",
        "missing column: resource",
    ]


def test_a_file_without_header_is_refused_with_a_hint(tmp_path: Path) -> None:
    result = check(tmp_path, GOOD)
    assert result.refused
    assert "first line must be the header" in messages(result)[0]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    result = check(tmp_path, raw=b"")
    assert result.refused
    assert "empty" in messages(result)[0]


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    result = check(tmp_path, HEADER + ",Phone", GOOD + ",89161234567")
    assert messages(result) == ["column phone appears twice (columns 2 and 15)"]


def test_header_names_ignore_case_and_spaces(tmp_path: Path) -> None:
    result = check(tmp_path, " Account ,PHONE,  Meter,Resource ", "5012345678,89161234567,A,gas")
    assert result.errors == []
    assert result.rows == 1


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    parsed = rows(
        tmp_path,
        "note,account,phone,meter,floor,resource,comment",
        "кухня,5012345678,89161234567,A,3,gas,whatever it says",
    )
    assert parsed == [ImportRow(2, "5012345678", "+79161234567", None, "A", "gas", 1, *[None] * 8)]


def test_bom_and_semicolon_separator_are_accepted(tmp_path: Path) -> None:
    text = (
        "account;phone;address;meter;resource;last_t1;last_date\n"
        "5012345678;8 (916) 123-45-67;г. Балашиха, ул. Ленина, д. 12, кв. 45;A;gas;"
        "1234,567;2026-11-20\n"
    )
    result = check(tmp_path, raw=b"\xef\xbb\xbf" + text.encode())
    assert result.errors == []
    (row,) = rows(tmp_path, text.lstrip("\ufeff"))
    assert isinstance(row, ImportRow)
    assert row.address == "г. Балашиха, ул. Ленина, д. 12, кв. 45"
    assert row.phone == "+79161234567"
    assert row.last_t1 == 1234  # the fraction is dropped, as for residents


def test_comma_separator_with_quoted_address(tmp_path: Path) -> None:
    parsed = rows(
        tmp_path,
        "account,phone,address,meter,resource",
        '5012345678,89161234567,"г. Химки, ул. Московская, д. 21",A,gas',
    )
    assert isinstance(parsed[0], ImportRow)
    assert parsed[0].address == "г. Химки, ул. Московская, д. 21"


def test_an_unquoted_separator_inside_a_value_is_reported(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        "account,phone,address,meter,resource",
        "5012345678,89161234567,г. Химки, ул. Московская,A,gas",
    )
    assert messages(result) == [
        'line 2: 6 cells but the header has 5; is there a "," inside a value that is not in quotes?'
    ]


def test_trailing_empty_cells_and_short_rows_are_fine(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        "account,phone,meter,resource,digits",
        "5012345678,89161234567,A,gas,,,",
        "5012345678,89161234567,B,gas",
    )
    assert result.errors == []
    assert result.rows == 2


def test_line_numbers_are_physical_lines(tmp_path: Path) -> None:
    lines = [
        "account;phone;address;meter;resource",
        "5012345678;89161234567;;A;gas",
        "",
        "5012345678;89161234567;;B;water",  # line 4: blank line 3 still counts
        '5012345679;89161234568;"two',
        'lines";C;gas',  # lines 5-6: one record over two lines (refused)
        "5012345679;89161234568;;D;steam",  # line 7
    ]
    result = check(tmp_path, raw="\r\n".join(lines).encode())
    assert [error.line for error in result.errors] == [4, 5, 7]
    assert "runs on to line 6" in messages(result)[1]


def test_an_unclosed_quote_is_reported_not_swallowed_silently(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        "account,phone,address,meter,resource",
        '5012345678,89161234567,"oops,A,gas',
        "5012345678,89161234567,,B,gas",
    )
    assert [error.line for error in result.errors] == [2]


def test_a_file_that_is_not_utf8_is_refused_as_a_whole_not_line_by_line(tmp_path: Path) -> None:
    # a Windows-1251 export: an ASCII header, then Cyrillic addresses on every row
    body = "".join(f"50123456{n:02d};89161234567;ул. Ленина, д. {n};A;gas\n" for n in range(1, 60))
    raw = b"account;phone;address;meter;resource\n" + body.encode("cp1251")
    result = check(tmp_path, raw=raw)
    assert result.refused
    assert messages(result) == [
        "the file is not UTF-8 text (line 2 is not); save it as UTF-8 and try again"
    ]


def test_a_file_with_one_line_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    raw = (
        b"account;phone;address;meter;resource\n"
        + b"5012345678;89161234567;;B;gas\n"
        + "5012345679;89161234567;ул. Ленина;A;gas\n".encode("cp1251")
    )
    result = check(tmp_path, raw=raw)
    assert result.refused
    assert messages(result) == [
        "the file is not UTF-8 text (line 3 is not); save it as UTF-8 and try again"
    ]


def workbook() -> bytes:
    """What an .xlsx file starts with: it is a zip archive."""
    import io
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return packed.getvalue()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            f"{HEADER}\n{GOOD}\n".encode("utf-16"),
            "the file is UTF-16 text, not UTF-8; save it as UTF-8 and try again",
        ),
        (
            f"{HEADER}\n{GOOD}\n".encode("utf-16-le"),
            "the file is not UTF-8 text (line 1 holds NUL bytes, as UTF-16 does);"
            " save it as UTF-8 and try again",
        ),
        (
            workbook(),
            "the file is a workbook or an archive (.xlsx, .zip), not CSV text;"
            " save the sheet as CSV UTF-8 and try again",
        ),
        (
            workbook()[:100],
            "the file is a workbook or an archive (.xlsx, .zip), not CSV text;"
            " save the sheet as CSV UTF-8 and try again",
        ),
    ],
    ids=["utf-16-bom", "utf-16-no-bom", "xlsx", "truncated-xlsx"],
)
def test_a_file_that_is_not_csv_text_is_refused_saying_what_it_is(
    tmp_path: Path, raw: bytes, reason: str
) -> None:
    # UTF-16 without a BOM decodes as UTF-8: it was refused as a header naming no column
    result = check(tmp_path, raw=raw)
    assert result.refused
    assert messages(result) == [reason]


def test_a_header_only_file_is_refused(tmp_path: Path) -> None:
    result = check(tmp_path, HEADER, "", " ")
    assert result.refused
    assert messages(result) == ["the file has a header but no rows"]


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    result = check(
        tmp_path, "account,phone,meter,resource", "", "5012345678,89161234567,A,gas", ",,,", " "
    )
    assert result.errors == []
    assert result.rows == 1


# --- one row ----------------------------------------------------------------------------------


def test_a_valid_row_is_normalised(tmp_path: Path) -> None:
    parsed = rows(
        tmp_path,
        HEADER,
        " 5012345678 , 8-916-123-45-67 , ул. Мира, A-1 ,Electricity,2,6,100,020,,2026-11-20,"
        "2027-01-31,20,25",
    )
    assert parsed == [
        ImportRow(
            line=2,
            account="5012345678",
            phone="+79161234567",
            address="ул. Мира",
            serial="A-1",
            resource="electricity",
            tariffs=2,
            digits=6,
            verified_until="2027-01-31",
            window_start=20,
            window_end=25,
            last_t1=100,
            last_t2=20,
            last_t3=None,
            last_date="2026-11-20",
        )
    ]


def test_bad_resource(tmp_path: Path) -> None:
    result = check(tmp_path, HEADER, GOOD.replace("cold_water", "water"))
    assert messages(result) == [
        'line 2: resource "water" is not one of cold_water, hot_water, electricity, gas, heat'
    ]


def test_empty_resource(tmp_path: Path) -> None:
    error = one_error(check(tmp_path, HEADER, GOOD.replace("cold_water", "")))
    assert "resource (empty) is not one of" in error.message


@pytest.mark.parametrize("phone", ["12345", "+7 916 123", "телефон", "8916123456789"])
def test_bad_phone(tmp_path: Path, phone: str) -> None:
    error = one_error(check(tmp_path, HEADER, GOOD.replace("+7 916 123-45-67", phone)))
    assert error.line == 2
    assert error.message.startswith(f'phone "{phone}": ')


@pytest.mark.parametrize("phone", ["+1 212 555 1234", "+44 20 7946 0958", "+375291234567"])
def test_a_phone_that_is_not_russian_is_a_bad_row(tmp_path: Path, phone: str) -> None:
    result = check(tmp_path, HEADER, GOOD, GOOD.replace("+7 916 123-45-67", phone))
    error = one_error(result)
    assert error.line == 3
    assert error.message == f'phone "{phone}": not a Russian number (+7)'


def test_empty_phone_and_account_and_meter(tmp_path: Path) -> None:
    error = one_error(check(tmp_path, HEADER, ",,,,cold_water,,,,,,,,,"))
    assert error.message == ("account is empty; phone is empty; meter (the serial number) is empty")


def test_account_must_match_the_configured_pattern(tmp_path: Path) -> None:
    line = GOOD.replace("5012345678", "LS-1234")
    error = one_error(check(tmp_path, HEADER, line))
    assert error.message.startswith('account "LS-1234" is not a well-formed account number')
    custom = re.compile(r"^LS-\d{4}$")
    assert check(tmp_path, HEADER, line, account_pattern=custom).errors == []


def test_duplicate_meter_names_both_lines(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        GOOD,
        GOOD.replace("A-1", "A-2"),
        GOOD.replace("5012345678", "5012345679"),  # the same serial in another account is fine
        GOOD.replace("cold_water", "hot_water"),
    )
    assert messages(result) == ['line 5: meter "A-1" of account 5012345678 is already on line 2']
    assert result.skip == {5}


def test_duplicate_meter_in_one_run_of_rows(tmp_path: Path) -> None:
    result = check(tmp_path, HEADER, GOOD, GOOD.replace("A-1", "A-2"), GOOD, GOOD)
    assert messages(result) == [
        'line 4: meter "A-1" of account 5012345678 is already on line 2',
        'line 5: meter "A-1" of account 5012345678 is already on line 2',
    ]


def test_duplicate_meter_of_an_account_that_comes_back(tmp_path: Path) -> None:
    other = GOOD.replace("5012345678", "5012345679")
    result = check(tmp_path, HEADER, GOOD, other, GOOD.replace("A-1", "A-2"), other, GOOD, GOOD)
    assert messages(result) == [
        'line 5: meter "A-1" of account 5012345679 is already on line 3',
        'line 6: meter "A-1" of account 5012345678 is already on line 2',
        'line 7: meter "A-1" of account 5012345678 is already on line 2',
    ]
    assert result.skip == {5, 6, 7}


def test_a_row_can_fail_both_checks_across_rows(tmp_path: Path) -> None:
    other = GOOD.replace("5012345678", "5012345679")
    result = check(tmp_path, HEADER, GOOD, other, GOOD.replace("+7 916 123-45-67", "89031112233"))
    assert messages(result) == [
        "line 4: account 5012345678 has a different phone on line 2; every row of an account "
        'must repeat them; meter "A-1" of account 5012345678 is already on line 2'
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30))
def test_every_duplicate_names_the_first_line_in_any_row_order(
    meters: list[tuple[int, int]],
) -> None:
    lines = [HEADER] + [
        GOOD.replace("5012345678", f"501234567{account}").replace("A-1", f"S-{serial}")
        for account, serial in meters
    ]
    first: dict[tuple[int, int], int] = {}
    expected = []
    for line, (account, serial) in enumerate(meters, start=2):
        if (account, serial) in first:
            expected.append(
                f'line {line}: meter "S-{serial}" of account 501234567{account} is already on '
                f"line {first[account, serial]}"
            )
        first.setdefault((account, serial), line)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accounts.csv"
        path.write_text("\n".join(lines), encoding="utf-8")
        assert messages(check_file(path, scratch_stage, today=TODAY)) == expected


def test_one_account_must_keep_its_phone_and_address(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        GOOD,
        GOOD.replace("A-1", "A-2").replace("+7 916 123-45-67", "89161234567"),  # same number
        GOOD.replace("A-1", "A-3").replace("+7 916 123-45-67", "89161112233"),
        GOOD.replace("A-1", "A-4").replace(",,A-4", ",кв. 5,A-4"),
    )
    assert messages(result) == [
        "line 4: account 5012345678 has a different phone on line 2; "
        "every row of an account must repeat them",
        "line 5: account 5012345678 has a different address on line 2; "
        "every row of an account must repeat them",
    ]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-02-30", 'verified_until "2026-02-30" is not a real date'),
        ("30.11.2026", 'verified_until "30.11.2026" is not a date in the form YYYY-MM-DD'),
        ("2026-11-5", 'verified_until "2026-11-5" is not a date in the form YYYY-MM-DD'),
        ("20261130", 'verified_until "20261130" is not a date in the form YYYY-MM-DD'),
    ],
)
def test_wrong_dates(tmp_path: Path, value: str, reason: str) -> None:
    line = "5012345678,89161234567,,A-1,gas,,,,,,," + value + ",,"
    assert messages(check(tmp_path, HEADER, line)) == [f"line 2: {reason}"]


def test_a_past_verification_date_is_accepted(tmp_path: Path) -> None:
    line = "5012345678,89161234567,,A-1,gas,,,,,,,2020-01-31,,"
    assert check(tmp_path, HEADER, line).errors == []


@pytest.mark.parametrize(
    ("resource", "tariffs", "reason"),
    [
        ("electricity", "4", 'tariffs "4" is not 1, 2 or 3'),
        ("electricity", "0", 'tariffs "0" is not 1, 2 or 3'),
        ("electricity", "two", 'tariffs "two" is not 1, 2 or 3'),
        ("gas", "2", "tariffs is 2 but only electricity meters have more than one zone"),
        ("hot_water", "3", "tariffs is 3 but only electricity meters have more than one zone"),
    ],
)
def test_bad_tariffs(tmp_path: Path, resource: str, tariffs: str, reason: str) -> None:
    line = f"5012345678,89161234567,,A-1,{resource},{tariffs},,,,,,,,"
    assert messages(check(tmp_path, HEADER, line)) == [f"line 2: {reason}"]


def test_electricity_has_one_to_three_zones(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        "5012345678,89161234567,,A,electricity,1,,10,,,2026-11-01,,,",
        "5012345678,89161234567,,B,electricity,2,,10,5,,2026-11-01,,,",
        "5012345678,89161234567,,C,electricity,3,,10,5,7,2026-11-01,,,",
    )
    assert result.errors == []


def test_t2_given_for_a_one_zone_meter(tmp_path: Path) -> None:
    line = "5012345678,89161234567,,A-1,cold_water,,,10,5,,2026-11-01,,,"
    assert messages(check(tmp_path, HEADER, line)) == [
        "line 2: last_t2 is given but the meter has 1 zone"
    ]


def test_t2_alone_for_a_one_zone_meter(tmp_path: Path) -> None:
    line = "5012345678,89161234567,,A-1,gas,,,,5,,2026-11-01,,,"
    assert messages(check(tmp_path, HEADER, line)) == [
        "line 2: last_t2 is given but the meter has 1 zone; last_t1 is missing"
    ]


def test_a_two_zone_meter_needs_both_zones(tmp_path: Path) -> None:
    line = "5012345678,89161234567,,A-1,electricity,2,,10,,,2026-11-01,,,"
    assert messages(check(tmp_path, HEADER, line)) == [
        "line 2: last_t2 missing: a 2-zone meter needs last_t1..last_t2 all together, or none"
    ]


def test_last_date_goes_with_the_last_reading(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        "5012345678,89161234567,,A,gas,,,10,,,,,,",
        "5012345678,89161234567,,B,gas,,,,,,2026-11-01,,,",
        "5012345678,89161234567,,C,gas,,,10,,,2026-11-29,,,",
        "5012345678,89161234567,,D,gas,,,10,,,2026-11-28,,,",  # one day of slack
    )
    assert messages(result) == [
        "line 2: last_date is missing: it is required with last_t1",
        "line 3: last_date is given without last_t1",
        "line 4: last_date 2026-11-29 is in the future",
    ]


@pytest.mark.parametrize("value", ["-5", "1e3", "12 345", "١٢٣", "x"])
def test_a_last_reading_must_be_a_number(tmp_path: Path, value: str) -> None:
    line = f'5012345678,89161234567,,A,gas,,,"{value}",,,2026-11-01,,,'
    error = one_error(check(tmp_path, HEADER, line))
    assert error.message == f'last_t1 "{value}" is not a reading (a whole number >= 0)'


def test_a_last_reading_must_fit_the_dial(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        "5012345678,89161234567,,A,gas,,5,123456,,,2026-11-01,,,",
        "5012345678,89161234567,,B,gas,,5,0099999,,,2026-11-01,,,",  # leading zeros are fine
        "5012345678,89161234567,,C,gas,,,1234567890,,,2026-11-01,,,",
    )
    assert messages(result) == [
        "line 2: last_t1 123456 has more than 5 digits",
        "line 4: last_t1 1234567890 has more than 9 digits",
    ]


@pytest.mark.parametrize("digits", ["0", "10", "five"])
def test_bad_digits(tmp_path: Path, digits: str) -> None:
    line = f"5012345678,89161234567,,A,gas,,{digits},,,,,,,"
    assert one_error(check(tmp_path, HEADER, line)).message == (
        f'digits "{digits}" is not a whole number from 1 to 9'
    )


def test_window_days_go_together_and_stay_in_the_month(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        "5012345678,89161234567,,A,gas,,,,,,,,20,25",
        "5012345678,89161234567,,B,gas,,,,,,,,20,",
        "5012345678,89161234567,,C,gas,,,,,,,,0,32",
        "5012345678,89161234567,,D,gas,,,,,,,,25,3",  # over the month's end: fine
    )
    assert messages(result) == [
        "line 3: window_start and window_end go together: give both or neither",
        'line 4: window_start "0" is not a day of the month from 1 to 31; '
        'window_end "32" is not a day of the month from 1 to 31',
    ]


def test_every_bad_row_is_reported_with_all_its_reasons(tmp_path: Path) -> None:
    result = check(
        tmp_path,
        HEADER,
        "12,12,,A,water,,,,,,,,,",
        GOOD,
        "5012345679,89161234567,,B,gas,5,,,,,,,,",
    )
    assert [error.line for error in result.errors] == [2, 4]
    assert result.errors[0].message.count(";") == 2  # account, phone and resource
    assert result.rows == 3


def test_a_file_that_cannot_be_opened_is_refused(tmp_path: Path) -> None:
    result = check_file(tmp_path / "missing.csv", scratch_stage, today=TODAY)
    assert result.refused
    assert messages(result)[0].startswith(f"cannot read {tmp_path / 'missing.csv'}: ")
