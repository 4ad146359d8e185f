"""How moments and days are written to the database: ISO 8601 text, moments in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime


def to_db(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day_from_db(text: str | None) -> date | None:
    return None if not text else date.fromisoformat(text)
