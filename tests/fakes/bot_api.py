"""A fake Telegram Bot API server for process-level tests.

The real bot runs as its own process with ``TELEGRAM_API_URL`` pointing here and long-polls this
server; the test pushes updates in and reads back what the bot sent::

    async with FakeBotApi(token="123456:TEST") as api:
        start_bot_process(env={"TELEGRAM_API_URL": api.url, "BOT_TOKEN": api.token})
        api.push_text(42, "/start")
        greeting = await api.wait_for(42, lambda m: "лицевой" in m["text"])
        api.push_button(42, greeting, "Отправить")

It speaks the wire format aiogram uses: ``POST {url}/bot{token}/{method}`` with form data
(urlencoded, or multipart when a file is attached), where every non-string value arrives as a
JSON string (``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``, ``show_alert=true``).
Answers are ``{"ok": true, "result": ...}`` shaped as Telegram shapes them, errors as Telegram
words them, so aiogram raises the same exceptions it raises in production.

Run it by hand with ``python -m tests.fakes.bot_api --port 8081 --token 123:ABC``; updates can
then be pushed with curl through the control endpoints (``POST /_fake/text`` with
``{"chat_id": 42, "text": "/start"}``, ``/_fake/contact``, ``/_fake/callback``, ``/_fake/button``,
``/_fake/update``; ``GET /_fake/sent/{chat_id}``, ``GET /_fake/calls``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import itertools
import json
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

DEFAULT_TOKEN = "123456:TEST"
BOT_USERNAME = "meter_test_bot"
BOT_FIRST_NAME = "Meter Test Bot"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_LONG_POLL_SECONDS = 50.0

# Parameters that are free text (or file ids) and must stay strings even when they look like
# JSON: a resident may well type "123" and a callback query id is numeric.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "language_code",
        "action",
        "url",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "question",
        "explanation",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "document",
        "photo",
        "audio",
        "video",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "next_offset",
        "secret_token",
        "ip_address",
    }
)

# Tags Telegram accepts with parse_mode=HTML; anything else (notably <br>) is a 400.
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9A-Fa-f]+);")
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

ChatKey = int | str
MessagePredicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    content: bytes


@dataclass
class Call:
    """One request the bot made, recorded when it arrives and completed when it is answered.

    A long poll is in ``calls`` while it waits, with ``status`` still None.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    token: str
    status: int | None = None
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def chat_id(self) -> ChatKey | None:
        value = self.params.get("chat_id")
        return None if value is None else _chat_key(value)


@dataclass(frozen=True)
class SentDocument:
    chat_id: ChatKey
    message_id: int
    filename: str
    content: bytes | None
    mime_type: str | None
    caption: str


@dataclass
class _Fault:
    method: str
    chat_id: ChatKey | None
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _StoredMessage:
    """A message as Telegram holds it: the Bot API object plus what only the sender knows."""

    api_message: dict[str, Any]
    from_bot: bool
    raw_text: str = ""
    parse_mode: str | None = None
    # Reply keyboards are never echoed back in Message.reply_markup; remember them here.
    reply_markup: dict[str, Any] | None = None
    deleted: bool = False


