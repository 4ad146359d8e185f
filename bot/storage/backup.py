"""A consistent copy of an SQLite database while the bot writes to it (SPEC §3 `backup`).

SQLite's online backup API copies every page inside one read transaction: with WAL (the
bot's journal mode) that is a snapshot of the last commit, and the bot's writers go on
meanwhile. The copy is written beside the target, checked (`PRAGMA quick_check`), switched to
a rollback journal (a lone file, nothing beside it to lose), flushed to disk, and only then
renamed into place: a backup that exists is a whole one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30.0  # a writer checkpointing the WAL can hold the start back briefly


class BackupFailed(Exception):
    """The copy could not be made or did not check out; nothing was left at the target."""


@dataclass(frozen=True)
class BackupMade:
    path: Path
    size: int  # bytes
    revision: str
    readings: int


def backup_sqlite(source: Path, target: Path) -> BackupMade:
    # a name of its own: two backups at once to one FILE must not write one partial file
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as exc:  # a folder it may not write to
        raise BackupFailed(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(handle)
    partial = Path(name)  # readable by its owner only, as the database's rows deserve
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as src,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            src.backup(copy)  # all pages in one step: one read transaction, one snapshot
            copy.execute("PRAGMA journal_mode = DELETE")
            if (check := copy.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
                raise BackupFailed(f"the copy does not check out: {check}")
            revision = str(copy.execute("SELECT version_num FROM alembic_version").fetchone()[0])
            readings = int(copy.execute("SELECT count(*) FROM readings").fetchone()[0])
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:
        raise BackupFailed(str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupMade(target, target.stat().st_size, revision, readings)
