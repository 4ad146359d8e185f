"""Announcements as residents read them, and the operator's progress message (SPEC §8).

The progress message is edited every few seconds while the Sender sends; each edit counts
towards BROADCAST_RATE like any other message (it waits for the Sender's Pacer).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram_i18n.cores import FluentRuntimeCore

from bot.domain.campaigns import Campaign
from bot.notifications.messages import Outgoing
from bot.notifications.pacer import Pacer
from bot.services.ports import DeliveryCounts

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 3.0  # edit the progress message at most this often


class Paced(Protocol):
    """Whatever holds the pace of all sending: the Sender (read at each use, so a test that
    swaps the Sender's Pacer swaps this one too)."""

    pacer: Pacer


class Announcements:
    """Builds announcements and progress messages (services' `AnnouncementRenderer`)."""

    def __init__(
        self,
        bot: Bot,
        core: FluentRuntimeCore,
        paced: Paced,
        *,
        default_locale: str,
        tz: tzinfo,
    ) -> None:
        self.bot = bot
        self.core = core
        self.paced = paced
        self.default_locale = default_locale
        self.tz = tz

    def message(self, text: str) -> Outgoing:
        return Outgoing((text,))

    def progress(self, campaign: Campaign, before: Mapping[str, int]) -> ProgressMessage:
        return ProgressMessage(self, campaign, before)


class ProgressMessage:
    """The operator's one progress message, edited every few seconds."""

    def __init__(self, owner: Announcements, campaign: Campaign, before: Mapping[str, int]):
        self.owner = owner
        self.campaign = campaign
        self.before = before  # counts when this run started (a resumed announcement)
        self.total = sum(before.values())
        self.locale = campaign.params.get("locale") or owner.default_locale
        self.message_id = campaign.progress_message_id  # a new one if the admin deleted it
        self._edited_at = self.pacer.monotonic()

    @property
    def pacer(self) -> Pacer:
        return self.owner.paced.pacer

    def _figures(self, counts: DeliveryCounts) -> dict[str, int]:
        b = self.before
        sent = b["sent"] + counts.sent
        blocked = b["blocked"] + counts.blocked
        # not delivered (as far as we know): refused, blocked, no longer active, failing for a
        # day, or unknown (in flight when a process died; `counts.unknown` includes those
        # found this run, which `before` counted as 'sending')
        failed = b["failed"] + counts.failed + blocked + b["skipped"] + counts.skipped
        failed += b["given_up"] + counts.given_up + b["unknown"] + counts.unknown
        return {"sent": sent, "failed": failed, "blocked": blocked, "total": self.total}

    async def update(self, counts: DeliveryCounts) -> None:
        now = self.pacer.monotonic()
        if now - self._edited_at < PROGRESS_SECONDS:
            return
        self._edited_at = now
        await self._edit("broadcast-progress", counts)

    async def final(
        self,
        counts: DeliveryCounts,
        *,
        finished: bool,
        quiet_until: datetime | None,
        interrupted: bool,
    ) -> None:
        if finished:
            await self._edit("broadcast-done", counts)
        elif interrupted:
            await self._edit("broadcast-stopped", counts)
        elif quiet_until is not None:
            local = quiet_until.astimezone(self.owner.tz)
            await self._edit("broadcast-quiet", counts, until=f"{local:%H:%M}")
        else:  # waiting for retries later than the run waits
            await self._edit("broadcast-retrying", counts)

    async def _edit(self, key: str, counts: DeliveryCounts, **extra: str) -> None:
        c = self.campaign
        if c.admin_chat_id is None or self.message_id is None:
            return
        text = self.owner.core.get(
            key,
            self.locale,
            campaign=c.id.removeprefix("broadcast:"),
            **self._figures(counts),
            **extra,
        )
        pacer = self.pacer
        # the edit counts towards BROADCAST_RATE like any other message
        if not await pacer.wait(lambda: False):
            return
        try:
            await self.owner.bot.edit_message_text(
                text=text, chat_id=c.admin_chat_id, message_id=self.message_id
            )
        except TelegramRetryAfter as exc:
            pacer.hold(exc.retry_after)
        except TelegramBadRequest as exc:
            if "message to edit not found" in exc.message:  # deleted: the figures go on anew
                await self._post(c.admin_chat_id, text)
            elif "message is not modified" not in exc.message:
                log.warning("%s: progress message not updated: %s", c.id, exc.message)
        except TelegramAPIError as exc:
            log.warning("%s: progress message not updated: %s", c.id, type(exc).__name__)

    async def _post(self, chat_id: int, text: str) -> None:
        try:
            self.message_id = (await self.owner.bot.send_message(chat_id, text)).message_id
        except TelegramAPIError as exc:
            log.warning("%s: progress message not sent: %s", self.campaign.id, type(exc).__name__)
