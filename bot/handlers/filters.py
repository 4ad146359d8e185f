"""Filters of the handler modules: what a message holds, a menu button in whatever language,
an operator.

Every filter a handler is registered with is a coroutine (these, aiogram's `StateFilter`,
`Command` and `CallbackData.filter()`): aiogram runs a plain callable filter (a bare `State`,
`F.text`) in a worker thread, a thread hop per filter per update (docs/benchmarks.md, "Issue
10"). tests/unit/test_services_container.py holds every registration to it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User
from aiogram_i18n import I18nContext
from aiogram_i18n.cores import BaseCore

from bot.config import Settings
from bot.keyboards.menu import MENU_KEYS


@cache
def _variants(core: BaseCore[Any], key: str) -> frozenset[str]:
    return frozenset(core.get(key, locale) for locale in core.available_locales)


@cache
def _menu_texts(core: BaseCore[Any]) -> frozenset[str]:
    return frozenset().union(*(_variants(core, key) for row in MENU_KEYS for key in row))


class HasText(Filter):
    """The message has text (`HasText(False)`: it has none: a photo, a sticker, a voice)."""

    def __init__(self, present: bool = True) -> None:
        self.present = present

    async def __call__(self, message: Message) -> bool:
        return (message.text is not None) is self.present


class InPrivateChat(Filter):
    """The message was written in a private chat (not the operators' forum)."""

    async def __call__(self, message: Message) -> bool:
        return message.chat.type == ChatType.PRIVATE


class SharesContact(Filter):
    """The message is a shared contact (the "share my number" button)."""

    async def __call__(self, message: Message) -> bool:
        return message.contact is not None


class LooksLikeCommand(Filter):
    """Text starting with "/" (`LooksLikeCommand(False)`: anything else, text or not)."""

    def __init__(self, command: bool = True) -> None:
        self.command = command

    async def __call__(self, message: Message) -> bool:
        return (message.text is not None and message.text.startswith("/")) is self.command


class ConversationInput(Filter):
    """Text typed into a conversation: neither a command nor a main-menu button.

    Those belong to the routers of commands and menus in every state; with this filter a
    flow's router may come before them and still leave them alone.
    """

    async def __call__(self, message: Message, i18n: I18nContext) -> bool:
        text = message.text
        return text is not None and not text.startswith("/") and text not in _menu_texts(i18n.core)


class MenuButton(Filter):
    """Matches the text of a menu button (`menu-submit`, …) in any of the bot's languages."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, i18n: I18nContext) -> bool:
        return message.text is not None and message.text in _variants(i18n.core, self.key)


class IsAdmin(Filter):
    """The update (a message, a button) comes from one of ADMIN_IDS.

    It does not match for others, so their update falls through to "unknown command".
    """

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids
