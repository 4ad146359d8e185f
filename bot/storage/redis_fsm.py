"""Conversations and per-chat order in Redis (REDIS_URL, SPEC §12): any replica takes any
update of any chat.

One key per conversation, `<REDIS_PREFIX>:fsm:<chat>:<user>:<destiny>:conv`: its state as a
JSON string (or null), a newline, its data as a JSON object. One Redis serves several
installations, each under its prefix. Nothing outlives an update in memory: another replica
may take the chat's next update.

An update holds its chat's lock (`...:lock`, a random token, LOCK_TTL) while it runs, and
while it holds it this process is the only writer of that conversation. So the lock is taken
and the conversation read in one round trip (one script: SET NX PX, then GET); aiogram's
get_state/get_data are answered from what was read, set_state/set_data kept until the update
ends; then one script writes the conversation (if it changed) and releases the lock, both only
if the lock is still this update's. Two round trips an update where aiogram's RedisStorage and
RedisEventIsolation make six. A write or a release that fails is logged in one line: the
update was handled, and the lock expires by itself.

The lock lives LOCK_TTL seconds and is renewed while the update runs (a timer, started only
once an update has run LOCK_TTL/3): aiogram's gives each lock a fixed 60 s, so a replica
killed mid-update left its chat deaf for a minute on every other replica; here the chat is
free within LOCK_TTL, and an update that runs longer than LOCK_TTL keeps its lock. Updates of
one chat in one process also queue in arrival order (`ChatIsolation`) before they ask Redis.

Used outside an update (a test, a script), the storage reads and writes the key at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    DEFAULT_DESTINY,
    BaseEventIsolation,
    DefaultKeyBuilder,
    StateType,
    StorageKey,
)
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.storage.conversations import WALK_STATES, Conversations
from bot.storage.fsm import ChatIsolation

log = logging.getLogger(__name__)

LOCK_TTL = 10.0  # seconds a dead replica's chat stays locked
LOCK_POLL = 0.02  # seconds between tries of a waiting update (redis-py's default: 0.1)
CONNECT_TIMEOUT = 5.0
POOL_SIZE = 50  # connections to Redis a process holds at most; more commands wait their turn
MGET_CHUNK = 1000  # keys in one MGET of mid_walk

EMPTY = "null\n{}"  # no state, no data: the key is deleted rather than stored

# KEYS: lock, conversation; ARGV: token, ttl in ms. {1, the conversation or nil} or {0}.
TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2])}
end
return {0}
"""
# KEYS: lock, conversation; ARGV: token, what to do ('' nothing, 'set', 'del'), value.
# 1 when written and released; 0 when the lock is no longer this update's (nothing done).
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[2], ARGV[3])
elseif ARGV[2] == 'del' then
  redis.call('DEL', KEYS[2])
end
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS: lock; ARGV: token, ttl in ms. 1 when renewed, 0 when the lock is no longer ours.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def redis_address(url: str) -> str:
    """The URL without its credentials: what a log line or an error may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def conversation_key(builder: DefaultKeyBuilder, key: StorageKey) -> str:
    """`<prefix>:fsm:<chat>:<user>:<destiny>:conv`, beside aiogram's `...:lock`."""
    return f"{builder.build(key)}:conv"


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return EMPTY
    return raw.decode() if isinstance(raw, bytes) else raw


def _state_of(text: str) -> str | None:
    try:
        state = json.loads(text.partition("\n")[0])
    except ValueError:
        return None  # not ours to read; the chat's next update clears it
    return state if isinstance(state, str) else None


@dataclass(slots=True)
class Held:
    """The conversation of a chat whose lock an update of this process holds."""

    read: str  # as it was when the lock was taken (EMPTY when there was none)
    state: str | None
    data: str  # JSON text: each get_data decodes it afresh, as RedisStorage did

    @classmethod
    def of(cls, text: str) -> Held:
        head, _, data = text.partition("\n")
        try:
            state = json.loads(head)
            if not isinstance(json.loads(data), dict) or not isinstance(state, str | None):
                raise ValueError
        except ValueError:
            # not a conversation this version wrote: cleared (deleted when the update ends),
            # and the resident is asked to start again, as for any conversation lost
            log.warning("conversation in Redis not readable: cleared")
            return cls(text, None, "{}")
        return cls(text, state, data)

    def text(self) -> str:
        return f"{json.dumps(self.state, ensure_ascii=False)}\n{self.data}"


