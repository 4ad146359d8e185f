"""Appeals on Telegram (the services' `AppealDesk`): the operators' forum topics, and the
operators' answers in the resident's chat.

Texts for the operators are in DEFAULT_LOCALE; texts for a resident in the language the appeal
was written in. A refusal of the operators' chat is `DeskAway`: lasting when the chat is
missing or the bot may not manage topics there (400, 403), passing otherwise (429, 5xx,
network), so the service keeps the appeal and tries again.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
)
from aiogram.types import Message, MessageId
from aiogram_i18n.cores import FluentRuntimeCore

from bot.domain.appeals import Appeal, Post
from bot.keyboards.appeals import rating_keyboard
from bot.notifications.appeal_card import card_text
from bot.services.appeal_ports import AppealCard, DeskAway, Outcome, ToResident

log = logging.getLogger(__name__)

T = TypeVar("T")
_TOPIC_NAME_LIMIT = 128  # Telegram's limit on a topic's name
_CAPTIONED = ("photo", "document")  # kinds a copy can carry the billing centre's header on
_TEXT_LIMIT, _CAPTION_LIMIT = 4096, 1024  # Telegram's, in characters shown
_TAG = re.compile(r"<[^>]*>")


def _shown_length(text: str) -> int:
    """How long Telegram counts an HTML text: the characters shown, in UTF-16 code units."""
    shown = html.unescape(_TAG.sub("", text))
    return len(shown.encode("utf-16-le")) // 2


def _refused(exc: TelegramAPIError) -> DeskAway:
    """A 400 or 403 of the operators' chat: lasting, or only the appeal's topic deleted."""
    gone = "thread not found" in exc.message.lower() or "TOPIC_DELETED" in exc.message
    return DeskAway(exc.message, lasting=not gone, topic_gone=gone)


class AppealDeskMessages:
    def __init__(
        self, bot: Bot, core: FluentRuntimeCore, chat_id: int | None, default_locale: str
    ) -> None:
        self.bot = bot
        self.core = core
        self.chat_id = chat_id or 0  # appeals off (no chat): the service never calls
        self.locale = default_locale

    def _text(self, key: str, **kwargs: object) -> str:
        return self.core.get(key, self.locale, **kwargs)

    async def _to_desk(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await call()
        except (TelegramBadRequest, TelegramForbiddenError, TelegramNotFound) as exc:
            raise _refused(exc) from exc
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            raise DeskAway(type(exc).__name__, lasting=False) from exc

    # --- the operators' chat --------------------------------------------------------------

    async def open_topic(self, card: AppealCard) -> int:
        appeal = card.appeal
        name = self._text(
            "appeal-topic-name",
            number=appeal.number,
            topic=self._text("appeal-topic", topic=appeal.topic),
            account=card.account.number if card.account else "—",
        )[:_TOPIC_NAME_LIMIT]
        topic = await self._to_desk(lambda: self.bot.create_forum_topic(self.chat_id, name))
        thread = topic.message_thread_id
        try:
            await self._to_desk(
                lambda: self.bot.send_message(
                    self.chat_id, card_text(self.core, self.locale, card), message_thread_id=thread
                )
            )
        except DeskAway:
            await self.drop_topic(thread)  # no card, no topic: the next try makes both again
            raise
        return thread

    async def drop_topic(self, thread_id: int) -> None:
        with contextlib.suppress(TelegramAPIError, OSError, TimeoutError):
            await self.bot.delete_forum_topic(self.chat_id, thread_id)

    async def to_topic(self, appeal: Appeal, post: Post) -> int:
        thread = appeal.thread_id
        if post.kind == "text":
            text = self._text(
                "appeal-topic-resident",
                name=html.escape(appeal.first_name or "—"),
                text=html.escape(post.body or ""),
            )
            sent = await self._to_desk(
                lambda: self.bot.send_message(self.chat_id, text, message_thread_id=thread)
            )
            return sent.message_id
        if appeal.chat_id is None or post.source_id is None:
            return 0
        source_chat, source_id = appeal.chat_id, post.source_id
        try:
            copied = await self.bot.copy_message(
                self.chat_id, source_chat, source_id, message_thread_id=thread
            )
        except TelegramBadRequest as exc:
            if "copy" not in exc.message.lower():  # "message to copy not found": deleted
                raise _refused(exc) from exc
            log.info("attachment of appeal %d was deleted before delivery", appeal.id)
            await self.note(appeal, "appeal-note-attachment-gone")
            return 0
        except TelegramForbiddenError as exc:
            raise DeskAway(exc.message, lasting=True) from exc
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            raise DeskAway(type(exc).__name__, lasting=False) from exc
        return copied.message_id

    async def note(self, appeal: Appeal, key: str, **kwargs: object) -> None:
        text = self._text(key, number=appeal.number, **kwargs)
        await self._to_desk(
            lambda: self.bot.send_message(self.chat_id, text, message_thread_id=appeal.thread_id)
        )

    async def close_topic(self, appeal: Appeal) -> None:
        if appeal.thread_id is None:
            return
        thread = appeal.thread_id
        try:
            await self._to_desk(lambda: self.bot.close_forum_topic(self.chat_id, thread))
        except DeskAway as exc:
            if "TOPIC_NOT_MODIFIED" not in exc.reason:  # closed by hand already
                raise

    async def overdue(self, appeal: Appeal, waiting_hours: float) -> None:
        text = self._text(
            "appeal-overdue",
            number=appeal.number,
            topic=self._text("appeal-topic", topic=appeal.topic),
            hours=round(waiting_hours, 1),
            link=self.topic_link(appeal),
        )
        await self._to_desk(lambda: self.bot.send_message(self.chat_id, text))

    def topic_link(self, appeal: Appeal) -> str:
        """https://t.me/c/<chat>/<thread>: opens the topic for a member of the chat."""
        internal = str(self.chat_id).removeprefix("-100")
        return f"https://t.me/c/{internal}/{appeal.thread_id}"

    # --- the resident's chat --------------------------------------------------------------

    def _resident(self, appeal: Appeal, key: str, **kwargs: object) -> str:
        return self.core.get(key, appeal.locale or self.locale, number=appeal.number, **kwargs)

    async def _to_resident(
        self, appeal: Appeal, call: Callable[[], Awaitable[Message | MessageId]]
    ) -> int | Outcome:
        """The message's id in the resident's chat, or why there is none."""
        try:
            return (await call()).message_id
        except TelegramForbiddenError:
            return "blocked"
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            log.warning("answer to appeal %d not delivered: %s", appeal.id, type(exc).__name__)
            return "failed"

    async def to_resident(self, appeal: Appeal, post: Post) -> ToResident:
        assert appeal.chat_id is not None
        chat, header = appeal.chat_id, self._resident(appeal, "appeal-from-centre")
        body = post.body or ""
        text = f"{header}\n\n{body}"
        if post.kind == "text" and _shown_length(text) <= _TEXT_LIMIT:
            result = await self._to_resident(appeal, lambda: self.bot.send_message(chat, text))
        else:
            assert post.source_id is not None
            source = post.source_id
            caption: str | None = text if body else header
            # a sticker, a voice, or no room for the header beside the operator's words: the
            # header goes before an exact copy of the operator's message
            if post.kind not in _CAPTIONED or _shown_length(text) > _CAPTION_LIMIT:
                told = await self._to_resident(appeal, lambda: self.bot.send_message(chat, header))
                if isinstance(told, str):
                    return ToResident(told)
                caption = None
            result = await self._to_resident(
                appeal,
                lambda: self.bot.copy_message(chat, self.chat_id, source, caption=caption),
            )
        if isinstance(result, str):
            return ToResident(result)
        return ToResident("sent", result)

    async def edit_at_resident(self, appeal: Appeal, post: Post, copy_id: int) -> Outcome:
        assert appeal.chat_id is not None
        chat, header = appeal.chat_id, self._resident(appeal, "appeal-from-centre")
        text = f"{header}\n\n{post.body or ''}"
        try:
            if post.kind == "text":
                await self.bot.edit_message_text(text, chat_id=chat, message_id=copy_id)
            else:
                await self.bot.edit_message_caption(chat_id=chat, message_id=copy_id, caption=text)
            return "sent"
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return "sent"
        except TelegramForbiddenError:
            return "blocked"
        except (TelegramAPIError, OSError, TimeoutError):
            pass
        # too old to edit, or not an editable message: the correction comes as a new message
        note = self._resident(appeal, "appeal-edited", text=post.body or "")
        result = await self._to_resident(appeal, lambda: self.bot.send_message(chat, note))
        return result if isinstance(result, str) else "sent"

    async def closed_to_resident(self, appeal: Appeal) -> Outcome:
        assert appeal.chat_id is not None
        chat, text = appeal.chat_id, self._resident(appeal, "appeal-closed")
        markup = rating_keyboard(appeal.id)
        result = await self._to_resident(
            appeal, lambda: self.bot.send_message(chat, text, reply_markup=markup)
        )
        return result if isinstance(result, str) else "sent"
