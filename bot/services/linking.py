"""Linking a chat to an account with a one-time SMS code (SPEC §5)."""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from bot.clock import Clock
from bot.domain import otp
from bot.domain.models import Account
from bot.domain.otp import CodeToStore, IssueCounts
from bot.services.alerts import ALERT_EVERY
from bot.services.stores import AccountStore, LinkStore, OtpStore
from bot.sms.base import SmsError, SmsFinalError, SmsSender

log = logging.getLogger(__name__)

# At most one admin alert of a kind (budget spent, gateway refusing with one status, gateway
# down) per ALERT_EVERY, across every process: 20 residents hitting a refusal make one. The
# claim is the one bot/services/alerts.py makes (a row of sms_alerts), made here directly
# because the figure, the failures of the hour, is read only once the claim is won.


@dataclass(frozen=True)
class CodeSent:
    """What the resident is told whether or not the details matched and whatever the gateway
    does: a code may be on its way."""


Refused = otp.ResendTooSoon | otp.ChatDailyLimit | otp.BudgetExhausted
RequestOutcome = CodeSent | Refused


@dataclass(frozen=True)
class Linked:
    account: Account
    already_linked: bool
    other_chats: list[int]  # chats linked before this one: they get the alert


VerifyOutcome = Linked | otp.CodeWrong | otp.CodeExpired | otp.CodeExhausted | otp.NoPendingCode

CodeOutcome = Literal["sent", "refused", "unreachable", "error"]
Spawn = Callable[[Coroutine[Any, Any, None]], object]
AlertAdmins = Callable[..., Awaitable[object]]


