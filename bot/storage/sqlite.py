"""The SQLite driver (aiosqlite): WAL, busy timeout, foreign keys.

One writer connection guarded by an asyncio lock (SQLite has one writer anyway) and one reader
connection, so reads never see another coroutine's uncommitted transaction.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import aiosqlite

from bot.storage.db import Executor, IntegrityViolation, Params, Row, ViolationKind
from bot.storage.dialect import SQLITE, Dialect

BUSY_TIMEOUT_MS = 5000


async def _open(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        await _discard(conn)
        raise
    return conn


def probe(path: str) -> None:
    """Open and read the file once with plain sqlite3: a directory, a file that is not a
    database or one we may not open fails here, leaving nothing running. (A failed aiosqlite
    connect leaves its thread to finish after the event loop has closed, with a traceback.)"""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA schema_version")
    finally:
        conn.close()


class DatabaseFileGone(OSError):
    """The database's path holds another file than the one the connections have open."""


def _file_identity(path: str) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def _still_there(path: str, identity: tuple[int, int]) -> None:
    """Raises when the file at `path` is missing, unreadable or not the one opened."""
    with open(path, "rb") as file:  # PermissionError when made unreadable
        found = os.fstat(file.fileno())
    if (found.st_dev, found.st_ino) != identity:
        raise DatabaseFileGone(f"{path} was replaced")


async def _discard(conn: aiosqlite.Connection) -> None:
    """Close a connection that failed: its thread is not a daemon, and one left running keeps
    the process alive after everything else has ended."""
    with suppress(Exception):
        await conn.close()  # stops the thread even when closing the file fails


_VIOLATIONS: dict[str, ViolationKind] = {
    "SQLITE_CONSTRAINT_UNIQUE": "unique",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign_key",
    "SQLITE_CONSTRAINT_CHECK": "check",
    "SQLITE_CONSTRAINT_NOTNULL": "not_null",
}


@contextmanager
def _violations() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as exc:
        kind = _VIOLATIONS.get(exc.sqlite_errorname, "other")
        raise IntegrityViolation(kind, str(exc)) from exc


class SqliteTx(Executor):
    """The writer connection inside one transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        with _violations():
            return list(await self._conn.execute_fetchall(sql, params or {}))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        return next(iter(await self.fetchall(sql, params)), None)

    async def fetchval(self, sql: str, params: Params | None = None) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params | None = None) -> int:
        with _violations():
            cursor = await self._conn.execute(sql, params or {})
        # the cursor is left to the garbage collector: closing it is one more thread trip
        return max(cursor.rowcount, 0)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with _violations():
            await self._conn.executemany(sql, rows)

    async def executescript(self, script: str) -> None:
        await self._conn.executescript(script)


class SqliteDatabase:
    """One writer connection guarded by an asyncio lock (SQLite has one writer anyway) and one
    reader connection, so reads never see another coroutine's uncommitted transaction."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._identity: tuple[int, int] | None = None  # the file opened (device, inode)
        self._write_lock = asyncio.Lock()

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @classmethod
    async def open(cls, path: Path | str) -> SqliteDatabase:
        db = cls(path)
        await db.connect()
        return db

    async def connect(self) -> None:
        """Open and switch to WAL; on any failure nothing is left open."""
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(probe, self.path)
        try:
            self._writer = await _open(self.path)
            await self._writer.execute("PRAGMA journal_mode = WAL")
            if self.path == ":memory:":
                self._reader = self._writer
                return
            [[version]] = await self._writer.execute_fetchall("PRAGMA schema_version")
            if not version:
                # a new, empty file: a second connection to it in WAL mode fails with
                # "database is locked" until the first one has written to it once
                await self._writer.execute("PRAGMA user_version = 0")
            self._reader = await _open(self.path)
            self._identity = _file_identity(self.path)
        except BaseException:
            for conn in (self._writer, self._reader):
                if conn is not None:
                    await _discard(conn)
            self._reader = self._writer = None
            raise

    async def close(self) -> None:
        connections = {id(c): c for c in (self._reader, self._writer) if c}.values()
        self._reader = self._writer = None
        failures = []
        for conn in connections:  # each one, even when an earlier one fails to close
            try:
                await conn.close()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    async def __aenter__(self) -> SqliteDatabase:
        if self._writer is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def run_script(self, script: str) -> None:
        """Several statements as one write transaction (the numbered scripts of old files)."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            # executescript commits first; the script's own BEGIN … COMMIT makes it one
            await self._writer.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")

    async def ping(self) -> None:
        """The reader answers, and the path still holds the file it has open, readable: open
        connections carry on over a file deleted, replaced or made unreadable, but what they
        write then is lost to the next start. The file is looked at, not opened with SQLite,
        which could checkpoint this database's WAL into another file at the same path."""
        if self._identity is not None:
            await asyncio.to_thread(_still_there, self.path, self._identity)
        await self.fetchval("SELECT count(*) FROM sqlite_master")

    @property
    def reader(self) -> aiosqlite.Connection:
        assert self._reader is not None, "database is not connected"
        return self._reader

    # execute_fetchall is one trip to the connection's thread; a cursor would take three.
    async def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return list(await self.reader.execute_fetchall(sql, params or {}))

    async def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        return next(iter(await self.reader.execute_fetchall(sql, params or {})), None)

    async def fetchval(self, sql: str, params: Params | None = None) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        """A write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """One write statement (autocommit: its own transaction); the rows it changed."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            return await SqliteTx(self._writer).execute(sql, params)

    async def write_fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        """One write statement that returns rows (INSERT … RETURNING): one thread trip."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            return await SqliteTx(self._writer).fetchall(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    async def stream(
        self, sql: str, params: Params | None = None, chunk: int = 10_000
    ) -> AsyncGenerator[Sequence[Row], None]:
        async with self.reader.execute(sql, params or {}) as cursor:
            while rows := list(await cursor.fetchmany(chunk)):
                yield rows
