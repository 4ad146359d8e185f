"""Buttons of the submission walk, of history and of the meter list."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.keyboards.buttons import button
from bot.keyboards.callbacks import (
    HistoryCsvCb,
    StepAction,
    SubmitPickCb,
    SubmitStartCb,
    SubmitStepCb,
)


def _step(text: str, action: StepAction, key: str) -> InlineKeyboardButton:
    return button(text, SubmitStepCb(action=action, key=key))


def meter_list_keyboard(buttons: list[tuple[str, int]], account_id: int) -> InlineKeyboardMarkup:
    """(label, meter id) pairs, one a row."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(label, SubmitPickCb(account_id=account_id, meter_id=meter_id))]
            for label, meter_id in buttons
        ]
    )


def question_keyboard(i18n: I18nContext, key: str, *, walk: bool) -> InlineKeyboardMarkup | None:
    """Skip, in a walk through the due meters; nothing for a single meter picked."""
    if not walk:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[_step(i18n.get("submit-skip"), "skip", key)]])


def sure_keyboard(i18n: I18nContext, key: str) -> InlineKeyboardMarkup:
    yes = _step(i18n.get("submit-sure-yes"), "yes", key)
    no = _step(i18n.get("submit-sure-no"), "no", key)
    return InlineKeyboardMarkup(inline_keyboard=[[yes, no]])


def confirm_keyboard(i18n: I18nContext, key: str) -> InlineKeyboardMarkup:
    confirm = _step(i18n.get("submit-confirm"), "confirm", key)
    change = _step(i18n.get("submit-change"), "change", key)
    cancel = _step(i18n.get("submit-cancel"), "cancel", key)
    return InlineKeyboardMarkup(inline_keyboard=[[confirm], [change, cancel]])


def continue_keyboard(i18n: I18nContext, account_id: int, due: int) -> InlineKeyboardMarkup:
    more = button(i18n.get("submit-continue", count=due), SubmitStartCb(account_id=account_id))
    return InlineKeyboardMarkup(inline_keyboard=[[more]])


def history_keyboard(i18n: I18nContext, account_id: int) -> InlineKeyboardMarkup:
    csv = button(i18n.get("history-csv-button"), HistoryCsvCb(account_id=account_id))
    return InlineKeyboardMarkup(inline_keyboard=[[csv]])
