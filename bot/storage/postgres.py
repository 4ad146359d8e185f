"""The PostgreSQL driver (asyncpg): a pool, named parameters, one transaction per block.

Queries arrive written for both engines, with `:name` parameters; each text is turned into
asyncpg's `$1, $2 …` once and remembered, with the order in which to pass the values.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from bot.storage.db import Executor, IntegrityViolation, Params, Row, ViolationKind
from bot.storage.dialect import POSTGRESQL, Dialect

POOL_SIZE = 10
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)|\?")

_VIOLATIONS: dict[type[Exception], ViolationKind] = {
    asyncpg.UniqueViolationError: "unique",
    asyncpg.ForeignKeyViolationError: "foreign_key",
    asyncpg.CheckViolationError: "check",
    asyncpg.NotNullViolationError: "not_null",
}


@lru_cache(maxsize=4096)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters as `$n` (outside quoted literals), and the names in `$n` order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1) or str(len(names))  # `?`: the next value of a sequence
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    # even pieces are outside '…' literals ('' inside a literal splits into an empty piece)
    pieces = sql.split("'")
    for index in range(0, len(pieces), 2):
        pieces[index] = _PARAM.sub(number, pieces[index])
    return "'".join(pieces), tuple(names)


def _arguments(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, names = positional(sql)
    if not names:
        return text, []
    assert params is not None, f"parameters missing for {names}"
    if isinstance(params, Mapping):
        return text, [params[name] for name in names]
    return text, list(params)


@contextmanager
def _violations() -> Iterator[None]:
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        kind: ViolationKind = next(
            (k for t, k in _VIOLATIONS.items() if isinstance(exc, t)), "other"
        )
        raise IntegrityViolation(kind, str(exc)) from exc


# COPY's text format: one line a row, cells split by tabs (NULL as an empty cell here), and a
# backslash before what would break that (itself, a tab, a newline …).
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescaped(cell: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(1)), cell)


def _text_rows(text: str) -> list[list[str]]:
    """The rows of whole lines of COPY's text format, as their cells' text."""
    lines = text.split("\n")[:-1]
    if "\\" not in text:  # nothing escaped: the common case, at C speed
        return [line.split("\t") for line in lines]
    return [[_unescaped(cell) for cell in line.split("\t")] for line in lines]


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTx(Executor):
    """A connection of the pool, inside one transaction (or, for one statement, outside)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        text, args = _arguments(sql, params)
        with _violations():
            return list(await self._conn.fetch(text, *args))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        text, args = _arguments(sql, params)
        with _violations():
            return await self._conn.fetchrow(text, *args)

    async def fetchval(self, sql: str, params: Params | None = None) -> Any:
        text, args = _arguments(sql, params)
        with _violations():
            return await self._conn.fetchval(text, *args)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        text, args = _arguments(sql, params)
        with _violations():
            return _changed(await self._conn.execute(text, *args))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        text, names = positional(sql)
        values = [
            [row[n] for n in names] if isinstance(row, Mapping) else list(row) for row in rows
        ]
        with _violations():
            await self._conn.executemany(text, values)

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        """Rows into `table` by COPY (binary), far faster than INSERTs for a bulk load."""
        try:
            with _violations():
                await self._conn.copy_records_to_table(table, records=records, columns=columns)
        except (TypeError, ValueError) as exc:  # a value the column's type cannot take
            raise IntegrityViolation("other", f"{type(exc).__name__}: {exc}") from exc


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it came: the bot sets no session state on the
    pool's connections (its advisory locks live on connections of their own, and every
    transaction is closed by its block). asyncpg's default reset is one more round trip for
    every statement run outside a transaction."""


class PostgresDatabase:
    def __init__(self, url: str, server_settings: dict[str, str] | None = None) -> None:
        self.url = url
        self._dsn, self._settings = split_url(url)
        if server_settings:
            self._settings.update(server_settings)
        self._pool: asyncpg.Pool | None = None

    @property
    def dialect(self) -> Dialect:
        return POSTGRESQL

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        db = cls(url)
        await db.connect()
        return db

    async def connect(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn,
            min_size=1,
            max_size=POOL_SIZE,
            server_settings=self._settings,
            reset=_nothing_to_reset,
        )

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> PostgresDatabase:
        if self._pool is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "database is not connected"
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PostgresTx]:
        """A connection of the pool, outside any transaction (each statement commits)."""
        async with self.pool.acquire() as conn:
            yield PostgresTx(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield PostgresTx(conn)

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        async with self.connection() as conn:
            return await conn.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        async with self.connection() as conn:
            return await conn.fetchone(sql, params)

    async def fetchval(self, sql: str, params: Params | None = None) -> Any:
        async with self.connection() as conn:
            return await conn.fetchval(sql, params)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        async with self.connection() as conn:
            return await conn.execute(sql, params)

    async def write_fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return await self.fetchall(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def stream(
        self, sql: str, params: Params | None = None, chunk: int = 10_000
    ) -> AsyncGenerator[Sequence[Row], None]:
        text, args = _arguments(sql, params)
        async with self.pool.acquire() as conn, conn.transaction():
            cursor = await conn.cursor(text, *args)
            while rows := await cursor.fetch(chunk):
                yield rows

    async def copy_text(
        self,
        sql: str,
        params: Params | None = None,
        chunk: int = 10_000,
        *,
        settings: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[list[list[str]], None]:
        """The rows of one query, `chunk` at a time, as the text of their cells (NULL as an
        empty one), by `COPY (query) TO STDOUT`: the server runs it as a plain query (in
        parallel where it may, which it does not for a cursor's) and sends text, not values
        for asyncpg to decode. `settings` (`work_mem` …) hold for this query only."""
        text, args = _arguments(sql, params)
        received: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)

        async def copy(conn: asyncpg.Connection) -> None:
            try:
                await conn.copy_from_query(text, *args, output=received.put, format="text", null="")
            except Exception:
                await received.put(None)  # wake the reader, which then finds the error
                raise
            await received.put(None)

        async with self.pool.acquire() as conn, conn.transaction():
            for name, value in (settings or {}).items():
                await conn.execute("SELECT set_config($1, $2, true)", name, value)
            copying = asyncio.create_task(copy(conn))
            try:
                rows: list[list[str]] = []
                rest = b""
                while (data := await received.get()) is not None:
                    data = rest + data
                    end = data.rfind(b"\n") + 1  # the next data ends the last row
                    rest = data[end:]
                    rows += _text_rows(data[:end].decode())
                    while len(rows) >= chunk:
                        yield rows[:chunk]
                        del rows[:chunk]
                await copying  # raises what stopped the copy
                if rows:
                    yield rows
            finally:
                if not copying.done():  # the reader stopped early: so does the server
                    copying.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await copying

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """asyncpg's DSN and server settings from a DATABASE_URL. `postgresql+asyncpg://` (the
    SQLAlchemy spelling) is accepted; query parameters asyncpg does not know (`search_path`,
    `application_name` …) become server settings."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    known = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "passfile"}
    query = parse_qsl(parts.query)
    kept = [(k, v) for k, v in query if k in known]
    settings = {k: v for k, v in query if k not in known}
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(kept), "")), settings
