from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.readings import (
    MAX_DIGITS_DEFAULT,
    RESOURCE_FLOORS,
    Accepted,
    InvalidReading,
    ParsedReading,
    PreviousReading,
    ReadingBelowPrevious,
    RolloverSuspected,
    UnusualConsumption,
    check_value,
    parse_reading,
)

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"

# --- parse_reading: rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("123", 123),
        ("0", 0),
        ("  123\n", 123),
        ("00123", 123),
        ("12 345", 12345),
        (" 12 345 ", 12345),
        ("1 234 567", 1234567),
        (f"1{NBSP}234{NBSP}567", 1234567),
        (f"12{NARROW_NBSP}345", 12345),
        (f"1 234{NBSP}567", 1234567),
        ("000 123", 123),
        ("123456789", 123456789),
    ],
)
def test_ascii_digits_optionally_grouped_in_thousands_are_accepted(text: str, value: int) -> None:
    assert parse_reading(text) == ParsedReading(value, fraction_dropped=False)


@pytest.mark.parametrize(
    ("text", "value"),
    [("123,45", 123), ("123.4", 123), ("1 234,567", 1234), ("0,5", 0), ("123,000", 123)],
)
def test_fraction_is_dropped_and_reported(text: str, value: int) -> None:
    assert parse_reading(text) == ParsedReading(value, fraction_dropped=True)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t", NBSP])
def test_nothing_typed_is_empty(text: str | None) -> None:
    assert parse_reading(text) == InvalidReading("empty", MAX_DIGITS_DEFAULT)


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "12a",
        "123 м3",
        "+123",
        "-123",
        "±5",
        "1e5",
        "1E5",
        "12,3,4",
        "12.3.4",
        "12,3.4",
        "12,",
        ",5",
        ".5",
        "123,",
        "12  345",  # two spaces
        "1234 567",  # not a thousands group: two figures typed together?
        "12 34",
        "12 3456",
        "1_000",
        "1'000",
        "12\t345",
        "12\n345",
        "١٢٣",  # Arabic-Indic
        "۱۲۳",  # Extended Arabic-Indic
        "１２３",  # fullwidth
        "१२३",  # Devanagari
        "¹²³",
        "12²",
        "½",
        "Ⅻ",
        "123,４５",
        "12 ３45",
        "0x1F",
        "1\u200b234",  # zero-width space
        "🔢",
    ],
)
def test_anything_else_is_not_a_number(text: str) -> None:
    assert parse_reading(text) == InvalidReading("not_a_number", MAX_DIGITS_DEFAULT)


def test_non_text_input_is_not_a_number() -> None:
    assert parse_reading(123) == InvalidReading("not_a_number", MAX_DIGITS_DEFAULT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "max_digits", "reason"),
    [
        ("1234567890", 9, "too_many_digits"),
        ("1 234 567 890", 9, "too_many_digits"),
        ("123456", 5, "too_many_digits"),
        ("12345", 5, None),
        ("12345,678", 5, None),  # the fraction does not count
        ("00123", 5, None),  # the dial shows leading zeros
        ("000123", 5, "too_many_digits"),  # leading zeros count as typed
        ("9" * 5000, 9, "too_many_digits"),  # longer than int() would even convert
    ],
)
def test_whole_part_may_not_exceed_max_digits(
    text: str, max_digits: int, reason: str | None
) -> None:
    result = parse_reading(text, max_digits=max_digits)
    if reason is None:
        assert isinstance(result, ParsedReading)
    else:
        assert result == InvalidReading("too_many_digits", max_digits)


def test_max_digits_is_reported_with_the_refusal() -> None:
    assert parse_reading("x", max_digits=6) == InvalidReading("not_a_number", 6)


def test_max_digits_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_reading("1", max_digits=0)


# --- parse_reading: properties --------------------------------------------------------------


@given(st.one_of(st.none(), st.text()))
def test_parse_reading_never_raises(text: str | None) -> None:
    result = parse_reading(text)
    assert isinstance(result, ParsedReading | InvalidReading)


@given(st.text(alphabet=st.sampled_from("0123456789 ,.\u00a0\u202f+-eE")))
def test_parse_reading_never_raises_on_near_misses(text: str) -> None:
    result = parse_reading(text)
    if isinstance(result, ParsedReading):
        assert 0 <= result.value < 10**MAX_DIGITS_DEFAULT


