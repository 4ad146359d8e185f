"""The conversation on PostgreSQL + Redis against the same on SQLite (issue 11's targets).

Two of our bots in one process, the same walk as bench/conversation.py: one on a SQLite file
(conversations in its table), one on PostgreSQL with its conversations and per-chat locks in
Redis, as every replica of a scaled-out installation runs. 200 residents at once, rounds
alternating the two; then one resident alone on PostgreSQL + Redis, each update timed.

Targets: throughput on PostgreSQL + Redis ≥ 0.5 × SQLite's (median of the rounds' ratios);
one resident's p99 per update ≤ 5 ms. Needs the servers of TEST_POSTGRES_URL and
TEST_REDIS_URL (defaults: 127.0.0.1); without them it says so in one line and exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from bench.conversation import (
    DONE_MARK,
    FIRST_CHAT,
    SOLO_CHAT,
    SOLO_WALKS,
    Resident,
    Target,
    build_ours,
    crowd,
    month_at,
    percentile,
    seed,
    verdict,
)
from bench.roundtrips import floor
from bot.app import App

RESIDENTS = 200
ROUNDS = 5
RATIO_TARGET = 0.5
P99_TARGET_MS = 5.0
POSTGRES = os.environ.get("TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
REDIS = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"


async def _servers() -> str | None:
    """Why the servers cannot be used, or None."""
    try:
        conn = await asyncpg.connect(POSTGRES, timeout=3)
        await conn.close()
        client = Redis.from_url(REDIS, socket_connect_timeout=3)
        try:
            await client.ping()
        finally:
            await client.aclose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def main() -> int:
    why = await _servers()
    if why:
        print(f"skipped: PostgreSQL at {POSTGRES} or Redis at {REDIS} do not answer ({why})")
        return 0
    schema = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES)
    await admin.execute(f"CREATE SCHEMA {schema}")
    prefix = f"bench{secrets.token_hex(4)}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
            lite_app, lite = await build_ours(Path(tmp) / "sqlite", "SQLite")
            pg_app, pg = await build_ours(
                Path(tmp) / "pg",
                "PostgreSQL + Redis",
                database_url=f"{POSTGRES}{'&' if '?' in POSTGRES else '?'}search_path={schema}",
                redis_url=REDIS,
                redis_prefix=prefix,
            )
            try:
                return await _run(lite_app, lite, pg_app, pg)
            finally:
                await lite_app.close()
                await pg_app.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
        client = Redis.from_url(REDIS)
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _run(lite_app: App, lite: Target, pg_app: App, pg: Target) -> int:
    chat_ids = [FIRST_CHAT + n for n in range(RESIDENTS)]
    for app in (lite_app, pg_app):
        await seed(app, [*chat_ids, SOLO_CHAT])
    crowds = {
        target.name: [Resident(target, chat_id) for chat_id in chat_ids] for target in (lite, pg)
    }
    print(f"{RESIDENTS} residents at once; one warm-up round, then {ROUNDS} rounds alternating")
    rates: dict[str, list[float]] = {name: [] for name in crowds}
    ratios = []
    for walk in range(ROUNDS + 1):
        round_rates = {}
        for target in (lite, pg) if walk % 2 else (pg, lite):  # each goes first in turn
            target.clock.set(month_at(walk))
            gc.collect()
            round_rates[target.name] = await crowd(crowds[target.name], walk)
        ratio = round_rates[pg.name] / round_rates[lite.name]
        label = "warm-up" if walk == 0 else f"round {walk}"
        print(
            f"  {label:8} "
            + "   ".join(f"{name} {rate:6.0f} upd/s" for name, rate in round_rates.items())
            + f"   ratio {ratio:.2f}",
            flush=True,
        )
        if walk:
            ratios.append(ratio)
            for name, rate in round_rates.items():
                rates[name].append(rate)
    for resident in crowds[pg.name]:
        assert DONE_MARK in pg.session.last[resident.chat_id].text

    # measured as bench/conversation.py measures SQLite's: 1,600 updates after a collection
    solo = Resident(pg, SOLO_CHAT)
    timings: list[float] = []
    gc.collect()
    for walk in range(SOLO_WALKS):
        pg.clock.set(month_at(ROUNDS + 1 + walk))
        await solo.walk(ROUNDS + 1 + walk, timings)
    ratio = statistics.median(ratios)
    p99 = percentile(timings, 0.99) * 1000
    saved = await pg_app.storage.db.fetchval("SELECT count(*) FROM readings")
    expected = (ROUNDS + 1) * RESIDENTS * 3 + SOLO_WALKS * 3
    print(f"submissions on PostgreSQL: {saved} (expected {expected})")
    for name, values in rates.items():
        print(f"{name}, updates/s (median of {ROUNDS}): {statistics.median(values):.0f}")
    print(
        f"PostgreSQL + Redis / SQLite (median of the rounds' ratios): {ratio:.2f}"
        f"   >= {RATIO_TARGET}   {verdict(ratio >= RATIO_TARGET)}"
    )
    print(
        f"one resident alone on PostgreSQL + Redis: p50 {percentile(timings, 0.5) * 1000:.2f} ms,"
        f" p99 {p99:.2f} ms   <= {P99_TARGET_MS} ms   {verdict(p99 <= P99_TARGET_MS)}"
    )
    print("\n".join(await floor(POSTGRES, REDIS)))  # bench/roundtrips.py
    return 0 if saved == expected else 1


if __name__ == "__main__":
    started = time.perf_counter()
    code = asyncio.run(main())
    print(f"(scaleout took {time.perf_counter() - started:.0f} s)")
    sys.exit(code)
