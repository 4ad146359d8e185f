"""A small conversation harness: updates in through the dispatcher, Bot API calls recorded.

Tests read like the conversation they check:

    chat = bot.chat(1001)
    await chat.send("/start")
    await chat.press("Send again")
    assert "code" in chat.last_text
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    CopyMessage,
    CreateForumTopic,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    ForumTopic,
    InlineKeyboardMarkup,
    Message,
    MessageId,
    ReplyKeyboardMarkup,
    Update,
    User,
)

from bot.app import App, build_app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.i18n import RenderCachingCore, create_core
from bot.sms.base import SmsSender
from bot.storage.db import Database
from bot.storage.engines import open_database

BOT_USER = User(id=123456, is_bot=True, first_name="Meter bot", username="meter_test_bot")
TOKEN = "123456:TEST-token"
_Method = TypeVar("_Method", bound=TelegramMethod[Any])


@dataclass
class Sent:
    """One message as the chat sees it now (edits change it in place)."""

    chat_id: int
    message_id: int
    text: str
    reply_markup: Any = None
    document: tuple[str, bytes] | None = None
    photo: tuple[str, bytes] | None = None  # (file name, content) of an uploaded photo
    thread_id: int | None = None  # the forum topic it went to (appeals)
    copied: tuple[int, int] | None = None  # copyMessage: (from chat, message id)

    def buttons(self) -> list[tuple[str, str]]:
        """(text, callback_data) of every inline button."""
        if not isinstance(self.reply_markup, InlineKeyboardMarkup):
            return []
        return [
            (b.text, b.callback_data or "")
            for row in self.reply_markup.inline_keyboard
            for b in row
        ]

    def keyboard(self) -> list[str]:
        if not isinstance(self.reply_markup, ReplyKeyboardMarkup):
            return []
        return [b.text for row in self.reply_markup.keyboard for b in row]


@dataclass
class Failure:
    method: str
    chat_id: int | None
    kind: str  # "403" | "429" | "502" | "400" | "timeout"
    retry_after: int = 1
    times: int = 1
    description: str = "Bad Request: message is not modified"  # of a 400


def _upload(file: Any) -> tuple[str, bytes]:
    """(file name, content) of a BufferedInputFile the bot uploads."""
    return getattr(file, "filename", "") or "", getattr(file, "data", b"")


class RecordingSession(BaseSession):
    """A Bot API session that keeps every call and answers like Telegram would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self.messages: dict[int, list[Sent]] = defaultdict(list)
        self._by_id: dict[tuple[int, int], Sent] = {}
        self._ids = itertools.count(1000)
        self.failures: list[Failure] = []

    def fail(
        self,
        method: str,
        chat_id: int | None = None,
        *,
        kind: str,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        failure = Failure(method, chat_id, kind, retry_after, times)
        if description is not None:
            failure.description = description
        self.failures.append(failure)

    def _maybe_fail(self, method: TelegramMethod[Any]) -> None:
        name = type(method).__name__
        chat_id = getattr(method, "chat_id", None)
        for failure in self.failures:
            if failure.times > 0 and failure.method == name and failure.chat_id in (None, chat_id):
                failure.times -= 1
                if failure.kind == "403":
                    raise TelegramForbiddenError(method, "Forbidden: bot was blocked by the user")
                if failure.kind == "429":
                    raise TelegramRetryAfter(method, "Too Many Requests", failure.retry_after)
                if failure.kind == "502":
                    raise TelegramServerError(method, "Bad Gateway")
                if failure.kind == "timeout":
                    raise TelegramNetworkError(method, "Request timeout error")
                raise TelegramBadRequest(method, failure.description)

    def calls_of(self, kind: type[_Method]) -> list[_Method]:
        """The calls of one method (SendMessage, say), typed as that method."""
        return [c for c in self.calls if isinstance(c, kind)]

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        self._maybe_fail(method)
        now = datetime.now(UTC)
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, CreateForumTopic):
            return ForumTopic(message_thread_id=next(self._ids), name=method.name, icon_color=0)
        if isinstance(method, CopyMessage):
            return self._copy(method)
        if isinstance(method, SendMessage | SendDocument | SendPhoto):
            chat_id = int(method.chat_id)
            message_id = next(self._ids)
            document = photo = None
            if isinstance(method, SendDocument):
                document = _upload(method.document)
            if isinstance(method, SendPhoto):
                photo = _upload(method.photo)
            text = method.text if isinstance(method, SendMessage) else (method.caption or "")
            sent = Sent(chat_id, message_id, text, method.reply_markup, document, photo)
            sent.thread_id = method.message_thread_id
            self.messages[chat_id].append(sent)
            self._by_id[chat_id, message_id] = sent
            return Message(
                message_id=message_id,
                date=now,
                chat=Chat(id=chat_id, type="private"),
                from_user=BOT_USER,
                text=text,
                reply_markup=method.reply_markup
                if isinstance(method.reply_markup, InlineKeyboardMarkup)
                else None,
            )
        if isinstance(method, EditMessageText | EditMessageReplyMarkup | EditMessageCaption):
            chat_id, message_id = int(method.chat_id or 0), int(method.message_id or 0)
            edited = self._by_id.get((chat_id, message_id))
            if edited is None:
                raise TelegramBadRequest(method, "Bad Request: message to edit not found")
            if isinstance(method, EditMessageText):
                edited.text = method.text or ""  # None only with a rich message: none sent here
            if isinstance(method, EditMessageCaption):
                edited.text = method.caption or ""
            edited.reply_markup = method.reply_markup
            return Message(
                message_id=message_id,
                date=now,
                chat=Chat(id=chat_id, type="private"),
                from_user=BOT_USER,
                text=edited.text,
            )
        return True

    def _copy(self, method: CopyMessage) -> MessageId:
        """A copy keeps no text here: the caption given, if any, and where it came from."""
        chat_id, message_id = int(method.chat_id), next(self._ids)
        sent = Sent(chat_id, message_id, method.caption or "", method.reply_markup)
        sent.thread_id = method.message_thread_id
        sent.copied = (int(method.from_chat_id), method.message_id)
        self.messages[chat_id].append(sent)
        self._by_id[chat_id, message_id] = sent
        return MessageId(message_id=message_id)

    async def close(self) -> None:
        pass

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""  # pragma: no cover


