"""/broadcast for operators (SPEC §8): text → preview and recipient count → confirm → send.

Only ADMIN_IDS pass the router's filter; anyone else falls through to "unknown command".
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.fsm.broadcast import BroadcastForm
from bot.handlers.filters import HasText, IsAdmin, LooksLikeCommand
from bot.handlers.replies import answer_query
from bot.keyboards.broadcast import broadcast_confirm_keyboard
from bot.keyboards.callbacks import BroadcastCb
from bot.services.broadcasts import BroadcastService

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            log.warning("could not edit the broadcast message: %s", exc.message)
    except TelegramAPIError as exc:
        log.warning("could not edit the broadcast message: %s", type(exc).__name__)


async def ask_text(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    await state.clear()
    await state.set_state(BroadcastForm.text)
    await message.answer(i18n.get("broadcast-ask"))


async def preview(
    message: Message, state: FSMContext, i18n: I18nContext, broadcasts: BroadcastService
) -> None:
    length = len(message.text or "")  # Telegram counts the text, not the HTML markup
    if length > MAX_TEXT:
        await message.answer(i18n.get("broadcast-too-long", length=length))
        return
    text = message.html_text
    count = await broadcasts.count_recipients()
    if count == 0:
        await state.clear()
        await message.answer(i18n.get("broadcast-no-recipients"))
        return
    await state.update_data(text=text)
    await state.set_state(BroadcastForm.confirm)
    await message.answer(text)  # exactly what residents will get
    question = await message.answer(
        i18n.get("broadcast-preview-above", count=count),
        reply_markup=broadcast_confirm_keyboard(i18n),
    )
    # only this preview's buttons act: an older one's Send would send this text
    await state.update_data(question_id=question.message_id)


async def _current(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> Message | None:
    """The preview's question the button is on, if it is the latest preview's; an older
    preview's question is told it is out of date (None)."""
    if not isinstance(query.message, Message):
        return None
    latest = (await state.get_data()).get("question_id")  # None: a preview from before it
    if latest is not None and query.message.message_id != latest:
        await _edit(query.message, i18n.get("broadcast-preview-stale"))
        return None
    return query.message


async def not_text(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("broadcast-text-only"))


async def confirm(
    query: CallbackQuery,
    state: FSMContext,
    i18n: I18nContext,
    broadcasts: BroadcastService,
) -> None:
    await answer_query(query)
    progress = await _current(query, state, i18n)
    text = (await state.get_data()).get("text")
    if progress is None or not text:
        return
    await state.clear()
    campaign_id = await broadcasts.create(
        text,
        admin_chat_id=progress.chat.id,
        progress_message_id=progress.message_id,
        locale=i18n.locale,
    )
    total = await broadcasts.count_recipients()
    # the confirmation message becomes the progress message
    await _edit(
        progress,
        i18n.get(
            "broadcast-progress",
            campaign=campaign_id.removeprefix("broadcast:"),
            sent=0,
            total=total,
            failed=0,
        ),
    )
    broadcasts.launch(campaign_id)


async def cancel(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
    await answer_query(query)
    question = await _current(query, state, i18n)
    if question is not None:
        await state.clear()
        await _edit(question, i18n.get("broadcast-cancelled"))


def get_router() -> Router:
    router = Router(name="broadcast")
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())
    router.message.register(ask_text, Command("broadcast"))
    asking_text, confirming = StateFilter(BroadcastForm.text), StateFilter(BroadcastForm.confirm)
    router.message.register(preview, asking_text, HasText(), LooksLikeCommand(False))
    router.message.register(not_text, asking_text, LooksLikeCommand(False))
    router.callback_query.register(confirm, BroadcastCb.filter(F.action == "send"), confirming)
    router.callback_query.register(cancel, BroadcastCb.filter(F.action == "cancel"), confirming)
    return router
