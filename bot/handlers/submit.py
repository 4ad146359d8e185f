"""Submitting readings (SPEC §6): the walk through due meters, a single pick, the receipt.

Three routers. The flow's typed values and buttons go first of all: they leave commands and
menu buttons to the routers after them (ConversationInput), and each router an update passes
costs ~25 µs, so the values typed in the monthly rush pass one router, not ten. The entry
points (menu button, /submit, meter picks, the reminders' button) go with the other commands
and menus. Messages without text in the flow go after the other conversations, where a command
in a photo's caption has already been taken by its router.
Everything the flow needs lives in the FSM data, so typing a value costs no database read.
"""

from __future__ import annotations

import contextlib
import html
import logging
from datetime import date, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.models import LastReading
from bot.domain.periods import Period
from bot.domain.readings import (
    AboveCeiling,
    Accepted,
    InvalidReading,
    ReadingBelowPrevious,
    RolloverSuspected,
    UnusualConsumption,
    parse_reading,
)
from bot.fsm.submission import Submission
from bot.handlers.filters import ConversationInput, MenuButton
from bot.keyboards.callbacks import SubmitStartCb
from bot.keyboards.submission import (
    SubmitPickCb,
    SubmitStepCb,
    confirm_keyboard,
    continue_keyboard,
    meter_list_keyboard,
    question_keyboard,
    sure_keyboard,
)
from bot.services.submissions import (
    MeterStatus,
    MeterTask,
    NotAllowed,
    Overview,
    SubmissionService,
    Submitted,
    WindowClosed,
    consumption_since,
    new_request_key,
)
from bot.storage.readings import StoredReading

log = logging.getLogger(__name__)

# --- rendering shared with "My meters" and "History" ---------------------------------------


def fmt_day(day: date | None) -> str:
    return day.strftime("%d.%m.%Y") if day else "—"


def fmt_moment(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.tz).strftime("%d.%m.%Y %H:%M")


def resource_name(i18n: I18nContext, resource: str) -> str:
    return i18n.get("meters-resource", resource=str(resource))


def unit(i18n: I18nContext, resource: str) -> str:
    return i18n.get("meters-unit", resource=str(resource))


def meter_title(i18n: I18nContext, resource: str, serial: str) -> str:
    return i18n.get(
        "meters-title", resource=resource_name(i18n, resource), tail=html.escape(serial[-4:])
    )


def period_name(i18n: I18nContext, period: Period) -> str:
    return i18n.get("submit-period", month=period.month, year=str(period.year))


def zone_name(i18n: I18nContext, tariffs: int, zone: int) -> str:
    """zone counts from 0; the name carries the zone's hours."""
    return i18n.get("meters-zone", tariffs=tariffs, zone=zone + 1)


