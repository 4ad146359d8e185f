"""History (SPEC §6): the last twelve periods per meter and the whole history as CSV."""

from __future__ import annotations

from datetime import date

from bot.storage.chats import LinkRepository
from tests.flows.test_submit import (
    ACCOUNT,
    LAST_DAY,
    PHONE,
    SUBMIT,
    add_reading,
    link,
    meter_id,
    seed_flat,
    submit_one,
)
from tests.harness import BotHarness
from tests.seed import M, add_account

HISTORY = "📊 История"


async def test_history_shows_the_last_twelve_periods_per_meter(harness: BotHarness) -> None:
    account = await add_account(harness.db, ACCOUNT, PHONE, M("CW-00011234", "cold_water"))
    cold = await meter_id(harness.db, "CW-00011234")
    periods = [f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13)][:22]
    for n, period in enumerate(periods):  # 2025-01 .. 2026-10
        await add_reading(harness.db, cold, period, 10 * n, receipt=f"R{n:02d}")
    chat = await link(harness, 1001, account)
    await chat.send(HISTORY)
    text = chat.last_text
    assert "История показаний, лицевой счёт 5012345678" in text
    assert "октябрь 2026: 210 — № R21, 20.10.2026 12:00" in text
    assert "ноябрь 2025: 100 — № R10" in text
    assert "октябрь 2025" not in text  # the thirteenth period back
    assert len([line for line in text.splitlines() if " — № " in line]) == 12


async def test_history_keeps_a_replaced_submission_marked(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "125")  # within the first month's ceiling (30 m³)
    await chat.send(SUBMIT)
    await chat.press("···1234")
    await submit_one(chat, "120")

    await chat.send("/history")
    text = chat.last_text
    assert "<s>ноябрь 2026: 125 — № 2611-000001, 20.11.2026 12:00</s> (заменены)" in text
    assert "ноябрь 2026: 120 — № 2611-000002, 20.11.2026 12:00\n" in text
    assert "Электроэнергия ···9012</b>\nчерез бота показаний ещё не передавали" in text


async def test_full_history_comes_as_a_csv_document(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "125")
    await chat.send(SUBMIT)
    await chat.press("···1234")
    await submit_one(chat, "120")
    await chat.send(HISTORY)
    await chat.press("Вся история файлом")
    document = chat.last.document
    assert document is not None
    name, data = document
    assert name == "history-5012345678.csv"
    assert data.decode("utf-8").splitlines() == [
        "account,meter,resource,period,t1,t2,t3,submitted_at,receipt,replaced_at",
        "5012345678,CW-00011234,cold_water,2026-11,125,,,2026-11-20T12:00:00+03:00,2611-000001,"
        "2026-11-20T12:00:00+03:00",
        "5012345678,CW-00011234,cold_water,2026-11,120,,,2026-11-20T12:00:00+03:00,2611-000002,",
    ]


async def test_csv_of_an_account_no_longer_linked_is_refused(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(HISTORY)
    await LinkRepository(harness.db).unlink(1001, account)
    await chat.press("Вся история файлом")
    assert all(m.document is None for m in chat.messages)


async def test_history_without_submissions_names_each_meter(harness: BotHarness) -> None:
    account = await add_account(
        harness.db, ACCOUNT, PHONE, M("CW-00011234", "cold_water", last=(1,), last_date=LAST_DAY)
    )
    chat = await link(harness, 1001, account)
    await chat.send("/history")
    assert "Холодная вода ···1234</b>\nчерез бота показаний ещё не передавали" in chat.last_text


async def test_my_meters_lists_zones_verification_and_window(harness: BotHarness) -> None:
    account = await add_account(
        harness.db,
        ACCOUNT,
        PHONE,
        M(
            "CW-00011234",
            "cold_water",
            last=(100,),
            last_date=LAST_DAY,
            verified_until=date(2026, 1, 1),
        ),
        M("EL-00039012", "electricity", tariffs=3, verified_until=date(2030, 6, 1)),
        M("GAS-4321", "gas", window=(1, 10)),
    )
    chat = await link(harness, 1001, account)
    await chat.send("🔢 Мои счётчики")
    text = chat.last_text
    assert "<b>💧 Холодная вода</b>, № CW-00011234" in text
    assert "Последние показания: 100 от 20.10.2026" in text
    assert "Срок поверки истёк 01.01.2026" in text
    assert "Тарифных зон: 3 — T1 пик (07:00–10:00 и 17:00–21:00); T2 ночь (23:00–07:00);" in text
    assert "T3 полупик (10:00–17:00 и 21:00–23:00)" in text
    assert "Поверка действует до 01.06.2030" in text
    assert "с 15-го по 3-е число следующего месяца" in text
    assert "Сейчас приём открыт, до 03.12.2026 (за ноябрь 2026)" in text
    assert (
        "Приём показаний: с 1-го по 10-е число\nСледующий приём — с 01.12.2026 по 10.12.2026"
        in (text)
    )
