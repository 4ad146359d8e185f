"""Loading an import file into a real database (SPEC §3, §4): counts, upserts, no deletions."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.moments import to_db
from bot.services.importer import DEFAULT_ACCOUNT_PATTERN, ImportReport, format_report, import_file
from bot.services.importer import load as loading
from bot.services.importer.rows import FileCheck
from bot.services.stores import Spool
from bot.storage import imports, schema
from bot.storage.db import Database
from bot.storage.imports import import_repository

pytestmark = pytest.mark.usefixtures("engine")

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "accounts.csv"
HEADER = "account;phone;address;meter;resource;tariffs;digits;last_t1;last_t2;last_date"
SMALL = [
    HEADER,
    "5000000001;89161234567;ул. Мира, д. 1;W-1;cold_water;;5;10;;2026-11-01",
    "5000000001;89161234567;ул. Мира, д. 1;W-2;hot_water;;5;7;;2026-11-01",
    "5000000002;+7 903 111-22-33;ул. Мира, д. 2;E-1;electricity;2;6;100;50;2026-11-02",
]


def write(tmp_path: Path, lines: list[str], name: str = "accounts.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def load(db: Database, path: Path, **kwargs: Any) -> ImportReport:
    kwargs.setdefault("now", NOW)
    return await import_file(
        import_repository(db), path, account_pattern=DEFAULT_ACCOUNT_PATTERN, **kwargs
    )


def counts(report: ImportReport) -> tuple[int, ...]:
    return (
        report.accounts_created,
        report.accounts_updated,
        report.accounts_unchanged,
        report.meters_created,
        report.meters_updated,
        report.meters_unchanged,
    )


async def table(db: Database, name: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.fetchall(f"SELECT * FROM {name} ORDER BY id")]


async def writes_so_far(db: Database) -> object:
    """What changes with every row written, even with the same values: on SQLite the rows the
    writer connection has inserted, updated or deleted since it opened; on PostgreSQL each
    account's and meter's row version (a rewritten row is a new version, `xmin`)."""
    if db.dialect.postgres:
        return [
            tuple(row)
            for name in ("accounts", "meters")
            for row in await db.fetchall(f"SELECT id, CAST(xmin AS TEXT) FROM {name} ORDER BY id")
        ]
    async with db.transaction() as tx:
        return int(await tx.fetchval("SELECT total_changes()"))


async def meter_id(db: Database, serial: str) -> int:
    return int(await db.fetchval("SELECT id FROM meters WHERE serial = ?", (serial,)))


async def add_reading(db: Database, serial: str, t1: int = 12) -> None:
    await db.execute(
        "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt) VALUES (?, ?, ?, ?, ?)",
        (await meter_id(db, serial), "2026-11", t1, to_db(NOW), f"R-{serial}"),
    )


async def test_example_file_loads_with_the_right_counts(db: Database) -> None:
    report = await load(db, EXAMPLE)
    assert report.imported
    assert report.errors == []
    assert counts(report) == (12, 0, 0, 36, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM accounts") == 12
    assert await db.fetchval("SELECT count(*) FROM meters") == 36
    row = await db.fetchone(
        "SELECT phone, address, updated_at FROM accounts WHERE number = '5012345680'"
    )
    assert row is not None
    assert tuple(row) == (
        "+79255551234",
        "г. Химки, ул. Московская, д. 21, кв. 108",
        to_db(NOW),
    )
    own_window = await db.fetchone(
        "SELECT resource, window_start, window_end FROM meters WHERE serial = '23-330017'"
    )
    assert own_window is not None
    assert tuple(own_window) == ("cold_water", 20, 25)
    three_zones = await db.fetchone(
        "SELECT tariffs, digits, last_t1, last_t2, last_t3, last_date, verified_until "
        "FROM meters WHERE serial = '39845120'"
    )
    assert three_zones is not None
    assert tuple(three_zones) == (3, 6, 4521, 2210, 3105, "2026-11-03", "2032-03-31")
    assert format_report(report).splitlines() == [
        "Accounts: 12 created, 0 updated, 0 unchanged.",
        "Meters: 36 created, 0 updated, 0 unchanged.",
    ]


async def test_a_bad_file_imports_nothing_and_reports_every_bad_line(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        [
            *SMALL,
            "5000000003;89161234567;;G-1;water;;;;;",
            "5000000003;89161234567;;G-2;gas;;;;;",
            "5000000003;12;;G-3;gas;;;;;",
            "5000000001;89161234567;ул. Мира, д. 1;W-1;cold_water;;5;10;;2026-11-01",
        ],
    )
    report = await load(db, path)
    assert not report.imported
    assert [error.line for error in report.errors] == [5, 7, 8]
    for name in ("accounts", "meters", "readings"):
        assert await db.fetchval(f"SELECT count(*) FROM {name}") == 0
    text = format_report(report)
    assert text.splitlines()[0].startswith('line 5: resource "water"')
    assert text.splitlines()[-1] == (
        "3 of 7 rows are bad; nothing was imported. Fix them, or run again with --skip-invalid "
        "to import the good rows."
    )


async def test_a_missing_column_imports_nothing_even_when_skipping(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, ["account;meter;resource", "5000000001;W-1;gas"])
    report = await load(db, path, skip_invalid=True)
    assert not report.imported
    assert [str(error) for error in report.errors] == ["missing column: phone"]
    assert await db.fetchval("SELECT count(*) FROM accounts") == 0
    assert format_report(report) == "missing column: phone\nNothing was imported."


async def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        [
            *SMALL,
            "5000000003;89161234567;;G-1;water;;;;;",  # bad resource
            "5000000004;89161234567;;G-2;gas;;;;;",
            "5000000001;89161234567;ул. Мира, д. 1;W-1;cold_water;;5;11;;2026-11-01",  # dup
            "5000000002;89031234567;ул. Мира, д. 2;E-2;gas;;;;;",  # another phone
        ],
    )
    report = await load(db, path, skip_invalid=True)
    assert report.imported
    assert [error.line for error in report.errors] == [5, 7, 8]
    assert counts(report) == (3, 0, 0, 4, 0, 0)
    numbers = await db.fetchall("SELECT number FROM accounts ORDER BY number")
    assert [row[0] for row in numbers] == ["5000000001", "5000000002", "5000000004"]
    serials = await db.fetchall("SELECT serial FROM meters ORDER BY serial")
    assert [row[0] for row in serials] == ["E-1", "G-2", "W-1", "W-2"]
    assert await db.fetchval("SELECT last_t1 FROM meters WHERE serial = 'W-1'") == 10
    assert format_report(report).splitlines()[-1] == "3 of 7 rows are bad and were skipped."


async def test_reimporting_the_same_file_changes_nothing(db: Database, tmp_path: Path) -> None:
    await load(db, EXAMPLE)
    accounts, meters = await table(db, "accounts"), await table(db, "meters")
    changes_before = await writes_so_far(db)
    if isinstance(changes_before, int):
        assert changes_before >= 48  # the first import wrote 12 accounts and 36 meters

    report = await load(db, EXAMPLE, now=LATER)

    assert report.imported
    assert counts(report) == (0, 0, 12, 0, 0, 36)
    assert report.unchanged == 48
    assert await table(db, "accounts") == accounts  # updated_at kept: nothing was touched
    assert await table(db, "meters") == meters
    assert await writes_so_far(db) == changes_before


async def test_a_changed_phone_updates_exactly_that_account(db: Database, tmp_path: Path) -> None:
    await load(db, write(tmp_path, SMALL))
    before = await table(db, "accounts")
    meters = await table(db, "meters")
    changed = [line.replace("89161234567", "8 916 765-43-21") for line in SMALL]

    report = await load(db, write(tmp_path, changed, "changed.csv"), now=LATER)

    assert counts(report) == (0, 1, 1, 0, 0, 3)
    after = await table(db, "accounts")
    assert after[0] == (
        before[0][0],
        "5000000001",
        "+79167654321",
        "ул. Мира, д. 1",
        to_db(LATER),
        None,  # els
        None,  # closed_at
    )
    assert after[1] == before[1]
    assert await table(db, "meters") == meters


async def test_a_changed_meter_updates_exactly_that_meter(db: Database, tmp_path: Path) -> None:
    await load(db, write(tmp_path, SMALL))
    accounts, before = await table(db, "accounts"), await table(db, "meters")
    changed = [*SMALL[:2], SMALL[2].replace(";5;7;;2026-11-01", ";6;9;;2026-11-20"), SMALL[3]]

    report = await load(db, write(tmp_path, changed, "changed.csv"), now=LATER)

    assert counts(report) == (0, 0, 2, 0, 1, 2)
    after = await table(db, "meters")
    assert after[0] == before[0]
    assert after[2] == before[2]
    assert after[1][0] == before[1][0]  # the same meter, updated in place
    assert after[1][5] == 6  # digits
    assert after[1][9:13] == (9, None, None, "2026-11-20")
    assert await table(db, "accounts") == accounts


async def test_an_empty_cell_clears_the_stored_value(db: Database, tmp_path: Path) -> None:
    await load(db, write(tmp_path, SMALL))
    cleared = [*SMALL[:3], SMALL[3].replace(";ул. Мира, д. 2;", ";;")]
    report = await load(db, write(tmp_path, cleared, "cleared.csv"))
    assert counts(report) == (0, 1, 1, 0, 0, 3)
    address = await db.fetchval("SELECT address FROM accounts WHERE number = '5000000002'")
    assert address is None


async def test_no_import_deletes_anything(db: Database, tmp_path: Path) -> None:
    await load(db, write(tmp_path, SMALL))
    only_one = [HEADER, "5000000009;89169999999;;N-1;gas;;;;;"]
    report = await load(db, write(tmp_path, only_one, "one.csv"))
    assert counts(report) == (1, 0, 0, 1, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM accounts") == 3
    assert await db.fetchval("SELECT count(*) FROM meters") == 4


async def test_submitted_readings_survive_every_reimport(db: Database, tmp_path: Path) -> None:
    await load(db, write(tmp_path, SMALL))
    await add_reading(db, "W-1")
    await add_reading(db, "E-1", 120)
    readings = await table(db, "readings")

    await load(db, write(tmp_path, SMALL))
    assert await table(db, "readings") == readings

    changed = [
        HEADER,
        "5000000001;89167654321;ул. Мира, д. 1а;W-1;cold_water;;6;15;;2026-11-20",
        "5000000002;+7 903 111-22-33;;E-1;electricity;3;;;;",  # zones and last values cleared
    ]
    report = await load(db, write(tmp_path, changed, "changed.csv"))
    assert counts(report) == (0, 2, 0, 0, 2, 0)
    assert await table(db, "readings") == readings
    assert readings[0][1] == await meter_id(db, "W-1")


async def test_progress_counts_up_to_the_total(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "BATCH_SIZE", 10)
    calls: list[tuple[int, int]] = []
    report = await load(db, EXAMPLE, progress=lambda done, total: calls.append((done, total)))
    assert report.imported
    assert calls == [(10, 36), (20, 36), (30, 36), (36, 36)]


async def test_an_account_split_across_batches_is_counted_once(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    lines = [HEADER] + [
        f"50000000{number:02d};89161234567;;M-{index};gas;;;;;"
        for index, number in enumerate([1, 2, 3, 1, 4, 5, 1, 2])
    ]
    report = await load(db, write(tmp_path, lines))
    assert counts(report) == (5, 0, 0, 8, 0, 0)
    report = await load(db, write(tmp_path, lines))
    assert counts(report) == (0, 0, 5, 0, 0, 8)
    meters = await db.fetchval(
        "SELECT count(*) FROM meters JOIN accounts ON accounts.id = account_id "
        "WHERE number = '5000000001'"
    )
    assert meters == 3


async def test_an_error_on_a_later_batch_leaves_the_database_as_it_was(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(db, write(tmp_path, SMALL))
    await add_reading(db, "W-1")
    before = {name: await table(db, name) for name in ("accounts", "meters", "readings")}
    monkeypatch.setattr(imports, "BATCH_SIZE", 5)
    upsert = imports.upsert_staged
    calls = 0

    async def failing_on_the_third_batch(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the disk is full")
        return await upsert(*args, **kwargs)

    monkeypatch.setattr(imports, "upsert_staged", failing_on_the_third_batch)
    with pytest.raises(RuntimeError, match="the disk is full"):
        await load(db, EXAMPLE)
    assert calls == 3
    assert {name: await table(db, name) for name in before} == before


async def test_an_import_cancelled_while_its_file_is_checked_stops_the_check_before_closing(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or the bot stopping) while a thread checks the file: the import ends only after
    that thread has stopped, so its stage is never closed under it (which crashed the
    process), and nothing is imported."""
    started, ended = threading.Event(), threading.Event()
    seen: list[str] = []

    def endless_check(path: Path, spool: Spool, **kwargs: Any) -> FileCheck:
        started.set()
        try:
            for _ in range(300):  # a file that takes seconds to check, a batch at a time
                spool.write([])
                list(spool.rows_of(["5000000001"]))
                time.sleep(0.01)
            seen.append("checked to the end")
        except Exception as exc:  # the stage closed under the thread, or told to stop
            seen.append(type(exc).__name__)
            raise
        finally:
            ended.set()
        return FileCheck()

    monkeypatch.setattr(loading, "check_into", endless_check)
    task = asyncio.create_task(load(db, write(tmp_path, SMALL)))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended.is_set()  # not left running on a stage about to close
    assert seen == ["_Stopped"]  # stopped at its next batch, never on a closed stage
    assert await db.fetchval("SELECT count(*) FROM accounts") == 0


