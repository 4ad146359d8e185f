"""The main menu and the small keyboards shared by several conversations."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.keyboards.buttons import button
from bot.keyboards.callbacks import LanguageCb

MENU_KEYS = (
    ("menu-submit", "menu-meters"),
    ("menu-history", "menu-accounts"),
    ("menu-settings", "menu-help"),
    ("menu-appeal",),
)


def main_menu(i18n: I18nContext) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=i18n.get(key)) for key in row] for row in MENU_KEYS],
        resize_keyboard=True,
        is_persistent=True,
    )


def language_keyboard() -> InlineKeyboardMarkup:
    # each language is named in itself, so a resident finds theirs whatever the current one
    names = (("Русский", "ru"), ("English", "en"))
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(name, LanguageCb(locale=locale)) for name, locale in names]]
    )
