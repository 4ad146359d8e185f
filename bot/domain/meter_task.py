"""One meter to read in a submission walk, with everything its checks need (SPEC §6); kept in
the conversation's data as JSON between updates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.domain.periods import Period
from bot.domain.readings import PreviousReading
from bot.domain.windows import SubmissionWindow


@dataclass(frozen=True, slots=True)
class ZoneBasis:
    """What a zone's new value is judged against."""

    previous: PreviousReading | None
    recent: tuple[int, ...]  # usual consumption over the same span, one per recent period

    @property
    def average(self) -> float | None:
        return sum(self.recent) / len(self.recent) if self.recent else None


@dataclass(frozen=True, slots=True)
class MeterTask:
    """One meter to read, with everything the checks need: lives in the FSM data as JSON."""

    meter_id: int
    account_id: int
    resource: str
    serial: str
    tariffs: int
    digits: int | None
    window_start: int
    window_end: int
    period: Period
    correction: bool  # a current reading for the period exists: the new one replaces it
    zones: tuple[ZoneBasis, ...]
    months: int = 1  # since the previous reading, a started month counted whole (the ceiling's)

    @property
    def serial_tail(self) -> str:
        return self.serial[-4:]

    @property
    def window(self) -> SubmissionWindow:
        return SubmissionWindow(self.window_start, self.window_end)

    @property
    def max_digits(self) -> int:
        return self.digits or 9

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.meter_id,
            "account": self.account_id,
            "resource": self.resource,
            "serial": self.serial,
            "tariffs": self.tariffs,
            "digits": self.digits,
            "window": [self.window_start, self.window_end],
            "period": str(self.period),
            "correction": self.correction,
            "months": self.months,
            "zones": [
                {
                    "prev": None
                    if z.previous is None
                    else [
                        z.previous.value,
                        z.previous.taken_on.isoformat() if z.previous.taken_on else None,
                    ],
                    "recent": list(z.recent),
                }
                for z in self.zones
            ],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> MeterTask:
        zones = []
        for z in data["zones"]:
            prev = z["prev"]
            previous = (
                None
                if prev is None
                else PreviousReading(prev[0], date.fromisoformat(prev[1]) if prev[1] else None)
            )
            zones.append(ZoneBasis(previous, tuple(z["recent"])))
        return cls(
            meter_id=data["id"],
            account_id=data["account"],
            resource=data["resource"],
            serial=data["serial"],
            tariffs=data["tariffs"],
            digits=data["digits"],
            window_start=data["window"][0],
            window_end=data["window"][1],
            period=Period.parse(data["period"]),
            correction=data["correction"],
            zones=tuple(zones),
            months=data.get("months", 1),  # a conversation saved before the ceilings came
        )


def consumption_since(task: MeterTask, zone: int, value: int) -> int | None:
    """Consumption since the previous reading, rollover included; None without one."""
    previous = task.zones[zone].previous
    if previous is None:
        return None
    if value >= previous.value:
        return value - previous.value
    if task.digits:
        counter_size: int = 10**task.digits  # the counter wraps round to 0 here
        return counter_size - previous.value + value
    return None
