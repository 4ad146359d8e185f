"""Updates: what a resident does (text, a contact, any raw update), queued until getUpdates
takes them and an offset confirms them, as in Telegram."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tests.fakes.bot_api.core import MAX_LONG_POLL_SECONDS, FakeState
from tests.fakes.bot_api.webhook import GET_UPDATES_CONFLICT
from tests.fakes.bot_api.wire import ApiError, UploadedFile, utf16_len


class Updates(FakeState):
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
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
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

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates pushed and not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    async def _get_updates(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> list[dict[str, Any]]:
        if self._webhook.get("url"):
            raise ApiError(409, GET_UPDATES_CONFLICT)
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
