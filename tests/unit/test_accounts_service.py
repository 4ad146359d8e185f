"""The accounts of a chat (SPEC §5.6): list, switch, unlink, and forgetting the chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.services.accounts import AccountsService, ForgetCached
from bot.storage.chats import ChatRepository, LinkRepository
from bot.storage.db import Database
from bot.storage.fsm import SqliteStorage
from tests.seed import M, add_account

# on SQLite and on PostgreSQL (tests/conftest.py `engine`)
pytestmark = pytest.mark.usefixtures("engine")

CHAT = 1001
OTHER_CHAT = 1002
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def service(
    db: Database, *caches: ForgetCached, conversations: SqliteStorage | None = None
) -> AccountsService:
    return AccountsService(
        chats=ChatRepository(db),
        links=LinkRepository(db),
        conversations=conversations or SqliteStorage(db),
        caches=caches,
    )


async def two_accounts(db: Database) -> tuple[int, int]:
    """The chat linked to two accounts, the second linked last (so it is the current one)."""
    first = await add_account(db, "5012345678", "+79161234567", M("CW-1", "cold_water"))
    second = await add_account(db, "5000000001", "+79160000001", M("GAS-2", "gas"))
    await LinkRepository(db).link(CHAT, first, NOV_1)
    await LinkRepository(db).link(CHAT, second, NOV_1 + timedelta(hours=1))
    return first, second


async def test_a_chat_without_accounts_has_none_and_no_current_one(db: Database) -> None:
    linked = await service(db).of_chat(CHAT)
    assert (linked.accounts, linked.current_id) == ([], None)
    assert not await service(db).has_any(CHAT)


async def test_the_accounts_come_in_the_order_linked_with_the_current_one(db: Database) -> None:
    first, second = await two_accounts(db)
    linked = await service(db).of_chat(CHAT)
    assert [a.id for a in linked.accounts] == [first, second]
    assert linked.current_id == second
    assert await service(db).has_any(CHAT)


async def test_switching_to_a_linked_account_makes_it_current(db: Database) -> None:
    first, _ = await two_accounts(db)
    assert await service(db).switch(CHAT, first)
    assert (await service(db).of_chat(CHAT)).current_id == first


async def test_switching_to_an_account_not_linked_to_the_chat_changes_nothing(
    db: Database,
) -> None:
    _, second = await two_accounts(db)
    stranger = await add_account(db, "5000000002", "+79160000002", M("HW-3", "hot_water"))
    await LinkRepository(db).link(OTHER_CHAT, stranger, NOV_1)
    assert not await service(db).switch(CHAT, stranger)
    assert (await service(db).of_chat(CHAT)).current_id == second


async def test_a_linked_account_is_found_only_for_its_own_chat(db: Database) -> None:
    first, _ = await two_accounts(db)
    found = await service(db).linked_account(CHAT, first)
    assert found is not None and found.number == "5012345678"
    assert await service(db).linked_account(OTHER_CHAT, first) is None


async def test_unlinking_the_current_account_falls_back_to_the_one_kept(db: Database) -> None:
    first, second = await two_accounts(db)
    remaining = await service(db).unlink(CHAT, second)
    assert [a.id for a in remaining] == [first]
    assert (await service(db).of_chat(CHAT)).current_id == first
    assert await service(db).unlink(CHAT, first) == []
    assert not await service(db).has_any(CHAT)


async def test_forgetting_a_chat_erases_its_rows_its_conversation_and_its_caches(
    db: Database,
) -> None:
    first, _ = await two_accounts(db)
    await LinkRepository(db).link(OTHER_CHAT, first, NOV_1)
    storage = SqliteStorage(db)
    key = StorageKey(bot_id=1, chat_id=CHAT, user_id=CHAT)
    await storage.set_state(key, "LinkAccount:phone")
    await storage.set_data(key, {"account": "5012345678"})
    await storage.flush()
    forgotten: list[int] = []

    await service(db, forgotten.append, conversations=storage).forget(CHAT)

    assert forgotten == [CHAT]
    assert await db.fetchval("SELECT count(*) FROM fsm_states") == 0
    assert await storage.get_state(key) is None  # not served from the cache either
    assert await ChatRepository(db).get(CHAT) is None
    assert not await service(db).has_any(CHAT)
    assert await service(db).has_any(OTHER_CHAT)  # the other chat keeps its link
