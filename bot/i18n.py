"""Locales: Fluent files under locales/, the chat's language from the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import Chat, User
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.managers import BaseManager

from bot.clock import Clock
from bot.storage.chats import ChatRepository

LOCALES = ("ru", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


class RenderCachingCore(FluentRuntimeCore):
    """Fluent that renders a message once for the same locale and arguments.

    Most of what a resident reads repeats from one resident to the next (meter titles,
    periods, "(1 of 3)", button labels), and Fluent takes 10-120 µs a text here (a number
    argument goes through Babel's formatting); a repeated text costs a dictionary lookup.
    Rendering is a pure function of the message, the locale and the arguments.
    """

    MAX_TEXTS = 20_000  # then start afresh: the monthly rush keeps the useful ones hot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rendered: dict[tuple[Any, ...], str] = {}

    def get(self, message_id: str, locale: str | None = None, /, **kwargs: Any) -> str:
        # the type rides along: 1, 1.0 and True are equal keys but may render differently
        key = (message_id, locale, *((name, type(v), v) for name, v in kwargs.items()))
        try:
            return self._rendered[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable argument: render every time
            return super().get(message_id, locale, **kwargs)
        text = super().get(message_id, locale, **kwargs)
        if len(self._rendered) >= self.MAX_TEXTS:
            self._rendered.clear()
        self._rendered[key] = text
        return text


def create_core(default_locale: str) -> FluentRuntimeCore:
    return RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale=default_locale)


def pick_locale(stored: str | None, telegram_language: str | None, default: str) -> str:
    if stored in LOCALES:
        return stored
    language = (telegram_language or "").split("-")[0].lower()
    return language if language in LOCALES else default


class ChatLocaleManager(BaseManager):
    """The chat's chosen language; else Telegram's language of the user; else the default.

    Chosen languages are cached: this process is the only writer of chats.locale.
    """

    def __init__(self, chats: ChatRepository, clock: Clock, default_locale: str) -> None:
        super().__init__(default_locale=default_locale)
        self.chats = chats
        self.clock = clock
        self._cache: dict[int, str | None] = {}

    async def stored_locale(self, chat_id: int) -> str | None:
        if chat_id not in self._cache:
            chat = await self.chats.get(chat_id)
            self._cache[chat_id] = chat.locale if chat else None
        return self._cache[chat_id]

    async def get_locale(
        self, event_chat: Chat | None = None, event_from_user: User | None = None, **_: Any
    ) -> str:
        stored = await self.stored_locale(event_chat.id) if event_chat else None
        language = event_from_user.language_code if event_from_user else None
        return pick_locale(stored, language, self.default_locale or "ru")

    async def set_locale(self, locale: str, event_chat: Chat | None = None, **_: Any) -> None:
        if event_chat is None:
            return
        await self.chats.set_locale(event_chat.id, locale, self.clock.now())
        self._cache[event_chat.id] = locale

    def forget(self, chat_id: int) -> None:
        self._cache.pop(chat_id, None)


def create_i18n_middleware(
    core: FluentRuntimeCore, manager: ChatLocaleManager, default_locale: str
) -> I18nMiddleware:
    return I18nMiddleware(core=core, manager=manager, default_locale=default_locale)
