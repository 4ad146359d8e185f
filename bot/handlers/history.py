"""History: the last twelve periods of each meter, and the whole history as a CSV file."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.handlers.filters import MenuButton
from bot.handlers.replies import answer_query, chat_id_of, current_account_or_explain
from bot.keyboards.callbacks import HistoryCsvCb
from bot.keyboards.submission import history_keyboard
from bot.rendering import fmt_moment, meter_title, period_name, values_text
from bot.services.export import ExportService
from bot.services.submissions import MeterHistory, SubmissionService

HISTORY_PERIODS = 12
MESSAGE_LIMIT = 3800  # below Telegram's 4096, leaving room for markup


def _block(i18n: I18nContext, item: MeterHistory, settings: Settings) -> str:
    meter = item.meter
    key = "history-meter-closed" if meter.closed else "history-meter"
    lines = [i18n.get(key, title=meter_title(i18n, meter.resource, meter.serial))]
    if not item.readings:
        lines.append(i18n.get("history-empty-meter"))
    for reading in item.readings:
        key = "history-line" if reading.replaced_at is None else "history-line-replaced"
        lines.append(
            i18n.get(
                key,
                period=period_name(i18n, reading.period),
                values=values_text(reading.values),
                receipt=reading.receipt,
                time=fmt_moment(reading.submitted_at, settings),
            )
        )
    return "\n".join(lines)


def _messages(blocks: list[str]) -> list[str]:
    """Blocks joined into as few messages as fit Telegram's limit."""
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= MESSAGE_LIMIT:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block[:MESSAGE_LIMIT])
    return messages


async def history(
    message: Message,
    state: FSMContext,
    i18n: I18nContext,
    submissions: SubmissionService,
    settings: Settings,
) -> None:
    await state.clear()
    account = await current_account_or_explain(message, i18n, submissions)
    if account is None:
        return
    items = await submissions.history(account.id, HISTORY_PERIODS)
    if not items:
        await message.answer(i18n.get("submit-no-meters", support=settings.support_contact))
        return
    blocks = [i18n.get("history-title", account=account.number, periods=HISTORY_PERIODS)]
    blocks += [_block(i18n, item, settings) for item in items]
    messages = _messages(blocks)
    for text in messages[:-1]:
        await message.answer(text)
    await message.answer(messages[-1], reply_markup=history_keyboard(i18n, account.id))


async def history_csv(
    query: CallbackQuery,
    callback_data: HistoryCsvCb,
    bot: Bot,
    i18n: I18nContext,
    submissions: SubmissionService,
    exports: ExportService,
) -> None:
    chat_id = chat_id_of(query)
    if not await submissions.is_linked(chat_id, callback_data.account_id):
        await answer_query(query, i18n.get("button-stale"))
        return
    await answer_query(query)
    account = await submissions.account(callback_data.account_id)
    number = account.number if account else str(callback_data.account_id)
    data = await exports.account_history_csv(callback_data.account_id)
    await bot.send_document(
        chat_id,
        BufferedInputFile(data, filename=f"history-{number}.csv"),
        caption=i18n.get("history-csv-caption", account=number),
    )


def get_router() -> Router:
    router = Router(name="history")
    router.message.register(history, Command("history"))
    router.message.register(history, MenuButton("menu-history"))
    router.callback_query.register(history_csv, HistoryCsvCb.filter())
    return router
