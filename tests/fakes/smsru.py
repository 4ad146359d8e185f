"""A fake SMS.ru (``GET /sms/send``) on aiohttp.web, for unit tests and process-level tests.

Unscripted requests are accepted. Each scripted reply answers one request, in order::

    fake.script(Refuse(220), HttpError(500), Hang(1.0))   # then success again

- :class:`Accept`: top-level OK and per-number status_code 100 (the message is recorded);
- :class:`Refuse`: an error status_code, top-level (``per_number=False``, like 220 or 200)
  or for the recipient only (``per_number=True``, like 207);
- :class:`HttpError`: a bare HTTP status with a non-JSON body;
- :class:`Hang`: wait that many seconds (or until :meth:`FakeSmsRu.release` or
  :meth:`FakeSmsRu.stop`), then answer with ``then`` (accept by default);
  :attr:`FakeSmsRu.hang_over` is set when a hang has ended.

A request without the right api_id gets SMS.ru's error 200 and consumes no scripted reply.
The fake's access log is off: it would print the query string, api_id and code included.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from dataclasses import dataclass

from aiohttp import web

__all__ = ["Accept", "FakeSmsRu", "Hang", "HttpError", "Refuse", "Reply"]

_CODE = re.compile(r"(?<![0-9])[0-9]{6}(?![0-9])")


@dataclass(frozen=True)
class Accept:
    balance: float = 4122.56


@dataclass(frozen=True)
class Refuse:
    status_code: int
    per_number: bool = False
    status_text: str = "Ошибка"


@dataclass(frozen=True)
class HttpError:
    status: int


@dataclass(frozen=True)
class Hang:
    seconds: float
    then: Accept | Refuse | HttpError | None = None


Reply = Accept | Refuse | HttpError | Hang


class FakeSmsRu:
    def __init__(self, api_id: str | None = None) -> None:
        """``api_id``: the only one accepted; ``None`` accepts any non-empty api_id."""
        self.api_id = api_id
        self.base_url = ""  # set by start()
        self.requests: list[dict[str, str]] = []  # every request's query, as received
        self.messages: list[dict[str, str]] = []  # accepted messages: {"to": ..., "msg": ...}
        self._script: deque[Reply] = deque()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._released = asyncio.Event()
        self._arrived = asyncio.Event()  # set on every accepted message
        self.hang_over = asyncio.Event()  # set when a Hang has ended, by time or release()
        self._sms_counter = 0

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order; afterwards requests are accepted."""
        self._script.extend(replies)

    def last_code_for(self, phone: str) -> str | None:
        """The six-digit code in the last message accepted for ``phone`` (E.164 or digits)."""
        recipient = phone.removeprefix("+")
        for message in reversed(self.messages):
            if message["to"] == recipient:
                match = _CODE.search(message["msg"])
                return match.group() if match else None
        return None

    async def wait_for_code(self, phone: str, timeout: float = 15.0) -> str | None:
        """The code for ``phone`` once a message reaches it (the bot sends in the background)."""
        async with asyncio.timeout(timeout):
            while (code := self.last_code_for(phone)) is None:
                self._arrived.clear()
                await self._arrived.wait()
        return code

    def release(self) -> None:
        """End every hang now, and let later ones pass at once."""
        self._released.set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving; returns the base URL to give the sender (``http://host:port``)."""
        app = web.Application()
        app.router.add_get("/sms/send", self._handle_send)
        self._stopping.clear()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers at once
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _handle_send(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self.requests.append(query)
        api_id = query.get("api_id", "")
        if not api_id or (self.api_id is not None and api_id != self.api_id):
            return _error(200, "Неправильный api_id")

        reply = self._script.popleft() if self._script else Accept()
        if isinstance(reply, Hang):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hang_ends(), reply.seconds)
            self.hang_over.set()
            reply = reply.then or Accept()
        if isinstance(reply, HttpError):
            return web.Response(status=reply.status, text="gateway error")

        recipients = [to for to in query.get("to", "").split(",") if to]
        if not recipients or "msg" not in query:
            return _error(202, "Неправильно указан номер телефона получателя")
        if isinstance(reply, Refuse) and not reply.per_number:
            return _error(reply.status_code, reply.status_text)

        per_number: dict[str, dict[str, object]] = {}
        for to in recipients:
            if isinstance(reply, Refuse):
                per_number[to] = {
                    "status": "ERROR",
                    "status_code": reply.status_code,
                    "status_text": reply.status_text,
                }
                continue
            self._sms_counter += 1
            self.messages.append({"to": to, "msg": query["msg"]})
            self._arrived.set()
            per_number[to] = {
                "status": "OK",
                "status_code": 100,
                "sms_id": f"000000-{10000000 + self._sms_counter}",
            }
        balance = reply.balance if isinstance(reply, Accept) else 4122.56
        return web.json_response(
            {"status": "OK", "status_code": 100, "sms": per_number, "balance": balance}
        )

    async def _hang_ends(self) -> None:
        stopping = asyncio.ensure_future(self._stopping.wait())
        released = asyncio.ensure_future(self._released.wait())
        try:
            await asyncio.wait({stopping, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            released.cancel()


def _error(status_code: int, status_text: str) -> web.Response:
    return web.json_response(
        {"status": "ERROR", "status_code": status_code, "status_text": status_text}
    )
