"""Submitting readings through the dispatcher (SPEC §6): the walk, a pick, the receipt."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery
from aiogram.types import Update

from bot.domain.periods import Period
from bot.keyboards.menu import MENU_KEYS
from bot.storage.chats import LinkRepository
from bot.storage.db import Database
from tests.harness import BotHarness, ChatClient, Sent, start_harness
from tests.seed import M, add_account

SUBMIT = "📝 Передать показания"
ACCOUNT = "5012345678"
PHONE = "+79161234567"
LAST_DAY = date(2026, 10, 20)


# --- helpers, shared with the other submission tests ----------------------------------------


async def link(harness: BotHarness, chat_id: int, account_id: int) -> ChatClient:
    await LinkRepository(harness.db).link(chat_id, account_id, harness.clock.now())
    return harness.chat(chat_id)


async def seed_flat(db: Database, number: str = ACCOUNT, phone: str = PHONE) -> int:
    """Cold water, hot water on a five-digit dial, and a two-zone electricity meter."""
    return await add_account(
        db,
        number,
        phone,
        M("CW-00011234", "cold_water", last=(100,), last_date=LAST_DAY),
        M("HW-00025678", "hot_water", digits=5, last=(99990,), last_date=LAST_DAY),
        M("EL-00039012", "electricity", tariffs=2, last=(1000, 400), last_date=LAST_DAY),
    )


async def meter_id(db: Database, serial: str) -> int:
    return int(await db.fetchval("SELECT id FROM meters WHERE serial = ?", (serial,)))


async def count_readings(db: Database, *, current_only: bool = False) -> int:
    where = " WHERE replaced_at IS NULL" if current_only else ""
    return int(await db.fetchval("SELECT count(*) FROM readings" + where))


async def add_reading(
    db: Database, meter: int, period: str, *values: int, receipt: str | None = None
) -> None:
    t1, t2, t3 = (*values, None, None, None)[:3]
    year, month = map(int, period.split("-"))
    at = datetime(year, month, 20, 9, 0, tzinfo=UTC).isoformat()
    await db.execute(
        "INSERT INTO readings (meter_id, period, t1, t2, t3, submitted_at, chat_id, receipt)"
        " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
        (meter, period, t1, t2, t3, at, receipt or f"seed-{meter}-{period}"),
    )


def find_message(chat: ChatClient, text: str) -> Sent:
    for sent in reversed(chat.messages):
        if text in sent.text:
            return sent
    raise AssertionError(f"no message with {text!r}: {[m.text for m in chat.messages[-5:]]}")


def last_answer(harness: BotHarness) -> str | None:
    calls = harness.session.calls_of(AnswerCallbackQuery)
    assert calls, "no callback query was answered"
    return calls[-1].text


async def submit_one(chat: ChatClient, *values: str) -> None:
    """Type the values of the meter being asked and confirm."""
    for value in values:
        await chat.send(value)
    await chat.press("Подтвердить")


# --- the walk -----------------------------------------------------------------------------


async def test_walk_through_three_meters_including_a_two_zone_one(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)

    await chat.send(SUBMIT)
    overview = chat.replies[0].text
    assert "5012345678" in overview
    for tail in ("···1234", "···5678", "···9012"):
        assert tail in overview
    assert "Холодная вода ···1234</b> (1 из 3)" in chat.last_text
    assert "100 от 20.10.2026" in chat.last_text

    await chat.send("105")
    assert "Проверьте и подтвердите" in chat.last_text
    assert "<b>105</b> (расход 5 м³ с 20.10.2026)" in chat.last_text
    assert "Период: ноябрь 2026" in chat.last_text
    await chat.press("Подтвердить")
    receipt = find_message(chat, "Расписка №")
    assert "2611-000001" in receipt.text
    assert "Принято: 20.11.2026 12:00" in receipt.text  # 09:00 UTC in Moscow
    assert receipt.buttons() == []
    assert "Горячая вода ···5678</b> (2 из 3)" in chat.last_text

    await chat.send("99995")
    await chat.press("Подтвердить")
    assert "Электроэнергия ···9012</b> (3 из 3)" in chat.last_text
    assert "T1 день (07:00–23:00)" in chat.last_text
    assert "1000 от 20.10.2026" in chat.last_text

    await chat.send("1100")
    assert "T2 ночь (23:00–07:00)" in chat.last_text
    assert "400 от 20.10.2026" in chat.last_text
    await chat.send("450")
    confirmation = chat.last_text
    assert "T1: <b>1100</b> (расход 100 кВт·ч" in confirmation
    assert "T2: <b>450</b> (расход 50 кВт·ч" in confirmation
    await chat.press("Подтвердить")

    summary = chat.last_text
    assert "Готово" in summary
    for receipt_no in ("2611-000001", "2611-000002", "2611-000003"):
        assert receipt_no in summary
    rows = await harness.db.fetchall(
        "SELECT m.serial, r.period, r.t1, r.t2, r.chat_id FROM readings r"
        " JOIN meters m ON m.id = r.meter_id ORDER BY r.id"
    )
    assert [tuple(r) for r in rows] == [
        ("CW-00011234", "2026-11", 105, None, 1001),
        ("HW-00025678", "2026-11", 99995, None, 1001),
        ("EL-00039012", "2026-11", 1100, 450, 1001),
    ]
    assert await harness.app.storage.fsm.get_state(_key(harness, chat)) is None


def _key(harness: BotHarness, chat: ChatClient) -> StorageKey:
    return StorageKey(bot_id=harness.app.bot.id, chat_id=chat.chat_id, user_id=chat.chat_id)


async def test_walk_asks_only_meters_without_a_reading_this_period(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    await add_reading(harness.db, await meter_id(harness.db, "CW-00011234"), "2026-11", 104)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    assert "✅ 💧 Холодная вода ···1234" in chat.replies[0].text
    assert "Горячая вода ···5678</b> (1 из 2)" in chat.last_text
    labels = [label for label, _ in chat.replies[0].buttons()]
    assert labels[0].startswith("✅ 💧 Холодная вода ···1234 · 104 от 20.11.2026")


async def test_skip_leaves_a_meter_for_later(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("Пропустить")
    assert "Горячая вода ···5678</b> (2 из 3)" in chat.last_text
    await submit_one(chat, "99995")
    await chat.press("Пропустить")
    assert "Пропущены:" in chat.last_text
    assert "···1234" in chat.last_text and "···9012" in chat.last_text
    assert await count_readings(harness.db) == 1


async def test_single_meter_picked_from_the_list(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("···9012")
    assert "Электроэнергия ···9012</b>\n" in chat.last_text  # no "(n of m)": not a walk
    assert "T1 день" in chat.last_text
    await submit_one(chat, "1100", "450")
    assert "Расписка №" in find_message(chat, "Расписка").text
    assert "Ещё 2 счётчика ждут показаний" in chat.last_text
    await chat.press("Передать остальные")
    assert "Холодная вода ···1234</b> (1 из 2)" in chat.last_text
    rows = await harness.db.fetchall("SELECT t1, t2 FROM readings")
    assert [tuple(r) for r in rows] == [(1100, 450)]


async def test_reminder_button_starts_the_walk_for_its_account(harness: BotHarness) -> None:
    first = await seed_flat(harness.db)
    second = await add_account(
        harness.db, "5099999999", "+79160000000", M("GAS-4321", "gas", last=(10,))
    )
    chat = await link(harness, 1001, second)
    await LinkRepository(harness.db).link(1001, first, harness.clock.now())  # current: first
    reminder = Sent(chat_id=1001, message_id=1, text="Приём показаний открыт")
    await chat.press_data(reminder, f"sub:{second}")
    assert "Лицевой счёт 5099999999" in chat.replies[0].text
    assert "Газ ···4321" in chat.last_text
    await submit_one(chat, "12")
    gas = await meter_id(harness.db, "GAS-4321")
    assert await harness.db.fetchval("SELECT meter_id FROM readings") == gas


async def test_reminder_button_of_an_unlinked_account_uses_the_current_one(
    harness: BotHarness,
) -> None:
    account = await seed_flat(harness.db)
    other = await add_account(harness.db, "5099999999", "+79160000000", M("GAS-4321", "gas"))
    chat = await link(harness, 1001, account)
    await chat.press_data(Sent(1001, 1, "reminder"), f"sub:{other}")
    assert "Лицевой счёт 5012345678" in chat.replies[0].text


async def test_submit_in_english(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    await LinkRepository(harness.db).link(1002, account, harness.clock.now())
    chat = harness.chat(1002, language_code="en")
    await chat.send("📝 Submit readings")
    assert "Cold water ···1234</b> (1 of 3)" in chat.last_text
    await chat.send("105.9")
    assert "I dropped the fraction and record <b>105</b>" in chat.last_text
    await chat.press("Confirm")
    assert "Receipt No. <b>2611-000001</b>" in find_message(chat, "Receipt").text


# --- refusals: the same question again -----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("сто пять", "Это не похоже на показания"),
        ("-105", "Это не похоже на показания"),
        ("1e5", "Это не похоже на показания"),
        ("١٠٥", "Это не похоже на показания"),
        ("10⁵", "Это не похоже на показания"),
        ("1234567890", "не больше 9 цифр"),
    ],
)
async def test_bad_input_is_refused_and_the_same_question_asked_again(
    harness: BotHarness, typed: str, expected: str
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    question = chat.last_text
    await chat.send(typed)
    assert expected in chat.last_text
    assert chat.last_text.endswith(question)
    await chat.send("105")
    assert "Проверьте и подтвердите" in chat.last_text
    assert await count_readings(harness.db) == 0


async def test_too_many_digits_for_the_dial(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("Пропустить")  # to the hot water meter with a five-digit dial
    question = chat.last_text
    await chat.send("123456")
    assert "не больше 5 цифр" in chat.last_text
    assert chat.last_text.endswith(question)


async def test_fraction_is_dropped_and_the_resident_told(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105,734")
    assert "Дробную часть я отбросил, записываю <b>105</b>" in chat.last_text
    await chat.press("Подтвердить")
    assert await harness.db.fetchval("SELECT t1 FROM readings") == 105


async def test_sticker_instead_of_a_number(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    question = chat.last_text
    await chat.send_sticker_like()
    assert "Пришлите показания обычным сообщением" in chat.last_text
    assert chat.last_text.endswith(question)


async def test_value_below_previous_is_refused_with_previous_value_and_date(
    harness: BotHarness,
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    question = chat.last_text
    await chat.send("99")
    refusal = chat.last_text
    assert "99 меньше предыдущих показаний — 100 от 20.10.2026" in refusal
    assert "обратитесь в поддержку: +7 (495) 000-00-00" in refusal
    assert refusal.endswith(question)
    assert await count_readings(harness.db) == 0


async def test_command_inside_the_flow_is_not_taken_for_a_value(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("/whatever")
    assert "Такой команды я не знаю" in chat.reply_text
    await chat.send("105")  # still in the flow
    assert "Проверьте и подтвердите" in chat.last_text


# --- "are you sure?" ------------------------------------------------------------------------


async def test_rollover_is_confirmed_and_no_means_type_again(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("Пропустить")  # hot water: 99 990 on a five-digit dial
    question = chat.last_text
    await chat.send("20")
    assert "прошёл через ноль — тогда расход 30 м³" in chat.last_text
    await chat.press("Нет, введу заново")
    assert chat.last_text == question
    await chat.send("20")
    await chat.press("Да, верно")
    assert "<b>20</b> (расход 30 м³ с 20.10.2026)" in chat.last_text
    await chat.press("Подтвердить")
    assert await harness.db.fetchval("SELECT t1 FROM readings") == 20


async def test_unusual_consumption_is_confirmed(harness: BotHarness) -> None:
    account = await add_account(harness.db, ACCOUNT, PHONE, M("CW-00011234", "cold_water"))
    cold = await meter_id(harness.db, "CW-00011234")
    for n, period in enumerate(("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")):
        await add_reading(harness.db, cold, period, 100 + 5 * n)  # 5 m³ a month
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    assert "125 от 20.10.2026" in chat.last_text
    question = chat.last_text
    await chat.send("200")
    sure = chat.last_text
    assert "Расход получается 75 м³ — намного больше обычного (в среднем около 5 м³)" in sure
    await chat.send("abc")  # neither a value nor a button: the question again
    assert "Это не похоже на показания" in chat.last_text
    assert chat.last_text.endswith(question)
    await chat.press_data(*_button(chat, sure, "Да, верно"))  # the old "Yes" is void now
    assert "кнопка уже не действует" in (last_answer(harness) or "")
    await chat.send("200")
    await chat.press("Да, верно")
    assert "<b>200</b> (расход 75 м³" in chat.last_text
    await chat.press("Подтвердить")
    assert await count_readings(harness.db) == 7


def _button(chat: ChatClient, text: str, label: str) -> tuple[Sent, str]:
    sent = next(m for m in chat.messages if m.text == text)
    return sent, next(data for lab, data in sent.buttons() if label in lab)


async def test_usual_consumption_asks_nothing(harness: BotHarness) -> None:
    account = await add_account(harness.db, ACCOUNT, PHONE, M("CW-00011234", "cold_water"))
    cold = await meter_id(harness.db, "CW-00011234")
    for n, period in enumerate(("2026-08", "2026-09", "2026-10")):
        await add_reading(harness.db, cold, period, 100 + 5 * n)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("124")  # 14 m³: thrice the usual, but below the 15 m³ floor
    assert "Проверьте и подтвердите" in chat.last_text


# --- the window --------------------------------------------------------------------------


async def test_outside_the_window_says_when_the_next_one_opens(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path, now=datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    try:
        account = await seed_flat(harness.db)
        chat = await link(harness, 1001, account)
        await chat.send(SUBMIT)
        assert len(chat.replies) == 1
        text = chat.last_text
        assert "Сейчас приём показаний закрыт" in text
        assert "с 15.12.2026 по 03.01.2027 (за декабрь 2026)" in text
        await chat.press("···1234")
        assert "с 15.12.2026 по 03.01.2027" in chat.last_text
        await chat.send("105")
        assert "Я не понял сообщение" in chat.reply_text
        assert await count_readings(harness.db) == 0
    finally:
        await harness.close()


async def test_meter_with_its_own_window(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path, now=datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    try:
        account = await add_account(
            harness.db,
            ACCOUNT,
            PHONE,
            M("CW-00011234", "cold_water", last=(100,), last_date=LAST_DAY),
            M("GAS-4321", "gas", last=(10,), last_date=LAST_DAY, window=(1, 10)),
        )
        chat = await link(harness, 1001, account)
        await chat.send(SUBMIT)
        assert "🔒 💧 Холодная вода ···1234 — приём с 15.12.2026 по 03.01.2027" in (
            chat.replies[0].text
        )
        assert "Газ ···4321</b>\n" in chat.last_text
        assert "за декабрь 2026" in chat.last_text
        await submit_one(chat, "15")
        assert await harness.db.fetchval("SELECT period FROM readings") == "2026-12"
    finally:
        await harness.close()


async def test_window_closing_before_confirm_saves_nothing(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path, now=datetime(2026, 12, 3, 20, 50, tzinfo=UTC))
    try:
        account = await seed_flat(harness.db)
        chat = await link(harness, 1001, account)
        await chat.send(SUBMIT)
        await chat.send("105")
        harness.clock.advance(minutes=20)  # past midnight in Moscow: Dec 4, closed
        await chat.press("Подтвердить")
        assert "уже закрылся, показания не сохранены" in chat.last_text
        assert "с 15.12.2026 по 03.01.2027" in chat.last_text
        assert await count_readings(harness.db) == 0
    finally:
        await harness.close()


# --- corrections -----------------------------------------------------------------------------


async def test_correction_replaces_the_earlier_submission(harness: BotHarness) -> None:
    account = await add_account(
        harness.db, ACCOUNT, PHONE, M("CW-00011234", "cold_water", last=(100,), last_date=LAST_DAY)
    )
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "125")  # within the first month's ceiling (30 m³): no question
    harness.clock.advance(hours=1)

    await chat.send(SUBMIT)
    assert "уже переданы" in chat.last_text
    await chat.press("···1234")
    # judged against the reading before this period, so a typo can be corrected downwards
    assert "100 от 20.10.2026" in chat.last_text
    await chat.send("120")
    assert "новые заменят их" in chat.last_text
    await chat.press("Подтвердить")
    receipt = find_message(chat, "Расписка")
    assert "2611-000002" in receipt.text
    assert "заменяют переданные ранее" in receipt.text

    rows = await harness.db.fetchall("SELECT t1, receipt, replaced_at FROM readings ORDER BY id")
    assert [(r["t1"], r["receipt"]) for r in rows] == [(125, "2611-000001"), (120, "2611-000002")]
    assert rows[0]["replaced_at"] is not None and rows[1]["replaced_at"] is None


# --- once, however many times Confirm arrives --------------------------------------------------


async def test_confirm_pressed_twice_saves_once(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    confirmation, data = chat.find_button("Подтвердить")
    await chat.press_data(confirmation, data)
    await chat.press_data(confirmation, data)
    assert await count_readings(harness.db) == 1
    assert last_answer(harness) == "Эти показания уже сохранены, расписка № 2611-000001."
    assert "Горячая вода ···5678" in chat.last_text  # the walk went on, once


async def test_same_update_fed_twice_saves_once(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    update = chat.callback_update(*chat.find_button("Подтвердить"))
    await chat.feed(update)
    await chat.feed(update)
    assert await count_readings(harness.db) == 1
    assert len([m for m in chat.messages if "(2 из 3)" in m.text]) == 1


async def test_confirm_again_after_a_restart_returns_the_first_receipt(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path)
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    sent, data = chat.find_button("Подтвердить")
    # the save happened but the process died before the conversation moved on
    state = await harness.app.storage.fsm.get_data(_key(harness, chat))
    await harness.app.services.submissions.readings.save(
        meter_id=state["tasks"][0]["id"],
        period=Period(2026, 11),
        values=[105],
        chat_id=1001,
        at=harness.clock.now(),
        request_key=data.split(":")[-1],
    )
    await harness.close()

    harness = await start_harness(tmp_path)
    try:
        chat = harness.chat(1001)
        await chat.press_data(sent, data)
        assert await count_readings(harness.db) == 1
        assert "2611-000001" in chat.messages[0].text
        assert "Горячая вода ···5678" in chat.last_text
    finally:
        await harness.close()


async def test_a_walk_the_bot_cannot_read_is_started_again(harness: BotHarness) -> None:
    """A conversation whose data holds no walk (a bug, a hand-edited row) does not crash:
    the resident is asked to start again, and the state is cleared."""
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await harness.app.storage.fsm.set_data(_key(harness, chat), {"zone": 0})

    await chat.send("105")

    assert chat.last_text == harness.app.core.get("submit-start-again", "ru")
    assert await harness.app.storage.fsm.get_state(_key(harness, chat)) is None
    assert await count_readings(harness.db) == 0


# --- leaving the flow --------------------------------------------------------------------------


async def test_cancel_halfway_saves_nothing(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("···9012")
    await chat.send("1100")  # T1 typed, T2 not yet
    await chat.send("/cancel")
    assert "Действие отменено" in chat.reply_text
    await chat.send("450")
    assert "Я не понял сообщение" in chat.reply_text
    assert await count_readings(harness.db) == 0


async def test_cancel_button_at_confirmation_saves_nothing(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    sent, data = chat.find_button("Подтвердить")
    await chat.press("Отменить")
    assert "ничего не сохранено" in chat.last_text
    await chat.press_data(sent, data)  # the Confirm of the cancelled step
    assert last_answer(harness) == "Эта кнопка уже не действует. Откройте меню заново."
    assert await count_readings(harness.db) == 0


async def test_change_asks_the_values_again(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.press("···9012")
    await chat.send("1100")
    await chat.send("450")
    await chat.press("Изменить")
    assert "T1 день" in chat.last_text
    await submit_one(chat, "1101", "451")
    rows = await harness.db.fetchall("SELECT t1, t2 FROM readings")
    assert [tuple(r) for r in rows] == [(1101, 451)]


async def test_a_menu_button_leaves_the_flow(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    sent, data = chat.find_button("Подтвердить")
    await chat.send("🔢 Мои счётчики")
    assert "Счётчики по лицевому счёту" in chat.last_text
    await chat.press_data(sent, data)
    assert await count_readings(harness.db) == 0


MENU_BUTTONS = [key for row in MENU_KEYS for key in row]


@pytest.mark.parametrize("key", MENU_BUTTONS)
async def test_every_menu_button_is_taken_by_its_router_while_a_value_is_asked(
    harness: BotHarness, key: str
) -> None:
    # the flow's router comes first: it must leave every menu button to the routers after it
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send(harness.app.core.get(key, "ru"))
    assert chat.replies, key
    assert "Это не похоже на показания" not in chat.reply_text


async def test_a_command_in_a_caption_inside_the_flow_reaches_its_router(
    harness: BotHarness,
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.feed(Update(update_id=next(harness.ids), message=chat._message(caption="/help")))
    assert "Как передать показания" in chat.reply_text
    assert "Пришлите показания обычным сообщением" not in chat.reply_text


async def test_a_sticker_at_the_confirmation_shows_it_again(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    await chat.send_sticker_like()
    assert "Нажмите «Подтвердить»" in chat.last_text


async def test_typing_at_the_confirmation_shows_it_again(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("105")
    await chat.send("106")
    assert "Нажмите «Подтвердить»" in chat.last_text
    assert "<b>105</b>" in chat.last_text
    await chat.press("Подтвердить")
    assert await harness.db.fetchval("SELECT t1 FROM readings") == 105


async def test_switching_account_in_between_saves_nothing_wrong(harness: BotHarness) -> None:
    first = await seed_flat(harness.db)
    second = await add_account(
        harness.db, "5099999999", "+79160000000", M("GAS-4321", "gas", last=(10,))
    )
    chat = await link(harness, 1001, second)
    await LinkRepository(harness.db).link(1001, first, harness.clock.now())
    await chat.send(SUBMIT)
    await chat.send("105")
    stale, stale_data = chat.find_button("Подтвердить")

    await chat.send("/accounts")
    await chat.press("Перейти на 5099999999")
    await chat.press_data(stale, stale_data)
    assert last_answer(harness) == "Эта кнопка уже не действует. Откройте меню заново."
    assert await count_readings(harness.db) == 0

    await chat.send(SUBMIT)
    assert "Лицевой счёт 5099999999" in chat.replies[0].text
    await chat.send("12")
    await chat.press_data(stale, stale_data)  # the old account's button, mid-way in the new
    assert await count_readings(harness.db) == 0
    await chat.press("Подтвердить")
    gas = await meter_id(harness.db, "GAS-4321")
    rows = await harness.db.fetchall("SELECT meter_id, t1 FROM readings")
    assert [tuple(r) for r in rows] == [(gas, 12)]


async def test_unlinked_chat_is_sent_to_linking(harness: BotHarness) -> None:
    await seed_flat(harness.db)
    chat = harness.chat(1003)
    await chat.send(SUBMIT)
    assert "привяжите лицевой счёт" in chat.last_text


async def test_pick_of_a_foreign_meter_is_refused(harness: BotHarness) -> None:
    mine = await seed_flat(harness.db)
    other = await add_account(harness.db, "5099999999", "+79160000000", M("GAS-4321", "gas"))
    chat = await link(harness, 1001, mine)
    gas = await meter_id(harness.db, "GAS-4321")
    await chat.press_data(Sent(1001, 1, "forged"), f"subp:{other}:{gas}")
    assert last_answer(harness) == "Эта кнопка уже не действует. Откройте меню заново."
    assert await harness.app.storage.fsm.get_state(_key(harness, chat)) is None
