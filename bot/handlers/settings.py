"""Settings in the chat: language and each kind of reminder on or off."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram_i18n import I18nContext

from bot.handlers.filters import MenuButton
from bot.handlers.replies import answer_query, edit_pressed
from bot.keyboards.callbacks import ReminderToggleCb
from bot.keyboards.settings import settings_keyboard
from bot.services.chat_settings import ChatSettingsService


async def render_settings(
    chat_id: int, i18n: I18nContext, chat_settings: ChatSettingsService
) -> tuple[str, InlineKeyboardMarkup]:
    reminders = await chat_settings.reminders(chat_id)
    other = "en" if i18n.locale == "ru" else "ru"
    return i18n.get("settings-title"), settings_keyboard(i18n, reminders, other)


async def show_settings(
    message: Message, state: FSMContext, i18n: I18nContext, chat_settings: ChatSettingsService
) -> None:
    await state.clear()
    text, markup = await render_settings(message.chat.id, i18n, chat_settings)
    await message.answer(text, reply_markup=markup)


async def toggle(
    query: CallbackQuery,
    callback_data: ReminderToggleCb,
    i18n: I18nContext,
    chat_settings: ChatSettingsService,
) -> None:
    if not isinstance(query.message, Message):
        await answer_query(query)
        return
    chat_id = query.message.chat.id
    if not await chat_settings.toggle_reminder(chat_id, callback_data.kind):
        await answer_query(query, i18n.get("button-stale"))  # no such kind: a crafted button
        return
    await answer_query(query)
    text, markup = await render_settings(chat_id, i18n, chat_settings)
    await edit_pressed(query, text, reply_markup=markup)


def get_router() -> Router:
    router = Router(name="settings")
    router.message.register(show_settings, Command("settings"))
    router.message.register(show_settings, MenuButton("menu-settings"))
    router.callback_query.register(toggle, ReminderToggleCb.filter())
    return router
