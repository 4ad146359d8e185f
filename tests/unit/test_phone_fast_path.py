"""The fast path for plain Russian numbers answers exactly as phonenumbers does."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import NumberParseException, PhoneNumberFormat

from bot.domain import phone
from bot.domain.phone import InvalidPhone, normalize_phone


def reference(text: str) -> str | None:
    """What phonenumbers alone says (None: not valid), for texts the checks before it pass."""
    try:
        number = phonenumbers.parse(text.strip(), "RU")
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def ours(text: str) -> str | None:
    try:
        return normalize_phone(text)
    except InvalidPhone:
        return None


def test_the_installed_metadata_lets_blocks_decide() -> None:
    assert phone._blocks_decide()


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


@settings(max_examples=400)
@given(
    national=_national,
    other=st.from_regex(r"\A[0-9]{4}\Z"),
    form=st.integers(0, 2),
    first_form=st.integers(0, 2),
    a=_sep,
    b=_sep,
)
def test_plain_forms_agree_with_phonenumbers_before_and_after_the_block_is_known(
    national: str, other: str, form: int, first_form: int, a: str, b: str
) -> None:
    neighbour = national[:6] + other  # the same block, seen first, in another form
    assert ours(_written(first_form, neighbour, a, b)) == reference(
        _written(first_form, neighbour, a, b)
    )
    text = _written(form, national, b, a)
    assert ours(text) == reference(text)


@pytest.mark.parametrize(
    "text",
    ["+7 916 123-45-67", "89161234568", "8 (495) 123-45-67", "9161234569", "8 800 555-35-35"],
)
def test_a_known_block_skips_phonenumbers(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = normalize_phone(text)  # the block is known from now on
    digits = "".join(ch for ch in expected if ch.isdigit())
    sibling = "8" + digits[1:-1] + str((int(digits[-1]) + 1) % 10)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("phonenumbers was asked")

    monkeypatch.setattr(phonenumbers, "parse", fail)
    assert normalize_phone(sibling) == "+7" + sibling[1:]


def test_an_invalid_block_is_remembered_as_invalid() -> None:
    with pytest.raises(InvalidPhone, match="not a valid"):
        normalize_phone("8 (300) 000-00-00")
    with pytest.raises(InvalidPhone, match="not a valid"):
        normalize_phone("+7 300 000-00-01")
    assert reference("+7 300 000-00-01") is None
