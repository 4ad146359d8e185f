"""The operators' chart (issue 13, part 7): share of meters read by day of the submission
window, this period against the two before, sent with /stats and written by
`python -m bot stats --chart FILE`."""

from __future__ import annotations

import struct
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.charts import ChartText
from bot.domain.moments import to_db
from bot.domain.periods import Period
from bot.services.progress import ReadingProgress
from bot.storage.readings import ReadingRepository
from tests.e2e.test_cli_refusals import cli
from tests.harness import BotHarness
from tests.seed import M, add_account

MSK = ZoneInfo("Europe/Moscow")  # the harness's TIMEZONE; its clock: 2026-11-20 12:00 here
ADMIN = 777
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header, which must be one."""
    assert data.startswith(PNG_MAGIC), data[:16]
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def submitted(harness: BotHarness, meter: str, period: str, at: datetime) -> None:
    """A reading of `meter` for `period` at `at`, replacing the meter's earlier one."""
    meter_id = await harness.db.fetchval("SELECT id FROM meters WHERE serial = ?", (meter,))
    await harness.db.execute(
        "UPDATE readings SET replaced_at = :at WHERE meter_id = :meter AND period = :period"
        " AND replaced_at IS NULL",
        {"meter": meter_id, "period": period, "at": to_db(at)},
    )
    await harness.db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt)"
        " VALUES (:meter, :period, 1, :at, :receipt)",
        {
            "meter": meter_id,
            "period": period,
            "at": to_db(at),
            "receipt": f"{meter}-{period}-{at.isoformat()}",
        },
    )


@pytest.fixture
async def seeded(harness: BotHarness) -> BotHarness:
    """Four meters; windows 15 → 3 (the default): November's opened on the 15th, today is
    its sixth day; October's ran 15 Oct – 3 Nov (20 days), September's 15 Sep – 3 Oct (19)."""
    await add_account(
        harness.db, "5012345678", "+79161234567", *(M(f"CW-{n}", "cold_water") for n in "ABCD")
    )
    await submitted(harness, "CW-A", "2026-11", datetime(2026, 11, 15, 10, 0, tzinfo=MSK))
    # a correction on day 5 does not move the day the meter was first read
    await submitted(harness, "CW-A", "2026-11", datetime(2026, 11, 19, 10, 0, tzinfo=MSK))
    # half past midnight in Moscow is still the 15th in UTC: the day is the local one
    await submitted(harness, "CW-B", "2026-11", datetime(2026, 11, 16, 0, 30, tzinfo=MSK))
    await submitted(harness, "CW-A", "2026-10", datetime(2026, 10, 15, 9, 0, tzinfo=MSK))
    await submitted(harness, "CW-B", "2026-10", datetime(2026, 10, 20, 23, 59, tzinfo=MSK))
    await submitted(harness, "CW-C", "2026-10", datetime(2026, 11, 3, 21, 0, tzinfo=MSK))
    return harness


async def test_share_read_by_day_of_the_window_three_periods(seeded: BotHarness) -> None:
    progress = await seeded.app.services.exports.progress(Period(2026, 11))
    assert progress.meters == 4
    november, october, september = progress.periods
    assert [p.period for p in progress.periods] == [
        Period(2026, 11),
        Period(2026, 10),
        Period(2026, 9),
    ]
    assert november.days == 19  # shown up to today, the 20th: day 6
    assert november.shares == (0.25, 0.5, 0.5, 0.5, 0.5, 0.5)
    assert october.days == 20
    assert october.shares == (0.25,) * 5 + (0.5,) * 14 + (0.75,)
    assert september.days == 19 and september.shares == (0.0,) * 19
    assert progress.days == 20


async def test_the_count_in_slices_of_meters_adds_up(seeded: BotHarness) -> None:
    """The chart's count goes a slice of meter ids at a time (other reads get in between)."""
    ends = [datetime(2026, 11, day, tzinfo=MSK) for day in (16, 17, 20)]
    readings = ReadingRepository(seeded.db)
    whole = await readings.meters_read_by(Period(2026, 11), ends)
    assert whole == [1, 2, 2]
    for chunk in (1, 2, 3):
        assert await readings.meters_read_by(Period(2026, 11), ends, chunk=chunk) == whole


async def test_a_window_not_open_yet_has_no_days(seeded: BotHarness) -> None:
    progress = await seeded.app.services.exports.progress(Period(2026, 12))
    assert progress.periods[0].shares == ()
    assert progress.periods[1].shares == (0.25, 0.5, 0.5, 0.5, 0.5, 0.5)


async def test_stats_sends_the_chart_as_a_photo(seeded: BotHarness) -> None:
    admin = seeded.chat(ADMIN)
    await admin.send("/stats")
    text, chart = admin.replies
    assert "Статистика за ноябрь 2026" in text.text
    assert chart.photo is not None
    name, png = chart.photo
    assert name == "stats-2026-11.png"
    assert png_size(png) == (800, 450)
    assert len(png) > 10_000  # lines, axes and words, not an empty canvas

    await admin.send("/stats 2026-09")  # a period without a reading draws all the same
    assert admin.replies[1].photo is not None
    assert admin.replies[1].photo[0] == "stats-2026-09.png"
    assert png_size(admin.replies[1].photo[1]) == (800, 450)


async def test_the_chart_is_drawn_off_the_event_loop(
    seeded: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drawing takes ~0.1 s of CPU: in a worker thread, so other chats are not held up."""
    import threading

    import bot.handlers.admin as admin_handlers

    drawn_in: list[str] = []
    draw = admin_handlers.progress_png

    def recording(progress: ReadingProgress, text: ChartText) -> bytes:
        drawn_in.append(threading.current_thread().name)
        return draw(progress, text)

    monkeypatch.setattr(admin_handlers, "progress_png", recording)
    await seeded.chat(ADMIN).send("/stats")
    assert drawn_in and drawn_in[0] != threading.main_thread().name


def test_the_command_line_writes_the_same_chart(seeded: BotHarness, tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    result = cli(
        tmp_path,
        "stats",
        "--period",
        "2026-11",
        "--chart",
        str(out),
        DATABASE_URL=seeded.app.settings.database_url,
    )
    assert result.returncode == 0, result.stderr
    assert "period:               2026-11" in result.stdout
    assert f"chart written to {out}" in result.stderr
    assert png_size(out.read_bytes()) == (800, 450)

    refused = cli(tmp_path, "stats", "--chart", str(tmp_path / "nowhere" / "chart.png"))
    assert refused.returncode != 0 and "does not exist" in refused.stderr
