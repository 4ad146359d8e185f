"""The import's parts on their own: reading the file (parse) and the column checks (columns),
as plain functions; the file as a whole is test_import_validation's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from bot.services.importer import columns
from bot.services.importer.parse import Header, ImportFile, fit, header_positions, separator
from bot.services.importer.rows import RowError


def problems_of(check: Callable[..., Any], *args: object) -> tuple[Any, list[str]]:
    """What a column check returns, and the problems it found (every check's last argument)."""
    problems: list[str] = []
    value = check(*args, problems)
    return value, problems


# --- parse --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [("a;b;c", ";"), ("a,b,c", ","), ("a;b,c", ","), ("a;b;c,d", ";"), ("abc", ",")],
)
def test_the_separator_is_the_one_the_header_holds_more_of(header: str, expected: str) -> None:
    assert separator(header) == expected


def test_header_positions_ignore_case_spaces_and_unknown_columns() -> None:
    positions, errors = header_positions([" Account ", "x", "PHONE", "meter", "resource"])
    assert errors == []
    assert positions == {"account": 0, "phone": 2, "meter": 3, "resource": 4}


def test_a_header_without_known_columns_names_them_all() -> None:
    _, errors = header_positions(["foo", "bar"])
    assert errors[0].line is None
    assert "the first line must be the header" in errors[0].message
    assert [error.message for error in errors[1:]] == [
        "missing column: account",
        "missing column: phone",
        "missing column: meter",
        "missing column: resource",
    ]


def test_short_rows_end_in_empty_cells_and_empty_extra_cells_are_dropped() -> None:
    header = Header(";", 3, {})
    short, extra = ["a"], ["a", "b", "c", " ", ""]
    assert fit(2, short, header) is None
    assert fit(3, extra, header) is None
    assert short == ["a", "", ""]
    assert extra == ["a", "b", "c"]


def test_a_filled_cell_past_the_header_is_an_unquoted_separator() -> None:
    error = fit(4, ["a", "b", "c", "d"], Header(";", 3, {}))
    assert error == RowError(
        4, '4 cells but the header has 3; is there a ";" inside a value that is not in quotes?'
    )


def test_records_are_numbered_by_their_first_physical_line() -> None:
    lines = [b"account;phone;meter;resource\n", b"1;2;3;4\n", b"\n", b'1;"2\n', b'";3;4\n']
    file = ImportFile([*lines, b"5;6;7\n"])
    header = file.header()
    assert header == Header(";", 4, {"account": 0, "phone": 1, "meter": 2, "resource": 3})
    records = list(file.records(header, lambda line, cells: (line, cells)))
    assert records == [
        (2, ["1", "2", "3", "4"]),
        RowError(4, "a quoted value runs on to line 5; is a closing quote missing?"),
        (6, ["5", "6", "7", ""]),
    ]


# --- columns ------------------------------------------------------------------------------------


def test_an_account_number_is_not_empty_and_matches_the_pattern() -> None:
    accounts = columns.AccountNumbers(re.compile(r"\d{3}"))
    assert problems_of(accounts.check, "123")[1] == []
    assert problems_of(accounts.check, "123")[1] == []  # the run's number, remembered
    assert problems_of(accounts.check, "")[1] == ["account is empty"]
    assert problems_of(accounts.check, "12x")[1] == [
        'account "12x" is not a well-formed account number (ACCOUNT_NUMBER_PATTERN \\d{3})'
    ]
    assert problems_of(accounts.check, "12x")[1] == [
        'account "12x" is not a well-formed account number (ACCOUNT_NUMBER_PATTERN \\d{3})'
    ]


def test_phones_are_normalised_and_a_bad_one_says_why() -> None:
    phones = columns.Phones()
    assert problems_of(phones.check, "8 (916) 123-45-67") == ("+79161234567", [])
    assert problems_of(phones.check, "") == (None, ["phone is empty"])
    value, problems = problems_of(phones.check, "12")
    assert value is None
    assert problems[0].startswith('phone "12": ')


