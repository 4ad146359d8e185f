"""Phone numbers: normalisation to E.164 and masking for display.

Residents and billing files write Russian numbers in many ways (``+7 916 123-45-67``,
``89161234567``, ``8 (916) 123-45-67``, ``9161234567``); the bot stores and compares E.164 only.
Only Russian numbers (country code +7) are accepted: codes go out by SMS through a Russian
gateway, and the billing centre serves Russian flats (SPEC §4, §5).
"""

from __future__ import annotations

from functools import cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat

__all__ = ["InvalidPhone", "mask_phone", "normalize_phone"]

DEFAULT_REGION = "RU"
COUNTRY_CODE = 7  # the only country whose numbers are accepted

# Longer than any phone written with separators; keeps hostile input away from the parser.
_MAX_INPUT_LENGTH = 64
# ASCII digits plus the separators people type or paste (spaces, dashes of all kinds, brackets,
# dots). Anything else (letters, "ext", "tel:", other scripts' digits) is refused up front.
_SEPARATORS = frozenset(" \t\u00a0\u202f-\u2010\u2011\u2012\u2013\u2014\u2212().")
_DIGITS = frozenset("0123456789")
_ALLOWED = _DIGITS | _SEPARATORS


class InvalidPhone(ValueError):
    """The text is not a phone number the bot can send a code to."""


# --- the fast path for plain Russian numbers ---------------------------------------------------
#
# phonenumbers takes 35-60 µs a number; a billing file holds a million of them. A Russian number
# is ten national digits, and whether one is valid is decided by its first six (the ABC/DEF code
# and the block of 10,000 numbers): in phonenumbers' metadata for Russia every pattern a
# ten-digit number can match ends in at least four free digits (checked below, once, on the
# installed metadata; if that ever stops being true, the fast path switches itself off). So the
# first number of each block goes through phonenumbers, and its verdict serves the rest of it.

_RU_BLOCK = 6  # national digits that decide validity
_RU_NATIONAL = 10
_blocks: dict[str, bool] = {}  # the first six national digits -> valid


