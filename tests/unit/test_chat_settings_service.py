"""A chat's reminder settings: every kind on by default, each toggled on its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.services.chat_settings import ChatSettingsService
from bot.storage.chats import ChatRepository
from bot.storage.db import Database

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

CHAT = 1001
ALL_ON = [("opening", True), ("closing", True), ("verification", True)]


def service(db: Database) -> ChatSettingsService:
    return ChatSettingsService(
        chats=ChatRepository(db), clock=FrozenClock(datetime(2026, 11, 20, tzinfo=UTC))
    )


async def test_a_chat_never_seen_gets_every_reminder(db: Database) -> None:
    assert await service(db).reminders(CHAT) == ALL_ON


async def test_toggling_a_reminder_turns_it_off_then_on_again_and_stores_the_chat(
    db: Database,
) -> None:
    settings = service(db)
    assert await settings.toggle_reminder(CHAT, "closing")
    assert await settings.reminders(CHAT) == [
        ("opening", True),
        ("closing", False),
        ("verification", True),
    ]
    chat = await ChatRepository(db).get(CHAT)
    assert chat is not None and not chat.remind_closing
    assert await settings.toggle_reminder(CHAT, "closing")
    assert await settings.reminders(CHAT) == ALL_ON


async def test_an_unknown_kind_of_reminder_is_refused_and_stores_nothing(db: Database) -> None:
    assert not await service(db).toggle_reminder(CHAT, "weekly")
    assert await ChatRepository(db).get(CHAT) is None
