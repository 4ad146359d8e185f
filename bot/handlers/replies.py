"""Small ways of answering that several handler modules share (no router here)."""

from __future__ import annotations

import contextlib

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram_i18n import I18nContext

from bot.domain.models import Account
from bot.fsm.linking import LinkAccount
from bot.services.submissions import SubmissionService


def chat_id_of(query: CallbackQuery) -> int:
    return query.message.chat.id if query.message is not None else query.from_user.id


def message_id_of(query: CallbackQuery) -> int | None:
    return query.message.message_id if query.message is not None else None


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Answer first; a failed answer (expired query, Telegram 5xx, a timeout) only leaves the
    button's spinner on, which is no reason to drop what the press asked for."""
    with contextlib.suppress(TelegramAPIError):
        await query.answer(text)


async def edit_or_send(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    if message_id is not None:
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
    await bot.send_message(chat_id, text, reply_markup=markup)


async def edit_pressed(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the text of the message whose button was pressed; pressed twice (not
    modified) it stays, gone (not found) the text comes as a new message."""
    if query.message is not None and query.bot is not None:
        message = query.message
        await edit_or_send(query.bot, message.chat.id, message.message_id, text, reply_markup)


async def current_account_or_explain(
    message: Message, i18n: I18nContext, submissions: SubmissionService
) -> Account | None:
    """The chat's current account; None after telling a chat with no account how to link one."""
    account = await submissions.account_of_chat(message.chat.id)
    if account is None:
        await message.answer(i18n.get("menu-not-linked"))
    return account


async def ask_account(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    """Start linking (or linking one more account): ask for the account number."""
    await state.set_state(LinkAccount.account_number)
    await message.answer(i18n.get("link-ask-account"))
