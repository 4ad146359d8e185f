"""A 429 on an ordinary reply is waited out and the reply sent (bounded).

Telegram answers 429 with retry_after when a bot writes to one chat too fast. For a reply in
answer to an update the right thing is to wait and send it: the resident is waiting for it.
Reminders and announcements pace themselves and handle their own 429s (bot.services.sender:
one pause for all sending), so only requests made by the update's own task are retried here;
a task started from a handler (a broadcast launched by /broadcast) is not that task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

MAX_TRIES = 3  # the first request and two more
MAX_WAIT_SECONDS = 30.0  # waited in all, per request; a longer retry_after is not waited out

_update_task: ContextVar[asyncio.Task[Any] | None] = ContextVar("update_task", default=None)


async def pause(seconds: float) -> None:
    """Wait out a 429 (a name of its own, so tests can wait without a clock)."""
    await asyncio.sleep(seconds)


def _replying() -> bool:
    task = _update_task.get()
    return task is not None and task is asyncio.current_task()


class UpdateTask(BaseMiddleware):
    """Marks the task that handles the update, so its replies are the ones retried."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        token = _update_task.set(asyncio.current_task())
        try:
            return await handler(event, data)
        finally:
            _update_task.reset(token)


class RetryAfter(BaseRequestMiddleware):
    """Retries a reply answered 429: at most MAX_TRIES requests, MAX_WAIT_SECONDS waited."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        waited = 0.0
        tries = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                if tries >= MAX_TRIES or waited + wait > MAX_WAIT_SECONDS or not _replying():
                    raise
                log.warning("%s: 429, sending again in %g s", type(method).__name__, wait)
                await pause(wait)
                waited += wait
                tries += 1


def install(dp: Dispatcher, bot: Bot) -> None:
    """Replies of the dispatcher's updates sent through the bot wait out a 429."""
    dp.update.outer_middleware(UpdateTask())
    bot.session.middleware(RetryAfter())
