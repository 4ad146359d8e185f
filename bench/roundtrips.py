"""What one update costs on PostgreSQL + Redis before the bot does anything: the floor under
bench/scaleout.py's one-resident p99.

The round trips a Confirm makes, bare, timed one by one on this machine's servers: Redis's
lock-and-read and write-and-release (two scripts), then PostgreSQL's write transaction (BEGIN,
the meter's row lock, the checks, the insert, the receipt, COMMIT) into a scratch table, with
the server's durable commit (`synchronous_commit=on`: the commit waits for the WAL's fdatasync)
and without it. No aiogram, no rendering, no Bot API: what is left of the update's time.

`python -m bench.roundtrips`; bench/scaleout.py prints the same after its own figures.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg
from redis.asyncio import Redis

from bench.conversation import percentile

SAMPLES = 1000
# a chat's lock and state, as bot/storage/redis_fsm.py does it: set if free, then read
_LOCK_AND_READ = (
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', 5000) then"
    " return redis.call('GET', KEYS[2]) end return false"
)
_WRITE_AND_RELEASE = (
    "redis.call('SET', KEYS[2], ARGV[2])"
    " if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1"
)


async def _timed(step: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        await step()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _line(name: str, samples: list[float]) -> str:
    p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
    return f"  {name:64} p50 {p50:6.2f} ms   p99 {p99:6.2f} ms"


async def floor(postgres_url: str, redis_url: str) -> list[str]:
    """The lines to print: each kind of round trip, then a Confirm's trips together."""
    schema = f"bench_rt_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(postgres_url)
    redis = Redis.from_url(redis_url)
    prefix = f"bench_rt_{secrets.token_hex(4)}"
    keys = (f"{prefix}:lock", f"{prefix}:state")
    await conn.execute(f"CREATE SCHEMA {schema}; SET search_path = {schema}")
    await conn.execute(
        "CREATE TABLE meters (id bigint PRIMARY KEY); INSERT INTO meters VALUES (1);"
        "CREATE TABLE readings (id bigserial PRIMARY KEY, meter_id bigint REFERENCES meters,"
        " request_key text UNIQUE, receipt text)"
    )

    async def redis_trips() -> None:
        token = secrets.token_hex(8)
        await redis.eval(_LOCK_AND_READ, 2, *keys, token)
        await redis.eval(_WRITE_AND_RELEASE, 2, *keys, token, "{}")

    async def write(durable: bool) -> None:
        async with conn.transaction():
            if not durable:
                await conn.execute("SET LOCAL synchronous_commit = off")
            await conn.fetchval("SELECT id FROM meters WHERE id = 1 FOR UPDATE")
            key = secrets.token_hex(9)
            await conn.fetchval("SELECT id FROM readings WHERE request_key = $1", key)
            new = await conn.fetchval(
                "INSERT INTO readings (meter_id, request_key) VALUES (1, $1) RETURNING id", key
            )
            await conn.execute("UPDATE readings SET receipt = $1 WHERE id = $2", str(new), new)

    async def confirm() -> None:
        await redis_trips()
        await write(durable=True)

    try:
        return [
            f"the floor under one update: {SAMPLES} of each, bare, on this machine's servers",
            _line(
                "Redis: the chat's two scripts (lock+read, write+release)",
                await _timed(redis_trips),
            ),
            _line(
                "PostgreSQL: one read (SELECT 1)", await _timed(lambda: conn.fetchval("SELECT 1"))
            ),
            _line(
                "PostgreSQL: a Confirm's transaction, synchronous_commit=off",
                await _timed(lambda: write(False)),
            ),
            _line(
                "PostgreSQL: a Confirm's transaction, durable (the default)",
                await _timed(lambda: write(True)),
            ),
            _line(
                "a Confirm's round trips together (Redis + durable transaction)",
                await _timed(confirm),
            ),
        ]
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()
        await redis.delete(*keys)
        await redis.aclose()


async def main() -> int:
    from bench.scaleout import POSTGRES, REDIS, _servers

    if why := await _servers():
        print(f"skipped: PostgreSQL at {POSTGRES} or Redis at {REDIS} do not answer ({why})")
        return 0
    print("\n".join(await floor(POSTGRES, REDIS)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
