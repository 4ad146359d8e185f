"""A resident's steps against a bot process, as the process tests take them: each step sends
what a resident would (through the fake Bot API) and waits for the answer a resident would see.

`deliver`, where a step takes it, hands each queued update to the bot (a webhook test posts it
to a replica); without it the bot fetches the update by long polling.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.smsru import FakeSmsRu

SUBMIT = "📝 Передать показания"  # the menu button that starts a submission
STEP = 15.0  # seconds for one answer of the bot

Deliver = Callable[[], Awaitable[object]]


class Linked(NamedTuple):
    code: str  # the SMS code the resident typed
    message: dict[str, Any]  # the bot's answer that the account is linked


class Submitted(NamedTuple):
    values: list[int]  # what the resident typed, one value per question
    receipt: dict[str, Any]  # the bot's receipt message


def write_account(path: Path, account: str, phone: str, last: int) -> None:
    """An import file of one account with one cold-water meter, its last reading `last` taken
    35 days ago: the meter is due in any window. `phone` as the file writes it."""
    last_date = datetime.now(ZoneInfo("Europe/Moscow")).date() - timedelta(days=35)
    path.write_text(
        "account;phone;address;meter;resource;tariffs;digits;last_t1;last_date;verified_until\n"
        f"{account};{phone};Test street 1;CW-1;cold_water;1;;{last};"
        f"{last_date.isoformat()};2035-01-01\n",
        encoding="utf-8",
    )


async def link_by_sms(
    api: FakeBotApi,
    sms: FakeSmsRu,
    chat: int,
    account: str,
    phone: str,
    *,
    timeout: float = STEP,
    deliver: Deliver | None = None,
) -> Linked:
    """/start, the account number, the phone shared as a contact, then the code the fake SMS.ru
    received for it: until the bot says the account is linked."""

    async def sent(expect: str) -> dict[str, Any]:
        if deliver is not None:
            await deliver()
        return await api.wait_for(chat, lambda m: expect in m["text"], timeout=timeout)

    api.push_text(chat, "/start", user_id=chat)
    await sent("лицевого счёта")
    api.push_text(chat, account, user_id=chat)
    await sent("телефон")
    api.push_contact(chat, phone.removeprefix("+"), user_id=chat)
    await sent("код")
    code = await sms.wait_for_code(phone)  # sent after the answer
    assert code is not None
    api.push_text(chat, code, user_id=chat)
    return Linked(code, await sent("привязан"))


async def answer_until_confirmation(
    api: FakeBotApi, chat: int, add: int, *, timeout: float = STEP
) -> list[int]:
    """Type each asked meter's previous value plus `add`, until the bot asks to check them;
    returns the values typed."""
    typed: list[int] = []
    while True:
        question = await api.wait_for(
            chat,
            lambda m: "Введите показания" in m["text"] or "Проверьте" in m["text"],
            timeout=timeout,
        )
        if "Проверьте" in question["text"]:
            return typed
        previous = re.search(r"Предыдущие показания: (\d+)", question["text"])
        typed.append((int(previous.group(1)) if previous else 0) + add)
        api.push_text(chat, str(typed[-1]), user_id=chat)


async def confirm(api: FakeBotApi, chat: int, *, timeout: float = STEP) -> dict[str, Any]:
    """Press Подтвердить; the receipt."""
    api.push_button(chat, None, "Подтвердить")
    return await api.wait_for(chat, lambda m: "Расписка №" in m["text"], timeout=timeout)


async def submit_meter(api: FakeBotApi, chat: int, add: int, *, timeout: float = STEP) -> Submitted:
    """The meter the bot asks about next (each zone its previous value plus `add`), confirmed."""
    values = await answer_until_confirmation(api, chat, add, timeout=timeout)
    return Submitted(values, await confirm(api, chat, timeout=timeout))


async def submit_typed(
    api: FakeBotApi, chat: int, typed: str, *, timeout: float = STEP
) -> dict[str, Any]:
    """From the menu, the one meter due: `typed`, checked and confirmed; the receipt."""
    api.push_text(chat, SUBMIT, user_id=chat)
    await api.wait_for(chat, lambda m: "Введите показания" in m["text"], timeout=timeout)
    api.push_text(chat, typed, user_id=chat)
    await api.wait_for(chat, lambda m: "Проверьте" in m["text"], timeout=timeout)
    return await confirm(api, chat, timeout=timeout)
