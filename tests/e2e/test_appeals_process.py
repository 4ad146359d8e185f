"""Appeals as residents and operators meet them (SPEC §11): the bot as its own process against
the fake Bot API, whose forum supergroup is the operators' chat. Two residents write; one of
them blocks the bot before the answer comes, and the operators' topic says so."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from tests.e2e.processes import EXAMPLE, TOKEN, bot_env, database_path, run_cli, start_bot
from tests.fakes.bot_api import FakeBotApi

OPERATORS = -1009876543210
OPERATOR = 9001
ANNA, BORIS = 5550011, 5550012


def link_directly(env: dict[str, str], chat_id: int, account: str) -> None:
    """The chat linked to the account as the SMS code would link it (tested elsewhere)."""
    with sqlite3.connect(database_path(env)) as db:
        (account_id,) = db.execute(
            "SELECT id FROM accounts WHERE number = ?", (account,)
        ).fetchone()
        db.execute(
            "INSERT INTO chats (chat_id, locale, current_account_id, created_at)"
            " VALUES (?, 'ru', ?, '2026-11-01T00:00:00+00:00')",
            (chat_id, account_id),
        )
        db.execute(
            "INSERT INTO links (chat_id, account_id, linked_at)"
            " VALUES (?, ?, '2026-11-01T00:00:00+00:00')",
            (chat_id, account_id),
        )


async def write_appeal(api: FakeBotApi, chat: int, text: str, *, with_photo: bool) -> str:
    """Through the menu to Send; the appeal's number."""
    api.push_text(chat, "✉️ Написать нам", user_id=chat)
    await api.wait_for(chat, lambda m: "Выберите тему" in m["text"], timeout=15)
    api.push_button(chat, None, "Счётчик сломался")
    await api.wait_for(chat, lambda m: "Опишите вопрос" in m["text"], timeout=15)
    api.push_text(chat, text, user_id=chat)
    await api.wait_for(chat, lambda m: "Приложите фото" in m["text"], timeout=15)
    if with_photo:
        api.push_photo(chat, user_id=chat)
        await api.wait_for(chat, lambda m: "Приложено файлов: 1" in m["text"], timeout=15)
    api.push_button(chat, None, "Посмотреть и отправить")
    await api.wait_for(chat, lambda m: "Проверьте обращение" in m["text"], timeout=15)
    api.push_button(chat, None, "Отправить")
    sent = await api.wait_for(chat, lambda m: "отправлено" in m["text"], timeout=15)
    shown: str = sent["text"]
    return shown.split("Обращение ", 1)[1].split(" ", 1)[0]


def in_topic(api: FakeBotApi, thread: int) -> list[str]:
    return [m["text"] for m in api.sent_to(OPERATORS) if m.get("message_thread_id") == thread]


async def test_two_residents_write_and_operators_answer_one_has_blocked_the_bot(
    tmp_path: Path,
) -> None:
    async with FakeBotApi(token=TOKEN) as api:
        api.make_forum(OPERATORS)
        # no verification reminders: the example's meters fall due in December of any year, and
        # this test counts every message a resident gets
        env = bot_env(
            tmp_path, api.url, OPERATOR_CHAT_ID=str(OPERATORS), VERIFICATION_REMINDER_DAYS="0"
        )
        code, out, err = await run_cli(env, tmp_path, "import", str(EXAMPLE))
        assert code == 0, out + err
        link_directly(env, ANNA, "5012345678")
        link_directly(env, BORIS, "5012345679")
        proc = await start_bot(env, tmp_path)
        try:
            await api.wait_for_call("getUpdates", timeout=30)
            anna = await write_appeal(api, ANNA, "Сломался счётчик", with_photo=True)
            boris = await write_appeal(api, BORIS, "Неверные показания", with_photo=False)
            assert (anna, boris) == ("A-000001", "A-000002")
            first, second = api.topics(OPERATORS)
            assert first.name.startswith("A-000001") and first.name.endswith("5012345678")
            card = in_topic(api, first.thread_id)[0]
            assert "г. Балашиха, ул. Ленина" in card and "19-284511" in card
            assert "916" not in card  # no phone
            copies = [m for m in api.sent_to(OPERATORS) if m["method"] == "copyMessage"]
            assert [m["message_thread_id"] for m in copies] == [first.thread_id]

            api.push_topic_text(
                OPERATORS, first.thread_id, "Мастер придёт завтра", user_id=OPERATOR
            )
            answer = await api.wait_for(ANNA, lambda m: "Мастер придёт" in m["text"], timeout=15)
            assert "Расчётный центр" in answer["text"]

            api.block(BORIS)
            api.push_topic_text(OPERATORS, second.thread_id, "Проверим", user_id=OPERATOR)
            await api.wait_for(
                OPERATORS,
                lambda m: (
                    "заблокировал бота" in m["text"]
                    and m.get("message_thread_id") == second.thread_id
                ),
                timeout=15,
            )

            api.push_topic_text(OPERATORS, first.thread_id, "/close", user_id=OPERATOR)
            await api.wait_for(ANNA, lambda m: "закрыто" in m["text"], timeout=15)
            api.push_button(ANNA, None, "5")
            await api.wait_for(OPERATORS, lambda m: "5/5" in m["text"], timeout=15)
            assert [t.closed for t in api.topics(OPERATORS)] == [True, False]

            api.push_topic_text(OPERATORS, None, "/appeals", user_id=OPERATOR)
            listing = await api.wait_for(
                OPERATORS, lambda m: "Открытые обращения" in m["text"], timeout=15
            )
            assert "A-000002" in listing["text"] and "A-000001" not in listing["text"]
            await api.assert_nothing_sent(BORIS)
        finally:
            proc.send_signal(signal.SIGTERM)
            out_b, err_b = await asyncio.wait_for(proc.communicate(), 30)
        log = out_b.decode() + err_b.decode()
        assert proc.returncode == 0, log
        assert "Traceback" not in log, log
