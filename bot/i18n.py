"""Locales: Fluent files under locales/, the chat's language from the database."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.types import Chat, User
from aiogram_i18n import I18nMiddleware
from aiogram_i18n.cores import FluentRuntimeCore
from aiogram_i18n.managers import BaseManager
from fluent.runtime import FluentBundle, resolver
from fluent.runtime.resolver import MAX_PART_LENGTH
from fluent.syntax import ast as FTL

from bot.clock import Clock
from bot.storage.chats import ChatRepository

LOCALES = ("ru", "en")
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A message that is text and `{ $variable }` placeables only, ready to be joined."""

    parts: tuple[str, ...]  # the text pieces; a variable's slot holds ""
    slots: tuple[tuple[int, str], ...]  # (index in parts, variable name)

    def render(self, args: dict[str, Any]) -> str | None:
        """The text, or None when an argument is not a plain, short enough str."""
        parts = list(self.parts)
        for index, name in self.slots:
            value = args.get(name)
            if type(value) is not str or len(value) > MAX_PART_LENGTH:
                return None  # a number (Babel), a date, a missing or too long argument
            parts[index] = value
        return "".join(parts)


def compile_plan(bundle: FluentBundle, message_id: str) -> _Plan | None:
    """The plan of a message in a bundle, None when only Fluent itself may render it.

    The value of a compiled message is a TextElement or StringLiteral (text only), a lone
    Placeable (NeverIsolatingPlaceable) or a Pattern of those. With use_isolating off Fluent
    joins text, string literals and str arguments as they are; a selector, a term, a message
    reference, a function or a number literal goes through Fluent, and so does any text
    longer than MAX_PART_LENGTH or more than Pattern.MAX_PARTS elements (Fluent errs).
    """
    if bundle.use_isolating or not bundle.has_message(message_id):
        return None
    value = bundle.get_message(message_id).value
    if value is None:
        return None
    elements = value.elements if isinstance(value, FTL.Pattern) else [value]
    if len(elements) > resolver.Pattern.MAX_PARTS:
        return None
    parts: list[str] = []
    slots: list[tuple[int, str]] = []
    for element in elements:
        if isinstance(element, FTL.TextElement):
            parts.append(element.value)
        elif isinstance(element, FTL.StringLiteral):
            parts.append(element.parse()["value"])
        elif isinstance(element, FTL.Placeable) and isinstance(
            element.expression, FTL.VariableReference
        ):
            slots.append((len(parts), element.expression.id.name))
            parts.append("")
        else:
            return None
        if len(parts[-1]) > MAX_PART_LENGTH:
            return None
    return _Plan(tuple(parts), tuple(slots))


class RenderCachingCore(FluentRuntimeCore):
    """Fluent that joins simple texts itself and renders the others once per arguments.

    Most of what a resident reads repeats from one resident to the next (meter titles,
    periods, "(1 of 3)", button labels), and Fluent takes 10-120 µs a text here (a number
    argument goes through Babel's formatting); a repeated text costs a dictionary lookup.
    Rendering is a pure function of the message, the locale and the arguments.

    Texts carrying readings, dates and receipt numbers rarely repeat. When a message is
    text and `{ $variable }` only and its arguments are str, the text is the pieces joined,
    which is what Fluent does with them (without isolation marks). With arguments never
    seen before (timeit, this machine) submit-confirm-line takes 1.3 µs instead of 11-15 µs
    and submit-receipt 1.5 µs instead of 20-22 µs. Anything else (numbers, dates, missing
    arguments, selectors, terms...) takes the path above.
    """

    MAX_TEXTS = 20_000  # then start afresh: the monthly rush keeps the useful ones hot

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rendered: dict[tuple[Any, ...], str] = {}
        self._plans: dict[tuple[str, str], _Plan | None] = {}

    async def startup(self) -> None:
        self._forget()  # the bundles are new: plans and texts come from the old ones
        await super().startup()

    async def shutdown(self) -> None:
        self._forget()
        await super().shutdown()

    def _forget(self) -> None:
        self._rendered.clear()
        self._plans.clear()

    def get(self, message_id: str, locale: str | None = None, /, **kwargs: Any) -> str:
        locale = self.get_locale(locale=locale)
        try:
            plan = self._plans[message_id, locale]
        except KeyError:
            bundle = self.locales.get(locale)
            plan = compile_plan(bundle, message_id) if bundle is not None else None
            self._plans[message_id, locale] = plan
        if plan is not None:
            text = plan.render(kwargs)
            if text is not None:
                return text
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


def create_i18n_middleware(
    core: FluentRuntimeCore, manager: ChatLocaleManager, default_locale: str
) -> I18nMiddleware:
    return I18nMiddleware(core=core, manager=manager, default_locale=default_locale)
