"""The fast path for plain Russian numbers answers exactly as phonenumbers does."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberFormat

from bot.domain.phone import InvalidPhone, normalize_phone


def reference(text: str) -> str | None:
    """What phonenumbers alone says (None: not valid or not +7), for texts the checks
    before it pass."""
    try:
        number = phonenumbers.parse(text.strip(), "RU")
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.country_code != 7:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def ours(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except InvalidPhone:
        return None


_national = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("3489"),
    st.from_regex(r"\A[0-9]{9}\Z"),
)
_sep = st.sampled_from(["", " ", "-", " - ", "(", ")"])


def _written(form: int, national: str, a: str, b: str) -> str:
    code, rest = national[:3], national[3:]
    body = f"{a}{code}{b}{rest[:3]}{a}{rest[3:5]}{b}{rest[5:]}"
    return ("+7", "8", "")[form] + body


@settings(max_examples=600)
@given(national=_national, form=st.integers(0, 2), a=_sep, b=_sep)
def test_plain_forms_agree_with_phonenumbers(national: str, form: int, a: str, b: str) -> None:
    text = _written(form, national, a, b)
    assert ours(text) == reference(text)


@pytest.mark.parametrize(
    "national",
    [
        "9161234567",  # mobile
        "4951234567",  # Moscow
        "8005553535",  # toll free
        "3361234567",  # a Russian code that Kazakhstan's +7 numbers do not take
        "9300051234",  # mobile block 930005: six digits decide
        "8091234567",  # premium rate
    ],
)
@pytest.mark.parametrize("form", [0, 1, 2])
def test_every_kind_of_plain_number_agrees(national: str, form: int) -> None:
    text = _written(form, national, " ", "-")
    assert ours(text) == reference(text)


@pytest.mark.parametrize("text", ["+7 916 123-45-67", "89161234568", "8 (495) 123-45-67"])
def test_a_plain_valid_number_skips_the_parser(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = reference(text)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("phonenumbers.parse was asked")

    monkeypatch.setattr(phonenumbers, "parse", fail)
    assert normalize_phone(text) == expected


def test_a_plain_invalid_number_is_refused_as_phonenumbers_refuses_it() -> None:
    for text in ("8 (300) 000-00-00", "+7 300 000-00-01", "9300001234"):
        assert reference(text) is None
        with pytest.raises(InvalidPhone, match="not a valid"):
            normalize_phone(text)
