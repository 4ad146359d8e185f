from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow, WindowDates

DEFAULT = SubmissionWindow(15, 3)


@pytest.mark.parametrize(("start", "end"), [(0, 3), (15, 0), (32, 3), (15, 32), (-1, 5)])
def test_days_outside_1_to_31_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError):
        SubmissionWindow(start, end)


def test_non_integer_day_is_refused() -> None:
    with pytest.raises(ValueError):
        SubmissionWindow(True, 3)


@pytest.mark.parametrize(
    ("window", "period", "opens", "closes"),
    [
        # the default 15 → 3 ends in the next month
        (DEFAULT, Period(2026, 11), date(2026, 11, 15), date(2026, 12, 3)),
        # December → January
        (DEFAULT, Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3)),
        # same-month window
        (SubmissionWindow(1, 25), Period(2026, 11), date(2026, 11, 1), date(2026, 11, 25)),
        # one-day window
        (SubmissionWindow(20, 20), Period(2026, 11), date(2026, 11, 20), date(2026, 11, 20)),
        # month ends: start 31 opens on the month's last day
        (SubmissionWindow(31, 5), Period(2026, 4), date(2026, 4, 30), date(2026, 5, 5)),
        (SubmissionWindow(31, 5), Period(2027, 2), date(2027, 2, 28), date(2027, 3, 5)),
        (SubmissionWindow(31, 5), Period(2028, 2), date(2028, 2, 29), date(2028, 3, 5)),
        # February with end day 30 and 31 closes on its last day
        (SubmissionWindow(1, 30), Period(2027, 2), date(2027, 2, 1), date(2027, 2, 28)),
        (SubmissionWindow(1, 31), Period(2027, 2), date(2027, 2, 1), date(2027, 2, 28)),
        (SubmissionWindow(1, 30), Period(2028, 2), date(2028, 2, 1), date(2028, 2, 29)),
        (SubmissionWindow(20, 31), Period(2028, 2), date(2028, 2, 20), date(2028, 2, 29)),
        # same month, both days past the end of February: a one-day window on its last day
        (SubmissionWindow(30, 31), Period(2027, 2), date(2027, 2, 28), date(2027, 2, 28)),
        # ends in February: 29 and 30 clamp, leap year or not
        (SubmissionWindow(20, 29), Period(2027, 1), date(2027, 1, 20), date(2027, 1, 29)),
        (SubmissionWindow(31, 27), Period(2027, 1), date(2027, 1, 31), date(2027, 2, 27)),
        (SubmissionWindow(31, 28), Period(2028, 1), date(2028, 1, 31), date(2028, 2, 28)),
        # clamped end would meet the next opening: close the day before it
        (SubmissionWindow(31, 30), Period(2027, 1), date(2027, 1, 31), date(2027, 2, 27)),
        (SubmissionWindow(31, 30), Period(2028, 1), date(2028, 1, 31), date(2028, 2, 28)),
        (SubmissionWindow(31, 30), Period(2026, 3), date(2026, 3, 31), date(2026, 4, 29)),
        (SubmissionWindow(31, 30), Period(2026, 4), date(2026, 4, 30), date(2026, 5, 30)),
        (SubmissionWindow(30, 29), Period(2027, 1), date(2027, 1, 30), date(2027, 2, 27)),
        (SubmissionWindow(30, 29), Period(2028, 1), date(2028, 1, 30), date(2028, 2, 28)),
    ],
)
def test_bounds_clamp_to_month_ends(
    window: SubmissionWindow, period: Period, opens: date, closes: date
) -> None:
    assert window.bounds(period) == (opens, closes)


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2026, 11, 14), None),
        (date(2026, 11, 15), Period(2026, 11)),
        (date(2026, 11, 30), Period(2026, 11)),
        (date(2026, 12, 2), Period(2026, 11)),
        (date(2026, 12, 3), Period(2026, 11)),
        (date(2026, 12, 4), None),
        (date(2026, 12, 31), Period(2026, 12)),
        (date(2027, 1, 2), Period(2026, 12)),
        (date(2027, 1, 3), Period(2026, 12)),
        (date(2027, 1, 4), None),
    ],
)
def test_period_is_the_month_the_default_window_opened(day: date, period: Period | None) -> None:
    assert DEFAULT.period_for(day) == period
    assert DEFAULT.is_open(day) is (period is not None)


