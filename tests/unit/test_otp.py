from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.otp import (
    NEVER_MATCHES,
    AccountDailyLimit,
    BudgetExhausted,
    ChatDailyLimit,
    CodeAccepted,
    CodeExhausted,
    CodeExpired,
    CodeWrong,
    IssueAllowed,
    IssueDecision,
    NoPendingCode,
    OtpLimits,
    PendingCode,
    ResendTooSoon,
    code_matches,
    generate_code,
    hash_code,
    may_issue,
    new_pending_code,
    normalize_code,
    unmatchable_pending_code,
    verify,
)

KEY = b"k" * 32
SCOPE = "chat:42|account:1001"
LIMITS = OtpLimits()
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))


def pending_for(code: str, *, attempts: int = 0, issued: datetime = T0) -> PendingCode:
    return PendingCode(
        code_hash=hash_code(KEY, code, scope=SCOPE),
        expires_at=issued + timedelta(seconds=LIMITS.ttl_seconds),
        attempts=attempts,
        scope=SCOPE,
    )


def issue(
    now: datetime = T0,
    *,
    last_sent_to_chat: datetime | None = None,
    sent_to_chat_24h: int = 0,
    sent_to_account_24h: int = 0,
    sent_total_24h: int = 0,
) -> IssueDecision:
    return may_issue(
        now,
        limits=LIMITS,
        last_sent_to_chat=last_sent_to_chat,
        sent_to_chat_24h=sent_to_chat_24h,
        sent_to_account_24h=sent_to_account_24h,
        sent_total_24h=sent_total_24h,
    )


# --- codes -----------------------------------------------------------------------------------


def test_codes_are_six_ascii_digits() -> None:
    for _ in range(500):
        code = generate_code()
        assert len(code) == 6
        assert code.isascii() and code.isdigit()


def test_codes_keep_leading_zeros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.domain.otp.secrets.randbelow", lambda _n: 42)
    assert generate_code() == "000042"


def test_codes_vary() -> None:
    assert len({generate_code() for _ in range(50)}) > 1


def test_hash_is_not_the_code_and_is_keyed() -> None:
    digest = hash_code(KEY, "123456", scope=SCOPE)
    assert "123456" not in digest
    assert digest != hash_code(b"other key", "123456", scope=SCOPE)
    assert digest == hash_code(KEY, "123456", scope=SCOPE)


def test_hash_bound_to_scope() -> None:
    stored = hash_code(KEY, "123456", scope="chat:42|account:1001")
    assert code_matches(KEY, "123456", "chat:42|account:1001", stored)
    assert not code_matches(KEY, "123456", "chat:43|account:1001", stored)
    assert not code_matches(KEY, "123456", "chat:42|account:1002", stored)


@pytest.mark.parametrize("typed", ["123456", " 123 456 ", "123-456", "12 34 56\n"])
def test_typed_code_ignores_spaces_and_dashes(typed: str) -> None:
    assert code_matches(KEY, typed, SCOPE, hash_code(KEY, "123456", scope=SCOPE))


@pytest.mark.parametrize(
    "typed", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "１２３４５６", "123.456", "+123456"]
)
def test_non_six_ascii_digits_never_match(typed: str) -> None:
    assert normalize_code(typed) is None
    assert not code_matches(KEY, typed, SCOPE, hash_code(KEY, "123456", scope=SCOPE))


@given(st.text())
def test_code_matching_never_raises(typed: str) -> None:
    code_matches(KEY, typed, SCOPE, hash_code(KEY, "000000", scope=SCOPE))


# --- verifying -------------------------------------------------------------------------------


def test_right_code_is_accepted() -> None:
    assert verify(T0, "123456", pending_for("123456"), key=KEY, limits=LIMITS) == CodeAccepted()


def test_code_valid_until_just_before_ttl() -> None:
    now = T0 + timedelta(seconds=LIMITS.ttl_seconds - 1)
    assert verify(now, "123456", pending_for("123456"), key=KEY, limits=LIMITS) == CodeAccepted()


def test_code_expires_after_ttl() -> None:
    now = T0 + timedelta(seconds=LIMITS.ttl_seconds)
    assert verify(now, "123456", pending_for("123456"), key=KEY, limits=LIMITS) == CodeExpired()


def test_wrong_code_reports_tries_left() -> None:
    result = verify(T0, "654321", pending_for("123456"), key=KEY, limits=LIMITS)
    assert result == CodeWrong(tries_left=LIMITS.max_attempts - 1)


def test_code_dies_after_max_attempts() -> None:
    pending = pending_for("123456")
    results = []
    for _ in range(LIMITS.max_attempts):
        result = verify(T0, "000000", pending, key=KEY, limits=LIMITS)
        results.append(result)
        if isinstance(result, CodeWrong):  # the caller persists attempts + 1
            pending = PendingCode(
                pending.code_hash, pending.expires_at, pending.attempts + 1, pending.scope
            )
    assert results == [CodeWrong(4), CodeWrong(3), CodeWrong(2), CodeWrong(1), CodeExhausted()]


