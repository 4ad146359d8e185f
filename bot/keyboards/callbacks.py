"""CallbackData classes: what an inline button carries back."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Every integer a button carries is a row id (or 0 for "the current one"): at most what an
# SQLite INTEGER holds. A crafted callback beyond it fails to unpack, so no handler matches
# and the fallback answers "this button no longer works" (instead of an OverflowError).
SQLITE_INT_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=0, le=SQLITE_INT_MAX)]


class LinkCb(CallbackData, prefix="link"):
    action: str  # "resend" | "restart" | "start"


class AccountCb(CallbackData, prefix="acc"):
    action: str  # "switch" | "unlink" | "unlink_yes" | "unlink_no" | "add"
    account_id: RowId = 0


class ForgetCb(CallbackData, prefix="forget"):
    confirm: bool


class LanguageCb(CallbackData, prefix="lang"):
    locale: str


class ReminderToggleCb(CallbackData, prefix="remind"):
    kind: str  # "opening" | "closing" | "verification"


class SubmitStartCb(CallbackData, prefix="sub"):
    """Starts the submission walk-through (menu, reminders); account 0 = the current one."""

    account_id: RowId = 0
