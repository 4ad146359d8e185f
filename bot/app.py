"""Composition root: everything the bot is made of, built once per process from Settings.

`build_app` builds the parts in the order they depend on each other, bottom up: the storage
(repositories over one database), the outbound side that talks to Telegram
(bot/notifications), the services, then the Dispatcher that hands the services to handlers by
parameter name. Nothing built here knows the `App`; the `App` only holds the parts, for the
process that runs them (bot/run.py, the command line, the tests) and for `close`.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.background import Background
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.containers import Delivery, Services, Storage
from bot.dispatcher import DrainingDispatcher, create_dispatcher
from bot.i18n import ChatLocaleManager, RenderCachingCore, create_core
from bot.leadership import lease_for, open_owner
from bot.metrics import BotMetrics, database_probe
from bot.middlewares.activity import ChatActivityMiddleware
from bot.middlewares.update_watch import UpdateWatchMiddleware
from bot.notifications.alerts import AdminAlerts
from bot.notifications.announcements import Announcements
from bot.notifications.appeals import AppealDeskMessages
from bot.notifications.notices import NoticeMessages
from bot.notifications.pacer import Pacer
from bot.notifications.reminders import ReminderMessages
from bot.notifications.sender import Sender
from bot.optional_parts import build_appeals, build_outbox, daily_sync, saved_reading
from bot.scheduler import DeliveryJobs
from bot.services.accounts import AccountsService
from bot.services.alerts import AdminAlerter
from bot.services.broadcasts import BroadcastService
from bot.services.chat_settings import ChatSettingsService
from bot.services.export import ExportService
from bot.services.linking import LinkingService
from bot.services.notices import NoticeService
from bot.services.outbox import OutboxDispatcher
from bot.services.outbox_figures import OutboxStatus
from bot.services.owners import DeliveryOwner
from bot.services.reminders import ReminderService
from bot.services.submissions import SubmissionService
from bot.sms.base import SmsSender
from bot.sms.console import ConsoleSmsSender
from bot.sms.smsru import SmsRuSender
from bot.storage.campaigns import KINDS as CAMPAIGN_KINDS
from bot.storage.campaigns import STATUSES as DELIVERY_STATES
from bot.storage.db import Database
from bot.storage.engines import open_database
from bot.uploads import TypedUploadSession

# A SIGTERM stop is bounded (bot/run.py STOP_BUDGET_SECONDS); the dispatcher's drain of the
# updates in hand (bot/dispatcher.py) and the delivery jobs' stop (bot/scheduler.py) take a share.
BACKGROUND_GRACE_SECONDS = 2.0  # SMS sends in flight record their outcome (else: 'sending')


@dataclass(frozen=True, slots=True)
class App:
    settings: Settings
    clock: Clock
    bot: Bot
    core: RenderCachingCore
    sms: SmsSender
    storage: Storage
    services: Services
    delivery: Delivery
    background: Background
    dispatcher: DrainingDispatcher
    metrics: BotMetrics

    async def close(self) -> None:
        # a hung SMS gateway must not hold the stop: a code whose send is cut stays counted
        await self.background.close(BACKGROUND_GRACE_SECONDS)
        self.delivery.sender.close()
        if self.delivery.outbox is not None:
            await self.delivery.outbox.close()
        await self.sms.close()
        await self.bot.session.close()
        await self.storage.fsm.close()  # conversations changed outside an update, if any
        await self.storage.db.close()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = TypedUploadSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def create_alerts(
    settings: Settings, bot: Bot, core: RenderCachingCore, locales: ChatLocaleManager
) -> AdminAlerts:
    admins = sorted(settings.admin_ids)
    return AdminAlerts(bot, core, locales, admin_ids=admins, default_locale=settings.default_locale)


def create_sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "smsru":
        assert settings.smsru_api_id is not None  # Settings refuses smsru without it
        return SmsRuSender(settings.smsru_api_id.get_secret_value(), settings.smsru_api_url)
    return ConsoleSmsSender()


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    session: BaseSession | None = None,
    sms: SmsSender | None = None,
    db: Database | None = None,
    core: RenderCachingCore | None = None,
) -> App:
    """The whole bot; `clock`, `session`, `sms`, `db` and `core` are for tests and tools."""
    clock = clock or SystemClock()
    storage = Storage.over(db or await open_database(settings.database_url), settings)
    bot = create_bot(settings, session)
    core = core or create_core(settings.default_locale)
    if not core.locales:  # jobs outside the dispatcher (send-reminders) render too
        await core.startup()
    sms = sms or create_sms_sender(settings)
    background = Background()
    metrics = build_metrics(settings, clock, storage)
    locales = ChatLocaleManager(storage.chats, clock, settings.default_locale)
    activity = ChatActivityMiddleware(storage.chats)
    # on PostgreSQL, which processes are alive is asked of the server (a lock per process)
    owner = await open_owner(settings.database_url, None) if settings.on_postgres else None
    alerts = create_alerts(settings, bot, core, locales)
    alerter = AdminAlerter(storage.codes, clock, alerts.warn)  # once an hour, in the database
    sync = daily_sync(settings, clock, storage, alerts)
    outbox = build_outbox(settings, clock, storage, alerts, metrics)
    delivery = build_delivery(
        settings, clock, bot, core, storage, activity, background, owner, sync, alerter, outbox
    )
    desk = AppealDeskMessages(bot, core, settings.operator_chat_id, settings.default_locale)
    services = build_services(
        settings, clock, storage, sms, locales, background, alerts, delivery, metrics, desk
    )
    dispatcher = create_dispatcher(
        settings=settings,
        bot=bot,
        core=core,
        storage=storage,
        services=services,
        activity=activity,
        jobs=delivery.jobs,
        watch=UpdateWatchMiddleware(metrics),
    )
    return App(
        settings=settings,
        clock=clock,
        bot=bot,
        core=core,
        sms=sms,
        storage=storage,
        services=services,
        delivery=delivery,
        background=background,
        dispatcher=dispatcher,
        metrics=metrics,
    )


def build_metrics(settings: Settings, clock: Clock, storage: Storage) -> BotMetrics:
    """The counters, and the gauges read from the database at each scrape."""
    metrics = BotMetrics()
    metrics.watch(
        "database gauges",
        database_probe(
            metrics,
            codes=storage.codes,
            deliveries=storage.deliveries,
            now=clock.now,
            daily_budget=settings.otp_limits.daily_budget,
            kinds=CAMPAIGN_KINDS,
            states=DELIVERY_STATES,
        ),
    )
    if settings.operator_chat_id is not None:
        metrics.watch_appeals(storage.appeals.count_open)
    return metrics


def build_services(
    settings: Settings,
    clock: Clock,
    storage: Storage,
    sms: SmsSender,
    locales: ChatLocaleManager,
    background: Background,
    alerts: AdminAlerts,
    delivery: Delivery,
    metrics: BotMetrics,
    desk: AppealDeskMessages,
) -> Services:
    window = settings.window
    linking = create_linking(settings, clock, storage, sms, background, alerts, metrics)
    submissions = SubmissionService(
        accounts=storage.accounts,
        meters=storage.meters,
        readings=storage.readings,
        links=storage.links,
        clock=clock,
        tz=settings.tz,
        window=window,
        on_saved=saved_reading(metrics, delivery.outbox),
    )
    appeals = build_appeals(settings, clock, storage, submissions, desk, alerts)
    delivery.jobs.add_appeals(appeals.tick)  # the leader delivers and raises what waits
    # forgetting a chat drops what this process keeps in memory about it too
    forget_cached = (locales.forget,)
    return Services(
        settings=settings,
        clock=clock,
        locales=locales,
        linking=linking,
        submissions=submissions,
        accounts=AccountsService(
            chats=storage.chats,
            links=storage.links,
            conversations=storage.fsm,
            caches=forget_cached,
            on_forget=(appeals.forget_chat,),
        ),
        chat_settings=ChatSettingsService(chats=storage.chats, clock=clock),
        exports=ExportService(
            readings=storage.readings, clock=clock, tz=settings.tz, window=window
        ),
        broadcasts=delivery.broadcasts,
        appeals=appeals,
        outbox=OutboxStatus(storage.outbox, clock, url=settings.billing_webhook_url),
    )


def create_linking(
    settings: Settings,
    clock: Clock,
    storage: Storage,
    sms: SmsSender,
    background: Background,
    alerts: AdminAlerts,
    metrics: BotMetrics,
) -> LinkingService:
    return LinkingService(
        accounts=storage.accounts,
        links=storage.links,
        codes=storage.codes,
        sms=sms,
        clock=clock,
        limits=settings.otp_limits,
        key=settings.secret_key,
        account_pattern=settings.account_number_pattern,
        spawn=background.spawn,  # SMS sends run in the background, awaited at close
        alert_admins=alerts.warn,
        on_code_outcome=metrics.code_outcome,
    )


def build_delivery(
    settings: Settings,
    clock: Clock,
    bot: Bot,
    core: RenderCachingCore,
    storage: Storage,
    activity: ChatActivityMiddleware,
    background: Background,
    owner: DeliveryOwner | None = None,
    sync: Callable[[], Awaitable[object]] | None = None,
    alerter: AdminAlerter | None = None,
    outbox: OutboxDispatcher | None = None,
) -> Delivery:
    locale, support = settings.default_locale, settings.support_contact
    sender = create_sender(settings, clock, bot, storage, activity, owner)
    reminders = ReminderService(
        settings=settings,
        clock=clock,
        messages=ReminderMessages(core, default_locale=locale, support_contact=support),
        deliveries=storage.deliveries,
        recipients=storage.recipients,
        walks=storage.fsm,
        sender=sender,
        alerts=alerter,
    )
    broadcasts = BroadcastService(
        clock=clock,
        announcements=Announcements(bot, core, sender, default_locale=locale, tz=settings.tz),
        deliveries=storage.deliveries,
        recipients=storage.recipients,
        sender=sender,
    )
    notices = NoticeService(
        storage.notices,
        NoticeMessages(bot, core, default_locale=locale, support_contact=support),
        clock,
        rate=settings.broadcast_rate,
        on_blocked=activity.mark_inactive,
    )
    jobs = DeliveryJobs(
        reminders=reminders,
        broadcasts=broadcasts,
        notices=notices,
        outbox=outbox,
        stop_sending=sender.request_stop,
        allow_sending=sender.allow_sending,
        spawn=background.spawn,
        clock=clock,
        reminder_time=settings.reminder_time,
        tz=settings.tz,
        lease=lease_for(settings.database_url, settings.redis, settings.redis_prefix),
        daily_sync=sync,
        sync_time=settings.sync_time,
    )
    return Delivery(sender, reminders, broadcasts, notices, jobs, outbox)


def create_sender(
    settings: Settings,
    clock: Clock,
    bot: Bot,
    storage: Storage,
    activity: ChatActivityMiddleware,
    owner: DeliveryOwner | None,
) -> Sender:
    """The one rate-limited sender of reminders and announcements (BROADCAST_RATE)."""
    return Sender(
        bot,
        storage.deliveries,
        clock,
        Pacer(settings.broadcast_rate),
        on_blocked=activity.mark_inactive,
        quiet=settings.quiet,
        tz=settings.tz,
        owner=owner,
        paid_broadcast=settings.paid_broadcast,
    )


def settle_heap() -> None:
    """Once the process is built: what exists now (aiogram's ~200k type objects, the app)
    lives as long as the process, so keep it out of the cyclic collector's full passes.
    Without this each full pass walks all of it: ~0.2 s, nine times in a broadcast to 100k
    chats. Call once per process, after `build_app`, never in tests (frozen garbage stays)."""
    gc.collect()
    gc.freeze()
