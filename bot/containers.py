"""The containers the composition root (bot/app.py) fills: the storage layer, the services
that handlers are given by name, and the delivery side."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import ChatLocaleManager
from bot.notifications.sender import Sender
from bot.scheduler import DeliveryJobs
from bot.services.accounts import AccountsService
from bot.services.appeals import AppealService
from bot.services.broadcasts import BroadcastService
from bot.services.chat_settings import ChatSettingsService
from bot.services.export import ExportService
from bot.services.linking import LinkingService
from bot.services.notices import NoticeService
from bot.services.outbox import OutboxDispatcher
from bot.services.outbox_figures import OutboxStatus
from bot.services.reminders import ReminderService
from bot.services.submissions import SubmissionService
from bot.storage.accounts import AccountRepository, MeterRepository
from bot.storage.appeals import AppealRepository
from bot.storage.chats import ChatRepository, LinkRepository
from bot.storage.conversations import Conversations
from bot.storage.db import Database
from bot.storage.deliveries import DeliveryRepository
from bot.storage.fsm import SqliteStorage
from bot.storage.notices import NoticeRepository
from bot.storage.otp import OtpRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.readings import ReadingRepository
from bot.storage.recipients import RecipientRepository


@dataclass(frozen=True, slots=True)
class Storage:
    """The repositories, each the only place its tables' SQL is written."""

    db: Database
    accounts: AccountRepository
    meters: MeterRepository
    chats: ChatRepository
    links: LinkRepository
    codes: OtpRepository
    readings: ReadingRepository
    deliveries: DeliveryRepository
    recipients: RecipientRepository
    notices: NoticeRepository
    appeals: AppealRepository
    outbox: OutboxRepository
    fsm: Conversations  # in the database, or in Redis when REDIS_URL is set

    @classmethod
    def over(cls, db: Database, settings: Settings) -> Storage:
        return cls(
            db=db,
            accounts=AccountRepository(db),
            meters=MeterRepository(db, settings.tz),
            chats=ChatRepository(db),
            links=LinkRepository(db),
            codes=OtpRepository(db),
            readings=ReadingRepository(db, outbox=settings.billing_webhook_url is not None),
            deliveries=DeliveryRepository(db),
            recipients=RecipientRepository(db),
            notices=NoticeRepository(db),
            appeals=AppealRepository(db),
            outbox=OutboxRepository(db),
            fsm=conversations(db, settings),
        )

    def readiness(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        """What /readyz asks, each by the name it reports: the database, and Redis if used."""
        checks: list[tuple[str, Callable[[], Awaitable[None]]]] = [("database", self.db.ping)]
        if self.fsm.server is not None:
            checks.append((self.fsm.server, self.fsm.ping))
        return checks


def conversations(db: Database, settings: Settings) -> Conversations:
    if settings.redis is None:
        return SqliteStorage(db)
    from bot.storage.redis_fsm import RedisConversations  # redis: only with REDIS_URL

    return RedisConversations(settings.redis, settings.redis_prefix)


@dataclass(frozen=True, slots=True)
class Services:
    """What handlers are given: each field by its name, in the dispatcher's workflow data.

    A handler asks for `submissions: SubmissionService` and gets this object's `submissions`
    (tests/unit/test_services_container.py holds every handler's parameters to these names
    and types). Services hold the rules; none of them knows aiogram or SQL.
    """

    settings: Settings
    clock: Clock
    locales: ChatLocaleManager
    linking: LinkingService
    submissions: SubmissionService
    accounts: AccountsService
    chat_settings: ChatSettingsService
    exports: ExportService
    broadcasts: BroadcastService
    appeals: AppealService
    outbox: OutboxStatus

    def by_name(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, slots=True)
class Delivery:
    """Reminders, announcements, notices, and readings to the billing system: what is sent
    without a resident asking."""

    sender: Sender
    reminders: ReminderService
    broadcasts: BroadcastService
    notices: NoticeService
    jobs: DeliveryJobs
    outbox: OutboxDispatcher | None  # None: BILLING_WEBHOOK_URL is not set
