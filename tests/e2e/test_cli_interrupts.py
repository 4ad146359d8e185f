"""Commands stopped half-way (Ctrl-C, a write that fails) through the command line (click's
CliRunner, as tests/e2e/test_cli_refusals.py runs it): one line saying what was left behind,
a non-zero exit, and never a file that looks like a whole export but is not."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.storage.readings import ReadingRepository
from tests.e2e.processes import read_every_meter
from tests.e2e.test_cli_refusals import EXAMPLE, ROOT, cli, environment, one_line

EARLIER = "an earlier export, whole\n"


@pytest.fixture
def with_readings(tmp_path: Path) -> Path:
    """The example file imported, a reading of every meter for 2026-11."""
    result = cli(tmp_path, "import", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "db" / "bot.sqlite3"
    read_every_meter(db, 1000)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meters SET gis_meter_number = 'G-' || id")
    conn.close()
    return db


def stopping_after_one_chunk(monkeypatch: pytest.MonkeyPatch, stop: BaseException) -> None:
    """The export's readings: one chunk, then ``stop`` (Ctrl-C, a full disk)."""
    for name in ("current_of_period", "gis_of_period"):
        read = getattr(ReadingRepository, name)

        def half(
            self: ReadingRepository, *args: Any, _read: Any = read, **kwargs: Any
        ) -> AsyncIterator[Sequence[Any]]:
            async def chunks() -> AsyncIterator[Sequence[Any]]:
                async with contextlib.aclosing(_read(self, *args, **kwargs)) as rows_read:
                    async for rows in rows_read:
                        yield rows
                        raise stop

            return chunks()

        monkeypatch.setattr(ReadingRepository, name, half)


FORMATS = [
    (["--format", "csv"], "readings.csv"),
    (["--format", "csv-excel"], "readings.csv"),
    (["--format", "xlsx"], "readings.xlsx"),
    (["--format", "gis"], "readings.xlsx"),
    (["--format", "gis"], "readings.csv"),
]
FORMAT_IDS = ["csv", "csv-excel", "xlsx", "gis-xlsx", "gis-csv"]


@pytest.mark.parametrize(("form", "name"), FORMATS, ids=FORMAT_IDS)
def test_an_export_interrupted_half_way_leaves_no_file_that_looks_whole(
    tmp_path: Path,
    with_readings: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: list[str],
    name: str,
) -> None:
    # before: a CSV cut after its last whole row, and "Aborted!"
    stopping_after_one_chunk(monkeypatch, KeyboardInterrupt())
    result = cli(tmp_path, "export", "--period", "2026-11", *form, "--output", name)
    assert one_line(result) == f"interrupted: {name} was not written"
    assert result.returncode == 130
    assert [p.name for p in tmp_path.iterdir()] == ["db"]  # no partial file either


@pytest.mark.parametrize(("form", "name"), FORMATS, ids=FORMAT_IDS)
def test_an_export_that_fails_half_way_keeps_the_earlier_file(
    tmp_path: Path,
    with_readings: Path,
    monkeypatch: pytest.MonkeyPatch,
    form: list[str],
    name: str,
) -> None:
    (tmp_path / name).write_text(EARLIER)
    stopping_after_one_chunk(monkeypatch, OSError(28, "No space left on device"))
    result = cli(tmp_path, "export", "--period", "2026-11", *form, "--output", name)
    assert one_line(result) == f"error: cannot write {name}: No space left on device"
    assert result.returncode == 1
    assert (tmp_path / name).read_text() == EARLIER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", name]


def test_an_export_interrupted_says_the_earlier_file_is_unchanged(
    tmp_path: Path, with_readings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "readings.csv").write_text(EARLIER)
    stopping_after_one_chunk(monkeypatch, KeyboardInterrupt())
    result = cli(tmp_path, "export", "--period", "2026-11", "--output", "readings.csv")
    assert one_line(result) == (
        "interrupted: readings.csv was not written; the file there is the earlier one, unchanged"
    )
    assert (tmp_path / "readings.csv").read_text() == EARLIER


