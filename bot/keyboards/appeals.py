"""Keyboards of appeals (SPEC §11): the topic, the draft, the preview, the rating."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram_i18n import I18nContext
from pydantic import Field

from bot.domain.appeals import TOPICS
from bot.keyboards.buttons import button
from bot.keyboards.callbacks import RowId

DraftAction = Literal["preview", "send", "cancel"]


class AppealTopicCb(CallbackData, prefix="apt"):
    topic: str  # one of TOPICS (the handler checks: a crafted one is refused)


class AppealDraftCb(CallbackData, prefix="apd"):
    action: DraftAction


class AppealRateCb(CallbackData, prefix="apr"):
    appeal_id: RowId
    rating: Annotated[int, Field(ge=1, le=5)]


def topics_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    rows = [[button(i18n.get("appeal-topic", topic=t), AppealTopicCb(topic=t))] for t in TOPICS]
    rows.append([button(i18n.get("appeal-cancel-button"), AppealDraftCb(action="cancel"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def draft_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    """While attachments may come: see the preview, or give up."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(i18n.get("appeal-preview-button"), AppealDraftCb(action="preview"))],
            [button(i18n.get("appeal-cancel-button"), AppealDraftCb(action="cancel"))],
        ]
    )


def preview_keyboard(i18n: I18nContext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(i18n.get("appeal-send-button"), AppealDraftCb(action="send"))],
            [button(i18n.get("appeal-cancel-button"), AppealDraftCb(action="cancel"))],
        ]
    )


def rating_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    """1-5, the same in every language."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(f"{n} ⭐", AppealRateCb(appeal_id=appeal_id, rating=n)) for n in range(1, 6)]
        ]
    )
