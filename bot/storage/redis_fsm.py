"""Conversations and per-chat order in Redis (REDIS_URL, SPEC §12): any replica takes any
update of any chat.

The state and data are aiogram's RedisStorage, under `<REDIS_PREFIX>:fsm:<chat>:<user>:
<destiny>:state|data`, so one Redis can serve several installations. Nothing is cached or
written behind: another replica may take the chat's next update.

The per-chat lock is aiogram's RedisEventIsolation with one change: its lock lives LOCK_TTL
seconds and is renewed while the update runs. aiogram's gives each lock a fixed 60 s, so a
replica killed mid-update left its chat deaf for a minute on every other replica; here the
chat is free within LOCK_TTL, and an update that runs longer than LOCK_TTL keeps its lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from aiogram.fsm.storage.base import DEFAULT_DESTINY, DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.lock import Lock
from redis.exceptions import RedisError

from bot.storage.conversations import Conversations

log = logging.getLogger(__name__)

LOCK_TTL = 10.0  # seconds a dead replica's chat stays locked
LOCK_POLL = 0.02  # seconds between tries of a waiting update (redis-py's default: 0.1)
CONNECT_TIMEOUT = 5.0
POOL_SIZE = 50  # connections to Redis a process holds at most; more commands wait their turn


def redis_address(url: str) -> str:
    """The URL without its credentials: what a log line or an error may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class ChatLocks(RedisEventIsolation):
    """One update of a chat at a time across every replica sharing the Redis and prefix."""

    def __init__(
        self, redis: Redis, key_builder: DefaultKeyBuilder, *, ttl: float = LOCK_TTL
    ) -> None:
        super().__init__(redis, key_builder, {"timeout": ttl, "sleep": LOCK_POLL})
        self.ttl = ttl

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock = self.redis.lock(self.key_builder.build(key, "lock"), **self.lock_kwargs)
        await lock.acquire()
        renewing = asyncio.create_task(self._renew(lock))
        try:
            yield None
        finally:
            renewing.cancel()
            await asyncio.wait([renewing])  # its cancellation is not ours to raise
            try:
                await lock.release()
            except RedisError as exc:  # it expires by itself; the update itself was handled
                log.warning("chat lock not released: %s", type(exc).__name__)

    async def _renew(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await lock.reacquire()
            except RedisError as exc:
                log.warning("chat lock not renewed: %s", type(exc).__name__)


class RedisConversations(RedisStorage, Conversations):
    server = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        # a burst of updates waits for a free connection instead of failing: the default
        # pool raises MaxConnectionsError past 100 commands in flight (found under 200
        # residents at once, bench/scaleout.py)
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=POOL_SIZE,
            timeout=CONNECT_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
        )
        redis = Redis(connection_pool=pool)
        # no bot id in the keys: the prefix tells installations apart
        keys = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_destiny=True)
        super().__init__(redis, key_builder=keys)
        self.address = redis_address(url)

    def create_isolation(self, **_: object) -> ChatLocks:
        assert isinstance(self.key_builder, DefaultKeyBuilder)
        return ChatLocks(self.redis, self.key_builder)

    async def forget_chat(self, chat_id: int) -> None:
        # the bot keeps conversations of private chats only (chat = user, no topics) and
        # one destiny; the lock key is the update's own, gone when it ends
        key = StorageKey(bot_id=0, chat_id=chat_id, user_id=chat_id, destiny=DEFAULT_DESTINY)
        await self.redis.delete(
            self.key_builder.build(key, "state"), self.key_builder.build(key, "data")
        )

    async def ping(self) -> None:
        await self.redis.ping()
