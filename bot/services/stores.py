"""What the services ask of storage: one protocol per kind of thing stored, each with exactly
the methods some service calls, in the domain's values (bot/domain).

The repositories in bot/storage implement them structurally (no inheritance): the composition
root passes the concrete ones, and mypy proves each fits where it is passed. A second engine
implements these protocols, and the services do not change. Services import nothing of
bot.storage (tests/test_layers.py holds it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.domain.campaigns import Campaign, Notice, RecipientAccount, RecipientMeter, Rule
from bot.domain.models import (
    Account,
    Chat,
    ExportRow,
    FullSnapshot,
    LastReading,
    Loaded,
    Meter,
    PeriodCounts,
    RecentReading,
    SavedReading,
    StoredReading,
    Upserted,
)
from bot.domain.otp import CodeToStore, IssueCounts, SmsStatus, StoredCode
from bot.domain.outbox import OutboxEvent
from bot.domain.periods import Period

Refusal = TypeVar("Refusal")


# --- accounts, meters, chats and their links --------------------------------------------------


class AccountStore(Protocol):
    async def by_number(self, number: str) -> Account | None: ...
    async def get(self, account_id: int) -> Account | None: ...
    async def current_of_chat(self, chat_id: int) -> Account | None: ...


class MeterStore(Protocol):
    async def get(self, meter_id: int) -> Meter | None: ...
    async def of_account(self, account_id: int, *, with_closed: bool = False) -> list[Meter]: ...


class ChatStore(Protocol):
    async def get(self, chat_id: int) -> Chat | None: ...
    async def ensure(self, chat_id: int, now: datetime) -> None: ...
    async def set_reminder(self, chat_id: int, kind: str, enabled: bool) -> None: ...
    async def set_current_account(self, chat_id: int, account_id: int | None) -> None: ...

    async def forget(self, chat_id: int) -> None:
        """Erase everything kept about the chat; its submitted readings stay, anonymised."""
        ...


class ConversationStore(Protocol):
    async def forget_chat(self, chat_id: int) -> None:
        """Erase the chat's conversation wherever it is kept (the database, or Redis)."""
        ...


class WalkStore(Protocol):
    async def mid_walk(self, chat_ids: Sequence[int]) -> set[int]:
        """Chats among these in the middle of a submission walk, wherever conversations are
        kept (the database, or Redis)."""
        ...


class LinkStore(Protocol):
    async def link(self, chat_id: int, account_id: int, now: datetime) -> bool:
        """Link and make it the chat's current account; False when it was linked already."""
        ...

    async def unlink(self, chat_id: int, account_id: int) -> None: ...
    async def accounts_of(self, chat_id: int) -> list[Account]: ...
    async def is_linked(self, chat_id: int, account_id: int) -> bool: ...
    async def chats_of(self, account_id: int) -> list[int]: ...


# --- one-time codes ---------------------------------------------------------------------------


class OtpStore(Protocol):
    async def pending(self, chat_id: int) -> StoredCode | None: ...

    async def reserve(
        self,
        *,
        chat_id: int,
        chat_ref: str,
        account_id: int | None,
        now: datetime,
        decide: Callable[[IssueCounts], CodeToStore | Refusal],
    ) -> tuple[CodeToStore | Refusal, int | None]:
        """Count, ``decide`` and store the code in one transaction, so the limits hold however
        many ask; the code's issue id comes back with it (None for a refusal)."""
        ...

    async def record_outcome(
        self, issue_id: int, status: SmsStatus, error: str | None = None
    ) -> None: ...

    async def failed_since(self, since: datetime) -> int: ...

    async def claim_alert(self, kind: str, now: datetime, every: timedelta) -> bool:
        """Whether an admin alert of ``kind`` is due now; of many claiming at once, one wins."""
        ...

    async def count_wrong_try(self, chat_id: int) -> None: ...
    async def discard(self, chat_id: int) -> None: ...


# --- readings ---------------------------------------------------------------------------------


class ReadingStore(Protocol):
    async def save(
        self,
        *,
        meter_id: int,
        period: Period,
        values: Sequence[int],
        chat_id: int | None,
        at: datetime,
        request_key: str,
        linked_account_id: int | None = None,
    ) -> SavedReading:
        """Save a submission once per request key, replacing an earlier one for the period;
        raises ChatNotLinked, MeterGone or RequestKeyTaken (bot.domain.models)."""
        ...

    async def by_request_key(self, request_key: str, *, chat_id: int) -> StoredReading | None: ...

    async def recent_current(
        self, meter_ids: Sequence[int], per_meter: int = 8
    ) -> dict[int, list[RecentReading]]: ...

    async def imported_last(self, meter_id: int) -> LastReading | None: ...
    async def history(self, account_id: int, periods: int = 12) -> list[StoredReading]: ...
    async def all_of_account(self, account_id: int) -> list[ExportRow]: ...

    def current_of_period(self, period: Period) -> AsyncGenerator[Sequence[Sequence[Any]], None]:
        """The export's rows of the period, a chunk at a time. A row's cells: account, serial,
        resource, period, t1, t2, t3, submitted_at as `bot.domain.moments.to_db` writes it,
        receipt; the numbers may come as their text and an absent one as "" (PostgreSQL's
        COPY), which the CSV writes alike."""
        ...

    async def counts(self, period: Period) -> PeriodCounts: ...

    async def meters_read_by(self, period: Period, moments: Sequence[datetime]) -> list[int]:
        """For each moment, the meters with a reading for the period submitted before it."""
        ...


