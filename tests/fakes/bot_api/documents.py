"""Documents the bot uploads (sendDocument), kept with their content for the test to read."""

from __future__ import annotations

from typing import Any

from tests.fakes.bot_api.core import MAX_CAPTION_LENGTH, FakeState, SentDocument
from tests.fakes.bot_api.wire import ApiError, UploadedFile, chat_key, utf16_len


class Documents(FakeState):
    def sent_documents(self, chat_id: int | str) -> list[SentDocument]:
        return list(self._documents.get(chat_key(chat_id), []))

    def _send_document(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        key = chat_key(params["chat_id"])
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
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
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
