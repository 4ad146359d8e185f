"""Scale of data (issue 5, target 3; issue 11 on PostgreSQL): `python -m bench.data`
[--engine postgresql].

1. Import: bench/gen_accounts.py writes 1,000,000 accounts with about 2,500,000 meters (one row
   per meter) into a temporary directory; `import_file` loads them into a fresh database, as
   `python -m bot import FILE` does. Rows per second = data rows / time from calling
   `import_file` to its return (checking every row, then writing). The database size is that
   of the file after a checkpoint.
2. Readings: 1,000,000 current readings for one period (plus 20,000 earlier submissions the
   residents corrected, marked replaced), seeded with one INSERT ... SELECT over the meters,
   inside SQLite: every meter whose id is 1 or 3 modulo 5, in id order, up to a million.
3. One resident's meters with their last readings: `MeterRepository.of_account` on random
   accounts (seeded), through the bot's Database (its reader thread), each call timed alone.
4. Export: `export_period` of that period to a file; the file must hold exactly the current
   readings, one line each, after the header.
4b. Export as a workbook (issue 13; skipped with --no-xlsx): ten accounts are first renumbered
   with leading zeros ("0000000001"), their serials too ("010-123456"), as a spreadsheet would
   drop them; then `export_period_xlsx` of the period to a file (time, size). Checked: it
   reports every current reading, and the first 1,000 rows read back hold account and meter
   as text, those ten accounts' rows first with their zeros.
5. The /stats chart (issue 13): `collect_progress` for that period and the two before it
   (through the bot's Database, a slice of meters per query), with a `SELECT 1` every 10 ms
   beside it standing for the residents' reads (the longest wait is printed); then
   `progress_png` drawing it, each timed (the first drawing includes matplotlib's import).

With `--engine postgresql` the same runs on a schema of its own on the PostgreSQL at
TEST_POSTGRES_URL (the tests' default when unset), with issue 11's targets; the readings are
seeded by the same INSERT ... SELECT in PostgreSQL's spelling, then VACUUM ANALYZE stands in
for the autovacuum that follows such a load within a minute. The import's time is split into
checking the file (into the stage) and loading the stage into the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import gen_accounts
from bench.postgres import bench_schema, server_url
from bot.charts import ChartText, progress_png
from bot.domain.models import FullSnapshot, Loaded, Upserted
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow
from bot.services.export import export_period, export_period_xlsx
from bot.services.importer import import_file
from bot.services.progress import collect_progress
from bot.storage.accounts import MeterRepository
from bot.storage.db import Database
from bot.storage.engines import open_database
from bot.storage.import_stage import ImportStage
from bot.storage.imports import import_repository
from bot.storage.readings import ReadingRepository

ACCOUNTS = 1_000_000
READINGS = 1_000_000
CORRECTED = 20_000
SAMPLES = 3_000
WARM_UP = 200
PERIOD = Period(2026, 11)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Moscow")
TARGET_P99_MS = 1.0

# Corrections first (lower ids, replaced), then the current readings: every meter with id 1 or
# 3 modulo 5, in id order, up to :readings. Values follow the meter's last imported reading;
# submission moments spread over the window's first days, in UTC as the bot stores them.
# strftime(...) as `to_db` writes a moment: UTC, microseconds, "+00:00"
_AT = "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', '{start}', '+' || ({spread}) || ' seconds')"
SEED_READINGS = f"""
INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt, replaced_at)
SELECT id, :period, coalesce(last_t1, 0) + 1,
       CASE WHEN tariffs >= 2 THEN coalesce(last_t2, 0) + 1 END,
       CASE WHEN tariffs = 3 THEN coalesce(last_t3, 0) + 1 END,
       {_AT.format(start="2026-11-15 05:00:00", spread="id % 86400")},
       10000000 + account_id, printf('%s-c%07d', :tag, id),
       {_AT.format(start="2026-11-16 05:00:00", spread="id % 86400")}
FROM meters WHERE id % 5 IN (1, 3) ORDER BY id LIMIT :corrected;
INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt)
SELECT id, :period, coalesce(last_t1, 0) + 7 + id % 40,
       CASE WHEN tariffs >= 2 THEN coalesce(last_t2, 0) + 3 + id % 20 END,
       CASE WHEN tariffs = 3 THEN coalesce(last_t3, 0) + 1 + id % 10 END,
       {_AT.format(start="2026-11-15 05:00:00", spread="id % 1500000")},
       10000000 + account_id, printf('%s-%07d', :tag, id)
