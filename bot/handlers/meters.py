"""My meters: each meter of the current account with its zones, last reading, verification
and window."""

from __future__ import annotations

import html
from datetime import date

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.handlers.filters import MenuButton
from bot.handlers.replies import current_account_or_explain
from bot.rendering import fmt_day, last_text, period_name, resource_name, zone_name
from bot.services.submissions import MeterStatus, SubmissionService


def _meter_block(i18n: I18nContext, status: MeterStatus, today: date) -> str:
    meter = status.meter
    today_dates = status.dates
    if meter.tariffs == 1:
        zones = i18n.get("meters-zones-one")
    else:
        names = [zone_name(i18n, meter.tariffs, z) for z in range(meter.tariffs)]
        zones = i18n.get("meters-zones-many", count=meter.tariffs, names="; ".join(names))
    if meter.verified_until is None:
        verification = i18n.get("meters-verification-unknown")
    elif meter.verified_until < today:
        verification = i18n.get("meters-verification-expired", date=fmt_day(meter.verified_until))
    else:
        verification = i18n.get("meters-verification", date=fmt_day(meter.verified_until))
    window = status.window
    days = i18n.get(
        "meters-window-days",
        start=window.start_day,
        end=window.end_day,
        next="yes" if window.spans_two_months else "no",
    )
    if status.is_open:
        state = i18n.get(
            "meters-window-open-done" if status.done else "meters-window-open",
            closes=fmt_day(today_dates.closes),
            period=period_name(i18n, status.period),
        )
    else:
        state = i18n.get(
            "meters-window-closed",
            opens=fmt_day(today_dates.opens),
            closes=fmt_day(today_dates.closes),
        )
    return i18n.get(
        "meters-item",
        resource=resource_name(i18n, meter.resource),
        serial=html.escape(meter.serial),
        zones=zones,
        last=last_text(i18n, meter.last),
        verification=verification,
        days=days,
        state=state,
    )


async def meters(
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
    overview = await submissions.overview(account)
    if not overview.meters:
        await message.answer(i18n.get("submit-no-meters", support=settings.support_contact))
        return
    blocks = [i18n.get("meters-list-title", account=account.number)]
    blocks += [_meter_block(i18n, s, overview.today) for s in overview.meters]
    await message.answer("\n\n".join(blocks))


def get_router() -> Router:
    router = Router(name="meters")
    router.message.register(meters, Command("meters"))
    router.message.register(meters, MenuButton("menu-meters"))
    return router
