"""Linking a chat to an account: account number → phone → SMS code (SPEC §5)."""

from __future__ import annotations

import html
import logging
import re

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.clock import Clock
from bot.config import Settings
from bot.domain import otp
from bot.domain.phone import InvalidPhone, normalize_phone
from bot.fsm.linking import LinkAccount
from bot.handlers.filters import HasText, SharesContact
from bot.handlers.replies import answer_query, ask_account
from bot.i18n import ChatLocaleManager
from bot.keyboards.callbacks import LinkCb
from bot.keyboards.linking import code_keyboard, phone_keyboard
from bot.keyboards.menu import main_menu
from bot.services.linking import CodeSent, Linked, LinkingService

log = logging.getLogger(__name__)
_ACCOUNT_SEPARATORS = re.compile(r"[\s\-]+")


async def _request_code(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    linking: LinkingService,
    settings: Settings,
) -> None:
    """Ask for a code for the number and phone in the state and tell the resident the outcome."""
    data = await state.get_data()
    if "account" not in data:  # a stale button: ask for what is missing
        await ask_account(message, state, i18n)
        return
    if "phone" not in data:
        await state.set_state(LinkAccount.phone)
        await message.answer(i18n.get("link-ask-phone"), reply_markup=phone_keyboard(i18n))
        return
    bot_name = i18n.get("sms-bot-name")
    outcome = await linking.request_code(
        message.chat.id,
        data["account"],
        data["phone"],
        compose=lambda code: i18n.get("sms-code-text", code=code, bot=bot_name),
    )
    support = settings.support_contact
    match outcome:
        case CodeSent():
            await state.set_state(LinkAccount.code)
            await message.answer(
                i18n.get("link-code-sent", support=support), reply_markup=code_keyboard(i18n)
            )
        case otp.ResendTooSoon(retry_in_seconds=seconds):
            # the same buttons, so the resident can press "send again" once the wait is over
            await message.answer(
                i18n.get("link-resend-too-soon", seconds=seconds), reply_markup=code_keyboard(i18n)
            )
        case otp.ChatDailyLimit():
            await state.clear()
            await message.answer(i18n.get("link-daily-limit", support=support))
        case otp.BudgetExhausted():
            await message.answer(i18n.get("link-sms-unavailable", support=support))


async def alert_other_chats(
    bot: Bot,
    linked: Linked,
    *,
    new_chat_name: str,
    i18n: I18nContext,
    locales: ChatLocaleManager,
    clock: Clock,
    settings: Settings,
) -> None:
    """Tell every chat already linked to the account that another chat has just linked it."""
    when = clock.now().astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")
    for chat_id in linked.other_chats:
        stored = await locales.stored_locale(chat_id)
        locale = stored or settings.default_locale
        text = i18n.core.get(
            "link-alert",
            locale,
            account=linked.account.number,
            when=when,
            name=html.escape(new_chat_name),
            support=settings.support_contact,
        )
        try:
            await bot.send_message(chat_id, text)
        except TelegramAPIError as exc:
            log.warning("link alert to chat %s failed: %s", chat_id, type(exc).__name__)


async def account_number(
    message: Message, state: FSMContext, i18n: I18nContext, linking: LinkingService
) -> None:
    number = _ACCOUNT_SEPARATORS.sub("", message.text or "")
    if not linking.is_well_formed(number):
        await message.answer(i18n.get("link-account-malformed"))
        return
    await state.update_data(account=number)
    await state.set_state(LinkAccount.phone)
    await message.answer(i18n.get("link-ask-phone"), reply_markup=phone_keyboard(i18n))


async def account_number_not_text(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("link-account-malformed"))


async def phone_contact(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    linking: LinkingService,
    settings: Settings,
) -> None:
    contact = message.contact
    assert contact is not None
    if message.from_user is None or contact.user_id != message.from_user.id:
        await message.answer(i18n.get("link-contact-not-own"), reply_markup=phone_keyboard(i18n))
        return
    raw = contact.phone_number
    try:
        phone = normalize_phone(raw if raw.startswith("+") else "+" + raw)
    except InvalidPhone:
        await message.answer(i18n.get("link-phone-invalid"), reply_markup=phone_keyboard(i18n))
        return
    await state.update_data(phone=phone)
    await _request_code(message, state, i18n, linking, settings)


async def phone_text(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    linking: LinkingService,
    settings: Settings,
) -> None:
    try:
        phone = normalize_phone(message.text or "")
    except InvalidPhone:
        await message.answer(i18n.get("link-phone-invalid"), reply_markup=phone_keyboard(i18n))
        return
    await state.update_data(phone=phone)
    await _request_code(message, state, i18n, linking, settings)


async def phone_other(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("link-phone-invalid"), reply_markup=phone_keyboard(i18n))


async def code(
    message: Message,
    state: FSMContext,
    bot: Bot,
    i18n: I18nContext,
    linking: LinkingService,
    locales: ChatLocaleManager,
    clock: Clock,
    settings: Settings,
) -> None:
    if otp.normalize_code(message.text or "") is None:
        # a typo in the shape is not a guess: ask again without spending a try
        await message.answer(i18n.get("link-code-shape"), reply_markup=code_keyboard(i18n))
        return
    result = await linking.verify(message.chat.id, message.text or "")
    match result:
        case Linked(account=account, already_linked=already):
            await state.clear()
            key = "link-already" if already else "link-done"
            address = html.escape(account.address or "")
            await message.answer(
                i18n.get(key, account=account.number, address=address),
                reply_markup=main_menu(i18n),
            )
            if not already:
                await alert_other_chats(
                    bot,
                    result,
                    new_chat_name=message.from_user.first_name if message.from_user else "",
                    i18n=i18n,
                    locales=locales,
                    clock=clock,
                    settings=settings,
                )
        case otp.CodeWrong(tries_left=left):
            await message.answer(i18n.get("link-code-wrong", left=left))
        case otp.CodeExpired() | otp.NoPendingCode():
            await message.answer(i18n.get("link-code-expired"), reply_markup=code_keyboard(i18n))
        case otp.CodeExhausted():
            await message.answer(i18n.get("link-code-exhausted"), reply_markup=code_keyboard(i18n))


async def code_not_text(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("link-code-shape"), reply_markup=code_keyboard(i18n))


async def resend(
    query: CallbackQuery,
    state: FSMContext,
    i18n: I18nContext,
    linking: LinkingService,
    settings: Settings,
) -> None:
    await answer_query(query)
    if isinstance(query.message, Message):
        await _request_code(query.message, state, i18n, linking, settings)


async def restart(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
    await answer_query(query)
    await state.clear()
    if isinstance(query.message, Message):
        await ask_account(query.message, state, i18n)


def get_router() -> Router:
    router = Router(name="linking")
    asking_account = StateFilter(LinkAccount.account_number)
    asking_phone = StateFilter(LinkAccount.phone)
    asking_code = StateFilter(LinkAccount.code)
    router.message.register(account_number, asking_account, HasText())
    router.message.register(account_number_not_text, asking_account)
    router.message.register(phone_contact, asking_phone, SharesContact())
    router.message.register(phone_text, asking_phone, HasText())
    router.message.register(phone_other, asking_phone)
    router.message.register(code, asking_code, HasText())
    router.message.register(code_not_text, asking_code)
    # also while the phone is asked: a code refused as too soon leaves the chat there
    router.callback_query.register(
        resend,
        LinkCb.filter(F.action == "resend"),
        StateFilter(LinkAccount.phone, LinkAccount.code),
    )
    router.callback_query.register(restart, LinkCb.filter(F.action.in_({"restart", "start"})))
    return router
