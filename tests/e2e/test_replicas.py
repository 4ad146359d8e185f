"""Replicas as an operator runs them (SPEC §12): `python -m bot run` twice, RUN_MODE=webhook,
on one PostgreSQL schema and one Redis prefix, each on its own HTTP port on loopback, behind
no balancer but the test, which posts updates to either as Telegram behind one would.

Each replica reaches the fake Bot API at its own path (TELEGRAM_API_URL=`{api}/r1`), so every
call the fake records says which replica made it (`Call.via`).

Webhook, not polling, for both tests: replicas are run behind a balancer taking Telegram's
POSTs (README, SPEC §12); two pollers of one token would take each other's long polls away
(Telegram answers the second getUpdates with 409), which no installation runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.storage.db import Database
from bot.storage.engines import open_database
from tests.e2e.processes import TOKEN, bot_env, free_port, start_logged
from tests.e2e.test_webhook import get, updates_counted
from tests.fakes.bot_api import FakeBotApi
from tests.fakes.bot_api.webhook import SECRET_HEADER
from tests.fakes.smsru import FakeSmsRu
from tests.support.services import RedisSpace

SECRET = "e2e_replicas-Secret_7"
PUBLIC_URL = "https://bot.example.org/telegram/updates"
STARTS_WITHIN = 60.0  # imports and start-up of two processes on a loaded two-core machine
SIGTERM_STOPS_WITHIN = 10.0  # SPEC §9
TAKEOVER_WITHIN = 15.0  # SPEC §12
NOW = "2026-01-01T00:00:00+00:00"


@dataclass
class Replica:
    name: str
    port: int
    log: Path
    proc: asyncio.subprocess.Process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hook(self) -> str:
        return f"{self.base}/telegram/updates"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int:
        """SIGTERM; the exit code, within SPEC §9's 10 s."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), SIGTERM_STOPS_WITHIN)
        except TimeoutError:
            raise AssertionError(
                f"{self.name} still running {SIGTERM_STOPS_WITHIN:.0f} s after SIGTERM:\n"
                + self.output()
            ) from None


