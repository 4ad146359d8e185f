"""Files sent to Telegram carry the content type of their name (a .csv goes as text/csv)."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import FormData

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.types import InputFile


def content_type_of(filename: str | None) -> str | None:
    """The type a file's name says ("history-5012345678.csv" → text/csv); None: unknown."""
    return mimetypes.guess_type(filename or "", strict=True)[0]


class TypedUploadSession(AiohttpSession):
    """aiogram's session, with each uploaded file's part typed after its name.

    aiogram adds file parts without a content type, so aiohttp sends every file as
    application/octet-stream and Telegram shows a CSV as an unknown binary. This is
    AiohttpSession.build_form_data (aiogram 3.2x) with the type added; the test that sends a
    CSV to the fake Bot API over HTTP catches a change of aiogram's form.
    """

    def build_form_data(self, bot: Bot, method: TelegramMethod[Any]) -> FormData:
        form = FormData(quote_fields=False)
        files: dict[str, InputFile] = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files)
            if not value:
                continue
            form.add_field(key, value)
        for key, file in files.items():
            form.add_field(
                key,
                file.read(bot),
                filename=file.filename or key,
                content_type=content_type_of(file.filename),
            )
        return form
