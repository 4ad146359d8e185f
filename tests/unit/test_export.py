"""Export (SPEC §4) and the operators' figures (§3)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FrozenClock
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.services.export import (
    ExportService,
    Stats,
    collect_stats,
    default_period,
    export_period,
    format_stats,
)
from bot.storage.chats import LinkRepository
from bot.storage.db import Database
from bot.storage.readings import ReadingRepository
from tests.seed import M, add_account

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

MSK = ZoneInfo("Europe/Moscow")
EXPORT_HEADER_LINE = "account,meter,resource,period,t1,t2,t3,submitted_at,receipt"


def service(db: Database, now: datetime) -> ExportService:
    return ExportService(
        readings=ReadingRepository(db),
        clock=FrozenClock(now),
        tz=MSK,
        window=SubmissionWindow(15, 3),
    )


async def reading(
    db: Database,
    meter: int,
    period: str,
    values: tuple[int, ...],
    at: datetime,
    receipt: str,
    replaced_at: datetime | None = None,
) -> None:
    t1, t2, t3 = (*values, None, None, None)[:3]
    await db.execute(
        "INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, receipt, replaced_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            meter,
            period,
            t1,
            t2,
            t3,
            at.isoformat(),
            receipt,
            replaced_at.isoformat() if replaced_at else None,
        ),
    )


NOV = datetime(2026, 11, 20, 21, 30, 5, 123456, tzinfo=UTC)  # Nov 21 00:30 in Moscow


async def seed(db: Database) -> None:
    first = await add_account(
        db,
        "5012345678",
        "+79161234567",
        M("CW-1", "cold_water"),  # meter 1
        M("EL-2", "electricity", tariffs=3),  # meter 2
    )
    await add_account(db, "5000000001", "+79160000001", M("GAS-3", "gas"))  # meter 3
    await add_account(db, "5000000002", "+79160000002", M("HW-4", "hot_water"))  # meter 4
    await LinkRepository(db).link(1001, first, datetime(2026, 11, 1, tzinfo=UTC))
    await LinkRepository(db).link(1002, first, datetime(2026, 11, 1, tzinfo=UTC))
    nov = datetime(2026, 11, 20, 21, 30, 5, 123456, tzinfo=UTC)  # Nov 21 00:30 in Moscow
    await reading(db, 1, "2026-11", (105,), nov, "2611-000001", replaced_at=nov)
    await reading(db, 1, "2026-11", (104,), nov, "2611-000002")
    await reading(db, 2, "2026-11", (1200, 300, 450), nov, "2611-000003")
    await reading(db, 3, "2026-10", (10,), datetime(2026, 10, 20, tzinfo=UTC), "2610-000004")
    await reading(db, 3, "2026-11", (12,), nov, "2611-000005")


async def test_export_writes_one_row_per_meter_with_its_current_reading(db: Database) -> None:
    await seed(db)
    out = io.StringIO()
    rows = await export_period(ReadingRepository(db), Period(2026, 11), out, MSK)
    assert rows == 3
    assert out.getvalue() == (
        "account,meter,resource,period,t1,t2,t3,submitted_at,receipt\n"
        "5000000001,GAS-3,gas,2026-11,12,,,2026-11-21T00:30:05+03:00,2611-000005\n"
        "5012345678,CW-1,cold_water,2026-11,104,,,2026-11-21T00:30:05+03:00,2611-000002\n"
        "5012345678,EL-2,electricity,2026-11,1200,300,450,2026-11-21T00:30:05+03:00,2611-000003\n"
    )


async def test_current_readings_of_a_period_come_a_chunk_at_a_time_in_the_csv_order(
    db: Database,
) -> None:
    await seed(db)
    chunks = [
        [tuple(row) for row in rows]
        async for rows in ReadingRepository(db).current_of_period(Period(2026, 11), chunk=2)
    ]
    assert [len(rows) for rows in chunks] == [2, 1]
    assert [(row[0], row[1], row[8]) for rows in chunks for row in rows] == [
        ("5000000001", "GAS-3", "2611-000005"),
        ("5012345678", "CW-1", "2611-000002"),
        ("5012345678", "EL-2", "2611-000003"),
    ]


async def test_export_writes_any_serial_and_number_as_the_same_bytes_on_every_engine(
    db: Database,
) -> None:
    """PostgreSQL's export comes by COPY as text; whatever a cell holds, the file is the one
    SQLite's path writes (this test runs on both engines against the same bytes), in byte
    order of account, then serial."""
    odd = ["b\\N", "tab\there", 'say "hi"', "a,b", "line\nbreak", "Ёж", "B", "\\"]
    await add_account(db, "5000000009", "+79160000009", *(M(s, "gas") for s in odd))
    await add_account(db, "50000000A", "+79160000010", M("x", "heat"))
    for meter in range(1, len(odd) + 2):
        await reading(db, meter, "2026-11", (meter, 0), NOV, f"r\\{meter}")
    out = io.StringIO()
    assert await export_period(ReadingRepository(db), Period(2026, 11), out, MSK) == 9
    at = "2026-11-21T00:30:05+03:00"
    assert out.getvalue() == (
        f"{EXPORT_HEADER_LINE}\n"
        f"5000000009,B,gas,2026-11,7,0,,{at},r\\7\n"
        f"5000000009,\\,gas,2026-11,8,0,,{at},r\\8\n"
        f'5000000009,"a,b",gas,2026-11,4,0,,{at},r\\4\n'
        f"5000000009,b\\N,gas,2026-11,1,0,,{at},r\\1\n"
        f'5000000009,"line\nbreak",gas,2026-11,5,0,,{at},r\\5\n'
        f'5000000009,"say ""hi""",gas,2026-11,3,0,,{at},r\\3\n'
        f"5000000009,tab\there,gas,2026-11,2,0,,{at},r\\2\n"
        f"5000000009,Ёж,gas,2026-11,6,0,,{at},r\\6\n"
        f"50000000A,x,heat,2026-11,9,0,,{at},r\\9\n"
    )


