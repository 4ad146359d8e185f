"""Buttons of the submission flow, of history and of the meter list.

Markups are built directly rather than through InlineKeyboardBuilder, whose export deep-copies
every button: these keyboards are on the hot path of the monthly rush.
"""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram_i18n import I18nContext
from pydantic import Field

from bot.keyboards.callbacks import RowId, SubmitStartCb

StepAction = Literal["yes", "no", "confirm", "change", "cancel", "skip"]
# what new_request_key() makes: 12 URL-safe characters; a little room, nothing more
StepKey = Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")


class SubmitPickCb(CallbackData, prefix="subp"):
    """One meter picked from the list."""

    account_id: RowId
    meter_id: RowId


class SubmitStepCb(CallbackData, prefix="subs"):
    """A step of the flow; `key` must match the one in the FSM data, else the button is stale.

    For Confirm the key is also the submission's idempotency key (readings.request_key).
    """

    action: StepAction
    key: str = StepKey


class HistoryCsvCb(CallbackData, prefix="hcsv"):
    account_id: RowId


def _button(text: str, data: CallbackData | str) -> InlineKeyboardButton:
    packed = data if isinstance(data, str) else data.pack()
    return InlineKeyboardButton(text=text, callback_data=packed)


_STEP_PREFIX = SubmitStepCb.__prefix__ + SubmitStepCb.__separator__


def step_data(action: StepAction, key: str) -> str:
    """`SubmitStepCb(action=action, key=key).pack()` without building the model (~5 µs a
    button, three buttons a step): both parts are ours, an action word and a URL-safe key,
    neither holds the separator, and both are within SubmitStepCb's bounds (the keyboard
    tests check the two agree)."""
    return f"{_STEP_PREFIX}{action}{SubmitStepCb.__separator__}{key}"


def meter_list_keyboard(buttons: list[tuple[str, int]], account_id: int) -> InlineKeyboardMarkup:
    """(label, meter id) pairs, one a row."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(label, SubmitPickCb(account_id=account_id, meter_id=meter_id))]
            for label, meter_id in buttons
        ]
    )


def question_keyboard(i18n: I18nContext, key: str, *, walk: bool) -> InlineKeyboardMarkup | None:
    if not walk:
        return None
    skip = _button(i18n.get("submit-skip"), step_data("skip", key))
    return InlineKeyboardMarkup(inline_keyboard=[[skip]])


def sure_keyboard(i18n: I18nContext, key: str) -> InlineKeyboardMarkup:
    yes = _button(i18n.get("submit-sure-yes"), step_data("yes", key))
    no = _button(i18n.get("submit-sure-no"), step_data("no", key))
    return InlineKeyboardMarkup(inline_keyboard=[[yes, no]])


def confirm_keyboard(i18n: I18nContext, key: str) -> InlineKeyboardMarkup:
    confirm = _button(i18n.get("submit-confirm"), step_data("confirm", key))
    change = _button(i18n.get("submit-change"), step_data("change", key))
    cancel = _button(i18n.get("submit-cancel"), step_data("cancel", key))
    return InlineKeyboardMarkup(inline_keyboard=[[confirm], [change, cancel]])


def continue_keyboard(i18n: I18nContext, account_id: int, due: int) -> InlineKeyboardMarkup:
    button = _button(i18n.get("submit-continue", count=due), SubmitStartCb(account_id=account_id))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def history_keyboard(i18n: I18nContext, account_id: int) -> InlineKeyboardMarkup:
    button = _button(i18n.get("history-csv-button"), HistoryCsvCb(account_id=account_id))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])
