"""Alembic's environment: the URL comes from the caller (bot/storage/schema_version.py), the
target schema from bot/storage/schema.py. Runs on the async drivers the bot uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.engines import is_postgres, sqlite_path
from bot.storage.postgres import split_url
from bot.storage.schema import metadata


def _engine_url(url: str) -> tuple[str, dict[str, object]]:
    if is_postgres(url):
        dsn, settings = split_url(url)
        return dsn.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
            "postgres://", "postgresql+asyncpg://", 1
        ), {"server_settings": settings}
    return f"sqlite+aiosqlite:///{sqlite_path(url)}", {}


def _upgrade(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite rebuilds tables to alter
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run(url: str) -> None:
    address, connect_args = _engine_url(url)
    engine = create_async_engine(address, connect_args=connect_args)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run(context.config.attributes["database_url"]))
