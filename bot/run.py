"""`python -m bot run`: the bot until SIGINT/SIGTERM, by long polling or by webhook (RUN_MODE).

Start-up, in this order, in both modes: the instance lock, the database, Telegram's getMe, the
command menu, then the HTTP server (bot/web.py: health, metrics, and the webhook in webhook
mode). A failure of any is a StartupError of one line, and nothing is left running that would
keep the process. The server listens last: a webhook update answered by a process that then
fails to start would be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable
from typing import TypeVar

from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)

from bot import scheduler
from bot.app import BACKGROUND_GRACE_SECONDS, App, build_app, settle_heap
from bot.config import Settings
from bot.dispatcher import SHUTDOWN_GRACE_SECONDS, register_commands
from bot.services import outbox
from bot.startup import (
    StartupError,
    StopDuringStartUp,
    database_errors,
    database_problem,
    take_database_instance_lock,
    take_instance_lock,
)
from bot.storage.engines import open_database
from bot.storage.sqlite import SqliteDatabase
from bot.updates_in_hand import UNWIND_SECONDS
from bot.web import REQUESTS_GRACE_SECONDS, HttpServer

log = logging.getLogger(__name__)

T = TypeVar("T")

REDIS_STARTUP_TIMEOUT = 5.0  # seconds Redis has to answer a PING at start
# The longest a SIGINT/SIGTERM stop takes, each part at its limit one after another: webhook
# requests, the updates in hand and their unwinding, billing posts, announcements, SMS sends.
# A supervisor must wait longer before it kills (compose.yaml, deploy/meterbot.service).
STOP_BUDGET_SECONDS = (
    REQUESTS_GRACE_SECONDS
    + SHUTDOWN_GRACE_SECONDS
    + UNWIND_SECONDS
    + outbox.STOP_GRACE_SECONDS
    + scheduler.STOP_GRACE_SECONDS
    + BACKGROUND_GRACE_SECONDS
)


async def _open_app(settings: Settings) -> App:
    try:
        db = await open_database(settings.database_url)
    except database_errors() as exc:
        raise StartupError(database_problem(settings.database_url, exc)) from None
    try:
        return await build_app(settings, db=db)
    except BaseException:
        await db.close()  # its threads would keep the process alive
        raise


async def ask_telegram(settings: Settings, call: Awaitable[T], what: str) -> T:
    """One Bot API call under TELEGRAM_STARTUP_TIMEOUT; any failure is one line saying why."""
    url, timeout = settings.telegram_api_url, settings.telegram_startup_timeout
    try:
        return await asyncio.wait_for(call, timeout)
    except TelegramUnauthorizedError:
        raise StartupError(f"Telegram at {url} refused the token: check BOT_TOKEN") from None
    except TimeoutError:
        raise StartupError(
            f"Telegram at {url} did not answer within {timeout:g} s ({what}): "
            "check TELEGRAM_API_URL and the network"
        ) from None
    except TelegramNetworkError as exc:
        raise StartupError(f"cannot reach Telegram at {url}: {exc.message}") from None
    except TelegramAPIError as exc:
        raise StartupError(f"Telegram at {url} answered {what} with: {exc.message}") from None
    except ClientDecodeError:
        raise StartupError(
            f"{url} does not answer like a Bot API server: check TELEGRAM_API_URL"
        ) from None


async def check_conversations(app: App) -> None:
    """With REDIS_URL, Redis must answer before the bot serves: no update can be handled
    without the conversation and the chat's lock it keeps."""
    if app.settings.redis is None:
        return
    from redis.exceptions import RedisError

    from bot.storage.redis_fsm import RedisConversations

    fsm = app.storage.fsm
    assert isinstance(fsm, RedisConversations)
    try:
        await asyncio.wait_for(fsm.ping(), REDIS_STARTUP_TIMEOUT)
    except TimeoutError:
        raise StartupError(
            f"Redis at {fsm.address} did not answer within {REDIS_STARTUP_TIMEOUT:g} s (REDIS_URL)"
        ) from None
    except RedisError as exc:
        raise StartupError(f"cannot use Redis at {fsm.address}: {exc} (REDIS_URL)") from None


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


