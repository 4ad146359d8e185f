"""A request key answers only in the chat that saved it (issue 9, point 16): a Confirm key
replayed from another chat never tells that chat's receipt number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.clock import FrozenClock
from bot.domain.models import RequestKeyTaken
from bot.domain.periods import Period
from bot.services.submissions import (
    MeterTask,
    NotAllowed,
    SubmissionService,
    Submitted,
    WindowClosed,
)
from bot.storage.chats import LinkRepository
from bot.storage.readings import ReadingRepository
from tests.flows.test_submit import SUBMIT, last_answer, link, seed_flat
from tests.harness import BotHarness, ChatClient
from tests.seed import M, add_account

OWNER, FAMILY, STRANGER = 1001, 1002, 1003


async def _owner_confirms(harness: BotHarness) -> tuple[int, str]:
    """The owner submits the cold water meter; returns (account id, the Confirm key)."""
    account = await seed_flat(harness.db)
    owner = await link(harness, OWNER, account)
    await owner.send(SUBMIT)
    await owner.send("105")
    _, data = owner.find_button("Подтвердить")
    await owner.press("Подтвердить")
    assert await harness.db.fetchval("SELECT receipt FROM readings") == "2611-000001"
    return account, data


async def _cold_water_task(service: SubmissionService, account_id: int) -> MeterTask:
    account = await service.account(account_id)
    assert account is not None
    overview = await service.overview(account)
    return (await service.tasks(overview.meters[:1]))[0]


async def _replay(harness: BotHarness, chat: ChatClient, data: str) -> None:
    await chat.send("/start")
    await chat.press_data(chat.last, data)


@pytest.mark.parametrize("who", [FAMILY, STRANGER])
async def test_a_confirm_key_replayed_from_another_chat_does_not_tell_the_receipt(
    harness: BotHarness, who: int
) -> None:
    account, data = await _owner_confirms(harness)
    if who == FAMILY:  # linked to the same account
        chat = await link(harness, FAMILY, account)
    else:  # linked to an account of its own
        other = await add_account(harness.db, "5099999999", "+79160000000", M("X-1", "gas"))
        chat = await link(harness, STRANGER, other)

    await _replay(harness, chat, data)

    answer = last_answer(harness)
    assert answer == harness.app.core.get("button-stale", "ru")
    assert "2611-000001" not in (answer or "") + chat.reply_text
    assert await harness.db.fetchval("SELECT count(*) FROM readings") == 1


async def test_the_owner_pressing_confirm_again_still_gets_its_receipt(
    harness: BotHarness,
) -> None:
    _, data = await _owner_confirms(harness)
    owner = harness.chat(OWNER)
    await owner.press_data(owner.last, data)
    assert "2611-000001" in (last_answer(harness) or "")


async def test_a_saved_key_from_another_chat_is_refused_when_the_window_has_closed(
    harness: BotHarness,
) -> None:
    """After the window, a key saved before is answered with its receipt: only to its chat."""
    account, data = await _owner_confirms(harness)
    await link(harness, FAMILY, account)
    service = harness.app.services.submissions
    task = await _cold_water_task(service, account)
    service.clock = FrozenClock(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))  # window closed
    key = data.split(":")[-1]
    outcome = await service.submit(chat_id=FAMILY, task=task, values=[105], request_key=key)
    assert isinstance(outcome, WindowClosed)
    mine = await service.submit(chat_id=OWNER, task=task, values=[105], request_key=key)
    assert isinstance(mine, Submitted) and mine.reading.receipt == "2611-000001"


async def test_saving_under_another_chats_key_never_returns_that_chats_reading(
    harness: BotHarness,
) -> None:
    account, data = await _owner_confirms(harness)
    await LinkRepository(harness.db).link(FAMILY, account, harness.clock.now())
    key = data.split(":")[-1]
    meter = int(await harness.db.fetchval("SELECT meter_id FROM readings"))
    with pytest.raises(RequestKeyTaken):
        await ReadingRepository(harness.db).save(
            meter_id=meter,
            period=Period(2026, 11),
            values=[999],
            chat_id=FAMILY,
            at=harness.clock.now(),
            request_key=key,
            linked_account_id=account,
        )
    service = harness.app.services.submissions
    task = await _cold_water_task(service, account)
    outcome = await service.submit(chat_id=FAMILY, task=task, values=[999], request_key=key)
    assert isinstance(outcome, NotAllowed)
    assert await harness.db.fetchval("SELECT count(*) FROM readings") == 1
