"""Entry points of the walk: the menu button, /submit, the reminders' button, a meter picked.

They work in any state and start afresh.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.handlers.replies import answer_query, chat_id_of
from bot.handlers.submit.steps import ask
from bot.handlers.submit.texts import pick_closed_text, render_overview
from bot.keyboards.callbacks import SubmitPickCb, SubmitStartCb
from bot.services.submissions import SubmissionService
from bot.services.walk import SubmissionWalk


async def start_walk(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
    settings: Settings,
    *,
    requested_account: int = 0,
) -> None:
    """Show the account's meters, then ask for every one still due, one after another."""
    await state.clear()
    account = await submissions.account_of_chat(chat_id, requested_account)
    if account is None:
        await bot.send_message(chat_id, i18n.get("menu-not-linked"))
        return
    overview = await submissions.overview(account)
    if not overview.meters:
        await bot.send_message(
            chat_id, i18n.get("submit-no-meters", support=settings.support_contact)
        )
        return
    text, markup = render_overview(i18n, overview)
    await bot.send_message(chat_id, text, reply_markup=markup)
    if overview.due:
        tasks = await submissions.tasks(overview.due)
        walk = SubmissionWalk.begin(tasks, account_id=account.id, through_due=True)
        await ask(bot, chat_id, state, i18n, walk)


async def submit(
    message: Message,
    bot: Bot,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
    settings: Settings,
) -> None:
    await start_walk(bot, message.chat.id, state, i18n, submissions, settings)


async def submit_from_button(
    query: CallbackQuery,
    callback_data: SubmitStartCb,
    bot: Bot,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
    settings: Settings,
) -> None:
    await answer_query(query)
    await start_walk(
        bot,
        chat_id_of(query),
        state,
        i18n,
        submissions,
        settings,
        requested_account=callback_data.account_id,
    )


async def pick(
    query: CallbackQuery,
    callback_data: SubmitPickCb,
    bot: Bot,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
) -> None:
    """One meter picked from the overview: its reading alone (a correction when done)."""
    chat_id = chat_id_of(query)
    meter = await submissions.meter_of(chat_id, callback_data.account_id, callback_data.meter_id)
    if meter is None:
        await answer_query(query, i18n.get("button-stale"))
        return
    await answer_query(query)
    status = submissions.status_of(meter, submissions.today())
    if not status.is_open:
        await bot.send_message(chat_id, pick_closed_text(i18n, status))
        return
    await state.clear()
    tasks = await submissions.tasks([status])
    walk = SubmissionWalk.begin(tasks, account_id=meter.account_id, through_due=False)
    await ask(bot, chat_id, state, i18n, walk)
