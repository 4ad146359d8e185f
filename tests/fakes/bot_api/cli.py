"""Serving the fake by hand: ``python -m tests.fakes.bot_api --port 8081 --token 123:ABC``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

from tests.fakes.bot_api.core import DEFAULT_TOKEN, button_texts
from tests.fakes.bot_api.server import FakeBotApi
from tests.fakes.bot_api.wire import Call, dumps


def _print_call(call: Call) -> None:
    if call.method == "getUpdates" and call.ok and not call.response["result"]:
        return
    shown = {k: v for k, v in call.params.items() if k not in {"reply_markup"}}
    buttons = button_texts(call.params) if isinstance(call.params.get("reply_markup"), dict) else []
    suffix = f" buttons={buttons}" if buttons else ""
    print(f"{call.status} {call.method} {dumps(shown)}{suffix}", flush=True)


async def _serve(host: str, port: int, token: str, quiet: bool) -> None:
    api = FakeBotApi(token=token, on_call=None if quiet else _print_call)
    url = await api.start(host, port)
    print(f"Fake Bot API at {url} (token {token}); TELEGRAM_API_URL={url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await api.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Telegram Bot API until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--quiet", action="store_true", help="do not print every call")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.port, args.token, args.quiet))
    return 0