FROM meters WHERE id % 5 IN (1, 3) ORDER BY id LIMIT :readings;
"""


# The same readings in PostgreSQL's spelling.
_PG_AT = (
    "to_char(TIMESTAMP '{start}' + ({spread}) * INTERVAL '1 second',"
    ' \'YYYY-MM-DD"T"HH24:MI:SS".000000+00:00"\')'
)
PG_SEED_READINGS = f"""
INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt, replaced_at)
SELECT id, :period, coalesce(last_t1, 0) + 1,
       CASE WHEN tariffs >= 2 THEN coalesce(last_t2, 0) + 1 END,
       CASE WHEN tariffs = 3 THEN coalesce(last_t3, 0) + 1 END,
       {_PG_AT.format(start="2026-11-15 05:00:00", spread="id % 86400")},
       10000000 + account_id, :tag || '-c' || lpad(CAST(id AS TEXT), 7, '0'),
       {_PG_AT.format(start="2026-11-16 05:00:00", spread="id % 86400")}
FROM meters WHERE id % 5 IN (1, 3) ORDER BY id LIMIT :corrected;
INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt)
SELECT id, :period, coalesce(last_t1, 0) + 7 + id % 40,
       CASE WHEN tariffs >= 2 THEN coalesce(last_t2, 0) + 3 + id % 20 END,
       CASE WHEN tariffs = 3 THEN coalesce(last_t3, 0) + 1 + id % 10 END,
       {_PG_AT.format(start="2026-11-15 05:00:00", spread="id % 1500000")},
       10000000 + account_id, :tag || '-' || lpad(CAST(id AS TEXT), 7, '0')
FROM meters WHERE id % 5 IN (1, 3) ORDER BY id LIMIT :readings;
"""
_PG_SIZE = """
SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r'
"""


class Engine:
    """The SQLite figures (issue 5): a fresh WAL file in the run's directory."""

    name = "sqlite"
    rows_per_second = 50_000  # import target
    export_seconds = 20.0  # export target
    seed_readings = SEED_READINGS
    settled = "checkpointed"

    def __init__(self, tmp: Path) -> None:
        self.path = tmp / "bot.sqlite3"

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        db = await open_database(self.path)
        try:
            yield db
        finally:
            await db.close()

    async def settle(self, db: Database) -> None:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def size_mb(self, db: Database) -> float:
        return _size_mb(self.path)


class PostgresEngine(Engine):
    """Issue 11's figures: a schema of the run's own on TEST_POSTGRES_URL's server."""

    name = "postgresql"
    rows_per_second = 100_000
    export_seconds = 10.0
    seed_readings = PG_SEED_READINGS
    settled = "after VACUUM ANALYZE"

    @asynccontextmanager
    async def database(self) -> AsyncIterator[Database]:
        async with bench_schema(server_url()) as url:
            db = await open_database(url)
            try:
                yield db
            finally:
                await db.close()

    async def settle(self, db: Database) -> None:
        await db.execute("VACUUM ANALYZE")

    async def size_mb(self, db: Database) -> float:
        return float(await db.fetchval(_PG_SIZE)) / 2**20


class TimedLoad:
    """The engine's import repository, timing the load of the stage: the rest of `import_file`
    is checking the file."""

    def __init__(self, db: Database) -> None:
        self.inner = import_repository(db)
        self.seconds = 0.0

    def attached_stage(self, expected_rows: int) -> AbstractAsyncContextManager[ImportStage]:
        return self.inner.attached_stage(expected_rows)

    async def load_staged(
        self,
        stage: ImportStage,
        now: datetime,
        *,
        skipping: bool,
        done: Callable[[Upserted], None],
        snapshot: FullSnapshot | None = None,
    ) -> Loaded:
        started = time.perf_counter()
        try:
            return await self.inner.load_staged(
                stage, now, skipping=skipping, done=done, snapshot=snapshot
            )
        finally:
            self.seconds = time.perf_counter() - started


def _row(name: str, value: str, target: str, ok: bool | None) -> str:
    verdict = "" if ok is None else ("OK" if ok else "MISSED")
    return f"  {name:<46} {value:>14}   {target:<16} {verdict}"


