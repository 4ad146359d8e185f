"""The first message of an appeal's topic: the resident's first name (never the phone), the
account and address, and each meter with its last reading and this period's status."""

from __future__ import annotations

import html

from aiogram_i18n.cores import FluentRuntimeCore

from bot.domain.models import LastReading
from bot.services.appeal_ports import AppealCard
from bot.services.submissions import MeterStatus


def _day(day: object) -> str:
    return day.strftime("%d.%m.%Y") if hasattr(day, "strftime") else "—"


def _last(core: FluentRuntimeCore, locale: str, last: LastReading | None) -> str:
    if last is None:
        return core.get("meters-last-none", locale)
    values = (
        str(last.values[0])
        if len(last.values) == 1
        else " · ".join(f"T{n}\u00a0{v}" for n, v in enumerate(last.values, start=1))
    )
    if last.taken_on is None:
        return values
    return core.get("meters-last", locale, values=values, date=_day(last.taken_on))


def _meter_line(core: FluentRuntimeCore, locale: str, status: MeterStatus) -> str:
    meter, period = status.meter, status.period
    month = core.get("submit-period", locale, month=period.month, year=str(period.year))
    if not status.is_open:
        state = core.get("appeal-card-window-closed", locale, opens=_day(status.dates.opens))
    else:
        state = core.get("appeal-card-period", locale, period=month, done=str(status.done).lower())
    return core.get(
        "appeal-card-meter",
        locale,
        resource=core.get("meters-resource", locale, resource=str(meter.resource)),
        serial=html.escape(meter.serial),
        last=_last(core, locale, meter.last),
        state=state,
    )


def card_text(core: FluentRuntimeCore, locale: str, card: AppealCard) -> str:
    appeal, account = card.appeal, card.account
    lines = [
        core.get(
            "appeal-card-title",
            locale,
            number=appeal.number,
            topic=core.get("appeal-topic", locale, topic=appeal.topic),
        ),
        core.get("appeal-card-name", locale, name=html.escape(appeal.first_name or "—")),
    ]
    if account is None:
        lines.append(core.get("appeal-card-no-account", locale))
    else:
        lines.append(
            core.get(
                "appeal-card-account",
                locale,
                account=html.escape(account.number),
                address=html.escape(account.address or "—"),
            )
        )
    if card.overview is not None and card.overview.meters:
        lines.append(core.get("appeal-card-meters", locale))
        lines += [_meter_line(core, locale, status) for status in card.overview.meters]
    return "\n".join(lines)
