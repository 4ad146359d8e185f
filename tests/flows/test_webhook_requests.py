"""Every POST to the webhook with the right secret gets a defined answer, whatever its body
(SPEC §12, §13): an update is taken in; a body that is no update is answered so that Telegram
does not retry it for ever, with one warning line (its update id when it has one, never the
body: it may hold a phone or a reading) and `bot_updates_total{outcome="invalid"}`; never
aiohttp's 500 with a traceback, nor "Task exception was never retrieved"."""

from __future__ import annotations

import asyncio
import gc
import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.types import Update

from bot.logs import JsonFormatter
from bot.web import HttpServer
from tests.fakes.bot_api.webhook import SECRET_HEADER
from tests.harness import BotHarness, start_harness

SECRET = "requests_secret"
HOOK_PATH = "/tg/hook"
PHONE = "79161234567"  # what a body may hold and no log line may
INVALID = {"area": "none", "outcome": "invalid"}


class Served:
    """A webhook bot's HTTP server in process, and what its log said."""

    def __init__(self, harness: BotHarness, server: HttpServer) -> None:
        self.harness = harness
        self.server = server
        self.url = f"http://127.0.0.1:{server.port}{HOOK_PATH}"

    async def post(self, body: bytes, content_type: str = "application/json") -> int:
        headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    def counted(self, labels: dict[str, str]) -> float:
        registry = self.harness.app.metrics.registry
        return registry.get_sample_value("bot_updates_total", labels) or 0.0


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    harness = await start_harness(
        tmp_path,
        run_mode="webhook",
        webhook_url=f"https://bot.example.org{HOOK_PATH}",
        webhook_secret=SECRET,
        http_port=0,
    )
    server = HttpServer(harness.app, webhook=True)
    await server.start()
    yield Served(harness, server)
    await server.stop()
    await harness.close()


async def settled(loop_errors: list[dict[str, Any]]) -> list[str]:
    """What reached asyncio's handler once the background work ended and its tasks were
    collected (an unretrieved exception is reported at collection)."""
    for _ in range(5):
        await asyncio.sleep(0.02)
    gc.collect()
    return [str(context.get("message")) for context in loop_errors]


def lines_at_warning(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def nothing_leaked(caplog: pytest.LogCaptureFixture) -> bool:
    """No traceback, and no byte of the body, in any line."""
    return not any(r.exc_info or PHONE in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("body", "update_id"),
    [
        (b'{"update_id": "x"}', None),
        (b"[]", None),
        (b'{"message": 5}', None),
        (b'{"update_id": 41, "message": {"text": "+' + PHONE.encode() + b'"}}', 41),
        (b'{"update_id": 42, "kind_of_tomorrow": {"phone": "' + PHONE.encode() + b'"}}', 42),
        (b'{"update_id": 43}', 43),
    ],
    ids=[
        "update_id-not-a-number",
        "a-list",
        "no-update_id",
        "a-message-broken",
        "unknown-kind",
        "empty-update",
    ],
)
async def test_json_that_is_no_update_is_answered_200_so_telegram_drops_it_with_one_line(
    served: Served,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
    recwarn: pytest.WarningsRecorder,
    body: bytes,
    update_id: int | None,
) -> None:
    caplog.set_level(logging.INFO)

    assert await served.post(body) == 200  # a retry would be refused again, for ever

    assert await settled(loop_errors) == []
    warnings = lines_at_warning(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    line = warnings[0]
    named = f"update {update_id} invalid" if update_id is not None else "update invalid"
    assert line.name == "bot.updates" and line.getMessage().startswith(named), line.getMessage()
    assert getattr(line, "outcome", None) == "invalid"
    assert nothing_leaked(caplog)
    assert not [w for w in recwarn if PHONE in str(w.message)]  # aiogram's "unknown update type"
    assert served.counted(INVALID) == 1
    assert served.harness.session.calls == []  # nobody was answered


@pytest.mark.parametrize(
    "body",
    [b"hello", b"", b"\xff\xfe{", b'{"update_id": 44, "message": {"text": "+' + PHONE.encode()],
    ids=["text", "empty", "not-utf8", "cut-short"],
)
async def test_a_body_that_is_not_json_is_answered_400_with_one_line(
    served: Served,
    caplog: pytest.LogCaptureFixture,
    loop_errors: list[dict[str, Any]],
    body: bytes,
) -> None:
    caplog.set_level(logging.INFO)

    assert await served.post(body) == 400

    assert await settled(loop_errors) == []
    warnings = lines_at_warning(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert warnings[0].getMessage().startswith("update invalid (answered 400): not JSON")
    assert nothing_leaked(caplog)
    assert served.counted(INVALID) == 1


async def test_a_body_over_a_mebibyte_is_answered_413_with_one_line(
    served: Served, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    caplog.set_level(logging.INFO)
    filler = b"+" + PHONE.encode() + b" " * (2 * 1024 * 1024)
    body = b'{"update_id": 45, "message": {"text": "' + filler + b'"}}'

    assert await served.post(body) == 413

    assert await settled(loop_errors) == []
    warnings = lines_at_warning(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert warnings[0].getMessage().startswith("update invalid (answered 413): over 1048576 bytes")
    assert nothing_leaked(caplog)
    assert served.counted(INVALID) == 1


async def test_an_update_is_read_from_its_body_whatever_its_content_type(
    served: Served, caplog: pytest.LogCaptureFixture, loop_errors: list[dict[str, Any]]
) -> None:
    caplog.set_level(logging.INFO)
    chat = served.harness.chat(1006)
    body = chat.text_update("/start").model_dump_json(exclude_none=True).encode()

    assert await served.post(body, content_type="text/plain") == 200

    for _ in range(100):  # answered at once, handled in the background
        if any("Здравствуйте" in m.text for m in chat.messages):
            break
        await asyncio.sleep(0.02)
    assert any("Здравствуйте" in m.text for m in chat.messages)
    assert await settled(loop_errors) == [] and lines_at_warning(caplog) == []
    assert served.counted(INVALID) == 0


async def test_a_valid_update_is_read_once(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """Validated once, with the bot, and handed to the dispatcher as it is: aiogram re-reads
    an update not bound to the bot it is fed with (a second parse of every update)."""
    reads: list[object] = []
    validate = Update.model_validate

    def counting(obj: Any, **kwargs: Any) -> Update:
        reads.append(obj)
        return validate(obj, **kwargs)

    monkeypatch.setattr(Update, "model_validate", counting)
    chat = served.harness.chat(1007)
    body = chat.text_update("/start").model_dump_json(exclude_none=True).encode()

    assert await served.post(body) == 200

    for _ in range(100):
        if chat.messages:
            break
        await asyncio.sleep(0.02)
    assert chat.messages and len(reads) == 1


async def test_in_json_logs_the_line_of_an_invalid_update_carries_its_id_and_outcome(
    served: Served,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([], chat_key=b"installation key"))
    logger = logging.getLogger("bot.updates")
    logger.addHandler(handler)
    try:
        assert (
            await served.post(b'{"update_id": 46, "message": {"text": "+' + PHONE.encode() + b'"}}')
            == 200
        )
    finally:
        logger.removeHandler(handler)

    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["update_id"] == 46 and line["outcome"] == "invalid"
    assert line["level"] == "WARNING" and PHONE not in json.dumps(line)
