"""What the bot knows about accounts, meters and chats; plain values passed between layers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain.periods import Period


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