class LinkingService:
    def __init__(
        self,
        *,
        accounts: AccountStore,
        links: LinkStore,
        codes: OtpStore,
        sms: SmsSender,
        clock: Clock,
        limits: otp.OtpLimits,
        key: bytes,
        account_pattern: str,
        spawn: Spawn,
        alert_admins: AlertAdmins | None = None,
        on_code_outcome: Callable[[CodeOutcome], None] = lambda outcome: None,
    ) -> None:
        """``spawn`` runs the SMS sends in the background and must keep them referenced and
        await them at shutdown; ``alert_admins(key, **args)`` tells the admins in the chat;
        ``on_code_outcome`` hears what became of each SMS (the metrics count them)."""
        self.accounts = accounts
        self.links = links
        self.codes = codes
        self.sms = sms
        self.clock = clock
        self.limits = limits
        self.key = key
        self.account_pattern = re.compile(account_pattern, re.ASCII)  # \d: ASCII digits only
        self.spawn = spawn
        self.alert_admins = alert_admins
        self.on_code_outcome = on_code_outcome

    def is_well_formed(self, number: str) -> bool:
        return self.account_pattern.fullmatch(number) is not None

    def _chat_ref(self, chat_id: int) -> str:
        return hmac.new(self.key, f"chat-ref:{chat_id}".encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def _scope(chat_id: int, account_id: int | None) -> str:
        return f"chat:{chat_id}|account:{account_id or 0}"

    async def request_code(
        self, chat_id: int, account_number: str, phone: str, compose: Callable[[str], str]
    ) -> RequestOutcome:
        """Reserve a code under the limits and send it in the background when the account
        exists and the phone is the one on file.

        The outcome is CodeSent whether or not they match and whatever the gateway will do,
        and it does not wait for the gateway, so neither the text nor the time of the answer
        tells which accounts and phones exist. A mismatch stores a code no typing matches.
        `compose(code)` renders the SMS text.
        """
        now = self.clock.now()
        account = await self.accounts.by_number(account_number)
        matched = account is not None and account.phone == phone
        account_id = account.id if matched and account else None
        code = otp.generate_code()

        def decide(counts: IssueCounts) -> CodeToStore | Refused:
            decision = otp.may_issue(
                now,
                limits=self.limits,
                last_sent_to_chat=counts.last_to_chat,
                sent_to_chat_24h=counts.chat_24h,
                sent_to_account_24h=counts.account_24h,
                sent_total_24h=counts.total_24h,
            )
            if isinstance(decision, otp.IssueAllowed) and account_id is not None:
                return CodeToStore(
                    account_id=account_id,
                    sms=True,
                    code_hash=otp.hash_code(self.key, code, scope=self._scope(chat_id, account_id)),
                    expires_at=now + timedelta(seconds=self.limits.ttl_seconds),
                )
            # a mismatch, or the account's limit answered like one (it must not reveal a
            # valid account and phone): a pending code that nothing matches, no SMS
            if isinstance(decision, otp.IssueAllowed | otp.AccountDailyLimit):
                pending = otp.unmatchable_pending_code(
                    now, scope=self._scope(chat_id, None), limits=self.limits
                )
                return CodeToStore(None, False, pending.code_hash, pending.expires_at)
            return decision

        reserved: tuple[CodeToStore | Refused, int | None] = await self.codes.reserve(
            chat_id=chat_id,
            chat_ref=self._chat_ref(chat_id),
            account_id=account_id,
            now=now,
            decide=decide,
        )
        decided, issue_id = reserved
        if isinstance(decided, CodeToStore):
            if decided.sms and account is not None and issue_id is not None:
                self.spawn(self._deliver(issue_id, account.phone, compose(code)))
            return CodeSent()
        if isinstance(decided, otp.BudgetExhausted):
            self.spawn(self._budget_spent())
        return decided

    async def _deliver(self, issue_id: int, phone: str, text: str) -> None:
        """Send one reserved code and record what became of it; failures go to the admins."""
        try:
            await self.sms.send(phone, text)
        except SmsFinalError as exc:
            status = str(exc.code) if exc.code is not None else exc.description
            log.error("SMS gateway refused code %d: status %s", issue_id, status)
            self.on_code_outcome("refused")
            await self.codes.record_outcome(issue_id, "failed", status)
            await self._alert(
                f"sms-refused:{status}",
                "admin-sms-refused",
                status=status,
                reason=html.escape(exc.description),  # the gateway's words, in an HTML message
                cause=exc.cause,
            )
        except SmsError as exc:
            log.error("SMS gateway unreachable for code %d: %s", issue_id, type(exc).__name__)
            self.on_code_outcome("unreachable")
            await self.codes.record_outcome(issue_id, "failed", "unreachable")
            await self._alert("sms-down", "admin-sms-down")
        except Exception:
            log.exception("sending code %d failed unexpectedly", issue_id)
            self.on_code_outcome("error")
            await self.codes.record_outcome(issue_id, "failed", "error")
            await self._alert("sms-down", "admin-sms-down")
        else:
            self.on_code_outcome("sent")
            await self.codes.record_outcome(issue_id, "sent")

    async def _budget_spent(self) -> None:
        if await self._alert("sms-budget", "admin-sms-budget", budget=self.limits.daily_budget):
            log.error(
                "daily SMS budget of %d codes is spent; no codes until it frees up",
                self.limits.daily_budget,
            )

    async def _alert(self, kind: str, key: str, **args: object) -> bool:
        """Tell the admins, unless an alert of this kind went out in the last ALERT_EVERY."""
        now = self.clock.now()
        if not await self.codes.claim_alert(kind, now, ALERT_EVERY):
            return False
        if self.alert_admins is not None:
            failed = await self.codes.failed_since(now - ALERT_EVERY)
            await self.alert_admins(key, failed=failed, **args)
        return True

    async def verify(self, chat_id: int, typed: str) -> VerifyOutcome:
        now = self.clock.now()
        stored = await self.codes.pending(chat_id)
        pending = None
        if stored is not None:
            pending = otp.PendingCode(
                code_hash=stored.code_hash,
                expires_at=stored.expires_at,
                attempts=stored.attempts,
                scope=self._scope(chat_id, stored.account_id),
            )
        result = otp.verify(now, typed, pending, key=self.key, limits=self.limits)
        if isinstance(result, otp.CodeWrong):
            await self.codes.count_wrong_try(chat_id)
            return result
        if isinstance(result, otp.NoPendingCode):
            return result
        await self.codes.discard(chat_id)  # used once, expired or exhausted: gone either way
        if not isinstance(result, otp.CodeAccepted):
            return result
        # an accepted code was a sent one, for an account that still exists (its deletion
        # cascades to the code); were it ever not so, the code is simply gone
        account_id = stored.account_id if stored is not None else None
        account = await self.accounts.get(account_id) if account_id is not None else None
        if account is None:
            return otp.NoPendingCode()
        others = [c for c in await self.links.chats_of(account.id) if c != chat_id]
        created = await self.links.link(chat_id, account.id, now)
        return Linked(account=account, already_linked=not created, other_chats=others)
