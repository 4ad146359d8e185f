"""Broadcast benchmark (issue 5, target 2): `python -m bench.broadcast`.

1. 100,000 linked chats (seeded with bulk SQL: recursive CTEs inside SQLite, no Python loop;
   one chat in 20 has a second account, one in ten speaks English), the opening reminder with
   the rate limit lifted (``Pacer(None)``) against a light recording Bot API session (one bit
   per chat, a real ``Message`` answered to every send). Timed from calling ``reminders.run_due``
   to its return: selecting the recipients (delivery rows), rendering, sending and recording
   every outcome. Three runs, each on a fresh database; the median is reported. The heap is
   frozen after start-up as ``python -m bot send-reminders`` does (``settle_heap``).
   Memory: the process's peak RSS during each run (VmHWM, reset just before it), the RSS before
   the first run (imports and the app: aiogram alone is ~166 MB), and the tracemalloc peak of
   a fourth, traced run (Python objects only; slower, not timed).
2. BROADCAST_RATE=30 in real time: 301 chats, so the first send and the last are ten seconds
   apart; the achieved rate is (sends - 1) / (last send - first send). The most the Pacer
   released in any one-second span is checked against the limit.

After each run, one /metrics scrape is timed: its gauges read the campaign's delivery rows.

Each run checks that every chat got exactly one message and that the database records every
delivery as sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from array import array
from collections.abc import AsyncGenerator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.storage.engines import open_database

CHATS = 100_000
PACED_CHATS = 301  # 300 intervals of 1/30 s: ten seconds
PACED_RATE = 30.0
RELEASE_SLACK = 0.001
TARGET_RATE = 5_000.0
TARGET_MB = 200.0
TARGET_DEVIATION = 0.05
OPENING_DAY = datetime(2026, 11, 15, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
FIRST_CHAT = 10_000_000

# --- memory -----------------------------------------------------------------------------------


def _status(field: str) -> float:
    """A VmRSS/VmHWM line of /proc/self/status, in MB (0 where there is no /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fp:
            for line in fp:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _load() -> str:
    """The machine's 1/5/15-minute load averages: another job on a 2-core machine shows."""
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def rss_mb() -> float:
    return _status("VmRSS")


def peak_rss_mb() -> float:
    return _status("VmHWM")


def reset_peak_rss() -> bool:
    """Start VmHWM again from the current RSS (Linux ≥ 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fp:
            fp.write("5")
        return True
    except OSError:
        return False


# --- seeding ----------------------------------------------------------------------------------

# n chats, each linked to its own account; every 20th chat to a second (shared-family) account
# as well, so some reminders name two accounts. Accounts have two meters on the default window;
# one chat in ten speaks English.
_SEED = """
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :accounts)
INSERT INTO accounts (id, number, phone, address, updated_at)
SELECT i, printf('50%08d', i), printf('+7916%07d', i),
       CASE WHEN i % 10 = 0 THEN NULL
            ELSE printf('г. Балашиха, ул. Ленина, д. %d, кв. %d', i % 200 + 1, i % 300 + 1) END,
       :now
