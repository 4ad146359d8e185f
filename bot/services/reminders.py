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
import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram_i18n.cores import FluentRuntimeCore
from fluent.syntax import ast as fluent_ast

from bot.clock import Clock
from bot.config import Settings
from bot.domain.periods import Period
from bot.domain.windows import SubmissionWindow, WindowDates
from bot.english import counted
from bot.keyboards.callbacks import SubmitStartCb
from bot.services.sender import DeliveryCounts, Outgoing, Renderer, Sender
from bot.storage.deliveries import (
    Campaign,
    DeliveryRepository,
    MeterRule,
    RecipientAccount,
    RecipientMeter,
    RecipientRepository,
    Rule,
    WindowRule,
)

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

KINDS = ("opening", "closing", "verification")
SELECT_BATCH = 5000
_MARKER = re.compile("\x00([0-9]+)\x00")
_MAX_FLUENT_PART = 2500  # fluent.runtime refuses longer placeables: `get` reports it
_NO_TEMPLATE: Any = object()


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    id: str
    kind: str
    params: dict[str, Any]
    expires_on: date


@dataclass
class CampaignResult:
    campaign_id: str
    kind: str
    recipients: int = 0  # delivery rows this run added
    counts: DeliveryCounts = field(default_factory=DeliveryCounts)
    resumed: bool = False
    expired: int = 0  # pending deliveries dropped: the window closed while the bot was down
    finished: bool = False
    quiet_until: datetime | None = None  # paused by QUIET_HOURS; resumes at their end

    @property
    def eventful(self) -> bool:
        c = self.counts
        return bool(
            self.recipients or c.done or c.retried or c.deferred or self.expired or self.quiet_until
        )


@dataclass
class ReminderReport:
    day: date
    campaigns: list[CampaignResult] = field(default_factory=list)

    @property
    def totals(self) -> DeliveryCounts:
        total = DeliveryCounts()
        for result in self.campaigns:
            total.add(result.counts)
        return total


def _counts(c: DeliveryCounts) -> str:
    return (
        f"sent {c.sent}, blocked {c.blocked}, retried {c.retried}, given up {c.given_up},"
        f" failed {c.failed}, skipped {c.skipped}, unknown {c.unknown}"
    )


