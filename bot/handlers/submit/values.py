"""What a resident types or sends during the walk: a value, something else, or text where a
button is awaited."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.readings import Accepted, InvalidReading, ReadingBelowPrevious, parse_reading
from bot.handlers.submit.steps import ask_again, ask_sure, load_walk, lost_walk, show_next
from bot.handlers.submit.texts import (
    below_previous_text,
    confirmation_text,
    doubt_text,
    invalid_text,
    prefixed,
)
from bot.keyboards.submission import confirm_keyboard
from bot.services.submissions import SubmissionService


async def value_typed(
    message: Message, bot: Bot, state: FSMContext, i18n: I18nContext, settings: Settings
) -> None:
    """A value for the current zone: taken, refused, or doubted ("are you sure?")."""
    chat_id = message.chat.id
    walk = await load_walk(state)
    if walk is None:
        await lost_walk(bot, chat_id, state, i18n)
        return
    task = walk.current
    parsed = parse_reading(message.text or "", max_digits=task.max_digits)
    if isinstance(parsed, InvalidReading):
        await ask_again(bot, chat_id, state, i18n, walk, invalid_text(i18n, parsed))
        return
    value = parsed.value
    note = (
        i18n.get("submit-fraction-dropped", value=str(value)) if parsed.fraction_dropped else None
    )
    result = SubmissionService.check(task, walk.zone, value)
    if isinstance(result, Accepted):
        await show_next(bot, chat_id, state, i18n, walk.accept(value), prefix=note)
    elif isinstance(result, ReadingBelowPrevious):
        error = below_previous_text(i18n, value, result, settings)
        await ask_again(bot, chat_id, state, i18n, walk, error)
    else:
        question = prefixed(note, doubt_text(i18n, task, walk.zone, value, result))
        await ask_sure(bot, chat_id, state, walk, value, question, i18n)


async def value_not_text(message: Message, bot: Bot, state: FSMContext, i18n: I18nContext) -> None:
    """A sticker, a photo, a voice message where a value is awaited."""
    walk = await load_walk(state)
    if walk is None:
        await lost_walk(bot, message.chat.id, state, i18n)
        return
    await ask_again(bot, message.chat.id, state, i18n, walk, i18n.get("submit-not-text"))


async def typed_at_confirmation(
    message: Message, bot: Bot, state: FSMContext, i18n: I18nContext
) -> None:
    """Anything but a button press at the confirmation: shown again, with its buttons."""
    walk = await load_walk(state)
    if walk is None:
        await lost_walk(bot, message.chat.id, state, i18n)
        return
    text = prefixed(i18n.get("submit-press-button"), confirmation_text(i18n, walk))
    await message.answer(text, reply_markup=confirm_keyboard(i18n, walk.key))
