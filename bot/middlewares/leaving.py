"""Per-update wiring: a submission walk left by another command says what it kept (SPEC §6)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import Chat, TelegramObject, Update
from aiogram_i18n import I18nContext

from bot.fsm.submission import Submission
from bot.keyboards.callbacks import SubmitStepCb
from bot.keyboards.menu import MENU_KEYS
from bot.rendering import kept_text
from bot.services.walk import SubmissionWalk

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_STEP_PREFIX = SubmitStepCb.__prefix__ + SubmitStepCb.__separator__
_WALK_STATES = frozenset(Submission.__all_states_names__)


class WalkLeftMiddleware(BaseMiddleware):
    """After a menu button, a command or another conversation's button ended a walk in which
    meters were already confirmed, tells the resident which (their readings stay saved).

    Menu handlers only clear the state; this is the one place that notices a walk was left,
    whoever left it. The flow's own steps and /cancel say it in their own answers, and typed
    values never leave the flow, so they pass after a few string checks (~2 µs: the monthly
    rush is typed values).
    """

    def __init__(self) -> None:
        self._menu_texts: dict[int, frozenset[str]] = {}  # by id of the translations core

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("raw_state") not in _WALK_STATES:
            return await handler(event, data)
        state: FSMContext | None = data.get("state")
        i18n: I18nContext | None = data.get("i18n")
        if state is None or i18n is None or self._told_by_the_flow(event, i18n):
            return await handler(event, data)
        before = SubmissionWalk.from_data(await state.get_data())
        if before is None or not before.kept:
            return await handler(event, data)
        result = await handler(event, data)
        if not await _still_going(state, before):
            bot: Bot | None = data.get("bot")
            chat: Chat | None = data.get("event_chat")
            kept = kept_text(i18n, before)
            if bot is not None and chat is not None and kept:
                try:
                    await bot.send_message(chat.id, i18n.get("submit-left") + "\n\n" + kept)
                except TelegramAPIError as exc:  # the command itself was answered: no error
                    log.warning("could not tell which readings a left walk kept: %s", exc)
        return result

    def _told_by_the_flow(self, event: TelegramObject, i18n: I18nContext) -> bool:
        """Updates whose handlers tell what was kept themselves, or never leave the walk."""
        if not isinstance(event, Update):
            return True
        if event.callback_query is not None:
            return (event.callback_query.data or "").startswith(_STEP_PREFIX)
        message = event.message
        if message is None:
            return True  # edited messages and the like touch no conversation
        text = message.text or message.caption
        if text is None:
            return True  # a sticker, a photo: asked again
        if text.startswith("/"):
            return text.split(maxsplit=1)[0].split("@")[0] == "/cancel"
        return message.text is not None and text not in self._menu(i18n)

    def _menu(self, i18n: I18nContext) -> frozenset[str]:
        core = i18n.core
        texts = self._menu_texts.get(id(core))
        if texts is None:
            texts = frozenset(
                core.get(key, locale)
                for row in MENU_KEYS
                for key in row
                for locale in core.available_locales
            )
            self._menu_texts[id(core)] = texts
        return texts


async def _still_going(state: FSMContext, before: SubmissionWalk) -> bool:
    """Is the walk `before` still the one in the FSM (a walk whose kept readings begin alike)?"""
    if await state.get_state() not in _WALK_STATES:
        return False
    after = SubmissionWalk.from_data(await state.get_data())
    return after is not None and after.kept[: len(before.kept)] == before.kept
