"""Appeals, the operators' side (SPEC §11): in OPERATOR_CHAT_ID, a message in an appeal's topic
is copied to the resident, an edit follows it, /close ends the appeal, /appeals lists the open
ones. Everything else said in that chat is the operators' own talk: ignored."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import Message, TelegramObject
from aiogram_i18n import I18nContext

from bot.clock import Clock
from bot.config import Settings
from bot.handlers.appeal_messages import not_copied, operator_post, waiting_list
from bot.services.appeals import AppealService


class InOperatorsChat(Filter):
    """The update comes from OPERATOR_CHAT_ID (never true with appeals off)."""

    async def __call__(self, event: TelegramObject, settings: Settings) -> bool:
        chat = getattr(event, "chat", None)
        return chat is not None and chat.id == settings.operator_chat_id


def _thread(message: Message) -> int | None:
    """The topic the message was written in; None in the general topic."""
    if not message.is_topic_message or message.message_thread_id is None:
        return None
    return message.message_thread_id


async def close(message: Message, i18n: I18nContext, appeals: AppealService) -> None:
    thread = _thread(message)
    if thread is None or await appeals.close(thread) is None:
        await message.reply(i18n.get("appeal-desk-not-a-topic"))


async def list_open(
    message: Message, i18n: I18nContext, appeals: AppealService, clock: Clock, settings: Settings
) -> None:
    open_ones = await appeals.open_ones()
    if not open_ones:
        await message.reply(i18n.get("appeal-desk-none-open"))
        return
    await message.reply(waiting_list(i18n, open_ones, clock.now(), settings))


async def answer(message: Message, appeals: AppealService) -> None:
    """An operator's message in a topic: to the resident, if the topic is an open appeal's."""
    thread = _thread(message)
    if thread is None or message.from_user is None or message.from_user.is_bot:
        return
    if (message.text or "").startswith("/"):  # a command meant for another bot, or a typo
        return
    post = operator_post(message)
    if post is not None:
        await appeals.answer(thread, post)
    elif not_copied(message):
        await appeals.not_copied(thread)


async def edited(message: Message, appeals: AppealService) -> None:
    thread = _thread(message)
    post = operator_post(message)
    if thread is not None and post is not None:
        await appeals.edited(thread, post)


def get_router() -> Router:
    """Before every resident's router but the walk's: nothing from the operators' chat reaches
    them."""
    router = Router(name="appeal-desk")
    router.message.filter(InOperatorsChat())
    router.edited_message.filter(InOperatorsChat())
    router.message.register(close, Command("close"))
    router.message.register(list_open, Command("appeals"))
    router.message.register(answer)
    router.edited_message.register(edited)
    return router
