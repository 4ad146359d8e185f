"""The wire format aiogram speaks: ``POST {url}/bot{token}/{method}`` with form data
(urlencoded, or multipart when a file is attached), every non-string value a JSON string;
answers ``{"ok": true, "result": ...}``, errors as Telegram words them."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ChatKey = int | str

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

    A long poll is in ``calls`` while it waits, with ``status`` still None. ``at`` is when it
    arrived (time.monotonic); ``via`` the first part of its path when the bot's
    TELEGRAM_API_URL has one (``{url}/r1``: replica r1), else "".
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    token: str
    status: int | None = None
    response: dict[str, Any] = field(default_factory=dict)
    via: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def answered(self) -> bool:
        return self.status is not None

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def chat_id(self) -> ChatKey | None:
        value = self.params.get("chat_id")
        return None if value is None else chat_key(value)


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


def chat_key(value: Any) -> ChatKey:
    if isinstance(value, int):
        return value
    text = str(value)
    with contextlib.suppress(ValueError):
        return int(text)
    return text


def decode_param(name: str, value: Any) -> Any:
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def json_reply(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=dumps)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
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
    return {name: decode_param(name, value) for name, value in raw.items()}, files
