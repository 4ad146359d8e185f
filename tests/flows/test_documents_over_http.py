"""CSV documents reach Telegram as text/csv (issue 9, point 24): the real aiohttp session of
the bot talks HTTP to the fake Bot API, which records each uploaded part's content type."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_app
from bot.clock import FrozenClock
from bot.storage.chats import LinkRepository
from bot.uploads import content_type_of
from tests.fakes.bot_api import FakeBotApi
from tests.flows.test_submit import seed_flat
from tests.harness import (
    TOKEN,
    BotHarness,
    RecordingSession,
    RecordingSms,
    Sent,
    make_settings,
)

ADMIN = 777


@pytest.fixture
async def over_http(tmp_path: Path) -> AsyncIterator[tuple[BotHarness, FakeBotApi]]:
    """A bot whose Bot API calls go over HTTP to the fake server (no recording session)."""
    async with FakeBotApi(token=TOKEN) as api:
        settings = make_settings(tmp_path, telegram_api_url=api.url)
        clock = FrozenClock(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
        sms = RecordingSms()
        app = await build_app(settings, clock=clock, sms=sms)
        # the recording session only keeps the harness's chat helpers working; the bot's own
        # session is the production one (TypedUploadSession)
        harness = BotHarness(app=app, session=RecordingSession(), sms=sms, clock=clock)
        try:
            yield harness, api
        finally:
            await harness.close()


async def test_admin_export_is_sent_as_a_text_csv_file(
    over_http: tuple[BotHarness, FakeBotApi],
) -> None:
    harness, api = over_http
    await harness.chat(ADMIN).send("/export 2026-11")
    [document] = api.sent_documents(ADMIN)
    assert document.filename == "readings-2026-11.csv"
    assert document.mime_type == "text/csv"
    assert document.content is not None
    assert document.content.startswith(b"account,meter,resource,period")


async def test_history_csv_is_sent_as_a_text_csv_file(
    over_http: tuple[BotHarness, FakeBotApi],
) -> None:
    harness, api = over_http
    account = await seed_flat(harness.db)
    await LinkRepository(harness.db).link(1001, account, harness.clock.now())
    chat = harness.chat(1001)
    shown = Sent(chat_id=1001, message_id=1, text="История показаний")
    await chat.press_data(shown, f"hcsv:{account}")
    [document] = api.sent_documents(1001)
    assert document.filename == "history-5012345678.csv"
    assert document.mime_type == "text/csv"


def test_a_file_name_gives_its_content_type() -> None:
    assert content_type_of("readings-2026-11.csv") == "text/csv"
    assert content_type_of("readings-2026-11.zip") == "application/zip"
    assert content_type_of("no-extension") is None
    assert content_type_of(None) is None
