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
from pathlib import Path

from bot.storage.db import probe
from bot.storage.instance_lock import InstanceLockHeld, hold_instance_lock


class StartupError(Exception):
    """The bot cannot start; the message is one line saying why."""


def take_instance_lock(stack: contextlib.ExitStack, database: Path) -> None:
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


def database_problem(database: Path, exc: Exception) -> StartupError:
    reason = "it is a directory" if database.is_dir() else str(exc) or type(exc).__name__
    return StartupError(f"the database {database} is unusable: {reason} (DATABASE_URL)")


def preflight(database: Path) -> None:
    with contextlib.ExitStack() as stack:
        take_instance_lock(stack, database)
        try:
            probe(str(database))
        except (sqlite3.Error, OSError) as exc:
            raise database_problem(database, exc) from None


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
