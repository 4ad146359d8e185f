"""The import's stage: a scratch SQLite database of the rows that passed their own checks.

Between checking a file and writing it, its rows wait in a table here, so a million rows need
not sit in memory, and writing them to the bot's database is one INSERT ... SELECT a table and
batch (see ``bot.storage.imports``).

The scratch file holds phones and addresses, so it has a name only while the connections that
need it open it (this one, the writer process's, the bot database's ATTACH), before any row is
written: then :meth:`ImportStage.unlink` drops the name, and the kernel frees the file with the
last connection, however the process ends (SIGKILL included). Nothing is left in TMPDIR.

For a large file a process of its own fills the table while the file is still being checked:
handing it a batch costs the checking thread one ``marshal.dumps``, and the inserting runs on
the other core, not in this process, where it would wait for the GIL at every row.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import sqlite3
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# The meter's fields as the import writes them, in this order everywhere (see imports.py).
METER_FIELDS = (
    "resource",
    "tariffs",
    "digits",
    "verified_until",
    "window_start",
    "window_end",
    "last_t1",
    "last_t2",
    "last_t3",
    "last_date",
    "gis_meter_number",
)
# A staged row: ImportRow's fields, then True on the first row of its account in the file.
STAGE_COLUMNS = (
    "line",
    "number",
    "phone",
    "address",
    "serial",
    *METER_FIELDS,
    "els",
    "replaces",
    "first",
)
STAGE_TABLE = f"CREATE TABLE rows ({', '.join(STAGE_COLUMNS)})"
STAGE_ROW = f"INSERT INTO rows VALUES ({', '.join('?' * len(STAGE_COLUMNS))})"
STAGE_SKIP = "CREATE TABLE skip (line INTEGER PRIMARY KEY)"

# The rows a load writes (the lines in `skip` left out), by rowid: the row's rowid first, then
# LOAD_COLUMNS' values.
LOAD_COLUMNS = STAGE_COLUMNS[1:]
_TO_LOAD = (
    f"SELECT rowid, {', '.join(LOAD_COLUMNS)} FROM rows WHERE rowid BETWEEN ? AND ?"
    " AND line NOT IN (SELECT line FROM skip) ORDER BY rowid"
)

_ROWS_OF = (
    "SELECT line, number, serial FROM rows"
    " WHERE number IN (SELECT value FROM json_each(?)) ORDER BY rowid"
)

# The writer: a bare interpreter (no site-packages) that opens the stage, says so with one byte
# on stdout, then reads marshalled batches from stdin, each after its size, and inserts them;
# its own process, so its own GIL. Its stdin's end (the importer gone) ends it.
_WRITER = """
import marshal, sqlite3, struct, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode = OFF")
conn.execute("PRAGMA synchronous = OFF")
conn.execute("SELECT count(*) FROM rows").fetchall()
sys.stdout.buffer.write(b"R")
sys.stdout.buffer.flush()
read, size = sys.stdin.buffer.read, struct.Struct("<Q")
while head := read(size.size):
    rows = marshal.loads(read(size.unpack(head)[0]))
    conn.execute("BEGIN")
    conn.executemany(sys.argv[2], rows)
    conn.execute("COMMIT")
conn.close()
"""
_LENGTH = struct.Struct("<Q")
# A smaller file is staged here at the end: not worth a process (its ~50 ms to start).
STAGE_IN_PROCESS_ROWS = 20_000


class ImportStage:
    """The scratch table (see the module): ``write`` batches of rows, then read them back."""

    def __init__(self, expected_rows: int = 0) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="meter-import-"))
        self.path = self._dir / "stage.sqlite3"
        self._writer: subprocess.Popen[bytes] | None = None
        try:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: nothing to recover
            self._conn.execute("PRAGMA synchronous = OFF")
            self._conn.execute(STAGE_TABLE)
            self._conn.execute(STAGE_SKIP)
            if expected_rows >= STAGE_IN_PROCESS_ROWS:
                self._start_writer()
        except BaseException:
            self._drop_name()
            raise
        self._pending: list[list[tuple[Any, ...]]] | None = []  # None: flushed

    def _start_writer(self) -> None:
        self._writer = subprocess.Popen(
            [sys.executable, "-I", "-c", _WRITER, str(self.path), STAGE_ROW],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._writer.stdout is not None
        if self._writer.stdout.read(1) != b"R":  # it has the file open, or it failed
            self.flush()  # raises what stopped the writer
            raise RuntimeError("staging the rows failed: the writer did not start")

    def unlink(self) -> None:
        """Drop the scratch file's name (see the module): call once everything has opened it."""
        self._drop_name()

    def _drop_name(self) -> None:
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._dir.rmdir()

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        """Queue rows (STAGE_COLUMNS' values) for the table."""
        if not rows:
            return
        assert self._pending is not None, "the stage was flushed"
        if self._writer is None:
            self._pending.append(rows)  # a small file: staged in one go at the end
            return
        assert self._writer.stdin is not None
        try:
            data = marshal.dumps(rows)
            self._writer.stdin.write(_LENGTH.pack(len(data)) + data)
        except BrokenPipeError:
            self.flush()  # raises what stopped the writer
            raise

    def flush(self) -> None:
        """Wait until every row written is in the table; no more can be written after."""
        pending, self._pending = self._pending, None
        writer, self._writer = self._writer, None
        if writer is None:
            if pending:
                self._conn.execute("BEGIN")
                for batch in pending:
                    self._conn.executemany(STAGE_ROW, batch)
                self._conn.execute("COMMIT")
            return
        _, stderr = writer.communicate()
        if writer.returncode:
            message = stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"staging the rows failed: {message[-1] if message else '?'}")

    def rows_of(self, numbers: Iterable[str]) -> Iterator[tuple[int, str, str]]:
        """(line, account, serial) of those accounts' rows, in file order."""
        self.flush()
        yield from self._conn.execute(_ROWS_OF, (json.dumps(list(numbers)),))

    def skip(self, lines: Iterable[int]) -> None:
        """Lines the import leaves out (rows that failed a check across rows)."""
        self.flush()
        self._conn.executemany("INSERT OR IGNORE INTO skip VALUES (?)", ((n,) for n in lines))

    def to_load(self, first: int, last: int) -> list[tuple[Any, ...]]:
        """The rows ``first``..``last`` (rowids) that are not skipped: rowid, then LOAD_COLUMNS'
        values."""
        self.flush()
        return self._conn.execute(_TO_LOAD, (first, last)).fetchall()

    def last_row(self) -> int:
        """The number of rows staged (rowids run 1..this)."""
        self.flush()
        [[last]] = self._conn.execute("SELECT coalesce(max(rowid), 0) FROM rows")
        return int(last)

    def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.kill()
            writer.communicate()
        self._conn.close()
        self._drop_name()


@contextlib.contextmanager
def scratch_stage(expected_rows: int = 0) -> Iterator[ImportStage]:
    """A stage nothing else opens (checking a file without importing it), nameless at once."""
    stage = ImportStage(expected_rows)
    try:
        stage.unlink()
        yield stage
    finally:
        stage.close()
