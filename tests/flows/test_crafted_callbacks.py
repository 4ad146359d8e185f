"""Crafted callback data (issue 9, point 15): every integer of every button is bounded, so a
number beyond 64 bits is a stale button, never an OverflowError."""

from __future__ import annotations

import pytest

from tests.flows.test_submit import last_answer, link, seed_flat
from tests.harness import BotHarness, Sent

HUGE = str(2**70)
JUST_BEYOND = str(2**63)  # one more than an SQLite INTEGER holds

CRAFTED = [
    f"acc:switch:{HUGE}",
    f"acc:unlink:{HUGE}",
    f"acc:unlink_yes:{JUST_BEYOND}",
    f"acc:unlink_no:{HUGE}",
    f"sub:{HUGE}",
    f"sub:{JUST_BEYOND}",
    f"subp:{HUGE}:1",
    f"subp:1:{HUGE}",
    f"hcsv:{HUGE}",
    f"hcsv:-{HUGE}",
    f"forget:{HUGE}",
    "subs:confirm:" + "A" * 40,
    "subs:explode:abcdefghijkl",
]


@pytest.mark.parametrize("data", CRAFTED)
async def test_a_crafted_callback_beyond_64_bits_gets_the_stale_button_answer(
    harness: BotHarness, data: str
) -> None:
    account_id = await seed_flat(harness.db)
    chat = await link(harness, 5001, account_id)
    await chat.send("/start")
    before = await harness.db.fetchval("SELECT count(*) FROM links")

    await chat.press_data(chat.last, data)  # raised OverflowError before the bounds

    assert last_answer(harness) == harness.app.core.get("button-stale", "ru")
    assert await harness.db.fetchval("SELECT count(*) FROM links") == before
    assert not [m for m in chat.replies if m.text]  # nothing but the answer


async def test_every_button_the_bot_makes_still_unpacks(harness: BotHarness) -> None:
    """The bounds refuse nothing the bot itself packs (the ids of a real account)."""
    account_id = await seed_flat(harness.db)
    chat = await link(harness, 5002, account_id)
    await chat.send("📝 Передать показания")
    sent: Sent = chat.messages[-2]  # the overview with a button per meter
    _, data = sent.buttons()[0]
    await chat.press_data(sent, data)
    assert last_answer(harness) is None  # answered without a "stale" text
