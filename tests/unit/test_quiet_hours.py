"""QUIET_HOURS (SPEC §2): parsing, the span over midnight, and the setting's errors."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import SettingsError, load_settings
from bot.domain.quiet_hours import QuietHours

MSK = ZoneInfo("Europe/Moscow")


def test_quiet_hours_over_midnight_include_the_start_and_not_the_end() -> None:
    quiet = QuietHours.parse("21:00-09:00")
    assert quiet is not None
    assert [
        quiet.contains(time(h, m)) for h, m in ((20, 59), (21, 0), (3, 0), (8, 59), (9, 0))
    ] == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_quiet_hours_within_a_day() -> None:
    quiet = QuietHours.parse("13:00-14:30")
    assert quiet is not None
    assert quiet.contains(time(13, 0)) and quiet.contains(time(14, 29))
    assert not quiet.contains(time(14, 30)) and not quiet.contains(time(12, 59))


def test_the_end_of_quiet_hours_is_the_next_end_in_local_time() -> None:
    quiet = QuietHours.parse("21:00-09:00")
    assert quiet is not None
    late = datetime(2026, 11, 30, 23, 0, tzinfo=MSK)
    early = datetime(2026, 12, 1, 3, 0, tzinfo=MSK)
    assert quiet.end_after(late, MSK) == quiet.end_after(early, MSK)
    assert quiet.end_after(late, MSK) == datetime(2026, 12, 1, 9, 0, tzinfo=MSK)


def test_empty_quiet_hours_turn_them_off() -> None:
    assert QuietHours.parse("") is None and QuietHours.parse("  ") is None


@pytest.mark.parametrize("value", ["21-09", "21:00", "25:00-09:00", "09:00-09:00", "abc"])
def test_a_bad_quiet_hours_setting_names_the_variable(value: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"^QUIET_HOURS is invalid"):
        load_settings(
            bot_token="123:abc",
            database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}",
            quiet_hours=value,
            _env_file=None,
        )


def test_quiet_hours_default_and_off(tmp_path: Path) -> None:
    values: dict[str, Any] = {"bot_token": "123:abc", "_env_file": None}
    assert str(load_settings(**values).quiet) == "21:00-09:00"
    assert load_settings(quiet_hours="", **values).quiet is None


def test_the_next_start_of_quiet_hours_is_today_or_tomorrow() -> None:
    quiet = QuietHours.parse("21:00-09:00")
    assert quiet is not None
    assert quiet.start_after(datetime(2026, 11, 30, 20, 0, tzinfo=MSK), MSK) == datetime(
        2026, 11, 30, 21, 0, tzinfo=MSK
    )
    assert quiet.start_after(datetime(2026, 11, 30, 21, 0, tzinfo=MSK), MSK) == datetime(
        2026, 12, 1, 21, 0, tzinfo=MSK
    )
