"""What goes out to chats without being asked: campaigns (reminders, announcements), who they
name for each chat, and the notices queued by work done without a bot. Plain values: storage
reads and writes them, the services decide with them, bot/notifications renders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Campaign:
    id: str
    kind: str
    params: dict[str, Any]
    expires_on: date | None
    materialised: bool
    finished: bool
    admin_chat_id: int | None = None
    progress_message_id: int | None = None


@dataclass(frozen=True, slots=True)
class WindowRule:
    """Meters whose own window days are exactly these (None = the default day); with
    `unread_period`, only those still lacking a current reading for that period."""

    window_start: int | None
    window_end: int | None
    unread_period: str | None = None


@dataclass(frozen=True, slots=True)
class MeterRule:
    """One meter, while its verification date is still `due`."""

    meter_id: int
    due: date


Rule = WindowRule | MeterRule


@dataclass(frozen=True, slots=True)
class RecipientMeter:
    """One row of what a reminder says: a chat, one of its accounts, one meter of it."""

    chat_id: int
    locale: str | None
    account_id: int
    number: str
    address: str | None
    meter_id: int
    serial: str
    resource: str
    window_start: int | None
    window_end: int | None
    verified_until: date | None


@dataclass(frozen=True, slots=True)
class RecipientAccount:
    """A chat, one of its accounts, and one window the account's matching meters use."""

    chat_id: int
    locale: str | None
    account_id: int
    number: str
    address: str | None
    window_start: int | None
    window_end: int | None


@dataclass(frozen=True, slots=True)
class Notice:
    """A message queued for a chat (see migration 0004), with the chat's chosen language."""

    id: int
    chat_id: int
    kind: str
    args: dict[str, Any]
    locale: str | None  # the chat's chosen language, if any