async def wait_listening(replica: Replica, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        if replica.proc.returncode is not None:
            raise AssertionError(
                f"{replica.name} exited with {replica.proc.returncode}:\n{replica.output()}"
            )
        with contextlib.suppress(aiohttp.ClientConnectionError):
            if (await get(f"{replica.base}/readyz"))[0] == 200:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{replica.name} not ready in {STARTS_WITHIN:.0f} s:\n{replica.output()}")


@contextlib.asynccontextmanager
async def replicas(
    tmp_path: Path,
    api: FakeBotApi,
    database_url: str,
    redis: RedisSpace,
    names: Sequence[str] = ("r1", "r2"),
    **extra: str,
) -> AsyncIterator[dict[str, Replica]]:
    """The replicas, started together and ready; any still running at the end is killed."""
    api.set_webhook_directly(PUBLIC_URL, SECRET)  # as `python -m bot set-webhook` sets it
    started: dict[str, Replica] = {}
    try:
        for name in names:
            port = free_port()
            env = bot_env(
                tmp_path,
                f"{api.url}/{name}",
                DATABASE_URL=database_url,
                REDIS_URL=redis.url,
                REDIS_PREFIX=redis.prefix,
                RUN_MODE="webhook",
                WEBHOOK_URL=PUBLIC_URL,
                WEBHOOK_SECRET=SECRET,
                HTTP_PORT=str(port),
                **extra,
            )
            log = tmp_path / f"{name}.log"
            proc = await start_logged(env, tmp_path, log, "run")
            started[name] = Replica(name, port, log, proc)
        deadline = asyncio.get_running_loop().time() + STARTS_WITHIN
        for replica in started.values():
            await wait_listening(replica, deadline)
        yield started
    finally:
        for replica in started.values():
            if replica.proc.returncode is None:
                await replica.kill()


async def updates_handled(replica: Replica) -> float:
    status, body = await get(f"{replica.base}/metrics")
    assert status == 200, body
    return updates_counted(body)


async def wait_handled(replica: Replica, count: float, timeout: float = 15.0) -> None:
    """Until the replica has finished handling `count` updates (its middleware counts an
    update when its handler has returned: the conversation is saved)."""
    for _ in range(round(timeout / 0.05)):
        if await updates_handled(replica) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{replica.name} has not handled {count:.0f} updates in {timeout} s")


# --- the walk through two replicas ------------------------------------------------------------

CHAT = 5550201
ACCOUNT, PHONE = "5012345678", "+79161234567"
METERS = (  # serial, resource, tariffs, digits, last value
    ("19-284511", "cold_water", 1, 5, 123),
    ("19-284512", "hot_water", 1, 5, 87),
    ("0841276", "electricity", 2, 6, 15432),
)
QUESTION = "Введите показания"


async def seed_account(db: Database) -> None:
    """One account with the meters above (the import is not what this test is about)."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO accounts (number, phone, address, updated_at)"
            " VALUES (:number, :phone, 'г. Балашиха, ул. Ленина, д. 12, кв. 45', :now)",
            {"number": ACCOUNT, "phone": PHONE, "now": NOW},
        )
        account_id = await conn.fetchval(
            "SELECT id FROM accounts WHERE number = :number", {"number": ACCOUNT}
        )
        for serial, resource, tariffs, digits, last in METERS:
            await conn.execute(
                "INSERT INTO meters (account_id, serial, resource, tariffs, digits,"
                " last_t1, last_t2, last_date)"
                " VALUES (:account, :serial, :resource, :tariffs, :digits, :t1, :t2, :day)",
                {
                    "account": account_id,
                    "serial": serial,
                    "resource": resource,
                    "tariffs": tariffs,
                    "digits": digits,
                    "t1": last,
                    "t2": last // 2 if tariffs > 1 else None,
                    "day": "2025-12-18",
                },
            )


class Resident:
    """One resident whose updates go out through the balancer: to each live replica in turn."""

    def __init__(self, api: FakeBotApi, pool: dict[str, Replica]) -> None:
        self.api = api
        self.pool = pool
        self.live = list(pool)
        self.turn = 0
        self.handled: Counter[str] = Counter()  # updates each replica answered 200

    async def post(self) -> str:
        name = self.live[self.turn % len(self.live)]
        self.turn += 1
        assert await self.api.deliver_pending(self.pool[name].hook) == [200]
        self.handled[name] += 1
        return name

    async def says(self, text: str, expect: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        self.api.push_text(CHAT, text, user_id=CHAT)
        await self.post()
        return await self.api.wait_for(CHAT, expect, timeout=15)

    async def presses(self, label: str, expect: Callable[[dict[str, Any]], bool]) -> None:
        self.api.push_button(CHAT, None, label)
        await self.post()
        await self.api.wait_for(CHAT, expect, timeout=15)

    async def kill(self, name: str) -> None:
        """Once it has finished every update it took (none in hand): SIGKILL."""
        await wait_handled(self.pool[name], self.handled[name])
        self.live.remove(name)
        await self.pool[name].kill()


def question_or_check(message: dict[str, Any]) -> bool:
    return QUESTION in message["text"] or "Проверьте" in message["text"]


async def test_a_walk_posted_alternately_to_two_webhook_replicas_survives_one_killed(
    tmp_path: Path, postgres_url: str, redis_url: RedisSpace
) -> None:
    db = await open_database(postgres_url)  # the schema made once, before the replicas race
    try:
        await seed_account(db)
    finally:
        await db.close()
    async with FakeBotApi(token=TOKEN) as api:
        sms = FakeSmsRu(api_id="e2e-api-id")
        await sms.start()
        try:
            async with replicas(
                tmp_path,
                api,
                postgres_url,
                redis_url,
                SMS_PROVIDER="smsru",
                SMSRU_API_ID="e2e-api-id",
                SMSRU_API_URL=sms.base_url,
            ) as pool:
                resident = Resident(api, pool)
                receipts = await walk(resident, sms)
                survivor = pool[resident.live[0]]

                # a request without the secret (or with another) is refused, never handled
                handled = await updates_handled(survivor)
                api.push_text(CHAT, "/help", user_id=CHAT)
                assert await api.deliver_pending(survivor.hook, headers={}) == [401]
                wrong = {SECRET_HEADER: "not-the-secret"}
                assert await api.deliver_pending(survivor.hook, headers=wrong) == [401]
                assert len(api.pending_updates) == 1
                await api.assert_nothing_sent(CHAT, within=0.3)
                assert await updates_handled(survivor) == handled
                assert await survivor.stop() == 0, survivor.output()
        finally:
            await sms.stop()
        answered_by = Counter(
            call.via for call in api.calls if call.chat_id == CHAT and call.status == 200
        )
    assert set(answered_by) == set(pool), answered_by  # both answered the resident
    assert len(receipts) == len(METERS) == len(set(receipts)), receipts

    db = await open_database(postgres_url)
    try:
        rows = await db.fetchall(
            "SELECT m.serial, r.receipt FROM readings r JOIN meters m ON m.id = r.meter_id"
            " WHERE r.replaced_at IS NULL ORDER BY m.serial"
        )
    finally:
        await db.close()
    assert sorted(serial for serial, _ in rows) == sorted(serial for serial, *_ in METERS)
    assert sorted(receipt for _, receipt in rows) == sorted(receipts)


async def walk(resident: Resident, sms: FakeSmsRu) -> list[str]:
    """Link the account, then submit every meter; one replica is killed after the first
    receipt. Returns the receipt numbers the summary lists."""
    await resident.says("/start", lambda m: "лицевого счёта" in m["text"])
    await resident.says(ACCOUNT, lambda m: "телефон" in m["text"])
    resident.api.push_contact(CHAT, PHONE.removeprefix("+"), user_id=CHAT)
    await resident.post()
    await resident.api.wait_for(CHAT, lambda m: "код" in m["text"], timeout=15)
    code = await sms.wait_for_code(PHONE)
    assert code is not None
    await resident.says(code, lambda m: "привязан" in m["text"])

    message = await resident.says("📝 Передать показания", question_or_check)
    confirmed = 0
    while True:
        if "Проверьте" in message["text"]:
            await resident.presses("Подтвердить", lambda m: "Расписка №" in m["text"])
            confirmed += 1
            if confirmed == 1:
                assert all(resident.handled[name] for name in resident.pool)  # both took some
                await resident.kill(resident.live[resident.turn % 2])  # the next one's turn
            message = await resident.api.wait_for(
                CHAT, lambda m: question_or_check(m) or "Готово!" in m["text"], timeout=15
            )
            if "Готово!" in message["text"]:
                break
            continue
        previous = re.search(r"Предыдущие показания: (\d+)", message["text"])
        value = (int(previous.group(1)) if previous else 0) + 3
        message = await resident.says(str(value), question_or_check)
    assert confirmed == len(METERS)
    return re.findall(r"расписка № (\S+)", message["text"])
