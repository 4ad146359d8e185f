"""Texts shown in several places (the walk, My meters, History, /stats, leaving a walk).

Every handler and middleware that shows a meter, a day or a period takes it from here.
"""

from __future__ import annotations

import html
from datetime import date, datetime

from aiogram_i18n import I18nContext

from bot.config import Settings
from bot.domain.models import LastReading
from bot.domain.periods import Period
from bot.services.walk import SubmissionWalk


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


def kept_lines(i18n: I18nContext, walk: SubmissionWalk) -> list[str]:
    """One line per meter of the walk whose reading was saved, with its receipt."""
    return [
        i18n.get(
            "submit-summary-line", title=meter_title(i18n, k.resource, k.serial), receipt=k.receipt
        )
        for k in walk.kept
    ]


def kept_text(i18n: I18nContext, walk: SubmissionWalk | None) -> str | None:
    """The meters of a walk left half-done whose readings were confirmed; None when none."""
    if walk is None or not walk.kept:
        return None
    return "\n".join([i18n.get("submit-kept", count=len(walk.kept)), *kept_lines(i18n, walk)])
