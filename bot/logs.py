"""Logging: one format on stderr; no line, at any level, holds a secret or personal data (SPEC §13).

Our own log calls name chats by id and mask phones. Two things guard the rest:
- libraries that print what they carry are held above DEBUG whatever LOG_LEVEL says: aiosqlite
  logs every statement with its parameters at DEBUG (phones, account numbers, readings);
- the secrets of the settings (the token, SMS.ru's api_id) are cut out of every formatted line,
  tracebacks included, should a library ever put a URL with the token in an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# logger -> the lowest level it may log at, whatever LOG_LEVEL says
QUIETED_LOGGERS = {
    "aiosqlite": logging.INFO,  # DEBUG: "executing <statement, parameters>"
    "aiohttp.access": logging.WARNING,  # the webhook/health server's request lines
}


class RedactingFormatter(logging.Formatter):
    """Replaces each secret by `<secret>` in the whole formatted record, traceback included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(FORMAT, secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    root_level = logging.getLogger().level
    for name, lowest in QUIETED_LOGGERS.items():
        logging.getLogger(name).setLevel(max(lowest, root_level))
