"""Readings (показания): what a resident may type, and the checks a value must pass (SPEC §6)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

MAX_DIGITS_DEFAULT: Final = 9

# Group separators: the plain space, and the no-break space (U+00A0) and narrow no-break space
# (U+202F) that phone keyboards and number formatting put in "1 234 567" when residents paste.
_GROUP_SEPARATORS: Final = " \u00a0\u202f"

# [0-9] with re.ASCII, never str.isdigit()/int() alone: those accept "١٢٣", "１２３" and "²".
# Groups are thousands ("12 345", "1 234 567"): "1234 567" is more likely two figures typed
# together than one number, so it is refused and asked again rather than recorded wrong.
_READING_RE: Final = re.compile(
    rf"(?P<whole>[0-9]{{1,3}}(?:[{_GROUP_SEPARATORS}][0-9]{{3}})*|[0-9]+)"
    r"(?:[.,](?P<fraction>[0-9]+))?",
    re.ASCII,
)
_SEPARATOR_TABLE: Final = str.maketrans("", "", _GROUP_SEPARATORS)


@dataclass(frozen=True)
class ParsedReading:
    """The whole part of what was typed; the fraction (the red digits) is never recorded."""

    value: int
    fraction_dropped: bool


@dataclass(frozen=True)
class InvalidReading:
    reason: Literal["empty", "not_a_number", "too_many_digits"]
    max_digits: int


def parse_reading(
    text: str | None, *, max_digits: int = MAX_DIGITS_DEFAULT
) -> ParsedReading | InvalidReading:
    """Read a meter value as a resident types it; never raises, whatever the text.

    Accepted: optional surrounding whitespace, ASCII digits (ungrouped, or grouped in thousands
    by single spaces), then optionally one "," or "." and one or more digits.
    """
    if max_digits < 1:
        raise ValueError(f"max_digits must be at least 1, got {max_digits}")
    if text is None:
        return InvalidReading("empty", max_digits)
    if not isinstance(text, str):
        return InvalidReading("not_a_number", max_digits)
    stripped = text.strip()
    if not stripped:
        return InvalidReading("empty", max_digits)
    match = _READING_RE.fullmatch(stripped)
    if match is None:
        return InvalidReading("not_a_number", max_digits)
    whole = match["whole"].translate(_SEPARATOR_TABLE)
    # Digits count as typed, leading zeros included: a dial shows them, so "00123" fits a
    # 5-digit dial, while "0012345" there is the red digits typed without a comma.
    if len(whole) > max_digits:
        return InvalidReading("too_many_digits", max_digits)
    return ParsedReading(int(whole), fraction_dropped=match["fraction"] is not None)


# Monthly consumption of one apartment below which no value is called unusual, however far it is
# above the meter's average: small absolute jumps (a guest, a cold month) are normal life.
RESOURCE_FLOORS: Final[dict[str, int]] = {
    "cold_water": 15,  # m³: about 4-5 m³ a person a month; a family of three stays below 15
    "hot_water": 15,  # m³: usually less than cold water
    "electricity": 300,  # kWh: a flat without electric heating uses 150-250 kWh
    "gas": 50,  # m³: a stove alone burns ~10 m³; a wall boiler in winter goes well above
    "heat": 2,  # Gcal: a 60 m² flat in mid-winter takes about 1-1.5 Gcal
}

# Monthly consumption of one flat above which a meter with no consumption history yet (SPEC §6)
# asks "are you sure?": generous for a large family, far below what a typo makes (an extra digit
# multiplies by ten). Scaled by the months since the last reading (months_since).
RESOURCE_CEILINGS: Final[dict[str, int]] = {
    "cold_water": 30,  # m³: the region's standard is ~5 m³ a person; six people stay below 30
    "hot_water": 20,  # m³: the standard is ~3.5 m³ a person; six people stay below 20
    "electricity": 1000,  # kWh: 150-350 with an electric stove; 1,000 leaves room for heaters
    "gas": 300,  # m³: a stove burns ~10; a wall boiler heating a flat in January ~150-250
    "heat": 4,  # Gcal: a 60 m² flat takes ~1-1.5 in mid-winter; 4 covers ~150 m²
}

# A drop below the previous value is a rollover only when the wrap-around consumption is at most
# a tenth of the dial (99 950 → 00 030 on 5 digits is 80; 99 000 → 00 500 is not plausible).
ROLLOVER_SHARE: Final = 10

UNUSUAL_FACTOR: Final = 3


@dataclass(frozen=True)
class PreviousReading:
    value: int
    taken_on: date | None


@dataclass(frozen=True)
class Accepted:
    consumption: int | None  # None when there is no previous reading


@dataclass(frozen=True)
class ReadingBelowPrevious:
    previous: PreviousReading


@dataclass(frozen=True)
class RolloverSuspected:
    consumption: int


@dataclass(frozen=True)
class UnusualConsumption:
    consumption: int
    average: float


@dataclass(frozen=True)
class AboveCeiling:
    """No history to compare with, and more than a flat uses in that time."""

    consumption: int
    ceiling: int  # the resource's monthly ceiling times the months since the last reading


CheckResult = (
    Accepted | ReadingBelowPrevious | RolloverSuspected | UnusualConsumption | AboveCeiling
)


def months_since(taken_on: date | None, today: date) -> int:
    """Calendar months from the last reading to today, a started month counted whole; at least 1.

    15 October → 20 November is 2 (five weeks), 20 October → 20 November is 1. An undated
    reading counts as last month's.
    """
    if taken_on is None:
        return 1
    months = (today.year - taken_on.year) * 12 + today.month - taken_on.month
    if today.day > taken_on.day:
        months += 1
    return max(1, months)


def consumption_ceiling(resource: str, months: int) -> int | None:
    """What a meter without history may show over `months` without a question; None: no limit."""
    monthly = RESOURCE_CEILINGS.get(resource)
    return None if monthly is None else monthly * max(1, months)


def check_value(
    value: int,
    *,
    previous: PreviousReading | None,
    digits: int | None,
    recent_consumptions: Sequence[int],
    floor: int,
    ceiling: int | None = None,
) -> CheckResult:
    """Judge a new value against the meter's previous reading and its usual consumption.

    `recent_consumptions` are the meter's consumptions over its last six periods, as the caller
    found them; `floor` is the resource's entry in RESOURCE_FLOORS; `ceiling` is what a meter
    without such history may show (consumption_ceiling), None for no limit.
    Refused: ReadingBelowPrevious. To confirm: RolloverSuspected, UnusualConsumption,
    AboveCeiling.
    """
    if value < 0:
        raise ValueError(f"a reading is never negative, got {value}")
    if previous is None:
        return Accepted(consumption=None)
    if value < previous.value:
        rollover = _rollover_consumption(value, previous.value, digits)
        if rollover is None:
            return ReadingBelowPrevious(previous)
        return RolloverSuspected(rollover)
    consumption = value - previous.value
    if recent_consumptions:
        average = sum(recent_consumptions) / len(recent_consumptions)
        if consumption > UNUSUAL_FACTOR * average and consumption > floor:
            return UnusualConsumption(consumption, average)
    elif ceiling is not None and consumption > ceiling:
        return AboveCeiling(consumption, ceiling)
    return Accepted(consumption)


def _rollover_consumption(value: int, previous: int, digits: int | None) -> int | None:
    """The wrap-around consumption when the drop is a plausible rollover, else None."""
    if digits is None or digits < 1:
        return None
    capacity = 10**digits
    if previous >= capacity or value >= capacity:
        return None  # the figures do not fit the dial: not a rollover of this meter
    consumption = capacity - previous + value
    return consumption if consumption <= capacity // ROLLOVER_SHARE else None