def test_exhausted_code_refuses_even_the_right_code() -> None:
    pending = pending_for("123456", attempts=LIMITS.max_attempts)
    assert verify(T0, "123456", pending, key=KEY, limits=LIMITS) == CodeExhausted()


def test_malformed_input_counts_as_a_wrong_try() -> None:
    result = verify(T0, "hello", pending_for("123456"), key=KEY, limits=LIMITS)
    assert result == CodeWrong(tries_left=LIMITS.max_attempts - 1)


def test_no_pending_code() -> None:
    assert verify(T0, "123456", None, key=KEY, limits=LIMITS) == NoPendingCode()


def test_code_from_another_scope_is_wrong() -> None:
    foreign = pending_for("123456")
    moved = PendingCode(foreign.code_hash, foreign.expires_at, 0, "chat:43|account:1001")
    assert isinstance(verify(T0, "123456", moved, key=KEY, limits=LIMITS), CodeWrong)


def test_new_pending_code_matches_its_code_and_expires_after_ttl() -> None:
    code, pending = new_pending_code(T0, key=KEY, scope=SCOPE, limits=LIMITS)
    assert pending.attempts == 0
    assert pending.expires_at == T0 + timedelta(seconds=LIMITS.ttl_seconds)
    assert code not in pending.code_hash
    assert verify(T0, code, pending, key=KEY, limits=LIMITS) == CodeAccepted()


@given(st.one_of(st.from_regex(r"\A[0-9]{6}\Z"), st.text()))
def test_no_typed_text_matches_a_code_that_was_never_sent(typed: str) -> None:
    pending = unmatchable_pending_code(T0, scope=SCOPE, limits=LIMITS)
    assert pending.code_hash == NEVER_MATCHES
    assert not code_matches(KEY, typed, SCOPE, NEVER_MATCHES)
    assert isinstance(verify(T0, typed, pending, key=KEY, limits=LIMITS), CodeWrong)


def test_times_in_other_zones_compare_as_instants() -> None:
    now_utc = (T0 + timedelta(seconds=LIMITS.ttl_seconds)).astimezone(UTC)
    assert verify(now_utc, "123456", pending_for("123456"), key=KEY, limits=LIMITS) == (
        CodeExpired()
    )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        verify(datetime(2026, 11, 27, 12, 0), "123456", None, key=KEY, limits=LIMITS)
    with pytest.raises(ValueError):
        issue(datetime(2026, 11, 27, 12, 0))


# --- issuing ---------------------------------------------------------------------------------


def test_first_code_is_allowed() -> None:
    assert issue() == IssueAllowed()


def test_resend_too_soon_reports_wait() -> None:
    last = T0 - timedelta(seconds=20)
    assert issue(last_sent_to_chat=last) == ResendTooSoon(retry_in_seconds=40)


def test_resend_wait_rounds_up() -> None:
    last = T0 - timedelta(seconds=59, milliseconds=500)
    assert issue(last_sent_to_chat=last) == ResendTooSoon(retry_in_seconds=1)


def test_resend_allowed_once_interval_passed() -> None:
    last = T0 - timedelta(seconds=LIMITS.resend_seconds)
    assert issue(last_sent_to_chat=last, sent_to_chat_24h=1) == IssueAllowed()


def test_daily_limit_per_chat() -> None:
    assert issue(sent_to_chat_24h=LIMITS.daily_limit - 1) == IssueAllowed()
    assert issue(sent_to_chat_24h=LIMITS.daily_limit) == ChatDailyLimit()


def test_daily_limit_per_account() -> None:
    assert issue(sent_to_account_24h=LIMITS.daily_limit - 1) == IssueAllowed()
    assert issue(sent_to_account_24h=LIMITS.daily_limit) == AccountDailyLimit()


def test_global_budget_stops_sending() -> None:
    assert issue(sent_total_24h=LIMITS.daily_budget - 1) == IssueAllowed()
    assert issue(sent_total_24h=LIMITS.daily_budget) == BudgetExhausted()


def test_issue_checks_run_budget_then_resend_then_chat_then_account() -> None:
    just_now = T0 - timedelta(seconds=1)
    over = LIMITS.daily_limit
    budget = LIMITS.daily_budget
    assert (
        issue(
            last_sent_to_chat=just_now,
            sent_to_chat_24h=over,
            sent_to_account_24h=over,
            sent_total_24h=budget,
        )
        == BudgetExhausted()
    )
    assert isinstance(
        issue(last_sent_to_chat=just_now, sent_to_chat_24h=over, sent_to_account_24h=over),
        ResendTooSoon,
    )
    assert issue(sent_to_chat_24h=over, sent_to_account_24h=over) == ChatDailyLimit()


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        OtpLimits(max_attempts=0)
    with pytest.raises(ValueError):
        OtpLimits(resend_seconds=-1)
