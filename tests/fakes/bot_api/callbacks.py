"""Inline buttons: a resident presses one (a callback query), the bot answers it."""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.bot_api.core import FakeState, button_texts, inline_markup
from tests.fakes.bot_api.wire import ApiError, UploadedFile, chat_key


class Callbacks(FakeState):
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
        key = chat_key(chat_id)
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
        key = chat_key(chat_id)
        if message is None:
            with_keyboard = [
                record
                for record in self._sent.get(key, [])
                if inline_markup(self._current(key, record["message_id"]).reply_markup)
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
        markup = inline_markup(stored.reply_markup) or {"inline_keyboard": []}
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

    @staticmethod
    def buttons(message: dict[str, Any]) -> list[str]:
        return button_texts(message)

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
