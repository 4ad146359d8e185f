"""Quiet hours (SPEC §2 QUIET_HOURS): local hours in which no reminder or announcement is sent.

`21:00-09:00` runs over midnight: quiet from 21:00 up to, not including, 09:00 the next day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

_SPAN = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """`HH:MM-HH:MM`, or None for an empty text (no quiet hours); ValueError otherwise."""
        if not text.strip():
            return None
        match = _SPAN.fullmatch(text.strip())
        if match is None:
            raise ValueError("must be HH:MM-HH:MM (e.g. 21:00-09:00), or empty to turn it off")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        try:
            start, end = time(h1, m1), time(h2, m2)
        except ValueError:
            raise ValueError("hours must be 00-23 and minutes 00-59") from None
        if start == end:
            raise ValueError("start and end must differ (leave it empty to turn it off)")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        """Whether a local wall-clock time is quiet (the start is, the end is not)."""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def quiet_at(self, moment: datetime, tz: tzinfo) -> bool:
        return self.contains(moment.astimezone(tz).time())

    def start_after(self, moment: datetime, tz: tzinfo) -> datetime:
        """The first start of quiet hours after `moment` (aware), as an aware local datetime."""
        local = moment.astimezone(tz)
        start = datetime.combine(local.date(), self.start, tzinfo=tz)
        if start <= local:
            start = datetime.combine(local.date() + timedelta(days=1), self.start, tzinfo=tz)
        return start

    def end_after(self, moment: datetime, tz: tzinfo) -> datetime:
        """The first end of quiet hours after `moment` (aware), as an aware local datetime."""
        local = moment.astimezone(tz)
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end
