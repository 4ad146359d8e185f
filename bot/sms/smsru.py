"""SMS.ru provider: ``GET {base_url}/sms/send?api_id=…&to=7XXXXXXXXXX&msg=…&json=1``.

The JSON answer has a top-level ``status`` (``OK``/``ERROR``) and ``status_code``, and for each
recipient an entry under ``sms`` with its own ``status_code``; 100 means accepted. Network
errors, timeouts, HTTP 5xx and codes 220 (service temporarily unavailable) and 500 are retried
with exponential back-off; every other error is final.

Secrets stay out of the log: the request URL carries the api_id and the message (which holds
the code), so neither the URL nor an aiohttp exception's text (which may quote it) is logged or
chained into the errors raised; only the masked phone, the attempt and the status code are.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import aiohttp

from bot.domain.phone import mask_phone
from bot.sms.base import RefusalCause, SmsFinalError, SmsTemporaryError

__all__ = ["RETRYABLE_STATUS_CODES", "SmsRuSender"]

logger = logging.getLogger("bot.sms.smsru")

ACCEPTED = 100
# 220: the service is temporarily unavailable; 500: an error on SMS.ru's side.
RETRYABLE_STATUS_CODES = frozenset({220, 500})
# SMS.ru's refusals that the operator fixes in the account (the rest: `other`)
REFUSAL_CAUSES: dict[int, RefusalCause] = {
    201: "balance",  # not enough money on the account
    204: "sender",  # the sender name is not approved
    200: "account",  # wrong api_id
    300: "account",  # wrong token (expired, or the IP changed)
    301: "account",  # wrong api_id, or login/password
    302: "account",  # the account is not confirmed
}
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class _Retryable(Exception):
    """One attempt failed in a way worth repeating; ``reason`` is safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmsRuSender:
    """Sends through SMS.ru's HTTP API.

    ``retries`` is the total number of attempts (at least 1); between attempts the sender
    waits ``backoff * 2 ** (attempt - 1)`` seconds through ``sleep``. ``timeout`` bounds each
    attempt. A ``session`` passed in stays the caller's to close; otherwise the sender creates
    one on first use and :meth:`close` closes it.

    Redirects are not followed: the api_id must never be sent to a host a redirect names.
    A timed-out attempt may still have been delivered, so a retry can, rarely, send twice.
    """

    def __init__(
        self,
        api_id: str,
        base_url: str = "https://sms.ru",
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
        session: aiohttp.ClientSession | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not api_id:
            raise ValueError("SMS.ru api_id is required")
        if retries < 1:
            raise ValueError("retries must be at least 1")
        if backoff < 0 or timeout <= 0:
            raise ValueError("backoff must not be negative and timeout must be positive")
        self._api_id = api_id
        self._url = base_url.rstrip("/") + "/sms/send"
        self._retries = retries
        self._backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._sleep = sleep

    def __repr__(self) -> str:
        # Keep the api_id out of any repr that ends up in a log or a traceback.
        return f"SmsRuSender(url={self._url!r}, retries={self._retries})"

    async def send(self, phone: str, text: str) -> None:
        """Send ``text`` unchanged to ``phone`` (E.164).

        Raises :class:`SmsFinalError` at the first non-retryable refusal and
        :class:`SmsTemporaryError` once ``retries`` attempts have failed.
        """
        if not _E164.fullmatch(phone):
            raise ValueError("phone must be in E.164 form, e.g. +79161234567")
        recipient = phone[1:]
        masked = mask_phone(phone)
        last_reason = "no attempt made"
        for attempt in range(1, self._retries + 1):
            try:
                await self._attempt(recipient, text, masked)
            except _Retryable as failure:
                last_reason = failure.reason
                logger.warning(
                    "SMS.ru attempt %d/%d to %s failed: %s",
                    attempt,
                    self._retries,
                    masked,
                    failure.reason,
                )
            else:
                return
            if attempt < self._retries:
                await self._sleep(self._backoff * 2 ** (attempt - 1))
        logger.error("SMS.ru gave up on %s after %d attempts", masked, self._retries)
        raise SmsTemporaryError(
            f"SMS.ru did not accept the message after {self._retries} attempts: {last_reason}"
        )

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _attempt(self, recipient: str, text: str, masked: str) -> None:
        params = {"api_id": self._api_id, "to": recipient, "msg": text, "json": "1"}
        try:
            async with self._client().get(
                self._url, params=params, timeout=self._timeout, allow_redirects=False
            ) as response:
                http_status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The exception's text may quote the URL, and so the api_id: only its type is kept.
            raise _Retryable(type(exc).__name__) from None

        if http_status >= 500 or http_status == 429:
            raise _Retryable(f"HTTP {http_status}")
        if http_status != 200:
            logger.error("SMS.ru answered HTTP %d for %s", http_status, masked)
            raise SmsFinalError(None, f"HTTP {http_status}")
        try:
            answer = _decode(raw)
        except ValueError:
            # A proxy's error page or a cut-off body: the next attempt may get a real answer.
            raise _Retryable("unreadable answer") from None

        top_code = _status_code(answer)
        if answer.get("status") != "OK":
            self._refuse(top_code, answer, masked)
        per_number = answer.get("sms")
        entry = per_number.get(recipient) if isinstance(per_number, dict) else None
        if not isinstance(entry, dict):
            logger.error("SMS.ru answer has no status for %s", masked)
            raise SmsFinalError(None, "no status for the recipient in the answer")
        number_code = _status_code(entry)
        if entry.get("status") != "OK" or number_code != ACCEPTED:
            self._refuse(number_code, entry, masked)
        logger.info("SMS.ru accepted SMS to %s (status_code=%d)", masked, number_code)

    def _refuse(self, code: int | None, answer: dict[str, Any], masked: str) -> NoReturn:
        if code in RETRYABLE_STATUS_CODES:
            raise _Retryable(f"status_code={code}")
        description = str(answer.get("status_text") or "unknown error")
        logger.error("SMS.ru refused SMS to %s: status_code=%s", masked, code)
        cause = REFUSAL_CAUSES.get(code, "other") if code is not None else "other"
        raise SmsFinalError(code, description, cause)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Created lazily: a ClientSession wants a running event loop.
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session


def _decode(raw: bytes) -> dict[str, Any]:
    answer = json.loads(raw.decode("utf-8"))
    if not isinstance(answer, dict):
        raise ValueError("the answer is not a JSON object")
    return answer


def _status_code(answer: dict[str, Any]) -> int | None:
    value = answer.get("status_code")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
