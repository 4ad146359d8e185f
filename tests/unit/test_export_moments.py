"""The export's per-minute memo of local times writes what `_moment` writes, in any zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.moments import from_db, to_db
from bot.services.export import _local_moments, _moment

ZONES = [
    "Europe/Moscow",  # +04:00 in 2011-2014, +03:00 since
    "America/New_York",  # DST
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Australia/Lord_Howe",  # half an hour of DST
    "Europe/Dublin",  # negative DST in tzdata
    "UTC",
]

moments = st.datetimes(
    min_value=datetime(1850, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300)
@given(moments=st.lists(moments, min_size=1, max_size=20), zone=st.sampled_from(ZONES))
def test_stored_moments_read_as_moment_writes_them(moments: list[datetime], zone: str) -> None:
    tz = ZoneInfo(zone)
    local = _local_moments(tz)
    for moment in moments:
        for nearby in (moment, moment + timedelta(seconds=17), moment + timedelta(minutes=1)):
            text = to_db(nearby)
            assert local(text) == _moment(from_db(text), tz)


def test_around_a_change_of_offset() -> None:
    tz = ZoneInfo("America/New_York")
    local = _local_moments(tz)
    change = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 02:00 EDT becomes 01:00 EST
    for seconds in range(-130, 130, 7):
        text = to_db(change + timedelta(seconds=seconds))
        assert local(text) == _moment(from_db(text), tz)


def test_texts_not_as_stored_today_are_read_the_long_way() -> None:
    tz = ZoneInfo("Europe/Moscow")
    local = _local_moments(tz)
    for text in (
        "2026-11-15T05:00:01+00:00",
        "2026-11-15T08:00:01.250000+03:00",
        datetime(2026, 11, 15, 5, tzinfo=timezone(timedelta(hours=2))).isoformat(),
    ):
        assert local(text) == _moment(from_db(text), tz)
