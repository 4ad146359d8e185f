"""The settings keyboard: each kind of reminder on or off, and the other language."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.keyboards.buttons import button
from bot.keyboards.callbacks import LanguageCb, ReminderToggleCb


def settings_keyboard(
    i18n: I18nContext, reminders: Sequence[tuple[str, bool]], other_locale: str
) -> InlineKeyboardMarkup:
    """`reminders`: (kind, enabled) pairs in the order shown; one button a row."""
    rows = [
        [
            button(
                i18n.get(f"settings-remind-{kind}", on=str(enabled).lower()),
                ReminderToggleCb(kind=kind),
            )
        ]
        for kind, enabled in reminders
    ]
    rows.append([button(i18n.get("settings-language"), LanguageCb(locale=other_locale))])
    return InlineKeyboardMarkup(inline_keyboard=rows)
