"""Conversations and per-chat order in Redis (REDIS_URL, SPEC §12): the walk keeps its state
there, any replica takes any update of a chat, one chat's updates are handled one at a time
across replicas, /forget erases the chat's keys, and /readyz follows Redis."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiogram.types import TelegramObject, Update
from redis.asyncio import Redis

from bot.app import App, build_app
from bot.web import HttpServer
from tests.flows.test_submit import SUBMIT, count_readings, link, seed_flat
from tests.harness import BotHarness, make_settings, shared_core, start_harness
from tests.support.services import RedisSpace, TcpRelay

CHAT = 1001
MSK = ZoneInfo("Europe/Moscow")


@dataclass
class Replicas(BotHarness):
    """Two (or more) bots on one database file and one Redis prefix, as replicas behind a
    load balancer: each update goes to the next replica in turn."""

    others: list[App] = field(default_factory=list)
    handled_by: list[int] = field(default_factory=list)
    _turn: itertools.count = field(default_factory=itertools.count)

    @property
    def apps(self) -> list[App]:
        return [self.app, *self.others]

    async def feed(self, update: Update) -> None:
        index = next(self._turn) % len(self.apps)
        self.handled_by.append(index)
        app = self.apps[index]
        await app.dispatcher.feed_update(app.bot, update)

    async def close(self) -> None:
        for app in self.others:
            await app.close()
        await super().close()


def redis_settings(space: RedisSpace) -> dict[str, Any]:  # settings overrides, as **kwargs
    return {"redis_url": space.url, "redis_prefix": space.prefix}


@pytest.fixture
async def client(redis_url: RedisSpace) -> AsyncIterator[Redis]:
    redis = Redis.from_url(redis_url.url, decode_responses=True)
    yield redis
    await redis.aclose()


@pytest.fixture
async def replicas(tmp_path: Path, redis_url: RedisSpace) -> AsyncIterator[Replicas]:
    first = await start_harness(tmp_path, **redis_settings(redis_url))
    settings = make_settings(tmp_path, **redis_settings(redis_url))  # the same database file
    second = await build_app(
        settings,
        clock=first.clock,
        session=first.session,
        sms=first.sms,
        core=await shared_core(settings.default_locale),
    )
    h = Replicas(
        app=first.app, session=first.session, sms=first.sms, clock=first.clock, others=[second]
    )
    yield h
    await h.close()


def decoded(value: bytes | str | None) -> str:
    assert isinstance(value, str), value  # the client decodes responses; None: no such key
    return value


async def chat_keys(client: Redis, space: RedisSpace, chat_id: int) -> list[str]:
    return sorted(decoded(key) for key in await client.keys(f"{space.prefix}:fsm:{chat_id}:*"))


async def walk_three_meters(h: BotHarness) -> None:
    chat = await link(h, CHAT, await seed_flat(h.db))
    await chat.send(SUBMIT)
    for values in (("105",), ("99995",), ("1100", "450")):
        for value in values:
            await chat.send(value)
        await chat.press("Подтвердить")
    assert "Готово" in chat.last_text


async def test_the_walk_keeps_its_state_in_redis_under_the_prefix(
    tmp_path: Path, redis_url: RedisSpace, client: Redis
) -> None:
    h = await start_harness(tmp_path, **redis_settings(redis_url))
    try:
        chat = await link(h, CHAT, await seed_flat(h.db))
        await chat.send(SUBMIT)
        conversation = f"{redis_url.prefix}:fsm:{CHAT}:{CHAT}:default:conv"
        state, data = decoded(await client.get(conversation)).split("\n")
        assert state == '"Submission:value"' and "tasks" in json.loads(data)

        await chat.send("105")
        assert decoded(await client.get(conversation)).startswith('"Submission:confirm"\n')
        await chat.press("Подтвердить")
        await chat.send("99995")
        await chat.press("Подтвердить")
        await chat.send("1100")
        await chat.send("450")
        await chat.press("Подтвердить")
        assert "Готово" in chat.last_text
        assert await count_readings(h.db) == 3
        await h.app.storage.fsm.flush()
        assert await h.db.fetchval("SELECT count(*) FROM fsm_states") == 0  # none in SQLite
    finally:
        await h.close()


async def test_a_reminder_waits_for_a_walk_kept_in_redis_to_end(
    tmp_path: Path, redis_url: RedisSpace
) -> None:
    h = await start_harness(
        tmp_path, now=datetime(2026, 11, 15, 10, 0, tzinfo=MSK), **redis_settings(redis_url)
    )
    try:
        chat = await link(h, CHAT, await seed_flat(h.db))
        await chat.send(SUBMIT)
        assert "Введите показания" in chat.last_text
        before = len(chat.messages)

        # the bot restarts at 10:30, after REMINDER_TIME, with the resident mid-walk
        h.clock.set(datetime(2026, 11, 15, 10, 30, tzinfo=MSK))
        report = await h.app.delivery.reminders.on_start()
        assert chat.messages[before:] == []
        assert report.totals.deferred == 1 and report.totals.sent == 0  # the opening

        for values in (("105",), ("99995",), ("1100", "450")):
            for value in values:
                await chat.send(value)
            await chat.press("Подтвердить")
        assert "Готово" in chat.last_text  # the walk is over
        after_walk = len(chat.messages)

        h.clock.advance(minutes=1)  # the resume job
        resumed = await h.app.delivery.reminders.resume_due()
        assert resumed is not None and resumed.totals.sent == 1
        assert ["Открыт приём" in m.text for m in chat.messages[after_walk:]] == [True]
    finally:
        await h.close()


async def test_any_replica_takes_any_update_of_the_walk(replicas: Replicas) -> None:
    await walk_three_meters(replicas)

    assert set(replicas.handled_by) == {0, 1}  # each replica took turns in the one walk
    rows = await replicas.db.fetchall(
        "SELECT meter_id, count(*) AS n FROM readings GROUP BY meter_id"
    )
    assert [row["n"] for row in rows] == [1, 1, 1]  # one receipt per meter
    receipts = [m.text for m in replicas.session.messages[CHAT] if "Расписка №" in m.text]
    assert len(receipts) == 3


async def test_one_chats_updates_are_handled_one_at_a_time_across_replicas(
    replicas: Replicas,
) -> None:
    chat = await link(replicas, CHAT, await seed_flat(replicas.db))
    inside: list[str] = []

    async def record(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        inside.append("enter")
        await asyncio.sleep(0.005)  # another update of the chat would step in here
        try:
            return await handler(event, data)
        finally:
            inside.append("exit")

    for app in replicas.apps:  # registered after aiogram's FSM middleware: inside its lock
        app.dispatcher.update.outer_middleware(record)

    await asyncio.gather(*(chat.send("/help") for _ in range(20)))

    assert sorted(set(replicas.handled_by)) == [0, 1]
    assert inside == ["enter", "exit"] * 20
    assert len(chat.messages) == 20


async def test_forget_erases_the_chats_keys_in_redis(
    replicas: Replicas, redis_url: RedisSpace, client: Redis
) -> None:
    other = await link(replicas, CHAT + 1, await seed_flat(replicas.db, "5000000009"))
    await other.send(SUBMIT)
    chat = await link(replicas, CHAT, await seed_flat(replicas.db, "5000000001"))
    await chat.send("/forget")
    forget = chat.find_button("Да, удалить")
    await chat.send(SUBMIT)  # a walk begun, then the earlier confirmation pressed
    assert await chat_keys(client, redis_url, CHAT)

    await chat.press_data(*forget)

    assert "удалены" in forget[0].text  # the confirmation, edited
    assert await chat_keys(client, redis_url, CHAT) == []  # state, data and the lock
    assert await chat_keys(client, redis_url, CHAT + 1)  # another chat's walk stays


@pytest.fixture
async def relay(redis_url: RedisSpace) -> AsyncIterator[TcpRelay]:
    """A port in front of the test's Redis that can be cut off and restored."""
    target = urlsplit(redis_url.url)
    relay = TcpRelay(target.hostname or "127.0.0.1", target.port or 6379)
    await relay.start()
    yield relay
    await relay.stop()


