"""Linking a chat to an account with a one-time SMS code (SPEC §5)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain import otp
from bot.domain.models import Account
from bot.sms.base import SmsError, SmsSender
from bot.storage.accounts import AccountRepository
from bot.storage.chats import LinkRepository
from bot.storage.otp import OtpRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CodeSent:
    """What the resident is told whether or not the details matched: a code may be on its way."""


@dataclass(frozen=True)
class SmsUnavailable:
    """The SMS gateway refused or stayed down: try later; nothing else was lost."""


RequestOutcome = (
    CodeSent | SmsUnavailable | otp.ResendTooSoon | otp.ChatDailyLimit | otp.BudgetExhausted
)


@dataclass(frozen=True)
class Linked:
    account: Account
    already_linked: bool
    other_chats: list[int]  # chats linked before this one: they get the alert


VerifyOutcome = Linked | otp.CodeWrong | otp.CodeExpired | otp.CodeExhausted | otp.NoPendingCode


class LinkingService:
    def __init__(
        self,
        *,
        accounts: AccountRepository,
        links: LinkRepository,
        codes: OtpRepository,
        sms: SmsSender,
        clock: Clock,
        limits: otp.OtpLimits,
        key: bytes,
        account_pattern: str,
        on_budget_exhausted: Callable[[], object] | None = None,
    ) -> None:
        self.accounts = accounts
        self.links = links
        self.codes = codes
        self.sms = sms
        self.clock = clock
        self.limits = limits
        self.key = key
        self.account_pattern = re.compile(account_pattern, re.ASCII)  # \d: ASCII digits only
        self.on_budget_exhausted = on_budget_exhausted
        self._budget_warned_at: datetime | None = None

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
        """Send a code when the account exists and the phone is the one on file.

        The outcome is CodeSent whether or not they match, so nobody can probe which accounts
        or phones exist; a mismatch stores a code that was never sent, which no typing matches.
        `compose(code)` renders the SMS text.
        """
        now = self.clock.now()
        account = await self.accounts.by_number(account_number)
        matched = account is not None and account.phone == phone
        account_id = account.id if matched and account else None
        chat_ref = self._chat_ref(chat_id)
        counts = await self.codes.counts(chat_ref, account_id, now)
        decision = otp.may_issue(
            now,
            limits=self.limits,
            last_sent_to_chat=counts.last_to_chat,
            sent_to_chat_24h=counts.chat_24h,
            sent_to_account_24h=counts.account_24h,
            sent_total_24h=counts.total_24h,
        )
        if isinstance(decision, otp.BudgetExhausted):
            self._warn_budget(now)
        if isinstance(decision, otp.AccountDailyLimit):
            # answered like a mismatch, so the limit does not reveal a valid account and phone
            matched, account_id = False, None
        elif not isinstance(decision, otp.IssueAllowed):
            return decision
        code, pending = otp.new_pending_code(
            now, key=self.key, scope=self._scope(chat_id, account_id), limits=self.limits
        )
        await self.codes.replace(
            chat_id=chat_id,
            chat_ref=chat_ref,
            account_id=account_id,
            code_hash=pending.code_hash,
            expires_at=pending.expires_at,
            sms_sent=matched,
            now=now,
        )
        if matched and account is not None:
            try:
                await self.sms.send(account.phone, compose(code))
            except SmsError as exc:
                log.warning("code for chat %s not sent: %s", chat_id, type(exc).__name__)
                await self.codes.discard(chat_id)
                await self.codes.forget_issue(chat_ref)
                return SmsUnavailable()
        return CodeSent()

    def _warn_budget(self, now: datetime) -> None:
        if self._budget_warned_at and now - self._budget_warned_at < timedelta(days=1):
            return
        self._budget_warned_at = now
        log.error(
            "daily SMS budget of %d codes is spent; no codes until it frees up",
            self.limits.daily_budget,
        )
        if self.on_budget_exhausted is not None:
            self.on_budget_exhausted()

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
        assert stored is not None and stored.account_id is not None
        account = await self.accounts.get(stored.account_id)
        assert account is not None
        others = [c for c in await self.links.chats_of(account.id) if c != chat_id]
        created = await self.links.link(chat_id, account.id, now)
        return Linked(account=account, already_linked=not created, other_chats=others)
