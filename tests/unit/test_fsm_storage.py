"""The FSM storage: changes are coalesced, written behind each update, and survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.fsm.linking import LinkAccount
from bot.fsm.submission import Submission
from bot.storage.db import Database
from bot.storage.fsm import SqliteStorage
from bot.storage.schema_version import prepare
from bot.storage.sqlite import SqliteDatabase


class CountingDatabase(SqliteDatabase):
    """Counts write statements; can be told to fail or to hold the next one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: list[str] = []
        self.fail_next = False
        self.hold: asyncio.Event | None = None

    async def execute(self, sql: str, params: Any = ()) -> int:
        self.writes.append(sql.split()[0])
        if self.hold is not None:
            await self.hold.wait()
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk I/O error")
        return await super().execute(sql, params)


@pytest.fixture
async def counting(tmp_path: Path) -> AsyncIterator[CountingDatabase]:
    database = CountingDatabase(tmp_path / "bot.sqlite3")
    await database.connect()
    await prepare(database)
    yield database
    await database.close()


def key(chat_id: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=chat_id, user_id=chat_id)


async def stored_rows(db: Database) -> dict[int, tuple[str | None, str]]:
    rows = await db.fetchall("SELECT chat_id, state, data FROM fsm_states")
    return {row["chat_id"]: (row["state"], row["data"]) for row in rows}


async def test_state_and_data_of_one_update_are_written_in_one_statement(
    counting: CountingDatabase,
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    await storage.set_data(key(1), {"zone": 0})
    assert counting.writes == []
    assert await storage.get_state(key(1)) == Submission.value.state  # from the cache
    await storage.flush()
    assert counting.writes == ["INSERT"]
    assert await stored_rows(counting) == {1: (Submission.value.state, '{"zone": 0}')}


async def test_a_conversation_survives_a_restart(db: Database) -> None:
    storage = SqliteStorage(db)
    await storage.set_state(key(1), Submission.confirm)
    await storage.set_data(key(1), {"key": "abc", "values": [105]})
    await storage.close()  # a graceful stop writes what is pending

    restarted = SqliteStorage(db)
    assert await restarted.get_state(key(1)) == Submission.confirm.state
    assert await restarted.get_data(key(1)) == {"key": "abc", "values": [105]}


async def test_clearing_a_conversation_that_is_not_there_writes_nothing(
    counting: CountingDatabase,
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), None)
    await storage.set_data(key(1), {})
    await storage.flush()
    assert counting.writes == []


async def test_a_cleared_conversation_is_deleted(db: Database) -> None:
    storage = SqliteStorage(db)
    await storage.set_state(key(1), Submission.value)
    await storage.flush()
    await storage.set_state(key(1), None)
    await storage.set_data(key(1), {})
    await storage.flush()
    assert await stored_rows(db) == {}


async def test_concurrent_updates_share_one_write(counting: CountingDatabase) -> None:
    storage = SqliteStorage(counting)
    for chat_id in range(1, 51):  # aiogram reads the state before the handler runs
        await storage.get_state(key(chat_id))

    async def update(chat_id: int) -> None:
        await storage.set_state(key(chat_id), Submission.value)
        await storage.set_data(key(chat_id), {"chat": chat_id})
        await storage.flush()

    await asyncio.gather(*(update(chat_id) for chat_id in range(1, 51)))
    assert len(counting.writes) == 2  # the first update's change, then all the others
    assert len(await stored_rows(counting)) == 50


async def test_flush_waits_for_a_change_made_while_another_write_was_under_way(
    counting: CountingDatabase,
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    counting.hold = asyncio.Event()
    first = asyncio.create_task(storage.flush())
    await asyncio.sleep(0)  # chat 1 is being written
    await storage.set_state(key(2), Submission.value)
    second = asyncio.create_task(storage.flush())
    await asyncio.sleep(0.01)
    assert not second.done()
    counting.hold.set()
    await asyncio.gather(first, second)
    assert set(await stored_rows(counting)) == {1, 2}


async def test_a_failed_write_is_retried_by_the_next_flush(counting: CountingDatabase) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    counting.fail_next = True
    with pytest.raises(OSError):
        await storage.flush()
    await storage.flush()
    assert await stored_rows(counting) == {1: (Submission.value.state, "{}")}


async def test_a_forgotten_chat_leaves_nothing_to_write(counting: CountingDatabase) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    await storage.forget_chat(1)
    await storage.flush()
    assert counting.writes == []
    assert await storage.get_state(key(1)) is None


async def test_the_update_does_not_wait_for_its_state_to_be_written(
    counting: CountingDatabase,
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    counting.hold = asyncio.Event()
    storage.flush_soon()  # what the dispatcher does at the end of each update
    await asyncio.sleep(0.01)
    assert counting.writes == ["INSERT"]  # under way, and the caller went on
    await storage.set_state(key(2), Submission.value)  # an update meanwhile
    storage.flush_soon()
    counting.hold.set()
    await storage.close()
    assert set(await stored_rows(counting)) == {1, 2}


async def test_a_failed_write_behind_is_logged_and_tried_again_after_the_next_update(
    counting: CountingDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    counting.fail_next = True
    storage.flush_soon()
    await asyncio.sleep(0.01)
    assert "conversation states not written" in caplog.text
    assert await stored_rows(counting) == {}
    await storage.set_state(key(2), Submission.confirm)
    storage.flush_soon()
    await storage.close()
    assert set(await stored_rows(counting)) == {1, 2}


async def test_data_that_is_not_json_does_not_keep_others_from_being_written(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SqliteStorage(db)
    await storage.set_data(key(1), {"when": object()})
    await storage.set_state(key(2), Submission.value)
    await storage.flush()
    assert set(await stored_rows(db)) == {2}
    assert "not JSON" in caplog.text


async def test_a_batch_of_upserts_and_deletes_is_written_at_once(db: Database) -> None:
    storage = SqliteStorage(db)
    await storage.set_state(key(1), Submission.value)
    await storage.flush()
    await storage.set_state(key(1), None)  # cleared: a delete
    await storage.set_state(key(2), Submission.value)  # an upsert, in the same batch
    await storage.flush()
    assert set(await stored_rows(db)) == {2}


# --- which chats are mid-walk (a reminder waits for the walk to end) ----------------------


async def test_a_walk_begun_but_not_yet_written_counts_as_mid_walk(
    counting: CountingDatabase,
) -> None:
    storage = SqliteStorage(counting)
    await storage.set_state(key(1), Submission.value)
    await storage.set_state(key(2), LinkAccount.phone)  # another conversation
    assert counting.writes == []  # nothing in the table yet
    assert await storage.mid_walk([1, 2, 3]) == {1}


async def test_mid_walk_reads_the_table_unless_this_process_changed_the_chat_since(
    db: Database,
) -> None:
    before = SqliteStorage(db)
    for chat_id in (1, 2, 3):
        await before.set_state(key(chat_id), Submission.confirm)
    await before.close()

    restarted = SqliteStorage(db)
    assert await restarted.mid_walk([1, 2, 4]) == {1, 2}  # 3 not asked, 4 never walked
    await restarted.set_state(key(2), None)  # chat 2's walk ended, not yet written
    await restarted.set_data(key(2), {})
    assert await restarted.mid_walk([1, 2, 3]) == {1, 3}
