"""Appeals (SPEC §11): a resident writes to the billing centre; operators answer in a topic of
the operators' forum chat, and each answer is copied to the resident.

Everything a resident writes is stored first and delivered to the topic after (`deliver`), so
an operators' chat that is missing, or where the bot is not an admin, loses nothing: the
appeal waits, the admins are told once, and the leader's job (`tick`, bot/scheduler.py)
delivers it when the chat works again. The same job raises an appeal no operator has
answered for APPEAL_SLA_HOURS, once per wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.domain.appeals import (
    MAX_ATTACHMENTS,
    MAX_OPEN_PER_CHAT,
    Appeal,
    AppealDraft,
    Post,
    overdue,
)
from bot.domain.models import Account
from bot.services.appeal_ports import AppealCard, AppealDesk, AppealStore, DeskAway
from bot.services.submissions import SubmissionService

log = logging.getLogger(__name__)

AlertAdmins = Callable[..., Awaitable[None]]
DELIVERY_GRACE = timedelta(seconds=30)
# what the topic reads after /close, by how telling the resident went
_CLOSED_NOTE = {
    "sent": "appeal-note-closed",
    "blocked": "appeal-note-closed-blocked",
    "failed": "appeal-note-closed-untold",
}


@dataclass(frozen=True, slots=True)
class Sent:
    appeal: Appeal
    delivered: bool  # in the operators' topic now; else it waits for their chat


@dataclass(frozen=True, slots=True)
class Refused:
    """A follow-up that cannot be taken: `reason` 'none-open' or 'attachments'."""

    reason: str


class AppealService:
    def __init__(
        self,
        *,
        appeals: AppealStore,
        desk: AppealDesk,
        submissions: SubmissionService,
        clock: Clock,
        sla_hours: float,
        enabled: bool,
        alert_admins: AlertAdmins,
    ) -> None:
        self.appeals = appeals
        self.desk = desk
        self.submissions = submissions
        self.clock = clock
        self.sla = timedelta(hours=sla_hours)
        self.sla_hours = sla_hours
        self.enabled = enabled
        self.alert_admins = alert_admins
        self._desk_away = False  # the admins were told; told again after it came back
        self._lock = asyncio.Lock()  # one delivery at a time: a topic is made once

    # --- the resident ---------------------------------------------------------------------

    async def open_of_chat(self, chat_id: int) -> list[Appeal]:
        return await self.appeals.of_chat(chat_id, open_only=True)

    async def may_open(self, chat_id: int) -> bool:
        return len(await self.open_of_chat(chat_id)) < MAX_OPEN_PER_CHAT

    async def of_chat(self, chat_id: int) -> list[Appeal]:
        return await self.appeals.of_chat(chat_id)

    async def submit(
        self,
        chat_id: int,
        draft: AppealDraft,
        *,
        first_name: str | None,
        locale: str | None,
    ) -> Sent | None:
        """Store the appeal and deliver it; None when the chat has its three open already."""
        if not await self.may_open(chat_id):
            return None
        account = await self.submissions.account_of_chat(chat_id)
        appeal = await self.appeals.create(
            chat_id=chat_id,
            account_id=account.id if account else None,
            topic=draft.topic,
            first_name=first_name,
            locale=locale,
            text=draft.text,
            attachments=draft.attachments,
            now=self.clock.now(),
        )
        return Sent(appeal, await self.deliver(appeal.id))

    async def follow_up(self, chat_id: int, post: Post, reply_to: int | None) -> Sent | Refused:
        """A resident's message while an appeal is open: to the appeal the message replies to,
        else to the newest open one."""
        open_ones = await self.open_of_chat(chat_id)
        if not open_ones:
            return Refused("none-open")
        appeal = open_ones[0]
        if reply_to is not None:
            appeal = await self._replied(open_ones, reply_to) or appeal
        attachments = 0 if post.kind == "text" else await self.appeals.attachment_count(appeal.id)
        if attachments >= MAX_ATTACHMENTS:
            return Refused("attachments")
        await self.appeals.add_resident_post(appeal.id, post, self.clock.now())
        return Sent(appeal, await self.deliver(appeal.id))

    async def _replied(self, open_ones: list[Appeal], reply_to: int) -> Appeal | None:
        for appeal in open_ones:
            if await self.appeals.answer_copied_as(appeal.id, reply_to):
                return appeal
        return None

    async def rate(self, chat_id: int, appeal_id: int, rating: int) -> Appeal | None:
        """The resident's 1-5 for a closed appeal of theirs, shown in its topic; None when it
        is not theirs, not closed, or rated already."""
        if not 1 <= rating <= 5 or not await self.appeals.rate(appeal_id, chat_id, rating):
            return None
        appeal = await self.appeals.get(appeal_id)
        if appeal is not None and appeal.thread_id is not None:
            try:
                await self.desk.note(appeal, "appeal-note-rated", rating=rating)
            except DeskAway as exc:
                log.warning("rating of appeal %d not shown: %s", appeal.id, exc.reason)
        return appeal

    async def forget_chat(self, chat_id: int) -> None:
        """/forget: the chat's open appeals close (their topics are told), and its chat id
        leaves every appeal."""
        for appeal in await self.appeals.forget_chat(chat_id, self.clock.now()):
            if appeal.thread_id is None:
                continue
            try:
                await self.desk.note(appeal, "appeal-note-forgotten")
                await self.desk.close_topic(appeal)
            except DeskAway as exc:
                log.warning("topic of appeal %d not told of /forget: %s", appeal.id, exc.reason)

    # --- the operators --------------------------------------------------------------------

    async def open_ones(self) -> list[Appeal]:
        """Every open appeal, oldest first."""
        return await self.appeals.open_ones()

    async def answer(self, thread_id: int, post: Post) -> Appeal | None:
        """An operator's message in a topic: copied to the resident. None: not an open
        appeal's topic (ignored)."""
        appeal = await self.appeals.by_thread(thread_id)
        if appeal is None:
            return None
        if appeal.chat_id is None:
            await self._note(appeal, "appeal-note-forgotten")
            return appeal
        if not appeal.open:  # written in the topic after /close: the resident gets nothing
            await self._note(appeal, "appeal-note-already-closed")
            return appeal
        result = await self.desk.to_resident(appeal, post)
        if result.outcome == "blocked":
            await self._note(appeal, "appeal-note-blocked")
        elif result.outcome == "failed":
            await self._note(appeal, "appeal-note-undelivered")
        await self.appeals.add_operator_post(appeal.id, post, result.copy_id, self.clock.now())
        return appeal

    async def not_copied(self, thread_id: int) -> None:
        """An operator's message of a kind the bot does not pass on (a location, a poll): the
        topic is told the resident did not get it."""
        appeal = await self.appeals.by_thread(thread_id)
        if appeal is not None and appeal.open and appeal.chat_id is not None:
            await self._note(appeal, "appeal-note-not-copied")

    async def edited(self, thread_id: int, post: Post) -> None:
        """An operator edited a message already copied to the resident."""
        appeal = await self.appeals.by_thread(thread_id)
        if appeal is None or not appeal.open or appeal.chat_id is None or post.source_id is None:
            return
        stored = await self.appeals.operator_post(appeal.id, post.source_id)
        if stored is None or stored.copy_id is None:
            return
        outcome = await self.desk.edit_at_resident(appeal, post, stored.copy_id)
        if outcome == "blocked":
            await self._note(appeal, "appeal-note-blocked")
        elif outcome == "failed":
            await self._note(appeal, "appeal-note-undelivered")

    async def close(self, thread_id: int) -> Appeal | None:
        """/close in a topic: the resident is told and asked for a rating; None when the topic
        is no open appeal's."""
        appeal = await self.appeals.by_thread(thread_id)
        if appeal is None or not await self.appeals.close(appeal.id, self.clock.now()):
            return None
        outcome = "sent"
        if appeal.chat_id is not None:
            outcome = await self.desk.closed_to_resident(appeal)
        await self._note(appeal, _CLOSED_NOTE[outcome])
        try:
            await self.desk.close_topic(appeal)
        except DeskAway as exc:
            log.warning("topic of appeal %d not closed: %s", appeal.id, exc.reason)
        return appeal

    async def _note(self, appeal: Appeal, key: str) -> None:
        try:
            await self.desk.note(appeal, key)
        except DeskAway as exc:
            log.warning("note %s in the topic of appeal %d failed: %s", key, appeal.id, exc.reason)

    # --- delivery and the deadline --------------------------------------------------------

    async def deliver(self, appeal_id: int) -> bool:
        """Whatever of the appeal is not yet in its topic, in order; True when all of it is."""
        async with self._lock:
            try:
                await self._deliver(appeal_id)
            except DeskAway as exc:
                await self._away(exc)
                return False
        self._back()
        return True

    def _back(self) -> None:
        if self._desk_away:
            self._desk_away = False
            log.info("the operators' chat takes appeals again")

    async def _deliver(self, appeal_id: int, *, again: bool = True) -> None:
        appeal = await self.appeals.get(appeal_id)
        if appeal is None or not appeal.open:
            return
        if appeal.thread_id is None:
            thread_id = await self.desk.open_topic(await self._card(appeal))
            if not await self.appeals.set_thread(appeal.id, thread_id):
                await self.desk.drop_topic(thread_id)
            appeal = await self.appeals.get(appeal_id)
            assert appeal is not None
        for stored in await self.appeals.pending_posts(appeal_id):
            try:
                copy_id = await self.desk.to_topic(appeal, stored.post)
            except DeskAway as exc:
                # an operator deleted the topic: the appeal and what waits go to a new one
                if not (exc.topic_gone and again and appeal.thread_id is not None):
                    raise
                log.warning("the topic of appeal %d was deleted: a new one is made", appeal.id)
                await self.appeals.drop_thread(appeal.id, appeal.thread_id)
                await self._deliver(appeal_id, again=False)
                return
            await self.appeals.delivered(stored.id, copy_id, self.clock.now())

    async def _card(self, appeal: Appeal) -> AppealCard:
        account: Account | None = None
        if appeal.account_id is not None:
            account = await self.submissions.account(appeal.account_id)
        overview = await self.submissions.overview(account) if account else None
        return AppealCard(appeal, account, overview)

    async def _away(self, exc: DeskAway) -> None:
        log.warning("the operators' chat did not take an appeal: %s", exc.reason)
        if exc.lasting and not self._desk_away:
            self._desk_away = True
            await self.alert_admins("appeal-admin-desk-away", reason=exc.reason)

    async def tick(self) -> None:
        """The leader's job: deliver what waits, then raise what waits too long."""
        if not self.enabled:
            return
        # what an update is delivering right now (on another replica, say) is left to it
        settled = self.clock.now() - DELIVERY_GRACE
        for appeal_id in await self.appeals.undelivered(settled):
            if not await self.deliver(appeal_id):
                break  # the chat is away: the next tick tries again
        now = self.clock.now()
        for appeal in await self.appeals.open_ones():
            if not overdue(appeal, now, self.sla):
                continue
            assert appeal.waiting_since is not None
            hours = (now - appeal.waiting_since).total_seconds() / 3600
            try:
                await self.desk.overdue(appeal, hours)
            except DeskAway as exc:
                log.warning("overdue appeal %d not raised", appeal.id)
                await self._away(exc)  # the bot removed from the chat: the admins are told
                break
            self._back()
            await self.appeals.mark_alerted(appeal.id, now)