class RecordingSms:
    """An SMS provider that keeps what it was asked to send; can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.error: Exception | None = None

    async def send(self, phone: str, text: str) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((phone, text))

    async def close(self) -> None:
        pass

    def last_code(self, phone: str | None = None) -> str:
        for to, text in reversed(self.sent):
            if phone is None or to == phone:
                match = re.search(r"\b(\d{6})\b", text)
                assert match, text
                return match.group(1)
        raise AssertionError(f"no SMS sent to {phone}")


class ChatClient:
    """One resident's chat with the bot."""

    def __init__(
        self,
        harness: BotHarness,
        chat_id: int,
        *,
        first_name: str = "Иван",
        language_code: str | None = "ru",
    ) -> None:
        self.harness = harness
        self.chat_id = chat_id
        self.user = User(
            id=chat_id, is_bot=False, first_name=first_name, language_code=language_code
        )
        self.chat = Chat(id=chat_id, type="private", first_name=first_name)
        self._seen = 0

    # --- what the bot showed ---------------------------------------------------------------

    @property
    def messages(self) -> list[Sent]:
        return self.harness.session.messages[self.chat_id]

    @property
    def last(self) -> Sent:
        assert self.messages, f"the bot sent nothing to chat {self.chat_id}"
        return self.messages[-1]

    @property
    def last_text(self) -> str:
        return self.last.text

    @property
    def replies(self) -> list[Sent]:
        """Messages the bot sent in answer to the last action."""
        return self.messages[self._seen_before_action :]

    @property
    def reply_text(self) -> str:
        return "\n---\n".join(m.text for m in self.replies)

    def find_button(self, text: str) -> tuple[Sent, str]:
        for sent in reversed(self.messages):
            for label, data in sent.buttons():
                if text.lower() in label.lower():
                    return sent, data
        shown = [m.buttons() for m in self.messages[-5:]]
        raise AssertionError(f"no button {text!r} in the last messages: {shown}")

    # --- what the resident does ------------------------------------------------------------

    def _message(self, **fields: Any) -> Message:
        return Message(
            message_id=next(self.harness.ids),
            date=self.harness.clock.now(),
            chat=self.chat,
            from_user=self.user,
            **fields,
        )

    async def feed(self, update: Update) -> None:
        self._seen_before_action = len(self.messages)
        await self.harness.feed(update)

    def text_update(self, text: str) -> Update:
        return Update(update_id=next(self.harness.ids), message=self._message(text=text))

    async def send(self, text: str) -> None:
        await self.feed(self.text_update(text))

    async def send_sticker_like(self) -> None:
        """A message with no text (a sticker, a photo): only the bare message."""
        await self.feed(Update(update_id=next(self.harness.ids), message=self._message()))

    async def share_contact(self, phone: str, *, user_id: int | None = None) -> None:
        contact = Contact(
            phone_number=phone,
            first_name=self.user.first_name,
            user_id=self.user.id if user_id is None else user_id,
        )
        await self.feed(
            Update(update_id=next(self.harness.ids), message=self._message(contact=contact))
        )

    def callback_update(self, sent: Sent, data: str) -> Update:
        return Update(
            update_id=next(self.harness.ids),
            callback_query=CallbackQuery(
                id=str(next(self.harness.ids)),
                from_user=self.user,
                chat_instance=str(self.chat_id),
                data=data,
                message=Message(
                    message_id=sent.message_id,
                    date=self.harness.clock.now(),
                    chat=self.chat,
                    from_user=BOT_USER,
                    text=sent.text,
                ),
            ),
        )

    async def press(self, text: str) -> None:
        sent, data = self.find_button(text)
        await self.feed(self.callback_update(sent, data))

    async def press_data(self, sent: Sent, data: str) -> None:
        await self.feed(self.callback_update(sent, data))

    _seen_before_action = 0


