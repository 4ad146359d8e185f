"""/accounts (list, switch, unlink, add) and /forget (SPEC §5.6)."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram_i18n import I18nContext

from bot.domain.models import Account
from bot.handlers.filters import MenuButton
from bot.handlers.replies import answer_query, ask_account, edit_pressed
from bot.keyboards.accounts import accounts_keyboard, forget_keyboard, unlink_keyboard
from bot.keyboards.callbacks import AccountCb, ForgetCb
from bot.services.accounts import AccountsService, ChatAccounts


def _describe(account: Account) -> str:
    address = f" — {html.escape(account.address)}" if account.address else ""
    return f"<b>{account.number}</b>{address}"


def render_accounts(i18n: I18nContext, linked: ChatAccounts) -> tuple[str, InlineKeyboardMarkup]:
    markup = accounts_keyboard(i18n, linked.accounts, linked.current_id)
    if not linked.accounts:
        return i18n.get("accounts-none"), markup
    lines = [i18n.get("accounts-title")]
    for account in linked.accounts:
        mark = "✅ " if account.id == linked.current_id else "▫️ "
        lines.append(mark + _describe(account))
    return "\n".join(lines), markup


async def show_accounts(
    message: Message, state: FSMContext, i18n: I18nContext, accounts: AccountsService
) -> None:
    await state.clear()
    text, markup = render_accounts(i18n, await accounts.of_chat(message.chat.id))
    await message.answer(text, reply_markup=markup)


async def add(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
    await answer_query(query)
    if isinstance(query.message, Message):
        await ask_account(query.message, state, i18n)


async def switch(
    query: CallbackQuery,
    callback_data: AccountCb,
    state: FSMContext,
    i18n: I18nContext,
    accounts: AccountsService,
) -> None:
    if not isinstance(query.message, Message):
        await answer_query(query)
        return
    chat_id = query.message.chat.id
    if not await accounts.switch(chat_id, callback_data.account_id):
        await answer_query(query, i18n.get("button-stale"))  # not linked (any more)
        return
    await answer_query(query)
    await state.clear()  # a half-done submission belonged to the other account
    text, markup = render_accounts(i18n, await accounts.of_chat(chat_id))
    await query.message.answer(text, reply_markup=markup)


async def unlink_ask(
    query: CallbackQuery, callback_data: AccountCb, i18n: I18nContext, accounts: AccountsService
) -> None:
    if not isinstance(query.message, Message):
        await answer_query(query)
        return
    account = await accounts.linked_account(query.message.chat.id, callback_data.account_id)
    if account is None:
        await answer_query(query, i18n.get("button-stale"))  # not linked (any more)
        return
    await answer_query(query)
    await query.message.answer(
        i18n.get("accounts-unlink-confirm", account=account.number),
        reply_markup=unlink_keyboard(i18n, account.id),
    )


async def unlink(
    query: CallbackQuery,
    callback_data: AccountCb,
    state: FSMContext,
    i18n: I18nContext,
    accounts: AccountsService,
) -> None:
    if not isinstance(query.message, Message):
        await answer_query(query)
        return
    chat_id = query.message.chat.id
    if await accounts.linked_account(chat_id, callback_data.account_id) is None:
        await answer_query(query, i18n.get("button-stale"))  # unlinked already, or never
        return
    await answer_query(query)
    await state.clear()
    remaining = await accounts.unlink(chat_id, callback_data.account_id)
    await edit_pressed(query, i18n.get("accounts-unlinked"))
    if remaining:
        text, markup = render_accounts(i18n, await accounts.of_chat(chat_id))
        await query.message.answer(text, reply_markup=markup)
    else:
        await query.message.answer(
            i18n.get("accounts-none-left"), reply_markup=ReplyKeyboardRemove()
        )


async def unlink_cancelled(query: CallbackQuery, i18n: I18nContext) -> None:
    await answer_query(query)
    if isinstance(query.message, Message):
        await edit_pressed(query, i18n.get("accounts-unlink-kept"))


async def forget_ask(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    await state.clear()
    await message.answer(i18n.get("forget-confirm"), reply_markup=forget_keyboard(i18n))


async def forget(
    query: CallbackQuery, state: FSMContext, i18n: I18nContext, accounts: AccountsService
) -> None:
    await answer_query(query)
    if not isinstance(query.message, Message):
        return
    await state.clear()
    await accounts.forget(query.message.chat.id)
    await edit_pressed(query, i18n.get("forget-done"))
    await query.message.answer(i18n.get("forget-bye"), reply_markup=ReplyKeyboardRemove())


async def forget_cancelled(query: CallbackQuery, i18n: I18nContext) -> None:
    await answer_query(query)
    if isinstance(query.message, Message):
        await edit_pressed(query, i18n.get("forget-kept"))


def get_router() -> Router:
    router = Router(name="accounts")
    router.message.register(show_accounts, Command("accounts"))
    router.message.register(show_accounts, MenuButton("menu-accounts"))
    router.callback_query.register(add, AccountCb.filter(F.action == "add"))
    router.callback_query.register(switch, AccountCb.filter(F.action == "switch"))
    router.callback_query.register(unlink_ask, AccountCb.filter(F.action == "unlink"))
    router.callback_query.register(unlink, AccountCb.filter(F.action == "unlink_yes"))
    router.callback_query.register(unlink_cancelled, AccountCb.filter(F.action == "unlink_no"))
    router.message.register(forget_ask, Command("forget"))
    router.callback_query.register(forget, ForgetCb.filter(F.confirm))
    router.callback_query.register(forget_cancelled, ForgetCb.filter(~F.confirm))
    return router
