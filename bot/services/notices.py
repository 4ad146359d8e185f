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

from bot.clock import Clock
from bot.services.ports import NoticeDeliverer
from bot.services.stores import NoticeStore

log = logging.getLogger(__name__)

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
        notices: NoticeStore,
        deliverer: NoticeDeliverer,
        clock: Clock,
        *,
        rate: float,
        on_blocked: Callable[[int], None] = lambda chat_id: None,
    ) -> None:
        self.notices = notices
        self.deliverer = deliverer
        self.clock = clock
        self.interval = 1 / rate
        self.on_blocked = on_blocked
        self._lock = asyncio.Lock()  # the start-up run and the periodic job never overlap

    async def send_pending(self) -> NoticeReport:
        """Send every pending notice, at most BROADCAST_RATE a second. A notice Telegram
        refuses for good (403 blocked, 400) is done; one it cannot take now stays pending."""
        report = NoticeReport()
        async with self._lock:
            while batch := await self.notices.pending(BATCH):
                for notice in batch:
                    outcome = await self.deliverer.deliver(notice)
                    if outcome == "blocked":
                        self.on_blocked(notice.chat_id)
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