def values_text(values: tuple[int, ...] | list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    return " · ".join(f"T{n}\u00a0{v}" for n, v in enumerate(values, start=1))


def last_text(i18n: I18nContext, last: LastReading | None) -> str:
    if last is None:
        return i18n.get("meters-last-none")
    if last.taken_on is None:
        return values_text(last.values)
    return i18n.get("meters-last", values=values_text(last.values), date=fmt_day(last.taken_on))


def chat_id_of(query: CallbackQuery) -> int:
    return query.message.chat.id if query.message is not None else query.from_user.id


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Answer first; an expired query is not worth an error."""
    with contextlib.suppress(TelegramBadRequest):
        await query.answer(text)


async def edit_or_send(
    bot: Bot,
    chat_id: int,
    message_id: int | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    if message_id is not None:
        try:
            await bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
            return
        except TelegramBadRequest as exc:
            if "not modified" in str(exc):
                return
    await bot.send_message(chat_id, text, reply_markup=markup)


# --- the overview --------------------------------------------------------------------------


def _overview_line(i18n: I18nContext, status: MeterStatus) -> str:
    meter = status.meter
    title = meter_title(i18n, meter.resource, meter.serial)
    last = last_text(i18n, meter.last)
    if not status.is_open:
        return i18n.get(
            "submit-overview-closed",
            title=title,
            opens=fmt_day(status.dates.opens),
            closes=fmt_day(status.dates.closes),
        )
    key = "submit-overview-done" if status.done else "submit-overview-due"
    return i18n.get(
        key,
        title=title,
        last=last,
        period=period_name(i18n, status.period),
        closes=fmt_day(status.dates.closes),
    )


def _pick_label(i18n: I18nContext, status: MeterStatus) -> str:
    meter = status.meter
    mark = "✅ " if status.done else ("" if status.is_open else "🔒 ")
    if meter.tariffs > 1:  # "T1 … · T2 … · T3 … on …" would not fit a phone's button
        return i18n.get(
            "submit-pick-button-zones",
            mark=mark,
            resource=resource_name(i18n, meter.resource),
            tail=meter.serial_tail,
        )
    return i18n.get(
        "submit-pick-button",
        mark=mark,
        resource=resource_name(i18n, meter.resource),
        tail=meter.serial_tail,
        last=last_text(i18n, meter.last),
    )


def render_overview(i18n: I18nContext, overview: Overview) -> tuple[str, InlineKeyboardMarkup]:
    account = overview.account
    address = f"\n{html.escape(account.address)}" if account.address else ""
    lines = [i18n.get("submit-overview-title", account=account.number, address=address), ""]
    lines += [_overview_line(i18n, s) for s in overview.meters]
    lines.append("")
    due = overview.due
    if due:
        lines.append(i18n.get("submit-overview-walk", count=len(due)))
    elif overview.open:
        lines.append(i18n.get("submit-overview-all-done"))
    else:
        first = min(overview.meters, key=lambda s: s.dates.opens)
        lines.append(
            i18n.get(
                "submit-outside-window",
                opens=fmt_day(first.dates.opens),
                closes=fmt_day(first.dates.closes),
                period=period_name(i18n, first.period),
            )
        )
    buttons = [(_pick_label(i18n, s), s.meter.id) for s in overview.meters]
    return "\n".join(lines), meter_list_keyboard(buttons, account.id)


# --- the flow ------------------------------------------------------------------------------


def _task(data: dict[str, Any]) -> MeterTask:
    return MeterTask.from_data(data["tasks"][0])


async def _new_step(
    state: FSMContext, target: State, data: dict[str, Any], *, pending: int | None = None
) -> str:
    """Enter a step under a fresh key (its buttons carry it; a confirmation's key is the
    submission's idempotency key); returns the key."""
    data["key"] = new_request_key()
    data["pending"] = pending
    if await state.get_state() != target.state:  # the storage caches: no read from disk
        await state.set_state(target)
    await state.set_data(data)
    return data["key"]


def _prefixed(prefix: str | None, text: str) -> str:
    return f"{prefix}\n\n{text}" if prefix else text


def _question(i18n: I18nContext, data: dict[str, Any]) -> str:
    task = _task(data)
    zone = data["zone"]
    position = ""
    if data["walk"] and data["total"] > 1:
        position = i18n.get("submit-position", n=data["pos"], total=data["total"])
    previous = task.zones[zone].previous
    if previous is None:
        previous_line = i18n.get("submit-no-previous")
    elif previous.taken_on is None:
        previous_line = i18n.get("submit-previous-undated", value=str(previous.value))
    else:
        previous_line = i18n.get(
            "submit-previous", value=str(previous.value), date=fmt_day(previous.taken_on)
        )
    common = {
        "title": meter_title(i18n, task.resource, task.serial),
        "position": position,
        "previous": previous_line,
        "period": period_name(i18n, task.period),
    }
    if task.tariffs == 1:
        return i18n.get("submit-ask", **common)
    return i18n.get("submit-ask-zone", zone=zone_name(i18n, task.tariffs, zone), **common)


async def _ask(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    data: dict[str, Any],
    *,
    prefix: str | None = None,
) -> None:
    """Ask for the current zone of the current meter, under a fresh step key."""
    key = await _new_step(state, Submission.value, data)
    markup = question_keyboard(i18n, key, walk=data["walk"])
    await bot.send_message(chat_id, _prefixed(prefix, _question(i18n, data)), reply_markup=markup)


async def _ask_again(
    bot: Bot, chat_id: int, state: FSMContext, i18n: I18nContext, data: dict[str, Any], error: str
) -> None:
    """The same question after bad input; free of writes unless an "are you sure?" was open."""
    if data.get("pending") is not None:
        await _ask(bot, chat_id, state, i18n, data, prefix=error)
        return
    markup = question_keyboard(i18n, data["key"], walk=data["walk"])
    await bot.send_message(chat_id, _prefixed(error, _question(i18n, data)), reply_markup=markup)


def _confirmation(i18n: I18nContext, data: dict[str, Any]) -> str:
    task = _task(data)
    lines = []
    for zone, value in enumerate(data["values"]):
        consumption = consumption_since(task, zone, value)
        previous = task.zones[zone].previous
        if consumption is None or previous is None:
            spent = i18n.get("submit-consumption-none")
        else:
            spent = i18n.get(
                "submit-consumption",
                consumption=str(consumption),
                unit=unit(i18n, task.resource),
                date=fmt_day(previous.taken_on),
            )
        label = i18n.get("submit-value-label") if task.tariffs == 1 else f"T{zone + 1}"
        lines.append(i18n.get("submit-confirm-line", label=label, value=str(value), spent=spent))
    text = i18n.get(
        "submit-confirm-text",
        title=meter_title(i18n, task.resource, task.serial),
        lines="\n".join(lines),
        period=period_name(i18n, task.period),
    )
    if task.correction:
        text += "\n\n" + i18n.get("submit-correction-note")
    return text


async def _show_confirmation(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    data: dict[str, Any],
    *,
    prefix: str | None = None,
) -> None:
    key = await _new_step(state, Submission.confirm, data)
    await bot.send_message(
        chat_id,
        _prefixed(prefix, _confirmation(i18n, data)),
        reply_markup=confirm_keyboard(i18n, key),
    )


async def _accept(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    data: dict[str, Any],
    value: int,
    *,
    prefix: str | None = None,
) -> None:
    data["values"].append(value)
    data["zone"] += 1
    if data["zone"] < _task(data).tariffs:
        await _ask(bot, chat_id, state, i18n, data, prefix=prefix)
    else:
        await _show_confirmation(bot, chat_id, state, i18n, data, prefix=prefix)


def receipt_text(
    i18n: I18nContext, task: MeterTask, reading: StoredReading, settings: Settings
) -> str:
    if task.tariffs == 1:
        lines = [
            i18n.get(
                "submit-receipt-line",
                label=i18n.get("submit-value-label"),
                value=str(reading.values[0]),
            )
        ]
    else:
        lines = [
            i18n.get("submit-receipt-line", label=f"T{n}", value=str(v))
            for n, v in enumerate(reading.values, start=1)
        ]
    text = i18n.get(
        "submit-receipt",
        receipt=reading.receipt,
        title=meter_title(i18n, task.resource, task.serial),
        lines="\n".join(lines),
        period=period_name(i18n, reading.period),
        time=fmt_moment(reading.submitted_at, settings),
    )
    if reading.replaces:
        text += "\n" + i18n.get("submit-receipt-replaces")
    return text


async def _next_or_finish(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    data: dict[str, Any],
    submissions: SubmissionService,
) -> None:
    data["tasks"].pop(0)
    if data["walk"] and data["tasks"]:
        data.update(pos=data["pos"] + 1, zone=0, values=[])
        await _ask(bot, chat_id, state, i18n, data)
        return
    await state.clear()
    if data["walk"]:
        await bot.send_message(chat_id, _summary(i18n, data))
        return
    due = await submissions.due_count(data["account"])
    if due:
        await bot.send_message(
            chat_id,
            i18n.get("submit-still-due", count=due),
            reply_markup=continue_keyboard(i18n, data["account"], due),
        )


def _summary(i18n: I18nContext, data: dict[str, Any]) -> str:
    saved = data["saved"]
    lines = [
        i18n.get("submit-summary", count=len(saved)) if saved else i18n.get("submit-summary-none")
    ]
    lines += [
        i18n.get("submit-summary-line", title=meter_title(i18n, res, serial), receipt=receipt)
        for res, serial, receipt in saved
    ]
    if data["skipped"]:
        titles = ", ".join(meter_title(i18n, res, serial) for res, serial in data["skipped"])
        lines += ["", i18n.get("submit-summary-skipped", titles=titles)]
    return "\n".join(lines)


def kept_text(i18n: I18nContext, data: dict[str, Any]) -> str | None:
    """The meters of a walk left half-done whose readings were confirmed; None when none."""
    saved = data.get("saved") or []
    if not saved:
        return None
    lines = [i18n.get("submit-kept", count=len(saved))]
    lines += [
        i18n.get("submit-summary-line", title=meter_title(i18n, res, serial), receipt=receipt)
        for res, serial, receipt in saved
    ]
    return "\n".join(lines)


def _and_kept(i18n: I18nContext, data: dict[str, Any], text: str) -> str:
    kept = kept_text(i18n, data)
    return f"{text}\n\n{kept}" if kept else text


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
    due = overview.due
    if due:
        tasks = await submissions.tasks(due)
        await _begin(bot, chat_id, state, i18n, tasks, account_id=account.id, walk=True)


async def _begin(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    i18n: I18nContext,
    tasks: list[MeterTask],
    *,
    account_id: int,
    walk: bool,
) -> None:
    data: dict[str, Any] = {
        "account": account_id,
        "walk": walk,
        "tasks": [t.to_data() for t in tasks],
        "total": len(tasks),
        "pos": 1,
        "zone": 0,
        "values": [],
        "pending": None,
        "key": "",
        "saved": [],
        "skipped": [],
    }
    await _ask(bot, chat_id, state, i18n, data)


def get_menu_router() -> Router:
    """Entry points: they work in any state and start afresh."""
    router = Router(name="submit-menu")

    @router.message(Command("submit"))
    @router.message(MenuButton("menu-submit"))
    async def submit(
        message: Message,
        bot: Bot,
        state: FSMContext,
        i18n: I18nContext,
        submissions: SubmissionService,
        settings: Settings,
    ) -> None:
        await start_walk(bot, message.chat.id, state, i18n, submissions, settings)

    @router.callback_query(SubmitStartCb.filter())
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

    @router.callback_query(SubmitPickCb.filter())
    async def pick(
        query: CallbackQuery,
        callback_data: SubmitPickCb,
        bot: Bot,
        state: FSMContext,
        i18n: I18nContext,
        submissions: SubmissionService,
    ) -> None:
        chat_id = chat_id_of(query)
        account_id, meter_id = callback_data.account_id, callback_data.meter_id
        meter = await submissions.meter_of(chat_id, account_id, meter_id)
        if meter is None:
            await answer_query(query, i18n.get("button-stale"))
            return
        await answer_query(query)
        status = submissions.status_of(meter, submissions.today())
        if not status.is_open:
            await bot.send_message(
                chat_id,
                i18n.get(
                    "submit-pick-closed",
                    title=meter_title(i18n, meter.resource, meter.serial),
                    opens=fmt_day(status.dates.opens),
                    closes=fmt_day(status.dates.closes),
                    period=period_name(i18n, status.period),
                ),
            )
            return
        await state.clear()
        tasks = await submissions.tasks([status])
        await _begin(bot, chat_id, state, i18n, tasks, account_id=meter.account_id, walk=False)

    return router


_IN_VALUE = StateFilter(Submission.value, Submission.suspicious)


def get_router() -> Router:
    """The flow: typed values, "are you sure?", Confirm / Change / Cancel, Skip."""
    router = Router(name="submit-flow")

    # commands fall through to the fallback ("unknown command"), keeping the flow
    @router.message(_IN_VALUE, F.text, ConversationInput())
    async def value_typed(
        message: Message,
        bot: Bot,
        state: FSMContext,
        i18n: I18nContext,
        settings: Settings,
    ) -> None:
        chat_id = message.chat.id
        data = await state.get_data()
        task = _task(data)
        zone = data["zone"]
        parsed = parse_reading(message.text, max_digits=task.max_digits)
        if isinstance(parsed, InvalidReading):
            key = "submit-invalid-" + parsed.reason.replace("_", "-")
            await _ask_again(bot, chat_id, state, i18n, data, i18n.get(key, max=parsed.max_digits))
            return
        value = parsed.value
        note = (
            i18n.get("submit-fraction-dropped", value=str(value))
            if parsed.fraction_dropped
            else None
        )
        match SubmissionService.check(task, zone, value):
            case ReadingBelowPrevious(previous=previous):
                error = i18n.get(
                    "submit-below-previous",
                    value=str(value),
                    previous=str(previous.value),
                    date=fmt_day(previous.taken_on),
                    support=settings.support_contact,
                )
                await _ask_again(bot, chat_id, state, i18n, data, error)
            case RolloverSuspected(consumption=consumption):
                previous = task.zones[zone].previous
                assert previous is not None  # a rollover needs a previous reading
                question = i18n.get(
                    "submit-rollover",
                    value=str(value),
                    previous=str(previous.value),
                    consumption=str(consumption),
                    unit=unit(i18n, task.resource),
                )
                await _ask_sure(bot, chat_id, state, data, value, question, note, i18n)
            case UnusualConsumption(consumption=consumption, average=average):
                question = i18n.get(
                    "submit-unusual",
                    value=str(value),
                    consumption=str(consumption),
                    average=str(round(average)),
                    unit=unit(i18n, task.resource),
                )
                await _ask_sure(bot, chat_id, state, data, value, question, note, i18n)
            case AboveCeiling(consumption=consumption, ceiling=ceiling):
                question = i18n.get(
                    "submit-above-ceiling",
                    consumption=str(consumption),
                    ceiling=str(ceiling),
                    months=task.months,
                    unit=unit(i18n, task.resource),
                )
                await _ask_sure(bot, chat_id, state, data, value, question, note, i18n)
            case Accepted():
                await _accept(bot, chat_id, state, i18n, data, value, prefix=note)

    router.message(Submission.confirm, F.text, ConversationInput())(typed_at_confirmation)

    @router.callback_query(SubmitStepCb.filter(F.action == "confirm"))
    async def confirm(
        query: CallbackQuery,
        callback_data: SubmitStepCb,
        bot: Bot,
        state: FSMContext,
        i18n: I18nContext,
        submissions: SubmissionService,
        settings: Settings,
    ) -> None:
        data = await state.get_data()
        live = (
            await state.get_state() == Submission.confirm.state
            and data.get("key") == callback_data.key
        )
        if not live:
            # pressed twice, fed twice, or a button of a flow left behind: never a second save
            earlier = await submissions.receipt(callback_data.key, chat_id=chat_id_of(query))
            if earlier is not None:
                await answer_query(query, i18n.get("submit-already-saved", receipt=earlier.receipt))
            else:
                await answer_query(query, i18n.get("button-stale"))
            return
        await answer_query(query)
        chat_id = chat_id_of(query)
        task = _task(data)
        outcome = await submissions.submit(
            chat_id=chat_id, task=task, values=data["values"], request_key=callback_data.key
        )
        message_id = query.message.message_id if query.message else None
        match outcome:
            case Submitted(reading=reading):
                await edit_or_send(
                    bot, chat_id, message_id, receipt_text(i18n, task, reading, settings)
                )
                data["saved"].append([task.resource, task.serial, reading.receipt])
                await _next_or_finish(bot, chat_id, state, i18n, data, submissions)
            case WindowClosed(dates=dates):
                await state.clear()
                await edit_or_send(
                    bot,
                    chat_id,
                    message_id,
                    _and_kept(
                        i18n,
                        data,
                        i18n.get(
                            "submit-window-closed",
                            title=meter_title(i18n, task.resource, task.serial),
                            opens=fmt_day(dates.opens),
                            closes=fmt_day(dates.closes),
                        ),
                    ),
                )
            case NotAllowed():
                await state.clear()
                await edit_or_send(
                    bot,
                    chat_id,
                    message_id,
                    _and_kept(
                        i18n, data, i18n.get("submit-not-allowed", support=settings.support_contact)
                    ),
                )

    @router.callback_query(SubmitStepCb.filter())
    async def step(
        query: CallbackQuery,
        callback_data: SubmitStepCb,
        bot: Bot,
        state: FSMContext,
        i18n: I18nContext,
        submissions: SubmissionService,
    ) -> None:
        data = await state.get_data()
        current = await state.get_state()
        action = callback_data.action
        expected = {
            "yes": Submission.suspicious,
            "no": Submission.suspicious,
            "skip": Submission.value,
            "change": Submission.confirm,
            "cancel": Submission.confirm,
        }.get(action)
        allowed = {expected.state} if expected else set()
        if action == "skip":
            allowed.add(Submission.suspicious.state)
        if current not in allowed or data.get("key") != callback_data.key:
            await answer_query(query, i18n.get("button-stale"))
            return
        await answer_query(query)
        chat_id = chat_id_of(query)
        task = _task(data)
        match action:
            case "yes":
                await _accept(bot, chat_id, state, i18n, data, data["pending"])
            case "no":
                await _ask(bot, chat_id, state, i18n, data)
            case "change":
                data.update(zone=0, values=[])
                await _ask(bot, chat_id, state, i18n, data)
            case "cancel":
                await state.clear()
                await edit_or_send(
                    bot,
                    chat_id,
                    query.message.message_id if query.message else None,
                    _and_kept(i18n, data, i18n.get("submit-cancelled")),
                )
            case "skip":
                data["skipped"].append([task.resource, task.serial])
                data.update(zone=0, values=[])
                await _next_or_finish(bot, chat_id, state, i18n, data, submissions)

    return router


def get_non_text_router() -> Router:
    """Stickers, photos, voice messages in the flow: after every router a caption may reach."""
    router = Router(name="submit-flow-non-text")

    @router.message(_IN_VALUE, ~F.text)
    async def value_not_text(
        message: Message, bot: Bot, state: FSMContext, i18n: I18nContext
    ) -> None:
        data = await state.get_data()
        await _ask_again(bot, message.chat.id, state, i18n, data, i18n.get("submit-not-text"))

    router.message(Submission.confirm, ~F.text)(typed_at_confirmation)
    return router


async def typed_at_confirmation(message: Message, state: FSMContext, i18n: I18nContext) -> None:
    data = await state.get_data()
    text = i18n.get("submit-press-button") + "\n\n" + _confirmation(i18n, data)
    await message.answer(text, reply_markup=confirm_keyboard(i18n, data["key"]))


async def _ask_sure(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    data: dict[str, Any],
    value: int,
    question: str,
    note: str | None,
    i18n: I18nContext,
) -> None:
    key = await _new_step(state, Submission.suspicious, data, pending=value)
    markup = sure_keyboard(i18n, key)
    await bot.send_message(chat_id, _prefixed(note, question), reply_markup=markup)
