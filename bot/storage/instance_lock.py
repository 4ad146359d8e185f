"""One running bot per SQLite file (SPEC §12): a lock file beside the database.

Two bots on one file would each keep their own conversations in memory and answer each other's
residents with "this button no longer works"; both would also long-poll the same token. `run`
holds an exclusive `flock` on `<database>.lock` for its whole life. The kernel releases it when
the process ends, however it ends (SIGKILL included), so a stale lock file is never a problem
and is never deleted. Offline commands (import, export, stats, send-reminders) do not take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path


class InstanceLockHeld(Exception):
    """Another process holds the database's lock; the message is one line saying so."""


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextlib.contextmanager
def hold_instance_lock(database: Path) -> Iterator[Path]:
    """Hold `<database>.lock` until the block ends (or the process does).

    Raises InstanceLockHeld when another process holds it, OSError when it cannot be created.
    """
    path = lock_path_for(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise InstanceLockHeld(
                f"another bot process{who} is already running on {database} "
                f"(it holds {path}); stop it first, or give this one its own DATABASE_URL"
            ) from None
        # the holder's pid, for the refusal above and for the operator
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def hold_instance_locks(databases: Iterable[Path]) -> Iterator[None]:
    """Hold the lock of each SQLite file (copy-db: neither side written by a bot meanwhile).

    Raises InstanceLockHeld when another process holds one of them."""
    with contextlib.ExitStack() as stack:
        for database in databases:
            stack.enter_context(hold_instance_lock(database))
        yield