def _load() -> str:
    """The machine's 1/5/15-minute load averages: another job on a 2-core machine shows."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def _size_mb(path: Path) -> float:
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists()) / 2**20


def _percentile(sorted_values: list[float], share: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


async def _import(engine: Engine, db: Database, source: Path, failed: list[str]) -> int:
    """Import the file; the number of accounts."""
    timed = TimedLoad(db)
    started = time.perf_counter()
    report = await import_file(timed, source, now=NOW)
    elapsed = time.perf_counter() - started
    if not report.imported or report.errors:
        failed.append(f"import refused: {report.errors[:3]}")
    rate = report.rows / elapsed
    await engine.settle(db)
    imported_mb = await engine.size_mb(db)
    accounts = int(await db.fetchval("SELECT count(*) FROM accounts"))
    meter_count = await db.fetchval("SELECT count(*) FROM meters")
    if meter_count != report.rows or report.meters_created != report.rows:
        failed.append(f"{meter_count} meters in the database, {report.rows} rows")
    target = engine.rows_per_second
    print(f"\nimport of {report.rows:,} rows ({accounts:,} accounts) on {engine.name}:")
    print(_row("rows per second", f"{rate:,.0f}", f">= {target:,}", rate >= target))
    print(_row("time", f"{elapsed:.1f} s", "", None))
    checking = elapsed - timed.seconds
    print(_row("  checking the file (into the stage)", f"{checking:.1f} s", "", None))
    print(_row("  loading the stage", f"{timed.seconds:.1f} s", "", None))
    print(_row("  rows per second loading", f"{report.rows / timed.seconds:,.0f}", "", None))
    print(_row(f"database size ({engine.settled})", f"{imported_mb:,.0f} MB", "", None))
    return accounts


async def _seed_readings(engine: Engine, db: Database, readings: int) -> int:
    """Seed the period's readings; how many are current."""
    started = time.perf_counter()
    async with db.transaction() as conn:
        for statement in engine.seed_readings.split(";"):
            if statement.strip():
                await conn.execute(
                    statement,
                    {
                        "period": str(PERIOD),
                        "tag": f"{PERIOD.year % 100:02d}{PERIOD.month:02d}",
                        "corrected": CORRECTED,
                        "readings": readings,
                    },
                )
    await engine.settle(db)
    current = int(
        await db.fetchval(
            "SELECT count(*) FROM readings WHERE period = ? AND replaced_at IS NULL",
            (str(PERIOD),),
        )
    )
    print(
        f"\nseeded {current:,} current readings for {PERIOD} (+{CORRECTED:,} replaced)"
        f" in {time.perf_counter() - started:.1f} s; database"
        f" {await engine.size_mb(db):,.0f} MB ({engine.settled})"
    )
    return current


async def _residents(db: Database, accounts: int, samples: int, failed: list[str]) -> None:
    meters_repo = MeterRepository(db, TZ)
    rng = random.Random(5)
    ids = [rng.randint(1, accounts) for _ in range(WARM_UP + samples)]
    times: list[float] = []
    found = 0
    for index, account_id in enumerate(ids):
        started = time.perf_counter()
        loaded = await meters_repo.of_account(account_id)
        took = time.perf_counter() - started
        if index >= WARM_UP:
            times.append(took * 1000)
            found += sum(1 for m in loaded if m.submitted_period == str(PERIOD))
    times.sort()
    p50, p99 = statistics.median(times), _percentile(times, 0.99)
    print(
        f"\nMeterRepository.of_account, {samples:,} random accounts"
        f" (after {WARM_UP} unmeasured; {found:,} meters with a reading this period):"
    )
    print(_row("p50", f"{p50:.3f} ms", "", None))
    print(_row("p99", f"{p99:.3f} ms", f"<= {TARGET_P99_MS:g} ms", p99 <= TARGET_P99_MS))
    print(_row("max", f"{times[-1]:.3f} ms", "", None))
    if not found:
        failed.append("no sampled meter had a reading")


async def _export(engine: Engine, db: Database, tmp: Path, current: int, failed: list[str]) -> None:
    out_path = tmp / "export.csv"
    started = time.perf_counter()
    with out_path.open("w", encoding="utf-8", newline="") as out:
        written = await export_period(ReadingRepository(db), PERIOD, out, TZ)
    elapsed = time.perf_counter() - started
    with out_path.open("rb") as fp:
        lines = sum(1 for _ in fp) - 1
    if not written == lines == current:
        failed.append(f"export wrote {written} rows, the file has {lines}, {current} due")
    target = engine.export_seconds
    print(f"\nexport of {PERIOD} ({current:,} readings):")
    print(_row("time", f"{elapsed:.1f} s", f"<= {target:g} s", elapsed <= target))
    print(_row("rows in the file (after the header)", f"{lines:,}", "", lines == current))


RENUMBERED = 10  # accounts given leading zeros before the xlsx export
_LEADING_ZEROS = (
    "UPDATE accounts SET number = '00' || substr(number, 3) WHERE id <= :n",
    "UPDATE meters SET serial = '0' || serial WHERE account_id <= :n",
)