def through(relay: TcpRelay, space: RedisSpace) -> dict[str, Any]:
    path = urlsplit(space.url).path
    return {"redis_url": f"redis://127.0.0.1:{relay.port}{path}", "redis_prefix": space.prefix}


async def test_redis_away_mid_walk_tells_the_resident_and_the_walk_goes_on_after(
    tmp_path: Path, redis_url: RedisSpace, relay: TcpRelay
) -> None:
    h = await start_harness(tmp_path, **through(relay, redis_url))
    try:
        chat = await link(h, CHAT, await seed_flat(h.db))
        await chat.send(SUBMIT)
        await relay.stop()
        await chat.send("105")
        assert "ничего не сохранено" in chat.last_text  # the unforeseen-error answer
        await relay.start()
        await chat.send("105")  # the walk was kept: still asking the first meter
        await chat.press("Подтвердить")
        assert await count_readings(h.db) == 1
    finally:
        await h.close()


async def test_readyz_answers_503_while_redis_is_away_and_200_when_it_is_back(
    tmp_path: Path, redis_url: RedisSpace, relay: TcpRelay
) -> None:
    h = await start_harness(tmp_path, http_port=0, **through(relay, redis_url))
    server = HttpServer(h.app, webhook=False)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/readyz"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as response:
                assert (response.status, await response.text()) == (200, "ready\n")
            await relay.stop()
            async with http.get(url) as response:
                assert response.status == 503
                assert (await response.text()).startswith("redis: ")
            async with http.get(url.replace("readyz", "healthz")) as response:
                assert response.status == 200  # alive, only not ready
            await relay.start()
            async with http.get(url) as response:
                assert (response.status, await response.text()) == (200, "ready\n")
    finally:
        await server.stop()
        await h.close()
