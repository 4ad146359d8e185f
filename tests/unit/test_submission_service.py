"""The submission service: due meters, usual consumption, receipts, idempotency, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FrozenClock
from bot.domain.meter_task import MeterTask, consumption_since
from bot.domain.periods import Period
from bot.domain.readings import (
    Accepted,
    PreviousReading,
    ReadingBelowPrevious,
    RolloverSuspected,
    UnusualConsumption,
)
from bot.domain.windows import SubmissionWindow
from bot.services.submissions import (
    NotAllowed,
    SubmissionService,
    Submitted,
    WindowClosed,
    months_between,
)
from bot.storage.accounts import AccountRepository, MeterRepository
from bot.storage.chats import LinkRepository
from bot.storage.db import Database
from bot.storage.reading_saves import receipt_number
from bot.storage.readings import ReadingRepository
from tests.seed import M, add_account

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

MSK = ZoneInfo("Europe/Moscow")
NOV_20 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHAT = 1001


def make_service(db: Database, clock: FrozenClock) -> SubmissionService:
    return SubmissionService(
        accounts=AccountRepository(db),
        meters=MeterRepository(db, MSK),
        readings=ReadingRepository(db),
        links=LinkRepository(db),
        clock=clock,
        tz=MSK,
        window=SubmissionWindow(15, 3),
    )


async def seed(db: Database, *meters: M) -> int:
    account = await add_account(db, "5012345678", "+79161234567", *meters)
    await LinkRepository(db).link(CHAT, account, NOV_20)
    return account


async def add_reading(db: Database, meter: int, period: str, *values: int) -> None:
    t1, t2, t3 = (*values, None, None, None)[:3]
    year, month = map(int, period.split("-"))
    await db.execute(
        "INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, receipt)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            meter,
            period,
            t1,
            t2,
            t3,
            datetime(year, month, 20, tzinfo=UTC).isoformat(),
            f"seed-{meter}-{period}",
        ),
    )


async def task_of(service: SubmissionService, account: int, serial: str) -> MeterTask:
    account_row = await service.accounts.get(account)
    assert account_row is not None
    overview = await service.overview(account_row)
    status = next(s for s in overview.meters if s.meter.serial == serial)
    (task,) = await service.tasks([status])
    return task


# --- which meters are due -----------------------------------------------------------------


async def test_overview_marks_done_open_and_closed_meters(db: Database) -> None:
    account = await seed(
        db,
        M("CW-1", "cold_water"),
        M("HW-2", "hot_water"),
        M("GAS-3", "gas", window=(1, 10)),
    )
    await add_reading(db, 1, "2026-11", 5)
    service = make_service(db, FrozenClock(NOV_20))
    account_row = await service.account_of_chat(CHAT)
    assert account_row is not None and account_row.id == account
    overview = await service.overview(account_row)
    by_serial = {s.meter.serial: s for s in overview.meters}
    assert (by_serial["CW-1"].is_open, by_serial["CW-1"].done) == (True, True)
    assert (by_serial["HW-2"].is_open, by_serial["HW-2"].done) == (True, False)
    assert by_serial["GAS-3"].is_open is False
    assert by_serial["GAS-3"].dates.opens == date(2026, 12, 1)
    assert [s.meter.serial for s in overview.due] == ["HW-2"]
    assert await service.due_count(account) == 1


async def test_the_date_is_taken_in_the_bot_time_zone(db: Database) -> None:
    await seed(db, M("CW-1", "cold_water"))
    # 21:30 UTC on Dec 3 is already Dec 4 in Moscow: the 15 → 3 window has closed
    service = make_service(db, FrozenClock(datetime(2026, 12, 3, 21, 30, tzinfo=UTC)))
    account = await service.account_of_chat(CHAT)
    assert account is not None
    assert (await service.overview(account)).open == []


# --- usual consumption ----------------------------------------------------------------------


async def test_usual_consumption_is_the_monthly_average_of_the_last_six_periods(
    db: Database,
) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    values = [0, 100, 110, 120, 130, 140, 150, 160]  # the first jump is older than six periods
    for month, value in zip(range(3, 11), values, strict=True):
        await add_reading(db, 1, f"2026-{month:02d}", value)
    task = await task_of(make_service(db, FrozenClock(NOV_20)), account, "CW-1")
    assert task.zones[0].recent == (10, 10, 10, 10, 10, 10)
    assert task.zones[0].previous == PreviousReading(160, date(2026, 10, 20))


async def test_gaps_between_readings_are_spread_over_their_months(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    await add_reading(db, 1, "2026-04", 0)
    await add_reading(db, 1, "2026-07", 30)  # three months: 10 a month
    await add_reading(db, 1, "2026-10", 90)  # three months: 20 a month
    task = await task_of(make_service(db, FrozenClock(NOV_20)), account, "CW-1")
    assert task.zones[0].recent == (10, 20)


async def test_usual_consumption_is_scaled_to_the_time_since_the_previous_reading(
    db: Database,
) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    for month, value in ((6, 100), (7, 105), (8, 110)):
        await add_reading(db, 1, f"2026-{month:02d}", value)
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "CW-1")
    assert task.zones[0].recent == (15, 15)  # 5 a month, three months since August
    assert isinstance(service.check(task, 0, 110 + 45), Accepted)  # not above 3 × 15
    assert isinstance(service.check(task, 0, 110 + 46), UnusualConsumption)


async def test_a_drop_between_readings_is_no_guide_to_consumption(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    for month, value in ((7, 500), (8, 10), (9, 20), (10, 30)):  # meter replaced in August
        await add_reading(db, 1, f"2026-{month:02d}", value)
    task = await task_of(make_service(db, FrozenClock(NOV_20)), account, "CW-1")
    assert task.zones[0].recent == (10, 10)


async def test_zones_are_judged_each_on_its_own(db: Database) -> None:
    account = await seed(db, M("EL-1", "electricity", tariffs=2))
    for month, t1, t2 in ((8, 600, 200), (9, 700, 250), (10, 800, 300)):
        await add_reading(db, 1, f"2026-{month:02d}", t1, t2)
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "EL-1")
    assert task.zones[0].previous == PreviousReading(800, date(2026, 10, 20))
    assert task.zones[1].previous == PreviousReading(300, date(2026, 10, 20))
    assert (task.zones[0].recent, task.zones[1].recent) == ((100, 100), (50, 50))
    assert isinstance(service.check(task, 1, 299), ReadingBelowPrevious)
    assert isinstance(service.check(task, 0, 1150), UnusualConsumption)  # 350 kWh
    assert isinstance(service.check(task, 1, 550), Accepted)  # 250 kWh: below the floor


async def test_rollover_is_judged_on_the_dial(db: Database) -> None:
    account = await seed(
        db, M("HW-1", "hot_water", digits=5, last=(99990,), last_date=date(2026, 10, 20))
    )
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "HW-1")
    assert service.check(task, 0, 20) == RolloverSuspected(30)
    assert consumption_since(task, 0, 20) == 30
    assert consumption_since(task, 0, 99995) == 5


async def test_task_survives_the_fsm_data_round_trip(db: Database) -> None:
    account = await seed(
        db, M("EL-1", "electricity", tariffs=3, digits=6, last=(1, 2, 3), window=(20, 25))
    )
    task = await task_of(make_service(db, FrozenClock(NOV_20)), account, "EL-1")
    assert MeterTask.from_data(task.to_data()) == task
    assert task.window == SubmissionWindow(20, 25)


def test_months_between_periods() -> None:
    assert months_between(Period(2026, 11), Period(2027, 2)) == 3
    assert months_between(Period(2026, 11), Period(2026, 11)) == 0


# --- receipts, idempotency, corrections -------------------------------------------------------


def test_receipt_number_is_the_period_and_the_sequence() -> None:
    assert receipt_number(42, Period(2027, 1)) == "2701-000042"
    assert receipt_number(1234567, Period(2026, 11)) == "2611-1234567"


async def test_receipts_are_numbered_in_sequence(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"), M("HW-2", "hot_water"))
    service = make_service(db, FrozenClock(NOV_20))
    receipts = []
    for serial, key in (("CW-1", "k1"), ("HW-2", "k2")):
        task = await task_of(service, account, serial)
        outcome = await service.submit(chat_id=CHAT, task=task, values=[5], request_key=key)
        assert isinstance(outcome, Submitted)
        receipts.append(outcome.reading.receipt)
    assert receipts == ["2611-000001", "2611-000002"]


async def test_recent_readings_are_the_newest_current_ones_of_each_meter(db: Database) -> None:
    await seed(db, M("CW-1", "cold_water"), M("HW-2", "hot_water"), M("EL-3", "electricity"))
    for month in range(1, 11):
        await add_reading(db, 1, f"2026-{month:02d}", month * 10)
    # September was corrected: the first submission is replaced
    await db.execute(
        "UPDATE readings SET replaced_at = '2026-09-21', receipt = 'first' WHERE period = '2026-09'"
    )
    await add_reading(db, 1, "2026-09", 95)
    await add_reading(db, 2, "2026-10", 7)
    found = await ReadingRepository(db).recent_current([1, 2, 3], per_meter=8)
    assert [(str(r.period), r.values) for r in found[1]] == [
        ("2026-10", (100,)),
        ("2026-09", (95,)),
        *((f"2026-{m:02d}", (m * 10,)) for m in range(8, 2, -1)),
    ]
    # the replaced first September submission (90) is not among them
    assert 90 not in [r.values[0] for r in found[1]]
    assert [r.values for r in found[2]] == [(7,)]
    assert found[3] == []


async def test_the_same_request_key_saves_once(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "CW-1")
    first = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="same")
    second = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="same")
    assert isinstance(first, Submitted) and isinstance(second, Submitted)
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.reading == first.reading
    assert await db.fetchval("SELECT count(*) FROM readings") == 1


async def test_a_correction_marks_the_earlier_submission_replaced(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water", last=(100,), last_date=date(2026, 10, 20)))
    clock = FrozenClock(NOV_20)
    service = make_service(db, clock)
    task = await task_of(service, account, "CW-1")
    first = await service.submit(chat_id=CHAT, task=task, values=[150], request_key="a")
    clock.advance(hours=1)
    correction = await task_of(service, account, "CW-1")
    assert correction.correction is True
    # judged against what came before the period, not against the submission it replaces
    assert correction.zones[0].previous == PreviousReading(100, date(2026, 10, 20))
    second = await service.submit(chat_id=CHAT, task=correction, values=[120], request_key="b")
    assert isinstance(first, Submitted) and isinstance(second, Submitted)
    assert first.reading.replaces is False
    assert second.reading.replaces is True
    rows = await db.fetchall("SELECT t1, replaced_at FROM readings ORDER BY id")
    assert rows[0]["t1"] == 150 and rows[0]["replaced_at"] == "2026-11-20T10:00:00.000000+00:00"
    assert rows[1]["t1"] == 120 and rows[1]["replaced_at"] is None
    history = await service.history(account)
    assert [r.values for r in history[0].readings] == [(120,), (150,)]


async def test_correction_is_judged_against_the_previous_period_reading(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water", last=(50,), last_date=date(2026, 9, 20)))
    await add_reading(db, 1, "2026-10", 100)
    await add_reading(db, 1, "2026-11", 150)
    task = await task_of(make_service(db, FrozenClock(NOV_20)), account, "CW-1")
    assert task.correction is True
    assert task.zones[0].previous == PreviousReading(100, date(2026, 10, 20))


async def test_a_closed_window_refuses_but_a_saved_key_still_answers(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    clock = FrozenClock(datetime(2026, 12, 3, 20, 0, tzinfo=UTC))
    service = make_service(db, clock)
    task = await task_of(service, account, "CW-1")
    saved = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="early")
    clock.advance(hours=2)  # Dec 4 in Moscow
    late = await service.submit(chat_id=CHAT, task=task, values=[6], request_key="late")
    assert late == WindowClosed(SubmissionWindow(15, 3).dates(Period(2026, 12)))
    again = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="early")
    assert isinstance(saved, Submitted) and isinstance(again, Submitted)
    assert again.duplicate and again.reading.receipt == saved.reading.receipt
    assert await db.fetchval("SELECT count(*) FROM readings") == 1


async def test_a_chat_no_longer_linked_cannot_submit(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "CW-1")
    await LinkRepository(db).unlink(CHAT, account)
    outcome = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="k")
    assert outcome == NotAllowed()
    assert await db.fetchval("SELECT count(*) FROM readings") == 0


async def test_a_meter_removed_meanwhile_cannot_be_submitted(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "CW-1")
    await db.execute("DELETE FROM meters WHERE id = ?", (task.meter_id,))
    outcome = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="k")
    assert outcome == NotAllowed()


async def test_a_chat_no_longer_linked_gets_no_receipt_for_an_earlier_key(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    service = make_service(db, FrozenClock(NOV_20))
    task = await task_of(service, account, "CW-1")
    saved = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="k")
    assert isinstance(saved, Submitted)
    await LinkRepository(db).unlink(CHAT, account)
    assert await service.submit(chat_id=CHAT, task=task, values=[5], request_key="k") == (
        NotAllowed()
    )
    assert await service.submit(chat_id=CHAT, task=task, values=[6], request_key="new") == (
        NotAllowed()
    )
    rows = await db.fetchall("SELECT request_key, replaced_at FROM readings")
    assert [tuple(row) for row in rows] == [("k", None)]


async def test_confirm_again_after_a_correction_returns_the_first_receipt(db: Database) -> None:
    account = await seed(db, M("CW-1", "cold_water"))
    clock = FrozenClock(NOV_20)
    service = make_service(db, clock)
    task = await task_of(service, account, "CW-1")
    first = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="a")
    clock.advance(hours=1)
    correction = await service.submit(chat_id=CHAT, task=task, values=[6], request_key="b")
    again = await service.submit(chat_id=CHAT, task=task, values=[5], request_key="a")
    assert isinstance(first, Submitted) and isinstance(correction, Submitted)
    assert isinstance(again, Submitted) and again.duplicate
    assert again.reading.receipt == first.reading.receipt == "2611-000001"
    assert again.reading.replaced_at is not None
    assert correction.reading.receipt == "2611-000002" and correction.reading.replaces
    current = await db.fetchall("SELECT request_key FROM readings WHERE replaced_at IS NULL")
    assert [row[0] for row in current] == ["b"]
