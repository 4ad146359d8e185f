"""How moments and days are written as text: ISO 8601, moments in UTC to the microsecond.

Storage writes and reads every moment with these; the export's fast path
(``bot.services.export``) relies on the same shape to turn stored text into local time without
parsing every row. Plain functions of ``datetime``: a neutral place both layers may import.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def to_db(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day_from_db(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text)
