"""Filters that recognise a menu button whatever language the resident reads."""

from __future__ import annotations

from functools import cache

from aiogram.filters import Filter
from aiogram.types import Message
from aiogram_i18n import I18nContext
from aiogram_i18n.cores import BaseCore


@cache
def _variants(core: BaseCore, key: str) -> frozenset[str]:  # type: ignore[type-arg]
    return frozenset(core.get(key, locale) for locale in core.available_locales)


class MenuButton(Filter):
    """Matches the text of a menu button (`menu-submit`, …) in any of the bot's languages."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, i18n: I18nContext) -> bool:
        return message.text is not None and message.text in _variants(i18n.core, self.key)
