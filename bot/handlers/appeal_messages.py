"""What a Telegram message holds for an appeal, and how appeals are shown: shared by the
resident's handlers (bot/handlers/appeals.py) and the operators' (bot/handlers/appeal_desk.py)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from aiogram.filters import Filter
from aiogram.types import Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.appeals import Appeal, AppealDraft, Attachment, Post
from bot.rendering import fmt_moment
from bot.services.appeals import Sent

# what an operator may answer with besides text, photos and documents (copied as they are)
_OTHER_MEDIA = ("video", "animation", "audio", "voice", "sticker", "video_note")
# what an operator may post that is not passed on: the topic is told so
_NOT_COPIED = ("location", "venue", "contact", "poll", "dice", "game", "story", "paid_media")


def attachment_of(message: Message) -> Attachment | None:
    """A resident's photo or document; anything else is not an attachment."""
    if message.photo:
        return Attachment("photo", message.message_id)
    if message.document is not None:
        return Attachment("document", message.message_id)
    return None


def post_of(message: Message) -> Post | None:
    """A resident's follow-up: text, a photo or a document; None for anything else."""
    if message.text is not None:
        return Post("text", message.text)
    attachment = attachment_of(message)
    if attachment is None:
        return None
    return Post(attachment.kind, message.caption, message.message_id)


def operator_post(message: Message) -> Post | None:
    """An operator's message in a topic (HTML kept); None for service messages (a topic
    created, a pin) and anything the resident cannot be sent."""
    if message.text is not None:
        return Post("text", message.html_text, message.message_id)
    caption = message.html_text if message.caption else None
    if message.photo:
        return Post("photo", caption, message.message_id)
    if message.document is not None:
        return Post("document", caption, message.message_id)
    if any(getattr(message, kind, None) is not None for kind in _OTHER_MEDIA):
        return Post("media", None, message.message_id)
    return None


def not_copied(message: Message) -> bool:
    """An operator's message the bot does not pass on to the resident (as opposed to a
    service message: a topic created or closed, a pin)."""
    return any(getattr(message, kind, None) is not None for kind in _NOT_COPIED)


class HasAttachment(Filter):
    async def __call__(self, message: Message) -> bool:
        return attachment_of(message) is not None


class Supported(Filter):
    """Text, a photo or a document (a sticker, a voice or a video note is not)."""

    async def __call__(self, message: Message) -> bool:
        return post_of(message) is not None


def preview_text(i18n: I18nContext, draft: AppealDraft) -> str:
    return i18n.get(
        "appeal-preview",
        topic=i18n.get("appeal-topic", topic=draft.topic),
        text=html.escape(draft.text),
        count=len(draft.attachments),
    )


def sent_text(i18n: I18nContext, sent: Sent, sla_hours: float, settings: Settings) -> str:
    if sent.delivered:
        return i18n.get("appeal-sent", number=sent.appeal.number, hours=sla_hours)
    return i18n.get("appeal-waiting", number=sent.appeal.number, support=settings.support_contact)


def appeal_list(i18n: I18nContext, appeals: Sequence[Appeal], settings: Settings) -> str:
    """A resident's appeals, one a line, with their status."""
    lines = []
    for appeal in appeals:
        status = "open" if appeal.open else "closed"
        lines.append(
            i18n.get(
                "appeal-list-item",
                number=appeal.number,
                topic=i18n.get("appeal-topic", topic=appeal.topic),
                date=fmt_moment(appeal.created_at, settings),
                status=status,
                answered="yes" if appeal.answered_at else "no",
                rating=appeal.rating or 0,
            )
        )
    return "\n".join(lines)


def waiting_list(
    i18n: I18nContext, appeals: Sequence[Appeal], now: datetime, settings: Settings
) -> str:
    """The operators' open appeals, oldest first, each with how long it has waited."""
    lines = [i18n.get("appeal-desk-list-title", count=len(appeals))]
    for appeal in appeals:
        since = appeal.waiting_since
        hours = round((now - since).total_seconds() / 3600, 1) if since else 0
        lines.append(
            i18n.get(
                "appeal-desk-list-item",
                number=appeal.number,
                topic=i18n.get("appeal-topic", topic=appeal.topic),
                date=fmt_moment(appeal.created_at, settings),
                waiting="yes" if since else "no",
                hours=hours,
                delivered="yes" if appeal.thread_id else "no",
            )
        )
    return "\n".join(lines)
