import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.models import ChatNotLinked, MeterGone, SavedReading
from bot.domain.periods import Period
from bot.domain.readings import (
    MAX_DIGITS_DEFAULT,
    RESOURCE_CEILINGS,
    RESOURCE_FLOORS,
    AboveCeiling,
    Accepted,
    InvalidReading,
    ParsedReading,
    PreviousReading,
    ReadingBelowPrevious,
    RolloverSuspected,
    UnusualConsumption,
    check_value,
    consumption_ceiling,
    months_since,
    parse_reading,
)
from bot.storage.chats import LinkRepository
from bot.storage.copy import align_identities
from bot.storage.db import Database, IntegrityViolation
from bot.storage.reading_saves import receipt_number
from bot.storage.readings import ReadingRepository
from tests.seed import M, add_account

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

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
    not_text: Any = 123  # what the type forbids, on purpose: the parser's guard is the subject
    assert parse_reading(not_text) == InvalidReading("not_a_number", MAX_DIGITS_DEFAULT)


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


# --- ceilings for meters without history (SPEC §6) ------------------------------------------

RESOURCES = ("cold_water", "hot_water", "electricity", "gas", "heat")


def test_every_resource_has_a_monthly_ceiling_above_its_floor() -> None:
    assert set(RESOURCE_CEILINGS) == set(RESOURCES)
    assert all(RESOURCE_CEILINGS[r] > RESOURCE_FLOORS[r] for r in RESOURCES)


@pytest.mark.parametrize(
    ("taken_on", "today", "months"),
    [
        (date(2026, 10, 16), date(2026, 11, 20), 2),  # five weeks: a started month counts
        (date(2026, 10, 20), date(2026, 11, 20), 1),
        (date(2026, 10, 31), date(2026, 11, 30), 1),
        (date(2026, 11, 19), date(2026, 11, 20), 1),  # a day: at least one month
        (date(2026, 11, 20), date(2026, 11, 20), 1),
        (date(2026, 12, 1), date(2026, 11, 20), 1),  # dated after today: still one
        (date(2025, 11, 21), date(2026, 11, 20), 12),
        (date(2024, 1, 5), date(2026, 11, 20), 35),  # never capped: a long gap, a big ceiling
        (None, date(2026, 11, 20), 1),
    ],
)
def test_months_since_the_last_reading_round_up_and_are_at_least_one(
    taken_on: date | None, today: date, months: int
) -> None:
    assert months_since(taken_on, today) == months


@given(st.dates(), st.dates())
def test_months_since_covers_the_whole_gap(taken_on: date, today: date) -> None:
    months = months_since(taken_on, today)
    assert months >= 1
    if today > taken_on:  # the months counted reach today, and one fewer would not
        assert (today - taken_on).days <= months * 31
        assert (today - taken_on).days > (months - 1) * 28 - 3 or months == 1


def test_the_ceiling_is_the_monthly_one_times_the_months() -> None:
    assert consumption_ceiling("hot_water", 2) == 2 * RESOURCE_CEILINGS["hot_water"]
    assert consumption_ceiling("gas", 0) == RESOURCE_CEILINGS["gas"]
    assert consumption_ceiling("steam", 3) is None


def test_first_month_typo_above_the_ceiling_is_to_confirm() -> None:
    # 176 → 400 m³ of hot water in five weeks, no history: 224 m³ against 2 × 20
    ceiling = consumption_ceiling("hot_water", months_since(date(2026, 10, 16), date(2026, 11, 20)))
    assert ceiling == 40
    prev = PreviousReading(176, date(2026, 10, 16))
    assert _check_ceiling(400, prev, ceiling) == AboveCeiling(224, 40)
    assert _check_ceiling(216, prev, ceiling) == Accepted(40)  # at the ceiling: no question
    assert _check_ceiling(217, prev, ceiling) == AboveCeiling(41, 40)


def _check_ceiling(
    value: int, previous: PreviousReading | None, ceiling: int | None, recent: tuple[int, ...] = ()
) -> object:
    return check_value(
        value,
        previous=previous,
        digits=None,
        recent_consumptions=recent,
        floor=FLOOR,
        ceiling=ceiling,
    )


def test_with_history_the_average_judges_not_the_ceiling() -> None:
    prev = PreviousReading(1000, None)
    assert _check_ceiling(1100, prev, 40, recent=(30, 40, 35)) == Accepted(100)
    assert _check_ceiling(1030, prev, 40, recent=(1, 1, 1)) == UnusualConsumption(30, 1.0)


def test_without_a_previous_reading_there_is_nothing_to_measure() -> None:
    assert _check_ceiling(10**8, None, 40) == Accepted(None)


def test_a_rollover_is_asked_about_as_a_rollover_not_a_ceiling() -> None:
    result = check_value(
        5,
        previous=PreviousReading(99_990, None),
        digits=5,
        recent_consumptions=(),
        floor=FLOOR,
        ceiling=1,
    )
    assert result == RolloverSuspected(15)


