"""REDIS_URL and REDIS_PREFIX (SPEC §2, §12): the settings, the conversation keys of one
installation apart from another's, /forget reaching Redis, and the chat lock that outlives
neither a dead replica by more than its TTL nor a long update."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from redis.asyncio import Redis

from bot.cli.common import secrets as _secrets
from bot.config import SettingsError, load_settings
from bot.fsm.linking import LinkAccount
from bot.fsm.submission import Submission
from bot.services.accounts import AccountsService
from bot.storage.chats import ChatRepository, LinkRepository
from bot.storage.db import Database
from bot.storage.redis_fsm import ChatLocks, RedisConversations
from tests.support.services import RedisSpace

BASE: dict[str, Any] = {"bot_token": "123:abc", "_env_file": None}
CHAT, OTHER_CHAT = 1001, 1002


def key(chat_id: int) -> StorageKey:
    return StorageKey(bot_id=42, chat_id=chat_id, user_id=chat_id)


@pytest.fixture
async def conversations(redis_url: RedisSpace) -> AsyncIterator[RedisConversations]:
    storage = RedisConversations(redis_url.url, redis_url.prefix)
    yield storage
    await storage.close()


@pytest.fixture
async def client(redis_url: RedisSpace) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url.url, decode_responses=True)
    yield redis
    await redis.aclose()


# --- settings -----------------------------------------------------------------------------


def test_without_redis_url_conversations_stay_in_the_database() -> None:
    settings = load_settings(**BASE, redis_url="")
    assert settings.redis is None and settings.redis_prefix == "meterbot"


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "rediss://:pw@redis.example.org:6380/1", "unix:///run/r.sock"],
)
def test_redis_urls_of_the_three_schemes_are_taken(url: str) -> None:
    assert load_settings(**BASE, redis_url=url).redis == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://"])
def test_any_other_redis_url_stops_the_start_naming_the_variable(url: str) -> None:
    with pytest.raises(SettingsError, match=r"^REDIS_URL is invalid: must be a redis://"):
        load_settings(**BASE, redis_url=url)


@pytest.mark.parametrize("prefix", ["", "bot*", "a b", "x" * 65])
def test_a_key_prefix_with_glob_characters_or_spaces_is_refused(prefix: str) -> None:
    with pytest.raises(SettingsError, match=r"^REDIS_PREFIX is invalid"):
        load_settings(**BASE, redis_prefix=prefix)


def test_the_redis_password_is_among_the_secrets_cut_from_the_log() -> None:
    settings = load_settings(**BASE, redis_url="redis://bot:s3cret-pw@redis.example.org:6379/0")
    assert "s3cret-pw" in _secrets(settings)


# --- keys ---------------------------------------------------------------------------------


async def test_two_installations_on_one_redis_keep_apart_by_prefix(
    redis_url: RedisSpace, conversations: RedisConversations
) -> None:
    neighbour = RedisConversations(redis_url.url, f"{redis_url.prefix}:other")
    try:
        await conversations.set_state(key(CHAT), Submission.value)
        await conversations.set_data(key(CHAT), {"meter": 7})
        assert await neighbour.get_state(key(CHAT)) is None
        assert await neighbour.get_data(key(CHAT)) == {}
        assert await conversations.get_state(key(CHAT)) == Submission.value.state
    finally:
        await neighbour.close()


async def test_forgetting_a_chat_erases_its_conversation_in_redis(
    db: Database, redis_url: RedisSpace, conversations: RedisConversations
) -> None:
    for chat_id in (CHAT, OTHER_CHAT):
        await conversations.set_state(key(chat_id), Submission.confirm)
        await conversations.set_data(key(chat_id), {"meter": chat_id})
    service = AccountsService(
        chats=ChatRepository(db), links=LinkRepository(db), conversations=conversations
    )

    await service.forget(CHAT)

    redis = Redis.from_url(redis_url.url)
    try:
        assert await redis.keys(f"{redis_url.prefix}:fsm:{CHAT}:*") == []
    finally:
        await redis.aclose()
    assert await conversations.get_data(key(OTHER_CHAT)) == {"meter": OTHER_CHAT}


# --- the chat lock ------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_dead_replicas_chat_lock_frees_within_its_ttl(
    conversations: RedisConversations,
) -> None:
    ttl = 0.5
    locks = ChatLocks(conversations.redis, conversations.key_builder, ttl=ttl)
    dead = conversations.redis.lock(conversations.key_builder.build(key(CHAT), "lock"), timeout=ttl)
    await dead.acquire()  # held, never released: the replica was killed
    started = time.monotonic()
    async with locks.lock(key(CHAT)):
        waited = time.monotonic() - started
    assert 0.2 < waited < ttl + 0.5


@pytest.mark.slow
async def test_an_update_longer_than_the_ttl_keeps_its_chat_lock(
    conversations: RedisConversations,
) -> None:
    ttl = 0.3
    builder = conversations.key_builder
    first = ChatLocks(conversations.redis, builder, ttl=ttl)
    second = ChatLocks(conversations.redis, builder, ttl=ttl)
    order: list[str] = []

    async def long_update() -> None:
        async with first.lock(key(CHAT)):
            order.append("long in")
            await asyncio.sleep(3 * ttl)
            order.append("long out")

    async def next_update() -> None:
        await asyncio.sleep(ttl / 3)
        async with second.lock(key(CHAT)):
            order.append("next")

    await asyncio.gather(long_update(), next_update())
    assert order == ["long in", "long out", "next"]


# --- one update: its conversation read with the lock, written as the lock is released -----


def commands_sent(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    execute = redis.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return await execute(*args, **options)

    monkeypatch.setattr(redis, "execute_command", counting)
    return sent


async def test_an_update_costs_two_round_trips_and_others_see_its_change_once_it_ends(
    redis_url: RedisSpace, conversations: RedisConversations, monkeypatch: pytest.MonkeyPatch
) -> None:
    await conversations.set_state(key(CHAT), Submission.value)
    await conversations.set_data(key(CHAT), {"pos": 0})
    replica = RedisConversations(redis_url.url, redis_url.prefix)  # another process's view
    locks = conversations.create_isolation()
    sent = commands_sent(conversations.redis, monkeypatch)
    try:
        async with locks.lock(key(CHAT)):
            assert await conversations.get_state(key(CHAT)) == Submission.value.state
            data = await conversations.get_data(key(CHAT))
            await conversations.set_state(key(CHAT), Submission.confirm)
            await conversations.set_data(key(CHAT), {**data, "pos": 1})
            assert await conversations.get_data(key(CHAT)) == {"pos": 1}
            assert await conversations.mid_walk([CHAT]) == {CHAT}
            assert await replica.get_state(key(CHAT)) == Submission.value.state  # not yet
        assert await replica.get_state(key(CHAT)) == Submission.confirm.state
        assert await replica.get_data(key(CHAT)) == {"pos": 1}
    finally:
        await replica.close()
    # the lock taken with the read, the write with the release (mid_walk's MGET aside)
    assert [name for name in sent if name != "MGET"] == ["EVALSHA", "EVALSHA"]


async def test_a_walk_ended_inside_an_update_deletes_the_conversation(
    redis_url: RedisSpace, conversations: RedisConversations, client: Redis
) -> None:
    await conversations.set_state(key(CHAT), Submission.confirm)
    locks = conversations.create_isolation()
    async with locks.lock(key(CHAT)):
        await conversations.set_state(key(CHAT), None)
        await conversations.set_data(key(CHAT), {})
    assert await client.keys(f"{redis_url.prefix}:fsm:{CHAT}:*") == []


async def test_forget_within_the_chats_own_update_leaves_nothing_to_write_back(
    redis_url: RedisSpace, conversations: RedisConversations, client: Redis
) -> None:
    locks = conversations.create_isolation()
    async with locks.lock(key(CHAT)):
        await conversations.set_state(key(CHAT), Submission.value)
        await conversations.forget_chat(CHAT)
    assert await client.keys(f"{redis_url.prefix}:fsm:{CHAT}:*") == []


async def test_an_update_whose_lock_was_taken_over_writes_nothing_and_says_so(
    redis_url: RedisSpace,
    conversations: RedisConversations,
    client: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    locks = conversations.create_isolation()
    lock_key = f"{redis_url.prefix}:fsm:{CHAT}:{CHAT}:default:lock"
    async with locks.lock(key(CHAT)):
        await conversations.set_state(key(CHAT), Submission.value)
        await client.set(lock_key, "another replica's token")  # ours expired, it took the chat
    assert await conversations.get_state(key(CHAT)) is None
    assert await client.get(lock_key) == "another replica's token"  # not released by us
    assert "chat lock lost before the update ended" in caplog.text


async def test_a_conversation_this_version_cannot_read_is_cleared_not_fatal(
    redis_url: RedisSpace, conversations: RedisConversations, client: Redis
) -> None:
    conversation = f"{redis_url.prefix}:fsm:{CHAT}:{CHAT}:default:conv"
    await client.set(conversation, "Submission:value")  # not "<json state>\n<json data>"
    assert await conversations.mid_walk([CHAT]) == set()
    locks = conversations.create_isolation()
    async with locks.lock(key(CHAT)):
        assert await conversations.get_state(key(CHAT)) is None
        assert await conversations.get_data(key(CHAT)) == {}
    assert await client.exists(conversation) == 0


# --- which chats are mid-walk ---------------------------------------------------------------


async def test_mid_walk_finds_the_walks_in_redis_among_thousands_of_chats(
    conversations: RedisConversations,
) -> None:
    chats = list(range(5000, 7500))
    await conversations.set_state(key(5001), Submission.value)
    await conversations.set_state(key(7100), Submission.suspicious)  # past the first MGET
    await conversations.set_state(key(6000), LinkAccount.phone)  # not a walk
    await conversations.set_data(key(6001), {"walk": "no state"})
    assert await conversations.mid_walk(chats) == {5001, 7100}
    assert await conversations.mid_walk([]) == set()
