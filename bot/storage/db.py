"""The database the repositories talk to: SQLite (the embedded default) or PostgreSQL.

Every query is written once, in the SQL both engines speak, with named parameters (`:name`)
given as a mapping; where the engines differ (a list travelling as one JSON parameter, say), a
repository asks `db.dialect` for the fragment (bot/storage/dialect.py). A driver per engine
(bot/storage/sqlite.py on aiosqlite, bot/storage/postgres.py on asyncpg) does the rest: the
same methods, rows read by column name or position, and constraint failures raised as
`IntegrityViolation` whichever engine found them.

Why not SQLAlchemy's engine at run time: measured on this machine (2026-12-02, one query by
primary key, event-loop CPU per query): aiosqlite 40-55 µs, SQLAlchemy over aiosqlite
260-370 µs; asyncpg 80-105 µs, SQLAlchemy over asyncpg 170-215 µs. A resident's update runs a
few queries, so SQLAlchemy would cost the conversation benchmark a third of its throughput.
SQLAlchemy declares the schema (bot/storage/schema.py) and Alembic migrates it; the queries
run on the drivers.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from bot.storage.dialect import Dialect

# Named parameters (`:name`, a mapping) in the bot's queries; `?` with a sequence is accepted
# too, for a test's one-off SQL.
Params = Mapping[str, Any] | Sequence[Any]
Row = Any  # sqlite3.Row or asyncpg.Record: row["column"], row[0], unpacking

ViolationKind = Literal["unique", "foreign_key", "check", "not_null", "other"]


class IntegrityViolation(Exception):
    """A constraint refused a write; `kind` says which sort, on either engine."""

    def __init__(self, kind: ViolationKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class Executor(Protocol):
    """What runs statements: the database itself (each write its own transaction), or the
    connection of one transaction (`Database.transaction()`)."""

    @property
    def dialect(self) -> Dialect: ...

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None: ...

    async def fetchval(self, sql: str, params: Params | None = None) -> Any: ...

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """One statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...


class Database(Executor, Protocol):
    """Reads see committed data only; `transaction()` is one write transaction that commits
    when its block ends and rolls back when it raises."""

    url: str

    def transaction(self) -> AbstractAsyncContextManager[Executor]: ...

    async def write_fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        """One write statement that returns rows (INSERT … RETURNING), its own transaction."""
        ...

    def stream(
        self, sql: str, params: Params | None = None, chunk: int = 10_000
    ) -> AsyncGenerator[Sequence[Row], None]:
        """The rows of one query, `chunk` at a time, without holding them all in memory."""
        ...

    async def ping(self) -> None:
        """A trivial read that proves the database answers (`/readyz`); raises when not."""
        ...

    async def close(self) -> None: ...
