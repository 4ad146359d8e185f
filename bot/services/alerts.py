"""Alerts to the admins in the chat when something needs a person (SPEC §13), at most one of a
kind an hour: the claim is a row of the database (sms_alerts), so it holds across the
processes of an installation and across restarts, and 20 residents hitting one refusal, or a
reminder run resumed every minute, make one alert, with the figure that says how bad it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock

ALERT_EVERY = timedelta(hours=1)

# (the locale key, its arguments): tells every admin in the admin's language
TellAdmins = Callable[..., Awaitable[object]]


class AlertLedger(Protocol):
    async def claim_alert(self, kind: str, now: datetime, every: timedelta) -> bool:
        """Whether an alert of ``kind`` is due now; of many claiming at once, one wins."""
        ...


class AdminAlerter:
    def __init__(
        self, ledger: AlertLedger, clock: Clock, tell: TellAdmins, every: timedelta = ALERT_EVERY
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.tell = tell
        self.every = every

    async def alert(self, kind: str, key: str, **figures: object) -> bool:
        """Tell the admins (locale ``key`` with ``figures``) unless an alert of ``kind`` went
        out in the last hour; whether it went out."""
        if not await self.ledger.claim_alert(kind, self.clock.now(), self.every):
            return False
        await self.tell(key, **figures)
        return True
