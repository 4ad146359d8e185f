"""Opening the database DATABASE_URL names, on the engine it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.storage.db import Database
from bot.storage.schema_version import prepare
from bot.storage.sqlite import SqliteDatabase


def is_postgres(url: str) -> bool:
    return url.split("+", 1)[0].split(":", 1)[0] in {"postgresql", "postgres"}


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL."""
    return Path(url.split(":///", 1)[1] if "://" in url else url)


async def connect(target: str | Path) -> Database:
    """The database, connected, its schema as it is (see `open_database`)."""
    if isinstance(target, str) and is_postgres(target):
        from bot.storage.postgres import PostgresDatabase  # asyncpg: only for PostgreSQL

        return await PostgresDatabase.open(target)
    path = target if isinstance(target, Path) else sqlite_path(target)
    return await SqliteDatabase.open(path)


async def open_database(target: str | Path) -> Database:
    """The database at a URL (or a SQLite file's path), ready for this version of the bot:
    created when empty, refused (SchemaOutdated) when its schema is older."""
    db = await connect(target)
    try:
        await prepare(db)
    except BaseException:
        await db.close()
        raise
    return db


@asynccontextmanager
async def opened(target: str | Path) -> AsyncIterator[Database]:
    """`open_database` for the length of a block."""
    db = await open_database(target)
    try:
        yield db
    finally:
        await db.close()
