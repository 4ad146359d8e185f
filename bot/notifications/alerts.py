"""Alerts to the bot's admins (ADMIN_IDS) in their chats, each in the admin's language."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram_i18n.cores import FluentRuntimeCore

from bot.i18n import ChatLocaleManager

log = logging.getLogger(__name__)


class AdminAlerts:
    def __init__(
        self,
        bot: Bot,
        core: FluentRuntimeCore,
        locales: ChatLocaleManager,
        *,
        admin_ids: Sequence[int],
        default_locale: str,
    ) -> None:
        self.bot = bot
        self.core = core
        self.locales = locales
        self.admin_ids = tuple(admin_ids)
        self.default_locale = default_locale

    async def warn(self, key: str, **kwargs: Any) -> None:
        """Tell every admin; an admin Telegram refuses is logged, the others still told."""
        for admin_id in self.admin_ids:
            locale = await self.locales.stored_locale(admin_id) or self.default_locale
            try:
                await self.bot.send_message(admin_id, self.core.get(key, locale, **kwargs))
            except TelegramAPIError as exc:
                log.warning("warning to admin %s failed: %s", admin_id, type(exc).__name__)
