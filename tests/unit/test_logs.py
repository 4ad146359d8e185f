"""Logging set-up (SPEC §13): secrets never printed, chatty libraries held above DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from bot.logs import setup_logging

TOKEN = "123456:AAE-the-secret-part"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("aiosqlite").level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    logging.getLogger("aiosqlite").setLevel(saved[2])


def use(stream: io.StringIO) -> None:
    for handler in logging.getLogger().handlers:
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)


def test_the_token_is_cut_from_every_line_traceback_included(captured: io.StringIO) -> None:
    setup_logging("DEBUG", [TOKEN, TOKEN.partition(":")[2]])
    use(captured)
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/getUpdates")
    except RuntimeError:
        log.exception("request failed")
    log.warning("secret alone: %s", TOKEN.partition(":")[2])
    text = captured.getvalue()
    assert "the-secret-part" not in text
    assert text.count("<secret>") == 3, text


def test_aiosqlite_statements_stay_out_of_a_debug_log(captured: io.StringIO) -> None:
    """aiosqlite logs each statement with its parameters at DEBUG: phones, readings."""
    setup_logging("DEBUG")
    use(captured)
    logging.getLogger("aiosqlite").debug("executing %s", ("+79161234567", 48213573))
    logging.getLogger("bot.test").debug("our own debug line")
    text = captured.getvalue()
    assert "our own debug line" in text
    assert "+79161234567" not in text


def test_a_quieter_log_level_also_quiets_the_capped_loggers(captured: io.StringIO) -> None:
    setup_logging("ERROR")
    use(captured)
    logging.getLogger("aiosqlite").info("exception occurred while closing connection")
    assert captured.getvalue() == ""


def test_json_lines_carry_time_level_logger_and_message(captured: io.StringIO) -> None:
    setup_logging("INFO", [TOKEN], log_format="json", chat_key=b"k")
    use(captured)
    logging.getLogger("bot.test").warning("calling /bot%s/getMe", TOKEN)
    entry = json.loads(captured.getvalue())
    assert entry["level"] == "WARNING" and entry["logger"] == "bot.test"
    assert entry["message"] == "calling /bot<secret>/getMe"
    assert datetime.fromisoformat(entry["time"]).tzinfo is not None


def test_json_hashes_the_chats_messages_name(captured: io.StringIO) -> None:
    setup_logging("INFO", log_format="json", chat_key=b"installation key")
    use(captured)
    log = logging.getLogger("bot.test")
    log.warning("notice 7 to chat %d refused: Forbidden", 5550003)
    log.warning("warning to admin %s failed", 5550003)
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert "5550003" not in captured.getvalue()
    chat_hash = lines[0]["message"].split("#")[1].split()[0]
    assert lines[1]["message"] == f"warning to admin #{chat_hash} failed"


def test_json_hashes_the_chats_an_exceptions_text_names(captured: io.StringIO) -> None:
    setup_logging("INFO", log_format="json", chat_key=b"installation key")
    use(captured)
    try:
        raise RuntimeError("StorageKey(bot_id=1, chat_id=5550003, user_id=5550003, thread_id=None)")
    except RuntimeError:
        logging.getLogger("bot.test").exception("update failed")
    [line] = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert "5550003" not in captured.getvalue()
    assert "chat_id=#" in line["exception"] and "user_id=#" in line["exception"]


def test_json_keeps_a_traceback_in_one_line_without_secrets(captured: io.StringIO) -> None:
    setup_logging("INFO", [TOKEN], log_format="json")
    use(captured)
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/getUpdates")
    except RuntimeError:
        logging.getLogger("bot.test").exception("request failed")
    (line,) = captured.getvalue().splitlines()
    entry = json.loads(line)
    assert "RuntimeError" in entry["exception"] and TOKEN not in line
