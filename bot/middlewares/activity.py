"""Per-update wiring: chat activity."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.storage.chats import ChatRepository

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ChatActivityMiddleware(BaseMiddleware):
    """A chat marked inactive (bot blocked, 403) becomes active again when the resident writes.

    The few inactive chat ids are kept in memory and re-read once a minute, since
    `send-reminders` may mark chats from another process; a query per update would cost more.
    """

    REFRESH_SECONDS = 60.0

    def __init__(self, chats: ChatRepository) -> None:
        self.chats = chats
        self._inactive: set[int] = set()
        self._loaded_at: float | None = None

    def mark_inactive(self, chat_id: int) -> None:
        self._inactive.add(chat_id)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = data.get("event_chat")
        loop_time = asyncio.get_running_loop().time()
        if self._loaded_at is None or loop_time - self._loaded_at > self.REFRESH_SECONDS:
            self._loaded_at = loop_time
            self._inactive = set(await self.chats.inactive_ids())
        if chat is not None and chat.id in self._inactive:
            self._inactive.discard(chat.id)
            await self.chats.set_active(chat.id, True)
        return await handler(event, data)
