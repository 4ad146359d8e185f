"""SQLite connection: WAL, busy timeout, foreign keys, numbered migrations.

One writer connection guarded by an asyncio lock (SQLite has one writer anyway) and one reader
connection, so reads never see another coroutine's uncommitted transaction.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Mapping[str, Any] | Sequence[Any]
BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("bot.storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


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


async def _discard(conn: aiosqlite.Connection) -> None:
    """Close a connection that failed: its thread is not a daemon, and one left running keeps
    the process alive after everything else has ended."""
    with suppress(Exception):
        await conn.close()  # stops the thread even when closing the file fails


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        db = cls(path)
        await db.connect()
        return db

    async def connect(self) -> None:
        """Open, switch to WAL and migrate; on any failure nothing is left open."""
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(probe, self.path)
        try:
            self._writer = await _open(self.path)
            await self._writer.execute("PRAGMA journal_mode = WAL")
            await self._migrate()
            self._reader = self._writer if self.path == ":memory:" else await _open(self.path)
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

    async def __aenter__(self) -> Database:
        if self._writer is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _migrate(self) -> None:
        assert self._writer is not None
        async with self._writer.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = row[0] if row else 0
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            # executescript commits first; the version bump rides in the same script.
            await self._writer.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def ping(self) -> None:
        """A trivial read that proves the database answers (`/readyz`); raises when not."""
        await self.fetchval("SELECT count(*) FROM sqlite_master")

    @property
    def reader(self) -> aiosqlite.Connection:
        assert self._reader is not None, "database is not connected"
        return self._reader

    # execute_fetchall is one trip to the connection's thread; a cursor would take three.
    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        rows = await self.reader.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await self.reader.execute_fetchall(sql, params))

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement (autocommit: its own transaction); lastrowid or rowcount."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            cursor = await self._writer.execute(sql, params)
            # the cursor is left to the garbage collector: closing it is one more thread trip
            result = cursor.lastrowid if sql.lstrip()[:6].upper() == "INSERT" else cursor.rowcount
            return result or 0

    async def write_fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        """One write statement that returns rows (INSERT … RETURNING): one thread trip."""
        assert self._writer is not None, "database is not connected"
        async with self._write_lock:
            return list(await self._writer.execute_fetchall(sql, params))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)
