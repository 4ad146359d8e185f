"""/broadcast for operators (SPEC §8): text → preview and recipient count → confirm → send.

Only ADMIN_IDS pass the router's filter; anyone else falls through to "unknown command".
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, User
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.fsm.broadcast import BroadcastForm
from bot.services.broadcasts import BroadcastService

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message


class BroadcastCb(CallbackData, prefix="bcast"):
    action: str  # "send" | "cancel"


class IsAdmin(Filter):
    """The update comes from one of ADMIN_IDS."""

    async def __call__(
        self, event: TelegramObject, settings: Settings, event_from_user: User | None = None
    ) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids


def _confirm_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n.get("broadcast-confirm"), callback_data=BroadcastCb(action="send"))
    builder.button(text=i18n.get("broadcast-cancel"), callback_data=BroadcastCb(action="cancel"))
    return builder.as_markup()


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest as exc:
        if "message is not modified" not in exc.message:
            log.warning("could not edit the broadcast message: %s", exc.message)
    except TelegramAPIError as exc:
        log.warning("could not edit the broadcast message: %s", type(exc).__name__)


def get_router() -> Router:
    router = Router(name="broadcast")
    router.message.filter(IsAdmin())
    router.callback_query.filter(IsAdmin())

    @router.message(Command("broadcast"))
    async def ask_text(message: Message, state: FSMContext, i18n: I18nContext) -> None:
        await state.clear()
        await state.set_state(BroadcastForm.text)
        await message.answer(i18n.get("broadcast-ask"))

    @router.message(BroadcastForm.text, F.text, ~F.text.startswith("/"))
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
        await message.answer(
            i18n.get("broadcast-preview-above", count=count), reply_markup=_confirm_keyboard(i18n)
        )

    @router.message(BroadcastForm.text, ~F.text.startswith("/"))
    async def not_text(message: Message, i18n: I18nContext) -> None:
        await message.answer(i18n.get("broadcast-text-only"))

    @router.callback_query(BroadcastCb.filter(F.action == "send"), BroadcastForm.confirm)
    async def confirm(
        query: CallbackQuery,
        state: FSMContext,
        i18n: I18nContext,
        broadcasts: BroadcastService,
    ) -> None:
        await query.answer()
        text = (await state.get_data()).get("text")
        await state.clear()
        if not isinstance(query.message, Message) or not text:
            return
        progress = query.message
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

    @router.callback_query(BroadcastCb.filter(F.action == "cancel"), BroadcastForm.confirm)
    async def cancel(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
        await query.answer()
        await state.clear()
        if isinstance(query.message, Message):
            await _edit(query.message, i18n.get("broadcast-cancelled"))

    return router
