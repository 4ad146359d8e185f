"""Notices as residents read them (SPEC §5.8), said to one chat each (services' `NoticeDeliverer`).

Which notices are pending and when they go is bot/services/notices.py.
"""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram_i18n.cores import FluentRuntimeCore

from bot.domain.campaigns import Notice

log = logging.getLogger(__name__)

# each kind of notice and the message that says it
TEXTS = {
    "phone-changed": "notice-phone-changed",
    "account-closed": "notice-account-closed",
    "meter-replaced": "notice-meter-replaced",
    "billing-refused": "notice-billing-refused",  # bot/services/outbox.py
    "billing-refused-plain": "notice-billing-refused-plain",
}


class NoticeMessages:
    def __init__(
        self, bot: Bot, core: FluentRuntimeCore, *, default_locale: str, support_contact: str
    ) -> None:
        self.bot = bot
        self.core = core
        self.default_locale = default_locale
        self.support_contact = support_contact

    def render(self, notice: Notice) -> str | None:
        key = TEXTS.get(notice.kind)
        if key is None:
            return None
        locale = notice.locale or self.default_locale
        # the args carry other systems' words (a serial from the billing file, a refusal's
        # reason): text, not markup
        args = {
            name: html.escape(value, quote=False) if isinstance(value, str) else value
            for name, value in notice.args.items()
        }
        return self.core.get(key, locale, support=self.support_contact, **args)

    async def deliver(self, notice: Notice) -> str | None:
        """'sent', 'blocked' or 'failed'; None: try again at the next run."""
        text = self.render(notice)
        if text is None:
            log.error("notice %d of unknown kind %r", notice.id, notice.kind)
            return "failed"
        try:
            await self.bot.send_message(notice.chat_id, text)
        except TelegramForbiddenError:
            return "blocked"
        except TelegramBadRequest as exc:  # chat not found, say: it will not get better
            log.warning("notice %d to chat %d refused: %s", notice.id, notice.chat_id, exc)
            return "failed"
        except TelegramRetryAfter as exc:
            log.info("notices wait: Telegram asks for %s s", exc.retry_after)
            return None
        except (TelegramAPIError, OSError, TimeoutError) as exc:  # 5xx, network
            log.warning("notice %d not sent, will retry: %s", notice.id, type(exc).__name__)
            return None
        return "sent"
