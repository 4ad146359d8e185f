"""The operator's confirmation of an announcement (SPEC §8)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.keyboards.buttons import button
from bot.keyboards.callbacks import BroadcastCb


def broadcast_confirm_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    send = button(i18n.get("broadcast-confirm"), BroadcastCb(action="send"))
    cancel = button(i18n.get("broadcast-cancel"), BroadcastCb(action="cancel"))
    return InlineKeyboardMarkup(inline_keyboard=[[send, cancel]])
