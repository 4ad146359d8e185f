"""Operators in the chat (SPEC §8): /stats and /export; and the export after an import."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.periods import Period
from bot.handlers import admin as admin_handlers
from bot.services.export import export_period
from bot.services.importer import import_file
from bot.storage.imports import import_repository
from bot.storage.readings import ReadingRepository
from tests.flows.test_submit import SUBMIT, count_readings, link, seed_flat, submit_one
from tests.harness import BotHarness, start_harness
from tests.seed import M, add_account
from tests.unit.test_export import reading

ADMIN = 777

ACCOUNTS_FILE = """\
account;phone;address;meter;resource;tariffs;digits;last_t1;last_t2;last_t3;last_date
5012345678;+7 916 123-45-67;Балашиха, Ленина 1-1;CW-00011234;cold_water;1;;100;;;2026-10-20
5012345678;+7 916 123-45-67;Балашиха, Ленина 1-1;EL-00039012;electricity;2;;1000;400;;2026-10-20
5012345678;+7 916 123-45-67;Балашиха, Ленина 1-1;HW-00025678;hot_water;1;5;50;;;2026-10-20
5087654321;89160000000;Балашиха, Ленина 1-2;GAS-4321;gas;1;;10;;;2026-10-20
"""

EXPECTED_EXPORT = """\
account,meter,resource,period,t1,t2,t3,submitted_at,receipt
5012345678,CW-00011234,cold_water,2026-11,104,,,2026-11-20T13:00:00+03:00,2611-000004
5012345678,EL-00039012,electricity,2026-11,1100,450,,2026-11-20T12:00:00+03:00,2611-000002
5087654321,GAS-4321,gas,2026-11,25,,,2026-11-20T12:30:00+03:00,2611-000003
"""


async def _import(harness: BotHarness, path: Path) -> None:
    report = await import_file(import_repository(harness.db), path, now=harness.clock.now())
    assert report.imported, report.errors


async def _account_id(harness: BotHarness, number: str) -> int:
    return int(await harness.db.fetchval("SELECT id FROM accounts WHERE number = ?", (number,)))


async def test_export_after_import_and_submissions_then_reimport_loses_nothing(
    harness: BotHarness, tmp_path: Path
) -> None:
    accounts_file = tmp_path / "accounts.csv"
    accounts_file.write_text(ACCOUNTS_FILE, encoding="utf-8-sig")
    await _import(harness, accounts_file)

    family = await link(harness, 1001, await _account_id(harness, "5012345678"))
    await family.send(SUBMIT)
    await submit_one(family, "105")  # cold water, to be corrected below
    await family.press("Пропустить")  # hot water stays without a reading
    await submit_one(family, "1100", "450")  # electricity
    harness.clock.advance(minutes=30)
    neighbour = await link(harness, 1002, await _account_id(harness, "5087654321"))
    await neighbour.send(SUBMIT)
    await submit_one(neighbour, "25")
    harness.clock.advance(minutes=30)
    await family.send(SUBMIT)
    await family.press("···1234")
    await submit_one(family, "104")

    out = io.StringIO()
    rows = await export_period(
        ReadingRepository(harness.db), Period(2026, 11), out, harness.app.settings.tz
    )
    assert rows == 3
    assert out.getvalue() == EXPECTED_EXPORT

    await _import(harness, accounts_file)  # the same file again
    again = io.StringIO()
    await export_period(
        ReadingRepository(harness.db), Period(2026, 11), again, harness.app.settings.tz
    )
    assert again.getvalue() == EXPECTED_EXPORT
    assert await count_readings(harness.db) == 4

    admin = harness.chat(ADMIN)
    await admin.send("/export 2026-11")
    document = admin.last.document
    assert document is not None
    assert document == ("readings-2026-11.csv", EXPECTED_EXPORT.encode("utf-8"))
    assert admin.last_text == "Показания за ноябрь 2026: 3 строки"


async def test_export_defaults_to_the_open_window_period(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    admin = harness.chat(ADMIN)
    await admin.send("/export")
    assert admin.last.document is not None
    name, data = admin.last.document
    assert name == "readings-2026-11.csv"
    assert data.decode().splitlines()[1].startswith("5012345678,CW-00011234,cold_water,2026-11,105")


async def test_export_defaults_to_the_last_period_when_closed(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path, now=datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    try:
        admin = harness.chat(ADMIN)
        await admin.send("/export")
        assert admin.last.document is not None
        assert admin.last.document[0] == "readings-2026-11.csv"
        assert admin.last.document[1] == (
            b"account,meter,resource,period,t1,t2,t3,submitted_at,receipt\n"
        )
        assert admin.last_text == "Показания за ноябрь 2026: 0 строк"
    finally:
        await harness.close()


async def test_export_with_a_malformed_period(harness: BotHarness) -> None:
    admin = harness.chat(ADMIN)
    await admin.send("/export 2026-13")
    assert "ГГГГ-ММ" in admin.last_text
    assert admin.last.document is None


async def test_stats_for_an_admin(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    await chat.send(SUBMIT)
    await chat.press("···1234")
    await submit_one(chat, "106")
    admin = harness.chat(ADMIN)
    await admin.send("/stats")
    assert admin.replies[0].text.splitlines() == [
        "<b>Статистика за ноябрь 2026</b>",
        "Привязанных чатов: 1",
        "Лицевых счетов: 1 (привязано: 1)",
        "Счётчиков: 3",
        "С показаниями за период: 1 (33,3\u00a0%)",
        "Передач показаний: 2 (из них заменено: 1)",
        "",
        "Передача в расчётную систему выключена (BILLING_WEBHOOK_URL не задан).",
    ]
    assert [m.photo is not None for m in admin.replies] == [False, True]  # then the chart
    await admin.send("/stats 2026-10")
    assert "Статистика за октябрь 2026" in admin.replies[0].text
    assert "С показаниями за период: 0 (0,0\u00a0%)" in admin.replies[0].text


async def test_stats_share_is_written_as_each_language_writes_percentages(
    harness: BotHarness,
) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await submit_one(chat, "105")
    admin = harness.chat(ADMIN)
    await admin.send("/stats")
    assert "(33,3\u00a0%)" in admin.replies[0].text
    english = harness.chat(ADMIN, language_code="en")
    await english.send("/language")
    await english.press("English")
    await english.send("/stats")
    assert "With a reading for the period: 1 (33.3%)" in english.replies[0].text


async def test_stats_and_export_are_unknown_commands_for_residents(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    for command in ("/stats", "/export", "/export 2026-11"):
        await chat.send(command)
        assert chat.replies[0].text == "Такой команды я не знаю."
        assert all(m.document is None and m.photo is None for m in chat.replies)


async def test_resident_in_the_flow_typing_stats_stays_in_the_flow(harness: BotHarness) -> None:
    account = await seed_flat(harness.db)
    chat = await link(harness, 1001, account)
    await chat.send(SUBMIT)
    await chat.send("/stats")
    assert chat.replies[0].text == "Такой команды я не знаю."
    await chat.send("105")
    assert "Проверьте и подтвердите" in chat.last_text


async def _many_readings(harness: BotHarness, accounts: int) -> None:
    """An account of one cold-water meter and its reading for 2026-11, ``accounts`` times."""
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for n in range(1, accounts + 1):
        await add_account(
            harness.db, f"50000{n:05d}", f"+7916000{n:04d}", M(f"CW-{n}", "cold_water")
        )
        await reading(harness.db, n, "2026-11", (100 + n,), at, f"2611-{n:06d}")


async def test_export_past_the_upload_limit_comes_zipped_with_its_row_count(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past Telegram's 50 MB (lowered here to below this period's CSV), the CSV comes in a
    zip and the caption says how many rows it holds; past the limit even zipped, a line
    saying how to get it on the server instead."""
    await _many_readings(harness, 40)
    admin = harness.chat(ADMIN)
    await admin.send("/export 2026-11")
    assert admin.last.document is not None
    name, plain = admin.last.document
    assert name == "readings-2026-11.csv"
    lines = plain.decode("utf-8").splitlines()
    assert len(lines) == 41
    assert (
        lines[1] == "5000000001,CW-1,cold_water,2026-11,101,,,2026-11-20T12:00:00+03:00,2611-000001"
    )

    monkeypatch.setattr(admin_handlers, "UPLOAD_LIMIT", len(plain) - 1)
    await admin.send("/export 2026-11")
    assert admin.last.document is not None
    name, data = admin.last.document
    assert name == "readings-2026-11.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["readings-2026-11.csv"]
        assert archive.read("readings-2026-11.csv") == plain
    assert admin.last_text == (
        "Показания за ноябрь 2026: 40 строк. Файл больше 50 МБ, поэтому он в архиве ZIP."
    )
    english = harness.chat(ADMIN, language_code="en")
    await english.send("/language")
    await english.press("English")
    await english.send("/export 2026-11")
    assert english.last.document is not None
    assert english.last.document[0] == "readings-2026-11.zip"
    assert english.last_text == (
        "Readings for November 2026: 40 rows. The file is larger than 50 MB, so it comes zipped."
    )

    monkeypatch.setattr(admin_handlers, "UPLOAD_LIMIT", 100)  # not even the zip fits
    await english.send("/export 2026-11")
    assert english.last.document is None
    assert english.last_text == (
        "The readings for November 2026 (40 rows) exceed 50 MB even zipped. Export them on the"
        " server: <code>python -m bot export --period 2026-11 --output FILE</code>."
    )