def test_an_export_to_stdout_interrupted_says_it_is_incomplete(
    tmp_path: Path, with_readings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopping_after_one_chunk(monkeypatch, KeyboardInterrupt())
    result = cli(tmp_path, "export", "--period", "2026-11")
    assert result.returncode == 130
    assert result.stderr.strip() == "interrupted: the export on stdout is incomplete"


def test_a_whole_export_replaces_the_earlier_file_and_leaves_nothing_beside_it(
    tmp_path: Path, with_readings: Path
) -> None:
    (tmp_path / "readings.csv").write_text(EARLIER)
    result = cli(tmp_path, "export", "--period", "2026-11", "--output", "readings.csv")
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "readings.csv").read_text().splitlines()) == 1 + 36
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db", "readings.csv"]


def test_an_export_that_fills_the_disk_says_so_in_one_line_and_keeps_the_earlier_file(
    tmp_path: Path,
) -> None:
    """A real process whose files may not grow past 1 MB (as a full disk stops them), and an
    export of 2 MB: the write fails half-way through the rows."""
    rows = "".join(f"60{n:08d};89161234567;M-{n};cold_water\n" for n in range(20_000))
    (tmp_path / "accounts.csv").write_text("account;phone;meter;resource\n" + rows)
    assert cli(tmp_path, "import", "accounts.csv").returncode == 0
    conn = sqlite3.connect(tmp_path / "db" / "bot.sqlite3")
    with conn:
        conn.execute(
            "INSERT INTO readings (meter_id, period, t1, submitted_at, receipt)"
            " SELECT id, '2026-11', id, '2026-11-20T21:30:00.000000+00:00', 'R-' || id FROM meters"
        )
        conn.execute("UPDATE meters SET gis_meter_number = 'G-' || id")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the export only reads the database
    conn.close()
    (tmp_path / "gis.csv").write_text(EARLIER)

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env.update(
        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT)), **environment(tmp_path, None, {})
    )
    args = ["export", "--period", "2026-11", "--format", "gis", "--output", "gis.csv"]
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )
    # before: a traceback of the database's rows read after it had closed, and a cut file
    assert one_line(result) == "error: cannot write gis.csv: File too large"
    assert (tmp_path / "gis.csv").read_text() == EARLIER
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv", "db", "gis.csv"]


def accounts(tmp_path: Path) -> int:
    conn = sqlite3.connect(tmp_path / "db" / "bot.sqlite3")
    try:
        return int(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])
    finally:
        conn.close()


def test_an_import_interrupted_while_loading_says_nothing_was_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage import imports

    assert cli(tmp_path, "migrate").returncode == 0

    async def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(imports, "upsert_staged", interrupted)
    result = cli(tmp_path, "import", str(EXAMPLE))
    # before: "Aborted!", which said nothing of what was left
    assert one_line(result) == "interrupted: nothing was imported (an import is one transaction)"
    assert result.returncode == 130
    assert accounts(tmp_path) == 0


def test_an_import_interrupted_once_every_row_is_written_says_it_may_be_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage import imports

    load = imports.load_staged

    async def committed_then_interrupted(*args: Any, **kwargs: Any) -> Any:
        await load(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(imports, "load_staged", committed_then_interrupted)
    result = cli(tmp_path, "import", str(EXAMPLE))
    assert result.returncode == 130
    assert result.stderr.splitlines()[-1] == (
        "interrupted: stopped as the import was being committed: the database holds the whole"
        " file or none of it; importing the file again is safe (what is loaded stays unchanged)"
    )
    assert accounts(tmp_path) == 12


def test_a_database_that_fails_half_way_is_one_line_not_a_traceback(
    tmp_path: Path, with_readings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a temp folder full while SQLite sorts, say: before, a traceback of aiosqlite's
    stopping_after_one_chunk(monkeypatch, sqlite3.OperationalError("disk I/O error"))
    (tmp_path / "readings.csv").write_text(EARLIER)
    result = cli(tmp_path, "export", "--period", "2026-11", "--output", "readings.csv")
    assert one_line(result) == (
        "error: the database failed: disk I/O error; check that its disk (and TMPDIR) has room"
        " and its server answers, then run the command again"
    )
    assert result.returncode == 1
    assert (tmp_path / "readings.csv").read_text() == EARLIER
