"""Messages the bot sends, edits and deletes, and how a test reads and waits for them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.fakes.bot_api.core import FakeState, MessagePredicate, describe, inline_markup
from tests.fakes.bot_api.wire import ApiError, ChatKey, UploadedFile, chat_key

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class Messages(FakeState):
    def sent_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        """What the bot sent or edited in the chat, in order, one snapshot per call.

        Each entry has method, chat_id, message_id, text (as the resident reads it: HTML
        parsed, a document's caption), raw_text, parse_mode and reply_markup (any kind).
        """
        return list(self._sent.get(chat_key(chat_id), []))

    def last_sent(self, chat_id: int | str) -> dict[str, Any]:
        records = self._sent.get(chat_key(chat_id))
        if not records:
            msg = f"nothing was sent to chat {chat_id}"
            raise AssertionError(msg)
        return records[-1]

    def deleted_messages(self, chat_id: int | str) -> list[int]:
        key = chat_key(chat_id)
        return [
            mid for (chat, mid), stored in self._messages.items() if chat == key and stored.deleted
        ]

    async def wait_for(
        self,
        chat_id: int | str,
        predicate: MessagePredicate | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """The next bot message to the chat that matches, after those already waited for.

        Messages skipped over on the way to a match count as consumed too.
        """
        key = chat_key(chat_id)
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
        key = chat_key(chat_id)
        await asyncio.sleep(within)
        fresh = self._sent.get(key, [])[self._cursors.get(key, 0) :]
        if fresh:
            lines = "\n".join(f"  {describe(record)}" for record in fresh)
            msg = f"expected nothing more in chat {chat_id}, got:\n{lines}"
            raise AssertionError(msg)

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
                lines.append(f"  [{index}] {describe(record)}{mark}")
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

    def _send_message(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any]:
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        key = chat_key(params["chat_id"])
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        text = self._render_message_text(params, "message text is empty")
        markup = params.get("reply_markup")
        message = self._bot_message(key, text=text, **self._thread_of(params))
        stored = self._store_bot_message(key, message, raw, parse_mode, markup)
        self._record("sendMessage", key, stored)
        return message

    def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        key, stored = self._target(params)
        raw, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        text = self._render_message_text(params, "text must be non-empty")
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        markup = inline_markup(params.get("reply_markup"))
        message = stored.api_message
        if (
            text == message.get("text")
            and raw == stored.raw_text
            and markup == inline_markup(stored.reply_markup)
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
        markup = inline_markup(params.get("reply_markup"))
        if markup == inline_markup(stored.reply_markup):
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
        key = chat_key(params.get("chat_id", 0))
        stored = self._messages.get((key, int(params.get("message_id", 0))))
        if stored is None or stored.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        stored.deleted = True
        self._notify_activity()
        return True