class ChatLocks(BaseEventIsolation):
    """One update of a chat at a time across every replica sharing the Redis and prefix,
    carrying the chat's conversation in and out (see the module's text). Without a
    `conversations` it is the lock alone."""

    def __init__(
        self,
        redis: Redis,
        key_builder: DefaultKeyBuilder,
        *,
        ttl: float = LOCK_TTL,
        conversations: RedisConversations | None = None,
    ) -> None:
        self.redis = redis
        self.key_builder = key_builder
        self.ttl = ttl
        self.conversations = conversations
        self._local = ChatIsolation()  # one chat's updates of this process, in arrival order
        self._take = redis.register_script(TAKE)
        self._release = redis.register_script(RELEASE)
        self._renew = redis.register_script(RENEW)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self._local.lock(key):
            lock_key = self.key_builder.build(key, "lock")
            conv_key = conversation_key(self.key_builder, key)
            token = secrets.token_hex(16)
            held = Held.of(_text(await self._acquire(lock_key, conv_key, token)))
            renewal = _Renewal(self, lock_key, token)
            table = self.conversations.held if self.conversations is not None else {}
            table[conv_key] = held
            try:
                yield None
            finally:
                del table[conv_key]
                await renewal.stop()
                await self._finish(lock_key, conv_key, token, held)

    async def _acquire(self, lock_key: str, conv_key: str, token: str) -> bytes | None:
        ttl_ms = int(self.ttl * 1000)
        while True:
            reply = await self._take(keys=[lock_key, conv_key], args=[token, ttl_ms])
            if reply[0]:
                return reply[1] if len(reply) > 1 else None
            await asyncio.sleep(LOCK_POLL)

    async def _finish(self, lock_key: str, conv_key: str, token: str, held: Held) -> None:
        text = held.text()
        if text == held.read:
            action, value = "", ""
        elif held.state is None and held.data == "{}":
            action, value = "del", ""
        else:
            action, value = "set", text
        try:
            done = await self._release(keys=[lock_key, conv_key], args=[token, action, value])
        except RedisError as exc:  # the lock expires by itself; the update itself was handled
            log.warning("chat lock not released, conversation not written: %s", type(exc).__name__)
            return
        if not done:
            log.warning("chat lock lost before the update ended: conversation not written")

    async def renew(self, lock_key: str, token: str) -> bool:
        return bool(await self._renew(keys=[lock_key], args=[token, int(self.ttl * 1000)]))

    async def close(self) -> None:
        await self._local.close()


class _Renewal:
    """Renews an update's lock every ttl/3 while it runs: a timer, and a task only when due
    (most updates end long before the first)."""

    def __init__(self, locks: ChatLocks, lock_key: str, token: str) -> None:
        self.locks, self.lock_key, self.token = locks, lock_key, token
        self.loop = asyncio.get_running_loop()
        self.stopped = False
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = self.loop.call_later(locks.ttl / 3, self._due)

    def _due(self) -> None:
        self.timer = None
        self.task = self.loop.create_task(self._renew())

    async def _renew(self) -> None:
        try:
            if not await self.locks.renew(self.lock_key, self.token):
                log.warning("chat lock lost while the update ran")
                return
        except RedisError as exc:
            log.warning("chat lock not renewed: %s", type(exc).__name__)
        if not self.stopped:
            self.timer = self.loop.call_later(self.locks.ttl / 3, self._due)

    async def stop(self) -> None:
        """No renewal after this; one under way ends first (a round trip at most)."""
        self.stopped = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.task is not None:
            await asyncio.wait([self.task])  # it logs its own failure


class RedisConversations(Conversations):
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
            # a command Redis leaves unanswered fails (logged) instead of holding the update
            socket_timeout=CONNECT_TIMEOUT,
        )
        self.redis = Redis(connection_pool=pool)
        # no bot id in the keys: the prefix tells installations apart
        self.key_builder = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_destiny=True)
        self.address = redis_address(url)
        self.held: dict[str, Held] = {}  # conversation key → what an update of ours holds

    def create_isolation(self, **_: object) -> ChatLocks:
        return ChatLocks(self.redis, self.key_builder, conversations=self)

    async def _held_or_read(self, key: StorageKey) -> tuple[str, Held]:
        name = conversation_key(self.key_builder, key)
        held = self.held.get(name)
        if held is None:  # outside an update: read it now
            held = Held.of(_text(await self.redis.get(name)))
        return name, held

    async def _write_now(self, name: str, held: Held) -> None:
        if name in self.held:
            return  # written when the update ends
        if held.state is None and held.data == "{}":
            await self.redis.delete(name)
        else:
            await self.redis.set(name, held.text())

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name, held = await self._held_or_read(key)
        held.state = state.state if isinstance(state, State) else state
        await self._write_now(name, held)

    async def get_state(self, key: StorageKey) -> str | None:
        _, held = await self._held_or_read(key)
        return held.state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        name, held = await self._held_or_read(key)
        held.data = json.dumps(dict(data), ensure_ascii=False)
        await self._write_now(name, held)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, held = await self._held_or_read(key)
        data: dict[str, Any] = json.loads(held.data)
        return data

    def _chat_key(self, chat_id: int) -> str:
        # the bot keeps conversations of private chats only (chat = user, no topics) and
        # one destiny
        key = StorageKey(bot_id=0, chat_id=chat_id, user_id=chat_id, destiny=DEFAULT_DESTINY)
        return conversation_key(self.key_builder, key)

    async def forget_chat(self, chat_id: int) -> None:
        name = self._chat_key(chat_id)
        held = self.held.get(name)
        if held is not None:  # /forget's own update: nothing of it is written at its end
            held.state, held.data = None, "{}"
        # with the keys of versions that kept state and data apart; the lock key is the
        # update's own, gone when it ends
        base = name.removesuffix(":conv")
        await self.redis.delete(name, f"{base}:state", f"{base}:data")

    async def mid_walk(self, chat_ids: Sequence[int]) -> set[int]:
        """One pipelined MGET of the chats' conversations; an update of this process
        holding one answers for it."""
        ids = list(chat_ids)
        names = [self._chat_key(chat_id) for chat_id in ids]
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(names), MGET_CHUNK):
                pipe.mget(names[start : start + MGET_CHUNK])
            replies = await pipe.execute() if names else []
        values = [value for reply in replies for value in reply]
        walking: set[int] = set()
        for chat_id, name, raw in zip(ids, names, values, strict=True):
            held = self.held.get(name)
            state = held.state if held is not None else _state_of(_text(raw))
            if state is not None and state.startswith(WALK_STATES):
                walking.add(chat_id)
        return walking

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose(close_connection_pool=True)
