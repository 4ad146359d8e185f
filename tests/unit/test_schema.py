"""The schema: declared once (bot/storage/schema.py), the same whichever way a database got it."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import bot.storage.schema_version as schema_version
from bot.storage.ddl.__main__ import ENGINES, compiled
from bot.storage.ddl.__main__ import path as ddl_path
from bot.storage.dialect import Engine
from bot.storage.engines import open_database
from bot.storage.schema import metadata
from bot.storage.schema_version import HEAD, SchemaOutdated, legacy_scripts, migrate, revision
from bot.storage.sqlite import SqliteDatabase


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def differences(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences)
    finally:
        await engine.dispose()


def test_head_is_the_newest_alembic_revision() -> None:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(schema_version.__file__).with_name("alembic"))
    )
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


async def test_a_new_database_is_the_declared_schema(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "new.sqlite3")
    try:
        assert await revision(db) == HEAD
    finally:
        await db.close()
    assert await differences(f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}") == []


_CHECK = re.compile(r"CHECK \((.+?)\)\s*(?:,|\n|$)", re.S)


def shape(path: Path) -> dict[str, Any]:
    """What a SQLite file's schema means, table by table: columns (with the affinity their
    type gives, NOT NULL outside the primary key, default), primary key, foreign keys with
    their ON DELETE, indexes (unique, columns, partial condition) and CHECKs. (Alembic's
    comparison cannot be used on the older files: SQLAlchemy does not read an ON DELETE
    written inside a column's definition.)"""

    def affinity(declared: str) -> str:
        return "INTEGER" if "INT" in declared.upper() else declared.upper()

    conn = sqlite3.connect(path)
    found: dict[str, Any] = {}
    try:
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name <> 'alembic_version' ORDER BY name"
        ).fetchall()
        for table, sql in tables:
            columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
            keys = conn.execute(f"PRAGMA foreign_key_list({table})").fetchall()
            indexes = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                " AND sql IS NOT NULL",
                (table,),
            ).fetchall()
            found[table] = {
                "columns": sorted(
                    (c[1], affinity(c[2]), bool(c[3]) and not c[5], c[4]) for c in columns
                ),
                "primary key": sorted((c[5], c[1]) for c in columns if c[5]),
                "foreign keys": sorted((k[2], k[3], k[4], k[6]) for k in keys),
                "indexes": sorted(" ".join(i[0].split()) for i in indexes),
                "checks": sorted(
                    " ".join(check.split())
                    for check in re.findall(r"CHECK \((.+?)\)\s*(?:,|\n|$)", sql, re.S)
                ),
                "without rowid": "WITHOUT ROWID" in sql,
            }
    finally:
        conn.close()
    return found


def _legacy_file(path: Path, upto: int) -> None:
    """A database as a version before Alembic left it: its numbered scripts, run in turn."""
    with sqlite3.connect(path) as conn:
        for number, sql in legacy_scripts()[:upto]:
            conn.executescript(sql)
            conn.execute(f"PRAGMA user_version = {number}")
    conn.close()


@pytest.mark.parametrize("upto", [1, 8])
async def test_an_older_file_is_refused_then_migrated_to_the_declared_schema(
    tmp_path: Path, upto: int
) -> None:
    path = tmp_path / "old.sqlite3"
    _legacy_file(path, upto)
    with pytest.raises(SchemaOutdated, match="run `python -m bot migrate`"):
        await open_database(path)
    async with SqliteDatabase(path) as db:
        assert await migrate(db) == (f"legacy-{upto}", HEAD)
        assert await migrate(db) == (HEAD, HEAD)  # again: nothing to do
        triggers = await db.fetchval("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert triggers == 0  # the phone rule is in Python now (bot/storage/imports.py)
    fresh = tmp_path / "fresh.sqlite3"
    await (await open_database(fresh)).close()
    assert shape(path) == shape(fresh)
    reopened = await open_database(path)  # opens without a word now
    await reopened.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_the_creation_files_are_what_schema_py_compiles_to(engine: Engine) -> None:
    """bot/storage/ddl/<engine>.sql is generated; a change to schema.py needs `make schema`."""
    assert ddl_path(engine).read_text(encoding="utf-8") == compiled(engine), "run `make schema`"
