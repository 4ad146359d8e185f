"""`copy-db` (SPEC §3, issue 11 point 5): a seeded SQLite database into PostgreSQL and back,
equal counts and checksums on both sides; the bot runs on the copy with a resident's history
intact and new rows getting fresh ids; a target holding rows is refused; a row changed in the
copy is caught by the check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import gen_accounts
from bench.data import SEED_READINGS
from bot.services.importer import import_file
from bot.storage.copy import (
    TABLES,
    CopyRefused,
    TableCheck,
    TargetNotEmpty,
    align_identities,
    canonical,
    compare,
    copy_database,
    copy_tables,
    refuse_unless_empty,
)
from bot.storage.db import Database
from bot.storage.engines import opened
from bot.storage.imports import ImportRepository
from tests.flows.test_submit import SUBMIT, link, seed_flat, submit_one
from tests.harness import start_harness

ACCOUNTS = 120
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HISTORY = "/history"


async def seed(url: str, csv: Path) -> None:
    """The benchmark's data, small: generated accounts and meters imported, readings of
    November (some of them corrected) put in as the data benchmark does."""
    gen_accounts.write(csv, ACCOUNTS, 7, ";")
    async with opened(url) as db:
        report = await import_file(ImportRepository(db), csv, now=NOW)
        assert report.imported and not report.errors
        async with db.transaction() as tx:
            for statement in filter(str.strip, SEED_READINGS.split(";")):
                params = {"period": "2026-11", "tag": "2611", "corrected": 15, "readings": 150}
                await tx.execute(statement, params)


@pytest.fixture
async def source(tmp_path: Path) -> str:
    """A seeded SQLite file with a resident linked to account 1 through the bot."""
    url = f"sqlite:///{tmp_path / 'source' / 'bot.sqlite3'}"
    await seed(url, tmp_path / "accounts.csv")
    harness = await start_harness(tmp_path, database_url=url)
    try:
        await link(harness, 1001, 1)
        await harness.chat(1001).send("/start")
        # text keys that sort differently by case and alphabet under most collations: the
        # checksum reads both sides in the same (byte-wise) order whatever the server's
        for kind in ("budget", "Budget", "_gateway", "ёлка", "Яблоко", "zeta"):
            await harness.db.execute(
                "INSERT INTO sms_alerts (kind, last_at) VALUES (:kind, '2026-11-20')",
                {"kind": kind},
            )
    finally:
        await harness.close()
    return url


async def history(tmp_path: Path, url: str) -> str:
    harness = await start_harness(tmp_path, database_url=url)
    try:
        chat = harness.chat(1001)
        await chat.send(HISTORY)
        return chat.last_text
    finally:
        await harness.close()


async def count(url: str, table: str) -> int:
    async with opened(url) as db:
        return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


def counts(checks: list[TableCheck]) -> dict[str, int]:
    return {check.table: check.target_rows for check in checks}


async def copy(source_url: str, target_url: str) -> list[TableCheck]:
    async with opened(source_url) as source, opened(target_url) as target:
        return await copy_database(source, target)


async def test_sqlite_to_postgresql_and_back_holds_the_same_rows(
    tmp_path: Path, source: str, postgres_url: str
) -> None:
    before = await history(tmp_path, source)
    assert "История показаний" in before and " — № 2611-" in before  # a seeded reading shows

    there = await copy(source, postgres_url)
    assert all(check.matches for check in there), [c for c in there if not c.matches]
    assert [check.table for check in there] == [table.name for table in TABLES]
    rows = counts(there)
    assert rows["accounts"] == ACCOUNTS and rows["links"] == rows["chats"] == rows["otp_gate"] == 1
    assert rows["sms_alerts"] == 6
    assert rows["meters"] == await count(source, "meters") > ACCOUNTS
    assert rows["readings"] == await count(source, "readings") > 100

    back = await copy(postgres_url, f"sqlite:///{tmp_path / 'back.sqlite3'}")
    assert all(check.matches for check in back)
    assert [c.source_sum for c in back] == [c.source_sum for c in there]  # the same rows

    assert await history(tmp_path, postgres_url) == before


async def test_the_bot_writes_new_rows_on_the_copy(
    tmp_path: Path, source: str, postgres_url: str
) -> None:
    """Ids were copied as they were: new rows take the next ones, not a copied row's."""
    await copy(source, postgres_url)
    harness = await start_harness(tmp_path, database_url=postgres_url)
    try:
        account = await seed_flat(harness.db)
        assert account == ACCOUNTS + 1
        chat = await link(harness, 1002, account)
        await chat.send(SUBMIT)
        await submit_one(chat, "125")
        newest = await harness.db.fetchval("SELECT max(id) FROM readings")
        await chat.send(HISTORY)  # ends the walk (the rest unsaved), then the history
        assert any(f"125 — № 2611-{newest:06d}" in m.text for m in chat.messages)
    finally:
        await harness.close()
    assert newest == await count(source, "readings") + 1