# --- campaigns, their recipients and deliveries, notices --------------------------------------


class DeliveryStore(Protocol):
    """Campaigns (reminders, announcements) and where their deliveries stand."""

    async def create_campaign(
        self,
        campaign_id: str,
        kind: str,
        params: dict[str, Any],
        now: datetime,
        *,
        expires_on: date | None = None,
        admin_chat_id: int | None = None,
    ) -> bool:
        """False when a campaign with this id exists already (it ran, or is running)."""
        ...

    async def create_broadcast(
        self, params: dict[str, Any], admin_chat_id: int, now: datetime
    ) -> str: ...

    async def update_params(
        self, campaign_id: str, params: dict[str, Any], expires_on: date | None
    ) -> None: ...

    async def set_progress_message(self, campaign_id: str, message_id: int) -> None: ...
    async def get(self, campaign_id: str) -> Campaign | None: ...
    async def unfinished(self, kinds: Sequence[str]) -> list[Campaign]: ...
    async def counts(self, campaign_id: str) -> dict[str, int]: ...
    async def mark_materialised(self, campaign_id: str, now: datetime) -> None: ...

    async def due(self, campaign_id: str, now: datetime) -> bool:
        """Whether a run would find something to do now."""
        ...

    async def finish(self, campaign_id: str, now: datetime) -> bool:
        """Close the campaign when nothing is left to do; False while something is."""
        ...

    async def expire(self, campaign_id: str, now: datetime) -> int:
        """Drop what is still pending (its window closed) and close the campaign."""
        ...


class RecipientStore(Protocol):
    """Who a campaign goes to, and what a reminder names for each chat."""

    async def window_days(self) -> list[tuple[int | None, int | None]]: ...
    async def verification_due(self, first: date, last: date) -> list[tuple[int, date]]: ...

    async def add_due(
        self,
        campaign_id: str,
        kind: str,
        rules: Sequence[Rule] | None,
        *,
        after: int,
        limit: int,
        now: datetime,
    ) -> tuple[int, int | None]:
        """Record up to ``limit`` recipients after chat ``after``; (rows added, the chat to
        continue after, None when no recipient is left)."""
        ...

    async def count_linked_active(self) -> int: ...

    async def meters_of(
        self, kind: str, rules: Sequence[Rule], chat_ids: Sequence[int]
    ) -> list[RecipientMeter]: ...

    async def accounts_of(
        self, kind: str, rules: Sequence[Rule], chat_ids: Sequence[int]
    ) -> list[RecipientAccount]: ...

    async def locales_of(self, chat_ids: Sequence[int]) -> dict[int, str | None]: ...


class NoticeStore(Protocol):
    async def pending(self, limit: int) -> list[Notice]: ...
    async def done(self, notice: Notice, outcome: str, now: datetime) -> None: ...


# --- the import -------------------------------------------------------------------------------


class Spool(Protocol):
    """Where an import's rows that passed their own checks wait (the stage)."""

    def write(self, rows: list[tuple[Any, ...]]) -> None: ...
    def flush(self) -> None: ...
    def rows_of(self, numbers: Iterable[str]) -> Iterator[tuple[int, str, str]]: ...
    def skip(self, lines: Iterable[int]) -> None: ...


# A stage nothing else opens, for a file of about this many rows (checking without importing).
MakeStage = Callable[[int], AbstractContextManager[Spool]]

StageT = TypeVar("StageT", bound=Spool)


class ImportStore(Protocol[StageT]):
    """The import's writes: a stage beside the bot's database, then loaded into it at once."""

    def attached_stage(self, expected_rows: int) -> AbstractAsyncContextManager[StageT]: ...

    async def load_staged(
        self,
        stage: StageT,
        now: datetime,
        *,
        skipping: bool,
        done: Callable[[Upserted], None],
        snapshot: FullSnapshot | None = None,
    ) -> Loaded:
        """Upsert every staged row in one transaction, calling ``done`` after each batch;
        links a changed phone ended, meters replaced, and with ``snapshot`` what it closed
        (or SnapshotTooSmall, nothing written)."""
        ...


# --- the outbox of readings for the billing system --------------------------------------------


class OutboxStore(Protocol):
    async def claim(
        self, claim: str, now: datetime, until: datetime, limit: int
    ) -> list[OutboxEvent]:
        """Up to `limit` due events (each meter's oldest waiting one only), held for `claim`
        until `until`; safe with several dispatchers."""
        ...

    async def settle(
        self,
        claim: str,
        now: datetime,
        *,
        delivered: Sequence[int] = (),
        changes: Sequence[tuple[int, str, datetime | None, str | None]] = (),
        told: Sequence[tuple[int, str, dict[str, str]]] = (),
    ) -> None: ...

    async def release_others(self, claim: str) -> int: ...
    async def next_due(self, now: datetime) -> datetime | None: ...
    async def gone(self) -> str | None: ...
    async def mark_gone(self, url: str, now: datetime) -> None: ...
    async def waiting(self) -> tuple[int, datetime | None, int]: ...
    async def counts(self) -> dict[str, int]: ...
    async def dead(self, limit: int) -> list[tuple[str, str, datetime, str | None]]: ...
    async def retry_dead(self, now: datetime) -> int: ...
