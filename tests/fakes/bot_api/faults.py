"""Faults a test injects: the next calls of a method fail or answer late, or a resident
blocks the bot."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.bot_api.core import Delay, FakeState, Fault
from tests.fakes.bot_api.wire import ApiError, chat_key


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if error_code == 403:
        return "Forbidden: bot was blocked by the user"
    if error_code == 400:
        return "Bad Request: chat not found"
    return "Internal Server Error"


class Faults(FakeState):
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
            Fault(
                method=method.lower(),
                chat_id=None if chat_id is None else chat_key(chat_id),
                error_code=error_code,
                description=description or _default_description(error_code, retry_after),
                retry_after=retry_after,
                times=times,
            )
        )

    def delay_next(self, method: str, seconds: float, chat_id: int | str | None = None) -> None:
        """Answer the next call of ``method`` (to ``chat_id``, if given) ``seconds`` late: an
        update still in hand while the test does something (stops the bot, say)."""
        key = None if chat_id is None else chat_key(chat_id)
        self._delays.append(Delay(method.lower(), key, seconds))

    async def _apply_delays(self, method: str, params: dict[str, Any]) -> None:
        chat = params.get("chat_id")
        target = None if chat is None else chat_key(chat)
        for delay in self._delays:
            if delay.method == method.lower() and delay.chat_id in (None, target):
                self._delays.remove(delay)
                await asyncio.sleep(delay.seconds)
                return

    def block(self, chat_id: int | str) -> None:
        """The resident blocks the bot: every call to the chat is a 403 until they write again."""
        self._blocked.add(chat_key(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        self._blocked.discard(chat_key(chat_id))

    def _apply_faults(self, method: str, params: dict[str, Any]) -> None:
        chat = params.get("chat_id")
        target = None if chat is None else chat_key(chat)
        for fault in self._faults:
            if fault.method != method.lower():
                continue
            if fault.chat_id is not None and fault.chat_id != target:
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise ApiError(fault.error_code, fault.description, fault.retry_after)
        if target is not None and target in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
