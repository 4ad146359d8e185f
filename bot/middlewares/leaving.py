"""Per-update wiring: a submission walk left by another command says what it kept (SPEC §6)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Chat, TelegramObject, Update
from aiogram_i18n import I18nContext

from bot.fsm.submission import Submission
from bot.handlers.filters import ConversationInput
from bot.handlers.submit import kept_text
from bot.keyboards.submission import SubmitStepCb

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

_STEP_PREFIX = SubmitStepCb.__prefix__ + SubmitStepCb.__separator__


class WalkLeftMiddleware(BaseMiddleware):
    """After a menu button, a command or another conversation's button ended a walk in which
    meters were already confirmed, tells the resident which (their readings stay saved).

    Menu handlers only clear the state; this is the one place that notices a walk was left,
    whoever left it. The flow's own steps and /cancel say it in their own answers, and typed
    values never leave the flow, so they pass untouched (the monthly rush is typed values).
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        i18n: I18nContext | None = data.get("i18n")
        if (
            state is None
            or i18n is None
            or data.get("raw_state") not in Submission
            or not isinstance(event, Update)
            or await _told_by_the_flow(event, i18n)
        ):
            return await handler(event, data)
        before = await state.get_data()
        saved = before.get("saved") or []
        if not saved:
            return await handler(event, data)
        result = await handler(event, data)
        after = await state.get_data() if await state.get_state() in Submission else {}
        if (after.get("saved") or [])[: len(saved)] != saved:  # this walk is over
            bot: Bot | None = data.get("bot")
            chat: Chat | None = data.get("event_chat")
            kept = kept_text(i18n, before)
            if bot is not None and chat is not None and kept:
                await bot.send_message(chat.id, i18n.get("submit-left") + "\n\n" + kept)
        return result


async def _told_by_the_flow(update: Update, i18n: I18nContext) -> bool:
    """Updates whose handlers tell what was kept themselves, or never leave the walk."""
    if update.callback_query is not None:
        return (update.callback_query.data or "").startswith(_STEP_PREFIX)
    message = update.message
    if message is None:
        return True  # edited messages and the like touch no conversation
    text = message.text or message.caption
    if text is None:
        return True  # a sticker, a photo: asked again
    if text.split(maxsplit=1)[0].split("@")[0] == "/cancel":
        return True
    return message.text is not None and await ConversationInput()(message, i18n)
