"""Numbers in texts (issue 9, points 22 and 24): plural forms, percentages and ordinal days
through Fluent, in Russian and English; counts in the operators' English."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from aiogram_i18n.cores import FluentRuntimeCore

from bot.english import counted
from bot.i18n import LOCALES_DIR, RenderCachingCore
from bot.services.reminders import CampaignResult, ReminderReport, format_report


@pytest.fixture(scope="module")
def core() -> FluentRuntimeCore:
    core = RenderCachingCore(path=LOCALES_DIR / "{locale}", default_locale="ru")
    asyncio.run(core.startup())
    return core


def text(core: FluentRuntimeCore, locale: str, key: str, **args: Any) -> str:
    return core.get(key, locale, **args)


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 1, "Спрошу показания одного счётчика."),
        ("ru", 2, "Спрошу показания 2 счётчиков по очереди."),
        ("ru", 5, "Спрошу показания 5 счётчиков по очереди."),
        ("ru", 21, "Спрошу показания 21 счётчика по очереди."),
        ("en", 1, "I'll ask for the reading of one meter."),
        ("en", 2, "I'll ask for 2 meters, one after another."),
        ("en", 5, "I'll ask for 5 meters, one after another."),
        ("en", 21, "I'll ask for 21 meters, one after another."),
    ],
)
def test_the_walk_announces_its_meters_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert text(core, locale, "submit-overview-walk", count=count).startswith(expected)


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 1, "Ещё один счётчик ждёт показаний."),
        ("ru", 2, "Ещё 2 счётчика ждут показаний."),
        ("ru", 5, "Ещё 5 счётчиков ждут показаний."),
        ("ru", 21, "Ещё 21 счётчик ждёт показаний."),
        ("en", 1, "One more meter is still due."),
        ("en", 2, "2 more meters are still due."),
        ("en", 5, "5 more meters are still due."),
        ("en", 21, "21 more meters are still due."),
    ],
)
def test_meters_still_due_are_counted_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert text(core, locale, "submit-still-due", count=count) == expected


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 1, "Переданы показания одного счётчика:"),
        ("ru", 2, "Переданы показания 2 счётчиков:"),
        ("ru", 5, "Переданы показания 5 счётчиков:"),
        ("ru", 21, "Переданы показания 21 счётчика:"),
        ("en", 1, "Reading of one meter submitted:"),
        ("en", 2, "Readings of 2 meters submitted:"),
        ("en", 5, "Readings of 5 meters submitted:"),
        ("en", 21, "Readings of 21 meters submitted:"),
    ],
)
def test_the_summary_counts_meters_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert text(core, locale, "submit-summary", count=count).endswith(expected)


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 1, "не больше 1 цифры до запятой"),
        ("ru", 2, "не больше 2 цифр до запятой"),
        ("ru", 5, "не больше 5 цифр до запятой"),
        ("ru", 21, "не больше 21 цифры до запятой"),
        ("en", 1, "at most one digit before"),
        ("en", 2, "at most 2 digits before"),
        ("en", 5, "at most 5 digits before"),
        ("en", 21, "at most 21 digits before"),
    ],
)
def test_the_digits_of_a_dial_are_counted_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert expected in text(core, locale, "submit-invalid-too-many-digits", max=count)


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 1, "(последний период)"),
        ("ru", 2, "(последние 2 периода)"),
        ("ru", 5, "(последние 5 периодов)"),
        ("ru", 21, "(последние 21 период)"),
        ("en", 1, "(the last period)"),
        ("en", 2, "(last 2 periods)"),
        ("en", 5, "(last 5 periods)"),
        ("en", 21, "(last 21 periods)"),
    ],
)
def test_history_counts_its_periods_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert text(core, locale, "history-title", account="1", periods=count).endswith(expected)


@pytest.mark.parametrize(
    ("locale", "months", "expected"),
    [
        ("ru", 1, "за 1 месяц (до"),
        ("ru", 2, "за 2 месяца (до"),
        ("ru", 5, "за 5 месяцев (до"),
        ("ru", 21, "за 21 месяц (до"),
        ("en", 1, "in a month (up to"),
        ("en", 2, "in 2 months (up to"),
        ("en", 5, "in 5 months (up to"),
        ("en", 21, "in 21 months (up to"),
    ],
)
def test_the_ceiling_question_counts_months_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, months: int, expected: str
) -> None:
    question = text(
        core,
        locale,
        "submit-above-ceiling",
        consumption="224",
        ceiling="40",
        months=months,
        unit="m³",
    )
    assert expected in question


@pytest.mark.parametrize(
    ("locale", "count", "expected"),
    [
        ("ru", 4101, "4\u00a0101 символ,"),
        ("ru", 4102, "4\u00a0102 символа,"),
        ("ru", 4105, "4\u00a0105 символов,"),
        ("en", 4101, "4,101 characters,"),
    ],
)
def test_a_too_long_announcement_counts_characters_in_the_right_plural(
    core: FluentRuntimeCore, locale: str, count: int, expected: str
) -> None:
    assert expected in text(core, locale, "broadcast-too-long", length=count)


@pytest.mark.parametrize(
    ("locale", "share", "expected"),
    [
        ("ru", 0.0812, "(8,1\u00a0%)"),
        ("ru", 1 / 3, "(33,3\u00a0%)"),
        ("ru", 0.0, "(0,0\u00a0%)"),
        ("ru", 1.0, "(100,0\u00a0%)"),
        ("en", 0.0812, "(8.1%)"),
        ("en", 1 / 3, "(33.3%)"),
    ],
)
def test_the_share_of_meters_read_is_a_percentage_as_the_locale_writes_it(
    core: FluentRuntimeCore, locale: str, share: float, expected: str
) -> None:
    figures = {
        k: 1
        for k in (
            "linked_chats",
            "accounts",
            "linked_accounts",
            "meters",
            "with_reading",
            "submissions",
            "corrections",
        )
    }
    assert expected in text(core, locale, "stats-text", period="x", share=share, **figures)


def _english_ordinal(day: int) -> str:
    if day % 100 in (11, 12, 13):
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


@pytest.mark.parametrize("day", range(1, 32))
def test_every_day_of_a_month_has_its_english_ordinal(core: FluentRuntimeCore, day: int) -> None:
    assert text(core, "en", "window-day-from", day=day) == _english_ordinal(day)
    assert text(core, "en", "window-day-until", day=day) == _english_ordinal(day)


@pytest.mark.parametrize("day", [1, 2, 3, 15, 21, 31])
def test_russian_window_days_take_their_case(core: FluentRuntimeCore, day: int) -> None:
    assert text(core, "ru", "window-day-from", day=day) == f"{day}-го"
    assert text(core, "ru", "window-day-until", day=day) == f"{day}-е"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 reminders"),
        (1, "1 reminder"),
        (2, "2 reminders"),
        (5, "5 reminders"),
        (21, "21 reminders"),
    ],
)
def test_operator_counts_are_english_plurals(count: int, expected: str) -> None:
    assert counted(count, "reminder") == expected
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(2, "entry", "entries") == "2 entries"


def test_send_reminders_with_nothing_to_send_counts_one_reminder_in_the_singular() -> None:
    one = ReminderReport(date(2026, 11, 15), [CampaignResult("opening:2026-11-15", "opening")])
    assert format_report(one) == "2026-11-15: nothing to send (1 reminder due)"
    two = ReminderReport(
        date(2026, 11, 15),
        [CampaignResult("opening:2026-11-15", "opening"), CampaignResult("closing:x", "closing")],
    )
    assert format_report(two) == "2026-11-15: nothing to send (2 reminders due)"
