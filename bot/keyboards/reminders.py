"""The buttons under a reminder: start submitting readings, one button per account."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards.callbacks import SubmitStartCb

# (label, callback data) of each button, one a row: what a reminder keeps until it is sent
ButtonColumn = tuple[tuple[str, str], ...]


def submit_buttons(buttons: Sequence[tuple[str, int]]) -> ButtonColumn:
    """(label, account id) for each button; pressing one starts the walk for that account."""
    return tuple(
        (label, SubmitStartCb(account_id=account_id).pack()) for label, account_id in buttons
    )


def column_keyboard(buttons: ButtonColumn) -> InlineKeyboardMarkup:
    """The buttons one under the other, as Telegram takes them."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data)] for label, data in buttons
        ]
    )