class Interrupted(Exception):
    pass


async def checksums(db: Database) -> dict[str, tuple[int, str]]:
    """Every table of the schema: how many rows, and a checksum of them all."""
    sums = {}
    for table in schema.metadata.sorted_tables:
        order = ", ".join(str(n) for n in range(1, len(table.columns) + 1))
        rows = [tuple(r) for r in await db.fetchall(f"SELECT * FROM {table.name} ORDER BY {order}")]
        sums[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return sums


async def seed_linked_chat(db: Database, account: str) -> None:
    """A chat linked to ``account`` (its current one), with a code on its way: what a changed
    phone in a later file ends."""
    at = to_db(NOW)
    account_id = await db.fetchval("SELECT id FROM accounts WHERE number = ?", (account,))
    await db.execute(
        "INSERT INTO chats (chat_id, locale, current_account_id, created_at) VALUES (?, ?, ?, ?)",
        (501, "ru", account_id, at),
    )
    await db.execute("INSERT INTO links VALUES (?, ?, ?)", (501, account_id, at))
    await db.execute(
        "INSERT INTO otp_codes (chat_id, account_id, code_hash, expires_at, sent_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (501, account_id, "hash", to_db(LATER), at),
    )


async def test_a_failure_mid_load_leaves_every_table_as_it_was_and_the_next_import_loads(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(db, write(tmp_path, SMALL))
    await add_reading(db, "W-1")
    await seed_linked_chat(db, "5000000001")
    before = await checksums(db)
    # the flat's phone changes (its links end, a notice is queued) and new accounts come
    sold = [line.replace("89161234567", "89035556677") for line in SMALL] + [
        f"50000001{n:02d};89160000000;;N-{n};gas;;;;;" for n in range(10)
    ]
    path = write(tmp_path, sold, "sold.csv")
    monkeypatch.setattr(imports, "BATCH_SIZE", 3)
    calls: list[tuple[int, int]] = []

    def interrupted(done: int, total: int) -> None:
        calls.append((done, total))
        if len(calls) == 2:
            raise Interrupted  # the terminal that shows `python -m bot import`'s progress, gone

    with pytest.raises(Interrupted):
        await load(db, path, now=LATER, progress=interrupted)

    assert calls == [(3, 13), (6, 13)]
    assert await checksums(db) == before
    report = await load(db, path, now=LATER)
    assert counts(report) == (10, 1, 1, 10, 0, 3)
    assert report.links_ended == 1
    assert await db.fetchval("SELECT count(*) FROM links") == 0
    assert await db.fetchval("SELECT current_account_id FROM chats") is None
