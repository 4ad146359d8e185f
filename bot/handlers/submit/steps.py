"""The walk between updates: loaded from the FSM, moved, saved under a fresh step key, shown.

Everything the walk needs lives in the FSM data, so typing a value costs no database read.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram_i18n import I18nContext

from bot.fsm.submission import Submission
from bot.handlers.submit.texts import (
    confirmation_text,
    prefixed,
    question_text,
    summary_text,
)
from bot.keyboards.submission import (
    confirm_keyboard,
    continue_keyboard,
    question_keyboard,
    sure_keyboard,
)
from bot.services.submissions import SubmissionService, new_request_key
from bot.services.walk import SubmissionWalk


async def load_walk(state: FSMContext) -> SubmissionWalk | None:
    return SubmissionWalk.from_data(await state.get_data())


async def lost_walk(bot: Bot, chat_id: int, state: FSMContext, i18n: I18nContext) -> None:
    """The FSM data holds no walk this version can read: start again."""
    await state.clear()
    await bot.send_message(chat_id, i18n.get("submit-start-again"))


async def enter_step(
    state: FSMContext, target: State, walk: SubmissionWalk, *, pending: int | None = None
) -> SubmissionWalk:
    """Enter a step under a fresh key (its buttons carry it; a confirmation's key is the
    submission's idempotency key)."""
    walk = walk.at_step(new_request_key(), pending=pending)
    if await state.get_state() != target.state:  # the storage caches: no read from disk
        await state.set_state(target)
    await state.set_data(walk.to_data())
    return walk


async def ask(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    walk: SubmissionWalk,
    *,
    prefix: str | None = None,
) -> None:
    """Ask for the current zone of the current meter, under a fresh step key."""
    walk = await enter_step(state, Submission.value, walk)
    markup = question_keyboard(i18n, walk.key, walk=walk.through_due)
    await bot.send_message(
        chat_id, prefixed(prefix, question_text(i18n, walk)), reply_markup=markup
    )


async def ask_again(
    bot: Bot, chat_id: int, state: FSMContext, i18n: I18nContext, walk: SubmissionWalk, error: str
) -> None:
    """The same question after bad input; free of writes unless an "are you sure?" was open."""
    if walk.pending is not None:
        await ask(bot, chat_id, state, i18n, walk, prefix=error)
        return
    markup = question_keyboard(i18n, walk.key, walk=walk.through_due)
    await bot.send_message(chat_id, prefixed(error, question_text(i18n, walk)), reply_markup=markup)


async def ask_sure(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    walk: SubmissionWalk,
    value: int,
    question: str,
    i18n: I18nContext,
) -> None:
    """ "Are you sure?" about `value`, which waits in the walk for the answer."""
    walk = await enter_step(state, Submission.suspicious, walk, pending=value)
    await bot.send_message(chat_id, question, reply_markup=sure_keyboard(i18n, walk.key))


async def show_next(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    walk: SubmissionWalk,
    *,
    prefix: str | None = None,
) -> None:
    """After a value was accepted: the next zone's question, or the meter's confirmation."""
    if not walk.has_every_value:
        await ask(bot, chat_id, state, i18n, walk, prefix=prefix)
        return
    walk = await enter_step(state, Submission.confirm, walk)
    text = prefixed(prefix, confirmation_text(i18n, walk))
    await bot.send_message(chat_id, text, reply_markup=confirm_keyboard(i18n, walk.key))


async def next_or_finish(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    walk: SubmissionWalk,
    submissions: SubmissionService,
) -> None:
    """`walk` has moved past a meter: the next one's question, or the walk's end."""
    if not walk.is_over:
        await ask(bot, chat_id, state, i18n, walk)
        return
    await state.clear()
    if walk.through_due:
        await bot.send_message(chat_id, summary_text(i18n, walk))
        return
    due = await submissions.due_count(walk.account_id)
    if due:
        await bot.send_message(
            chat_id,
            i18n.get("submit-still-due", count=due),
            reply_markup=continue_keyboard(i18n, walk.account_id, due),
        )
