"""aiogram FSM storage in the bot's database, so a conversation survives a restart.

Reads are served from a cache: this process is the only writer of the table. Writes are
coalesced and written behind: set_state and set_data (aiogram calls them separately, `clear()`
calls both) only change the cache and mark the key. At the end of each update the dispatcher
asks for a write in the background (ConversationFlushMiddleware → `flush_soon()`); one writer
task writes every marked key in one statement, so under load one statement carries many chats'
conversations, and a resident's update never waits for a thread trip to store its state.

What a crash can lose: the last update of a chat whose state was not yet written, a
millisecond or so after its replies went out; the resident then answers a question the bot no
longer remembers and is told to start again, and a Confirm pressed again still finds its
receipt (the request key is saved with the reading). A graceful stop loses nothing: `close()`
writes what is pending.

The cache is bounded (MAX_CACHED conversations, least recently used first out), so a process
that has seen a million chats does not keep a million conversations. Only clean entries leave:
a change not yet on disk (marked, or in the batch being written) stays until it is written,
and an evicted conversation is read from the table again the next time its chat writes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey

from bot.storage.conversations import WALK_STATES, Conversations
from bot.storage.db import Database

log = logging.getLogger(__name__)

_MISSING = object()
_ABSENT: tuple[str | None, dict[str, Any]] = (None, {})


def _key(key: StorageKey) -> str:
    return (
        f"{key.bot_id}:{key.chat_id}:{key.user_id}:{key.thread_id or ''}:"
        f"{key.business_connection_id or ''}:{key.destiny}"
    )


class SqliteStorage(Conversations):
    MAX_CACHED = 10_000  # conversations kept in memory; a few KB each at most

    def __init__(self, db: Database) -> None:
        self.db = db
        rows = db.dialect.json_rows(
            "rows", ("key", "TEXT"), ("chat_id", "BIGINT"), ("state", "TEXT"), ("data", "TEXT")
        )
        # ("WHERE true": an upsert after INSERT ... SELECT needs a WHERE to parse on SQLite)
        self._upsert = (
            f"INSERT INTO fsm_states (key, chat_id, state, data) SELECT * FROM ({rows}) AS r"
            " WHERE true ON CONFLICT (key) DO UPDATE SET state = excluded.state,"
            " data = excluded.data"
        )
        self._delete = f"DELETE FROM fsm_states WHERE key IN ({db.dialect.json_texts('keys')})"
        self._walking = (
            "SELECT key, chat_id FROM fsm_states"
            f" WHERE {db.dialect.among_ints('chat_id', 'chats')} AND state LIKE :walk"
        )
        self.max_cached = self.MAX_CACHED
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()
        self._dirty: dict[str, int] = {}  # key name → chat id, changed since the last flush
        self._writing: dict[str, int] = {}  # the batch being written: not evictable either
        self._changes = 0  # counts every change; a flush covers those made before it began
        self._flushed = 0
        self._flushing: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        name = _key(key)
        cached = self._cache.get(name, _MISSING)
        if cached is not _MISSING:
            self._cache.move_to_end(name)
            return cached  # type: ignore[return-value]
        row = await self.db.fetchone(
            "SELECT state, data FROM fsm_states WHERE key = :key", {"key": name}
        )
        value = _ABSENT if row is None else (row["state"], json.loads(row["data"]))
        # a write may have been cached while the row was being read: it is the newer one
        value = self._cache.setdefault(name, value)
        self._evict()
        return value

    def _store(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        name = _key(key)
        if state is None and not data and self._cache.get(name) == _ABSENT:
            return  # clearing what is not there (the menu clears before every walk)
        self._cache[name] = (state, data)
        self._cache.move_to_end(name)
        self._dirty[name] = key.chat_id
        self._changes += 1
        self._evict()

    def _evict(self) -> None:
        """Drop the least recently used clean entries beyond max_cached."""
        excess = len(self._cache) - self.max_cached
        if excess <= 0:
            return
        clean: list[str] = []
        for name in self._cache:  # oldest first
            if name not in self._dirty and name not in self._writing:
                clean.append(name)
                if len(clean) == excess:
                    break
        for name in clean:
            del self._cache[name]

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        name = state.state if isinstance(state, State) else state
        _, data = await self._load(key)
        self._store(key, name, data)

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(key)
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        state, _ = await self._load(key)
        self._store(key, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, data = await self._load(key)
        return dict(data)

    def flush_soon(self) -> None:
        """Write the pending changes in the background; the caller does not wait."""
        if self._dirty and self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_behind())

    async def _write_behind(self) -> None:
        try:
            while self._dirty:  # changes made during a write go in the next one
                await self.flush()
        except Exception:
            # the changes stay marked: the next update's flush_soon() tries again
            log.exception("conversation states not written")
        finally:
            self._writer = None

    async def flush(self) -> None:
        """Write every change made before this call; returns when they are on disk."""
        wanted = self._changes
        while self._flushed < wanted:
            if self._flushing is not None:
                await asyncio.shield(self._flushing)  # that write may hold ours; else the next
                continue
            await self._write_batch()

    async def _write_batch(self) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushing = done
        upto, batch, self._dirty = self._changes, self._dirty, {}
        self._writing = batch
        try:
            statements = self._statements(batch)
            if len(statements) == 1:
                await self.db.execute(*statements[0])
            elif statements:
                # one transaction: /forget's delete can never land between two parts
                async with self.db.transaction() as tx:
                    for sql, params in statements:
                        await tx.execute(sql, params)
        except BaseException:
            for name, chat_id in batch.items():  # to be written by the next flush
                self._dirty.setdefault(name, chat_id)
            raise
        else:
            self._flushed = max(self._flushed, upto)
        finally:
            self._writing = {}
            self._flushing = None
            done.set_result(None)
        self._evict()  # what was held back for the write may go now

    def _statements(self, batch: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
        """The batch as (at most) two statements: every upsert in one, every delete in one,
        each list travelling as one JSON parameter."""
        upserts: list[Any] = []
        deletes: list[str] = []
        for name, chat_id in batch.items():
            state, data = self._cache.get(name, _ABSENT)
            if state is None and not data:
                deletes.append(name)
                continue
            try:
                text = json.dumps(data, ensure_ascii=False)
            except (TypeError, ValueError):
                # a handler's bug; it must not keep every other conversation from being written
                log.exception("conversation %s has data that is not JSON: not written", name)
                continue
            upserts.append((name, chat_id, state, text))
        statements: list[tuple[str, dict[str, Any]]] = []
        if upserts:
            statements.append((self._upsert, {"rows": json.dumps(upserts, ensure_ascii=False)}))
        if deletes:
            statements.append((self._delete, {"keys": json.dumps(deletes, ensure_ascii=False)}))
        return statements

    def create_isolation(self) -> ChatIsolation:
        return ChatIsolation()  # this process is the only one on the database

    async def forget_chat(self, chat_id: int) -> None:
        """Drop cached state of a chat whose rows were deleted (see /forget)."""
        for name in [n for n in self._cache if n.split(":")[1] == str(chat_id)]:
            del self._cache[name]
            self._dirty.pop(name, None)

    async def mid_walk(self, chat_ids: Sequence[int]) -> set[int]:
        """From the table, where the cache has nothing newer, and from the cache."""
        wanted = set(chat_ids)
        rows = await self.db.fetchall(
            self._walking, {"chats": json.dumps(sorted(wanted)), "walk": f"{WALK_STATES}%"}
        )
        walking = {row[1] for row in rows if row[0] not in self._cache}
        for name, (state, _) in self._cache.items():
            if state is not None and state.startswith(WALK_STATES):
                chat_id = int(name.split(":")[1])
                if chat_id in wanted:
                    walking.add(chat_id)
        return walking

    async def close(self) -> None:
        """Write what is pending; aiogram calls this on shutdown, App.close() once more."""
        await self.flush()
        if self._writer is not None:
            await self._writer


class ChatIsolation(BaseEventIsolation):
    """One update of a chat at a time, as aiogram's SimpleEventIsolation, whose lock per chat
    stays for ever; here a chat's lock lives only while an update holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[StorageKey, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    @property
    def held(self) -> int:
        """Chats with an update in hand or waiting."""
        return len(self._locks)

    async def close(self) -> None:
        self._locks.clear()
