"""What a failed send means for the delivery: try again, unknown, or done for good."""

from __future__ import annotations

import aiohttp
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

_NEVER_CONNECTED = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)


def failure_kind(exc: BaseException) -> str:
    """What a failed send means: 'retry' (surely not delivered, may be next time), 'unknown'
    (the request went out and may have been delivered), 'blocked' or 'failed' (for good)."""
    if isinstance(exc, TelegramForbiddenError):
        return "blocked"
    if isinstance(exc, TelegramServerError | TelegramRetryAfter | ConnectionRefusedError):
        return "retry"
    if isinstance(exc, TelegramNetworkError):
        cause = exc.__cause__
        # the connection was never made, so the request never left
        return "retry" if isinstance(cause, _NEVER_CONNECTED) else "unknown"
    if isinstance(exc, OSError | TimeoutError):
        return "unknown"
    return "failed"
