"""`python -m bot sync` and `python -m bot export --format gis` through the command line
(click's CliRunner, as tests/e2e/test_cli_refusals.py runs it): what the operator reads, the
one-line refusals, what the database holds after."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.processes import read_every_meter
from tests.e2e.test_cli_refusals import cli, one_line

HEADER = "account;phone;address;meter;resource;tariffs;gis_meter_number;els;replaces"


def accounts_file(tmp_path: Path, numbers: range, name: str, *extra: str) -> Path:
    rows = [
        f"50000000{n:02d};+7916000{n:04d};г. Химки, ул. Мира, д. {n};CW-{n};cold_water;1;"
        f"{'G-' + str(n) if n % 2 else ''};{n:02d}МО00000{n % 10};"
        for n in numbers
    ]
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows, *extra]) + "\n", encoding="utf-8")
    return path


def query(db: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_sync_adds_then_a_full_snapshot_stops_at_the_share_and_goes_on_with_force(
    tmp_path: Path,
) -> None:
    db = tmp_path / "db" / "bot.sqlite3"
    first = cli(tmp_path, "sync", str(accounts_file(tmp_path, range(1, 11), "a.csv")))
    assert first.returncode == 0, first.stderr
    assert "Accounts: 10 created, 0 updated, 0 unchanged." in first.stdout

    truncated = accounts_file(tmp_path, range(1, 8), "b.csv")
    line = one_line(cli(tmp_path, "sync", "--full", str(truncated)))
    assert line == (
        "error: the full snapshot would close 3 of 10 open accounts (30%, more than"
        " SYNC_MAX_CLOSE_SHARE 10%): is the file complete? Nothing was changed; run it with"
        " --force to close them"
    )
    assert query(db, "SELECT count(*) FROM accounts WHERE closed_at IS NOT NULL") == [(0,)]

    forced = cli(tmp_path, "sync", "--full", "--force", str(truncated))
    assert forced.returncode == 0, forced.stderr
    assert "Absent from the snapshot, closed: 3 accounts, 3 meters" in forced.stdout
    assert query(db, "SELECT count(*) FROM accounts WHERE closed_at IS NOT NULL") == [(3,)]
    # a larger share allowed by the setting
    more = accounts_file(tmp_path, range(1, 6), "c.csv")
    allowed = cli(tmp_path, "sync", "--full", str(more), SYNC_MAX_CLOSE_SHARE="0.5")
    assert allowed.returncode == 0, allowed.stderr


def test_sync_refusals_are_one_line(tmp_path: Path) -> None:
    path = accounts_file(tmp_path, range(1, 3), "a.csv")
    assert "give FILE or --url URL, or set BILLING_ACCOUNTS_URL" in one_line(cli(tmp_path, "sync"))
    assert "--force goes with --full" in one_line(cli(tmp_path, "sync", "--force", str(path)))
    assert "not both" in one_line(cli(tmp_path, "sync", str(path), "--url", "http://x/a.csv"))
    assert cli(tmp_path, "sync", str(path)).returncode == 0  # the database exists
    unreachable = one_line(cli(tmp_path, "sync", "--url", "http://127.0.0.1:9/a.csv?token=s"))
    assert unreachable.startswith("error: cannot read http://127.0.0.1:9/a.csv: ")
    assert "token" not in unreachable


@pytest.mark.parametrize("url", ["accounts.example.org/a.csv", "ftp://x/a.csv", "file:///a.csv"])
def test_sync_refuses_a_url_it_cannot_fetch_before_trying(tmp_path: Path, url: str) -> None:
    # before: "cannot read ://accounts.example.org/a.csv: InvalidUrlClientError"
    line = one_line(cli(tmp_path, "sync", "--url", url))
    assert line == "error: Invalid value for --url: expected an http:// or https:// URL"


@pytest.fixture
def with_readings(tmp_path: Path) -> Path:
    """Five accounts synced (odd ones with gis_meter_number), a reading of each for 2026-11."""
    result = cli(tmp_path, "sync", str(accounts_file(tmp_path, range(1, 6), "a.csv")))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "db" / "bot.sqlite3"
    read_every_meter(db, 100)
    return db


def test_export_gis_writes_the_sheet_layout_and_counts_meters_without_a_number(
    tmp_path: Path, with_readings: Path
) -> None:
    result = cli(tmp_path, "export", "--period", "2026-11", "--format", "gis")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")  # CRLF in the file; click's runner reads them as \n
    assert lines[0].startswith("\ufeffАдрес дома;Номер ПУ в ГИС ЖКХ;Коммунальный ресурс;")
    assert lines[0].endswith(";;;Шаблон ГИС ЖКХ «Импорт показаний ИПУ», версия 13.1.3.1")
    # 00:30 in Moscow on the 21st: the day the resident sent it
    assert lines[1] == (
        "г. Химки, ул. Мира, д. 1;G-1;Холодная вода;11.2026;101,0000000;;;21.11.2026"
    )
    assert [line.split(";")[1] for line in lines[1:] if line] == ["G-1", "G-3", "G-5"]
    assert "3 readings exported for 2026-11 in the ГИС ЖКХ layout" in result.stderr
    assert "2 readings left out: the meter has no gis_meter_number" in result.stderr
    # to a file: the same, with CRLF as a Russian-locale Excel expects
    target = tmp_path / "gis.csv"
    cli(tmp_path, "export", "--period", "2026-11", "--format", "gis", "--output", str(target))
    assert target.read_bytes().decode("utf-8").split("\r\n") == lines


def test_export_gis_to_xlsx_is_a_workbook_with_the_sheet(
    tmp_path: Path, with_readings: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "gis.xlsx"
    result = cli(
        tmp_path, "export", "--period", "2026-11", "--format", "gis", "--output", str(target)
    )
    assert result.returncode == 0, result.stderr
    book = openpyxl.load_workbook(target)
    sheet = book["Импорт показаний ИПУ"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("Адрес дома", "Номер ПУ в ГИС ЖКХ")
    assert rows[1] == (
        "г. Химки, ул. Мира, д. 1",
        "G-1",
        "Холодная вода",
        "11.2026",
        101,
        None,
        None,
        "21.11.2026",
    )
    assert sheet["E2"].number_format == "0.0000000"
    assert len(rows) == 4
    assert book["Сведения"]["B2"].value == "13.1.3.1"
