"""The walk's buttons: Confirm, Change, Cancel, Skip, and the answers to "are you sure?".

A button is live only in its step and under the walk's current key; any other press (twice,
fed twice, a walk left behind) is stale, and a stale Confirm never saves a second time.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.fsm.submission import Submission
from bot.handlers.replies import answer_query, chat_id_of, edit_or_send, message_id_of
from bot.handlers.submit.steps import ask, load_walk, next_or_finish, show_next
from bot.handlers.submit.texts import and_kept, receipt_text
from bot.keyboards.callbacks import StepAction, SubmitStepCb
from bot.rendering import fmt_day, meter_title
from bot.services.submissions import (
    MeterRetired,
    NotAllowed,
    SubmissionService,
    Submitted,
    WindowClosed,
)
from bot.services.walk import SubmissionWalk

# the steps in which each button is live
_LIVE_IN: dict[StepAction, frozenset[str | None]] = {
    "yes": frozenset({Submission.suspicious.state}),
    "no": frozenset({Submission.suspicious.state}),
    "skip": frozenset({Submission.value.state, Submission.suspicious.state}),
    "change": frozenset({Submission.confirm.state}),
    "cancel": frozenset({Submission.confirm.state}),
    "confirm": frozenset({Submission.confirm.state}),
}


async def _live_walk(state: FSMContext, button: SubmitStepCb) -> SubmissionWalk | None:
    """The walk, if the button belongs to its current step; None for a stale button."""
    if await state.get_state() not in _LIVE_IN[button.action]:
        return None
    walk = await load_walk(state)
    return walk if walk is not None and walk.key == button.key else None


async def confirm(
    query: CallbackQuery,
    callback_data: SubmitStepCb,
    bot: Bot,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
    settings: Settings,
) -> None:
    """Save the meter's values once (the step key is the idempotency key), show the receipt."""
    chat_id = chat_id_of(query)
    walk = await _live_walk(state, callback_data)
    if walk is None:
        earlier = await submissions.receipt(callback_data.key, chat_id=chat_id)
        if earlier is not None:
            await answer_query(query, i18n.get("submit-already-saved", receipt=earlier.receipt))
        else:
            await answer_query(query, i18n.get("button-stale"))
        return
    await answer_query(query)
    task = walk.current
    outcome = await submissions.submit(
        chat_id=chat_id, task=task, values=walk.values, request_key=callback_data.key
    )
    message_id = message_id_of(query)
    match outcome:
        case Submitted(reading=reading):
            await edit_or_send(
                bot, chat_id, message_id, receipt_text(i18n, task, reading, settings)
            )
            walk = walk.keep(reading.receipt)
            await next_or_finish(bot, chat_id, state, i18n, walk, submissions)
        case WindowClosed(dates=dates):
            await state.clear()
            closed = i18n.get(
                "submit-window-closed",
                title=meter_title(i18n, task.resource, task.serial),
                opens=fmt_day(dates.opens),
                closes=fmt_day(dates.closes),
            )
            await edit_or_send(bot, chat_id, message_id, and_kept(i18n, walk, closed))
        case NotAllowed():
            await state.clear()
            refused = i18n.get("submit-not-allowed", support=settings.support_contact)
            await edit_or_send(bot, chat_id, message_id, and_kept(i18n, walk, refused))
        case MeterRetired(replaced=replaced):
            await state.clear()
            retired = i18n.get(
                "submit-meter-replaced" if replaced else "submit-meter-closed",
                title=meter_title(i18n, task.resource, task.serial),
                support=settings.support_contact,
            )
            await edit_or_send(bot, chat_id, message_id, and_kept(i18n, walk, retired))


async def step(
    query: CallbackQuery,
    callback_data: SubmitStepCb,
    bot: Bot,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
) -> None:
    """Yes / No to "are you sure?", Change, Cancel, Skip."""
    walk = await _live_walk(state, callback_data)
    if walk is None:
        await answer_query(query, i18n.get("button-stale"))
        return
    await answer_query(query)
    chat_id = chat_id_of(query)
    match callback_data.action:
        case "yes":
            await show_next(bot, chat_id, state, i18n, walk.accept_pending())
        case "no":
            await ask(bot, chat_id, state, i18n, walk)
        case "change":
            await ask(bot, chat_id, state, i18n, walk.change())
        case "cancel":
            await state.clear()
            cancelled = and_kept(i18n, walk, i18n.get("submit-cancelled"))
            await edit_or_send(bot, chat_id, message_id_of(query), cancelled)
        case "skip":
            await next_or_finish(bot, chat_id, state, i18n, walk.skip(), submissions)