def _free_tail(items: object) -> int:
    """How many trailing digits a parsed pattern leaves free for a full match of a
    ten-digit number: the least over its alternatives that can be ten digits long."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    assert isinstance(items, _parser.SubPattern)
    low, high = items.getwidth()
    if not low <= _RU_NATIONAL <= high:
        return _RU_NATIONAL  # never ten digits long: puts no limit
    data = list(items)
    if len(data) == 1 and data[0][0] is c.BRANCH:
        return min(_free_tail(alternative) for alternative in data[0][1][1])
    if len(data) == 1 and data[0][0] is c.SUBPATTERN:
        return _free_tail(data[0][1][-1])
    if data and data[-1][0] is c.MAX_REPEAT:
        least, most, repeated = data[-1][1]
        if least == most and list(repeated) == [(c.IN, [(c.CATEGORY, c.CATEGORY_DIGIT)])]:
            return int(least)
    return 0


@cache
def _blocks_decide() -> bool:
    """True when, for Russia in the installed metadata, a ten-digit national number's
    validity depends on its first six digits only (see above)."""
    try:
        from re import _parser  # type: ignore[attr-defined]

        metadata = PhoneMetadata.metadata_for_region(DEFAULT_REGION)
        descs = [metadata.general_desc]
        descs += [
            getattr(metadata, name)
            for name in (
                "fixed_line",
                "mobile",
                "toll_free",
                "premium_rate",
                "shared_cost",
                "personal_number",
                "voip",
                "pager",
                "uan",
                "voicemail",
            )
        ]
        patterns = [d.national_number_pattern for d in descs if d and d.national_number_pattern]
        leading = _parser.parse(metadata.leading_digits or "")
        return (
            # the region of a number starting 3, 4, 8 or 9 is Russia by its first digit
            metadata.leading_digits == "[3489]"
            and leading.getwidth()[1] <= _RU_BLOCK
            and all(_free_tail(_parser.parse(p)) >= _RU_NATIONAL - _RU_BLOCK for p in patterns)
        )
    except Exception:  # an unexpected shape of metadata or of `re`: no shortcut
        return False


def _plain_russian(stripped: str) -> str | None:
    """The ten national digits of `+7 …`, `8 …` or a bare ten-digit number starting 3, 4, 8
    or 9, written with nothing but digits, spaces, dashes and brackets; else None."""
    digits = stripped.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    size = len(digits)
    if size == _RU_NATIONAL + 2 and digits.startswith("+7"):
        national = digits[2:]
    elif size == _RU_NATIONAL + 1 and digits.startswith("8"):
        national = digits[1:]
    elif size == _RU_NATIONAL:
        national = digits
    else:
        return None
    if national[0] in "3489" and national.isdigit() and national.isascii():
        return national
    return None


def normalize_phone(text: str, *, region: str = DEFAULT_REGION) -> str:
    """Return ``text`` as an E.164 number (``+79161234567``) or raise :class:`InvalidPhone`.

    Numbers without a leading ``+`` are read as domestic numbers of ``region`` (Russia by
    default), so a leading ``8`` is the trunk prefix and a bare ten-digit number is national.
    A number written with ``+`` must be a +7 one: any other country is refused. Only ASCII
    digits, one leading ``+`` and the usual separators are allowed; the result must be a number
    phonenumbers calls valid. Raises nothing but :class:`InvalidPhone`, whatever the string.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPhone("empty phone number")
    if len(stripped) > _MAX_INPUT_LENGTH:
        raise InvalidPhone("phone number is too long")
    body = stripped[1:] if stripped.startswith("+") else stripped
    if not _ALLOWED.issuperset(body):
        raise InvalidPhone("phone number may contain only digits, spaces, dashes and brackets")
    if _DIGITS.isdisjoint(body):
        raise InvalidPhone("phone number has no digits")
    national = _plain_russian(stripped) if region == DEFAULT_REGION else None
    if national is not None and _blocks_decide():
        valid = _blocks.get(national[:_RU_BLOCK])
        if valid is True:
            return "+7" + national
        if valid is False:
            raise InvalidPhone("not a valid phone number")
    number = _parse(stripped, region)
    valid = phonenumbers.is_valid_number(number)
    if (
        national is not None
        and number.country_code == 7
        and number.national_number == int(national)
        and _blocks_decide()
    ):
        # phonenumbers read it as the fast path does: its verdict holds for the whole block
        _blocks[national[:_RU_BLOCK]] = valid
    if not valid:
        raise InvalidPhone("not a valid phone number")
    if number.country_code != COUNTRY_CODE:
        raise InvalidPhone("not a Russian number (+7)")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse(stripped: str, region: str) -> phonenumbers.PhoneNumber:
    try:
        return phonenumbers.parse(stripped, region)
    except NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc


def mask_phone(e164: str) -> str:
    """Return the number for display with the subscriber part hidden: ``+7 916 ***-**-67``.

    The country code, the operator (or area) code and the last two digits stay visible. Never
    raises: a string that is not a valid E.164 number keeps only its last two digits, so the
    function is safe inside log calls.
    """
    digits = "".join(ch for ch in e164 if ch in _DIGITS)
    try:
        number = phonenumbers.parse(e164, None)
        valid = phonenumbers.is_valid_number(number)
    except NumberParseException:
        valid = False
    if not valid:
        return "***" + digits[-2:] if len(digits) > 2 else "***"

    national = phonenumbers.national_significant_number(number)
    country = number.country_code
    if country == 7 and len(national) == 10:
        # The Russian (and Kazakh) plan: a three-digit code, then a seven-digit subscriber part.
        return f"+7 {national[:3]} ***-**-{national[-2:]}"
    code_length = phonenumbers.length_of_national_destination_code(number)
    code, rest = national[:code_length], national[code_length:]
    hidden = "*" * max(len(rest) - 2, 1) + rest[-2:]
    return f"+{country} {code} {hidden}" if code else f"+{country} {hidden}"
