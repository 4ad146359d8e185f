"""How `run` starts, or refuses to: one line saying why, never a traceback (SPEC §9, §12).

`preflight` makes the cheap checks (another bot on this database, a database that does not
open) before the seconds it takes to import aiogram; `run_bot` makes them again for real,
holding the lock for the life of the process, then asks Telegram. A stop signal cancels the
start-up at any point of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bot.storage.instance_lock import InstanceLockHeld, hold_instance_lock
from bot.storage.schema_version import SchemaOutdated
from bot.storage.sqlite import probe


class StartupError(Exception):
    """The bot cannot start; the message is one line saying why."""


def take_instance_lock(
    stack: contextlib.ExitStack | contextlib.AsyncExitStack, database: Path
) -> None:
    """Hold the database's instance lock until `stack` closes."""
    try:
        stack.enter_context(hold_instance_lock(database))
    except InstanceLockHeld as exc:
        raise StartupError(str(exc)) from None
    except OSError as exc:
        raise StartupError(f"cannot take the lock beside the database: {exc}") from None


async def take_database_instance_lock(stack: contextlib.AsyncExitStack, url: str) -> None:
    """PostgreSQL without REDIS_URL: one process per database (SPEC §12), held until `stack`
    closes; a second one is refused in one line."""
    from bot.leadership.advisory_locks import hold_database_instance_lock  # asyncpg: only here

    try:
        await stack.enter_async_context(hold_database_instance_lock(url))
    except InstanceLockHeld as exc:
        raise StartupError(str(exc)) from None
    except Exception as exc:  # OSError, asyncpg's errors, a connect that timed out
        raise StartupError(
            f"cannot reach the database for its instance lock: {str(exc) or type(exc).__name__}"
        ) from None


def where(url: str) -> str:
    """The database a URL names, for a message: the file, or host/database without the
    password."""
    if url.startswith("sqlite:"):
        return url.removeprefix("sqlite:///")
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL {parts.username or ''}@{host}{port}{parts.path}".replace(" @", " ")


def database_problem(url: str, exc: BaseException, setting: str = "DATABASE_URL") -> str:
    """One line: why the database at `url` (given by `setting`) cannot be used (never the
    password)."""
    if isinstance(exc, SchemaOutdated):
        return str(exc)
    if url.startswith("sqlite:") and Path(where(url)).is_dir():
        reason = "it is a directory"
    else:
        reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"the database {where(url)} is unusable: {reason} ({setting})"


def database_errors() -> tuple[type[BaseException], ...]:
    """What opening a database raises when it cannot be used: a file that is not one, a
    server that does not answer or refuses us, a schema older than this version. (asyncpg's
    errors only once it is imported: it is, where DATABASE_URL names PostgreSQL.)"""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error, OSError, SchemaOutdated)
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is not None:
        errors += (asyncpg.PostgresError, asyncpg.InterfaceError)
    return errors


def preflight(database: Path) -> None:
    with contextlib.ExitStack() as stack:
        take_instance_lock(stack, database)
        try:
            probe(str(database))
        except (sqlite3.Error, OSError) as exc:
            raise StartupError(database_problem(f"sqlite:///{database}", exc)) from None


class StopDuringStartUp:
    """SIGINT/SIGTERM from the first moment of `run`: until the bot serves they cancel the
    start-up (a Telegram that never answers must not make the bot deaf); once it serves,
    aiogram's own handlers (polling) or bot/run.py's (webhook) replace these and stop after
    the updates in hand."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self._cancel, signum)

    def _cancel(self, signum: signal.Signals) -> None:
        if self.received is None and self._task is not None:
            self.received = signum
            self._task.cancel()
