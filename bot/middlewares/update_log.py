"""One log line per update: its id, the handler that took it, how long it took, the outcome.

While the update is handled, every log line of its task carries the same id, handler and
(hashed, in JSON) chat: bot.logs.current_update. The handler is named where aiogram picked it,
by an inner middleware on the dispatcher's observers, as the update metrics do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import Chat, TelegramObject, Update

from bot.logs import UpdateInHand, current_update

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

log = logging.getLogger("bot.updates")
HANDLERS_PACKAGE = "bot.handlers."


def handler_name(handler: HandlerObject) -> str:
    """`bot.handlers.submit.values.on_reading` -> `submit.values.on_reading`."""
    callback = handler.callback
    module = getattr(callback, "__module__", None) or "unknown"
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"{module.removeprefix(HANDLERS_PACKAGE)}.{name}"


class UpdateLogMiddleware(BaseMiddleware):
    def install(self, dp: Dispatcher) -> None:
        dp.update.outer_middleware(self)
        for name, observer in dp.observers.items():
            if name not in ("update", "error"):
                observer.middleware(self.note_handler)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        chat = data.get("event_chat")
        update = UpdateInHand(event.update_id, chat.id if isinstance(chat, Chat) else None)
        token = current_update.set(update)
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if update.handler is None else "handled"
            return result
        except asyncio.CancelledError:  # abandoned at a stop (bot/updates_in_hand.py)
            outcome = "cancelled"
            raise
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info(
                "update %d %s by %s in %.0f ms",
                update.update_id,
                outcome,
                update.handler or "none",
                duration_ms,
                extra={"duration_ms": duration_ms, "outcome": outcome},
            )
            current_update.reset(token)

    @staticmethod
    async def note_handler(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update = current_update.get()
        picked = data.get("handler")
        if update is not None and isinstance(picked, HandlerObject):
            update.handler = handler_name(picked)
        return await handler(event, data)
