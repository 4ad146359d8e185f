"""Reminders (SPEC §7): which are due today, to whom, in which words; sent by the Sender.

Each reminder is a campaign with a stable id, so "already sent" is a database fact:
- opening:<first day>            the windows that opened that day (meters may have own days)
- closing:<last day>             the windows that close that day, CLOSING_REMINDER_DAYS before
- verification:<meter>:<due>     one meter's verification date, VERIFICATION_REMINDER_DAYS before

A reminder is due from its day until its window closes (its due date, for verification). Every
run of the job sends each due reminder to the chats it is due to and has not reached yet: one
missed while the bot was down goes out when it is back, a chat linked (or switched on) since the
first run gets it at the next run, and nobody gets it twice. Unfinished runs resume first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Settings
from bot.domain.campaigns import (
    Campaign,
    MeterRule,
    RecipientAccount,
    RecipientMeter,
    Rule,
    WindowRule,
)
from bot.domain.models import REMINDER_KINDS
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow, WindowDates
from bot.services.alerts import AdminAlerter
from bot.services.ports import Deliverer, Message, ReminderRenderer, Render
from bot.services.reminder_report import CampaignResult, ReminderReport, format_report
from bot.services.stores import DeliveryStore, RecipientStore, WalkStore

log = logging.getLogger(__name__)

SELECT_BATCH = 5000


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    id: str
    kind: str
    params: dict[str, Any]
    expires_on: date


def plan_window_reminders(
    today: date,
    kinds: Sequence[str],
    window_days: Sequence[tuple[int | None, int | None]],
    default: SubmissionWindow,
    closing_days: int,
) -> list[CampaignPlan]:
    """Opening and closing campaigns due today, for every window the meters use.

    Opening is due while the window that opened is open; closing from CLOSING_REMINDER_DAYS
    before the last day until the last day. Windows opening (closing) on the same day share one
    campaign.
    """
    opening: dict[date, list[dict[str, Any]]] = {}
    closing: dict[date, list[dict[str, Any]]] = {}
    closes_by_opening: dict[date, date] = {}
    for start, end in sorted(window_days, key=lambda p: (p[0] or 0, p[1] or 0)):
        window = SubmissionWindow.for_meter(default, start, end)
        current = window.current(today)
        if current is None:
            continue
        rule = {
            "window_start": start,
            "window_end": end,
            "start_day": window.start_day,
            "end_day": window.end_day,
            "period": str(current.period),
        }
        if "opening" in kinds:
            opening.setdefault(current.opens, []).append(rule)
            closes_by_opening[current.opens] = max(
                closes_by_opening.get(current.opens, current.closes), current.closes
            )
        if (
            "closing" in kinds
            and closing_days > 0
            and (current.closes - today).days <= closing_days
        ):
            closing.setdefault(current.closes, []).append(rule)
    plans = [
        CampaignPlan(
            f"opening:{day}", "opening", {"day": str(day), "rules": rules}, closes_by_opening[day]
        )
        for day, rules in sorted(opening.items())
    ]
    plans += [
        CampaignPlan(f"closing:{day}", "closing", {"day": str(day), "rules": rules}, day)
        for day, rules in sorted(closing.items())
    ]
    return plans


def _rules(campaign: Campaign) -> list[Rule]:
    params = campaign.params
    if campaign.kind == "verification":
        return [MeterRule(params["meter_id"], date.fromisoformat(params["due"]))]
    unread = campaign.kind == "closing"
    return [
        WindowRule(r["window_start"], r["window_end"], r["period"] if unread else None)
        for r in params["rules"]
    ]


class ReminderService:
    def __init__(
        self,
        *,
        settings: Settings,
        clock: Clock,
        messages: ReminderRenderer,
        deliveries: DeliveryStore,
        recipients: RecipientStore,
        walks: WalkStore,
        sender: Deliverer,
        alerts: AdminAlerter | None = None,
    ) -> None:
        """``alerts``: the admins are told when a run gave up on chats (SPEC §13)."""
        self.settings = settings
        self.clock = clock
        self.messages = messages
        self.deliveries = deliveries
        self.recipients = recipients
        self.walks = walks  # the conversations: a reminder waits for a walk to end
        self.sender = sender
        self.alerts = alerts
        self.default_window = settings.window
        # the scheduled job, the start-up catch-up and `send-reminders` never overlap in-process
        self._lock = asyncio.Lock()

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.tz).date()

    # --- what is due -------------------------------------------------------------------------

    async def plan(self, today: date, kinds: Sequence[str]) -> list[CampaignPlan]:
        """The opening and closing reminders due today, whether or not they ran already."""
        if "opening" not in kinds and "closing" not in kinds:
            return []
        return plan_window_reminders(
            today,
            kinds,
            await self.recipients.window_days(),
            self.default_window,
            self.settings.closing_reminder_days,
        )

    # --- running -----------------------------------------------------------------------------

    async def run_due(
        self, kinds: Sequence[str] | None = None, *, plan_new: bool = True
    ) -> ReminderReport:
        """Resume unfinished reminders, then send every reminder due today to every chat it
        is due to and has not reached yet (a chat linked or switched on since included).
        In QUIET_HOURS the recipients are recorded and nothing is sent: the resume job sends
        them when the quiet hours end."""
        wanted = tuple(kinds or REMINDER_KINDS)
        unknown = set(wanted) - set(REMINDER_KINDS)
        if unknown:
            raise ValueError(f"unknown reminder kinds: {sorted(unknown)}")
        async with self._lock:
            today = self.today()
            report = ReminderReport(today)
            plans = await self.plan(today, wanted) if plan_new else []
            planned = {plan.id for plan in plans}
            for campaign in await self.deliveries.unfinished(wanted):
                if self.sender.stopping:
                    return report
                if campaign.id not in planned:  # a planned one runs below, recipients renewed
                    report.campaigns.append(await self._run(campaign, today, resumed=True))
            for plan in plans:
                if self.sender.stopping:
                    return report
                created = await self.deliveries.create_campaign(
                    plan.id, plan.kind, plan.params, self.clock.now(), expires_on=plan.expires_on
                )
                stored = await self.deliveries.get(plan.id)
                assert stored is not None
                if not created and stored.params != plan.params:
                    # meters with new window days that open (close) the same day join it
                    await self.deliveries.update_params(plan.id, plan.params, plan.expires_on)
                report.campaigns.append(await self._run_planned(plan.id, today))
            if plan_new and "verification" in wanted:
                report.campaigns += await self._run_verification(today)
            if any(r.eventful for r in report.campaigns):
                log.info("reminders:\n%s", format_report(report))
            await self._alert_gave_up(report)
            return report

    async def _alert_gave_up(self, report: ReminderReport) -> None:
        """Chats given up after a day of failures need a person: tell the admins, once an hour."""
        given_up = report.totals.given_up
        if self.alerts is None or not given_up:
            return
        campaigns = [r.campaign_id for r in report.campaigns if r.counts.given_up]
        await self.alerts.alert(
            "reminders-gave-up",
            "admin-reminders-gave-up",
            given_up=given_up,
            campaigns=", ".join(campaigns),
        )

    async def _run_verification(self, today: date) -> list[CampaignResult]:
        days = self.settings.verification_reminder_days
        if days <= 0:
            return []
        due = await self.recipients.verification_due(today, today + timedelta(days=days))
        results = []
        for meter_id, day in due:
            if self.sender.stopping:
                break
            campaign_id = f"verification:{meter_id}:{day}"
            await self.deliveries.create_campaign(
                campaign_id,
                "verification",
                {"meter_id": meter_id, "due": str(day)},
                self.clock.now(),
                expires_on=day,
            )
            results.append(await self._run_planned(campaign_id, today))
        return results

    async def _run_planned(self, campaign_id: str, today: date) -> CampaignResult:
        campaign = await self.deliveries.get(campaign_id)
        assert campaign is not None, campaign_id
        return await self._run(campaign, today, select=True)

    async def on_start(self) -> ReminderReport:
        """At start-up: resume what was interrupted; if today's REMINDER_TIME has passed while
        the bot was down, run today's job now (what is due is sent, nothing twice)."""
        local = self.clock.now().astimezone(self.settings.tz)
        return await self.run_due(plan_new=local.time() >= self.settings.reminder_time)

    async def resume_due(self) -> ReminderReport | None:
        """The resume job (every minute): what a retry, the end of quiet hours, a resident's
        finished walk or a dead run's claims made due again; nothing while a run is going."""
        if self._lock.locked() or self.sender.quiet_until() is not None:
            return None
        now = self.clock.now()
        for campaign in await self.deliveries.unfinished(REMINDER_KINDS):
            if await self.deliveries.due(campaign.id, now):
                return await self.run_due(plan_new=False)
        return None

    async def run_scheduled(self) -> None:
        try:
            await self.run_due()
        except Exception:
            log.exception("the reminder job failed; it runs again at the next REMINDER_TIME")

    async def _run(
        self, campaign: Campaign, today: date, *, resumed: bool = False, select: bool = False
    ) -> CampaignResult:
        """Record the recipients (`select`: again, to add chats that became due), then send."""
        result = CampaignResult(campaign.id, campaign.kind, resumed=resumed)
        if campaign.expires_on is not None and campaign.expires_on < today:
            result.expired = await self.deliveries.expire(campaign.id, self.clock.now())
            result.finished = True
            return result
        if select or not campaign.materialised:
            result.recipients = await self._materialise(campaign)
        result.counts = await self.sender.run(
            campaign.id, self.renderer(campaign), hold_back=self.walks.mid_walk
        )
        result.finished = await self.deliveries.finish(campaign.id, self.clock.now())
        if not result.finished:
            quiet_until = self.sender.quiet_until()
            result.quiet_until = quiet_until and quiet_until.astimezone(self.settings.tz)
        return result

    async def _materialise(self, campaign: Campaign) -> int:
        rules = _rules(campaign)
        added: int = 0
        after: int | None = 0
        while after is not None:
            rows, after = await self.recipients.add_due(
                campaign.id,
                campaign.kind,
                rules,
                after=after,
                limit=SELECT_BATCH,
                now=self.clock.now(),
            )
            added += rows
        await self.deliveries.mark_materialised(campaign.id, self.clock.now())
        return added

    # --- words ------------------------------------------------------------------------------

    def renderer(self, campaign: Campaign) -> Render:
        """Each chat's message, from what is due to it now (a chat no longer due drops out)."""
        rules = _rules(campaign)
        kind = campaign.kind
        if kind == "opening":
            windows = {
                (r["window_start"], r["window_end"]): SubmissionWindow(
                    r["start_day"], r["end_day"]
                ).dates(Period.parse(r["period"]))
                for r in campaign.params["rules"]
            }

            async def render_opening(chat_ids: Sequence[int]) -> Mapping[int, Message]:
                rows = await self.recipients.accounts_of(kind, rules, chat_ids)
                by_chat: dict[int, list[RecipientAccount]] = {}
                for row in rows:
                    by_chat.setdefault(row.chat_id, []).append(row)
                return {
                    chat_id: self._opening(windows, accounts)
                    for chat_id, accounts in by_chat.items()
                }

            return render_opening

        render_chat = self._closing if kind == "closing" else self._verification

        async def render(chat_ids: Sequence[int]) -> Mapping[int, Message]:
            rows = await self.recipients.meters_of(kind, rules, chat_ids)
            by_chat: dict[int, list[RecipientMeter]] = {}
            for row in rows:
                by_chat.setdefault(row.chat_id, []).append(row)
            return {chat_id: render_chat(campaign, meters) for chat_id, meters in by_chat.items()}

        return render

    def _opening(
        self,
        windows: Mapping[tuple[int | None, int | None], WindowDates],
        rows: list[RecipientAccount],
    ) -> Message:
        closes: dict[int, date] = {}
        accounts: dict[int, RecipientAccount] = {}
        for row in rows:
            # an account whose meters close on different days is told the earliest
            day = windows[row.window_start, row.window_end].closes
            closes[row.account_id] = min(closes.get(row.account_id, day), day)
            accounts.setdefault(row.account_id, row)
        period = windows[rows[0].window_start, rows[0].window_end].period
        return self.messages.opening(period, [(a, closes[a.account_id]) for a in accounts.values()])

    def _closing(self, campaign: Campaign, meters: list[RecipientMeter]) -> Message:
        closes = date.fromisoformat(campaign.params["day"])
        periods = {
            (r["window_start"], r["window_end"]): Period.parse(r["period"])
            for r in campaign.params["rules"]
        }
        days = max(0, (closes - self.today()).days)
        unread = [(periods[m.window_start, m.window_end], m) for m in meters]
        return self.messages.closing(closes, days, unread)

    def _verification(self, campaign: Campaign, meters: list[RecipientMeter]) -> Message:
        due = date.fromisoformat(campaign.params["due"])
        return self.messages.verification(meters[0], due, max(0, (due - self.today()).days))