async def test_an_export_stopped_part_way_leaves_the_database_answering(db: Database) -> None:
    await seed(db)
    async for rows in ReadingRepository(db).current_of_period(Period(2026, 11), chunk=1):
        assert len(rows) == 1
        break  # the file could not be written, say
    assert await db.fetchval("SELECT count(*) FROM readings") == 5


async def test_export_of_a_period_without_readings_is_the_header(db: Database) -> None:
    await seed(db)
    out = io.StringIO()
    assert await export_period(ReadingRepository(db), Period(2026, 9), out, MSK) == 0
    assert out.getvalue() == "account,meter,resource,period,t1,t2,t3,submitted_at,receipt\n"


async def test_export_offset_follows_the_time_zone(db: Database) -> None:
    await seed(db)
    out = io.StringIO()
    await export_period(
        ReadingRepository(db), Period(2026, 10), out, ZoneInfo("Asia/Yekaterinburg")
    )
    assert out.getvalue().splitlines()[1] == (
        "5000000001,GAS-3,gas,2026-10,10,,,2026-10-20T05:00:00+05:00,2610-000004"
    )


async def test_account_history_keeps_replaced_submissions(db: Database) -> None:
    await seed(db)
    exports = service(db, datetime(2026, 11, 22, tzinfo=UTC))
    text = (await exports.account_history_csv(1)).decode("utf-8")
    assert text.splitlines() == [
        "account,meter,resource,period,t1,t2,t3,submitted_at,receipt,replaced_at",
        "5012345678,CW-1,cold_water,2026-11,105,,,2026-11-21T00:30:05+03:00,2611-000001,"
        "2026-11-21T00:30:05+03:00",
        "5012345678,CW-1,cold_water,2026-11,104,,,2026-11-21T00:30:05+03:00,2611-000002,",
        "5012345678,EL-2,electricity,2026-11,1200,300,450,2026-11-21T00:30:05+03:00,2611-000003,",
    ]


