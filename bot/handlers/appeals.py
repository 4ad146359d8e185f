"""Appeals, the resident's side (SPEC §11): "Write to us" and /appeal (topic, text, photos and
documents, preview, send), follow-ups while an appeal is open, /appeals, the rating."""

from __future__ import annotations

import contextlib

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.appeals import (
    MAX_ATTACHMENTS,
    MAX_OPEN_PER_CHAT,
    MAX_TEXT_LENGTH,
    TOPICS,
    AppealDraft,
)
from bot.fsm.appeal import WriteAppeal
from bot.handlers.appeal_messages import (
    HasAttachment,
    Supported,
    appeal_list,
    attachment_of,
    post_of,
    preview_text,
    sent_text,
)
from bot.handlers.filters import ConversationInput, HasText, LooksLikeCommand, MenuButton
from bot.handlers.replies import answer_query, edit_pressed
from bot.keyboards.appeals import (
    AppealDraftCb,
    AppealRateCb,
    AppealTopicCb,
    draft_keyboard,
    preview_keyboard,
    topics_keyboard,
)
from bot.services.appeals import AppealService, Refused

_WRITING = StateFilter(WriteAppeal.attachments, WriteAppeal.preview)


async def start(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    appeals: AppealService,
    settings: Settings,
) -> None:
    await state.clear()
    if not appeals.enabled:
        await message.answer(i18n.get("appeal-off", support=settings.support_contact))
        return
    open_ones = await appeals.open_of_chat(message.chat.id)
    if len(open_ones) >= MAX_OPEN_PER_CHAT:
        await message.answer(
            i18n.get("appeal-too-many", count=len(open_ones))
            + "\n\n"
            + appeal_list(i18n, open_ones, settings)
        )
        return
    await state.set_state(WriteAppeal.topic)
    await message.answer(
        i18n.get("appeal-ask-topic", hours=appeals.sla_hours), reply_markup=topics_keyboard(i18n)
    )


async def topic_chosen(
    query: CallbackQuery, callback_data: AppealTopicCb, state: FSMContext, i18n: I18nContext
) -> None:
    await answer_query(query)
    if callback_data.topic not in TOPICS or not isinstance(query.message, Message):
        return
    await state.set_state(WriteAppeal.text)
    await state.set_data(AppealDraft.begin(callback_data.topic).to_data())
    await edit_pressed(
        query,
        i18n.get("appeal-ask-text", topic=i18n.get("appeal-topic", topic=callback_data.topic)),
    )


async def _draft(message: Message, state: FSMContext, i18n: I18nContext) -> AppealDraft | None:
    draft = AppealDraft.from_data(await state.get_data())
    if draft is None:  # data lost (an old conversation): begin again
        await state.clear()
        await message.answer(i18n.get("appeal-start-again"))
    return draft


