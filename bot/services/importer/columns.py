"""The checks of one row, a column or a rule at a time (SPEC §4).

Each check takes the cells it reads (stripped text) and the row's list of problems, appends
what is wrong with them, and returns the normalised value (None when unknown or bad). The
checks that remember something across rows (an account's number, phones, dates) are small
classes built once per file. :class:`.check.RowCheck` composes them in the order their
problems are reported.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from bot.domain.gis import MAX_GIS_METER_NUMBER_LENGTH, is_els
from bot.domain.models import Resource
from bot.domain.phone import InvalidPhone, normalize_phone

RESOURCES = tuple(resource.value for resource in Resource)
_RESOURCE_SET = frozenset(RESOURCES)
MULTI_TARIFF_RESOURCES = frozenset({Resource.ELECTRICITY.value})

MAX_SERIAL_LENGTH = 64
MAX_ADDRESS_LENGTH = 500
MAX_READING_DIGITS = 9  # what a resident may type when the meter does not say (SPEC §6)
FUTURE_SLACK = timedelta(days=1)  # `now` may be UTC while the billing system writes local dates
CACHE_SIZE = 100_000  # entries in the per-file caches of normalised phones and dates

_READING = re.compile(r"([0-9]+)(?:[.,][0-9]*)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TARIFFS = {"": 1, "1": 1, "2": 2, "3": 3}
_DIAL_DIGITS = {str(n): n for n in range(1, MAX_READING_DIGITS + 1)}
_DAYS = {**{str(n): n for n in range(1, 32)}, **{f"{n:02d}": n for n in range(1, 10)}}

Problems = list[str]


class AccountNumbers:
    """account: not empty, and matching ACCOUNT_NUMBER_PATTERN. An account's rows come
    together, so its number is checked once for all of them."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._last: str | None = None
        self._last_problem: str | None = None

    def check(self, account: str, problems: Problems) -> None:
        if account != self._last:
            self._last = account
            self._last_problem = self._problem(account)
        if self._last_problem is not None:
            problems.append(self._last_problem)

    def _problem(self, account: str) -> str | None:
        if not account:
            return "account is empty"
        if not self.pattern.fullmatch(account):
            return (
                f'account "{account}" is not a well-formed account number '
                f"(ACCOUNT_NUMBER_PATTERN {self.pattern.pattern})"
            )
        return None


class Phones:
    """phone: not empty, a Russian number, normalised to E.164. The rows of one account repeat
    its phone, and normalising is the slow part of a row: results are remembered."""

    def __init__(self) -> None:
        self._known: dict[str, str | InvalidPhone] = {}

    def check(self, text: str, problems: Problems) -> str | None:
        phone = self._known.get(text) or (self._normalise(text) if text else None)
        if phone is None:
            problems.append("phone is empty")
            return None
        if isinstance(phone, InvalidPhone):
            problems.append(f'phone "{text}": {phone}')
            return None
        return phone

    def _normalise(self, text: str) -> str | InvalidPhone:
        if len(self._known) >= CACHE_SIZE:
            self._known.clear()
        try:
            phone: str | InvalidPhone = normalize_phone(text)
        except InvalidPhone as exc:
            phone = exc
        self._known[text] = phone
        return phone


class Dates:
    """A date column: empty (unknown), or a real date written YYYY-MM-DD. Valid dates are
    remembered: a file repeats few of them."""

    def __init__(self) -> None:
        self._valid: dict[str, str | None] = {"": None}

    def check(self, name: str, text: str, problems: Problems) -> str | None:
        if text in self._valid:
            return self._valid[text]
        if not _DATE.fullmatch(text):
            problems.append(f'{name} "{text}" is not a date in the form YYYY-MM-DD')
            return None
        try:
            date.fromisoformat(text)
        except ValueError:
            problems.append(f'{name} "{text}" is not a real date')
            return None
        if len(self._valid) >= CACHE_SIZE:
            self._valid = {"": None}
        self._valid[text] = text
        return text


def latest_date(today: date) -> str:
    """The latest last_date a file may give, as ISO text."""
    return (today + FUTURE_SLACK).isoformat()


def check_not_future(last_date: str | None, latest: str, problems: Problems) -> None:
    """last_date: not after ``latest`` (ISO dates compare as text)."""
    if last_date is not None and last_date > latest:
        problems.append(f"last_date {last_date} is in the future")


def check_address(address: str, problems: Problems) -> str | None:
    """address: optional, at most MAX_ADDRESS_LENGTH characters."""
    if len(address) > MAX_ADDRESS_LENGTH:
        problems.append(f"address is longer than {MAX_ADDRESS_LENGTH} characters")
    return address or None


def check_serial(serial: str, problems: Problems) -> None:
    """meter: the serial number, not empty, at most MAX_SERIAL_LENGTH characters."""
    if not serial:
        problems.append("meter (the serial number) is empty")
    elif len(serial) > MAX_SERIAL_LENGTH:
        problems.append(f"meter is longer than {MAX_SERIAL_LENGTH} characters")


def check_resource(resource: str, problems: Problems) -> str:
    """resource: one of RESOURCES, in any case; returned in lower case."""
    if resource in _RESOURCE_SET:
        return resource
    shown = f'"{resource}" ' if resource else "(empty) "
    resource = resource.lower()
    if resource not in _RESOURCE_SET:
        problems.append(f"resource {shown}is not one of {', '.join(RESOURCES)}")
    return resource


def check_tariffs(text: str, resource: str, problems: Problems) -> int | None:
    """tariffs: 1 (or empty), 2 or 3; more than one zone only for electricity."""
    tariffs = _TARIFFS.get(text)
    if tariffs is None:
        problems.append(f'tariffs "{text}" is not 1, 2 or 3')
    elif tariffs > 1 and resource in _RESOURCE_SET and resource not in MULTI_TARIFF_RESOURCES:
        problems.append(f"tariffs is {tariffs} but only electricity meters have more than one zone")
    return tariffs


