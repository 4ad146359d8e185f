"""The per-process caches of conversations and languages are bounded (issue 9, point 20):
least recently used out, clean entries only, an evicted chat read again from the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.fsm.submission import Submission
from bot.i18n import ChatLocaleManager
from bot.storage.chats import ChatRepository
from bot.storage.db import Database
from bot.storage.fsm import ChatIsolation, SqliteStorage
from bot.storage.schema_version import prepare
from tests.harness import BotHarness
from tests.unit.test_fsm_storage import CountingDatabase, key, stored_rows

N, K = 5, 7


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(tmp_path / "bot.sqlite3")
    await database.connect()
    await prepare(database)
    yield database
    await database.close()


async def test_the_conversation_cache_keeps_at_most_n_chats_and_reloads_an_evicted_one(
    db: Database,
) -> None:
    storage = SqliteStorage(db)
    storage.max_cached = N
    for chat_id in range(1, N + K + 1):
        await storage.set_state(key(chat_id), Submission.value)
        await storage.set_data(key(chat_id), {"chat": chat_id})
        await storage.flush()
    assert len(storage._cache) <= N
    # chat 1 was the least recently used: gone from memory, its conversation is on disk
    assert all(":1:" not in name for name in storage._cache)
    assert await storage.get_state(key(1)) == Submission.value.state
    assert await storage.get_data(key(1)) == {"chat": 1}
    assert len(storage._cache) <= N


async def test_a_pending_write_is_never_evicted(counting: CountingDatabase) -> None:
    storage = SqliteStorage(counting)
    storage.max_cached = N
    await storage.set_state(key(1), Submission.value)
    counting.hold = asyncio.Event()
    writing = asyncio.create_task(storage.flush())  # chat 1 is being written, and waits
    await asyncio.sleep(0)
    for chat_id in range(2, N + K + 1):  # every one of them changed, none written yet
        await storage.set_data(key(chat_id), {"chat": chat_id})
    assert len(storage._cache) == N + K  # over the bound: nothing unwritten may go
    counting.hold.set()
    await writing
    counting.fail_next = True  # the next write fails: still nothing may go
    with pytest.raises(OSError):
        await storage.flush()
    assert len(storage._cache) == N + K - 1  # only chat 1, written, has gone
    await storage.flush()
    assert len(storage._cache) <= N
    rows = await stored_rows(counting)
    assert set(rows) == set(range(1, N + K + 1))
    for chat_id in range(2, N + K + 1):  # the evicted ones load from the table
        assert await storage.get_data(key(chat_id)) == {"chat": chat_id}


async def test_the_language_cache_keeps_at_most_n_chats_and_reloads_an_evicted_one(
    db: Database,
) -> None:
    chats = ChatRepository(db)
    manager = ChatLocaleManager(chats, FrozenClock(datetime(2026, 11, 20, tzinfo=UTC)), "ru")
    manager.max_cached = N
    now = datetime(2026, 11, 20, tzinfo=UTC)
    for chat_id in range(1, N + K + 1):
        await chats.set_locale(chat_id, "en" if chat_id % 2 else "ru", now)
        assert await manager.stored_locale(chat_id) == ("en" if chat_id % 2 else "ru")
    assert len(manager._cache) <= N
    assert await manager.stored_locale(1) == "en"  # evicted, read again
    assert len(manager._cache) <= N


async def test_an_evicted_chat_carries_on_its_conversation_through_the_dispatcher(
    harness: BotHarness,
) -> None:
    app = harness.app
    fsm = app.storage.fsm
    assert isinstance(fsm, SqliteStorage)  # the bounded cache is the database storage's
    fsm.max_cached = N
    app.services.locales.max_cached = N
    chats = [harness.chat(chat_id) for chat_id in range(1, N + K + 1)]
    for chat in chats:
        await chat.send("/start")  # each is asked for its account number
        await fsm.flush()
    assert len(fsm._cache) <= N
    assert len(app.services.locales._cache) <= N
    await chats[0].send("5012345678")  # chat 1 left memory long ago
    assert chats[0].last_text == app.core.get("link-ask-phone", "ru")


async def test_chat_locks_are_kept_only_while_an_update_holds_or_waits(
    harness: BotHarness,
) -> None:
    isolation = harness.app.dispatcher.fsm.events_isolation
    assert isinstance(isolation, ChatIsolation)
    for chat_id in range(1, N + K + 1):
        await harness.chat(chat_id).send("/help")
    assert isolation.held == 0  # aiogram's SimpleEventIsolation keeps one lock per chat


async def test_20_updates_of_one_chat_still_run_one_at_a_time() -> None:
    isolation = ChatIsolation()
    inside, most = 0, 0

    async def update() -> None:
        nonlocal inside, most
        async with isolation.lock(key(1)):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(update() for _ in range(20)))
    assert most == 1
    assert isolation.held == 0
