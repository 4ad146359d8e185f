"""Composition root: builds the Bot, the Dispatcher, storage and services from Settings."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram_i18n.cores import FluentRuntimeCore

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.domain.otp import OtpLimits
from bot.domain.windows import SubmissionWindow
from bot.handlers import get_routers
from bot.handlers.errors import ErrorAnswer
from bot.i18n import LOCALES, ChatLocaleManager, create_core, create_i18n_middleware
from bot.middlewares import retry_after
from bot.middlewares.activity import ChatActivityMiddleware, InFlightMiddleware
from bot.middlewares.chat_scope import FirstLanguage, PrivateChatsOnly
from bot.middlewares.conversation import ConversationFlushMiddleware
from bot.middlewares.leaving import WalkLeftMiddleware
from bot.scheduler import ReminderScheduler, create_scheduler
from bot.scheduler import on_shutdown as _stop_delivery
from bot.scheduler import on_startup as _start_delivery
from bot.services.broadcasts import BroadcastService
from bot.services.linking import LinkingService
from bot.services.reminders import ReminderService
from bot.services.sender import Pacer, Sender
from bot.services.submissions import SubmissionService
from bot.sms.base import SmsSender
from bot.sms.console import ConsoleSmsSender
from bot.sms.smsru import SmsRuSender
from bot.startup import (
    StartupError,
    StopDuringStartUp,
    database_problem,
    take_instance_lock,
)
from bot.storage.accounts import AccountRepository, MeterRepository
from bot.storage.chats import ChatRepository, LinkRepository
from bot.storage.db import Database
from bot.storage.deliveries import DeliveryRepository, RecipientRepository
from bot.storage.fsm import ChatIsolation, SqliteStorage
from bot.storage.otp import OtpRepository
from bot.storage.readings import ReadingRepository
from bot.uploads import TypedUploadSession

log = logging.getLogger(__name__)

PUBLIC_COMMANDS = (
    "start",
    "submit",
    "meters",
    "history",
    "accounts",
    "settings",
    "language",
    "help",
    "cancel",
    "forget",
)
# SIGTERM stops the process within 10 s (SPEC §9); the parts of the stop share that budget:
SHUTDOWN_GRACE_SECONDS = 5.0  # updates in hand finish
BACKGROUND_GRACE_SECONDS = 2.0  # SMS sends in flight record their outcome (else: 'sending')


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = TypedUploadSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "smsru":
        assert settings.smsru_api_id is not None
        return SmsRuSender(settings.smsru_api_id.get_secret_value(), settings.smsru_api_url)
    return ConsoleSmsSender()


@dataclass
class App:
    """Everything the bot is made of, built once per process."""

    settings: Settings
    db: Database
    clock: Clock
    bot: Bot
    sms: SmsSender
    core: FluentRuntimeCore
    accounts: AccountRepository
    meters: MeterRepository
    chats: ChatRepository
    links: LinkRepository
    codes: OtpRepository
    fsm_storage: SqliteStorage
    locales: ChatLocaleManager
    linking: LinkingService
    activity: ChatActivityMiddleware
    in_flight: InFlightMiddleware
    readings: ReadingRepository
    submissions: SubmissionService
    dispatcher: Dispatcher = field(init=False)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)
    # reminders and announcements (built in __post_init__ from the parts above)
    deliveries: DeliveryRepository = field(init=False)
    sender: Sender = field(init=False)
    reminders: ReminderService = field(init=False)
    broadcasts: BroadcastService = field(init=False)
    scheduler: ReminderScheduler = field(init=False)

    def __post_init__(self) -> None:
        self._build_delivery()
        self.dispatcher = create_dispatcher(self)

    def _build_delivery(self) -> None:
        self.deliveries = DeliveryRepository(self.db)
        recipients = RecipientRepository(self.db)
        self.sender = Sender(
            self.bot,
            self.deliveries,
            self.clock,
            Pacer(self.settings.broadcast_rate),
            on_blocked=self.activity.mark_inactive,
            quiet=self.settings.quiet,
            tz=self.settings.tz,
        )
        self.reminders = ReminderService(
            settings=self.settings,
            clock=self.clock,
            core=self.core,
            deliveries=self.deliveries,
            recipients=recipients,
            sender=self.sender,
        )
        self.broadcasts = BroadcastService(
            bot=self.bot,
            clock=self.clock,
            core=self.core,
            deliveries=self.deliveries,
            recipients=recipients,
            sender=self.sender,
            default_locale=self.settings.default_locale,
            tz=self.settings.tz,
        )
        self.scheduler = create_scheduler(self)

    def spawn(self, coro: Any) -> None:
        """Run a coroutine in the background, keeping a reference until it is done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        """Load translations; the dispatcher's startup would do it, jobs outside it need it too."""
        if not self.core.locales:
            await self.core.startup()

    async def close(self) -> None:
        if self._background:
            _, late = await asyncio.wait(self._background, timeout=BACKGROUND_GRACE_SECONDS)
            for task in late:  # a hung gateway must not hold the stop: the code stays counted
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.sender.close()
        await self.sms.close()
        await self.bot.session.close()
        await self.fsm_storage.close()  # conversations changed outside an update, if any
        await self.db.close()

    async def warn_admins(self, key: str, **kwargs: Any) -> None:
        for admin_id in self.settings.admin_ids:
            locale = await self.locales.stored_locale(admin_id) or self.settings.default_locale
            try:
                await self.bot.send_message(admin_id, self.core.get(key, locale, **kwargs))
            except TelegramAPIError as exc:
                log.warning("warning to admin %s failed: %s", admin_id, type(exc).__name__)


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session: BaseSession | None = None,
    sms: SmsSender | None = None,
    db: Database | None = None,
    core: FluentRuntimeCore | None = None,
) -> App:
    clock = clock or SystemClock()
    db = db or await Database.open(settings.database_path)
    chats = ChatRepository(db)
    accounts = AccountRepository(db)
    links = LinkRepository(db)
    codes = OtpRepository(db)
    sms = sms or create_sms_sender(settings)
    app_ref: list[App] = []
    readings = ReadingRepository(db)
    submissions = SubmissionService(
        accounts=accounts,
        meters=MeterRepository(db, settings.tz),
        readings=readings,
        links=links,
        clock=clock,
        tz=settings.tz,
        window=SubmissionWindow(settings.window_start_day, settings.window_end_day),
    )

    linking = LinkingService(
        accounts=accounts,
        links=links,
        codes=codes,
        sms=sms,
        clock=clock,
        limits=OtpLimits(
            ttl_seconds=settings.otp_ttl_seconds,
            max_attempts=settings.otp_max_attempts,
            resend_seconds=settings.otp_resend_seconds,
            daily_limit=settings.otp_daily_limit,
            daily_budget=settings.sms_daily_budget,
        ),
        key=settings.secret_key,
        account_pattern=settings.account_number_pattern,
        # SMS sends run in the background, kept and awaited at close by the App
        spawn=lambda coro: app_ref[0].spawn(coro),
        alert_admins=lambda key, **args: app_ref[0].warn_admins(key, **args),
    )
    app = App(
        settings=settings,
        db=db,
        clock=clock,
        bot=create_bot(settings, session),
        sms=sms,
        core=core or create_core(settings.default_locale),
        accounts=accounts,
        meters=MeterRepository(db, settings.tz),
        chats=chats,
        links=links,
        codes=codes,
        fsm_storage=SqliteStorage(db),
        locales=ChatLocaleManager(chats, clock, settings.default_locale),
        linking=linking,
        activity=ChatActivityMiddleware(chats),
        in_flight=InFlightMiddleware(),
        readings=readings,
        submissions=submissions,
    )
    app_ref.append(app)
    await app.start()
    return app


