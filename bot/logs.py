"""Logging: one format on stderr; no line, at any level, holds a secret or personal data (SPEC §13).

LOG_FORMAT=text (default) prints lines for people; LOG_FORMAT=json one JSON object a line for
log collectors: time, level, logger, message, and while an update is handled its id, the
handler that took it and the chat (hashed with a key only the installation holds); the line that
closes an update adds its duration and outcome (bot.middlewares.update_watch).

Our own log calls name chats by id and mask phones. Three things guard the rest:
- libraries that print what they carry are held above DEBUG whatever LOG_LEVEL says: aiosqlite
  logs every statement with its parameters at DEBUG (phones, account numbers, readings);
- the secrets of the settings (the token, SMS.ru's api_id) are cut out of every formatted line,
  tracebacks included, should a library ever put a URL with the token in an error;
- in JSON, a chat id our messages name ("chat 123", "admin 123") is hashed like the field.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]

# logger -> the lowest level it may log at, whatever LOG_LEVEL says
QUIETED_LOGGERS = {
    "aiosqlite": logging.INFO,  # DEBUG: "executing <statement, parameters>"
    "aiohttp.access": logging.WARNING,  # the webhook/health server's request lines
    "alembic.runtime.plugins": logging.WARNING,  # "setup plugin …" at every import of Alembic
}
# aiogram's own line per update ("Update id=… is handled. Duration … ms"): ours says more
AIOGRAM_UPDATE_LINE = "Update id=%s is %s. Duration %d ms by bot id=%d"
# "chat 123" in our messages; "chat_id=123", "user_id=123", "Chat(id=123" in the reprs of aiogram's
# objects that an exception's text may carry (a StorageKey, an Update)
CHAT_IN_MESSAGE = re.compile(r"\b(chat|admin|chat_id|user_id|Chat\(id|User\(id)([ =])(-?\d+)\b")


@dataclass(slots=True)
class UpdateInHand:
    """What is known of the update the current task handles (set by the update watch): its
    log lines carry it; its metrics are labelled by the handler's area."""

    update_id: int
    chat_id: int | None = None
    handler: str | None = None
    area: str | None = None


current_update: ContextVar[UpdateInHand | None] = ContextVar("current_update", default=None)


class RedactingFormatter(logging.Formatter):
    """Replaces each secret by `<secret>` in the whole formatted record, traceback included."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object a line; secrets cut, chat ids hashed (`chat_hash`)."""

    def __init__(self, secrets: Iterable[str], chat_key: bytes) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self.chat_key = chat_key

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._clean(record.getMessage()),
        }
        update = current_update.get()
        if update is not None:
            entry["update_id"] = update.update_id
            if update.handler is not None:
                entry["handler"] = update.handler
            if update.chat_id is not None:
                entry["chat"] = self.chat_hash(update.chat_id)
        for name in ("duration_ms", "outcome"):
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self._clean(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = self._clean(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)

    def chat_hash(self, chat_id: int) -> str:
        key = self.chat_key[:64]  # blake2b's longest key
        return hashlib.blake2b(str(chat_id).encode(), key=key, digest_size=6).hexdigest()

    def _clean(self, text: str) -> str:
        text = CHAT_IN_MESSAGE.sub(lambda m: f"{m[1]}{m[2]}#{self.chat_hash(int(m[3]))}", text)
        return redact(text, self.secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text


def _not_aiogram_update_line(record: logging.LogRecord) -> bool:
    return record.msg != AIOGRAM_UPDATE_LINE


def setup_logging(
    level: str,
    secrets: Iterable[str] = (),
    *,
    log_format: LogFormat = "text",
    chat_key: bytes = b"",
) -> None:
    """``chat_key``: the key chat ids are hashed with in JSON (an installation's own secret)."""
    secrets = tuple(secrets)
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter(secrets, chat_key))
    else:
        handler.setFormatter(RedactingFormatter(FORMAT, secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    root_level = logging.getLogger().level
    for name, lowest in QUIETED_LOGGERS.items():
        logging.getLogger(name).setLevel(max(lowest, root_level))
    event = logging.getLogger("aiogram.event")
    event.removeFilter(_not_aiogram_update_line)
    event.addFilter(_not_aiogram_update_line)