@given(
    st.text(alphabet=st.sampled_from("0123456789 ,.\u00a0x")),
    st.integers(0, 10**6),
    st.sampled_from(RESOURCES),
    st.integers(1, 36),
)
def test_any_typed_value_without_history_is_asked_about_exactly_above_the_ceiling(
    text: str, previous: int, resource: str, months: int
) -> None:
    parsed = parse_reading(text)
    if not isinstance(parsed, ParsedReading):
        return
    ceiling = consumption_ceiling(resource, months)
    assert ceiling is not None
    result = _check_ceiling(parsed.value, PreviousReading(previous, None), ceiling)
    consumption = parsed.value - previous
    if consumption < 0:
        assert isinstance(result, ReadingBelowPrevious)
    elif consumption > ceiling:
        assert result == AboveCeiling(consumption, ceiling)
    else:
        assert result == Accepted(consumption)


# --- ReadingRepository.save: one statement (migration 0003's trigger marks the replaced) ------

NOV = Period(2026, 11)
AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHAT = 1001


@pytest.fixture
async def account(db: Database) -> int:
    account_id = await add_account(
        db, "5012345678", "+79161234567", M("CW-1", "cold_water"), M("EL-2", "electricity", 2)
    )
    await LinkRepository(db).link(CHAT, account_id, AT)
    return account_id


async def _save(
    db: Database,
    key: str,
    *values: int,
    meter: int = 1,
    at: datetime = AT,
    account: int | None = None,
) -> SavedReading:
    return await ReadingRepository(db).save(
        meter_id=meter,
        period=NOV,
        values=values or (5,),
        chat_id=CHAT,
        at=at,
        request_key=key,
        linked_account_id=account,
    )


async def _rows(db: Database) -> list[tuple[object, ...]]:
    rows = await db.fetchall(
        "SELECT id, meter_id, t1, receipt, request_key, replaced_at FROM readings ORDER BY id"
    )
    return [tuple(row) for row in rows]


async def test_a_request_key_is_saved_once(db: Database, account: int) -> None:
    first = await _save(db, "k", 5, account=account)
    second = await _save(db, "k", 6, at=AT + timedelta(minutes=1), account=account)
    assert first.duplicate is False and second.duplicate is True
    assert second.reading == first.reading
    assert first.reading.receipt == "2611-000001" and first.reading.values == (5,)
    assert first.reading.replaces is False and first.reading.replaced_at is None
    assert await _rows(db) == [(1, 1, 5, "2611-000001", "k", None)]


async def test_the_saved_reading_is_what_was_stored(db: Database, account: int) -> None:
    saved = await _save(db, "k", 120, 40, meter=2, account=account)
    stored = await ReadingRepository(db).by_request_key("k", chat_id=CHAT)
    assert saved.reading == stored
    assert stored is not None and stored.values == (120, 40) and stored.submitted_at == AT


async def test_a_correction_replaces_the_current_reading(db: Database, account: int) -> None:
    await _save(db, "a", 5, account=account)
    await _save(db, "other-meter", 7, meter=2, account=account)
    later = AT + timedelta(hours=1)
    correction = await _save(db, "b", 6, at=later, account=account)
    assert correction.duplicate is False
    assert correction.reading.replaces is True
    assert correction.reading.receipt == "2611-000003"  # the numbering goes on
    assert await _rows(db) == [
        (1, 1, 5, "2611-000001", "a", "2026-11-20T10:00:00.000000+00:00"),
        (2, 2, 7, "2611-000002", "other-meter", None),  # another meter: untouched
        (3, 1, 6, "2611-000003", "b", None),
    ]
    third = await _save(db, "c", 7, at=later + timedelta(hours=1), account=account)
    assert third.reading.replaces is True
    current = await db.fetchall("SELECT request_key FROM readings WHERE replaced_at IS NULL")
    assert sorted(row[0] for row in current) == ["c", "other-meter"]


async def test_a_reading_of_another_period_is_not_replaced(db: Database, account: int) -> None:
    await _save(db, "nov", 5, account=account)
    december = await ReadingRepository(db).save(
        meter_id=1,
        period=Period(2026, 12),
        values=[6],
        chat_id=CHAT,
        at=AT,
        request_key="dec",
        linked_account_id=account,
    )
    assert december.reading.replaces is False
    assert december.reading.receipt == "2612-000002"
    assert await db.fetchval("SELECT count(*) FROM readings WHERE replaced_at IS NULL") == 2


async def test_a_key_replaced_by_another_still_answers_with_its_reading(
    db: Database, account: int
) -> None:
    first = await _save(db, "a", 5, account=account)
    await _save(db, "b", 6, at=AT + timedelta(hours=1), account=account)
    before = await _rows(db)
    again = await _save(db, "a", 5, at=AT + timedelta(hours=2), account=account)
    assert again.duplicate is True
    assert again.reading.receipt == first.reading.receipt
    assert again.reading.replaced_at == AT + timedelta(hours=1)
    assert await _rows(db) == before  # nothing written, "b" still the current one


