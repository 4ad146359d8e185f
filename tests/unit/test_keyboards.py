"""The hand-packed callback data of the submission flow is what aiogram would pack."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.keyboards.submission import SubmitStepCb, step_data
from bot.services.submissions import new_request_key

ACTIONS = ("yes", "no", "confirm", "change", "cancel", "skip")


@pytest.mark.parametrize("action", ACTIONS)
def test_step_data_is_what_the_filter_unpacks(action: str) -> None:
    key = new_request_key()
    packed = step_data(action, key)
    assert packed == SubmitStepCb(action=action, key=key).pack()
    assert SubmitStepCb.unpack(packed) == SubmitStepCb(action=action, key=key)


@given(st.sampled_from(ACTIONS), st.binary(min_size=9, max_size=9))
def test_step_data_matches_pack_for_any_key(action: str, raw: bytes) -> None:
    key = base64.urlsafe_b64encode(raw).decode()  # the alphabet new_request_key draws from
    assert step_data(action, key) == SubmitStepCb(action=action, key=key).pack()
    assert len(step_data(action, key).encode()) <= 64  # Telegram's limit on callback data
