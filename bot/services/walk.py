"""The submission walk (SPEC §6): where a resident is among the meters they are reading.

A value kept in the FSM data between updates; its moves return a new walk, and the handlers
load it, call a move, save it and render. `to_data()` writes the dict shape the bot has always
kept there, so a conversation saved by the previous version loads unchanged; data that holds
no walk loads as None and the resident is asked to start again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.domain.meter_task import MeterTask


@dataclass(frozen=True, slots=True)
class KeptReading:
    """A meter of this walk whose reading was confirmed and saved."""

    resource: str
    serial: str
    receipt: str


@dataclass(frozen=True, slots=True)
class SkippedMeter:
    resource: str
    serial: str


@dataclass(frozen=True, slots=True)
class SubmissionWalk:
    account_id: int
    through_due: bool  # every due meter in turn (Skip offered); False: one meter picked
    tasks: tuple[MeterTask, ...]  # the meters still to read, the current one first
    total: int  # meters in the walk when it began
    position: int = 1  # the current meter's number, from 1
    zone: int = 0  # the zone asked for next (0 for T1)
    values: tuple[int, ...] = ()  # the current meter's values so far, one per zone
    pending: int | None = None  # a value waiting for "are you sure?"
    key: str = ""  # the step's key: its buttons carry it; Confirm's is the idempotency key
    kept: tuple[KeptReading, ...] = ()
    skipped: tuple[SkippedMeter, ...] = ()

    @classmethod
    def begin(cls, tasks: list[MeterTask], *, account_id: int, through_due: bool) -> SubmissionWalk:
        if not tasks:
            raise ValueError("a walk needs at least one meter")
        return cls(
            account_id=account_id, through_due=through_due, tasks=tuple(tasks), total=len(tasks)
        )

    @property
    def current(self) -> MeterTask:
        return self.tasks[0]

    @property
    def has_every_value(self) -> bool:
        """Every zone of the current meter has its value: the confirmation comes next."""
        return self.zone >= self.current.tariffs

    @property
    def shows_position(self) -> bool:
        return self.through_due and self.total > 1

    @property
    def is_over(self) -> bool:
        return not self.tasks

    # --- moves -------------------------------------------------------------------------------

    def at_step(self, key: str, *, pending: int | None = None) -> SubmissionWalk:
        """A new step under a fresh key; a value waiting for "are you sure?" goes with it."""
        return replace(self, key=key, pending=pending)

    def accept(self, value: int) -> SubmissionWalk:
        """The current zone's value is taken; the next zone (or the confirmation) follows."""
        if self.has_every_value:
            raise ValueError("every zone of this meter already has its value")
        return replace(self, values=(*self.values, value), zone=self.zone + 1, pending=None)

    def accept_pending(self) -> SubmissionWalk:
        """ "Yes, it is right" to an "are you sure?"."""
        if self.pending is None:
            raise ValueError("no value is waiting to be confirmed")
        return self.accept(self.pending)

    def change(self) -> SubmissionWalk:
        """The current meter's values are asked again from its first zone."""
        return replace(self, zone=0, values=(), pending=None)

    def keep(self, receipt: str) -> SubmissionWalk:
        """The current meter's reading is saved under `receipt`; on to the next meter."""
        meter = self.current
        kept = KeptReading(meter.resource, meter.serial, receipt)
        return replace(self, kept=(*self.kept, kept)).advance()

    def skip(self) -> SubmissionWalk:
        """The current meter is left unread; on to the next meter."""
        meter = self.current
        skipped = SkippedMeter(meter.resource, meter.serial)
        return replace(self, skipped=(*self.skipped, skipped)).advance()

    def advance(self) -> SubmissionWalk:
        """On to the next meter; a single meter picked, or the last one, ends the walk."""
        rest = self.tasks[1:] if self.through_due else ()
        position = self.position + 1 if rest else self.position
        return replace(self, tasks=rest, position=position, zone=0, values=(), pending=None)

    # --- the FSM data ------------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        return {
            "account": self.account_id,
            "walk": self.through_due,
            "tasks": [task.to_data() for task in self.tasks],
            "total": self.total,
            "pos": self.position,
            "zone": self.zone,
            "values": list(self.values),
            "pending": self.pending,
            "key": self.key,
            "saved": [[k.resource, k.serial, k.receipt] for k in self.kept],
            "skipped": [[s.resource, s.serial] for s in self.skipped],
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SubmissionWalk | None:
        """The walk saved in `data`; None when it holds none this version can read."""
        try:
            tasks = tuple(MeterTask.from_data(task) for task in data["tasks"])
            if not tasks:
                return None
            pending = data.get("pending")
            return cls(
                account_id=int(data["account"]),
                through_due=bool(data["walk"]),
                tasks=tasks,
                total=int(data.get("total", len(tasks))),
                position=int(data.get("pos", 1)),
                zone=int(data.get("zone", 0)),
                values=tuple(int(v) for v in data.get("values", ())),
                pending=None if pending is None else int(pending),
                key=str(data.get("key", "")),
                kept=tuple(KeptReading(*map(str, k)) for k in data.get("saved", ())),
                skipped=tuple(SkippedMeter(*map(str, s)) for s in data.get("skipped", ())),
            )
        except (KeyError, IndexError, TypeError, ValueError):
            return None
