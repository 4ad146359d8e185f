"""PostgreSQL session advisory locks: the leader lease, a sending process's liveness, and the
single-instance rule without Redis (SPEC §12).

Each lock is held by a connection of its own and ends with it: the server frees it as soon as
it sees the socket close, SIGKILL included (on a network that drops silently, after the
keepalives set below: about 11 s). So these need a direct connection or a session-mode pooler,
never a transaction-mode one. Leader and instance locks use the one-bigint key space; a
process's owner lock the two-int one, so neither can collide with the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import asyncpg

from bot.leadership.lease import LEASE_POLL
from bot.storage.instance_lock import InstanceLockHeld

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
QUERY_TIMEOUT = 3.0  # a leader whose server does not answer this fast stops sending
# the server drops a silent client after 5 + 2 × 3 s: later than the leader's own
# LEASE_POLL + QUERY_TIMEOUT, so a cut-off leader stops before another can take over
KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "3",
}
REPLICAS_NEED_REDIS = (
    "another bot process is already running on this database; set REDIS_URL to run replicas"
)


def lock_key(name: str) -> int:
    """A bigint advisory lock key from a name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)


def owner_keys(token: str) -> tuple[int, int]:
    """The (int, int) advisory lock key of an owner token."""
    digest = hashlib.blake2b(token.encode(), digest_size=8, person=b"owner").digest()
    return (
        int.from_bytes(digest[:4], signed=True),
        int.from_bytes(digest[4:], signed=True),
    )


LEADER_KEY = lock_key("meter-readings-bot:leader")


def installation_key(name: str, url: str) -> int:
    """The lock `name` of the installation at `url`: advisory locks are per database, so the
    schema the URL selects (`?search_path=…`) is part of the key, and two installations in two
    schemas of one database (or two tests) never share a leader."""
    schema = dict(parse_qsl(urlsplit(url).query)).get("search_path")
    return lock_key(f"meter-readings-bot:{name}" + (f":{schema}" if schema else ""))


async def connect(url: str, purpose: str) -> asyncpg.Connection:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn: asyncpg.Connection = await asyncpg.connect(
        dsn,
        timeout=CONNECT_TIMEOUT,
        server_settings={**KEEPALIVES, "application_name": f"meter-readings-bot {purpose}"},
    )
    return conn


async def _close(conn: asyncpg.Connection) -> None:
    """Close politely within QUERY_TIMEOUT, else cut the socket: either way the locks end."""
    try:
        await conn.close(timeout=QUERY_TIMEOUT)
    except Exception:
        conn.terminate()


class PostgresLease:
    """The leader lease: `pg_try_advisory_lock(key)` on a connection of its own."""

    shared = True

    def __init__(self, url: str, *, key: int = LEADER_KEY, keep_every: float = LEASE_POLL) -> None:
        self.url = url
        self.key = key
        self.keep_every = keep_every
        self.lost = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._held = False

    def _closed(self, conn: object) -> None:
        if conn is self._conn:
            self._conn = None
            if self._held:
                self._held = False
                self.lost.set()  # deposed now, not at the next keep

    async def take(self) -> bool:
        if self._held:
            return True
        if self._conn is None or self._conn.is_closed():
            conn = await connect(self.url, "leader lease")
            conn.add_termination_listener(self._closed)
            self._conn = conn
        taken = await self._conn.fetchval(
            "SELECT pg_try_advisory_lock($1)", self.key, timeout=QUERY_TIMEOUT
        )
        if taken:
            self.lost.clear()
            self._held = True
        return bool(taken)

    async def keep(self) -> bool:
        conn = self._conn
        if not self._held or conn is None:
            return False
        try:
            await conn.fetchval("SELECT 1", timeout=QUERY_TIMEOUT)
        except Exception as exc:
            log.warning("the leader lease's connection fails: %s", str(exc) or type(exc).__name__)
            self._held = False
            self._conn = None
            conn.terminate()  # whatever the server still holds for us ends with the socket
            return False
        return True

    @property
    def held(self) -> bool:
        return self._held

    def free_in(self) -> float | None:
        return None

    async def give_up(self) -> None:
        conn, self._conn = self._conn, None
        self._held = False
        if conn is not None:
            await _close(conn)


class OwnerLost(Exception):
    """This process's owner lock is gone with its connection: it must not claim deliveries."""


class PostgresOwner:
    """Whether the process that claimed a delivery is alive, on PostgreSQL: each sending
    process holds the advisory lock of its token's (int, int) key on a connection of its own;
    a token whose lock another session can take belongs to a dead process.

    Made by `open`, which holds the lock at once, so `hold` has nothing left to do. A lost
    connection takes the lock with it: until a new one holds a new token, `hold` refuses.
    """

    RECONNECT_EVERY = 2.0

    def __init__(self, url: str, conn: asyncpg.Connection, token: str) -> None:
        self.url = url
        self.token = token
        self._conn: asyncpg.Connection | None = conn
        self._ask = asyncio.Lock()  # one query at a time on the connection
        self._reconnect: asyncio.Task[None] | None = None
        self._released = False
        conn.add_termination_listener(self._closed)

    @classmethod
    async def open(cls, url: str) -> PostgresOwner:
        conn, token = await cls._locked(url)
        return cls(url, conn, token)

    @staticmethod
    async def _locked(url: str) -> tuple[asyncpg.Connection, str]:
        conn = await connect(url, "delivery owner")
        try:
            while True:  # a fresh random token is free but for a 2**-64 chance
                token = f"{os.getpid():x}-{secrets.token_hex(8)}"
                if await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", *owner_keys(token), timeout=QUERY_TIMEOUT
                ):
                    return conn, token
        except BaseException:
            conn.terminate()
            raise

    def hold(self) -> None:
        if self._conn is None or self._conn.is_closed():
            raise OwnerLost("the connection holding this process's owner lock is gone")

    async def alive(self, token: str | None) -> bool:
        if token == self.token:
            return True
        if token is None:
            return False
        conn = self._conn
        if conn is None:
            raise OwnerLost("cannot tell who is alive without a connection")
        keys = owner_keys(token)
        async with self._ask:
            free = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", *keys, timeout=QUERY_TIMEOUT
            )
            if free:
                await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", *keys)
        return not free

    def release(self) -> None:
        """A clean stop: the connection ends, and the lock with it."""
        self._released = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    def _closed(self, conn: object) -> None:
        if conn is not self._conn:
            return
        self._conn = None
        if not self._released:
            log.warning("lost the owner lock's connection; taking a new one")
            self._reconnect = asyncio.get_running_loop().create_task(self._again())

    async def _again(self) -> None:
        while not self._released:
            try:
                conn, token = await self._locked(self.url)
            except Exception:
                await asyncio.sleep(self.RECONNECT_EVERY)
                continue
            self.token, self._conn = token, conn
            conn.add_termination_listener(self._closed)
            return


@contextlib.asynccontextmanager
async def hold_database_instance_lock(url: str, *, key: int | None = None) -> AsyncIterator[None]:
    """The single-instance rule on PostgreSQL without Redis: the lock of `key` until the
    block ends (or the process does). Raises InstanceLockHeld (one line) when another process
    holds it, OSError or asyncpg's errors when the database cannot be reached."""
    key = installation_key("instance", url) if key is None else key
    conn = await connect(url, "instance lock")
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key, timeout=QUERY_TIMEOUT):
            raise InstanceLockHeld(REPLICAS_NEED_REDIS)
        yield
    finally:
        await _close(conn)
