"""The submission walk's buttons carry what SubmitStepCb packs and the filter unpacks."""

from __future__ import annotations

import base64
from typing import cast

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram_i18n import I18nContext
from hypothesis import given
from hypothesis import strategies as st

from bot.keyboards.callbacks import HistoryCsvCb, SubmitPickCb, SubmitStartCb, SubmitStepCb
from bot.keyboards.menu import language_keyboard
from bot.keyboards.submission import (
    confirm_keyboard,
    continue_keyboard,
    history_keyboard,
    meter_list_keyboard,
    question_keyboard,
    sure_keyboard,
)
from bot.services.submissions import new_request_key


class Words:
    """Stands in for I18nContext: a label is its key."""

    def get(self, key: str, /, **_: object) -> str:
        return key


I18N = cast("I18nContext", Words())


def _data(markup: InlineKeyboardMarkup | None) -> list[str]:
    assert markup is not None
    return [b.callback_data or "" for row in markup.inline_keyboard for b in row]


def test_the_confirmation_carries_confirm_change_and_cancel_under_the_step_key() -> None:
    key = new_request_key()
    unpacked = [SubmitStepCb.unpack(d) for d in _data(confirm_keyboard(I18N, key))]
    assert [(cb.action, cb.key) for cb in unpacked] == [
        ("confirm", key),
        ("change", key),
        ("cancel", key),
    ]


def test_are_you_sure_carries_yes_and_no() -> None:
    key = new_request_key()
    unpacked = [SubmitStepCb.unpack(d) for d in _data(sure_keyboard(I18N, key))]
    assert [cb.action for cb in unpacked] == ["yes", "no"]


def test_skip_is_offered_in_a_walk_only() -> None:
    key = new_request_key()
    assert question_keyboard(I18N, key, walk=False) is None
    (skip,) = _data(question_keyboard(I18N, key, walk=True))
    assert SubmitStepCb.unpack(skip) == SubmitStepCb(action="skip", key=key)


def test_meter_list_history_and_continue_buttons_unpack() -> None:
    (pick,) = _data(meter_list_keyboard([("Cold water", 7)], 3))
    assert SubmitPickCb.unpack(pick) == SubmitPickCb(account_id=3, meter_id=7)
    (csv,) = _data(history_keyboard(I18N, 3))
    assert HistoryCsvCb.unpack(csv) == HistoryCsvCb(account_id=3)
    (more,) = _data(continue_keyboard(I18N, 3, 2))
    assert SubmitStartCb.unpack(more) == SubmitStartCb(account_id=3)


def test_the_language_buttons_share_one_row() -> None:
    assert [len(row) for row in language_keyboard().inline_keyboard] == [2]


@given(
    st.sampled_from(("yes", "no", "confirm", "change", "cancel", "skip")),
    st.binary(min_size=9, max_size=9),
)
def test_every_step_key_fits_telegram_callback_data(action: str, raw: bytes) -> None:
    key = base64.urlsafe_b64encode(raw).decode()  # the alphabet new_request_key draws from
    packed = SubmitStepCb(action=action, key=key).pack()
    assert SubmitStepCb.unpack(packed) == SubmitStepCb(action=action, key=key)
    assert len(packed.encode()) <= 64  # Telegram's limit on callback data


@pytest.mark.parametrize("key", ["", "A" * 17, "bad:key"])
def test_a_step_key_out_of_bounds_does_not_pack(key: str) -> None:
    with pytest.raises(ValueError):
        SubmitStepCb(action="confirm", key=key).pack()
