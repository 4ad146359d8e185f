"""Phone numbers: normalisation to E.164 and masking for display.

Residents and billing files write Russian numbers in many ways (``+7 916 123-45-67``,
``89161234567``, ``8 (916) 123-45-67``, ``9161234567``); the bot stores and compares E.164 only.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = ["InvalidPhone", "mask_phone", "normalize_phone"]

DEFAULT_REGION = "RU"

# Longer than any phone written with separators; keeps hostile input away from the parser.
_MAX_INPUT_LENGTH = 64
# ASCII digits plus the separators people type or paste (spaces, dashes of all kinds, brackets,
# dots). Anything else (letters, "ext", "tel:", other scripts' digits) is refused up front.
_SEPARATORS = frozenset(" \t\u00a0\u202f-\u2010\u2011\u2012\u2013\u2014\u2212().")
_DIGITS = frozenset("0123456789")


class InvalidPhone(ValueError):
    """The text is not a phone number the bot can send a code to."""


def normalize_phone(text: str, *, region: str = DEFAULT_REGION) -> str:
    """Return ``text`` as an E.164 number (``+79161234567``) or raise :class:`InvalidPhone`.

    Numbers without a leading ``+`` are read as domestic numbers of ``region`` (Russia by
    default), so a leading ``8`` is the trunk prefix and a bare ten-digit number is national.
    A number written with ``+`` may belong to any country. Only ASCII digits, one leading ``+``
    and the usual separators are allowed; the result must be a number phonenumbers calls valid.
    Raises nothing but :class:`InvalidPhone`, whatever the string.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidPhone("empty phone number")
    if len(stripped) > _MAX_INPUT_LENGTH:
        raise InvalidPhone("phone number is too long")
    body = stripped[1:] if stripped.startswith("+") else stripped
    if any(ch not in _DIGITS and ch not in _SEPARATORS for ch in body):
        raise InvalidPhone("phone number may contain only digits, spaces, dashes and brackets")
    if not any(ch in _DIGITS for ch in body):
        raise InvalidPhone("phone number has no digits")
    try:
        number = phonenumbers.parse(stripped, region)
    except NumberParseException as exc:
        raise InvalidPhone("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


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