@pytest.mark.parametrize(
    ("today", "period"),
    [
        (date(2026, 11, 20), Period(2026, 11)),  # open
        (date(2026, 12, 3), Period(2026, 11)),  # open, last day
        (date(2026, 12, 4), Period(2026, 11)),  # closed: the last one
        (date(2026, 12, 14), Period(2026, 11)),
        (date(2026, 12, 15), Period(2026, 12)),
        (date(2027, 1, 10), Period(2026, 12)),  # across the year end
    ],
)
def test_default_period_is_the_open_or_the_last_window(today: date, period: Period) -> None:
    assert default_period(SubmissionWindow(15, 3), today) == period


def test_default_period_of_a_window_within_one_month() -> None:
    window = SubmissionWindow(20, 25)
    assert default_period(window, date(2026, 11, 19)) == Period(2026, 10)
    assert default_period(window, date(2026, 11, 20)) == Period(2026, 11)
    assert default_period(window, date(2026, 11, 26)) == Period(2026, 11)


async def test_stats_count_chats_accounts_meters_and_submissions(db: Database) -> None:
    await seed(db)
    stats = await collect_stats(ReadingRepository(db), Period(2026, 11), date(2026, 11, 20))
    assert stats == Stats(
        period=Period(2026, 11),
        linked_chats=2,
        accounts=3,
        linked_accounts=1,
        meters=4,
        meters_with_reading=3,
        submissions=4,
        corrections=1,
    )
    assert stats.share == 0.75
    assert format_stats(stats) == (
        "period:               2026-11\n"
        "linked chats:         2\n"
        "accounts:             3 (1 linked)\n"
        "meters:               4\n"
        "meters with reading:  3 (75.0%)\n"
        "submissions:          4 (1 replaced)"
    )


async def test_stats_default_to_the_window_period(db: Database) -> None:
    await seed(db)
    closed = await collect_stats(ReadingRepository(db), None, date(2026, 12, 10))
    assert closed.period == Period(2026, 11)
    own = await collect_stats(
        ReadingRepository(db), None, date(2026, 11, 2), window=SubmissionWindow(1, 10)
    )
    assert own.period == Period(2026, 11)
    assert (await collect_stats(ReadingRepository(db), None, date(2026, 10, 25))).period == Period(
        2026, 10
    )


async def test_stats_of_an_empty_database(db: Database) -> None:
    stats = await collect_stats(ReadingRepository(db), Period(2026, 11), date(2026, 11, 20))
    assert (stats.meters, stats.share) == (0, 0.0)


async def test_the_service_exports_the_period_asked_for_as_utf8_csv(db: Database) -> None:
    await seed(db)
    exported = await service(db, datetime(2026, 11, 22, tzinfo=UTC)).period_csv(Period(2026, 10))
    assert (exported.period, exported.rows) == (Period(2026, 10), 1)
    assert exported.csv.decode("utf-8").splitlines() == [
        "account,meter,resource,period,t1,t2,t3,submitted_at,receipt",
        "5000000001,GAS-3,gas,2026-10,10,,,2026-10-20T03:00:00+03:00,2610-000004",
    ]


async def test_the_service_exports_the_last_window_by_default_in_its_time_zone(
    db: Database,
) -> None:
    await seed(db)
    # Dec 14 21:30 UTC is already Dec 15 in Moscow: the December window has opened
    opened = await service(db, datetime(2026, 12, 14, 21, 30, tzinfo=UTC)).period_csv(None)
    assert (opened.period, opened.rows) == (Period(2026, 12), 0)
    closed = await service(db, datetime(2026, 12, 14, 20, 30, tzinfo=UTC)).period_csv(None)
    assert (closed.period, closed.rows) == (Period(2026, 11), 3)


async def test_the_service_counts_the_figures_of_the_period_asked_for_or_the_last(
    db: Database,
) -> None:
    await seed(db)
    exports = service(db, datetime(2026, 12, 10, tzinfo=UTC))
    assert await exports.stats(None) == await collect_stats(
        ReadingRepository(db), Period(2026, 11), date(2026, 12, 10)
    )
    october = await exports.stats(Period(2026, 10))
    assert (october.period, october.meters_with_reading, october.submissions) == (
        Period(2026, 10),
        1,
        1,
    )
