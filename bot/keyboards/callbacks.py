"""CallbackData classes: what an inline button carries back."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LinkCb(CallbackData, prefix="link"):
    action: str  # "resend" | "restart" | "start"


class AccountCb(CallbackData, prefix="acc"):
    action: str  # "switch" | "unlink" | "unlink_yes" | "unlink_no" | "add"
    account_id: int = 0


class ForgetCb(CallbackData, prefix="forget"):
    confirm: bool


class LanguageCb(CallbackData, prefix="lang"):
    locale: str


class ReminderToggleCb(CallbackData, prefix="remind"):
    kind: str  # "opening" | "closing" | "verification"


class SubmitStartCb(CallbackData, prefix="sub"):
    """Starts the submission walk-through (menu, reminders); account 0 = the current one."""

    account_id: int = 0
