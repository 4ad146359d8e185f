"""Keyboards of /accounts (switch, unlink, add) and /forget (SPEC §5.6)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.domain.models import Account
from bot.keyboards.buttons import button
from bot.keyboards.callbacks import AccountCb, ForgetCb


def accounts_keyboard(
    i18n: I18nContext, accounts: Sequence[Account], current: int | None
) -> InlineKeyboardMarkup:
    """One button a row: switch to each other account, unlink each, then add one."""
    buttons: list[InlineKeyboardButton] = []
    for account in accounts:
        if account.id != current:
            buttons.append(
                button(
                    i18n.get("accounts-switch", account=account.number),
                    AccountCb(action="switch", account_id=account.id),
                )
            )
        buttons.append(
            button(
                i18n.get("accounts-unlink", account=account.number),
                AccountCb(action="unlink", account_id=account.id),
            )
        )
    buttons.append(button(i18n.get("accounts-add"), AccountCb(action="add")))
    return InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons])


def unlink_keyboard(i18n: I18nContext, account_id: int) -> InlineKeyboardMarkup:
    yes = AccountCb(action="unlink_yes", account_id=account_id)
    no = AccountCb(action="unlink_no", account_id=account_id)
    buttons = [
        button(i18n.get("accounts-unlink-yes"), yes),
        button(i18n.get("accounts-unlink-no"), no),
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def forget_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    yes = button(i18n.get("forget-yes"), ForgetCb(confirm=True))
    no = button(i18n.get("forget-no"), ForgetCb(confirm=False))
    return InlineKeyboardMarkup(inline_keyboard=[[yes, no]])
