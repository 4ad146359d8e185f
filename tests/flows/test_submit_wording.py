"""Issue 9, points 22-24 through the dispatcher: the first-month ceiling, leaving a walk,
the help's window days, plural counts, the meter buttons."""

from __future__ import annotations

from datetime import date

from tests.flows.test_submit import SUBMIT, count_readings, find_message, link
from tests.harness import BotHarness
from tests.seed import M, add_account

FIVE_WEEKS_AGO = date(2026, 10, 16)  # the harness's clock says 20 November 2026


# --- point 23: a meter with no history is held to a monthly ceiling -------------------------


async def test_first_month_hot_water_typo_asks_are_you_sure_and_confirming_saves_it(
    harness: BotHarness,
) -> None:
    account = await add_account(
        harness.db,
        "5012345678",
        "+79161234567",
        M("HW-00025678", "hot_water", last=(176,), last_date=FIVE_WEEKS_AGO),
    )
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("400")

    question = chat.last_text
    assert "Расход получается 224 м³" in question
    assert "за 2 месяца (до 40 м³)" in question
    assert "Всё верно?" in question
    assert await count_readings(harness.db) == 0

    await chat.press("Да, верно")
    assert "<b>400</b> (расход 224 м³ с 16.10.2026)" in chat.last_text
    await chat.press("Подтвердить")
    assert "Расписка №" in find_message(chat, "Расписка").text
    assert await harness.db.fetchval("SELECT t1 FROM readings") == 400


async def test_first_month_value_within_the_ceiling_goes_straight_to_confirmation(
    harness: BotHarness,
) -> None:
    account = await add_account(
        harness.db,
        "5012345678",
        "+79161234567",
        M("HW-00025678", "hot_water", last=(176,), last_date=FIVE_WEEKS_AGO),
    )
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("190")
    assert "Проверьте и подтвердите" in chat.last_text


async def test_no_is_the_same_question_again(harness: BotHarness) -> None:
    account = await add_account(
        harness.db,
        "5012345678",
        "+79161234567",
        M("HW-00025678", "hot_water", last=(176,), last_date=FIVE_WEEKS_AGO),
    )
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("400")
    await chat.press("Нет, введу заново")
    assert "Введите показания за ноябрь 2026" in chat.last_text
    await chat.send("186")
    assert "<b>186</b> (расход 10 м³" in chat.last_text
