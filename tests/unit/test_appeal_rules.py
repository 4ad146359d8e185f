"""The rules of appeals that need no bot (bot/domain/appeals.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.appeals import (
    MAX_ATTACHMENTS,
    Appeal,
    AppealDraft,
    Attachment,
    appeal_number,
    overdue,
)

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SLA = timedelta(hours=24)


def appeal(**changes: Any) -> Appeal:
    base = Appeal(
        id=123,
        chat_id=1001,
        account_id=1,
        topic="meter",
        first_name="Иван",
        locale="ru",
        status="open",
        thread_id=77,
        created_at=NOW,
        waiting_since=NOW,
        sla_alerted_at=None,
        answered_at=None,
        rating=None,
    )
    return replace(base, **changes)


def test_an_appeal_is_known_by_a_six_digit_number() -> None:
    assert appeal_number(123) == "A-000123" == appeal().number


def test_a_draft_survives_the_fsm_data_and_refuses_an_eleventh_file() -> None:
    draft = AppealDraft.begin("bill").with_text("  вопрос  ")
    for n in range(MAX_ATTACHMENTS):
        draft = draft.attach(Attachment("photo", n))
    assert AppealDraft.from_data(draft.to_data()) == draft
    assert draft.text == "вопрос" and draft.full
    with pytest.raises(ValueError):
        draft.attach(Attachment("document", 99))
    with pytest.raises(ValueError):
        AppealDraft.begin("weather")
    with pytest.raises(ValueError):
        draft.with_text("я" * 4001)
    assert AppealDraft.from_data({"appeal": {"topic": "weather"}}) is None


def test_overdue_once_per_wait() -> None:
    assert not overdue(appeal(), NOW + SLA - timedelta(seconds=1), SLA)
    assert overdue(appeal(), NOW + SLA, SLA)
    raised = appeal(sla_alerted_at=NOW + SLA)
    assert not overdue(raised, NOW + 3 * SLA, SLA)
    # answered, then written to again: a new wait
    again = replace(raised, waiting_since=NOW + 2 * SLA)
    assert overdue(again, NOW + 3 * SLA, SLA)
    assert not overdue(appeal(waiting_since=None), NOW + 3 * SLA, SLA)  # answered
    assert not overdue(appeal(thread_id=None), NOW + 3 * SLA, SLA)  # not in the chat yet
    assert not overdue(appeal(status="closed"), NOW + 3 * SLA, SLA)
