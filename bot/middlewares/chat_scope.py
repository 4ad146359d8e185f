"""Per-update wiring: which chats the bot serves (SPEC §5.1).

Private chats only: a group, supergroup or channel is told once that the bot works in private
chats (remembered in the database, so once per chat across restarts) and nothing else happens
there: no handler runs, no button is answered, nothing is linked or shown. A private chat's
first update stores the language it wrote in. The one exception is OPERATOR_CHAT_ID, the
operators' forum of appeals (bot/handlers/appeal_desk.py), which gets no chat row of its own.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update, User
from aiogram_i18n.cores import BaseCore

from bot.clock import Clock
from bot.i18n import ChatLocaleManager, pick_locale
from bot.storage.chats import ChatRepository

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

log = logging.getLogger(__name__)


class PrivateChatsOnly(BaseMiddleware):
    """Stops every update from a chat that is not private; says so once per chat."""

    MAX_REMEMBERED = 10_000  # chats known to be told, to spare the database; then afresh

    def __init__(
        self,
        chats: ChatRepository,
        core: BaseCore,
        clock: Clock,
        default_locale: str,
        operators_chat: int | None = None,  # OPERATOR_CHAT_ID: appeals are answered there
    ) -> None:
        self.chats = chats
        self.operators_chat = operators_chat
        self.core = core
        self.clock = clock
        self.default_locale = default_locale
        self._told: set[int] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == ChatType.PRIVATE or chat.id == self.operators_chat:
            return await handler(event, data)
        assert isinstance(event, Update)
        if event.message is not None or event.channel_post is not None:  # something written
            await self._tell_once(data["bot"], chat, data.get("event_from_user"))
        return UNHANDLED

    async def _tell_once(self, bot: Bot, chat: Chat, user: User | None) -> None:
        if chat.id in self._told:
            return
        first = await self.chats.mark_told_private_only(chat.id, self.clock.now())
        if len(self._told) >= self.MAX_REMEMBERED:
            self._told.clear()
        self._told.add(chat.id)
        if not first:
            return
        # marked before sending: at most once, even if the process dies in between
        locale = pick_locale(None, user.language_code if user else None, self.default_locale)
        try:
            await bot.send_message(chat.id, self.core.get("private-only", locale))
        except TelegramAPIError as exc:  # a channel the bot may not post in, say
            log.warning("private-only notice to chat %s failed: %s", chat.id, type(exc).__name__)


class FirstLanguage(BaseMiddleware):
    """Stores the language of a private chat's first update (see remember_first_locale)."""

    def __init__(self, locales: ChatLocaleManager) -> None:
        self.locales = locales

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type == ChatType.PRIVATE:  # not the operators' chat
            user: User | None = data.get("event_from_user")
            try:
                await self.locales.remember_first_locale(
                    chat.id, user.language_code if user else None
                )
            except sqlite3.Error as exc:  # the update goes on; the next one stores it
                log.warning("language of chat %s not stored: %s", chat.id, type(exc).__name__)
        return await handler(event, data)
