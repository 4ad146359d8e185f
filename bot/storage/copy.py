"""`python -m bot copy-db --to URL` (SPEC §3): every table of one database into another, on
either engine, then both compared table by table.

- The target is a new database at this version's schema (`open_database` creates it) and must
  hold no rows beyond those it was created with; alembic_version is not copied (the target
  has its own, equal revision).
- Tables go in foreign-key order (schema.py's `metadata.sorted_tables`), rows with their ids,
  in batches: COPY into PostgreSQL, executemany into SQLite, all in one transaction of the
  target, so a copy that fails leaves it as empty as it was. PostgreSQL's identities are then
  set past the largest id copied (`align_identities`).
- The check reads both sides again: per table the row count and a SHA-256 over each row's
  canonical text, rows in primary-key order (text keys compared byte-wise on both engines),
  values normalised so that the same value reads the same from either driver.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Table, Text

from bot.storage.db import Database, Executor, IntegrityViolation, Row
from bot.storage.postgres import PostgresTx
from bot.storage.schema import metadata

BATCH = 10_000
PROGRESS_FROM = 50_000  # rows: a smaller table is copied before anyone reads a progress line
TABLES: tuple[Table, ...] = tuple(metadata.sorted_tables)

# Rows a new database is created with (schema_version.creation_ddl): not "rows it holds".
_CREATED_WITH = {"otp_gate": "reservations = 0"}

# What a copy may meet: a row the target refuses (a constraint, a value of another type), a
# server or a file gone.
_FAILURES = (
    IntegrityViolation,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
)

# (table, rows copied so far, rows in the table)
Progress = Callable[[str, int, int], None]


class CopyRefused(Exception):
    """The copy was not made; the message is one line saying why."""


class TargetNotEmpty(CopyRefused):
    """The target database already holds rows; the message names the tables."""


@dataclass(frozen=True)
class TableCheck:
    """One table on both sides: row count and checksum."""

    table: str
    source_rows: int
    target_rows: int
    source_sum: str
    target_sum: str

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sum == self.target_sum


async def copy_database(
    source: Database, target: Database, progress: Progress | None = None
) -> list[TableCheck]:
    """Copy every table of `source` into the empty `target`, then compare them. Raises
    CopyRefused when the target holds rows or a row is refused (the target left as it was)."""
    await refuse_unless_empty(target)
    await copy_tables(source, target, progress)
    await align_identities(target)
    return await compare(source, target)


async def refuse_unless_empty(target: Database) -> None:
    held = []
    for table in TABLES:
        created = _CREATED_WITH.get(table.name)
        where = f" WHERE NOT ({created})" if created else ""
        count = await target.fetchval(f"SELECT count(*) FROM {table.name}{where}")
        if count:
            held.append(f"{table.name} ({count:,})")
    if held:
        raise TargetNotEmpty(
            f"the target database already holds rows: {', '.join(held)};"
            " copy-db fills only a new, empty database"
        )


async def copy_tables(source: Database, target: Database, progress: Progress | None = None) -> None:
    """Every table's rows, with their ids, in one transaction of the target: a failure
    (CopyRefused, naming the table) leaves the target as it was."""
    async with target.transaction() as tx:
        for table in reversed(TABLES):  # the rows it was created with make way
            if table.name in _CREATED_WITH:
                await tx.execute(f"DELETE FROM {table.name}")
        for table in TABLES:
            try:
                await _copy_table(source, tx, table, progress)
            except _FAILURES as exc:
                reason = " ".join(str(exc).split()) or type(exc).__name__
                raise CopyRefused(
                    f"the copy failed at table {table.name} and was undone: {reason}"
                ) from exc


async def _copy_table(
    source: Database, tx: Executor, table: Table, progress: Progress | None
) -> None:
    total = await source.fetchval(f"SELECT count(*) FROM {table.name}")
    columns = [column.name for column in table.columns]
    done = 0
    select = f"SELECT {', '.join(columns)} FROM {table.name}"
    async for rows in source.stream(select, chunk=BATCH):
        await _insert(tx, table.name, columns, [tuple(row) for row in rows])
        done += len(rows)
        if progress is not None and total >= PROGRESS_FROM:
            progress(table.name, done, max(total, done))


async def _insert(
    tx: Executor, table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    if isinstance(tx, PostgresTx):
        await tx.copy_records(table, columns, rows)
        return
    marks = ", ".join("?" for _ in columns)
    await tx.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


async def align_identities(db: Executor) -> None:
    """On PostgreSQL, set each table's identity sequence past its largest id: rows written
    with their ids (a copy, a test's direct INSERT) leave it behind, and the next insert
    would collide. SQLite's row ids follow the largest one by themselves."""
    if not db.dialect.postgres:
        return
    for table in TABLES:
        column = table.autoincrement_column
        if column is None:
            continue
        await db.fetchval(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'),"
            f" coalesce(max({column.name}), 0) + 1, false) FROM {table.name}"
        )


async def compare(source: Database, target: Database) -> list[TableCheck]:
    """Row count and checksum of every table on both sides (each side read concurrently)."""
    checks = []
    for table in TABLES:
        (source_rows, source_sum), (target_rows, target_sum) = await asyncio.gather(
            checksum(source, table), checksum(target, table)
        )
        checks.append(TableCheck(table.name, source_rows, target_rows, source_sum, target_sum))
    return checks


async def checksum(db: Database, table: Table) -> tuple[int, str]:
    """(rows, SHA-256 of their canonical text in primary-key order), streamed."""
    order = ", ".join(
        f'{column.name} COLLATE "C"'
        if db.dialect.postgres and isinstance(column.type, Text)
        else column.name  # SQLite compares text byte-wise (BINARY), as "C" does
        for column in table.primary_key.columns
    )
    columns = ", ".join(column.name for column in table.columns)
    digest = hashlib.sha256()
    count = 0
    async for rows in db.stream(
        f"SELECT {columns} FROM {table.name} ORDER BY {order}", chunk=BATCH
    ):
        for row in rows:
            digest.update(canonical(row))
        count += len(rows)
    return count, digest.hexdigest()


def canonical(row: Row | Sequence[Any]) -> bytes:
    """One row as text that does not depend on the driver that read it: a JSON array, one
    line; True is 1, a whole float is its integer, bytes are hex; '' and NULL stay apart."""
    return json.dumps([_value(value) for value in row], separators=(",", ":")).encode() + b"\n"


def _value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def format_checks(checks: list[TableCheck]) -> str:
    """The comparison as a table, one line per table, then the outcome."""
    lines = [
        f"{'table':<22} {'rows':>12} {'rows (copy)':>12}  {'checksum':<16}  {'(copy)':<16}",
    ]
    for check in checks:
        lines.append(
            f"{check.table:<22} {check.source_rows:>12,} {check.target_rows:>12,}"
            f"  {check.source_sum[:16]}  {check.target_sum[:16]}"
            f"  {'ok' if check.matches else 'DIFFERS'}"
        )
    return "\n".join(lines)
