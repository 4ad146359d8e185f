"""Telegram's POSTs in webhook mode (SPEC §12, §13): every request gets a defined answer.

aiogram's `SimpleRequestHandler`, with its reading of the request replaced: aiogram's parses
the update inside the background task it starts, so a body that is no update was answered 200
and then raised there ("Task exception was never retrieved", uncounted), and one not JSON was
aiohttp's 500 with a traceback. Here the body is read and validated before the answer, once:

- without the right `X-Telegram-Bot-Api-Secret-Token`: 401, nothing read (aiogram's check);
- an update: 200 at once, handled in the background (`Dispatcher.feed_update`, where the
  updates in hand are held for a stop);
- JSON that is no update this bot can take (not an Update, or of no kind aiogram knows): 200,
  so that Telegram drops it rather than retry it for ever;
- not JSON (an empty body too): 400; over aiohttp's 1 MiB: 413. Telegram sends neither.

Each of the last three is one warning line of `bot.updates` (the update's id when it has a
numeric one, never the body: it may hold a phone or a reading) and counts in
`bot_updates_total{area="none", outcome="invalid"}`. The Content-Type is not looked at.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.logs import UpdateInHand, current_update
from bot.metrics import BotMetrics

log = logging.getLogger("bot.updates")  # beside the line that closes each update taken in

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ERRORS_NAMED = 3  # of a body that is no Update, the first few fields at fault


class NotAnUpdate(Exception):
    """A JSON body this bot cannot take as an update; its text names fields, never values."""

    def __init__(self, reason: str, update_id: int | None) -> None:
        super().__init__(reason)
        self.update_id = update_id


class WebhookHandler(SimpleRequestHandler):
    """Answers each request itself (above), then feeds the update it validated."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret: str, metrics: BotMetrics):
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret)
        self.metrics = metrics
        self.feeding: set[asyncio.Task[None]] = set()  # held here so none is collected early

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refused(413, f"over {request.client_max_size} bytes")
        try:
            raw = self.bot.session.json_loads(body.decode())
        except ValueError:  # not UTF-8, or not JSON
            return self._refused(400, f"not JSON ({len(body)} bytes)")
        try:
            update = read_update(raw, self.bot)
        except NotAnUpdate as exc:
            self._invalid(exc.update_id, f"(answered 200, dropped): {exc}")
            return web.json_response({})
        task = asyncio.create_task(self._feed(update))
        self.feeding.add(task)
        task.add_done_callback(self.feeding.discard)
        return web.json_response({})

    __call__ = handle

    async def _feed(self, update: Update) -> None:
        result = await self.dispatcher.feed_update(self.bot, update, **self.data)
        if isinstance(result, TelegramMethod):  # a handler's answer "in the webhook's reply"
            try:
                await self.dispatcher.silent_call_request(self.bot, result)
            except Exception as exc:  # in a task nobody awaits: one line, not a traceback
                log.error("update %d: its answer failed: %s", update.update_id, type(exc).__name__)

    def _refused(self, status: int, reason: str) -> web.Response:
        self._invalid(None, f"(answered {status}): {reason}")
        return web.Response(status=status, text=f"{reason}\n")

    def _invalid(self, update_id: int | None, reason: str) -> None:
        self.metrics.updates.labels("none", "invalid").inc()
        if update_id is None:
            log.warning("update invalid %s", reason, extra={"outcome": "invalid"})
            return
        token = current_update.set(UpdateInHand(update_id))  # its id in the JSON line too
        try:
            log.warning("update %d invalid %s", update_id, reason, extra={"outcome": "invalid"})
        finally:
            current_update.reset(token)


def read_update(raw: Any, bot: Bot) -> Update:
    """The update, bound to `bot` (aiogram would parse an unbound one again); NotAnUpdate
    for what the dispatcher could not take."""
    try:
        update = Update.model_validate(raw, context={"bot": bot})
    except ValidationError as exc:
        raise NotAnUpdate(fields_at_fault(exc), update_id_of(raw)) from None
    try:
        _ = update.event_type  # raises for an update of no kind aiogram knows
    except UpdateTypeLookupError:
        # aiogram's own warning for it would print the whole update
        raise NotAnUpdate("of no kind this bot knows", update.update_id) from None
    return update


def update_id_of(raw: Any) -> int | None:
    """The update's id, if the body has a numeric one: anything else there is the body."""
    update_id = raw.get("update_id") if isinstance(raw, dict) else None
    return update_id if isinstance(update_id, int) and not isinstance(update_id, bool) else None


def fields_at_fault(exc: ValidationError) -> str:
    """`message.chat: missing`: where and what kind of error, never the value found there."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    named = [
        f"{'.'.join(str(part) for part in error['loc']) or 'the body'}: {error['type']}"
        for error in errors[:ERRORS_NAMED]
    ]
    more = len(errors) - ERRORS_NAMED
    return "; ".join(named) + (f" and {more} more" if more > 0 else "")