async def check_webhook(app: App, *, delete_webhook: bool) -> None:
    """Polling gets nothing while a webhook is set (Telegram refuses getUpdates); webhook
    mode gets nothing unless Telegram's webhook is ours. Polling refuses to start beside a
    webhook unless told to delete it: that webhook may be another installation's live one."""
    settings = app.settings
    info = await ask_telegram(settings, app.bot.get_webhook_info(), "getWebhookInfo")
    if settings.run_mode == "webhook":
        if info.url != settings.webhook_url:
            log.warning(
                "Telegram posts updates to %r, not to WEBHOOK_URL: run `python -m bot set-webhook`",
                info.url or "nowhere (no webhook set)",
            )
        return
    if not info.url:
        return
    if not delete_webhook:
        raise StartupError(
            f"a webhook is set ({info.url}): Telegram refuses polling while it is; run with "
            "RUN_MODE=webhook, or delete it with `python -m bot run --delete-webhook`"
        )
    await ask_telegram(settings, app.bot.delete_webhook(), "deleteWebhook")
    log.warning("deleted the webhook %s: polling from now on", info.url)


async def run_bot(settings: Settings, *, delete_webhook: bool = False) -> None:
    stop = StopDuringStartUp()
    try:
        async with contextlib.AsyncExitStack() as stack:
            # one process per database, unless conversations live in Redis (SPEC §12): a
            # lock beside a SQLite file (whatever REDIS_URL says), an advisory lock on PostgreSQL
            if not settings.on_postgres:
                take_instance_lock(stack, settings.database_path)
            elif settings.redis is None:
                await take_database_instance_lock(stack, settings.database_url)
            app = await _open_app(settings)
            if warning := settings.broadcast_warning:
                log.warning("%s", warning)
            try:
                await check_conversations(app)
                await ask_telegram(settings, app.bot.me(), "getMe")
                await _register_commands_or_warn(app)
                await check_webhook(app, delete_webhook=delete_webhook)
                settle_heap()
                if settings.run_mode == "webhook":
                    await _serve_webhook(app)
                else:
                    await _poll(app)
            finally:
                await app.close()
    except asyncio.CancelledError:
        if stop.received is None:
            raise
        log.info("stopped by %s during start-up", stop.received.name)


async def _poll(app: App) -> None:
    server = HttpServer(app, webhook=False)
    await server.start()
    try:
        # aiogram's own signal handlers from here: stop polling, then the shutdown hooks
        await app.dispatcher.start_polling(app.bot, handle_signals=True, close_bot_session=False)
    finally:
        await server.stop()


async def _serve_webhook(app: App) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await serve_webhook(app, stopping)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def serve_webhook(app: App, stopping: asyncio.Event) -> None:
    """Until `stopping` is set (SIGINT/SIGTERM): then no new request, the updates in hand
    finished (the dispatcher's `emit_shutdown`), then the App closes; within STOP_BUDGET_SECONDS."""
    dp = app.dispatcher
    workflow = {"dispatcher": dp, "bots": [app.bot], **dp.workflow_data}
    server = HttpServer(app, webhook=True)
    await server.start()
    try:
        await dp.emit_startup(bot=app.bot, **workflow)
    except BaseException:
        await server.stop()
        raise
    try:
        await stopping.wait()
        log.info(
            "stopping: no new requests, finishing the updates in hand (within %g s)",
            STOP_BUDGET_SECONDS,
        )
    finally:
        await server.stop()
        await dp.emit_shutdown(bot=app.bot, **workflow)


async def set_webhook(settings: Settings) -> list[str]:
    """`python -m bot set-webhook`: Telegram posts to WEBHOOK_URL with WEBHOOK_SECRET, only the
    update types the dispatcher handles; pending updates are kept. Returns those types.

    The App is built as `run` builds it, so the update types cannot drift from its dispatcher,
    over a database never opened: building asks nothing of it, and no file is made or needed."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    app = await build_app(settings, db=SqliteDatabase(":memory:"))
    try:
        updates = app.dispatcher.resolve_used_update_types()
        call = app.bot.set_webhook(
            settings.webhook_url,
            allowed_updates=updates,
            drop_pending_updates=False,
            secret_token=settings.webhook_secret.get_secret_value(),
        )
        await ask_telegram(settings, call, "setWebhook")
    finally:
        await app.close()
    return updates
