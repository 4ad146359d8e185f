"""PostgreSQL advisory locks against a real server: one leader, a dead leader's lease taken
within 15 s, a sending process's liveness, and the single-instance rule without Redis.

Every test uses lock keys of its own (random), so runs in parallel do not meet. The server is
found at TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres, database test); without it
these tests are skipped, or fail under REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.leadership import Leadership, open_owner
from bot.leadership.advisory_locks import (
    REPLICAS_NEED_REDIS,
    OwnerLost,
    PostgresLease,
    PostgresOwner,
    hold_database_instance_lock,
    owner_keys,
)
from bot.storage.instance_lock import InstanceLockHeld
from tests.support.children import start_child
from tests.support.services import postgres_url_under_test, require_postgres
from tests.support.waiting import eventually


@pytest.fixture
async def pg_url() -> str:
    """The PostgreSQL of TEST_POSTGRES_URL (advisory locks are the database's, so no schema
    of its own: each test takes random keys); skipped or failed as tests/support says."""
    url = postgres_url_under_test()
    await require_postgres(url)
    return url


def random_key() -> int:
    return secrets.randbits(63)


@pytest.fixture
async def admin(pg_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_url)
    yield conn
    await conn.close()


HOLD_LEASE = """
import asyncio, sys
from bot.leadership.advisory_locks import PostgresLease
async def main():
    lease = PostgresLease(sys.argv[1], key=int(sys.argv[2]))
    assert await lease.take()
    print("held", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""

HOLD_OWNER = """
import asyncio, sys
from bot.leadership.advisory_locks import PostgresOwner
async def main():
    owner = await PostgresOwner.open(sys.argv[1])
    owner.hold()
    print(owner.token, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


async def test_two_leases_on_one_key_have_one_holder(pg_url: str) -> None:
    key = random_key()
    first, second = PostgresLease(pg_url, key=key), PostgresLease(pg_url, key=key)
    try:
        assert await first.take()
        assert not await second.take()
        assert await first.keep() and first.held and not second.held
        await first.give_up()  # a clean stop frees it at once
        assert await second.take()
        assert not await first.take()
    finally:
        await first.give_up()
        await second.give_up()


async def test_a_leader_whose_connection_is_cut_is_deposed_at_once_and_the_other_takes_over(
    pg_url: str, admin: asyncpg.Connection
) -> None:
    key = random_key()
    leader, follower = PostgresLease(pg_url, key=key), PostgresLease(pg_url, key=key)
    deposed = asyncio.Event()
    elected = asyncio.Event()

    async def nothing() -> None:
        pass

    async def on_deposed() -> None:
        deposed.set()

    async def on_elected() -> None:
        elected.set()

    lead = Leadership(leader, on_elected=nothing, on_deposed=on_deposed, poll=60)
    follow = Leadership(follower, on_elected=on_elected, on_deposed=nothing, poll=0.2)
    await lead.start()
    await follow.start()
    try:
        assert lead.leading and not follow.leading
        assert leader._conn is not None
        pid = await leader._conn.fetchval("SELECT pg_backend_pid()")
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        cut = time.monotonic()
        await asyncio.wait_for(deposed.wait(), 2)  # keep_every is 5 s: deposed by the close
        assert time.monotonic() - cut < 1 and not lead.leading
        await asyncio.wait_for(elected.wait(), 5)
        assert follow.leading
    finally:
        await lead.give_up()
        await follow.give_up()


@pytest.mark.slow
async def test_a_leader_killed_with_sigkill_is_replaced_within_15_seconds(
    pg_url: str, spawn: list[subprocess.Popen[str]]
) -> None:
    key = random_key()
    pid, line = start_child(spawn, HOLD_LEASE, pg_url, str(key))
    assert line == "held"
    elected_at: list[float] = []

    async def on_elected() -> None:
        elected_at.append(time.monotonic())

    async def on_deposed() -> None:
        pass

    # the default poll (LEASE_POLL, 5 s): the figure an installation gets
    follow = Leadership(
        PostgresLease(pg_url, key=key), on_elected=on_elected, on_deposed=on_deposed
    )
    await follow.start()
    try:
        await asyncio.sleep(0.5)
        assert not follow.leading
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        await eventually(lambda: bool(elected_at), timeout=20, every=0.05)
        took = elected_at[0] - killed
        assert took < 15, f"took over after {took:.1f} s"
    finally:
        await follow.give_up()


@pytest.mark.slow
async def test_a_sending_process_is_alive_until_killed_with_sigkill(
    pg_url: str, spawn: list[subprocess.Popen[str]]
) -> None:
    pid, token = start_child(spawn, HOLD_OWNER, pg_url)
    me = await PostgresOwner.open(pg_url)
    try:
        me.hold()
        assert await me.alive(me.token)
        assert await me.alive(token)
        assert await me.alive(token)  # asking does not take its lock away
        assert not await me.alive(None)
        assert not await me.alive(f"{os.getpid():x}-{secrets.token_hex(8)}")  # never held
        os.kill(pid, signal.SIGKILL)

        async def dead() -> bool:
            return not await me.alive(token)

        await eventually(dead, timeout=5)  # the server sees the socket close at once
    finally:
        me.release()


async def test_a_stopped_owner_is_dead_to_others_and_cannot_claim(pg_url: str) -> None:
    one, other = await open_owner(pg_url, None), await open_owner(pg_url, None)
    assert isinstance(one, PostgresOwner)
    try:
        assert one.token != other.token and owner_keys(one.token) != owner_keys(other.token)
        assert await other.alive(one.token)
        one.release()

        async def one_is_dead() -> bool:
            return not await other.alive(one.token)

        # the server ends the released session (and its lock) a moment after the socket closes
        await eventually(one_is_dead, timeout=5)
        with pytest.raises(OwnerLost):
            one.hold()
    finally:
        one.release()
        other.release()


async def test_an_owner_whose_connection_is_cut_holds_a_new_token_soon(
    pg_url: str, admin: asyncpg.Connection
) -> None:
    owner, other = await PostgresOwner.open(pg_url), await PostgresOwner.open(pg_url)
    try:
        old = owner.token
        assert owner._conn is not None
        pid = await owner._conn.fetchval("SELECT pg_backend_pid()")
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        await eventually(lambda: owner._conn is not None and owner.token != old, timeout=5)
        owner.hold()
        assert not await other.alive(old) and await other.alive(owner.token)
    finally:
        owner.release()
        other.release()


async def test_a_second_process_on_the_database_without_redis_is_refused(pg_url: str) -> None:
    key = random_key()
    async with hold_database_instance_lock(pg_url, key=key):
        with pytest.raises(InstanceLockHeld) as refused:
            async with hold_database_instance_lock(pg_url, key=key):
                pass
        assert str(refused.value) == REPLICAS_NEED_REDIS
        assert "\n" not in str(refused.value)
    async with hold_database_instance_lock(pg_url, key=key):  # released with the first
        pass
