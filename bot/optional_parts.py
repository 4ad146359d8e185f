"""The parts the bot builds only when settings ask for them: the billing outbox
(BILLING_WEBHOOK_URL, SPEC §10), the daily accounts snapshot (BILLING_ACCOUNTS_URL) and
appeals (OPERATOR_CHAT_ID, SPEC §11). bot/app.py wires them in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.billing.poster import WebhookPoster
from bot.clock import Clock
from bot.config import Settings
from bot.containers import Storage
from bot.metrics import BotMetrics
from bot.notifications.alerts import AdminAlerts
from bot.notifications.appeals import AppealDeskMessages
from bot.services.appeals import AppealService
from bot.services.outbox import OutboxDispatcher
from bot.services.outbox_figures import OutboxStatus
from bot.services.snapshot import DailySync, SnapshotService
from bot.services.submissions import SubmissionService
from bot.snapshot_feed import HttpSnapshotFeed
from bot.storage.imports import import_repository
from bot.storage.snapshot import SnapshotSourceRepository


def build_appeals(
    settings: Settings,
    clock: Clock,
    storage: Storage,
    submissions: SubmissionService,
    desk: AppealDeskMessages,
    alerts: AdminAlerts,
) -> AppealService:
    return AppealService(
        appeals=storage.appeals,
        desk=desk,
        submissions=submissions,
        clock=clock,
        sla_hours=settings.appeal_sla_hours,
        enabled=settings.operator_chat_id is not None,
        alert_admins=alerts.warn,
    )


def saved_reading(metrics: BotMetrics, outbox: OutboxDispatcher | None) -> Callable[[], None]:
    """A new reading: counted, and its event looked for at once (not at the next poll)."""
    if outbox is None:
        return metrics.submission_saved

    def saved() -> None:
        metrics.submission_saved()
        outbox.wake()

    return saved


def build_outbox(
    settings: Settings, clock: Clock, storage: Storage, alerts: AdminAlerts, metrics: BotMetrics
) -> OutboxDispatcher | None:
    """The dispatcher of readings to the billing system, when BILLING_WEBHOOK_URL is set."""
    key = settings.billing_key
    if settings.billing_webhook_url is None or key is None:
        return None
    status = OutboxStatus(storage.outbox, clock, url=settings.billing_webhook_url)
    metrics.watch_outbox(status.waiting)
    return OutboxDispatcher(
        storage.outbox,
        WebhookPoster(settings.billing_webhook_url, key),
        clock,
        settings.tz,
        alert_admins=alerts.warn,
        scale=settings.billing_retry_scale,
        on_outcome=metrics.outbox_settled,
    )


def daily_sync(
    settings: Settings, clock: Clock, storage: Storage, alerts: AdminAlerts
) -> Callable[[], Awaitable[object]] | None:
    """The daily accounts snapshot from BILLING_ACCOUNTS_URL (SPEC §10), when it is set."""
    if settings.billing_accounts_url is None:
        return None
    service = SnapshotService(
        imports=import_repository(storage.db),
        sources=SnapshotSourceRepository(storage.db),
        feed=HttpSnapshotFeed(),
        clock=clock,
        account_pattern=settings.account_number_pattern,
        max_close_share=settings.sync_max_close_share,
    )
    job = DailySync(
        service, settings.billing_accounts_url, full=settings.sync_full, alert_admins=alerts.warn
    )
    return job.run
