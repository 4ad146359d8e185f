"""Counting and timing every update for `/metrics`, by the handler area that took it."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject

from bot.metrics import BotMetrics

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_SEEN = "update_metrics_seen"
HANDLERS_PACKAGE = "bot.handlers."


@dataclass(slots=True)
class _Seen:
    area: str | None = None


def handler_area(handler: HandlerObject) -> str:
    """`bot.handlers.submit.values` -> `submit`: the area is the handlers module or package."""
    module = getattr(handler.callback, "__module__", None) or "unknown"
    if module.startswith(HANDLERS_PACKAGE):
        return module.removeprefix(HANDLERS_PACKAGE).split(".")[0]
    return module.rsplit(".", 1)[-1]


class UpdateMetricsMiddleware(BaseMiddleware):
    """Outer on updates: each update counted once, by area and outcome (`handled`,
    `unhandled`: no handler took it, or a middleware held it back, `error`), and timed.

    The area is known only below the routers, where aiogram names the handler it picked: the
    `note_handler` inner middleware, set on the dispatcher's event observers (inner middlewares
    of the dispatcher apply to every router included in it), writes it into a slot this one
    put in the update's data.
    """

    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    def install(self, dp: Dispatcher) -> None:
        dp.update.outer_middleware(self)
        for name, observer in dp.observers.items():
            if name not in ("update", "error"):
                observer.middleware(self.note_handler)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        seen = data[_SEEN] = _Seen()
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if seen.area is None else "handled"
            return result
        finally:
            area = seen.area or "none"
            self.metrics.updates.labels(area, outcome).inc()
            self.metrics.update_seconds.labels(area).observe(time.perf_counter() - started)

    @staticmethod
    async def note_handler(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        seen = data.get(_SEEN)
        picked = data.get("handler")
        if isinstance(seen, _Seen) and isinstance(picked, HandlerObject):
            seen.area = handler_area(picked)
        return await handler(event, data)
