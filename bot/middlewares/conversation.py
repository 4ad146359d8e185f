"""Per-update wiring: the conversation's FSM changes reach the database before the update ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.storage.fsm import SqliteStorage

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ConversationFlushMiddleware(BaseMiddleware):
    """Writes the state the handler left (one statement, shared with concurrent updates)."""

    def __init__(self, storage: SqliteStorage) -> None:
        self.storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            # inside aiogram's per-chat lock: the chat's next update finds it written
            await self.storage.flush()