@pytest.mark.parametrize(
    ("window", "day", "period"),
    [
        (SubmissionWindow(1, 25), date(2026, 11, 1), Period(2026, 11)),
        (SubmissionWindow(1, 25), date(2026, 11, 25), Period(2026, 11)),
        (SubmissionWindow(1, 25), date(2026, 11, 26), None),
        (SubmissionWindow(1, 25), date(2026, 12, 31), None),
        (SubmissionWindow(20, 20), date(2026, 11, 19), None),
        (SubmissionWindow(20, 20), date(2026, 11, 20), Period(2026, 11)),
        (SubmissionWindow(20, 20), date(2026, 11, 21), None),
        (SubmissionWindow(31, 30), date(2027, 2, 27), Period(2027, 1)),
        (SubmissionWindow(31, 30), date(2027, 2, 28), Period(2027, 2)),
        (SubmissionWindow(28, 1), date(2028, 2, 29), Period(2028, 2)),
        (SubmissionWindow(28, 1), date(2028, 3, 1), Period(2028, 2)),
        (SubmissionWindow(28, 1), date(2028, 3, 2), None),
    ],
)
def test_period_for_other_windows(
    window: SubmissionWindow, day: date, period: Period | None
) -> None:
    assert window.period_for(day) == period


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [
        (None, None, SubmissionWindow(15, 3)),
        (20, 25, SubmissionWindow(20, 25)),
        (20, None, SubmissionWindow(20, 3)),
        (None, 28, SubmissionWindow(15, 28)),
    ],
)
def test_meter_days_override_the_default(
    start: int | None, end: int | None, window: SubmissionWindow
) -> None:
    assert SubmissionWindow.for_meter(DEFAULT, start, end) == window


def test_meter_with_own_days_uses_them_for_the_period() -> None:
    window = SubmissionWindow.for_meter(DEFAULT, 20, 25)
    assert window.period_for(date(2026, 11, 16)) is None
    assert window.period_for(date(2026, 11, 22)) == Period(2026, 11)
    assert DEFAULT.period_for(date(2026, 11, 16)) == Period(2026, 11)


def test_meter_with_invalid_own_day_is_refused() -> None:
    with pytest.raises(ValueError):
        SubmissionWindow.for_meter(DEFAULT, 40, None)


@pytest.mark.parametrize(
    ("window", "day", "expected"),
    [
        # closed: the next window to open
        (
            DEFAULT,
            date(2026, 12, 4),
            WindowDates(Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3)),
        ),
        (
            DEFAULT,
            date(2026, 12, 14),
            WindowDates(Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3)),
        ),
        (
            DEFAULT,
            date(2027, 1, 4),
            WindowDates(Period(2027, 1), date(2027, 1, 15), date(2027, 2, 3)),
        ),
        (
            SubmissionWindow(1, 25),
            date(2026, 12, 26),
            WindowDates(Period(2027, 1), date(2027, 1, 1), date(2027, 1, 25)),
        ),
        (
            SubmissionWindow(31, 5),
            date(2027, 2, 10),
            WindowDates(Period(2027, 2), date(2027, 2, 28), date(2027, 3, 5)),
        ),
        # open: the one after the current, never today's
        (
            DEFAULT,
            date(2026, 12, 2),
            WindowDates(Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3)),
        ),
        (
            DEFAULT,
            date(2026, 12, 15),
            WindowDates(Period(2027, 1), date(2027, 1, 15), date(2027, 2, 3)),
        ),
        (
            SubmissionWindow(20, 20),
            date(2026, 11, 20),
            WindowDates(Period(2026, 12), date(2026, 12, 20), date(2026, 12, 20)),
        ),
    ],
)
def test_next_window_opens_strictly_after_the_day(
    window: SubmissionWindow, day: date, expected: WindowDates
) -> None:
    assert window.next_window(day) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 2), WindowDates(Period(2026, 11), date(2026, 11, 15), date(2026, 12, 3))),
        (date(2026, 12, 4), WindowDates(Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3))),
        (date(2027, 1, 3), WindowDates(Period(2026, 12), date(2026, 12, 15), date(2027, 1, 3))),
    ],
)
def test_current_or_next_gives_the_open_window_else_the_next(
    day: date, expected: WindowDates
) -> None:
    assert DEFAULT.current_or_next(day) == expected
    period, opens, closes = DEFAULT.current_or_next(day)
    assert (period, opens, closes) == expected


