"""Reminders as residents read them (SPEC §7): texts in the chat's stored language, with the
buttons that start a submission. Which reminder goes to whom is bot/services/reminders.py.

Every text comes from the i18n core: the words most chats share (titles, dates, periods,
resource names) through `core.get`, whose render cache makes them a dictionary lookup after the
first; a chat's own lines (its account numbers and addresses) through `core.get_once`, which
renders without remembering (A/B in docs/benchmarks.md, "Issue 10").
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.domain.campaigns import RecipientAccount, RecipientMeter
from bot.domain.periods import Period
from bot.i18n import RenderCachingCore
from bot.keyboards.reminders import ButtonColumn, submit_buttons
from bot.notifications.messages import Outgoing


class ReminderMessages:
    """Builds opening, closing and verification reminders (services' `ReminderRenderer`)."""

    def __init__(
        self, core: RenderCachingCore, *, default_locale: str, support_contact: str
    ) -> None:
        self.core = core
        self.default_locale = default_locale
        self.support_contact = support_contact

    def _locale(self, stored: str | None) -> str:
        return stored if stored is not None and stored in self.core.locales else self.default_locale

    def _get(self, key: str, locale: str, **kwargs: Any) -> str:
        return self.core.get(key, locale, **kwargs)

    def _own(self, key: str, locale: str, **kwargs: Any) -> str:
        return self.core.get_once(key, locale, **kwargs)

    def _date(self, locale: str, day: date) -> str:
        return self._get("remind-date", locale, day=day.day, month=day.month)

    def _period(self, locale: str, period: Period) -> str:
        return self._get("remind-period", locale, month=period.month, year=str(period.year))

    def _resource(self, locale: str, resource: str) -> str:
        return self._get("remind-resource", locale, resource=resource)

    def _account(self, locale: str, m: RecipientMeter, *, with_address: bool = True) -> str:
        number = html.escape(m.number)
        if with_address and m.address:
            address = html.escape(m.address)
            return self._own("remind-account-address", locale, number=number, address=address)
        return self._own("remind-account", locale, number=number)

    def _buttons(
        self, locale: str, accounts: Sequence[RecipientMeter | RecipientAccount]
    ) -> ButtonColumn:
        if len(accounts) == 1:
            labels = [self._get("remind-button-submit", locale)]
        else:
            labels = [
                self._own("remind-button-submit-account", locale, number=a.number) for a in accounts
            ]
        return submit_buttons(
            [(label, a.account_id) for label, a in zip(labels, accounts, strict=True)]
        )

    def opening(
        self, period: Period, accounts: Sequence[tuple[RecipientAccount, date]]
    ) -> Outgoing:
        locale = self._locale(accounts[0][0].locale)
        lines = [self._get("remind-opening-title", locale, period=self._period(locale, period))]
        lines += [
            self._own(
                "remind-opening-line-address" if a.address else "remind-opening-line",
                locale,
                number=html.escape(a.number),
                address=html.escape(a.address or ""),
                closes=self._date(locale, closes),
            )
            for a, closes in accounts
        ]
        lines += ["", self._get("remind-opening-footer", locale)]
        return Outgoing(tuple(lines), self._buttons(locale, [a for a, _ in accounts]))

    def closing(
        self, closes: date, days: int, unread: Sequence[tuple[Period, RecipientMeter]]
    ) -> Outgoing:
        locale = self._locale(unread[0][1].locale)
        lines = [
            self._get("remind-closing-title", locale, days=days, closes=self._date(locale, closes))
        ]
        by_period: dict[Period, list[RecipientMeter]] = {}
        accounts: dict[int, RecipientMeter] = {}  # in the order the chat linked them
        for period, m in unread:
            by_period.setdefault(period, []).append(m)
            accounts.setdefault(m.account_id, m)
        for period, meters in sorted(by_period.items(), key=lambda item: item[0]):
            lines.append(
                self._get("remind-closing-period", locale, period=self._period(locale, period))
            )
            lines += [
                self._own(
                    "remind-closing-line",
                    locale,
                    resource=self._resource(locale, m.resource),
                    serial=html.escape(m.serial[-4:]),
                    account=self._account(locale, m, with_address=False),
                )
                for m in meters
            ]
        lines += ["", self._get("remind-closing-footer", locale)]
        return Outgoing(tuple(lines), self._buttons(locale, list(accounts.values())))

    def verification(self, meter: RecipientMeter, due: date, days: int) -> Outgoing:
        locale = self._locale(meter.locale)
        text = self._own(
            "remind-verification",
            locale,
            resource=self._resource(locale, meter.resource),
            serial=html.escape(meter.serial[-4:]),
            account=self._account(locale, meter),
            due=self._date(locale, due),
            days=days,
            support=html.escape(self.support_contact),
        )
        return Outgoing((text,))
