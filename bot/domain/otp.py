"""The one-time code policy used to link a chat to an account (SPEC §5.4–5.5).

Pure rules, no I/O: the caller passes the current time (timezone-aware), the counters it keeps
and the stored :class:`PendingCode`, and persists whatever these functions decide.

Codes come from :mod:`secrets`, are stored only as a keyed HMAC bound to a scope (so a hash
copied from one pending link is useless for another), and are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

__all__ = [
    "CODE_LENGTH",
    "NEVER_MATCHES",
    "AccountDailyLimit",
    "BudgetExhausted",
    "ChatDailyLimit",
    "CodeAccepted",
    "CodeExhausted",
    "CodeExpired",
    "CodeToStore",
    "CodeWrong",
    "IssueAllowed",
    "IssueCounts",
    "IssueDecision",
    "NoPendingCode",
    "OtpLimits",
    "PendingCode",
    "ResendTooSoon",
    "SmsStatus",
    "StoredCode",
    "VerifyResult",
    "code_matches",
    "generate_code",
    "hash_code",
    "may_issue",
    "new_pending_code",
    "normalize_code",
    "unmatchable_pending_code",
    "verify",
]

CODE_LENGTH = 6
_ASCII_DIGITS = frozenset("0123456789")
# Characters people put inside a code they retype ("123 456", "123-456").
_CODE_SEPARATORS = str.maketrans("", "", " \t\u00a0-\u2010\u2011\u2012\u2013\u2014\u2212")
# Versioned domain tag: a hash made for anything else with the same key never collides.
_HASH_DOMAIN = b"otp-v1"
# Stored instead of a hash when no code was sent: not hex, so no HMAC of any code equals it.
NEVER_MATCHES = "never-matches"


# --- codes -----------------------------------------------------------------------------------


def generate_code() -> str:
    """A fresh code: six ASCII digits from :mod:`secrets`, leading zeros allowed."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def normalize_code(typed: str) -> str | None:
    """The typed text as a six-digit code, or ``None`` when it cannot be one.

    Spaces and dashes are dropped; anything but exactly six ASCII digits remains (other
    scripts' digits, letters, a five-digit typo) yields ``None``.
    """
    candidate = typed.strip().translate(_CODE_SEPARATORS)
    if len(candidate) != CODE_LENGTH or not all(ch in _ASCII_DIGITS for ch in candidate):
        return None
    return candidate


def hash_code(key: bytes, code: str, *, scope: str) -> str:
    """HMAC-SHA256 (hex) of ``code`` bound to ``scope``, e.g. ``"chat:42|account:1001"``.

    ``code`` must already be the canonical six digits (see :func:`normalize_code`). The code
    is the fixed-length tail of the message, so no scope can be confused with another.
    """
    message = b"\x00".join((_HASH_DOMAIN, scope.encode("utf-8"), code.encode("ascii")))
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, code: str, scope: str, stored_hash: str) -> bool:
    """Whether the typed ``code`` is the one whose hash is ``stored_hash`` for ``scope``.

    The typed text is normalised first; text that is not six ASCII digits never matches,
    and nothing matches :data:`NEVER_MATCHES`. The comparison runs in constant time (the
    hash is computed for the marker too, so it answers no faster).
    """
    canonical = normalize_code(code)
    if canonical is None:
        return False
    same = hmac.compare_digest(hash_code(key, canonical, scope=scope), stored_hash)
    return same and stored_hash != NEVER_MATCHES


