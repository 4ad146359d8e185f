"""ГИС ЖКХ's identifiers in the import (SPEC §4): els is an ЕЛС (two digits, two Cyrillic
capitals, six digits), gis_meter_number and replaces are kept as given; a bad value is a bad
line like any other column's."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain.gis import is_els
from bot.services.importer import check_file
from bot.services.importer.columns import check_els, check_gis_columns
from bot.storage.import_stage import scratch_stage

DIGIT = st.sampled_from("0123456789")
CAPITAL = st.sampled_from("АБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ")


@st.composite
def els_numbers(draw: st.DrawFn) -> str:
    parts = [DIGIT, DIGIT, CAPITAL, CAPITAL, *[DIGIT] * 6]
    return "".join(draw(part) for part in parts)


@given(els_numbers())
def test_every_els_of_the_documented_shape_is_accepted(number: str) -> None:
    problems: list[str] = []
    assert is_els(number)
    assert check_els(number, problems) == number and problems == []


@given(els_numbers(), st.integers(0, 9), st.sampled_from("AaBЁё -бz٣"))
def test_an_els_with_any_character_out_of_place_is_refused(
    number: str, where: int, wrong: str
) -> None:
    spoiled = number[:where] + wrong + number[where + 1 :]
    assume(spoiled != number)
    problems: list[str] = []
    assert not is_els(spoiled)
    assert check_els(spoiled, problems) is None or problems
    assert problems and "is not an ЕЛС" in problems[0]


@given(st.text(max_size=14))
def test_els_is_exactly_ten_characters_of_the_pattern(text: str) -> None:
    shaped = (
        len(text) == 10
        and all(c in "0123456789" for c in text[:2] + text[4:])
        and all("А" <= c <= "Я" for c in text[2:4])
    )
    assert is_els(text) == shaped


def test_empty_gis_cells_are_unknown_and_a_meter_cannot_replace_itself() -> None:
    problems: list[str] = []
    assert check_gis_columns("", "", "", "CW-1", problems) == (None, None, None)
    assert check_gis_columns("G-1", "12АБ345678", "CW-0", "CW-1", problems) == (
        "G-1",
        "12АБ345678",
        "CW-0",
    )
    assert problems == []
    check_gis_columns("x" * 65, "", "CW-1", "CW-1", problems)
    assert problems == [
        "gis_meter_number is longer than 64 characters",
        'replaces names the meter itself ("CW-1")',
    ]


def test_bad_gis_values_are_reported_per_line(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "account;phone;meter;resource;gis_meter_number;els;replaces\n"
        "5000000001;+79161234567;CW-1;cold_water;G-1;12АБ345678;\n"
        "5000000002;+79161234568;CW-2;cold_water;;12AB345678;\n"
        "5000000003;+79161234569;CW-3;cold_water;;;CW-3\n",
        encoding="utf-8",
    )
    check = check_file(path, scratch_stage, today=date(2026, 11, 20))
    assert [str(error) for error in check.errors] == [
        'line 3: els "12AB345678" is not an ЕЛС (two digits, two Cyrillic capitals, six digits,'
        " e.g. 12АБ345678)",
        'line 4: replaces names the meter itself ("CW-3")',
    ]
