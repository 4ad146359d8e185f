"""Every update watched once: one log line (its id, the handler that took it, how long it
took, the outcome) and its count and time for `/metrics`, by the handler's area.

Both come from the same reading of the update, so the log and the metrics always agree on its
outcome: `handled`; `unhandled` (no handler took it, or a middleware held it back); `error`;
`cancelled` (abandoned at a stop past the grace, bot/updates_in_hand.py). (`invalid`, a webhook
body that never became an update, is written by bot/webhook.py.)

While the update is handled, every log line of its task carries the same id, handler and
(hashed, in JSON) chat: bot.logs.current_update. The handler is known only below the routers,
where aiogram names the one it picked: `note_handler`, an inner middleware on the dispatcher's
event observers (inner middlewares of the dispatcher apply to every router included in it),
writes it there.
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
from bot.metrics import BotMetrics

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

log = logging.getLogger("bot.updates")
HANDLERS_PACKAGE = "bot.handlers."


def handler_name(handler: HandlerObject) -> str:
    """`bot.handlers.submit.values.on_reading` -> `submit.values.on_reading`."""
    callback = handler.callback
    module = getattr(callback, "__module__", None) or "unknown"
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"{module.removeprefix(HANDLERS_PACKAGE)}.{name}"


def handler_area(handler: HandlerObject) -> str:
    """`bot.handlers.submit.values` -> `submit`: the area is the handlers module or package."""
    module = getattr(handler.callback, "__module__", None) or "unknown"
    if module.startswith(HANDLERS_PACKAGE):
        return module.removeprefix(HANDLERS_PACKAGE).split(".")[0]
    return module.rsplit(".", 1)[-1]


class UpdateWatchMiddleware(BaseMiddleware):
    """Outer on updates: each update logged, counted and timed once."""

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

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
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            seconds = time.perf_counter() - started
            self._record(update, outcome, seconds)
            current_update.reset(token)

    def _record(self, update: UpdateInHand, outcome: str, seconds: float) -> None:
        area = update.area or "none"
        self.metrics.updates.labels(area, outcome).inc()
        self.metrics.update_seconds.labels(area).observe(seconds)
        duration_ms = round(seconds * 1000, 1)
        log.info(
            "update %d %s by %s in %.0f ms",
            update.update_id,
            outcome,
            update.handler or "none",
            duration_ms,
            extra={"duration_ms": duration_ms, "outcome": outcome},
        )

    @staticmethod
    async def note_handler(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update = current_update.get()
        picked = data.get("handler")
        if update is not None and isinstance(picked, HandlerObject):
            update.handler = handler_name(picked)
            update.area = handler_area(picked)
        return await handler(event, data)
