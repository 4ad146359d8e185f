"""Commands and menu buttons that work from anywhere, in any state: they leave the flow."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.fsm.linking import LinkAccount
from bot.fsm.submission import Submission
from bot.handlers.filters import InPrivateChat, LooksLikeCommand, MenuButton
from bot.handlers.replies import answer_query
from bot.keyboards.callbacks import LanguageCb
from bot.keyboards.menu import language_keyboard, main_menu
from bot.rendering import kept_text
from bot.services.accounts import AccountsService
from bot.services.walk import SubmissionWalk


async def show_menu(message: Message, i18n: I18nContext, accounts: AccountsService) -> None:
    if await accounts.has_any(message.chat.id):
        await message.answer(i18n.get("menu-shown"), reply_markup=main_menu(i18n))
    else:
        await message.answer(i18n.get("menu-not-linked"))


def window_days(i18n: I18nContext, start_day: int, end_day: int) -> str:
    """'from the 15th to the 3rd of the next month' / 'с 15-го по 3-е число следующего месяца'."""
    return i18n.get(
        "window-days",
        start=i18n.get("window-day-from", day=start_day),
        end=i18n.get("window-day-until", day=end_day),
        next="yes" if end_day < start_day else "no",
    )


async def start(
    message: Message, state: FSMContext, i18n: I18nContext, accounts: AccountsService
) -> None:
    await state.clear()
    name = html.escape(message.from_user.first_name) if message.from_user else "none"
    if await accounts.has_any(message.chat.id):
        await message.answer(i18n.get("start-linked", name=name), reply_markup=main_menu(i18n))
        return
    await message.answer(i18n.get("start-welcome", name=name))
    await message.answer(i18n.get("link-ask-account"))
    await state.set_state(LinkAccount.account_number)


async def help_(message: Message, state: FSMContext, i18n: I18nContext, settings: Settings) -> None:
    await state.clear()
    window = window_days(i18n, settings.window_start_day, settings.window_end_day)
    await message.answer(
        i18n.get(
            "help-text",
            support=settings.support_contact,
            window=window,
            hours=settings.appeal_sla_hours,
        )
    )


async def cancel(
    message: Message, state: FSMContext, i18n: I18nContext, accounts: AccountsService
) -> None:
    current = await state.get_state()
    had_state = current is not None
    walk = SubmissionWalk.from_data(await state.get_data()) if current in Submission else None
    kept = kept_text(i18n, walk)
    await state.clear()
    if kept:  # a walk left half-done: the meters already confirmed stay (SPEC §6)
        await message.answer(i18n.get("cancelled-kept") + "\n\n" + kept)
    else:
        await message.answer(i18n.get("cancelled" if had_state else "nothing-to-cancel"))
    await show_menu(message, i18n, accounts)


async def language(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    await state.clear()
    await message.answer(i18n.get("language-choose"), reply_markup=language_keyboard())


async def language_chosen(
    query: CallbackQuery,
    callback_data: LanguageCb,
    i18n: I18nContext,
    accounts: AccountsService,
) -> None:
    await answer_query(query)
    if callback_data.locale not in i18n.core.available_locales:
        return
    await i18n.set_locale(callback_data.locale)
    if isinstance(query.message, Message):
        linked = await accounts.has_any(query.message.chat.id)
        await query.message.answer(
            i18n.get("language-set"), reply_markup=main_menu(i18n) if linked else None
        )


async def unknown_command(message: Message, i18n: I18nContext, accounts: AccountsService) -> None:
    await message.answer(i18n.get("unknown-command"))
    await show_menu(message, i18n, accounts)


async def unknown_text(message: Message, i18n: I18nContext, accounts: AccountsService) -> None:
    await message.answer(i18n.get("unknown-text"))
    await show_menu(message, i18n, accounts)


async def edited(message: Message, i18n: I18nContext) -> None:
    """An edit of a message already read (a value, an appeal's text): nothing follows it."""
    await message.answer(i18n.get("edit-not-read"))


async def stale_button(query: CallbackQuery, i18n: I18nContext) -> None:
    await answer_query(query, i18n.get("button-stale"))


def get_router() -> Router:
    router = Router(name="common")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(help_, MenuButton("menu-help"))
    router.message.register(cancel, Command("cancel"))
    router.message.register(language, Command("language"))
    router.callback_query.register(language_chosen, LanguageCb.filter())
    return router


def get_fallback_router() -> Router:
    """Last in line: whatever nobody else understood."""
    router = Router(name="fallback")
    router.message.register(unknown_command, LooksLikeCommand())
    router.message.register(unknown_text)
    router.callback_query.register(stale_button)
    router.edited_message.register(edited, InPrivateChat())
    return router
