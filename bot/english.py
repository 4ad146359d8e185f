"""English for the operators' command-line output and logs, which are not translated.

Residents' texts go through Fluent (locales/), with Russian plural forms; this is only for
the few counts the command line prints ("1 reminder due", "3 readings exported").
"""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """'1 reminder', '0 reminders', '2 reminders'; `plural` for nouns not made with an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
