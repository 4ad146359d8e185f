from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.phone import InvalidPhone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "text",
    [
        "+7 916 123-45-67",
        "+79161234567",
        "89161234567",
        "8 (916) 123-45-67",
        "8-916-123-45-67",
        "7 916 1234567",
        "79161234567",
        "9161234567",
        "+7(916)1234567",
        "  +7 916 123 45 67  ",
        "8 916 123–45–67",  # en dashes, as pasted from documents
        "8.916.123.45.67",
    ],
)
def test_usual_russian_forms_become_e164(text: str) -> None:
    assert normalize_phone(text) == "+79161234567"


def test_landline_with_trunk_prefix_is_accepted() -> None:
    assert normalize_phone("8 (495) 123-45-67") == "+74951234567"


@pytest.mark.parametrize(
    "text",
    [
        "+1 212 555 1234",  # New York
        "+12125551234",
        "+44 20 7946 0958",  # London
        "+375 29 123-45-67",  # Minsk
        "+380 44 123 4567",  # Kyiv
        "+49 30 123456",  # Berlin
    ],
)
def test_a_phone_that_is_not_russian_is_refused(text: str) -> None:
    with pytest.raises(InvalidPhone, match=r"not a Russian number \(\+7\)"):
        normalize_phone(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "+",
        "---",
        "123",
        "916123456",  # one digit short
        "+7916123456789",  # too long
        "+89161234567",  # the trunk 8 with a plus
        "+7 916 ABC-45-67",  # letters (phonenumbers would read them as a keypad)
        "89161234567 ext. 12",
        "89161234567;ext=1",
        "tel:+79161234567",
        "٨٩١٦١٢٣٤٥٦٧",  # Arabic-Indic digits
        "８９１６１２３４５６７",  # fullwidth digits
        "+7 916 123-45-67+",
        "8" * 100,
    ],
)
def test_rejected_forms_raise_invalid_phone(text: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(text)


def test_invalid_phone_is_a_value_error() -> None:
    assert issubclass(InvalidPhone, ValueError)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+79161234567", "+7 916 ***-**-67"),
        ("+74951234500", "+7 495 ***-**-00"),
    ],
)
def test_mask_keeps_country_operator_and_last_two_digits(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


def test_mask_hides_the_subscriber_part_of_foreign_numbers() -> None:
    masked = mask_phone("+442079460958")
    assert masked.startswith("+44 20 ")
    assert masked.endswith("58")
    assert "7946" not in masked


@pytest.mark.parametrize("garbage", ["", "abc", "+7", "12345", "+7916123456789"])
def test_mask_never_raises_and_never_shows_more_than_two_digits(garbage: str) -> None:
    masked = mask_phone(garbage)
    assert sum(ch.isdigit() for ch in masked) <= 2


@given(st.text())
def test_normalize_phone_raises_nothing_but_invalid_phone(text: str) -> None:
    try:
        result = normalize_phone(text)
    except InvalidPhone:
        return
    assert result.startswith("+7")
    assert result[1:].isascii() and result[1:].isdigit()
    assert normalize_phone(result) == result


_separator = st.sampled_from(["", " ", "-", " - "])


@given(
    prefix=st.sampled_from(["+7", "8", "7", ""]),
    subscriber=st.from_regex(r"\A[0-9]{7}\Z"),
    sep=_separator,
)
def test_any_separator_layout_of_a_mobile_number_normalizes(
    prefix: str, subscriber: str, sep: str
) -> None:
    text = f"{prefix}{sep}(916){sep}{subscriber[:3]}{sep}{subscriber[3:5]}{sep}{subscriber[5:]}"
    assert normalize_phone(text) == f"+7916{subscriber}"
    assert mask_phone(f"+7916{subscriber}") == f"+7 916 ***-**-{subscriber[-2:]}"