FROM seq;
INSERT INTO meters (account_id, serial, resource, tariffs, digits, last_t1, last_date)
SELECT id, printf('10-%06d', id), 'cold_water', 1, 5, id % 10000, '2026-10-20' FROM accounts;
INSERT INTO meters (account_id, serial, resource, tariffs, digits, last_t1, last_date)
SELECT id, printf('20-%06d', id), 'hot_water', 1, 5, id % 10000, '2026-10-20'
FROM accounts WHERE id % 3 != 0;
INSERT INTO meters (account_id, serial, resource, tariffs, digits, last_t1, last_t2, last_date)
SELECT id, printf('30-%06d', id), 'electricity', 2, 6, id % 10000, id % 7000, '2026-10-20'
FROM accounts WHERE id % 3 = 0;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :chats)
INSERT INTO chats (chat_id, locale, created_at)
SELECT :first + i, CASE WHEN i % 10 = 0 THEN 'en' ELSE 'ru' END, :now FROM seq;
INSERT INTO links (chat_id, account_id, linked_at)
SELECT chat_id, chat_id - :first, :now FROM chats;
INSERT INTO links (chat_id, account_id, linked_at)
SELECT chat_id, :chats + (chat_id - :first) / 20, :now FROM chats
WHERE (chat_id - :first) % 20 = 0;
"""


async def seed(path: Path, chats: int) -> None:
    """Migrate and fill a fresh database; only SQLite works here (a few seconds for 100k)."""
    db = await open_database(path)
    params = {
        "chats": chats,
        "accounts": chats + chats // 20,
        "first": FIRST_CHAT,
        "now": "2026-11-01T00:00:00.000000+00:00",
    }
    try:
        async with db.transaction() as conn:
            for statement in _SEED.split(";"):
                if statement.strip():
                    await conn.execute(statement, params)
    finally:
        await db.close()


# --- the Bot API ------------------------------------------------------------------------------


def light_session_class() -> type:
    """A recording session that keeps only what the checks need: one bit per chat (a message
    to a chat twice, or to a chat not seeded, is counted), how many had buttons, the text
    bytes, and when each went out only where asked (the paced run); answers every send with a
    real Message, as Telegram would."""
    from aiogram.client.session.base import BaseSession
    from aiogram.methods import SendMessage
    from aiogram.types import Chat, Message, User

    bot_user = User(id=123456, is_bot=True, first_name="Meter bot")

    class LightRecordingSession(BaseSession):
        def __init__(self, chats: int, *, timed: bool = False) -> None:
            super().__init__()
            self.seen = bytearray(chats)  # chat FIRST_CHAT + 1 + i at i
            self.sent = 0
            self.twice = 0
            self.unknown = 0
            self.times = array("d") if timed else None
            self.with_buttons = 0
            self.text_bytes = 0
            self.other_calls = 0

        async def make_request(self, bot: Any, method: Any, timeout: int | None = None) -> Any:
            if not isinstance(method, SendMessage):
                self.other_calls += 1
                return True
            chat_id = int(method.chat_id)
            self.sent += 1
            index = chat_id - FIRST_CHAT - 1
            if not 0 <= index < len(self.seen):
                self.unknown += 1
            elif self.seen[index]:
                self.twice += 1
            else:
                self.seen[index] = 1
            if self.times is not None:
                self.times.append(time.monotonic())
            self.text_bytes += len(method.text)
            if method.reply_markup is not None:
                self.with_buttons += 1
            return Message(
                message_id=self.sent,
                date=datetime.now(),
                chat=Chat(id=chat_id, type="private"),
                from_user=bot_user,
                text=method.text,
            )

        async def close(self) -> None:
            pass

        async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
            raise NotImplementedError
            yield b""  # pragma: no cover

    return LightRecordingSession


# --- the runs -----------------------------------------------------------------------------------


def _settings(tmp: Path, **overrides: Any) -> Any:
    from bot.config import Settings

    values: dict[str, Any] = {
        "bot_token": "123456:BENCH-token",
        "database_url": f"sqlite:///{tmp / 'bot.sqlite3'}",
        "support_contact": "+7 (495) 000-00-00",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


async def _build(tmp: Path, chats: int, **overrides: Any) -> tuple[Any, Any]:
    from bot.app import build_app, settle_heap
    from bot.clock import FrozenClock

    await seed(tmp / "bot.sqlite3", chats)
    session = light_session_class()(chats, timed="broadcast_rate" in overrides)
    app = await build_app(
        _settings(tmp, **overrides), clock=FrozenClock(OPENING_DAY), session=session
    )
    settle_heap()  # as `python -m bot send-reminders` does
    return app, session


async def _check(app: Any, session: Any, chats: int, report: Any) -> list[str]:
    problems = []
    reached = session.seen.count(1)
    if session.sent != chats or reached != chats or session.twice or session.unknown:
        problems.append(
            f"{session.sent} messages reached {reached} of {chats} chats"
            f" ({session.twice} a second time, {session.unknown} to chats not seeded)"
        )
    if report.totals.sent != chats:
        problems.append(f"the report says {report.totals.sent} sent")
    rows = await app.storage.db.fetchall(
        "SELECT status, count(*) FROM deliveries WHERE campaign = ? GROUP BY status",
        (f"opening:{OPENING_DAY.date()}",),
    )
    recorded = {row[0]: row[1] for row in rows}
    if recorded != {"sent": chats}:
        problems.append(f"delivery rows: {recorded}, expected {{'sent': {chats}}}")
    if session.with_buttons != chats:
        problems.append(f"{session.with_buttons} messages with a button")
    return problems


async def unpaced(chats: int, *, trace: bool) -> dict[str, Any]:
    from bot.notifications.pacer import Pacer

    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        app, session = await _build(Path(tmp), chats)
        try:
            app.delivery.sender.pacer = Pacer(None)
            lifetime_peak = peak_rss_mb()
            before = rss_mb()
            reset = reset_peak_rss()
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            report = await app.delivery.reminders.run_due(["opening"])
            elapsed = time.perf_counter() - started
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else 0.0
            tracemalloc.stop()
            peak = peak_rss_mb()
            problems = await _check(app, session, chats, report)
            started = time.perf_counter()
            await app.metrics.scrape()  # bot_deliveries counts this campaign's rows
            scrape = time.perf_counter() - started
        finally:
            await app.close()
            gc.unfreeze()  # the next run builds its own app; let this one be collected
    return {
        "rate": chats / elapsed,
        "seconds": elapsed,
        "rss_before": before,
        "lifetime_peak_before": lifetime_peak,
        "rss_peak": peak,
        "peak_is_run": reset,
        "traced_peak": traced_peak,
        "text_bytes": session.text_bytes,
        "problems": problems,
        "scrape": scrape,
    }


async def paced(chats: int, rate: float) -> dict[str, Any]:

    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        app, session = await _build(Path(tmp), chats, broadcast_rate=rate)
        pacer, releases = app.delivery.sender.pacer, array("d")
        wait = pacer.wait

        async def recorded(*args: Any, **kwargs: Any) -> bool:
            released = await wait(*args, **kwargs)
            if released:
                releases.append(pacer.monotonic())
            return bool(released)

        pacer.wait = recorded
        try:
            started = time.perf_counter()
            report = await app.delivery.reminders.run_due(["opening"])
            elapsed = time.perf_counter() - started
            problems = await _check(app, session, chats, report)
        finally:
            await app.close()
            gc.unfreeze()  # the next run builds its own app; let this one be collected
    times = sorted(session.times)
    span = times[-1] - times[0]
    achieved = (len(times) - 1) / span
    return {
        "achieved": achieved,
        "deviation": achieved / rate - 1,
        "end_to_end": chats / elapsed,
        "span": span,
        # read just after each release, so a few microseconds late: 1 ms of slack
        "busiest_released": _busiest(sorted(releases), 1.0 - RELEASE_SLACK),
        "busiest_received": _busiest(times, 1.0),
        "problems": problems,
    }


def _busiest(times: list[float], width: float) -> int:
    """The most of `times` inside any span [t, t + width) that starts at one of them."""
    busiest, first = 0, 0
    for last, t in enumerate(times):
        while times[first] <= t - width:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


def _row(name: str, value: str, target: str, ok: bool) -> str:
    return f"  {name:<44} {value:>16}   target {target:<12} {'OK' if ok else 'MISSED'}"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=CHATS)
    parser.add_argument("--repeat", type=int, default=3, help="unpaced runs (median reported)")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument("--no-paced", action="store_true", help="skip the BROADCAST_RATE run")
    args = parser.parse_args(argv)

    # what the job costs before it sends anything: the interpreter with aiogram and the app
    import bot.app  # noqa: F401

    print(f"load average at the start: {_load()}", flush=True)
    print(f"process RSS after imports: {rss_mb():.0f} MB", flush=True)
    runs = []
    for _ in range(args.repeat):
        runs.append(await unpaced(args.chats, trace=False))
        gc.collect()
        print(f"  run: {runs[-1]['rate']:,.0f} msg/s, peak RSS {runs[-1]['rss_peak']:.0f} MB")
    traced = None if args.no_trace else await unpaced(args.chats, trace=True)
    failed = [p for run in runs + ([traced] if traced else []) for p in run["problems"]]

    rate = statistics.median(run["rate"] for run in runs)
    seconds = statistics.median(run["seconds"] for run in runs)
    peak = max(run["rss_peak"] for run in runs)
    before = runs[0]["rss_before"]  # later runs start from what the earlier ones left
    what = "during the run" if runs[0]["peak_is_run"] else "over the process's life"
    print(
        f"\nopening reminder to {args.chats:,} chats, rate limit lifted"
        f" ({len(runs)} run(s), median; {seconds:.1f} s):"
    )
    print(_row("messages/s end to end", f"{rate:,.0f}", f">= {TARGET_RATE:,.0f}", rate >= 5000))
    print(_row(f"peak RSS of the process ({what})", f"{peak:.0f} MB", "<= 200 MB", peak <= 200))
    lifetime = max(max(run["lifetime_peak_before"], run["rss_peak"]) for run in runs)
    print(f"  {'  over the process life (imports, seeding, runs)':<44} {lifetime:>13.0f} MB")
    print(f"  {'  of which before the first run (imports, app)':<44} {before:>13.0f} MB")
    print(f"  {'  increase during the first run':<44} {runs[0]['rss_peak'] - before:>13.0f} MB")
    scrape_ms = statistics.median(run["scrape"] for run in runs) * 1000
    print(f"  {'a /metrics scrape after it (median)':<44} {scrape_ms:>13.0f} ms")
    if traced is not None:
        print(
            f"  {'tracemalloc peak (Python objects, traced run)':<44}"
            f" {traced['traced_peak']:>13.1f} MB"
        )
    print(
        f"  checks: {args.chats:,} messages to {args.chats:,} chats, {args.chats:,} rows sent:"
        f" {'OK' if not failed else 'FAILED'}"
    )

    if not args.no_paced:
        result = await paced(PACED_CHATS, PACED_RATE)
        failed += result["problems"]
        ok = abs(result["deviation"]) <= TARGET_DEVIATION
        print(
            f"\nBROADCAST_RATE={PACED_RATE:g}, {PACED_CHATS} chats in real time"
            f" ({result['span']:.2f} s from first send to last):"
        )
        print(_row("achieved rate (msg/s)", f"{result['achieved']:.2f}", "30 ± 5%", ok))
        print(f"  {'deviation from 30':<44} {result['deviation'] * 100:>+15.2f}%")
        print(f"  {'end to end, job start to return (msg/s)':<44} {result['end_to_end']:>16.2f}")
        ok = result["busiest_released"] <= PACED_RATE
        print(
            f"  {'most released by the Pacer in any second':<44}"
            f" {result['busiest_released']:>16}   limit {PACED_RATE:g}"
            f"     {'OK' if ok else 'MISSED'}"
        )
        print(
            f"  {'most received by the session in any second':<44}"
            f" {result['busiest_received']:>16}   (sends overlap a little on their way)"
        )
    print(f"\nload average at the end: {_load()}")
    for problem in failed:
        print(f"CHECK FAILED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
