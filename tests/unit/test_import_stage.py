"""The import's stage filled by a writer process (large files) loads exactly what the
in-process stage (small files) does."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.importer import across
from bot.storage import import_stage, imports
from bot.storage.engines import opened
from tests.unit.test_import_load import EXAMPLE, SMALL, counts, load, table, write


@pytest.fixture
def through_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_stage, "STAGE_IN_PROCESS_ROWS", 1)
    monkeypatch.setattr(across, "SPOOL_BATCH", 7)
    monkeypatch.setattr(imports, "BATCH_SIZE", 7)


async def test_a_writer_process_stages_what_the_import_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = {}
    for name, in_process_rows in (("here", 10**9), ("process", 1)):
        monkeypatch.setattr(import_stage, "STAGE_IN_PROCESS_ROWS", in_process_rows)
        monkeypatch.setattr(across, "SPOOL_BATCH", 7)
        monkeypatch.setattr(imports, "BATCH_SIZE", 7)
        async with opened(tmp_path / f"{name}.sqlite3") as db:
            report = await load(db, EXAMPLE)
            again = await load(db, EXAMPLE)
            loaded[name] = (
                counts(report),
                counts(again),
                await table(db, "accounts"),
                await table(db, "meters"),
            )
    assert loaded["process"] == loaded["here"]
    assert loaded["process"][0] == (12, 0, 0, 36, 0, 0)
    assert loaded["process"][1] == (0, 0, 12, 0, 0, 36)


@pytest.mark.usefixtures("through_a_process")
async def test_rows_failing_a_check_across_rows_are_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        [
            *SMALL,
            "5000000004;89161234567;;G-2;gas;;;;;",
            "5000000001;89161234567;ул. Мира, д. 1;W-1;cold_water;;5;11;;2026-11-01",  # dup
            "5000000002;89031234567;ул. Мира, д. 2;E-2;gas;;;;;",  # another phone
        ],
    )
    async with opened(tmp_path / "t.sqlite3") as db:
        report = await load(db, path, skip_invalid=True)
        assert [error.line for error in report.errors] == [6, 7]
        assert counts(report) == (3, 0, 0, 4, 0, 0)
        assert await db.fetchval("SELECT last_t1 FROM meters WHERE serial = 'W-1'") == 10


@pytest.mark.usefixtures("through_a_process")
async def test_a_failing_writer_process_fails_the_import_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_stage, "STAGE_ROW", "INSERT INTO no_such_table VALUES (?)")
    async with opened(tmp_path / "t.sqlite3") as db:
        with pytest.raises(RuntimeError, match="staging the rows failed"):
            await load(db, EXAMPLE)
        assert await db.fetchval("SELECT count(*) FROM accounts") == 0
