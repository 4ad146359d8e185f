"""Per-update wiring: the conversation's FSM changes go to the database after each update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from bot.storage.conversations import Conversations

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class ConversationFlushMiddleware(BaseMiddleware):
    """Has the state the handler left written behind it (see bot.storage.fsm); a storage
    that writes at once (Redis) has nothing to do here."""

    def __init__(self, storage: Conversations) -> None:
        self.storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            self.storage.flush_soon()
