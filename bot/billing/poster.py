"""Posts one signed event to BILLING_WEBHOOK_URL and says what came of it (the services'
`EventPoster`): no redirect followed, 15 s for the whole exchange, the reason of a refusal
read from a small JSON body."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import aiohttp

from bot.billing.signing import headers
from bot.domain.outbox import POST_TIMEOUT_SECONDS, REASON_LIMIT, Answer

MAX_BODY = 4096  # bytes of an answer read for its reason
CONNECTIONS = 64  # kept open to the billing system, at most


class WebhookPoster:
    def __init__(
        self,
        url: str,
        key: bytes,
        *,
        timeout: float = POST_TIMEOUT_SECONDS,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._key = key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._wall_clock = wall_clock  # the receiver checks webhook-timestamp against its own
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS), timeout=self._timeout
            )
        return self._session

    async def post(self, event_id: str, body: bytes) -> Answer:
        """One try; a fresh webhook-timestamp and signature each time."""
        sent = headers(self._key, event_id, int(self._wall_clock()), body)
        try:
            async with self._client().post(
                self.url, data=body, headers=sent, allow_redirects=False
            ) as response:
                reason = None
                if 400 <= response.status < 500:
                    reason = _reason(await response.content.read(MAX_BODY))
                else:
                    await response.read()  # the connection goes back to the pool
                return Answer(response.status, response.headers.get("Retry-After"), reason)
        except TimeoutError:
            return Answer(None, error=f"no answer in {self._timeout.total:.0f} s")
        except (aiohttp.ClientError, OSError) as exc:
            return Answer(None, error=type(exc).__name__)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)  # let the connector's transports close


def _reason(body: bytes) -> str | None:
    """`{"reason": "..."}` of a refusal; anything else gives none."""
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    reason = found.get("reason") if isinstance(found, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return None
    return " ".join(reason.split())[:REASON_LIMIT]
