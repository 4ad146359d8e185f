"""Issue 9, points 22-24 through the dispatcher: the first-month ceiling, leaving a walk,
the help's window days, plural counts, the meter buttons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey

from tests.flows.test_submit import SUBMIT, count_readings, find_message, link, seed_flat
from tests.harness import BotHarness, ChatClient, start_harness
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


# --- point 22: leaving a walk tells which meters stay saved ---------------------------------


async def _walk_with_cold_water_confirmed(harness: BotHarness) -> ChatClient:
    chat = await link(harness, 1001, await seed_flat(harness.db))
    await chat.send(SUBMIT)
    await chat.send("105")
    await chat.press("Подтвердить")
    assert "Горячая вода ···5678</b> (2 из 3)" in chat.last_text
    return chat


KEPT_COLD_WATER = "💧 Холодная вода ···1234 — расписка № 2611-000001"


async def test_cancel_after_a_confirmed_meter_names_the_meters_kept(harness: BotHarness) -> None:
    chat = await _walk_with_cold_water_confirmed(harness)
    await chat.send("99995")  # typed, not confirmed: half-done
    await chat.send("/cancel")
    answer = chat.replies[0].text
    assert "ничего не сохранено" not in answer
    assert "незаконченное не сохранено" in answer
    assert "Показания, которые вы уже подтвердили, сохранены:" in answer
    assert KEPT_COLD_WATER in answer
    assert "···5678" not in answer
    assert await count_readings(harness.db) == 1
    assert await _state(harness, chat) is None


async def test_cancel_with_nothing_confirmed_says_nothing_was_saved(harness: BotHarness) -> None:
    chat = await link(harness, 1001, await seed_flat(harness.db))
    await chat.send(SUBMIT)
    await chat.send("/cancel")
    assert chat.replies[0].text == "Действие отменено, ничего не сохранено."


@pytest.mark.parametrize("leave", ["🔢 Мои счётчики", "❓ Помощь", "/history", "/accounts"])
async def test_leaving_a_walk_by_a_menu_command_names_the_meters_kept(
    harness: BotHarness, leave: str
) -> None:
    chat = await _walk_with_cold_water_confirmed(harness)
    await chat.send(leave)
    notes = [m.text for m in chat.replies if "Передача показаний прервана" in m.text]
    assert len(notes) == 1
    assert KEPT_COLD_WATER in notes[0]
    assert await _state(harness, chat) is None


async def test_leaving_by_the_cancel_button_names_the_meters_kept(harness: BotHarness) -> None:
    chat = await _walk_with_cold_water_confirmed(harness)
    await chat.send("99995")
    await chat.press("Отменить")
    assert "по этому счётчику ничего не сохранено" in chat.last_text
    assert KEPT_COLD_WATER in chat.last_text
    assert await count_readings(harness.db) == 1


async def test_picking_another_meter_mid_walk_names_the_meters_kept(harness: BotHarness) -> None:
    chat = await _walk_with_cold_water_confirmed(harness)
    await chat.press("···9012")  # the overview's button: a one-meter flow instead of the walk
    assert "Электроэнергия ···9012</b>\n" in find_message(chat, "Электроэнергия ···9012</b>").text
    assert KEPT_COLD_WATER in find_message(chat, "Передача показаний прервана").text


async def test_an_unknown_command_or_a_typed_value_does_not_leave_the_walk(
    harness: BotHarness,
) -> None:
    chat = await _walk_with_cold_water_confirmed(harness)
    await chat.send("/nonsense")
    assert "Такой команды я не знаю" in chat.reply_text
    await chat.send("99995")
    await chat.press("Подтвердить")
    texts = [m.text for m in chat.messages]
    assert not any("прервана" in text for text in texts)
    assert "(3 из 3)" in chat.last_text


async def test_leaving_a_walk_with_nothing_confirmed_adds_no_note(harness: BotHarness) -> None:
    chat = await link(harness, 1001, await seed_flat(harness.db))
    await chat.send(SUBMIT)
    await chat.send("🔢 Мои счётчики")
    assert not any("прервана" in m.text for m in chat.replies)


async def test_cancel_names_the_meters_kept_in_english(harness: BotHarness) -> None:
    chat = await link(harness, 1001, await seed_flat(harness.db))
    chat.user = chat.user.model_copy(update={"language_code": "en"})
    await chat.send("/submit")
    await chat.send("105")
    await chat.press("Confirm")
    await chat.send("/cancel")
    answer = chat.replies[0].text
    assert answer.startswith("Cancelled: nothing half-done was saved.")
    assert "The reading you already confirmed is saved:" in answer
    assert "💧 Cold water ···1234 — receipt No. 2611-000001" in answer


async def _state(harness: BotHarness, chat: ChatClient) -> str | None:
    key = StorageKey(bot_id=harness.app.bot.id, chat_id=chat.chat_id, user_id=chat.chat_id)
    return await harness.app.storage.fsm.get_state(key)


# --- point 22: /help's window comes from WINDOW_START_DAY / WINDOW_END_DAY ------------------


@pytest.mark.parametrize(
    ("start", "end", "locale", "expected"),
    [
        (15, 3, "ru", "Показания принимаются с 15-го по 3-е число следующего месяца"),
        (20, 25, "ru", "Показания принимаются с 20-го по 25-е число (у"),
        (15, 3, "en", "Readings are accepted from the 15th to the 3rd of the next month"),
        (21, 2, "en", "Readings are accepted from the 21st to the 2nd of the next month"),
        (1, 23, "en", "Readings are accepted from the 1st to the 23rd of the month"),
        (11, 13, "en", "Readings are accepted from the 11th to the 13th of the month"),
    ],
)
async def test_help_names_the_window_of_the_settings(
    tmp_path: Path, start: int, end: int, locale: str, expected: str
) -> None:
    harness = await start_harness(tmp_path, window_start_day=start, window_end_day=end)
    try:
        chat = harness.chat(1001, language_code=locale)
        await chat.send("/help")
        assert expected in chat.last_text
    finally:
        await harness.close()


# --- point 24: a meter with zones keeps its button short --------------------------------------


@pytest.mark.parametrize("locale", ["ru", "en"])
async def test_a_three_zone_meter_button_fits_a_phone_screen(
    harness: BotHarness, locale: str
) -> None:
    account = await add_account(
        harness.db,
        "5012345678",
        "+79161234567",
        M("CW-00011234", "cold_water", last=(100,), last_date=date(2026, 10, 20)),
        M(
            "EL-00039012",
            "electricity",
            tariffs=3,
            last=(123456, 65432, 98765),
            last_date=date(2026, 10, 20),
        ),
    )
    chat = await link(harness, 1001, account)
    chat.user = chat.user.model_copy(update={"language_code": locale})
    await chat.send("/submit")
    labels = [label for label, _ in chat.replies[0].buttons()]
    [zones] = [label for label in labels if "···9012" in label]
    assert len(zones) <= 30 and "\n" not in zones, zones
    assert zones in ("⚡ Электроэнергия ···9012", "⚡ Electricity ···9012")
    overview = chat.replies[0].text
    assert "T1\u00a0123456 · T2\u00a065432 · T3\u00a098765" in overview  # the values stay here
