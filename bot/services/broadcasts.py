"""Announcements from operators (SPEC §8): to every linked, active chat, through the Sender.

The text and the operator's progress message are kept with the campaign, so an announcement
interrupted by a restart resumes on start and goes on editing the same progress message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from bot.clock import Clock
from bot.domain.campaigns import Campaign
from bot.services.ports import AnnouncementRenderer, Deliverer, DeliveryCounts, Message, Render
from bot.services.stores import DeliveryStore, RecipientStore

log = logging.getLogger(__name__)

SELECT_BATCH = 5000


class BroadcastService:
    def __init__(
        self,
        *,
        clock: Clock,
        announcements: AnnouncementRenderer,
        deliveries: DeliveryStore,
        recipients: RecipientStore,
        sender: Deliverer,
    ) -> None:
        self.clock = clock
        self.announcements = announcements
        self.deliveries = deliveries
        self.recipients = recipients
        self.sender = sender
        self._running: dict[str, asyncio.Task[DeliveryCounts]] = {}
        self._stops: dict[str, asyncio.Event] = {}

    async def count_recipients(self) -> int:
        return await self.recipients.count_linked_active()

    async def create(
        self, text: str, *, admin_chat_id: int, progress_message_id: int, locale: str
    ) -> str:
        """Record the announcement; its recipients are recorded when it starts sending."""
        campaign_id = await self.deliveries.create_broadcast(
            {"text": text, "locale": locale}, admin_chat_id, self.clock.now()
        )
        await self.deliveries.set_progress_message(campaign_id, progress_message_id)
        return campaign_id

    def launch(self, campaign_id: str) -> asyncio.Task[DeliveryCounts]:
        """Send in the background; the task is kept until it is done."""
        task = self._running.get(campaign_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self.run(campaign_id))
            self._running[campaign_id] = task
            task.add_done_callback(lambda done: self._finished(campaign_id, done))
        return task

    def _finished(self, campaign_id: str, task: asyncio.Task[DeliveryCounts]) -> None:
        self._running.pop(campaign_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", campaign_id, exc_info=task.exception())

    def stop(self, campaign_id: str) -> None:
        """Stop after the sends in hand; the rest stays pending for the next run."""
        self._stops.setdefault(campaign_id, asyncio.Event()).set()

    async def join(self) -> None:
        """Wait for every announcement being sent (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def resume(self) -> list[str]:
        """On start: send the rest of every announcement a stop or a crash interrupted."""
        resumed = []
        for campaign in await self.deliveries.unfinished(["broadcast"]):
            self.launch(campaign.id)
            resumed.append(campaign.id)
        return resumed

    async def resume_due(self) -> list[str]:
        """The resume job (every minute): announcements paused by quiet hours, or waiting for
        a retry that is due now, go on; nothing starts in quiet hours."""
        if self.sender.quiet_until() is not None:
            return []
        now = self.clock.now()
        resumed = []
        for campaign in await self.deliveries.unfinished(["broadcast"]):
            running = self._running.get(campaign.id)
            if running is not None and not running.done():
                continue
            if not campaign.materialised or await self.deliveries.due(campaign.id, now):
                self.launch(campaign.id)
                resumed.append(campaign.id)
        return resumed

    async def _materialise(self, campaign_id: str) -> int:
        added: int = 0
        after: int | None = 0
        while after is not None:
            rows, after = await self.recipients.add_due(
                campaign_id,
                "broadcast",
                None,
                after=after,
                limit=SELECT_BATCH,
                now=self.clock.now(),
            )
            added += rows
        await self.deliveries.mark_materialised(campaign_id, self.clock.now())
        return added

    async def run(self, campaign_id: str) -> DeliveryCounts:
        campaign = await self.deliveries.get(campaign_id)
        if campaign is None or campaign.finished:
            return DeliveryCounts()
        stop = self._stops.setdefault(campaign_id, asyncio.Event())
        if not campaign.materialised:
            # the linked active chats when it starts (or, interrupted, when it resumes)
            await self._materialise(campaign_id)
        progress = self.announcements.progress(campaign, await self.deliveries.counts(campaign_id))
        try:
            counts = await self.sender.run(
                campaign_id, self._renderer(campaign), progress=progress.update, stop=stop
            )
            finished = await self.deliveries.finish(campaign_id, self.clock.now())
            interrupted = stop.is_set() or self.sender.stopping
            await progress.final(
                counts,
                finished=finished,
                quiet_until=self.sender.quiet_until(),
                interrupted=interrupted,
            )
            log.info(
                "%s: sent %s, failed %s, blocked %s%s",
                campaign_id,
                counts.sent,
                counts.failed,
                counts.blocked,
                "" if finished else " (paused)",
            )
            return counts
        finally:
            self._stops.pop(campaign_id, None)

    def _renderer(self, campaign: Campaign) -> Render:
        message = self.announcements.message(campaign.params["text"])

        async def render(chat_ids: Sequence[int]) -> Mapping[int, Message]:
            # a chat blocked or erased since the announcement was confirmed is skipped
            active = await self.recipients.locales_of(chat_ids)
            return {chat_id: message for chat_id in chat_ids if chat_id in active}

        return render
