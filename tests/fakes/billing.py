"""A fake billing system receiving the bot's webhooks (SPEC §10), on aiohttp.web over loopback.

It verifies each request as a receiving side would (the README's snippet, written here again
rather than imported from the bot, so a mistake on one side is caught by the other): the
Standard Webhooks signature over the raw body, in constant time, with five minutes' tolerance
on `webhook-timestamp`. A request that fails the check gets 401 and is recorded as invalid.

Scripted replies answer valid requests::

    fake.script_each(Fail(500), Fail(500))  # the first two tries of every webhook-id, then
    fake.script(Fail(429, retry_after="1"), Refuse("значение меньше предыдущего"), Hang())

- :class:`Fail`: that status (500, 503, 429 with Retry-After, 408, 302), no body to speak of;
- :class:`Refuse`: a 4xx (422 by default) with ``{"reason": ...}`` (or no body: reason None);
- :class:`Hang`: wait ``seconds`` (None: until :meth:`release` or :meth:`stop`), then accept;
  :attr:`FakeBilling.hanging` is set while one waits;
- :class:`Gone`: 410.
Unscripted valid requests are accepted (204).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["Fail", "FakeBilling", "Gone", "Hang", "Received", "Refuse", "new_secret"]

TOLERANCE_SECONDS = 5 * 60


def new_secret(key: bytes = b"billing-test-key-of-32-bytes!!!!") -> str:
    return "whsec_" + base64.b64encode(key).decode()


@dataclass(frozen=True)
class Fail:
    status: int
    retry_after: str | None = None


@dataclass(frozen=True)
class Refuse:
    reason: str | None
    status: int = 422


@dataclass(frozen=True)
class Hang:
    seconds: float | None = None


@dataclass(frozen=True)
class Gone:
    pass


Reply = Fail | Refuse | Hang | Gone


@dataclass
class Received:
    event_id: str
    timestamp: str
    valid: bool
    body: bytes
    status: int | None = None  # what the fake answered (None: the client left first)
    at: float = field(default_factory=time.monotonic)

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiving side checks (the README's snippet)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TOLERANCE_SECONDS:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.removeprefix("v1,"))
        for sig in headers.get("webhook-signature", "").split()
        if sig.startswith("v1,")
    )


class FakeBilling:
    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or new_secret()
        self.url = ""  # set by start()
        self.received: list[Received] = []
        self._script: deque[Reply] = deque()
        self._each: tuple[Reply, ...] = ()
        self._tries: dict[str, int] = defaultdict(int)
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._released = asyncio.Event()
        self._changed = asyncio.Event()
        self.hanging = asyncio.Event()

    # --- what the test sets up --------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Replies for the next valid requests, in order, once a webhook-id's `script_each`
        replies are used up."""
        self._script.extend(replies)

    def script_each(self, *replies: Reply) -> None:
        """Replies for the first tries of every webhook-id."""
        self._each = replies

    def release(self) -> None:
        """End every hang now, and let later ones pass at once."""
        self._released.set()

    # --- what it got ------------------------------------------------------------------------

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.accepted]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    # --- the server -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}/webhook"
        return self.url

    async def stop(self) -> None:
        self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeBilling:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _next_reply(self, event_id: str) -> Reply | None:
        tried = self._tries[event_id]
        self._tries[event_id] += 1
        if tried < len(self._each):
            return self._each[tried]
        return self._script.popleft() if self._script else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        received = Received(
            headers.get("webhook-id", ""),
            headers.get("webhook-timestamp", ""),
            verify(self.secret, headers, body),
            body,
        )
        self.received.append(received)
        try:
            response = await self._answer(received)
            # a client that left during a hang (a timeout, a killed bot) never got the answer
            gone = request.transport is None or request.transport.is_closing()
            received.status = None if gone else response.status
            return response
        finally:
            self._changed.set()

    async def _answer(self, received: Received) -> web.Response:
        if not received.valid:
            return web.json_response({"reason": "bad signature"}, status=401)
        reply = self._next_reply(received.event_id)
        if isinstance(reply, Hang):
            self.hanging.set()
            self._changed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hang_ends(), reply.seconds)
            self.hanging.clear()
            reply = None
        if isinstance(reply, Fail):
            headers = {"Retry-After": reply.retry_after} if reply.retry_after else None
            return web.Response(status=reply.status, text="failure", headers=headers)
        if isinstance(reply, Refuse):
            if reply.reason is None:
                return web.Response(status=reply.status, text="refused")
            return web.json_response({"reason": reply.reason}, status=reply.status)
        if isinstance(reply, Gone):
            return web.Response(status=410, text="gone")
        return web.Response(status=204)

    async def _hang_ends(self) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        released = asyncio.ensure_future(self._released.wait())
        try:
            await asyncio.wait({stopping, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            released.cancel()


async def serve(port: int, secret: str) -> None:
    """`python -m tests.fakes.billing PORT SECRET`: a receiver for benchmarks and by hand."""
    fake = FakeBilling(secret)
    await fake.start(port=port)
    print(fake.url, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