_digits = st.integers(min_value=1, max_value=MAX_DIGITS_DEFAULT)


@st.composite
def _numbers(draw: st.DrawFn) -> tuple[int, int]:
    max_digits = draw(_digits)
    return draw(st.integers(min_value=0, max_value=10**max_digits - 1)), max_digits


def _grouped(n: int, separator: str) -> str:
    return f"{n:,}".replace(",", separator)


@given(_numbers())
def test_plain_number_parses_to_itself(number: tuple[int, int]) -> None:
    n, max_digits = number
    assert parse_reading(str(n), max_digits=max_digits) == ParsedReading(n, False)


@given(_numbers(), st.sampled_from([" ", NBSP, NARROW_NBSP]))
def test_grouped_number_parses_to_itself(number: tuple[int, int], separator: str) -> None:
    n, max_digits = number
    assert parse_reading(_grouped(n, separator), max_digits=max_digits) == ParsedReading(n, False)


@given(
    _numbers(),
    st.sampled_from([",", "."]),
    st.text(alphabet="0123456789", min_size=1, max_size=6),
    st.booleans(),
)
def test_number_with_fraction_parses_to_its_whole_part(
    number: tuple[int, int], separator: str, fraction: str, grouped: bool
) -> None:
    n, max_digits = number
    whole = _grouped(n, " ") if grouped else str(n)
    result = parse_reading(f"{whole}{separator}{fraction}", max_digits=max_digits)
    assert result == ParsedReading(n, fraction_dropped=True)


@given(_numbers(), st.integers(min_value=0, max_value=3))
def test_leading_zeros_are_fine_up_to_max_digits(number: tuple[int, int], zeros: int) -> None:
    n, max_digits = number
    text = "0" * zeros + str(n)
    result = parse_reading(text, max_digits=max_digits)
    if len(text) <= max_digits:
        assert result == ParsedReading(n, False)
    else:
        assert result == InvalidReading("too_many_digits", max_digits)


@given(_digits, st.integers(min_value=1, max_value=20))
def test_too_many_digits_are_refused(max_digits: int, extra: int) -> None:
    text = "1" * (max_digits + extra)
    assert parse_reading(text, max_digits=max_digits) == InvalidReading(
        "too_many_digits", max_digits
    )


_non_ascii_digits = st.characters(categories=["Nd"]).filter(lambda c: c not in "0123456789")


@given(
    st.text(alphabet="0123456789", max_size=4),
    _non_ascii_digits,
    st.text(alphabet="0123456789", max_size=4),
)
def test_non_ascii_digit_anywhere_is_refused(before: str, digit: str, after: str) -> None:
    assert parse_reading(before + digit + after) == InvalidReading(
        "not_a_number", MAX_DIGITS_DEFAULT
    )


@given(st.integers(0, 10**6), st.sampled_from("¹²³⁴⁵⁶⁷⁸⁹⁰"), st.booleans())
def test_superscripts_are_refused(n: int, superscript: str, at_end: bool) -> None:
    text = f"{n}{superscript}" if at_end else f"{superscript}{n}"
    assert parse_reading(text) == InvalidReading("not_a_number", MAX_DIGITS_DEFAULT)


@given(st.integers(0, 10**6), st.sampled_from(["+", "-", "±", "−"]))
def test_signs_are_refused(n: int, sign: str) -> None:
    assert parse_reading(f"{sign}{n}") == InvalidReading("not_a_number", MAX_DIGITS_DEFAULT)


@given(st.integers(0, 10**4), st.sampled_from("eE"), st.integers(0, 99))
def test_exponents_are_refused(mantissa: int, e: str, exponent: int) -> None:
    assert parse_reading(f"{mantissa}{e}{exponent}") == InvalidReading(
        "not_a_number", MAX_DIGITS_DEFAULT
    )


# --- check_value ----------------------------------------------------------------------------

PREVIOUS = PreviousReading(1000, date(2026, 10, 20))
FLOOR = RESOURCE_FLOORS["cold_water"]


def _check(
    value: int,
    *,
    previous: PreviousReading | None = PREVIOUS,
    digits: int | None = None,
    recent: tuple[int, ...] = (),
    floor: int = FLOOR,
) -> object:
    return check_value(
        value, previous=previous, digits=digits, recent_consumptions=recent, floor=floor
    )


