"""Sending the notices that work done without a bot queued for chats (SPEC §5.8).

An import runs from the command line without BOT_TOKEN; when it ends links (a changed phone),
the database queues a notice for each chat in the same transaction, and the running bot sends
them: once at start and every NOTICES_EVERY_SECONDS (bot/scheduler.py). Each notice is marked
done after its send, so a crash between the two sends it again at the next run: at least once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram_i18n.cores import FluentRuntimeCore

from bot.clock import Clock
from bot.storage.notices import Notice, NoticeRepository

log = logging.getLogger(__name__)

# each kind of notice and the message that says it
TEXTS = {"phone-changed": "notice-phone-changed"}
BATCH = 100  # notices read at a time


@dataclass
class NoticeReport:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    left: bool = False  # some wait for the next run (Telegram asked to wait, or was away)


class NoticeService:
    def __init__(
        self,
        notices: NoticeRepository,
        bot: Bot,
        core: FluentRuntimeCore,
        clock: Clock,
        *,
        default_locale: str,
        support_contact: str,
        rate: float,
        on_blocked: Callable[[int], None] = lambda chat_id: None,
    ) -> None:
        self.notices = notices
        self.bot = bot
        self.core = core
        self.clock = clock
        self.default_locale = default_locale
        self.support_contact = support_contact
        self.interval = 1 / rate
        self.on_blocked = on_blocked
        self._lock = asyncio.Lock()  # the start-up run and the periodic job never overlap

    def render(self, notice: Notice) -> str | None:
        key = TEXTS.get(notice.kind)
        if key is None:
            return None
        locale = notice.locale or self.default_locale
        return self.core.get(key, locale, support=self.support_contact, **notice.args)

    async def send_pending(self) -> NoticeReport:
        """Send every pending notice, at most BROADCAST_RATE a second. A notice Telegram
        refuses for good (403 blocked, 400) is done; one it cannot take now stays pending."""
        report = NoticeReport()
        async with self._lock:
            while batch := await self.notices.pending(BATCH):
                for notice in batch:
                    outcome = await self._send(notice)
                    if outcome is None:
                        report.left = True
                        return report
                    await self.notices.done(notice, outcome, self.clock.now())
                    setattr(report, outcome, getattr(report, outcome) + 1)
                    await asyncio.sleep(self.interval)
        if report.sent or report.blocked or report.failed:
            log.info(
                "notices: %d sent, %d blocked, %d failed",
                report.sent,
                report.blocked,
                report.failed,
            )
        return report

    async def _send(self, notice: Notice) -> str | None:
        """'sent', 'blocked' or 'failed'; None: try again at the next run."""
        text = self.render(notice)
        if text is None:
            log.error("notice %d of unknown kind %r", notice.id, notice.kind)
            return "failed"
        try:
            await self.bot.send_message(notice.chat_id, text)
        except TelegramForbiddenError:
            self.on_blocked(notice.chat_id)
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
