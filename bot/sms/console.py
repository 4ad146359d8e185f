"""Development-only provider: writes the message to the log instead of sending it."""

from __future__ import annotations

import logging

from bot.domain.phone import mask_phone

__all__ = ["ConsoleSmsSender"]

logger = logging.getLogger("bot.sms.console")


class ConsoleSmsSender:
    """Logs each message at WARNING, phone masked.

    This is the only place in the bot where a code may reach a log line (SPEC §5.5), which is
    why it logs at WARNING: it must be noticed if it ever runs in production.
    """

    async def send(self, phone: str, text: str) -> None:
        logger.warning("SMS (console provider, not sent) to %s: %s", mask_phone(phone), text)

    async def close(self) -> None:
        return None