async def test_a_target_that_holds_rows_is_refused(
    tmp_path: Path, source: str, postgres_url: str
) -> None:
    await copy(source, postgres_url)
    readings = await count(source, "readings")
    with pytest.raises(TargetNotEmpty, match=rf"accounts \(120\).*readings \({readings}\)"):
        await copy(source, postgres_url)
    assert await count(postgres_url, "readings") == readings  # nothing added the second time


async def test_a_row_the_target_refuses_undoes_the_whole_copy(
    source: str, postgres_url: str
) -> None:
    """SQLite keeps a text where an integer was declared; PostgreSQL refuses it."""
    async with opened(source) as db:
        await db.execute("UPDATE chats SET remind_opening = 'yes'")
    with pytest.raises(CopyRefused, match=r"failed at table chats and was undone: .*integer"):
        await copy(source, postgres_url)
    assert await count(postgres_url, "accounts") == 0  # copied before chats, undone with it
    async with opened(postgres_url) as target:
        await refuse_unless_empty(target)  # as empty as it was made: a copy may be tried again


@pytest.mark.usefixtures("engine")
async def test_a_row_changed_in_the_copy_is_caught(
    tmp_path: Path, source: str, engine: str
) -> None:
    target_url = f"sqlite:///{tmp_path / 'copy.sqlite3'}" if engine == "sqlite" else engine
    async with opened(source) as db, opened(target_url) as target:
        await copy_tables(db, target)
        await align_identities(target)
        await target.execute("UPDATE readings SET t1 = t1 + 1 WHERE id = 100")
        await target.execute("UPDATE accounts SET address = '' WHERE id = 5")
        checks = {check.table: check for check in await compare(db, target)}
    differing = sorted(name for name, check in checks.items() if not check.matches)
    assert differing == ["accounts", "readings"]
    assert checks["readings"].source_rows == checks["readings"].target_rows


async def test_the_checksum_sees_each_changed_value(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    async with opened(url) as db:
        await insert_account(db, "Балашиха")
        sums = {await table_sum(db)}
        for address in ("Балашиха ", "", None):
            await db.execute("UPDATE accounts SET address = :a", {"a": address})
            sums.add(await table_sum(db))
    assert len(sums) == 4  # '' and NULL differ, a trailing space differs


def test_a_value_reads_the_same_from_either_driver() -> None:
    """What one driver may hand back for a value the other spells differently."""
    assert canonical((1, "", None)) == canonical((True, "", None)) == canonical((1.0, "", None))
    assert canonical((1, "", None)) != canonical((1, None, None))
    assert canonical(("a", "b")) != canonical(("a,b",))


async def insert_account(db: Database, address: str) -> None:
    await db.execute(
        "INSERT INTO accounts (number, phone, address, updated_at)"
        " VALUES ('5000000001', '+79160000000', :address, '2026-11-01')",
        {"address": address},
    )


async def table_sum(db: Database) -> str:
    checks = await compare(db, db)
    return next(check.source_sum for check in checks if check.table == "accounts")
