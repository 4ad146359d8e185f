"""`backup` and `migrate` on the command line (SPEC §3): the backup is a database with every
row, refused on PostgreSQL with the pg_dump advice and when FILE exists; `migrate` says what
it will do and reminds of the backup."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_cli_refusals import EXAMPLE, cli, one_line


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The example file imported into the database the commands in tmp_path use."""
    result = cli(tmp_path, "import", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    return tmp_path / "db" / "bot.sqlite3"


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_backup_writes_a_whole_database_and_says_what_it_holds(tmp_path: Path, db: Path) -> None:
    target = tmp_path / "backups" / "today.sqlite3"
    result = cli(tmp_path, "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert f"to {target}" in result.stdout and "schema revision" in result.stdout
    assert count(target, "meters") == count(db, "meters") == 36
    assert not list(target.parent.glob(".*partial"))  # nothing half-written left beside it


def test_backup_does_not_overwrite_unless_told(tmp_path: Path, db: Path) -> None:
    target = tmp_path / "kept.sqlite3"
    target.write_bytes(b"an older backup")
    line = one_line(cli(tmp_path, "backup", str(target)))
    assert line == f"error: {target} exists; pass --force to replace it"
    assert target.read_bytes() == b"an older backup"
    assert cli(tmp_path, "backup", "--force", str(target)).returncode == 0
    assert count(target, "accounts") == 12


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    url = "postgresql://bot:secret-password@127.0.0.1:1/bot"
    result = cli(tmp_path, "backup", str(tmp_path / "x.dump"), DATABASE_URL=url)
    line = one_line(result)
    assert "pg_dump" in line and "secret-password" not in line
    assert not (tmp_path / "x.dump").exists()


def test_migrate_of_a_new_database_says_it_creates_the_schema(tmp_path: Path) -> None:
    result = cli(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert "empty -> " in result.stdout and "create the schema" in result.stdout
    assert "back the database up" not in result.stderr  # nothing to back up yet


def test_migrate_plan_of_an_older_database_changes_nothing(tmp_path: Path) -> None:
    old = tmp_path / "db" / "bot.sqlite3"
    old.parent.mkdir()
    conn = sqlite3.connect(old)
    conn.executescript("CREATE TABLE accounts (id INTEGER PRIMARY KEY); PRAGMA user_version = 3;")
    conn.close()
    result = cli(tmp_path, "migrate", "--plan", db=old)
    assert result.returncode == 0, result.stderr
    assert "legacy-3 -> 0001" in result.stdout
    assert "back the database up first: `python -m bot backup FILE`" in result.stderr
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.close()


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("notes.txt/today.sqlite3", "notes.txt is a file, not a folder"),
        ("notes.txt/backups/today.sqlite3", "cannot make the folder notes.txt/backups: Not a"),
    ],
    ids=["file-as-folder", "file-further-up"],
)
def test_backup_into_a_folder_it_cannot_make_is_refused_in_one_line(
    tmp_path: Path, db: Path, target: str, reason: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    line = one_line(cli(tmp_path, "backup", target))  # before: a traceback
    assert line.startswith(f"error: cannot write {target}: {reason}")


def test_two_backups_to_one_file_at_once_both_end_whole(db: Path, tmp_path: Path) -> None:
    # before: they shared one partial file, and each broke the other's
    from concurrent.futures import ThreadPoolExecutor

    from bot.storage.backup import backup_sqlite

    target = tmp_path / "today.sqlite3"
    with ThreadPoolExecutor(2) as pool:
        made = list(pool.map(lambda _: backup_sqlite(db, target), range(2)))
    assert [backup.readings for backup in made] == [0, 0]
    assert count(target, "meters") == 36
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("args", [["migrate"], ["migrate", "--plan"], ["stats"]])
def test_a_database_of_a_newer_version_is_refused_as_newer_in_one_line(
    tmp_path: Path, db: Path, args: list[str]
) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    conn.close()
    line = one_line(cli(tmp_path, *args))
    # before: migrate ended in a traceback, the others called 0099 "older" and said to migrate
    assert line.startswith("error: the database schema (0099) is newer than this version knows")
    assert line.endswith("or restore a backup made before that upgrade")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0099"
    conn.close()


def test_a_database_of_an_unknown_revision_is_refused_by_migrate(tmp_path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ae1027a6acf'")
    conn.close()
    line = one_line(cli(tmp_path, "migrate"))
    assert line == (
        "error: the database schema revision 'ae1027a6acf' is not one of the bot's:"
        " is it its database?"
    )
