"""Which process holds a claimed delivery, and whether that process is still alive.

`DeliveryOwner` is what the sender asks; `ProcessOwner` answers it on SQLite,
bot/leadership/advisory_locks.py's `PostgresOwner` on PostgreSQL (advisory locks).

On SQLite, each process that claims deliveries holds an exclusive flock on a file of its own,
named after its token, next to the database. The kernel drops the lock when the process ends
in any way, SIGKILL included, so a file that another process can lock belongs to a dead
holder, and a row it holds can be resolved. No pid is compared: pids are reused, and differ
between containers that share the database's folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

_TOKEN = re.compile(r"[0-9a-f]{1,16}-[0-9a-f]{16}")


class DeliveryOwner(Protocol):
    """This process's token, written on every delivery its runs claim, and the liveness of
    the process behind any token."""

    @property
    def token(self) -> str: ...

    def hold(self) -> None:
        """Hold this process's mark of life before its first claim; idempotent."""

    async def alive(self, token: str | None) -> bool:
        """False for a holder that is gone (or a row from before owners were recorded)."""
        ...

    def release(self) -> None:
        """A clean stop: the mark of life goes (the runs settled their rows)."""


class ProcessOwner:
    def __init__(self, folder: Path | None) -> None:
        """`folder` None: an in-memory database, which no other process can see."""
        self.token = f"{os.getpid():x}-{secrets.token_hex(8)}"
        self.folder = folder
        self._fd: int | None = None

    def _path(self, token: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{token}.lock"

    def hold(self) -> None:
        """Take this process's lock (before its first claim); idempotent."""
        if self._fd is not None or self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(self.token), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd = fd

    async def alive(self, token: str | None) -> bool:
        """False for a holder that is gone (or a row from before owners were recorded)."""
        if token == self.token:
            return True
        if token is None or self.folder is None or not _TOKEN.fullmatch(token):
            return False
        path = self._path(token)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return False
        finally:
            os.close(fd)

    def release(self) -> None:
        """A clean stop: the file goes (its rows were settled by the runs)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self._path(self.token).unlink()
        os.close(self._fd)
        self._fd = None
