"""The share guard of a full snapshot (SPEC §10): a file that would close more than
SYNC_MAX_CLOSE_SHARE of the open accounts changes nothing and says why; at the share or with
--force it closes them. On both engines (the `engine` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.models import FullSnapshot, SnapshotTooSmall
from bot.services.importer import ImportReport, import_file
from bot.services.snapshot import too_small_line
from bot.storage.db import Database
from bot.storage.imports import import_repository

pytestmark = pytest.mark.usefixtures("engine")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def accounts_file(tmp_path: Path, numbers: range, name: str) -> Path:
    path = tmp_path / name
    rows = [f"50000000{n:02d};+7916000{n:04d};E-{n};electricity" for n in numbers]
    path.write_text("account;phone;meter;resource\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


async def full(db: Database, path: Path, *, force: bool = False) -> ImportReport:
    return await import_file(
        import_repository(db), path, now=NOW, snapshot=FullSnapshot(0.10, force)
    )


async def closed(db: Database) -> int:
    return int(await db.fetchval("SELECT count(*) FROM accounts WHERE closed_at IS NOT NULL"))


async def test_closing_more_than_the_share_changes_nothing(db: Database, tmp_path: Path) -> None:
    await full(db, accounts_file(tmp_path, range(1, 21), "all.csv"))
    # 3 of 20 missing (15 %), and a new account and a changed one: nothing of it is written
    with pytest.raises(SnapshotTooSmall) as refused:
        await full(db, accounts_file(tmp_path, range(4, 22), "short.csv"))
    assert (refused.value.closing, refused.value.open_accounts) == (3, 20)
    assert "close 3 of 20 open accounts (15%, more than SYNC_MAX_CLOSE_SHARE 10%)" in (
        too_small_line(refused.value)
    )
    assert await db.fetchval("SELECT count(*) FROM accounts") == 20
    assert await closed(db) == 0


async def test_closing_up_to_the_share_or_forced_goes_through(db: Database, tmp_path: Path) -> None:
    await full(db, accounts_file(tmp_path, range(1, 21), "all.csv"))
    report = await full(db, accounts_file(tmp_path, range(3, 21), "ten_percent.csv"))
    assert (report.accounts_closed, report.meters_closed) == (2, 2)  # 2 of 20: at the share
    report = await full(db, accounts_file(tmp_path, range(10, 21), "forced.csv"), force=True)
    assert report.accounts_closed == 7
    assert await closed(db) == 9
    # closed accounts are not open accounts: the next snapshot's share counts the 11 left
    with pytest.raises(SnapshotTooSmall):
        await full(db, accounts_file(tmp_path, range(12, 21), "again.csv"))