async def _xlsx(db: Database, tmp: Path, current: int, failed: list[str]) -> None:
    import openpyxl

    for sql in _LEADING_ZEROS:
        await db.execute(sql, {"n": RENUMBERED})
    zeroed = int(
        await db.fetchval(
            "SELECT count(*) FROM readings AS r JOIN meters AS m ON m.id = r.meter_id"
            " WHERE m.account_id <= :n AND r.period = :period AND r.replaced_at IS NULL",
            {"n": RENUMBERED, "period": str(PERIOD)},
        )
    )
    path = tmp / "export.xlsx"
    started = time.perf_counter()
    written = await export_period_xlsx(ReadingRepository(db), PERIOD, path, TZ)
    elapsed = time.perf_counter() - started
    if written != current:
        failed.append(f"xlsx export wrote {written} rows, {current} due")
    book = openpyxl.load_workbook(path, read_only=True)
    first = list(book[str(PERIOD)].iter_rows(min_row=2, max_row=1_001, values_only=True))
    book.close()
    texts = all(isinstance(row[0], str) and isinstance(row[1], str) for row in first)
    zeros = [row for row in first if row[0].startswith("00") and row[1].startswith("0")]
    if not texts or len(zeros) != zeroed or first[: len(zeros)] != zeros:
        failed.append(f"xlsx: {len(zeros)} rows with leading zeros first, {zeroed} due")
    print(f"\nxlsx export of {PERIOD} ({current:,} readings, openpyxl write-only):")
    print(_row("time", f"{elapsed:.1f} s", "", None))
    print(_row("file size", f"{_size_mb(path):.0f} MB", "", None))
    print(_row("leading zeros kept as text (first 1,000 rows)", f"{len(zeros)} rows", "", texts))


async def _chart(db: Database, current: int, failed: list[str]) -> None:
    # the window's last day: every day of it is on the chart
    last_day = date(PERIOD.next().year, PERIOD.next().month, 3)
    waits: list[float] = []

    async def resident() -> None:
        """Another chat's read meanwhile: how long it waits behind the chart's queries."""
        while True:
            asked = time.perf_counter()
            await db.fetchval("SELECT 1")
            waits.append(time.perf_counter() - asked)
            await asyncio.sleep(0.01)

    meters = int(await db.fetchval("SELECT count(*) FROM meters"))  # /stats has counted them
    reads = asyncio.create_task(resident())
    started = time.perf_counter()
    progress = await collect_progress(
        ReadingRepository(db),
        PERIOD,
        last_day,
        window=SubmissionWindow(15, 3),
        tz=TZ,
        meters=meters,
    )
    queried = time.perf_counter() - started
    reads.cancel()
    names = tuple(str(shown.period) for shown in progress.periods)
    started = time.perf_counter()
    png = progress_png(progress, ChartText("share read", "day", "share", names))
    drawn = time.perf_counter() - started
    started = time.perf_counter()
    progress_png(progress, ChartText("share read", "day", "share", names))
    drawn_again = time.perf_counter() - started
    read = round(progress.periods[0].shares[-1] * progress.meters)
    if read != current:
        failed.append(f"the chart's last day counts {read} meters read, {current} due")
    print(f"\n/stats chart of {PERIOD} and the two before ({current:,} readings):")
    print(_row("query, three periods", f"{queried:.2f} s", "", None))
    longest = max(waits, default=0.0)  # none when the query ends before the first read
    print(_row("longest wait of another read meanwhile", f"{longest * 1000:.0f} ms", "", None))
    print(_row("drawing, first (with matplotlib's import)", f"{drawn:.2f} s", "", None))
    print(_row("drawing, again", f"{drawn_again:.2f} s", "", None))
    print(_row("PNG", f"{len(png) / 1024:.0f} KiB", "", None))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument("--readings", type=int, default=READINGS)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--file", type=Path, help="import this file instead of generating one")
    parser.add_argument("--no-xlsx", action="store_true", help="skip the workbook export (4b)")
    args = parser.parse_args(argv)
    failed: list[str] = []
    print(f"load average at the start: {_load()}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp_name:
        tmp = Path(tmp_name)
        source = args.file
        if source is None:
            source = tmp / "accounts.csv"
            started = time.perf_counter()
            meters = gen_accounts.write(source, args.accounts, 1, ";")
            print(
                f"generated {args.accounts:,} accounts, {meters:,} meters"
                f" ({source.stat().st_size / 2**20:.0f} MB) in"
                f" {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        engine = (PostgresEngine if args.engine == "postgresql" else Engine)(tmp)
        async with engine.database() as db:
            accounts = await _import(engine, db, source, failed)
            current = await _seed_readings(engine, db, args.readings)
            await _residents(db, accounts, args.samples, failed)
            await _export(engine, db, tmp, current, failed)
            if not args.no_xlsx:
                await _xlsx(db, tmp, current, failed)
            await _chart(db, current, failed)
    print(f"\nload average at the end: {_load()}")
    for problem in failed:
        print(f"CHECK FAILED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
