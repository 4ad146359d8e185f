"""The Redis leader lease against a real server: one holder, expiry when the holder stops
renewing, renewal that keeps it, compare-and-delete, and a SIGKILLed leader replaced within
15 s.

Every test uses a key of its own (a random prefix), deleted at the end. The server is found at
TEST_REDIS_URL (default redis://127.0.0.1:6379/0); without it these tests are skipped, or fail
under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.leadership import Leadership
from bot.leadership.redis_lease import RedisLease
from tests.support.children import start_child
from tests.support.services import redis_url_under_test, require_redis
from tests.support.waiting import eventually

REDIS_URL = redis_url_under_test()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """The Redis of TEST_REDIS_URL; skipped or failed as tests/support/services.py says."""
    await require_redis(REDIS_URL)
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    yield client
    await client.aclose()


@pytest.fixture
async def key(redis: Redis) -> AsyncIterator[str]:
    name = f"test-{secrets.token_hex(8)}:leader"
    yield name
    await redis.delete(name)


async def nothing() -> None:
    pass


async def test_two_leases_on_one_key_have_one_holder(key: str, redis: Redis) -> None:
    first, second = RedisLease(REDIS_URL, key=key), RedisLease(REDIS_URL, key=key)
    try:
        assert await first.take()
        assert not await second.take()
        assert first.held and not second.held
        assert 9 < (second.free_in() or 0) <= 10  # the holder's time left, for the next try
        assert await redis.get(key) == first.token.encode()
        await first.give_up()  # compare-and-delete: freed at once
        assert await second.take()
    finally:
        await first.give_up()
        await second.give_up()


async def test_a_holder_that_stops_renewing_loses_the_lease_when_its_ttl_ends(key: str) -> None:
    first, second = RedisLease(REDIS_URL, key=key, ttl=0.3), RedisLease(REDIS_URL, key=key)
    try:
        assert await first.take()
        assert not await second.take()
        await asyncio.sleep(0.35)
        assert not first.held  # it counts the lease lost by itself, without asking
        assert await second.take()
        assert not await first.keep()  # a late renewal finds another token: deposed
        await first.give_up()
        assert second.held and await second.keep()  # the late one did not delete it
    finally:
        await first.give_up()
        await second.give_up()


async def test_a_leader_renewing_every_third_of_its_ttl_keeps_the_lease(key: str) -> None:
    ttl = 0.3
    leader, rival = RedisLease(REDIS_URL, key=key, ttl=ttl), RedisLease(REDIS_URL, key=key)
    deposed: list[bool] = []

    async def on_deposed() -> None:
        deposed.append(True)

    lead = Leadership(leader, on_elected=nothing, on_deposed=on_deposed, poll=0.05)
    await lead.start()
    try:
        assert lead.leading
        for _ in range(8):  # 2.4 s: eight times the ttl
            await asyncio.sleep(ttl)
            assert not await rival.take()
        assert lead.leading and not deposed
    finally:
        await lead.give_up()
        await rival.give_up()


async def test_a_leader_whose_key_was_taken_from_it_is_deposed_at_its_next_renewal(
    key: str, redis: Redis
) -> None:
    leader = RedisLease(REDIS_URL, key=key, ttl=0.6)
    deposed = asyncio.Event()

    async def on_deposed() -> None:
        deposed.set()

    lead = Leadership(leader, on_elected=nothing, on_deposed=on_deposed, poll=60)
    await lead.start()
    try:
        assert lead.leading
        await redis.set(key, "another-replica", px=60_000)  # as if it had expired meanwhile
        await asyncio.wait_for(deposed.wait(), 1.0)  # renewals every 0.2 s
        assert not lead.leading
        assert await redis.get(key) == b"another-replica"
    finally:
        await lead.give_up()
    assert await redis.get(key) == b"another-replica"  # giving up deletes only its own


HOLD_LEASE = """
import asyncio, sys
from bot.leadership import Leadership
from bot.leadership.redis_lease import RedisLease
async def main():
    elected = asyncio.Event()
    async def on_elected():
        elected.set()
    async def on_deposed():
        pass
    lead = Leadership(RedisLease(sys.argv[1], key=sys.argv[2]), on_elected=on_elected,
                      on_deposed=on_deposed)
    await lead.start()
    await elected.wait()
    print("held", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def start_leader(started: list[subprocess.Popen[str]], key: str) -> int:
    """A process leading on `key`, renewing; returns its pid once it leads."""
    pid, line = start_child(started, HOLD_LEASE, REDIS_URL, key)
    assert line == "held"
    return pid


@pytest.mark.slow
async def test_a_leader_killed_with_sigkill_is_replaced_within_15_seconds(
    key: str, spawn: list[subprocess.Popen[str]]
) -> None:
    pid = start_leader(spawn, key)
    elected_at: list[float] = []

    async def on_elected() -> None:
        elected_at.append(time.monotonic())

    # the defaults: ttl 10 s, renewed every 3.3 s; a follower tries every LEASE_POLL (5 s)
    follow = Leadership(RedisLease(REDIS_URL, key=key), on_elected=on_elected, on_deposed=nothing)
    await follow.start()
    try:
        await asyncio.sleep(4)  # past a renewal of the leader's
        assert not follow.leading
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: bool(elected_at), timeout=20, every=0.05)
        took = elected_at[0] - killed
        assert took < 15, f"took over after {took:.1f} s"
    finally:
        await follow.give_up()