class ApiError(Exception):
    """A Telegram error answer: raised inside method handlers, turned into JSON by dispatch."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if error_code == 403:
        return "Forbidden: bot was blocked by the user"
    if error_code == 400:
        return "Bad Request: chat not found"
    return "Internal Server Error"


def _chat_key(value: Any) -> ChatKey:
    if isinstance(value, int):
        return value
    text = str(value)
    with contextlib.suppress(ValueError):
        return int(text)
    return text


def _decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _inline_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if markup and "inline_keyboard" in markup:
        return markup
    return None


def _html_error(text: str, position: int, reason: str) -> ApiError:
    offset = len(text[:position].encode("utf-8"))
    return ApiError(400, f"Bad Request: can't parse entities: {reason} at byte offset {offset}")


def _unescape_html(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _HTML_NAMED_ENTITIES[name]

    return _HTML_ENTITY_RE.sub(replace, text)


def parse_html(text: str) -> str:
    """The text a resident sees for a parse_mode=HTML message; ApiError where Telegram refuses.

    Checks what Telegram checks and bots get wrong: unsupported tags (``<br>``), a bare ``<``
    from unescaped user input, and tags left open or closed out of order.
    """
    plain: list[str] = []
    open_tags: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        plain.append(text[position:start])
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            raise _html_error(text, start, "Unexpected end of name token")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _html_error(text, start, f'Unsupported {kind} tag "{name}"')
        if closing:
            if not open_tags or open_tags[-1] != name:
                raise _html_error(text, start, f'Unmatched end tag "{name}"')
            open_tags.pop()
        else:
            open_tags.append(name)
        position = match.end()
    plain.append(text[position:])
    if open_tags:
        reason = f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"'
        raise ApiError(400, f"Bad Request: can't parse entities: {reason}")
    return _unescape_html("".join(plain))


def button_texts(message: dict[str, Any]) -> list[str]:
    """Every button label of a recorded message, inline or reply keyboard, row by row."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [button if isinstance(button, str) else button["text"] for row in rows for button in row]


def _describe(record: dict[str, Any]) -> str:
    buttons = " ".join(f"[{label}]" for label in button_texts(record))
    line = f"{record['method']} #{record['message_id']}: {record['text']!r}"
    return f"{line} {buttons}" if buttons else line