# --- limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OtpLimits:
    """The limits of SPEC §2 (OTP_* and SMS_DAILY_BUDGET)."""

    ttl_seconds: int = 300
    max_attempts: int = 5
    resend_seconds: int = 60
    daily_limit: int = 5
    daily_budget: int = 1000

    def __post_init__(self) -> None:
        for name in ("ttl_seconds", "max_attempts", "daily_limit", "daily_budget"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.resend_seconds < 0:
            raise ValueError("resend_seconds must not be negative")


# --- issuing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssueAllowed:
    """A code may be sent now."""


@dataclass(frozen=True)
class ResendTooSoon:
    """The chat got a code less than ``resend_seconds`` ago; try again in this many seconds."""

    retry_in_seconds: int


@dataclass(frozen=True)
class ChatDailyLimit:
    """The chat has had ``daily_limit`` codes in the last 24 hours."""


@dataclass(frozen=True)
class AccountDailyLimit:
    """The account has had ``daily_limit`` codes in the last 24 hours."""


@dataclass(frozen=True)
class BudgetExhausted:
    """The whole bot has sent ``daily_budget`` codes in the last 24 hours: warn the admins."""


IssueDecision = IssueAllowed | ResendTooSoon | ChatDailyLimit | AccountDailyLimit | BudgetExhausted


def may_issue(
    now: datetime,
    *,
    limits: OtpLimits,
    last_sent_to_chat: datetime | None,
    sent_to_chat_24h: int,
    sent_to_account_24h: int,
    sent_total_24h: int,
) -> IssueDecision:
    """Decide whether a new code may be sent, from counts the caller keeps for the last 24 h.

    Checks run in this order and the first that fails decides:

    1. the global budget (:class:`BudgetExhausted`): it protects the operator's money and is
       the one the admins must hear about, whatever else is true;
    2. the resend interval (:class:`ResendTooSoon`): the common case (a double tap on
       "send again") gets the mildest answer, a short wait;
    3. the per-chat daily limit (:class:`ChatDailyLimit`);
    4. the per-account daily limit (:class:`AccountDailyLimit`).

    Callers count every code attempted, however its SMS ended (sent, failed, timed out), and
    must decide and record in one atomic step, or concurrent requests all pass. The account
    counters exist only for accounts whose phone matched, so to keep SPEC §5.4 (nobody can
    probe which accounts exist) show :class:`AccountDailyLimit` as the same neutral answer as
    a mismatch.
    """
    _require_aware(now, "now")
    if sent_total_24h >= limits.daily_budget:
        return BudgetExhausted()
    if last_sent_to_chat is not None:
        _require_aware(last_sent_to_chat, "last_sent_to_chat")
        elapsed = (now - last_sent_to_chat).total_seconds()
        if elapsed < limits.resend_seconds:
            return ResendTooSoon(
                retry_in_seconds=max(1, math.ceil(limits.resend_seconds - elapsed))
            )
    if sent_to_chat_24h >= limits.daily_limit:
        return ChatDailyLimit()
    if sent_to_account_24h >= limits.daily_limit:
        return AccountDailyLimit()
    return IssueAllowed()


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingCode:
    """A code waiting to be typed, as stored: never the code itself, only its keyed hash."""

    code_hash: str
    expires_at: datetime
    attempts: int
    scope: str


def new_pending_code(
    now: datetime, *, key: bytes, scope: str, limits: OtpLimits
) -> tuple[str, PendingCode]:
    """A fresh code for ``scope`` and the record to store; the plain code goes only to the SMS.

    Storing it replaces any earlier pending code for the same scope (a new code voids the old).
    """
    _require_aware(now, "now")
    code = generate_code()
    pending = PendingCode(
        code_hash=hash_code(key, code, scope=scope),
        expires_at=now + timedelta(seconds=limits.ttl_seconds),
        attempts=0,
        scope=scope,
    )
    return code, pending


def unmatchable_pending_code(now: datetime, *, scope: str, limits: OtpLimits) -> PendingCode:
    """The record stored when no code was sent (the details did not match): it looks like a
    pending code to whoever types, and no typed text ever matches it."""
    _require_aware(now, "now")
    return PendingCode(
        code_hash=NEVER_MATCHES,
        expires_at=now + timedelta(seconds=limits.ttl_seconds),
        attempts=0,
        scope=scope,
    )


@dataclass(frozen=True)
class CodeAccepted:
    """Right code: link the chat, then delete the pending code (a code is used once)."""


@dataclass(frozen=True)
class CodeWrong:
    """Wrong code; ``tries_left`` counts after this try and is at least 1."""

    tries_left: int


@dataclass(frozen=True)
class CodeExpired:
    """The code outlived its TTL: delete it; the resident asks for a new one."""


@dataclass(frozen=True)
class CodeExhausted:
    """The code is void after ``max_attempts`` wrong tries: delete it."""


@dataclass(frozen=True)
class NoPendingCode:
    """Nothing is waiting for this chat (never sent, already used, or deleted)."""


VerifyResult = CodeAccepted | CodeWrong | CodeExpired | CodeExhausted | NoPendingCode


def verify(
    now: datetime,
    typed: str,
    pending: PendingCode | None,
    *,
    key: bytes,
    limits: OtpLimits,
) -> VerifyResult:
    """Judge a typed code against the pending one.

    Checks, in order: no pending code; attempts already at ``max_attempts`` (void code, e.g.
    left behind by a crash); expiry (``now >= expires_at``); then the code itself.

    Every answer to the code prompt is a try: text that is not six ASCII digits (after
    dropping spaces and dashes) is a wrong try like any other, so the number of guesses per
    code stays bounded whatever is typed. A handler that wants to be lenient with obvious
    typos may check :func:`normalize_code` first and re-ask without calling this function.

    Contract for the caller, which owns the storage:

    - :class:`CodeWrong`: persist ``attempts + 1``;
    - :class:`CodeAccepted`, :class:`CodeExpired`, :class:`CodeExhausted`: delete the
      pending code (the last wrong try returns :class:`CodeExhausted`, not ``CodeWrong(0)``);
    - :class:`NoPendingCode`: nothing to persist.

    Use one transaction (or a conditional update on ``attempts``) for read-verify-write, so
    two concurrent tries cannot both be counted as the first.
    """
    _require_aware(now, "now")
    if pending is None:
        return NoPendingCode()
    if pending.attempts >= limits.max_attempts:
        return CodeExhausted()
    _require_aware(pending.expires_at, "pending.expires_at")
    if now >= pending.expires_at:
        return CodeExpired()
    if code_matches(key, typed, pending.scope, pending.code_hash):
        return CodeAccepted()
    tries_left = limits.max_attempts - (pending.attempts + 1)
    if tries_left <= 0:
        return CodeExhausted()
    return CodeWrong(tries_left=tries_left)


# --- what is stored --------------------------------------------------------------------------

SmsStatus = Literal["sent", "failed"]  # what became of a code's SMS


@dataclass(frozen=True, slots=True)
class StoredCode:
    """The chat's pending code as the store keeps it (see :class:`PendingCode`)."""

    chat_id: int
    account_id: int | None
    code_hash: str
    expires_at: datetime
    attempts: int
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class IssueCounts:
    """What :func:`may_issue` is asked about, as counted in the store."""

    last_to_chat: datetime | None
    chat_24h: int
    account_24h: int
    total_24h: int


@dataclass(frozen=True, slots=True)
class CodeToStore:
    """The chat's new pending code and whether an SMS goes out for it (to the account's phone)."""

    account_id: int | None
    sms: bool
    code_hash: str
    expires_at: datetime


def _require_aware(moment: datetime, name: str) -> None:
    # A naive datetime would silently mean "server local time"; refuse it.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