async def test_a_chat_not_linked_writes_nothing(db: Database, account: int) -> None:
    await _save(db, "a", 5, account=account)
    before = await _rows(db)
    with pytest.raises(ChatNotLinked):
        await _save(db, "b", 6, account=account + 1)
    await LinkRepository(db).unlink(CHAT, account)
    with pytest.raises(ChatNotLinked):
        await _save(db, "c", 6, account=account)
    with pytest.raises(ChatNotLinked):  # even for a key saved while it was linked
        await _save(db, "a", 5, account=account)
    assert await _rows(db) == before  # "a" not marked replaced either


async def test_without_an_account_the_link_is_not_checked(db: Database, account: int) -> None:
    await LinkRepository(db).unlink(CHAT, account)
    saved = await _save(db, "k", 5)
    assert saved.duplicate is False
    assert (await _save(db, "k", 5)).duplicate is True


async def test_a_deleted_meter_is_gone(db: Database, account: int) -> None:
    await db.execute("DELETE FROM meters WHERE id = 1")
    with pytest.raises(MeterGone):
        await _save(db, "k", 5, account=account)
    with pytest.raises(MeterGone):
        await _save(db, "k", 5)
    assert await _rows(db) == []


async def test_receipts_follow_rows_inserted_without_the_bot(db: Database, account: int) -> None:
    await db.execute(
        "INSERT INTO readings (id, meter_id, period, t1, submitted_at, receipt, replaced_at)"
        " VALUES (1234566, 1, '2026-11', 1, '2026-11-16', 'imported', '2026-11-17')"
    )
    # a row written with its id leaves PostgreSQL's identity behind, as after copy-db or a
    # bulk load; align_identities moves it past (SQLite's row ids follow by themselves)
    await align_identities(db)
    saved = await _save(db, "k", 5, account=account)
    assert saved.reading.id == 1234567
    assert saved.reading.receipt == receipt_number(1234567, NOV) == "2611-1234567"
    assert saved.reading.replaces is True  # an earlier (replaced) submission exists


async def test_rows_inserted_into_readings_directly_replace_nothing(
    db: Database, account: int
) -> None:
    """Seeded history and bulk loads say themselves which row is current; the index keeps one."""
    await _save(db, "k", 5, account=account)
    await db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt, replaced_at)"
        " VALUES (1, '2026-11', 4, '2026-11-16', 'old', '2026-11-17')"
    )
    with pytest.raises(IntegrityViolation, match="unique"):  # a second current row is refused
        await db.execute(
            "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt, request_key)"
            " VALUES (1, '2026-11', 4, '2026-11-16', 'seed', 'other')"
        )
    rows = await db.fetchall("SELECT receipt FROM readings WHERE replaced_at IS NULL")
    assert [row[0] for row in rows] == ["2611-000001"]


async def test_a_correction_that_cannot_be_written_leaves_the_current_reading(
    db: Database, account: int
) -> None:
    """The replaced mark and the new row are one transaction: both or neither."""
    await _save(db, "a", 5, account=account)
    before = await _rows(db)
    with pytest.raises(IntegrityViolation, match="check"):  # t1 >= 0, after the replaced mark
        await _save(db, "b", -1, at=AT + timedelta(hours=1), account=account)
    assert await _rows(db) == before


async def test_ids_and_receipts_come_from_sqlite_in_order(db: Database, account: int) -> None:
    saved = [
        await _save(db, key, 5, meter=meter, account=account)
        for key, meter in (("a", 1), ("b", 2), ("c", 1))
    ]
    assert [s.reading.id for s in saved] == [1, 2, 3]
    assert [s.reading.receipt for s in saved] == [receipt_number(n, NOV) for n in (1, 2, 3)]
    assert [row[3] for row in await _rows(db)] == ["2611-000001", "2611-000002", "2611-000003"]


async def test_twenty_confirms_at_once_save_once_and_corrections_queue_up(
    db: Database, account: int
) -> None:
    """Replicas on PostgreSQL save at the same moment (a pool of connections, not SQLite's one
    writer): twenty saves of one key keep one row and answer the others with it; twenty keys of
    one meter leave one current reading, each of the others replaced, none refused."""
    same = await asyncio.gather(*(_save(db, "k", 5, account=account) for _ in range(20)))
    assert sorted(saved.duplicate for saved in same) == [False] + [True] * 19
    assert len({saved.reading.receipt for saved in same}) == 1
    await asyncio.gather(*(_save(db, f"c{n}", 5 + n, account=account) for n in range(20)))
    rows = await _rows(db)
    assert len(rows) == 21
    assert sum(row[5] is None for row in rows) == 1  # one current reading of the meter