def format_report(report: ReminderReport) -> str:
    """A few lines for the operator (`send-reminders`) and the log.

    Per campaign and in total: sent; blocked (the resident blocked the bot); retried (passing
    failures, each tried again later); given up (failing for a day); failed (refused for good);
    skipped (no longer due); unknown (the request was under way when a process died, or timed
    out: it may have arrived and is never sent again).
    """
    if not any(r.eventful for r in report.campaigns):
        return f"{report.day}: nothing to send ({counted(len(report.campaigns), 'reminder')} due)"
    lines = []
    for r in report.campaigns:
        if not r.eventful:
            continue  # due, but nobody new to tell
        line = f"{r.campaign_id}: {_counts(r.counts)}"
        extras = []
        if r.resumed:
            extras.append("resumed")
        if r.recipients:
            extras.append(f"{r.recipients} new recipients")
        if r.counts.deferred:
            extras.append(f"{r.counts.deferred} held back: resident in a submission walk")
        if r.expired:
            extras.append(f"{r.expired} dropped: window closed")
        if r.quiet_until is not None:
            extras.append(f"paused: quiet hours until {r.quiet_until:%Y-%m-%d %H:%M}")
        elif not r.finished:
            extras.append("unfinished: the rest goes out in a later run")
        if extras:
            line += f" ({', '.join(extras)})"
        lines.append(line)
    lines.append(f"{report.day}: {len(report.campaigns)} campaigns, {_counts(report.totals)}")
    return "\n".join(lines)


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
        core: FluentRuntimeCore,
        deliveries: DeliveryRepository,
        recipients: RecipientRepository,
        sender: Sender,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.core = core
        self.deliveries = deliveries
        self.recipients = recipients
        self.sender = sender
        self.default_window = SubmissionWindow(settings.window_start_day, settings.window_end_day)
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
        wanted = tuple(kinds or KINDS)
        unknown = set(wanted) - set(KINDS)
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
                campaign = await self.deliveries.get(plan.id)
                assert campaign is not None
                if not created and campaign.params != plan.params:
                    # meters with new window days that open (close) the same day join it
                    await self.deliveries.update_params(plan.id, plan.params, plan.expires_on)
                report.campaigns.append(await self._run_planned(plan.id, today))
            if plan_new and "verification" in wanted:
                report.campaigns += await self._run_verification(today)
            if any(r.eventful for r in report.campaigns):
                log.info("reminders:\n%s", format_report(report))
            return report

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
        for campaign in await self.deliveries.unfinished(KINDS):
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
            campaign.id, self.renderer(campaign), hold_back=self.recipients.mid_walk
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

    def renderer(self, campaign: Campaign) -> Renderer:
        rules = _rules(campaign)
        words = _Words(self.core, self.settings.default_locale)
        kind = campaign.kind
        if kind == "opening":
            windows = {
                (r["window_start"], r["window_end"]): SubmissionWindow(
                    r["start_day"], r["end_day"]
                ).dates(Period.parse(r["period"]))
                for r in campaign.params["rules"]
            }

            async def render_opening(chat_ids: Sequence[int]) -> Mapping[int, Outgoing]:
                rows = await self.recipients.accounts_of(kind, rules, chat_ids)
                by_chat: dict[int, list[RecipientAccount]] = {}
                for row in rows:
                    by_chat.setdefault(row.chat_id, []).append(row)
                return {
                    chat_id: self._opening(words, windows, accounts)
                    for chat_id, accounts in by_chat.items()
                }

            return render_opening

        render_chat = self._closing if kind == "closing" else self._verification

        async def render(chat_ids: Sequence[int]) -> Mapping[int, Outgoing]:
            rows = await self.recipients.meters_of(kind, rules, chat_ids)
            by_chat: dict[int, list[RecipientMeter]] = {}
            for row in rows:
                by_chat.setdefault(row.chat_id, []).append(row)
            return {
                chat_id: render_chat(campaign, words, meters) for chat_id, meters in by_chat.items()
            }

        return render

    def _opening(
        self,
        words: _Words,
        windows: Mapping[tuple[int | None, int | None], WindowDates],
        rows: list[RecipientAccount],
    ) -> Outgoing:
        first = rows[0]
        locale = words.locale(first.locale)
        closes: dict[int, date] = {}
        accounts: dict[int, RecipientAccount] = {}
        for row in rows:
            # an account whose meters close on different days is told the earliest
            day = windows[row.window_start, row.window_end].closes
            closes[row.account_id] = min(closes.get(row.account_id, day), day)
            accounts.setdefault(row.account_id, row)
        period = windows[first.window_start, first.window_end].period
        lines = [words.title("remind-opening-title", locale, period=words.period(locale, period))]
        lines += [
            words.fill(
                "remind-opening-line-address" if a.address else "remind-opening-line",
                locale,
                number=html.escape(a.number),
                address=html.escape(a.address or ""),
                closes=words.date(locale, closes[a.account_id]),
            )
            for a in accounts.values()
        ]
        lines += ["", words.title("remind-opening-footer", locale)]
        return Outgoing("\n".join(lines), words.submit_buttons(locale, list(accounts.values())))

    def _closing(self, campaign: Campaign, words: _Words, meters: list[RecipientMeter]) -> Outgoing:
        locale = words.locale(meters[0].locale)
        closes = date.fromisoformat(campaign.params["day"])
        periods = {
            (r["window_start"], r["window_end"]): r["period"] for r in campaign.params["rules"]
        }
        days = max(0, (closes - self.today()).days)
        lines = [
            words.get("remind-closing-title", locale, days=days, closes=words.date(locale, closes))
        ]
        by_period: dict[str, list[RecipientMeter]] = {}
        for m in meters:
            by_period.setdefault(periods[m.window_start, m.window_end], []).append(m)
        for period, group in sorted(by_period.items()):
            lines.append(
                words.get(
                    "remind-closing-period",
                    locale,
                    period=words.period(locale, Period.parse(period)),
                )
            )
            lines += [
                words.fill(
                    "remind-closing-line",
                    locale,
                    resource=words.resource(locale, m.resource),
                    serial=html.escape(m.serial[-4:]),
                    account=words.account(locale, m, with_address=False),
                )
                for m in group
            ]
        lines += ["", words.title("remind-closing-footer", locale)]
        return Outgoing("\n".join(lines), words.submit_buttons(locale, _accounts(meters)))

    def _verification(
        self, campaign: Campaign, words: _Words, meters: list[RecipientMeter]
    ) -> Outgoing:
        m = meters[0]
        locale = words.locale(m.locale)
        due = date.fromisoformat(campaign.params["due"])
        text = words.get(
            "remind-verification",
            locale,
            resource=words.resource(locale, m.resource),
            serial=html.escape(m.serial[-4:]),
            account=words.account(locale, m),
            due=words.date(locale, due),
            days=max(0, (due - self.today()).days),
            support=html.escape(self.settings.support_contact),
        )
        return Outgoing(text)