@pytest.mark.parametrize(
    ("text", "expected", "problem"),
    [
        ("", None, None),
        ("2026-11-01", "2026-11-01", None),
        ("2026-02-30", None, 'last_date "2026-02-30" is not a real date'),
        ("01.11.2026", None, 'last_date "01.11.2026" is not a date in the form YYYY-MM-DD'),
    ],
)
def test_a_date_is_empty_or_a_real_iso_date(
    text: str, expected: str | None, problem: str | None
) -> None:
    value, problems = problems_of(columns.Dates().check, "last_date", text)
    assert value == expected
    assert problems == ([] if problem is None else [problem])


def test_a_last_date_may_be_one_day_ahead_of_today() -> None:
    latest = columns.latest_date(date(2026, 11, 27))
    assert problems_of(columns.check_not_future, "2026-11-28", latest)[1] == []
    assert problems_of(columns.check_not_future, "2026-11-29", latest)[1] == [
        "last_date 2026-11-29 is in the future"
    ]


def test_a_resource_is_read_in_any_case() -> None:
    assert problems_of(columns.check_resource, "Cold_Water") == ("cold_water", [])
    assert problems_of(columns.check_resource, "")[1] == [
        "resource (empty) is not one of cold_water, hot_water, electricity, gas, heat"
    ]


def test_only_electricity_meters_have_more_than_one_zone() -> None:
    assert problems_of(columns.check_tariffs, "", "gas") == (1, [])
    assert problems_of(columns.check_tariffs, "3", "electricity") == (3, [])
    assert problems_of(columns.check_tariffs, "2", "gas") == (
        2,
        ["tariffs is 2 but only electricity meters have more than one zone"],
    )
    assert problems_of(columns.check_tariffs, "4", "gas")[1] == ['tariffs "4" is not 1, 2 or 3']


def test_digits_are_a_whole_number_up_to_the_most_a_resident_may_type() -> None:
    assert problems_of(columns.check_digits, "") == (None, [])
    assert problems_of(columns.check_digits, "9") == (9, [])
    assert problems_of(columns.check_digits, "10")[1] == [
        'digits "10" is not a whole number from 1 to 9'
    ]


def test_window_days_go_together() -> None:
    assert problems_of(columns.check_window, "", "") == ((None, None), [])
    assert problems_of(columns.check_window, "05", "25") == ((5, 25), [])
    assert problems_of(columns.check_window, "32", "")[1] == [
        'window_start "32" is not a day of the month from 1 to 31',
        "window_start and window_end go together: give both or neither",
    ]


def test_the_usual_last_reading_and_its_date() -> None:
    check = columns.check_last_readings
    assert problems_of(check, ("123", "", ""), 1, None, "2026-11-01") == ((123, None, None), [])
    assert problems_of(check, ("123", "", ""), 1, None, "")[1] == [
        "last_date is missing: it is required with last_t1"
    ]
    assert problems_of(check, ("", "", ""), 1, None, "2026-11-01")[1] == [
        "last_date is given without last_t1"
    ]


def test_a_fraction_is_dropped_and_leading_zeros_do_not_count_as_digits() -> None:
    check = columns.check_last_readings
    assert problems_of(check, ("12,7", "", ""), 1, None, "2026-11-01") == ((12, None, None), [])
    assert problems_of(check, ("00042", "", ""), 1, 3, "2026-11-01") == ((42, None, None), [])
    assert problems_of(check, ("1234", "", ""), 1, 3, "2026-11-01")[1] == [
        "last_t1 1234 has more than 3 digits"
    ]


def test_last_readings_are_zones_one_to_tariffs_all_or_none() -> None:
    check = columns.check_last_readings
    assert problems_of(check, ("1", "2", "3"), 3, None, "2026-11-01") == ((1, 2, 3), [])
    assert problems_of(check, ("1", "", "3"), 2, None, "2026-11-01")[1] == [
        "last_t3 is given but the meter has 2 zones",
        "last_t2 missing: a 2-zone meter needs last_t1..last_t2 all together, or none",
    ]
    assert problems_of(check, ("", "5", ""), 1, None, "2026-11-01")[1] == [
        "last_t2 is given but the meter has 1 zone",
        "last_t1 is missing",
    ]
