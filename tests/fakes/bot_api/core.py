"""What the fake Bot API holds (chats, messages, updates, calls) and the building blocks every
part of it uses: chats and users as Telegram shapes them, storing and recording messages."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.bot_api.html_text import parse_html
from tests.fakes.bot_api.wire import ApiError, Call, ChatKey, chat_key, utf16_len

DEFAULT_TOKEN = "123456:TEST"
BOT_USERNAME = "meter_test_bot"
BOT_FIRST_NAME = "Meter Test Bot"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_LONG_POLL_SECONDS = 50.0

MessagePredicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class SentDocument:
    chat_id: ChatKey
    message_id: int
    filename: str
    content: bytes | None
    mime_type: str | None
    caption: str


@dataclass
class Fault:
    method: str
    chat_id: ChatKey | None
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class Delay:
    method: str
    chat_id: ChatKey | None
    seconds: float


@dataclass
class StoredMessage:
    """A message as Telegram holds it: the Bot API object plus what only the sender knows."""

    api_message: dict[str, Any]
    from_bot: bool
    raw_text: str = ""
    parse_mode: str | None = None
    # Reply keyboards are never echoed back in Message.reply_markup; remember them here.
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False


def inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if markup and "inline_keyboard" in markup:
        return markup
    return None


def button_texts(message: dict[str, Any]) -> list[str]:
    """Every button label of a recorded message, inline or reply keyboard, row by row."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [button if isinstance(button, str) else button["text"] for row in rows for button in row]


def describe(record: dict[str, Any]) -> str:
    buttons = " ".join(f"[{label}]" for label in button_texts(record))
    line = f"{record['method']} #{record['message_id']}: {record['text']!r}"
    return f"{line} {buttons}" if buttons else line