def test_first_reading_is_accepted_without_consumption() -> None:
    assert _check(5, previous=None) == Accepted(consumption=None)
    assert _check(5, previous=None, recent=(1, 1, 1), digits=5) == Accepted(consumption=None)


def test_value_at_or_above_previous_is_accepted_with_consumption() -> None:
    assert _check(1000) == Accepted(0)
    assert _check(1012) == Accepted(12)


def test_value_below_previous_is_refused_with_previous_date() -> None:
    result = _check(999)
    assert result == ReadingBelowPrevious(PREVIOUS)
    assert isinstance(result, ReadingBelowPrevious)
    assert result.previous.taken_on == date(2026, 10, 20)


def test_value_below_previous_without_digits_is_never_a_rollover() -> None:
    assert _check(3, previous=PreviousReading(99_998, None)) == ReadingBelowPrevious(
        PreviousReading(99_998, None)
    )


@pytest.mark.parametrize(
    ("previous", "value", "digits", "consumption"),
    [
        (99_998, 3, 5, 5),
        (99_950, 30, 5, 80),
        (9_990, 10, 4, 20),
        (95_000, 5_000, 5, 10_000),  # exactly a tenth of the dial: still plausible
    ],
)
def test_plausible_drop_on_a_dial_is_a_rollover_to_confirm(
    previous: int, value: int, digits: int, consumption: int
) -> None:
    assert _check(value, previous=PreviousReading(previous, None), digits=digits) == (
        RolloverSuspected(consumption)
    )


@pytest.mark.parametrize(
    ("previous", "value", "digits"),
    [
        (99_000, 9_001, 5),  # wrap-around 10 001: more than a tenth of the dial
        (50_000, 100, 5),
        (123_456, 5, 5),  # the previous value does not fit the dial
        (1_000, 999, 3),  # nor does it here
    ],
)
def test_implausible_rollover_is_refused_as_below_previous(
    previous: int, value: int, digits: int
) -> None:
    prev = PreviousReading(previous, date(2026, 10, 1))
    assert _check(value, previous=prev, digits=digits) == ReadingBelowPrevious(prev)


def test_consumption_above_three_times_average_and_floor_is_unusual() -> None:
    assert _check(1040, recent=(10, 12, 8)) == UnusualConsumption(40, 10.0)


def test_consumption_at_three_times_average_is_usual() -> None:
    assert _check(1030, recent=(10, 10, 10)) == Accepted(30)


def test_consumption_under_the_floor_is_never_unusual() -> None:
    assert _check(1015, recent=(1, 1, 1), floor=15) == Accepted(15)
    assert _check(1016, recent=(1, 1, 1), floor=15) == UnusualConsumption(16, 1.0)


def test_no_recent_consumptions_means_no_unusual_check() -> None:
    assert _check(1_000_000, recent=()) == Accepted(999_000)


def test_zero_average_flags_anything_above_the_floor() -> None:
    assert _check(1020, recent=(0, 0, 0, 0, 0, 0)) == UnusualConsumption(20, 0.0)


def test_every_resource_has_a_floor() -> None:
    assert set(RESOURCE_FLOORS) == {"cold_water", "hot_water", "electricity", "gas", "heat"}
    assert all(floor > 0 for floor in RESOURCE_FLOORS.values())


def test_negative_value_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        _check(-1)


@given(
    st.integers(0, 10**9),
    st.one_of(st.none(), st.integers(0, 10**9)),
    st.one_of(st.none(), st.integers(1, 9)),
    st.lists(st.integers(0, 10**4), max_size=6),
)
def test_check_value_is_total_and_consistent(
    value: int, previous: int | None, digits: int | None, recent: list[int]
) -> None:
    prev = None if previous is None else PreviousReading(previous, None)
    result = check_value(
        value, previous=prev, digits=digits, recent_consumptions=recent, floor=FLOOR
    )
    if prev is None:
        assert result == Accepted(None)
    elif value >= prev.value:
        assert isinstance(result, Accepted | UnusualConsumption)
        assert result.consumption == value - prev.value
    else:
        assert isinstance(result, ReadingBelowPrevious | RolloverSuspected)
        if isinstance(result, RolloverSuspected):
            assert digits is not None
            assert 0 < result.consumption <= 10**digits // 10
            assert (prev.value + result.consumption) % 10**digits == value
