"""Keyboards of linking a chat to an account (SPEC §5)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.keyboards.buttons import button
from bot.keyboards.callbacks import LinkCb


def phone_keyboard(i18n: I18nContext) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=i18n.get("link-share-phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder="+7 916 123-45-67",
    )


def code_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    resend = button(i18n.get("link-resend"), LinkCb(action="resend"))
    restart = button(i18n.get("link-restart"), LinkCb(action="restart"))
    return InlineKeyboardMarkup(inline_keyboard=[[resend, restart]])