class FakeBotApi:
    """An in-process Bot API server: push updates in, read what the bot sent.

    Updates wait in a queue until a getUpdates offset confirms them, as in Telegram, and
    ``deleteWebhook(drop_pending_updates=True)`` empties it: a test of a bot that drops pending
    updates at start-up pushes only once ``wait_for_call("getUpdates")`` has returned.
    """

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
        self._messages: dict[tuple[ChatKey, int], _StoredMessage] = {}
        self._sent: dict[ChatKey, list[dict[str, Any]]] = {}
        self._cursors: dict[ChatKey, int] = {}
        self._call_cursors: dict[str, int] = {}
        self._documents: dict[ChatKey, list[SentDocument]] = {}
        self._open_callbacks: set[str] = set()
        self._faults: list[_Fault] = []
        self._blocked: set[ChatKey] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chat_names: dict[ChatKey, str] = {}

        # Replaced after every set(): waiters grab the current one, so none misses a wake-up.
        self._updates_changed = asyncio.Event()
        self._activity = asyncio.Event()
        self._poll_generation = 0
        self._closing = False

        self._runner: web.AppRunner | None = None
        self.url = ""
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, UploadedFile]], Any]] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendchataction": self._true,
            # Harmless start-up calls a bot may make; accepting them keeps tests quiet.
            "setmydescription": self._true,
            "setmyshortdescription": self._true,
            "setchatmenubutton": self._true,
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL for TELEGRAM_API_URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._add_control_routes(app)
        self._closing = False
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- pushing updates

    def push_update(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update; an update_id is assigned when missing. Returns the update."""
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

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ivan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str = "ru",
    ) -> dict[str, Any]:
        """A resident types text (commands get their bot_command entity, as Telegram adds)."""
        user = self._user(chat_id, user_id, first_name, last_name, username, language_code)
        message = self._user_message(chat_id, user, text=text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return self.push_update({"message": message})

    def push_contact(
        self,
        chat_id: int,
        phone_number: str,
        *,
        user_id: int | None = None,
        sender_id: int | None = None,
        first_name: str = "Ivan",
        last_name: str | None = None,
        language_code: str = "ru",
        without_user_id: bool = False,
    ) -> dict[str, Any]:
        """A resident shares a contact (the request_contact button shares their own).

        ``user_id`` is the contact's Telegram id, by default the sender's; ``without_user_id``
        drops it, as for a contact of someone who is not on Telegram. The phone number is kept
        exactly as given: real clients send it with or without the leading ``+``.
        """
        sender = self._user(chat_id, sender_id, first_name, last_name, None, language_code)
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name is not None:
            contact["last_name"] = last_name
        if not without_user_id:
            contact["user_id"] = sender["id"] if user_id is None else user_id
        message = self._user_message(chat_id, sender, contact=contact)
        return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int,
        user_id: int | None = None,
        first_name: str = "Ivan",
        language_code: str = "ru",
    ) -> dict[str, Any]:
        """A resident presses an inline button with ``data`` under message ``message_id``."""
        key = _chat_key(chat_id)
        user = self._user(chat_id, user_id, first_name, None, None, language_code)
        stored = self._messages.get((key, message_id))
        if stored is not None and not stored.deleted:
            message = stored.api_message
        else:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id, first_name),
                "from": self.bot_user,
                "text": "",
            }
        callback_id = f"{self.bot_id}{next(self._callback_ids):08d}"
        self._open_callbacks.add(callback_id)
        self._blocked.discard(key)
        callback = {
            "id": callback_id,
            "from": user,
            "message": message,
            "chat_instance": f"-{abs(hash(key)) % 10**18}",
            "data": data,
        }
        return self.push_update({"callback_query": callback})

    def push_button(
        self,
        chat_id: int,
        message: dict[str, Any] | None,
        text_contains: str,
        **user: Any,
    ) -> dict[str, Any]:
        """Press the inline button whose label contains ``text_contains``.

        The keyboard is read from the message as it is now (after any edits), as a resident
        sees it; ``message=None`` means the latest bot message with an inline keyboard.
        """
        key = _chat_key(chat_id)
        if message is None:
            with_keyboard = [
                record
                for record in self._sent.get(key, [])
                if _inline_markup(self._current(key, record["message_id"]).reply_markup)
            ]
            if not with_keyboard:
                msg = f"no message with an inline keyboard was sent to chat {chat_id}"
                raise AssertionError(msg)
            message = with_keyboard[-1]
        message_id = int(message["message_id"])
        stored = self._current(key, message_id)
        if stored.deleted:
            msg = f"message #{message_id} in chat {chat_id} was deleted; its buttons are gone"
            raise AssertionError(msg)
        markup = _inline_markup(stored.reply_markup) or {"inline_keyboard": []}
        buttons = [button for row in markup["inline_keyboard"] for button in row]
        exact = [button for button in buttons if button["text"] == text_contains]
        found = exact or [button for button in buttons if text_contains in button["text"]]
        labels = ", ".join(repr(button["text"]) for button in buttons) or "none"
        if len(found) != 1:
            how = "no" if not found else "more than one"
            msg = f"{how} button matching {text_contains!r} on message #{message_id}: {labels}"
            raise AssertionError(msg)
        data = found[0].get("callback_data")
        if data is None:
            msg = f"button {found[0]['text']!r} has no callback_data: {found[0]}"
            raise AssertionError(msg)
        return self.push_callback(chat_id, data, message_id=message_id, **user)

    # ----------------------------------------------------------------- reading results

    def sent_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        """What the bot sent or edited in the chat, in order, one snapshot per call.

        Each entry has method, chat_id, message_id, text (as the resident reads it: HTML
        parsed, a document's caption), raw_text, parse_mode and reply_markup (any kind).
        """
        return list(self._sent.get(_chat_key(chat_id), []))

    def last_sent(self, chat_id: int | str) -> dict[str, Any]:
        records = self._sent.get(_chat_key(chat_id))
        if not records:
            msg = f"nothing was sent to chat {chat_id}"
            raise AssertionError(msg)
        return records[-1]

    def sent_documents(self, chat_id: int | str) -> list[SentDocument]:
        return list(self._documents.get(_chat_key(chat_id), []))

    def deleted_messages(self, chat_id: int | str) -> list[int]:
        key = _chat_key(chat_id)
        return [
            mid for (chat, mid), stored in self._messages.items() if chat == key and stored.deleted
        ]

    def calls_to(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        """The command list set for a scope (default scope when None) and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates pushed and not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[str]:
        return button_texts(message)

    async def wait_for(
        self,
        chat_id: int | str,
        predicate: MessagePredicate | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The next bot message to the chat that matches, after those already waited for.

        Messages skipped over on the way to a match count as consumed too.
        """
        key = _chat_key(chat_id)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            records = self._sent.get(key, [])
            cursor = self._cursors.get(key, 0)
            for index in range(cursor, len(records)):
                if predicate is None or predicate(records[index]):
                    self._cursors[key] = index + 1
                    return records[index]
            if not await self._wait_activity(deadline):
                raise AssertionError(self._explain_timeout(key, timeout, predicate))

    async def assert_nothing_sent(self, chat_id: int | str, within: float = 0.5) -> None:
        """Fails when the bot sends anything to the chat beyond what wait_for consumed."""
        key = _chat_key(chat_id)
        await asyncio.sleep(within)
        fresh = self._sent.get(key, [])[self._cursors.get(key, 0) :]
        if fresh:
            lines = "\n".join(f"  {_describe(record)}" for record in fresh)
            msg = f"expected nothing more in chat {chat_id}, got:\n{lines}"
            raise AssertionError(msg)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> Call:
        """The next call of ``method`` that matches, after those already waited for.

        Returns as soon as the call arrives, so a long poll is seen while it is still waiting.
        """
        wanted = method.lower()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            cursor = self._call_cursors.get(wanted, 0)
            for index in range(cursor, len(self.calls)):
                call = self.calls[index]
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    self._call_cursors[wanted] = index + 1
                    return call
            if not await self._wait_activity(deadline):
                seen = ", ".join(call.method for call in self.calls[-20:]) or "none"
                msg = f"no {method} call matched within {timeout} s; last calls: {seen}"
                raise AssertionError(msg)

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``, if given) with an error.

        Without a description Telegram's usual wording for the code is used.
        """
        self._faults.append(
            _Fault(
                method=method.lower(),
                chat_id=None if chat_id is None else _chat_key(chat_id),
                error_code=error_code,
                description=description or _default_description(error_code, retry_after),
                retry_after=retry_after,
                times=times,
            )
        )

    def block(self, chat_id: int | str) -> None:
        """The resident blocks the bot: every call to the chat is a 403 until they write again."""
        self._blocked.add(_chat_key(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        self._blocked.discard(_chat_key(chat_id))

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await _read_params(request)
        call = Call(method, params, files, token)
        self.calls.append(call)
        self._notify_activity()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._dispatch(method, params, files)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.error_code, error.to_json()
        call.status, call.response = status, body
        self._notify_activity()
        if self._on_call is not None:
            self._on_call(call)
        return web.json_response(body, status=status, dumps=_dumps)

    async def _dispatch(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        self._apply_faults(method, params)
        handler = self._methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(params, files)
        return await result if inspect.isawaitable(result) else result

    def _apply_faults(self, method: str, params: dict[str, Any]) -> None:
        chat = params.get("chat_id")
        chat_key = None if chat is None else _chat_key(chat)
        for fault in self._faults:
            if fault.method != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != chat_key:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise ApiError(fault.error_code, fault.description, fault.retry_after)
        if chat_key is not None and chat_key in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()
        self._notify_activity()

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

    def _explain_timeout(
        self, key: ChatKey, timeout: float, predicate: MessagePredicate | None
    ) -> str:
        records = self._sent.get(key, [])
        cursor = self._cursors.get(key, 0)
        what = "message" if predicate is None else "matching message"
        lines = [f"no new {what} to chat {key} within {timeout} s."]
        if records:
            lines.append(f"Sent to chat {key} ({len(records)}; the first {cursor} consumed):")
            for index, record in enumerate(records):
                mark = "  (consumed)" if index < cursor else ""
                lines.append(f"  [{index}] {_describe(record)}{mark}")
        else:
            lines.append(f"Nothing was sent to chat {key}.")
        failed = [call for call in self.calls if call.answered and not call.ok]
        if failed:
            lines.append("Failed calls:")
            lines.extend(
                f"  {call.method} chat_id={call.params.get('chat_id')}: "
                f"{call.status} {call.response.get('description')}"
                for call in failed[-10:]
            )
        lines.append(f"Updates not yet confirmed by the bot: {len(self._pending)}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- building blocks

    def _next_message_id(self, key: ChatKey) -> int:
        # One counter per chat shared by both sides, as in Telegram's private chats.
        return next(self._message_ids.setdefault(key, itertools.count(1)))

    def _chat(self, chat_id: ChatKey, first_name: str | None = None) -> dict[str, Any]:
        if isinstance(chat_id, int) and chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Test group"}
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
        key = _chat_key(chat_id)
        # A resident who writes has unblocked the bot.
        self._blocked.discard(key)
        message = {
            "message_id": self._next_message_id(key),
            "from": user,
            "chat": self._chat(key, user["first_name"]),
            "date": int(time.time()),
            **content,
        }
        self._messages[(key, message["message_id"])] = _StoredMessage(
            api_message=message, from_bot=False, raw_text=content.get("text", "")
        )
        return message

    def _current(self, key: ChatKey, message_id: int) -> _StoredMessage:
        stored = self._messages.get((key, message_id))
        if stored is None:
            msg = f"no message #{message_id} in chat {key}"
            raise AssertionError(msg)
        return stored

    def _record(self, method: str, key: ChatKey, stored: _StoredMessage) -> dict[str, Any]:
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
        if _utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    def _target(self, params: dict[str, Any]) -> tuple[ChatKey, _StoredMessage]:
        if "chat_id" not in params or "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        key = _chat_key(params["chat_id"])
        stored = self._messages.get((key, int(params["message_id"])))
        if stored is None or stored.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return key, stored

    # ----------------------------------------------------------------- Bot API methods

    def _true(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        return True

    def _get_webhook_info(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands[key] = [dict(command) for command in commands]
        return True

    def _get_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[dict[str, Any]]:
        return self.commands(params.get("scope"), str(params.get("language_code", "")))

    def _delete_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code", "")))
        self._commands.pop(key, None)
        return True

    async def _get_updates(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0))
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        timeout = min(max(float(params.get("timeout", 0)), 0.0), MAX_LONG_POLL_SECONDS)
        if offset > 0:
            self._pending = [update for update in self._pending if update["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        # As Telegram does, a newer getUpdates ends the one still waiting with a 409.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if self._pending:
                return self._pending[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _send_message(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        key = _chat_key(params["chat_id"])
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        text = self._render_message_text(params, "message text is empty")
        markup = params.get("reply_markup")
        message = self._bot_message(key, text=text)
        stored = self._store_bot_message(key, message, raw, parse_mode, markup)
        self._record("sendMessage", key, stored)
        return message

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
    ) -> _StoredMessage:
        if inline := _inline_markup(markup):
            message["reply_markup"] = inline
        stored = _StoredMessage(
            api_message=message,
            from_bot=True,
            raw_text=raw,
            parse_mode=parse_mode,
            reply_markup=markup,
        )
        self._messages[(key, message["message_id"])] = stored
        return stored

    def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        key, stored = self._target(params)
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        text = self._render_message_text(params, "text must be non-empty")
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        markup = _inline_markup(params.get("reply_markup"))
        message = stored.api_message
        if (
            text == message.get("text")
            and raw == stored.raw_text
            and markup == _inline_markup(stored.reply_markup)
        ):
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = text
        message["edit_date"] = int(time.time())
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        stored.raw_text, stored.parse_mode, stored.reply_markup = raw, parse_mode, markup
        self._record("editMessageText", key, stored)
        return message

    def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        key, stored = self._target(params)
        markup = _inline_markup(params.get("reply_markup"))
        if markup == _inline_markup(stored.reply_markup):
            raise ApiError(400, _NOT_MODIFIED)
        message = stored.api_message
        message["edit_date"] = int(time.time())
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        stored.reply_markup = markup
        self._record("editMessageReplyMarkup", key, stored)
        return message

    def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> bool:
        key = _chat_key(params.get("chat_id", 0))
        stored = self._messages.get((key, int(params.get("message_id", 0))))
        if stored is None or stored.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        stored.deleted = True
        self._notify_activity()
        return True

    def _answer_callback_query(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> bool:
        callback_id = str(params.get("callback_query_id", ""))
        if callback_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(callback_id)
        return True

    def _send_document(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        key = _chat_key(params["chat_id"])
        source = params.get("document")
        upload: UploadedFile | None = None
        if isinstance(source, str) and source.startswith("attach://"):
            upload = files.get(source.removeprefix("attach://"))
            if upload is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        elif source is None:
            upload = files.get("document")
        if upload is None and not source:
            raise ApiError(400, "Bad Request: there is no document in the request")
        raw = str(params.get("caption", ""))
        parse_mode = params.get("parse_mode")
        caption = self._render_text(raw, parse_mode)
        if _utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        file_number = next(self._file_ids)
        document: dict[str, Any] = {
            "file_id": f"BQACAgIAAxkBAAI{file_number:06d}",
            "file_unique_id": f"AgAD{file_number:06d}",
        }
        if upload is not None:
            document["file_name"] = upload.filename
            document["mime_type"] = upload.content_type
            document["file_size"] = len(upload.content)
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        message = self._bot_message(key, **content)
        stored = self._store_bot_message(key, message, raw, parse_mode, params.get("reply_markup"))
        self._documents.setdefault(key, []).append(
            SentDocument(
                chat_id=key,
                message_id=message["message_id"],
                filename=upload.filename if upload else str(source),
                content=upload.content if upload else None,
                mime_type=upload.content_type if upload else None,
                caption=caption,
            )
        )
        self._record("sendDocument", key, stored)
        return message

    # ----------------------------------------------------------------- control endpoints

    def _add_control_routes(self, app: web.Application) -> None:
        async def text(request: web.Request) -> web.Response:
            body = await request.json()
            return _json(self.push_text(int(body.pop("chat_id")), body.pop("text"), **body))

        async def contact(request: web.Request) -> web.Response:
            body = await request.json()
            chat_id, phone = int(body.pop("chat_id")), body.pop("phone_number")
            return _json(self.push_contact(chat_id, phone, **body))

        async def callback(request: web.Request) -> web.Response:
            body = await request.json()
            chat_id, data = int(body.pop("chat_id")), body.pop("data")
            return _json(self.push_callback(chat_id, data, **body))

        async def button(request: web.Request) -> web.Response:
            body = await request.json()
            try:
                update = self.push_button(int(body["chat_id"]), None, body["text"])
            except AssertionError as error:
                return _json({"error": str(error)}, status=404)
            return _json(update)

        async def update(request: web.Request) -> web.Response:
            return _json(self.push_update(await request.json()))

        async def sent(request: web.Request) -> web.Response:
            return _json(self.sent_to(request.match_info["chat_id"]))

        async def calls(request: web.Request) -> web.Response:
            return _json(
                [{"method": c.method, "params": c.params, "status": c.status} for c in self.calls]
            )

        app.router.add_post("/_fake/text", text)
        app.router.add_post("/_fake/contact", contact)
        app.router.add_post("/_fake/callback", callback)
        app.router.add_post("/_fake/button", button)
        app.router.add_post("/_fake/update", update)
        app.router.add_get("/_fake/sent/{chat_id}", sent)
        app.router.add_get("/_fake/calls", calls)


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string, urlencoded or multipart form, or a JSON body, as Telegram accepts them."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        return {**raw, **body}, files
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                files[name] = UploadedFile(name, value.filename, value.content_type, content)
            elif isinstance(value, bytes):
                raw[name] = value.decode("utf-8")
            else:
                raw[name] = value
    return {name: _decode_param(name, value) for name, value in raw.items()}, files


# ----------------------------------------------------------------------------- manual use


def _print_call(call: Call) -> None:
    if call.method == "getUpdates" and call.ok and not call.response["result"]:
        return
    shown = {k: v for k, v in call.params.items() if k not in {"reply_markup"}}
    buttons = button_texts(call.params) if isinstance(call.params.get("reply_markup"), dict) else []
    suffix = f" buttons={buttons}" if buttons else ""
    print(f"{call.status} {call.method} {_dumps(shown)}{suffix}", flush=True)


async def _serve(host: str, port: int, token: str, quiet: bool) -> None:
    api = FakeBotApi(token=token, on_call=None if quiet else _print_call)
    url = await api.start(host, port)
    print(f"Fake Bot API at {url} (token {token}); TELEGRAM_API_URL={url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--quiet", action="store_true", help="do not print every call")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.token, args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
