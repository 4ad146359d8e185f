"""What the walk shows: the overview, a question, the confirmation, a receipt, the summary."""

from __future__ import annotations

import html
from typing import assert_never

from aiogram.types import InlineKeyboardMarkup
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.meter_task import MeterTask, consumption_since
from bot.domain.models import StoredReading
from bot.domain.readings import (
    AboveCeiling,
    InvalidReading,
    ReadingBelowPrevious,
    RolloverSuspected,
    UnusualConsumption,
)
from bot.keyboards.submission import meter_list_keyboard
from bot.rendering import (
    fmt_day,
    fmt_moment,
    kept_lines,
    kept_text,
    last_text,
    meter_title,
    period_name,
    resource_name,
    unit,
    zone_name,
)
from bot.services.submissions import MeterStatus, Overview
from bot.services.walk import SubmissionWalk

Doubt = RolloverSuspected | UnusualConsumption | AboveCeiling


def prefixed(prefix: str | None, text: str) -> str:
    return f"{prefix}\n\n{text}" if prefix else text


def _overview_line(i18n: I18nContext, status: MeterStatus) -> str:
    meter = status.meter
    title = meter_title(i18n, meter.resource, meter.serial)
    if not status.is_open:
        return i18n.get(
            "submit-overview-closed",
            title=title,
            opens=fmt_day(status.dates.opens),
            closes=fmt_day(status.dates.closes),
        )
    return i18n.get(
        "submit-overview-done" if status.done else "submit-overview-due",
        title=title,
        last=last_text(i18n, meter.last),
        period=period_name(i18n, status.period),
        closes=fmt_day(status.dates.closes),
    )


def _pick_label(i18n: I18nContext, status: MeterStatus) -> str:
    meter = status.meter
    mark = "✅ " if status.done else ("" if status.is_open else "🔒 ")
    resource = resource_name(i18n, meter.resource)
    if meter.tariffs > 1:  # "T1 … · T2 … · T3 … on …" would not fit a phone's button
        return i18n.get(
            "submit-pick-button-zones", mark=mark, resource=resource, tail=meter.serial_tail
        )
    return i18n.get(
        "submit-pick-button",
        mark=mark,
        resource=resource,
        tail=meter.serial_tail,
        last=last_text(i18n, meter.last),
    )


def _overview_ending(i18n: I18nContext, overview: Overview) -> str:
    if overview.due:
        return i18n.get("submit-overview-walk", count=len(overview.due))
    if overview.open:
        return i18n.get("submit-overview-all-done")
    first = min(overview.meters, key=lambda s: s.dates.opens)
    return i18n.get(
        "submit-outside-window",
        opens=fmt_day(first.dates.opens),
        closes=fmt_day(first.dates.closes),
        period=period_name(i18n, first.period),
    )


def render_overview(i18n: I18nContext, overview: Overview) -> tuple[str, InlineKeyboardMarkup]:
    account = overview.account
    address = f"\n{html.escape(account.address)}" if account.address else ""
    lines = [i18n.get("submit-overview-title", account=account.number, address=address), ""]
    lines += [_overview_line(i18n, s) for s in overview.meters]
    lines += ["", _overview_ending(i18n, overview)]
    buttons = [(_pick_label(i18n, s), s.meter.id) for s in overview.meters]
    return "\n".join(lines), meter_list_keyboard(buttons, account.id)


def pick_closed_text(i18n: I18nContext, status: MeterStatus) -> str:
    meter = status.meter
    return i18n.get(
        "submit-pick-closed",
        title=meter_title(i18n, meter.resource, meter.serial),
        opens=fmt_day(status.dates.opens),
        closes=fmt_day(status.dates.closes),
        period=period_name(i18n, status.period),
    )


def question_text(i18n: I18nContext, walk: SubmissionWalk) -> str:
    task, zone = walk.current, walk.zone
    position = ""
    if walk.shows_position:
        position = i18n.get("submit-position", n=walk.position, total=walk.total)
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


def _confirmation_line(i18n: I18nContext, task: MeterTask, zone: int, value: int) -> str:
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
    return i18n.get("submit-confirm-line", label=label, value=str(value), spent=spent)


def confirmation_text(i18n: I18nContext, walk: SubmissionWalk) -> str:
    task = walk.current
    lines = [_confirmation_line(i18n, task, zone, v) for zone, v in enumerate(walk.values)]
    text = i18n.get(
        "submit-confirm-text",
        title=meter_title(i18n, task.resource, task.serial),
        lines="\n".join(lines),
        period=period_name(i18n, task.period),
    )
    if task.correction:
        text += "\n\n" + i18n.get("submit-correction-note")
    return text


def receipt_text(
    i18n: I18nContext, task: MeterTask, reading: StoredReading, settings: Settings
) -> str:
    if task.tariffs == 1:
        labels = [i18n.get("submit-value-label")]
    else:
        labels = [f"T{n}" for n in range(1, len(reading.values) + 1)]
    lines = [
        i18n.get("submit-receipt-line", label=label, value=str(value))
        for label, value in zip(labels, reading.values, strict=False)
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


def summary_text(i18n: I18nContext, walk: SubmissionWalk) -> str:
    if walk.kept:
        lines = [i18n.get("submit-summary", count=len(walk.kept)), *kept_lines(i18n, walk)]
    else:
        lines = [i18n.get("submit-summary-none")]
    if walk.skipped:
        titles = ", ".join(meter_title(i18n, s.resource, s.serial) for s in walk.skipped)
        lines += ["", i18n.get("submit-summary-skipped", titles=titles)]
    return "\n".join(lines)


def and_kept(i18n: I18nContext, walk: SubmissionWalk | None, text: str) -> str:
    kept = kept_text(i18n, walk)
    return f"{text}\n\n{kept}" if kept else text


def invalid_text(i18n: I18nContext, invalid: InvalidReading) -> str:
    return i18n.get("submit-invalid-" + invalid.reason.replace("_", "-"), max=invalid.max_digits)


def below_previous_text(
    i18n: I18nContext, value: int, below: ReadingBelowPrevious, settings: Settings
) -> str:
    return i18n.get(
        "submit-below-previous",
        value=str(value),
        previous=str(below.previous.value),
        date=fmt_day(below.previous.taken_on),
        support=settings.support_contact,
    )


def doubt_text(i18n: I18nContext, task: MeterTask, zone: int, value: int, doubt: Doubt) -> str:
    """The "are you sure?" question about a value the checks doubt."""
    match doubt:
        case RolloverSuspected(consumption=consumption):
            previous = task.zones[zone].previous
            assert previous is not None  # a rollover needs a previous reading
            return i18n.get(
                "submit-rollover",
                value=str(value),
                previous=str(previous.value),
                consumption=str(consumption),
                unit=unit(i18n, task.resource),
            )
        case UnusualConsumption(consumption=consumption, average=average):
            return i18n.get(
                "submit-unusual",
                value=str(value),
                consumption=str(consumption),
                average=str(round(average)),
                unit=unit(i18n, task.resource),
            )
        case AboveCeiling(consumption=consumption, ceiling=ceiling):
            return i18n.get(
                "submit-above-ceiling",
                consumption=str(consumption),
                ceiling=str(ceiling),
                months=task.months,
                unit=unit(i18n, task.resource),
            )
        case _:
            assert_never(doubt)
