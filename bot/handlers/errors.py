"""What nobody foresaw (a read-only or full disk, a bug): the resident is told, the log gets
one line.

The resident reads "something went wrong on our side, nothing was saved" in their language
(when Telegram itself failed a reply, possibly after a save: "repeat your last step, nothing
is saved twice"); the log gets the update id, the exception's type and where it was raised,
innermost frame first, on one line. The exception's own text is left out (it may hold a phone,
a reading or an account number) except for database and OS errors, whose texts are the
library's own ("attempt to write a readonly database", "database or disk is full").
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import traceback
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, ErrorEvent, User
from aiogram_i18n import I18nContext
from aiogram_i18n.cores import BaseCore

from bot.i18n import ChatLocaleManager, pick_locale

log = logging.getLogger(__name__)

MAX_FRAMES = 12
_TEXT_IS_SAFE = (sqlite3.Error, OSError)


def describe(exc: BaseException) -> str:
    """One line: type, safe text, frames innermost first; the same for what caused it."""
    parts = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = type(current).__qualname__
        if isinstance(current, _TEXT_IS_SAFE):
            name += f"({str(current)[:120]!r})"
        frames = traceback.extract_tb(current.__traceback__)[-MAX_FRAMES:]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
        parts.append(f"{name} at {where}" if where else name)
        current = current.__cause__ or current.__context__
    return " | caused by ".join(parts)


class ErrorAnswer:
    """The dispatcher's errors handler (registered with `dp.errors.register(x.handle)`)."""

    def __init__(
        self,
        core: BaseCore[Any],
        locales: ChatLocaleManager,
        default_locale: str,
        support: str,
    ) -> None:
        self.core = core
        self.locales = locales
        self.default_locale = default_locale
        self.support = support

    async def handle(self, event: ErrorEvent, bot: Bot, **data: Any) -> bool:
        log.error("update %s failed: %s", event.update.update_id, describe(event.exception))
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type != ChatType.PRIVATE:
            return True
        if event.update.callback_query is not None:  # stop the button's spinner, if still on
            with contextlib.suppress(TelegramAPIError):
                await bot.answer_callback_query(event.update.callback_query.id)
        locale = await self._locale(chat, data.get("event_from_user"), data.get("i18n"))
        # Telegram failing a reply may come after the save: "nothing was saved" could be untrue
        key = (
            "error-telegram" if isinstance(event.exception, TelegramAPIError) else "error-internal"
        )
        text = self.core.get(key, locale, support=self.support)
        try:
            await bot.send_message(chat.id, text)
        except Exception as exc:  # nothing more to do: the failure itself is logged above
            log.warning(
                "update %s: the resident was not told: %s",
                event.update.update_id,
                type(exc).__name__,
            )
        return True

    async def _locale(self, chat: Chat, user: User | None, i18n: Any) -> str:
        if isinstance(i18n, I18nContext):
            return i18n.locale
        language = user.language_code if user else None
        try:
            return await self.locales.get_locale(event_chat=chat, event_from_user=user)
        except Exception:  # the database may be what failed
            return pick_locale(None, language, self.default_locale)
