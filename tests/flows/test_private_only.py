"""Groups, supergroups and channels (issue 9, point 6; SPEC §5.1): the bot says once that it
works in private chats only, remembered across restarts, and does nothing else there."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from tests.flows.test_submit import link, seed_flat
from tests.harness import BOT_USER, BotHarness, start_harness

GROUP = -100123
ids = itertools.count(10_000)


def group_chat(kind: str = "group", chat_id: int = GROUP) -> Chat:
    return Chat(id=chat_id, type=kind, title="Дом 1")


def member(user_id: int = 1001, language_code: str | None = "ru") -> User:
    return User(id=user_id, is_bot=False, first_name="Иван", language_code=language_code)


def group_message(harness: BotHarness, text: str, chat: Chat, user: User | None) -> Update:
    message = Message(
        message_id=next(ids), date=harness.clock.now(), chat=chat, from_user=user, text=text
    )
    if chat.type == "channel":
        return Update(update_id=next(ids), channel_post=message)
    return Update(update_id=next(ids), message=message)


def group_callback(harness: BotHarness, data: str, chat: Chat, user: User) -> Update:
    shown = Message(
        message_id=next(ids), date=harness.clock.now(), chat=chat, from_user=BOT_USER, text="…"
    )
    query = CallbackQuery(
        id=str(next(ids)), from_user=user, chat_instance="x", data=data, message=shown
    )
    return Update(update_id=next(ids), callback_query=query)


def sent_to(harness: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in harness.session.messages[chat_id]]


async def nothing_kept(harness: BotHarness, chat_id: int) -> bool:
    db = harness.db
    return not any(
        [
            await db.fetchval("SELECT count(*) FROM chats WHERE chat_id = ?", (chat_id,)),
            await db.fetchval("SELECT count(*) FROM links WHERE chat_id = ?", (chat_id,)),
            await db.fetchval("SELECT count(*) FROM fsm_states WHERE chat_id = ?", (chat_id,)),
            await db.fetchval("SELECT count(*) FROM otp_codes WHERE chat_id = ?", (chat_id,)),
        ]
    )


@pytest.mark.parametrize("kind", ["group", "supergroup"])
async def test_a_group_is_told_once_that_the_bot_works_in_private_chats_only(
    harness: BotHarness, kind: str
) -> None:
    chat = group_chat(kind)
    for text in ("/start", "5012345678", "/accounts", "📝 Передать показания", "/help"):
        await harness.feed(group_message(harness, text, chat, member()))
    await harness.app.storage.fsm.flush()
    assert sent_to(harness, GROUP) == [harness.app.core.get("private-only", "ru")]
    assert await nothing_kept(harness, GROUP)


async def test_the_notice_is_in_the_writers_language(harness: BotHarness) -> None:
    await harness.feed(group_message(harness, "/start", group_chat(), member(language_code="en")))
    assert sent_to(harness, GROUP) == [harness.app.core.get("private-only", "en")]


async def test_a_channel_post_is_answered_once_too(harness: BotHarness) -> None:
    channel = group_chat("channel", -100777)
    for _ in range(3):
        await harness.feed(group_message(harness, "/start", channel, None))
    assert sent_to(harness, -100777) == [harness.app.core.get("private-only", "ru")]


async def test_20_members_writing_at_once_get_one_notice(harness: BotHarness) -> None:
    chat = group_chat("supergroup")
    updates = [group_message(harness, "/start", chat, member(2000 + n)) for n in range(20)]
    await asyncio.gather(*(harness.feed(update) for update in updates))
    assert len(sent_to(harness, GROUP)) == 1


async def test_the_notice_is_remembered_across_a_restart(tmp_path: Path) -> None:
    harness = await start_harness(tmp_path)
    await harness.feed(group_message(harness, "/start", group_chat(), member()))
    await harness.close()
    harness = await start_harness(tmp_path)
    try:
        await harness.feed(group_message(harness, "/start", group_chat(), member()))
        assert sent_to(harness, GROUP) == []
    finally:
        await harness.close()


async def test_buttons_pressed_in_a_group_are_ignored(harness: BotHarness) -> None:
    """A linked resident's buttons pressed in a group: no answer, nothing shown or changed."""
    account = await seed_flat(harness.db)
    await link(harness, 1001, account)
    calls_before = len(harness.session.calls)
    for data in (f"sub:{account}", f"acc:unlink_yes:{account}", "link:start", f"hcsv:{account}"):
        await harness.feed(group_callback(harness, data, group_chat(), member(1001)))
    assert harness.session.calls[calls_before:] == []
    assert await harness.db.fetchval("SELECT count(*) FROM links") == 1


async def test_a_private_chat_is_served_as_before(harness: BotHarness) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")
    assert chat.last_text == harness.app.core.get("link-ask-account", "ru")
