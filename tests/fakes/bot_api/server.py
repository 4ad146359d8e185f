"""The HTTP server: Bot API routes dispatched to the parts that fake each method, calls recorded
as they arrive, and the control endpoints for pushing updates by hand."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.bot_api.callbacks import Callbacks
from tests.fakes.bot_api.core import DEFAULT_TOKEN
from tests.fakes.bot_api.documents import Documents
from tests.fakes.bot_api.faults import Faults
from tests.fakes.bot_api.forum import Forum
from tests.fakes.bot_api.messages import Messages
from tests.fakes.bot_api.profile import Profile
from tests.fakes.bot_api.updates import Updates
from tests.fakes.bot_api.webhook import Webhooks
from tests.fakes.bot_api.wire import ApiError, Call, UploadedFile, dumps, json_reply, read_params


class FakeBotApi(Forum, Updates, Callbacks, Messages, Documents, Profile, Faults, Webhooks):
    """An in-process Bot API server: push updates in, read what the bot sent.

    Updates wait in a queue until a getUpdates offset confirms them, as in Telegram, and
    ``deleteWebhook(drop_pending_updates=True)`` empties it: a test of a bot that drops pending
    updates at start-up pushes only once ``wait_for_call("getUpdates")`` has returned.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        first_update_id: int = 1,
        strict_html: bool = True,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        super().__init__(
            token, first_update_id=first_update_id, strict_html=strict_html, on_call=on_call
        )
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._methods: dict[str, Callable[[dict[str, Any], dict[str, UploadedFile]], Any]] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "senddocument": self._send_document,
            "sendchataction": self._true,
            "createforumtopic": self._create_forum_topic,
            "closeforumtopic": self._close_forum_topic,
            "deleteforumtopic": self._delete_forum_topic,
            "copymessage": self._copy_message,
            "getchatmember": self._get_chat_member,
            # Harmless start-up calls a bot may make; accepting them keeps tests quiet.
            "setmydescription": self._true,
            "setmyshortdescription": self._true,
            "setchatmenubutton": self._true,
        }

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the base URL for TELEGRAM_API_URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # TELEGRAM_API_URL={url}/NAME: each process's calls carry its NAME (Call.via)
        app.router.add_route("*", "/{via}/bot{token}/{method}", self._handle)
        self._add_control_routes(app)
        self._closing = False
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def calls_to(self, method: str) -> list[Call]:
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> Call:
        """The next call of ``method`` that matches, after those already waited for.

        Returns as soon as the call arrives, so a long poll is seen while it is still waiting.
        """
        wanted = method.lower()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            cursor = self._call_cursors.get(wanted, 0)
            for index in range(cursor, len(self.calls)):
                call = self.calls[index]
                if call.method.lower() == wanted and (predicate is None or predicate(call)):
                    self._call_cursors[wanted] = index + 1
                    return call
            if not await self._wait_activity(deadline):
                seen = ", ".join(call.method for call in self.calls[-20:]) or "none"
                msg = f"no {method} call matched within {timeout} s; last calls: {seen}"
                raise AssertionError(msg)

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params, files = await read_params(request)
        call = Call(method, params, files, token, via=request.match_info.get("via", ""))
        self.calls.append(call)
        self._notify_activity()
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._dispatch(method, params, files)
            status, body = 200, {"ok": True, "result": result}
        except ApiError as error:
            status, body = error.error_code, error.to_json()
        call.status, call.response = status, body
        self._notify_activity()
        if self._on_call is not None:
            self._on_call(call)
        return web.json_response(body, status=status, dumps=dumps)

    async def _dispatch(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        await self._apply_delays(method, params)
        self._apply_faults(method, params)
        handler = self._methods.get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        result = handler(params, files)
        return await result if inspect.isawaitable(result) else result

    def _add_control_routes(self, app: web.Application) -> None:
        async def text(request: web.Request) -> web.Response:
            body = await request.json()
            return json_reply(self.push_text(int(body.pop("chat_id")), body.pop("text"), **body))

        async def contact(request: web.Request) -> web.Response:
            body = await request.json()
            chat_id, phone = int(body.pop("chat_id")), body.pop("phone_number")
            return json_reply(self.push_contact(chat_id, phone, **body))

        async def callback(request: web.Request) -> web.Response:
            body = await request.json()
            chat_id, data = int(body.pop("chat_id")), body.pop("data")
            return json_reply(self.push_callback(chat_id, data, **body))

        async def button(request: web.Request) -> web.Response:
            body = await request.json()
            try:
                update = self.push_button(int(body["chat_id"]), None, body["text"])
            except AssertionError as error:
                return json_reply({"error": str(error)}, status=404)
            return json_reply(update)

        async def update(request: web.Request) -> web.Response:
            return json_reply(self.push_update(await request.json()))

        async def sent(request: web.Request) -> web.Response:
            return json_reply(self.sent_to(request.match_info["chat_id"]))

        async def calls(request: web.Request) -> web.Response:
            return json_reply(
                [{"method": c.method, "params": c.params, "status": c.status} for c in self.calls]
            )

        app.router.add_post("/_fake/text", text)
        app.router.add_post("/_fake/contact", contact)
        app.router.add_post("/_fake/callback", callback)
        app.router.add_post("/_fake/button", button)
        app.router.add_post("/_fake/update", update)
        app.router.add_get("/_fake/sent/{chat_id}", sent)
        app.router.add_get("/_fake/calls", calls)