async def text_typed(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    draft = await _draft(message, state, i18n)
    if draft is None or message.text is None:
        return
    text = f"{draft.text}\n\n{message.text}" if draft.text else message.text
    if len(text) > MAX_TEXT_LENGTH:
        await message.answer(i18n.get("appeal-too-long", limit=MAX_TEXT_LENGTH, length=len(text)))
        return
    await state.set_data(draft.with_text(text).to_data())
    await state.set_state(WriteAppeal.attachments)
    key = "appeal-text-added" if draft.text else "appeal-ask-attachments"
    await message.answer(i18n.get(key, limit=MAX_ATTACHMENTS), reply_markup=draft_keyboard(i18n))


async def attachment_sent(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    draft = await _draft(message, state, i18n)
    attachment = attachment_of(message)
    if draft is None or attachment is None:
        return
    if draft.full:
        await message.answer(
            i18n.get("appeal-attachments-full", limit=MAX_ATTACHMENTS),
            reply_markup=draft_keyboard(i18n),
        )
        return
    draft = draft.attach(attachment)
    caption = (message.caption or "").strip()
    if caption and not draft.text and len(caption) <= MAX_TEXT_LENGTH:
        draft = draft.with_text(caption)  # a photo with its words: the words are the text
    await state.set_data(draft.to_data())
    if not draft.text:
        await message.answer(i18n.get("appeal-attached-ask-text", count=len(draft.attachments)))
        return
    await state.set_state(WriteAppeal.attachments)
    await message.answer(
        i18n.get("appeal-attached", count=len(draft.attachments), limit=MAX_ATTACHMENTS),
        reply_markup=draft_keyboard(i18n),
    )


async def unsupported(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("appeal-unsupported"))


async def pick_topic(message: Message, i18n: I18nContext) -> None:
    await message.answer(i18n.get("appeal-pick-topic"), reply_markup=topics_keyboard(i18n))


async def preview(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
    await answer_query(query)
    if not isinstance(query.message, Message):
        return
    draft = await _draft(query.message, state, i18n)
    if draft is None:
        return
    await state.set_state(WriteAppeal.preview)
    await query.message.answer(preview_text(i18n, draft), reply_markup=preview_keyboard(i18n))


async def send(
    query: CallbackQuery,
    state: FSMContext,
    i18n: I18nContext,
    appeals: AppealService,
    settings: Settings,
) -> None:
    await answer_query(query)
    if not isinstance(query.message, Message):
        return
    draft = await _draft(query.message, state, i18n)
    if draft is None or not draft.text:
        return
    await state.clear()
    sent = await appeals.submit(
        query.message.chat.id,
        draft,
        first_name=query.from_user.first_name,
        locale=i18n.locale,
    )
    if sent is None:
        await edit_pressed(query, i18n.get("appeal-too-many", count=MAX_OPEN_PER_CHAT))
        return
    await edit_pressed(query, sent_text(i18n, sent, appeals.sla_hours, settings))


async def cancel(query: CallbackQuery, state: FSMContext, i18n: I18nContext) -> None:
    await answer_query(query)
    await state.clear()
    if isinstance(query.message, Message):
        await edit_pressed(query, i18n.get("appeal-cancelled"))


async def list_mine(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    appeals: AppealService,
    settings: Settings,
) -> None:
    await state.clear()
    mine = await appeals.of_chat(message.chat.id)
    if not mine:
        await message.answer(i18n.get("appeal-list-none"))
        return
    await message.answer(i18n.get("appeal-list-title") + "\n\n" + appeal_list(i18n, mine, settings))


async def follow_up(
    message: Message, i18n: I18nContext, appeals: AppealService, settings: Settings
) -> None:
    """Outside any conversation, while an appeal is open: the message goes to its topic.
    With no appeal open it is not ours: the fallback answers."""
    post = post_of(message)
    if post is None or not appeals.enabled:
        raise SkipHandler
    if post.kind == "text" and len(post.body or "") > MAX_TEXT_LENGTH:
        if not await appeals.open_of_chat(message.chat.id):
            raise SkipHandler
        await message.answer(
            i18n.get("appeal-too-long", limit=MAX_TEXT_LENGTH, length=len(post.body or ""))
        )
        return
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    result = await appeals.follow_up(message.chat.id, post, reply_to)
    if isinstance(result, Refused):
        if result.reason == "none-open":
            raise SkipHandler
        await message.answer(i18n.get("appeal-attachments-full", limit=MAX_ATTACHMENTS))
        return
    key = "appeal-follow-up" if result.delivered else "appeal-follow-up-waiting"
    await message.answer(i18n.get(key, number=result.appeal.number))


async def follow_up_unsupported(
    message: Message, i18n: I18nContext, appeals: AppealService
) -> None:
    if not appeals.enabled or not await appeals.open_of_chat(message.chat.id):
        raise SkipHandler
    await message.answer(i18n.get("appeal-unsupported"))


async def rated(
    query: CallbackQuery, callback_data: AppealRateCb, i18n: I18nContext, appeals: AppealService
) -> None:
    await answer_query(query)
    if not isinstance(query.message, Message):
        return
    appeal = await appeals.rate(
        query.message.chat.id, callback_data.appeal_id, callback_data.rating
    )
    if appeal is None:  # rated already (pressed twice): the stars go, if still there
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await edit_pressed(
        query, i18n.get("appeal-rated", number=appeal.number, rating=callback_data.rating)
    )


def get_router() -> Router:
    router = Router(name="appeals")
    router.message.register(start, Command("appeal"))
    router.message.register(start, MenuButton("menu-appeal"))
    router.message.register(list_mine, Command("appeals"))
    router.callback_query.register(
        topic_chosen, StateFilter(WriteAppeal.topic), AppealTopicCb.filter()
    )
    router.callback_query.register(preview, _WRITING, AppealDraftCb.filter(F.action == "preview"))
    router.callback_query.register(send, _WRITING, AppealDraftCb.filter(F.action == "send"))
    router.callback_query.register(cancel, AppealDraftCb.filter(F.action == "cancel"))
    router.callback_query.register(rated, AppealRateCb.filter())
    return router


def get_flow_router() -> Router:
    """What is typed or sent into the draft: after the routers of commands and menus."""
    router = Router(name="appeals-flow")
    writing = StateFilter(WriteAppeal.text, WriteAppeal.attachments, WriteAppeal.preview)
    router.message.register(pick_topic, StateFilter(WriteAppeal.topic), LooksLikeCommand(False))
    router.message.register(text_typed, writing, ConversationInput())
    router.message.register(attachment_sent, writing, HasText(False), HasAttachment())
    router.message.register(unsupported, writing, LooksLikeCommand(False))
    return router


def get_follow_up_router() -> Router:
    """Just before the fallback: a resident with an open appeal writing outside a conversation."""
    router = Router(name="appeals-follow-up")
    idle = StateFilter(None)
    router.message.register(follow_up, idle, LooksLikeCommand(False), Supported())
    router.message.register(follow_up_unsupported, idle, LooksLikeCommand(False))
    return router
