"""Settings in the chat: language and each kind of reminder on or off."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram_i18n import I18nContext

from bot.clock import Clock
from bot.handlers.filters import MenuButton
from bot.keyboards.callbacks import LanguageCb, ReminderToggleCb
from bot.storage.chats import REMINDER_KINDS, ChatRepository


async def render_settings(
    chat_id: int, i18n: I18nContext, chats: ChatRepository
) -> tuple[str, InlineKeyboardMarkup]:
    chat = await chats.get(chat_id)
    builder = InlineKeyboardBuilder()
    for kind in REMINDER_KINDS:
        enabled = getattr(chat, f"remind_{kind}") if chat else True
        builder.button(
            text=i18n.get(f"settings-remind-{kind}", on=str(enabled).lower()),
            callback_data=ReminderToggleCb(kind=kind),
        )
    other = "en" if i18n.locale == "ru" else "ru"
    builder.button(text=i18n.get("settings-language"), callback_data=LanguageCb(locale=other))
    builder.adjust(1)
    return i18n.get("settings-title"), builder.as_markup()


def get_router() -> Router:
    router = Router(name="settings")

    @router.message(Command("settings"))
    @router.message(MenuButton("menu-settings"))
    async def settings(
        message: Message, state: FSMContext, i18n: I18nContext, chats: ChatRepository
    ) -> None:
        await state.clear()
        text, markup = await render_settings(message.chat.id, i18n, chats)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(ReminderToggleCb.filter())
    async def toggle(
        query: CallbackQuery,
        callback_data: ReminderToggleCb,
        i18n: I18nContext,
        chats: ChatRepository,
        clock: Clock,
    ) -> None:
        await query.answer()
        if not isinstance(query.message, Message) or callback_data.kind not in REMINDER_KINDS:
            return
        chat_id = query.message.chat.id
        await chats.ensure(chat_id, clock.now())
        chat = await chats.get(chat_id)
        enabled = getattr(chat, f"remind_{callback_data.kind}")
        await chats.set_reminder(chat_id, callback_data.kind, not enabled)
        text, markup = await render_settings(chat_id, i18n, chats)
        await query.message.edit_text(text, reply_markup=markup)

    return router
