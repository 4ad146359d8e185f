"""What the bot knows about accounts, meters and chats; plain values passed between layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from bot.domain.periods import Period

# The kinds of reminder a chat can switch on and off, in the order they are shown (SPEC §7).
REMINDER_KINDS = ("opening", "closing", "verification")


class Resource(StrEnum):
    COLD_WATER = "cold_water"
    HOT_WATER = "hot_water"
    ELECTRICITY = "electricity"
    GAS = "gas"
    HEAT = "heat"


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    number: str
    phone: str
    address: str | None
    els: str | None = None  # единый лицевой счёт in ГИС ЖКХ, when the import gave it


@dataclass(frozen=True, slots=True)
class LastReading:
    values: tuple[int, ...]  # one value per tariff zone, T1 first
    taken_on: date | None


@dataclass(frozen=True, slots=True)
class Meter:
    id: int
    account_id: int
    serial: str
    resource: Resource
    tariffs: int
    digits: int | None
    verified_until: date | None
    window_start: int | None
    window_end: int | None
    last: LastReading | None  # newest of the imported reading and the bot's submissions
    submitted_period: str | None = None  # period of the newest current submission, if any
    gis_meter_number: str | None = None  # «Номер ПУ в ГИС ЖКХ», when the import gave it
    closed: bool = False  # replaced, or absent from a full snapshot: kept for its history

    @property
    def serial_tail(self) -> str:
        return self.serial[-4:]


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: int
    locale: str | None
    active: bool
    current_account_id: int | None
    remind_opening: bool
    remind_closing: bool
    remind_verification: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as saved, with its receipt; replaced_at once a correction replaced it."""

    id: int
    meter_id: int
    period: Period
    values: tuple[int, ...]  # one per tariff zone, T1 first
    submitted_at: datetime
    receipt: str
    replaced_at: datetime | None
    replaces: bool  # an earlier submission for the same meter and period exists


@dataclass(frozen=True, slots=True)
class SavedReading:
    reading: StoredReading
    duplicate: bool  # the request key had been saved before: nothing new was written


class RecentReading(NamedTuple):
    """A current reading as the checks of a new value see it (see recent_current)."""

    period: Period
    values: tuple[int, ...]  # one per tariff zone, T1 first
    submitted_at: datetime


@dataclass(frozen=True, slots=True)
class ExportRow:
    account: str
    serial: str
    resource: str
    period: Period
    values: tuple[int | None, int | None, int | None]
    submitted_at: datetime
    receipt: str
    replaced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The operators' figures for one period, as counted in the database."""

    linked_chats: int
    accounts: int
    linked_accounts: int
    meters: int
    meters_with_reading: int
    submissions: int  # every submission for the period, corrections included
    corrections: int


# What saving a reading refuses (the store raises them, the submission service answers them).


class MeterGone(LookupError):
    """The meter was removed from the database while the resident was typing."""


class MeterClosed(LookupError):
    """The meter was closed while the resident was typing: replaced by another (``replaced``)
    or no longer in the billing system's snapshot."""

    def __init__(self, meter_id: int, *, replaced: bool) -> None:
        super().__init__(meter_id)
        self.replaced = replaced


class ChatNotLinked(LookupError):
    """The chat is not (or no longer) linked to the account the reading is for."""


class RequestKeyTaken(LookupError):
    """The request key was saved by another chat: a crafted or replayed button."""


@dataclass(frozen=True, slots=True)
class Upserted:
    """What one batch of an import did: its rows and accounts, those created, and those changed
    (created or updated)."""

    rows: int
    accounts: int
    accounts_created: int
    accounts_changed: int
    meters_created: int
    meters_changed: int
    meters_replaced: int = 0  # closed by a row's `replaces`
    links_ended: int = 0  # by a changed phone, each with a notice to its chat


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading an import's stage did beyond its upserts: links a changed phone ended,
    meters a `replaces` closed, and (a full snapshot) accounts and meters closed as absent and
    the links their closing ended. Each link ended queued a notice to its chat."""

    links_ended: int = 0
    meters_replaced: int = 0
    accounts_closed: int = 0
    meters_closed: int = 0
    links_closed: int = 0


@dataclass(frozen=True, slots=True)
class FullSnapshot:
    """A load whose file is the whole truth (`sync --full`): what it lacks is closed, unless
    that is more than ``max_close_share`` of the open accounts and not ``force``d."""

    max_close_share: float
    force: bool = False


class SnapshotTooSmall(Exception):
    """A full snapshot would close more than the allowed share of the open accounts: most
    likely a truncated file. Nothing was written."""

    def __init__(self, closing: int, open_accounts: int, share: float) -> None:
        super().__init__(closing, open_accounts, share)
        self.closing = closing
        self.open_accounts = open_accounts
        self.share = share