class ForumMember:
    """An operator in the operators' forum chat (appeals): writes in a topic or in General."""

    def __init__(self, harness: BotHarness, chat_id: int, user_id: int, first_name: str) -> None:
        self.harness = harness
        self.chat = Chat(id=chat_id, type="supergroup", title="Operators", is_forum=True)
        self.user = User(id=user_id, is_bot=False, first_name=first_name, language_code="ru")

    @property
    def messages(self) -> list[Sent]:
        """What the bot posted in the operators' chat, every topic."""
        return self.harness.session.messages[self.chat.id]

    def in_topic(self, thread_id: int | None) -> list[Sent]:
        return [m for m in self.messages if m.thread_id == thread_id]

    def message(self, thread_id: int | None, **fields: Any) -> Message:
        if thread_id is not None:
            fields.update(message_thread_id=thread_id, is_topic_message=True)
        return Message(
            message_id=next(self.harness.ids),
            date=self.harness.clock.now(),
            chat=self.chat,
            from_user=self.user,
            **fields,
        )

    async def send(self, text: str, thread_id: int | None = None) -> Message:
        message = self.message(thread_id, text=text)
        await self.harness.feed(Update(update_id=next(self.harness.ids), message=message))
        return message

    async def post(self, thread_id: int | None, **fields: Any) -> Message:
        message = self.message(thread_id, **fields)
        await self.harness.feed(Update(update_id=next(self.harness.ids), message=message))
        return message

    async def edit(self, original: Message, text: str) -> None:
        moment = int(self.harness.clock.now().timestamp())
        edited = original.model_copy(update={"text": text, "edit_date": moment})
        await self.harness.feed(Update(update_id=next(self.harness.ids), edited_message=edited))


@dataclass
class BotHarness:
    app: App
    session: RecordingSession
    sms: RecordingSms
    clock: FrozenClock
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def db(self) -> Database:
        return self.app.storage.db

    def chat(self, chat_id: int, **kwargs: Any) -> ChatClient:
        return ChatClient(self, chat_id, **kwargs)

    def operator(self, user_id: int = 9001, first_name: str = "Ольга") -> ForumMember:
        chat_id = self.app.settings.operator_chat_id
        assert chat_id is not None, "start the harness with operator_chat_id"
        return ForumMember(self, chat_id, user_id, first_name)

    async def feed(self, update: Update) -> None:
        await self.app.dispatcher.feed_update(self.app.bot, update)

    async def settle(self) -> None:
        """Wait for what the bot does in the background (admin warnings, say)."""
        await self.app.background.settle()

    async def close(self) -> None:
        await self.app.close()


# The database the flows run on: None, a SQLite file in the test's directory; else the URL of
# the test's own PostgreSQL schema (the `engine` fixture of tests/conftest.py sets it).
engine_url: str | None = None


def database_url(tmp_path: Path) -> str:
    return engine_url or f"sqlite:///{tmp_path / 'bot.sqlite3'}"


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": database_url(tmp_path),
        "support_contact": "+7 (495) 000-00-00",
        "admin_ids": "777",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


_CORES: dict[str, RenderCachingCore] = {}


async def shared_core(default_locale: str) -> RenderCachingCore:
    """The translations, parsed once per test process: parsing the .ftl files takes ~0.2 s,
    which every test building a bot would pay again for the same texts."""
    core = _CORES.get(default_locale)
    if core is None:
        core = create_core(default_locale)
        await core.startup()
        _CORES[default_locale] = core
    return core


_TEMPLATE_DIR = tempfile.TemporaryDirectory(prefix="bot-tests-")  # removed at exit
_template: Path | None = None


async def fresh_database(path: Path) -> None:
    """A newly migrated database at `path`, unless there is one: a copy of one migrated once
    per test process, which every test would otherwise migrate again (~25 ms each). (Were the
    copy ever short of a migration, opening it would apply it: slower, never wrong.)"""
    global _template
    if _template is None:
        template = Path(_TEMPLATE_DIR.name) / "bot.sqlite3"
        await (await open_database(template)).close()  # the last close folds the WAL in
        _template = template
    _copy_unless_there(_template, path)


def _copy_unless_there(template: Path, path: Path) -> None:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)


async def start_harness(
    tmp_path: Path,
    *,
    now: datetime | None = None,
    sms: SmsSender | None = None,
    session: RecordingSession | None = None,
    core: RenderCachingCore | None = None,
    **overrides: Any,
) -> BotHarness:
    """A bot on a fresh database; `sms` replaces the recording SMS provider (e.g. SMS.ru);
    `session` the recording Bot API, `core` the texts shared by the tests of the process."""
    settings = make_settings(tmp_path, **overrides)
    if not settings.on_postgres:
        await fresh_database(settings.database_path)
    clock = FrozenClock(now or datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    session = session or RecordingSession()
    recording = RecordingSms()
    core = core or await shared_core(settings.default_locale)
    app = await build_app(settings, clock=clock, session=session, sms=sms or recording, core=core)
    return BotHarness(app=app, session=session, sms=recording, clock=clock)
