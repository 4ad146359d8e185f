"""Phone numbers: normalisation to E.164 and masking for display.

Residents and billing files write Russian numbers in many ways (``+7 916 123-45-67``,
``89161234567``, ``8 (916) 123-45-67``, ``9161234567``); the bot stores and compares E.164 only.
Only Russian numbers (country code +7) are accepted: codes go out by SMS through a Russian
gateway, and the billing centre serves Russian flats (SPEC §4, §5).
"""

from __future__ import annotations

import re
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
# phonenumbers takes 35-60 µs a number, most of it in parsing; a billing file holds a million
# of them. A plain Russian number (below) needs no parsing: its ten national digits are valid
# when they match the general pattern of phonenumbers' metadata for Russia and the pattern of
# one type of number, which is how phonenumbers.is_valid_number decides (tested against it);
# a +7 number is Russian, not Kazakh, when Russia's leading digits match it.

_RU_NATIONAL = 10
_NUMBER_TYPES = (
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


@cache
def _valid_russian() -> re.Pattern[str]:
    """One pattern for the ten national digits of a valid Russian number: Russia's leading
    digits (a +7 number they do not match is Kazakh), the general pattern, and the pattern
    of one type (fixed line, mobile, toll free, ...), as phonenumbers' metadata has them."""
    metadata = PhoneMetadata.metadata_for_region(DEFAULT_REGION)
    if metadata is None or metadata.general_desc is None:  # phonenumbers always ships Russia's
        raise LookupError(f"phonenumbers has no metadata for {DEFAULT_REGION}")
    kinds = [getattr(metadata, name, None) for name in _NUMBER_TYPES]
    types = [
        desc.national_number_pattern
        for desc in kinds
        if desc is not None
        and desc.national_number_pattern
        and (not desc.possible_length or _RU_NATIONAL in desc.possible_length)
    ]
    leading = metadata.leading_digits or "(?!)"  # none: no shortcut
    general = metadata.general_desc.national_number_pattern
    return re.compile(
        f"(?=(?:{leading}))(?=(?:{general})\\Z)(?:{'|'.join(f'(?:{t})' for t in types)})"
    )


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
    if national is not None and _valid_russian().fullmatch(national):
        return "+7" + national
    number = _parse(stripped, region)  # anything else, and the reason a number is refused
    valid = phonenumbers.is_valid_number(number)
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