def _accounts(meters: Sequence[RecipientMeter]) -> list[RecipientMeter]:
    """The first row of each account, in the order the chat linked them."""
    seen: dict[int, RecipientMeter] = {}
    for m in meters:
        seen.setdefault(m.account_id, m)
    return list(seen.values())


class _Words:
    """Fluent lookups for one campaign, memoised: most chats share most of the words."""

    def __init__(self, core: FluentRuntimeCore, default_locale: str) -> None:
        self.core = core
        self.default_locale = default_locale
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._locales = frozenset(core.available_locales)

    def locale(self, stored: str | None) -> str:
        return stored if stored in self._locales else self.default_locale

    def get(self, key: str, locale: str, **kwargs: Any) -> str:
        return self.core.get(key, locale, **kwargs)

    def fill(self, key: str, locale: str, **values: str) -> str:
        """``get`` for a message whose variables are all text and only ever shown as they are
        (no selector, no function): formatted once per campaign with markers, then each chat's
        values are put in their places. Exactly what ``get`` returns, several times faster."""
        names = tuple(sorted(values))
        memo_key = ("fill", key, locale, names)
        template = self._memo.get(memo_key, _NO_TEMPLATE)
        if template is _NO_TEMPLATE:
            template = self._memo[memo_key] = self._template(key, locale, names)
        if template is None or any(len(v) > _MAX_FLUENT_PART for v in values.values()):
            return self.core.get(key, locale, **values)
        parts = template[:]
        for index in range(1, len(parts), 2):
            parts[index] = values[parts[index]]
        return "".join(parts)

    def _template(self, key: str, locale: str, names: tuple[str, ...]) -> list[str] | None:
        """The message as [text, variable name, text, ...], or None when it cannot be one."""
        try:
            message = self.core.get_translator(locale)._messages[key]
        except (AttributeError, KeyError, LookupError):
            return None  # another locale's message stands in: leave it to `get`
        if message.value is None or not all(
            isinstance(element, fluent_ast.TextElement)
            or (
                isinstance(element, fluent_ast.Placeable)
                and isinstance(element.expression, fluent_ast.VariableReference)
                and element.expression.id.name in names
            )
            for element in message.value.elements
        ):
            return None
        markers = {name: f"\x00{index}\x00" for index, name in enumerate(names)}
        formatted = self.core.get(key, locale, **markers)
        parts = _MARKER.split(formatted)
        if "\x00" in "".join(parts[::2]):
            return None
        for index in range(1, len(parts), 2):
            parts[index] = names[int(parts[index])]
        return parts

    def title(self, key: str, locale: str, **kwargs: Any) -> str:
        memo_key = (key, locale, *sorted(kwargs.items())) if kwargs else (key, locale)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self.core.get(key, locale, **kwargs)
        return found  # type: ignore[no-any-return]

    def date(self, locale: str, day: date) -> str:
        memo_key = ("date", locale, day)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self.title(
                "remind-date", locale, day=day.day, month=day.month
            )
        return found  # type: ignore[no-any-return]

    def period(self, locale: str, period: Period) -> str:
        memo_key = ("period", locale, period)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._memo[memo_key] = self.title(
                "remind-period", locale, month=period.month, year=str(period.year)
            )
        return found  # type: ignore[no-any-return]

    def resource(self, locale: str, resource: str) -> str:
        return self.title("remind-resource", locale, resource=resource)

    def account(self, locale: str, m: RecipientMeter, *, with_address: bool = True) -> str:
        if with_address and m.address:
            return self.fill(
                "remind-account-address",
                locale,
                number=html.escape(m.number),
                address=html.escape(m.address),
            )
        return self.fill("remind-account", locale, number=html.escape(m.number))

    def submit_buttons(
        self, locale: str, accounts: Sequence[RecipientMeter | RecipientAccount]
    ) -> InlineKeyboardMarkup:
        if len(accounts) == 1:
            labels = [self.title("remind-button-submit", locale)]
        else:
            labels = [
                self.fill("remind-button-submit-account", locale, number=a.number) for a in accounts
            ]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=label, callback_data=SubmitStartCb(account_id=a.account_id).pack()
                    )
                ]
                for label, a in zip(labels, accounts, strict=True)
            ]
        )


async def send_reminders(app: App, kinds: Sequence[str] | None = None) -> ReminderReport:
    """Run the reminder job now, exactly as the scheduler does (`python -m bot send-reminders`):
    resume what is unfinished, then send what is due today; nothing goes out twice."""
    return await app.reminders.run_due(kinds)