class FakeState:
    """The server's state and the building blocks its parts share (see FakeBotApi)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        first_update_id: int = 1,
        strict_html: bool = True,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            msg = f"token must look like '<digits>:<secret>', got {token!r}"
            raise ValueError(msg)
        self.token = token
        self.bot_id = int(bot_id)
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        self.strict_html = strict_html
        self.calls: list[Call] = []
        self._on_call = on_call

        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(first_update_id)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._message_ids: dict[ChatKey, itertools.count[int]] = {}
        self._messages: dict[tuple[ChatKey, int], StoredMessage] = {}
        self._sent: dict[ChatKey, list[dict[str, Any]]] = {}
        self._cursors: dict[ChatKey, int] = {}
        self._call_cursors: dict[str, int] = {}
        self._documents: dict[ChatKey, list[SentDocument]] = {}
        self._open_callbacks: set[str] = set()
        self._faults: list[Fault] = []
        self._blocked: set[ChatKey] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chat_names: dict[ChatKey, str] = {}
        self._webhook: dict[str, Any] = {}  # url, secret_token, allowed_updates once set
        self._delays: list[Delay] = []
        self._forums: dict[ChatKey, Any] = {}  # forum supergroups (forum.py's ForumChat)

        # Replaced after every set(): waiters grab the current one, so none misses a wake-up.
        self._updates_changed = asyncio.Event()
        self._activity = asyncio.Event()
        self._poll_generation = 0
        self._closing = False

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()
        self._notify_activity()

    def push_update(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update; an update_id is assigned when missing. Returns the update.
        (Here, not in updates.py: buttons, forum topics and photos are pushed through it too.)"""
        update = dict(raw)
        if "update_id" in update:
            update_id = int(update["update_id"])
            # Keep later automatic ids above any explicit one.
            current = next(self._update_ids)
            self._update_ids = itertools.count(max(current, update_id + 1))
        else:
            update = {"update_id": next(self._update_ids), **update}
        self._pending.append(update)
        self._wake_pollers()
        return update

    def _notify_activity(self) -> None:
        self._activity.set()
        self._activity = asyncio.Event()

    async def _wait_activity(self, deadline: float) -> bool:
        """Sleeps until something is sent or called; False once the deadline has passed."""
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        event = self._activity
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await event.wait()
        return True

    def _next_message_id(self, key: ChatKey) -> int:
        # One counter per chat shared by both sides, as in Telegram's private chats.
        return next(self._message_ids.setdefault(key, itertools.count(1)))

    def _chat(self, chat_id: ChatKey, first_name: str | None = None) -> dict[str, Any]:
        if isinstance(chat_id, int) and chat_id < 0:
            chat = {"id": chat_id, "type": "supergroup", "title": "Test group"}
            return {**chat, "is_forum": True} if chat_id in self._forums else chat
        if isinstance(chat_id, str):
            return {"id": -1000000000001, "type": "channel", "title": chat_id}
        if first_name is not None:
            self._chat_names[chat_id] = first_name
        name = self._chat_names.get(chat_id, "Ivan")
        return {"id": chat_id, "type": "private", "first_name": name}

    def _user(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": chat_id if user_id is None else user_id,
            "is_bot": False,
            "first_name": first_name,
        }
        if last_name is not None:
            user["last_name"] = last_name
        if username is not None:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _user_message(self, chat_id: int, user: dict[str, Any], **content: Any) -> dict[str, Any]:
        key = chat_key(chat_id)
        # A resident who writes has unblocked the bot.
        self._blocked.discard(key)
        message = {
            "message_id": self._next_message_id(key),
            "from": user,
            "chat": self._chat(key, user["first_name"]),
            "date": int(time.time()),
            **content,
        }
        self._messages[(key, message["message_id"])] = StoredMessage(
            api_message=message, from_bot=False, raw_text=content.get("text", "")
        )
        return message

    def _current(self, key: ChatKey, message_id: int) -> StoredMessage:
        stored = self._messages.get((key, message_id))
        if stored is None:
            msg = f"no message #{message_id} in chat {key}"
            raise AssertionError(msg)
        return stored

    def _record(self, method: str, key: ChatKey, stored: StoredMessage) -> dict[str, Any]:
        message = stored.api_message
        record: dict[str, Any] = {
            "method": method,
            "chat_id": key,
            "message_id": message["message_id"],
            "text": message.get("text", message.get("caption", "")),
            "raw_text": stored.raw_text,
            "parse_mode": stored.parse_mode,
            "reply_markup": stored.reply_markup,
            "date": message["date"],
        }
        if "document" in message:
            record["document"] = message["document"]
        if "message_thread_id" in message:
            record["message_thread_id"] = message["message_thread_id"]
        self._sent.setdefault(key, []).append(record)
        self._notify_activity()
        return record

    def _render_text(self, raw: str, parse_mode: str | None) -> str:
        if self.strict_html and (parse_mode or "").upper() == "HTML":
            return parse_html(raw)
        return raw

    def _render_message_text(self, params: dict[str, Any], empty: str) -> str:
        text = self._render_text(str(params.get("text", "")), params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, f"Bad Request: {empty}")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _bot_message(self, key: ChatKey, **content: Any) -> dict[str, Any]:
        return {
            "message_id": self._next_message_id(key),
            "from": self.bot_user,
            "chat": self._chat(key),
            "date": int(time.time()),
            **content,
        }

    def _store_bot_message(
        self,
        key: ChatKey,
        message: dict[str, Any],
        raw: str,
        parse_mode: str | None,
        markup: dict[str, Any] | None,
    ) -> StoredMessage:
        if inline := inline_markup(markup):
            message["reply_markup"] = inline
        stored = StoredMessage(
            api_message=message,
            from_bot=True,
            raw_text=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
        )
        self._messages[(key, message["message_id"])] = stored
        return stored

    def _thread_of(self, params: dict[str, Any]) -> dict[str, Any]:
        """What a message sent with message_thread_id carries; a topic that is not there is
        Telegram's 400."""
        thread = params.get("message_thread_id")
        if thread is None:
            return {}
        forum = self._forums.get(chat_key(params.get("chat_id", 0)))
        if forum is None or int(thread) not in forum.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        return {"message_thread_id": int(thread), "is_topic_message": True}

    def _target(self, params: dict[str, Any]) -> tuple[ChatKey, StoredMessage]:
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        key = chat_key(params["chat_id"])
        stored = self._messages.get((key, int(params["message_id"])))
        if stored is None or stored.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return key, stored