@pytest.mark.parametrize(
    ("day", "days"),
    [
        (date(2026, 11, 14), None),
        (date(2026, 11, 15), 18),
        (date(2026, 12, 1), 2),
        (date(2026, 12, 3), 0),
        (date(2026, 12, 4), None),
    ],
)
def test_days_until_close(day: date, days: int | None) -> None:
    assert DEFAULT.days_until_close(day) == days


@pytest.mark.parametrize(
    ("window", "day", "expected"),
    [
        (DEFAULT, date(2026, 11, 15), True),
        (DEFAULT, date(2026, 11, 16), False),
        (DEFAULT, date(2026, 12, 3), False),
        (SubmissionWindow(31, 5), date(2027, 2, 28), True),
        (SubmissionWindow(31, 5), date(2028, 2, 28), False),
        (SubmissionWindow(31, 5), date(2028, 2, 29), True),
    ],
)
def test_opens_on_is_true_on_a_windows_first_day(
    window: SubmissionWindow, day: date, expected: bool
) -> None:
    assert window.opens_on(day) is expected


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        (date(2026, 12, 1), 2, True),
        (date(2026, 12, 2), 2, False),
        (date(2026, 12, 3), 0, True),
        (date(2027, 1, 1), 2, True),
        (date(2026, 11, 13), 20, False),  # closed: no window to close
        (date(2026, 12, 4), -1, False),
    ],
)
def test_closes_in_counts_days_to_the_open_windows_last_day(
    day: date, days: int, expected: bool
) -> None:
    assert DEFAULT.closes_in(day, days) is expected


def _every_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


_WINDOWS = [
    DEFAULT,
    SubmissionWindow(1, 25),
    SubmissionWindow(20, 20),
    SubmissionWindow(31, 30),
    SubmissionWindow(30, 29),
    SubmissionWindow(31, 1),
    SubmissionWindow(29, 31),
    SubmissionWindow(2, 1),
]


def _assert_agrees_with_bounds(window: SubmissionWindow, day: date) -> None:
    this_month = Period.of(day)
    containing = [
        period
        for period in (this_month.prev(), this_month)
        if window.bounds(period)[0] <= day <= window.bounds(period)[1]
    ]
    assert len(containing) <= 1, f"{window} has overlapping windows on {day}"
    expected = containing[0] if containing else None
    assert window.period_for(day) == expected
    if expected is not None:
        opens, closes = window.bounds(expected)
        assert window.days_until_close(day) == (closes - day).days
        assert window.current_or_next(day) == (expected, opens, closes)
    else:
        period, opens, closes = window.current_or_next(day)
        assert opens > day
        assert window.next_window(day) == (period, opens, closes)


@pytest.mark.parametrize("window", _WINDOWS, ids=str)
def test_period_for_agrees_with_bounds_on_every_day(window: SubmissionWindow) -> None:
    # Two years, one of them leap, plus the December → January turns around them.
    for day in _every_day(date(2027, 12, 1), date(2029, 1, 31)):
        _assert_agrees_with_bounds(window, day)


@pytest.mark.parametrize("window", _WINDOWS, ids=str)
def test_every_window_opens_in_its_period_and_is_not_empty(window: SubmissionWindow) -> None:
    period = Period(2027, 1)
    for _ in range(24):
        opens, closes = window.bounds(period)
        assert Period.of(opens) == period
        assert opens <= closes
        assert closes < window.bounds(period.next())[0]
        period = period.next()


@given(
    start=st.integers(1, 31),
    end=st.integers(1, 31),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_any_window_agrees_with_bounds(start: int, end: int, day: date) -> None:
    window = SubmissionWindow(start, end)
    _assert_agrees_with_bounds(window, day)
    following = window.next_window(day)
    assert following.opens > day
    assert window.opens_on(following.opens)
    # no window opens between `day` and the next one
    assert not any(
        window.opens_on(d) for d in _every_day(day + timedelta(days=1), following.opens)[:-1]
    )