def check_digits(text: str, problems: Problems) -> int | None:
    """digits: optional, a whole number from 1 to MAX_READING_DIGITS."""
    digits = _DIAL_DIGITS.get(text)
    if text and digits is None:
        problems.append(f'digits "{text}" is not a whole number from 1 to {MAX_READING_DIGITS}')
    return digits


def check_window(
    start_text: str, end_text: str, problems: Problems
) -> tuple[int | None, int | None]:
    """window_start and window_end: days of the month, both or neither."""
    start, end = _DAYS.get(start_text), _DAYS.get(end_text)
    if not (start_text or end_text):
        return start, end
    for name, text, day in (("window_start", start_text, start), ("window_end", end_text, end)):
        if text and day is None:
            problems.append(f'{name} "{text}" is not a day of the month from 1 to 31')
    if not (start_text and end_text):
        problems.append("window_start and window_end go together: give both or neither")
    return start, end


LastReadings = tuple[int | None, int | None, int | None]  # last_t1..last_t3
_NO_READINGS: LastReadings = (None, None, None)


def check_last_readings(
    texts: tuple[str, str, str],
    tariffs: int | None,
    digits: int | None,
    last_date_text: str,
    problems: Problems,
) -> LastReadings:
    """last_t1..last_t3: whole numbers that fit the dial (a fraction is dropped), zones 1..N
    all or none, none beyond the meter's tariffs; last_date goes with them."""
    t1, t2, t3 = texts
    most_digits = digits or MAX_READING_DIGITS
    if (
        tariffs == 1
        and not t2
        and not t3
        and t1.isdigit()
        and t1.isascii()
        and len(t1) <= most_digits
    ):
        # the usual row, in short: one zone, a whole number that fits the dial
        check_last_date_given(last_date_text, problems)
        return (int(t1), None, None)
    if not (t1 or t2 or t3):
        if last_date_text:
            problems.append("last_date is given without last_t1")
        return _NO_READINGS
    values = (
        _reading(1, t1, most_digits, problems),
        _reading(2, t2, most_digits, problems),
        _reading(3, t3, most_digits, problems),
    )
    if tariffs is not None:
        check_zones((bool(t1), bool(t2), bool(t3)), tariffs, problems)
    check_last_date_given(last_date_text, problems)
    return values


def _reading(zone: int, text: str, most_digits: int, problems: Problems) -> int | None:
    """One last_tN: empty, or a whole number >= 0 of at most ``most_digits`` digits."""
    if not text:
        return None
    if text.isdigit() and text.isascii():
        whole = text
    else:
        match = _READING.fullmatch(text)
        if match is None:
            problems.append(f'last_t{zone} "{text}" is not a reading (a whole number >= 0)')
            return None
        whole = match.group(1)  # a fraction is dropped, as for residents (§6)
    if len(whole) > most_digits:
        whole = whole.lstrip("0") or "0"
        if len(whole) > most_digits:
            problems.append(f"last_t{zone} {whole} has more than {most_digits} digits")
            return None
    return int(whole)


def check_zones(given: tuple[bool, bool, bool], tariffs: int, problems: Problems) -> None:
    """The last readings given are those of zones 1..tariffs, all of them."""
    for zone in range(tariffs, 3):
        if given[zone]:
            zones = "zone" if tariffs == 1 else "zones"
            problems.append(f"last_t{zone + 1} is given but the meter has {tariffs} {zones}")
    if tariffs == 1 and not given[0]:
        problems.append("last_t1 is missing")
    elif not all(given[:tariffs]):
        missing = [f"last_t{z + 1}" for z in range(tariffs) if not given[z]]
        problems.append(
            f"{', '.join(missing)} missing: a {tariffs}-zone meter needs "
            f"last_t1..last_t{tariffs} all together, or none"
        )


def check_last_date_given(last_date_text: str, problems: Problems) -> None:
    """last_date is required with the last readings."""
    if not last_date_text:
        problems.append("last_date is missing: it is required with last_t1")


def check_gis_meter_number(text: str, problems: Problems) -> str | None:
    """gis_meter_number: optional, «Номер ПУ в ГИС ЖКХ», at most 64 characters."""
    if len(text) > MAX_GIS_METER_NUMBER_LENGTH:
        problems.append(f"gis_meter_number is longer than {MAX_GIS_METER_NUMBER_LENGTH} characters")
    return text or None


def check_els(text: str, problems: Problems) -> str | None:
    """els: optional, the единый лицевой счёт: two digits, two Cyrillic capitals, six digits."""
    if text and not is_els(text):
        problems.append(
            f'els "{text}" is not an ЕЛС (two digits, two Cyrillic capitals, six digits,'
            " e.g. 12АБ345678)"
        )
    return text or None


def check_replaces(text: str, serial: str, problems: Problems) -> str | None:
    """replaces: optional, the serial of another meter of the same account."""
    if len(text) > MAX_SERIAL_LENGTH:
        problems.append(f"replaces is longer than {MAX_SERIAL_LENGTH} characters")
    elif text and text == serial:
        problems.append(f'replaces names the meter itself ("{text}")')
    return text or None


def check_gis_columns(
    gis_text: str, els_text: str, replaces_text: str, serial: str, problems: Problems
) -> tuple[str | None, str | None, str | None]:
    """gis_meter_number, els and replaces (the columns issue 12 added), in that order."""
    return (
        check_gis_meter_number(gis_text, problems),
        check_els(els_text, problems),
        check_replaces(replaces_text, serial, problems),
    )
