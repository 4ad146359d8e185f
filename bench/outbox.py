"""Billing outbox benchmark (issue 12): `python -m bench.outbox`.

100,000 events (25,000 accounts of four meters, one reading and its event each, seeded with
bulk SQL on a SQLite file) drained by the real dispatcher (bot/services/outbox.py: claims,
payloads, Standard Webhooks signatures, posts through aiohttp, settles) to a local receiver in
a process of its own: the fake billing server of the tests (tests/fakes/billing.py), which
verifies every signature and answers 401 to a bad one (which the dispatcher would count as a
refusal). Timed from the first claim to the last settle; three runs on fresh databases, the
median reported, against the target of 2,000 events/s. Every run checks that every event was
delivered and none refused. The CPU time each side spent per event is printed too: on a
shared machine the wall-clock rate moves with the neighbours' load, the CPU cost much less.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.__main__ import machine
from bench.conversation import load
from bot.billing.poster import WebhookPoster
from bot.billing.signing import secret_key
from bot.clock import SystemClock
from bot.services.outbox import OutboxDispatcher
from bot.storage.engines import open_database
from bot.storage.outbox import OutboxRepository

EVENTS = int(os.environ.get("BENCH_OUTBOX_EVENTS", "100000"))
METERS_PER_ACCOUNT = 4
TARGET = 2_000  # events a second
RUNS = 3
SECRET = "whsec_" + "YmVuY2gtb3V0Ym94LXNlY3JldC1rZXktMzItYnl0ZXM="  # 32 bytes
ROOT = Path(__file__).resolve().parents[1]

_SEED = f"""
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS})
INSERT INTO {{table}} {{columns}} SELECT {{values}} FROM n {{where}}
"""
SEEDS = (
    (
        "accounts",
        "(id, number, phone, address, updated_at)",
        "i, printf('50%08d', i), '+7916' || printf('%07d', i), 'ул. Мира, ' || i, :now",
        f"WHERE i <= {EVENTS // METERS_PER_ACCOUNT}",
    ),
    (
        "meters",
        "(id, account_id, serial, resource, last_t1, last_date)",
        f"i, (i - 1) / {METERS_PER_ACCOUNT} + 1, printf('SN-%07d', i),"
        " CASE i % 4 WHEN 0 THEN 'cold_water' WHEN 1 THEN 'hot_water'"
        " WHEN 2 THEN 'electricity' ELSE 'gas' END, 100, '2026-10-20'",
        "",
    ),
    (
        "readings",
        "(id, meter_id, period, t1, submitted_at, receipt)",
        "i, i, '2026-11', 100 + i % 50, :now, printf('2611-%06d', i)",
        "",
    ),
    (
        "outbox",
        "(event_id, type, reading_id, meter_id, created_at, next_at)",
        "'msg_bench' || i, 'reading.accepted', i, i, :now, :now",
        "",
    ),
)


async def seed(url: str) -> None:
    db = await open_database(url)
    try:
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        async with db.transaction() as tx:
            for table, columns, values, where in SEEDS:
                sql = _SEED.format(table=table, columns=columns, values=values, where=where)
                await tx.execute(sql, {"now": now})
    finally:
        await db.close()


async def noop(*args: object, **kwargs: object) -> None:
    pass


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fp:
        fields = fp.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drain(url: str, receiver: str) -> tuple[float, float, int, int]:
    """Seconds to deliver every event, this process's CPU seconds meanwhile, and the
    delivered and refused counts."""
    db = await open_database(url)
    poster = WebhookPoster(receiver, secret_key(SECRET))
    dispatcher = OutboxDispatcher(
        OutboxRepository(db), poster, SystemClock(), ZoneInfo("Europe/Moscow"), alert_admins=noop
    )
    try:
        started, cpu = time.perf_counter(), time.process_time()
        report = await dispatcher.run_once()
        seconds = time.perf_counter() - started
        return seconds, time.process_time() - cpu, report.delivered, report.refused
    finally:
        await poster.close()
        await db.close()


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.billing", "0", SECRET],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def main() -> int:
    print(f"machine: {machine()}")
    print(f"load average before: {load()}  (the machine is shared)")
    receiver, url = start_receiver()
    rates, costs = [], []
    failed = False
    try:
        print(f"{EVENTS:,} events, a receiver verifying signatures at {url} (its own process)")
        for run in range(1, RUNS + 1):
            with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
                database = f"sqlite:///{Path(tmp) / 'bot.sqlite3'}"
                await seed(database)
                before = cpu_seconds(receiver.pid)
                seconds, ours, delivered, refused = await drain(database, url)
                theirs = cpu_seconds(receiver.pid) - before
            rate = delivered / seconds
            rates.append(rate)
            costs.append((ours / max(delivered, 1), theirs / max(delivered, 1)))
            ok = delivered == EVENTS and refused == 0
            failed |= not ok
            print(
                f"  run {run}: {delivered:,} delivered, {refused} refused in {seconds:.1f} s:"
                f" {rate:,.0f} events/s{'' if ok else '  <- NOT ALL DELIVERED'};"
                f" CPU per event: dispatcher {costs[-1][0] * 1e6:.0f} µs,"
                f" receiver {costs[-1][1] * 1e6:.0f} µs",
                flush=True,
            )
    finally:
        receiver.terminate()
        receiver.wait()
    median = statistics.median(rates)
    dispatcher_cost = statistics.median(cost[0] for cost in costs)
    print(
        f"the dispatcher's own CPU per event (median) {dispatcher_cost * 1e6:.0f} µs: at most"
        f" {1 / dispatcher_cost:,.0f} events/s on one free core, whatever the machine's load"
    )
    verdict = "met" if median >= TARGET and not failed else "NOT MET"
    print(f"outbox: median {median:,.0f} events/s (target >= {TARGET:,}): {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
