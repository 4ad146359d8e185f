"""CallbackData classes: what an inline button carries back."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Every integer a button carries is a row id (or 0 for "the current one"): at most what an
# SQLite INTEGER holds. A crafted callback beyond it fails to unpack, so no handler matches
# and the fallback answers "this button no longer works" (instead of an OverflowError).
SQLITE_INT_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=0, le=SQLITE_INT_MAX)]

StepAction = Literal["yes", "no", "confirm", "change", "cancel", "skip"]
# what new_request_key() makes: 12 URL-safe characters; a little room, nothing more
StepKey = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


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


class SubmitPickCb(CallbackData, prefix="subp"):
    """One meter picked from the list."""

    account_id: RowId
    meter_id: RowId


class SubmitStepCb(CallbackData, prefix="subs"):
    """A step of the walk; `key` must match the walk's, else the button is stale.

    For Confirm the key is also the submission's idempotency key (readings.request_key).
    """

    action: StepAction
    key: StepKey


class HistoryCsvCb(CallbackData, prefix="hcsv"):
    account_id: RowId


class BroadcastCb(CallbackData, prefix="bcast"):
    action: str  # "send" | "cancel"
