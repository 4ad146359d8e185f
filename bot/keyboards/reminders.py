"""The buttons under a reminder: start submitting readings, one button per account."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards.callbacks import SubmitStartCb


def submit_keyboard(buttons: Sequence[tuple[str, int]]) -> InlineKeyboardMarkup:
    """(label, account id) for each button; pressing one starts the walk for that account."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=label, callback_data=SubmitStartCb(account_id=account_id).pack()
                )
            ]
            for label, account_id in buttons
        ]
    )
