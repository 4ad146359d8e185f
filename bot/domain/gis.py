"""ГИС ЖКХ's identifiers, as the billing system's file gives them (SPEC §4; BILLING.md)."""

from __future__ import annotations

import re

# единый лицевой счёт: two digits, two Cyrillic capitals, six digits (10 characters)
ELS_PATTERN = re.compile(r"[0-9]{2}[А-Я]{2}[0-9]{6}")
MAX_GIS_METER_NUMBER_LENGTH = 64


def is_els(text: str) -> bool:
    """Whether ``text`` is an ЕЛС exactly as ГИС ЖКХ writes it (no spaces, capitals only)."""
    return ELS_PATTERN.fullmatch(text) is not None
