"""/accounts (list, switch, unlink, add) and /forget (SPEC §5.6)."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.keyboard import InlineKeyboardBuilder
from aiogram_i18n import I18nContext

from bot.domain.models import Account
from bot.handlers.filters import MenuButton
from bot.handlers.linking import ask_account
from bot.i18n import ChatLocaleManager
from bot.keyboards.callbacks import AccountCb, ForgetCb
from bot.storage.chats import ChatRepository, LinkRepository
from bot.storage.fsm import SqliteStorage


def _describe(account: Account) -> str:
    address = f" — {html.escape(account.address)}" if account.address else ""
    return f"<b>{account.number}</b>{address}"


async def render_accounts(
    chat_id: int, i18n: I18nContext, links: LinkRepository, chats: ChatRepository
) -> tuple[str, object]:
    accounts = await links.accounts_of(chat_id)
    builder = InlineKeyboardBuilder()
    if not accounts:
        builder.button(text=i18n.get("accounts-add"), callback_data=AccountCb(action="add"))
        return i18n.get("accounts-none"), builder.as_markup()
    chat = await chats.get(chat_id)
    current = chat.current_account_id if chat else None
    lines = [i18n.get("accounts-title")]
    for account in accounts:
        mark = "✅ " if account.id == current else "▫️ "
        lines.append(mark + _describe(account))
        if account.id != current:
            builder.button(
                text=i18n.get("accounts-switch", account=account.number),
                callback_data=AccountCb(action="switch", account_id=account.id),
            )
        builder.button(
            text=i18n.get("accounts-unlink", account=account.number),
            callback_data=AccountCb(action="unlink", account_id=account.id),
        )
    builder.button(text=i18n.get("accounts-add"), callback_data=AccountCb(action="add"))
    builder.adjust(1)
    return "\n".join(lines), builder.as_markup()


def get_router() -> Router:
    router = Router(name="accounts")

    @router.message(Command("accounts"))
    @router.message(MenuButton("menu-accounts"))
    async def accounts(
        message: Message,
        state: FSMContext,
        i18n: I18nContext,
        links: LinkRepository,
        chats: ChatRepository,
    ) -> None:
        await state.clear()
        text, markup = await render_accounts(message.chat.id, i18n, links, chats)
        await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]

    @router.callback_query(AccountCb.filter(F.action == "add"))
    async def add(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await ask_account(query.message, state, i18n)

    @router.callback_query(AccountCb.filter(F.action == "switch"))
    async def switch(
        query: CallbackQuery,
        callback_data: AccountCb,
        state: FSMContext,
        i18n: I18nContext,
        links: LinkRepository,
        chats: ChatRepository,
    ) -> None:
        await query.answer()
        if not isinstance(query.message, Message):
            return
        chat_id = query.message.chat.id
        if not await links.is_linked(chat_id, callback_data.account_id):
            return
        await state.clear()  # a half-done submission belonged to the other account
        await chats.set_current_account(chat_id, callback_data.account_id)
        text, markup = await render_accounts(chat_id, i18n, links, chats)
        await query.message.answer(text, reply_markup=markup)  # type: ignore[arg-type]

    @router.callback_query(AccountCb.filter(F.action == "unlink"))
    async def unlink_ask(
        query: CallbackQuery, callback_data: AccountCb, i18n: I18nContext, links: LinkRepository
    ) -> None:
        await query.answer()
        if not isinstance(query.message, Message):
            return
        accounts = {a.id: a for a in await links.accounts_of(query.message.chat.id)}
        account = accounts.get(callback_data.account_id)
        if account is None:
            return
        builder = InlineKeyboardBuilder()
        builder.button(
            text=i18n.get("accounts-unlink-yes"),
            callback_data=AccountCb(action="unlink_yes", account_id=account.id),
        )
        builder.button(
            text=i18n.get("accounts-unlink-no"),
            callback_data=AccountCb(action="unlink_no", account_id=account.id),
        )
        await query.message.answer(
            i18n.get("accounts-unlink-confirm", account=account.number),
            reply_markup=builder.as_markup(),
        )

    @router.callback_query(AccountCb.filter(F.action == "unlink_yes"))
    async def unlink(
        query: CallbackQuery,
        callback_data: AccountCb,
        state: FSMContext,
        i18n: I18nContext,
        links: LinkRepository,
        chats: ChatRepository,
    ) -> None:
        await query.answer()
        if not isinstance(query.message, Message):
            return
        chat_id = query.message.chat.id
        await state.clear()
        await links.unlink(chat_id, callback_data.account_id)
        remaining = await links.accounts_of(chat_id)
        await query.message.edit_text(i18n.get("accounts-unlinked"))
        if remaining:
            text, markup = await render_accounts(chat_id, i18n, links, chats)
            await query.message.answer(text, reply_markup=markup)  # type: ignore[arg-type]
        else:
            await query.message.answer(
                i18n.get("accounts-none-left"), reply_markup=ReplyKeyboardRemove()
            )

    @router.callback_query(AccountCb.filter(F.action == "unlink_no"))
    async def unlink_cancelled(query: CallbackQuery, i18n: I18nContext) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(i18n.get("accounts-unlink-kept"))

    @router.message(Command("forget"))
    async def forget_ask(message: Message, state: FSMContext, i18n: I18nContext) -> None:
        await state.clear()
        builder = InlineKeyboardBuilder()
        builder.button(text=i18n.get("forget-yes"), callback_data=ForgetCb(confirm=True))
        builder.button(text=i18n.get("forget-no"), callback_data=ForgetCb(confirm=False))
        await message.answer(i18n.get("forget-confirm"), reply_markup=builder.as_markup())

    @router.callback_query(ForgetCb.filter(F.confirm))
    async def forget(
        query: CallbackQuery,
        state: FSMContext,
        i18n: I18nContext,
        chats: ChatRepository,
        fsm_storage: SqliteStorage,
        locales: ChatLocaleManager,
    ) -> None:
        await query.answer()
        if not isinstance(query.message, Message):
            return
        chat_id = query.message.chat.id
        await state.clear()
        await chats.forget(chat_id)
        fsm_storage.forget_chat(chat_id)
        locales.forget(chat_id)
        await query.message.edit_text(i18n.get("forget-done"))
        await query.message.answer(i18n.get("forget-bye"), reply_markup=ReplyKeyboardRemove())

    @router.callback_query(ForgetCb.filter(~F.confirm))
    async def forget_cancelled(query: CallbackQuery, i18n: I18nContext) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(i18n.get("forget-kept"))

    return router
