"""`python -m bot run`: long polling until SIGINT/SIGTERM.

Start-up, in this order: the instance lock, the database, Telegram's getMe; a failure of any
is a StartupError of one line, and nothing is left running that would keep the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sqlite3

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)

from bot.app import App, build_app
from bot.config import Settings
from bot.dispatcher import register_commands
from bot.startup import StartupError, StopDuringStartUp, database_problem, take_instance_lock
from bot.storage.db import Database

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Once the process is built: what exists now (aiogram's ~200k type objects, the app)
    lives as long as the process, so keep it out of the cyclic collector's full passes.
    Without this each full pass walks all of it: ~0.2 s, nine times in a broadcast to 100k
    chats. Call once per process, after `build_app`, never in tests (frozen garbage stays)."""
    gc.collect()
    gc.freeze()


async def _open_app(settings: Settings) -> App:
    path = settings.database_path
    try:
        db = await Database.open(path)
    except (sqlite3.Error, OSError) as exc:
        raise database_problem(path, exc) from None
    try:
        return await build_app(settings, db=db)
    except BaseException:
        await db.close()  # its threads would keep the process alive
        raise


async def _check_telegram(app: App) -> None:
    """getMe under a short timeout: the token and the Bot API server, before anything else."""
    url, timeout = app.settings.telegram_api_url, app.settings.telegram_startup_timeout
    try:
        await asyncio.wait_for(app.bot.me(), timeout)
    except TelegramUnauthorizedError:
        raise StartupError(f"Telegram at {url} refused the token: check BOT_TOKEN") from None
    except TimeoutError:
        raise StartupError(
            f"Telegram at {url} did not answer within {timeout:g} s: "
            "check TELEGRAM_API_URL and the network"
        ) from None
    except TelegramNetworkError as exc:
        raise StartupError(f"cannot reach Telegram at {url}: {exc.message}") from None
    except TelegramAPIError as exc:
        raise StartupError(f"Telegram at {url} answered getMe with: {exc.message}") from None
    except ClientDecodeError:
        raise StartupError(
            f"{url} does not answer like a Bot API server: check TELEGRAM_API_URL"
        ) from None


async def _register_commands_or_warn(app: App) -> None:
    """The command menu is a nicety: a Telegram that fails or stalls here delays nothing."""
    timeout = app.settings.telegram_startup_timeout
    try:
        await asyncio.wait_for(
            register_commands(app.bot, app.core, app.settings.default_locale), timeout
        )
    except TelegramAPIError as exc:
        log.warning("could not register the command menu: %s", exc)
    except TimeoutError:
        log.warning("could not register the command menu: no answer within %g s", timeout)


async def run_polling(settings: Settings) -> None:
    stop = StopDuringStartUp()
    try:
        with contextlib.ExitStack() as stack:
            take_instance_lock(stack, settings.database_path)
            app = await _open_app(settings)
            try:
                await _check_telegram(app)
                await _register_commands_or_warn(app)
                settle_heap()
                await app.dispatcher.start_polling(
                    app.bot, handle_signals=True, close_bot_session=False
                )
            finally:
                await app.close()
    except asyncio.CancelledError:
        if stop.received is None:
            raise
        log.info("stopped by %s during start-up", stop.received.name)