def create_dispatcher(app: App) -> Dispatcher:
    dp = Dispatcher(storage=app.fsm_storage, events_isolation=ChatIsolation())
    dp.update.outer_middleware(app.in_flight)
    retry_after.install(dp, app.bot)
    default_locale = app.settings.default_locale
    dp.update.outer_middleware(PrivateChatsOnly(app.chats, app.core, app.clock, default_locale))
    dp.update.outer_middleware(FirstLanguage(app.locales))
    dp.update.outer_middleware(ConversationFlushMiddleware(app.fsm_storage))
    create_i18n_middleware(app.core, app.locales, app.settings.default_locale).setup(dp)
    dp.update.outer_middleware(app.activity)
    dp.update.outer_middleware(WalkLeftMiddleware())  # after state and i18n: it uses both
    # services reach handlers by parameter name
    dp.workflow_data.update(
        app=app,
        settings=app.settings,
        clock=app.clock,
        db=app.db,
        accounts=app.accounts,
        meters=app.meters,
        chats=app.chats,
        links=app.links,
        linking=app.linking,
        locales=app.locales,
        fsm_storage=app.fsm_storage,
        reminders=app.reminders,
        broadcasts=app.broadcasts,
        readings=app.readings,
        submissions=app.submissions,
    )
    dp.include_routers(*get_routers())
    support = app.settings.support_contact
    dp.errors.register(ErrorAnswer(app.core, app.locales, default_locale, support).handle)
    dp.shutdown.register(_on_shutdown)
    dp.startup.register(_start_delivery)
    dp.shutdown.register(_stop_delivery)
    return dp


async def register_commands(app: App) -> None:
    for locale in LOCALES:
        commands = [
            BotCommand(command=name, description=app.core.get(f"cmd-{name}", locale))
            for name in PUBLIC_COMMANDS
        ]
        await app.bot.set_my_commands(commands, BotCommandScopeDefault(), language_code=locale)
        if locale == app.settings.default_locale:
            await app.bot.set_my_commands(commands, BotCommandScopeDefault())


async def _register_commands_or_warn(app: App) -> None:
    """The command menu is a nicety: a Telegram that fails or stalls here delays nothing."""
    try:
        await asyncio.wait_for(register_commands(app), app.settings.telegram_startup_timeout)
    except TelegramAPIError as exc:
        log.warning("could not register the command menu: %s", exc)
    except TimeoutError:
        log.warning(
            "could not register the command menu: no answer within %g s",
            app.settings.telegram_startup_timeout,
        )


async def _on_shutdown(app: App) -> None:
    if not await app.in_flight.drain(SHUTDOWN_GRACE_SECONDS):
        log.warning("stopped with updates still in hand after %.0f s", SHUTDOWN_GRACE_SECONDS)


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
    url = app.settings.telegram_api_url
    try:
        await asyncio.wait_for(app.bot.me(), app.settings.telegram_startup_timeout)
    except TelegramUnauthorizedError:
        raise StartupError(f"Telegram at {url} refused the token: check BOT_TOKEN") from None
    except TimeoutError:
        raise StartupError(
            f"Telegram at {url} did not answer within {app.settings.telegram_startup_timeout:g} s: "
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


async def run_polling(settings: Settings) -> None:
    """Long polling until SIGINT/SIGTERM.

    Start-up, in this order: the instance lock, the database, Telegram's getMe; a failure of
    any is a StartupError of one line, and nothing is left running that would keep the process.
    """
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
