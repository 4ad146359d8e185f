"""What a run of the reminder job did, per campaign and in total, for the operator and the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.english import counted
from bot.services.ports import DeliveryCounts


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
