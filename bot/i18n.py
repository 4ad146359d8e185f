"""Locales: Fluent files under locales/, the chat's language from the database."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from aiogram import Dispatcher
from aiogram.types import Chat, User
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.managers import BaseManager

from bot.clock import Clock
from bot.storage.chats import ChatRepository

LOCALES = ("ru", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


class RenderCachingCore(FluentRuntimeCore):
    """Fluent that renders a text once per message, locale and arguments.

    Most of what a resident reads repeats from one resident to the next (meter titles,
    periods, "(1 of 3)", button labels), and Fluent takes 10-120 µs a text here (a number
    argument goes through Babel's formatting); a repeated text costs a dictionary lookup.
    Rendering is a pure function of the message, the locale and the arguments. Kept because
    it moves the conversation benchmark (docs/benchmarks.md, "Issue 10").
    """

    MAX_TEXTS = 20_000  # then start afresh: the monthly rush keeps the useful ones hot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rendered: dict[tuple[Any, ...], str] = {}

    async def startup(self) -> None:
        self._rendered.clear()  # the bundles are new: the texts came from the old ones
        await super().startup()

    async def shutdown(self) -> None:
        self._rendered.clear()
        await super().shutdown()

    def get(self, message_id: str, locale: str | None = None, /, **kwargs: Any) -> str:
        locale = self.get_locale(locale=locale)
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

    def get_once(self, message_id: str, locale: str | None = None, /, **kwargs: Any) -> str:
        """A text made for one reader (an account number, an address in it): rendered, never
        remembered, so a reminder to 100,000 chats does not push out the texts that repeat."""
        return super().get(message_id, locale, **kwargs)


def create_core(default_locale: str) -> RenderCachingCore:
    return RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale=default_locale)


def pick_locale(stored: str | None, telegram_language: str | None, default: str) -> str:
    if stored in LOCALES:
        return stored
    language = (telegram_language or "").split("-")[0].lower()
    return language if language in LOCALES else default


class ChatLocaleManager(BaseManager):
    """The chat's chosen language; else Telegram's language of the user; else the default.

    Stored languages are cached: this process is the only writer of chats.locale, and every
    entry is what the table holds (written there first), so the least recently used go when
    the cache holds MAX_CACHED chats and are read again when their chat comes back.
    """

    MAX_CACHED = 100_000  # chat id → language: about 100 bytes each

    def __init__(self, chats: ChatRepository, clock: Clock, default_locale: str) -> None:
        super().__init__(default_locale=default_locale)
        self.chats = chats
        self.clock = clock
        self.max_cached = self.MAX_CACHED
        self._cache: OrderedDict[int, str | None] = OrderedDict()

    def _remember(self, chat_id: int, locale: str | None) -> None:
        self._cache[chat_id] = locale
        self._cache.move_to_end(chat_id)
        while len(self._cache) > self.max_cached:
            self._cache.popitem(last=False)

    async def stored_locale(self, chat_id: int) -> str | None:
        try:
            locale = self._cache[chat_id]
        except KeyError:
            chat = await self.chats.get(chat_id)
            locale = chat.locale if chat else None
            self._remember(chat_id, locale)
            return locale
        self._cache.move_to_end(chat_id)
        return locale

    async def remember_first_locale(self, chat_id: int, telegram_language: str | None) -> None:
        """Store the language a chat first wrote in (Telegram's, else the default), so what
        the bot sends unprompted (reminders, alerts) reaches it in that language; a language
        stored before (/language, an earlier first update) stays. Free once cached."""
        if await self.stored_locale(chat_id) is not None:
            return
        locale = pick_locale(None, telegram_language, self.default_locale or "ru")
        await self.chats.set_first_locale(chat_id, locale, self.clock.now())
        self._remember(chat_id, locale)

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
        self._remember(event_chat.id, locale)

    def forget(self, chat_id: int) -> None:
        self._cache.pop(chat_id, None)


def install_i18n(
    dp: Dispatcher, core: FluentRuntimeCore, manager: ChatLocaleManager, default_locale: str
) -> None:
    """The chat's language on every update, as `I18nMiddleware.setup` but for the core's
    startup and shutdown hooks: build_app loads the texts once, and they stay loaded to the
    end, since an update finishing at a stop, its error answer and App.close's background
    sends still render (the shutdown hook cleared them under such an update: KeyError 'ru').
    The manager's hooks do nothing (ChatLocaleManager has none)."""
    middleware = I18nMiddleware(core=core, manager=manager, default_locale=default_locale)
    dp.update.outer_middleware(middleware)
    dp.startup.register(middleware.startup)  # lazy filters, should a router use them
    dp[middleware.middleware_key] = middleware
