"""LOG_FORMAT=json (SPEC §2, §13): each update closes with one line naming its id, handler,
duration and outcome, every line of the update carries the same id and the chat, hashed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram.types import Chat, Update

from bot.logs import JsonFormatter
from tests.flows.test_submit import link, seed_flat
from tests.harness import BotHarness, start_harness

CHAT = 5550003


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter([], chat_key=b"installation key"))
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(saved)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = await start_harness(tmp_path)
    yield harness
    await harness.close()


def update_lines(stream: io.StringIO) -> list[dict]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "bot.updates"]


async def test_each_update_is_one_line_with_its_handler_duration_and_outcome(
    bot: BotHarness, json_log: io.StringIO
) -> None:
    chat = await link(bot, CHAT, await seed_flat(bot.db))
    await chat.send("/start")
    await chat.send("📝 Передать показания")
    await chat.send("123")
    lines = update_lines(json_log)
    assert len(lines) == 3
    assert len({line["update_id"] for line in lines}) == 3
    assert {line["outcome"] for line in lines} == {"handled"}
    assert lines[0]["handler"] == "common.start"
    assert lines[2]["handler"].startswith("submit.")  # the typed reading
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    # the chat, always hashed the same way, never its id
    assert len({line["chat"] for line in lines}) == 1
    assert str(CHAT) not in json_log.getvalue()


async def test_an_update_no_handler_takes_is_logged_unhandled(
    bot: BotHarness, json_log: io.StringIO
) -> None:
    chat = bot.chat(CHAT)
    await chat.send("/start")
    # an edited message in a group: no handler of this bot takes one
    written = chat.text_update("/start").message
    assert written is not None
    edited = written.model_copy(update={"chat": Chat(id=-100, type="group", title="Flat")})
    await chat.feed(Update(update_id=next(bot.ids), edited_message=edited))
    last = update_lines(json_log)[-1]
    assert last["outcome"] == "unhandled" and "handler" not in last
