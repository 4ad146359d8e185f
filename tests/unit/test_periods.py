from datetime import date

import pytest

from bot.domain.periods import Period


def test_period_is_written_yyyy_mm() -> None:
    assert str(Period(2026, 11)) == "2026-11"
    assert str(Period(987, 1)) == "0987-01"


@pytest.mark.parametrize(
    ("text", "period"), [("2026-11", Period(2026, 11)), ("2027-01", Period(2027, 1))]
)
def test_parse_reads_what_str_writes(text: str, period: Period) -> None:
    assert Period.parse(text) == period
    assert str(Period.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-1",
        "26-11",
        "2026/11",
        "2026-11-01",
        " 2026-11",
        "２０２６-11",
        "0000-01",
    ],
)
def test_parse_refuses_anything_but_yyyy_mm(text: str) -> None:
    with pytest.raises(ValueError):
        Period.parse(text)


def test_month_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        Period(2026, 13)


@pytest.mark.parametrize(
    ("period", "following"),
    [
        (Period(2026, 11), Period(2026, 12)),
        (Period(2026, 12), Period(2027, 1)),
        (Period(2027, 1), Period(2027, 2)),
    ],
)
def test_next_and_prev_cross_the_new_year(period: Period, following: Period) -> None:
    assert period.next() == following
    assert following.prev() == period


def test_periods_order_by_year_then_month() -> None:
    assert Period(2026, 12) < Period(2027, 1) < Period(2027, 2)
    assert max(Period(2026, 12), Period(2027, 1)) == Period(2027, 1)


@pytest.mark.parametrize(
    ("day", "period"),
    [(date(2026, 11, 1), Period(2026, 11)), (date(2026, 12, 31), Period(2026, 12))],
)
def test_of_gives_the_month_of_the_day(day: date, period: Period) -> None:
    assert Period.of(day) == period


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        (Period(2026, 11), date(2026, 11, 1), date(2026, 11, 30)),
        (Period(2026, 12), date(2026, 12, 1), date(2026, 12, 31)),
        (Period(2027, 2), date(2027, 2, 1), date(2027, 2, 28)),
        (Period(2028, 2), date(2028, 2, 1), date(2028, 2, 29)),
    ],
)
def test_first_and_last_day_follow_month_length(period: Period, first: date, last: date) -> None:
    assert period.first_day == first
    assert period.last_day == last


def test_day_past_month_end_is_clamped_to_last_day() -> None:
    assert Period(2027, 2).day(31) == date(2027, 2, 28)
    assert Period(2028, 2).day(30) == date(2028, 2, 29)
    assert Period(2026, 4).day(31) == date(2026, 4, 30)
    assert Period(2026, 4).day(15) == date(2026, 4, 15)
