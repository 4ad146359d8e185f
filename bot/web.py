"""The HTTP server of a running bot (SPEC §12, §13), one per process, in both run modes:
`GET /healthz`, `/readyz` and `/metrics`, and in webhook mode Telegram's POSTs on the path of
WEBHOOK_URL, through aiogram's request handler (bot/webhook.py).

A webhook request is answered at once and its update handled in the background (Telegram
waits for no handler); one without the right `X-Telegram-Bot-Api-Secret-Token` gets 401 and
is not handled; a body that is no update gets a defined answer and one line (bot/webhook.py).
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiohttp import web

from bot.app import App
from bot.metrics import CONTENT_TYPE
from bot.startup import StartupError
from bot.webhook import WebhookHandler

log = logging.getLogger(__name__)

READY_TIMEOUT_SECONDS = 2.0  # a database (or Redis) slower than this to answer is not ready
# Webhook requests are answered before their update is handled, so those in hand at a stop
# end at once; this only bounds a client that is slow to send its body.
REQUESTS_GRACE_SECONDS = 0.5


class HttpServer:
    def __init__(self, app: App, *, webhook: bool) -> None:
        self._app = app
        self._webhook = webhook
        routes = web.Application()
        routes.router.add_get("/healthz", self.healthz)
        routes.router.add_get("/readyz", self.readyz)
        routes.router.add_get("/metrics", self.metrics)
        if webhook:
            secret = app.settings.webhook_secret
            assert secret is not None  # Settings refuses webhook mode without it
            handler = WebhookHandler(
                app.dispatcher, app.bot, secret=secret.get_secret_value(), metrics=app.metrics
            )
            # The route alone (not handler.register, which closes the bot's session on the
            # server's stop): the session must outlive the drain of the updates in hand.
            routes.router.add_post(app.settings.webhook_path, handler.handle)
        self._runner = web.AppRunner(
            routes, access_log=None, shutdown_timeout=REQUESTS_GRACE_SECONDS
        )
        self.port: int | None = None

    async def start(self) -> None:
        """Listen on HTTP_HOST:HTTP_PORT; a port taken or refused is a StartupError."""
        host, port = self._app.settings.http_host, self._app.settings.http_port
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            reason = os.strerror(exc.errno) if exc.errno else str(exc)  # "Address already in use"
            raise StartupError(
                f"the HTTP server cannot listen on {host}:{port}: {reason} (HTTP_HOST, HTTP_PORT)"
            ) from None
        self.port = site.port
        paths = ["/healthz", "/readyz", "/metrics"]
        if self._webhook:
            paths.append(f"POST {self._app.settings.webhook_path}")
        log.info("HTTP on %s:%d: %s", host, self.port, ", ".join(paths))

    async def stop(self) -> None:
        """No new connection, requests in hand answered; what they started is not waited."""
        await self._runner.cleanup()

    async def healthz(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, _request: web.Request) -> web.Response:
        for name, ping in self._app.storage.readiness():  # the database, and Redis if used
            try:
                await asyncio.wait_for(ping(), READY_TIMEOUT_SECONDS)
            except TimeoutError:
                return web.Response(status=503, text=f"{name}: no answer\n")
            except Exception as exc:  # closed, unreadable, gone: not ready, whatever the reason
                return web.Response(status=503, text=f"{name}: {type(exc).__name__}\n")
        return web.Response(text="ready\n")

    async def metrics(self, _request: web.Request) -> web.Response:
        body = await self._app.metrics.scrape()  # the database's gauges read afresh
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
